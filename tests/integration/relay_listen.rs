//! `relay --listen` in the forms people type (`:PORT`, `localhost:PORT`), and the relay's log as
//! JSON lines (`RELAY_LOG_FORMAT=json`).

use crate::relay::{Relay, body_with_id, github, token_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_takes_a_bare_port_for_every_interface_and_localhost_for_the_loopback() {
    let github = github().await;
    for (listen, bound) in [(":0", "0.0.0.0:"), ("localhost:0", "127.0.0.1:")] {
        let relay = Relay::start_with(&token_env(&github.url()), &["--listen", listen]);
        let log = relay.wait_for_log("listening on").await;
        assert!(
            log.contains(&format!("listening on {bound}")),
            "{listen}: {log}"
        );
        let answer = relay
            .post_signed(&body_with_id(&format!("wev_listen_{bound}")))
            .await;
        assert_eq!(answer.status, 202, "{listen}: {answer:?}");
    }
    assert_eq!(github.stats().dispatches.len(), 2);
}
