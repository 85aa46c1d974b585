//! The relay's deadlines against a trickled body and a slow GitHub (issue 10, finding 5): a 2xx
//! exactly when GitHub accepted the dispatch, and every answer within dbt Cloud's 10 s.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::common::sign;
use crate::relay::{Relay, body_with_id, github};

/// What the relay answered a trickled request, and when its first byte came.
#[derive(Debug)]
struct Trickled {
    status: Option<u16>,
    answered_after: Option<Duration>,
}

/// Sends `body`, signed, in ten pieces spread over `over`, then reads the answer. The request asks
/// for `Connection: close`, so the relay closes after answering.
async fn trickle(relay: &Relay, body: String, over: Duration) -> Trickled {
    let address = relay.url.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(address).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: relay\r\nAuthorization: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        sign(&body),
        body.len()
    );
    let started = Instant::now();
    let upload = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let piece = body.len().div_ceil(10);
        for chunk in body.as_bytes().chunks(piece) {
            tokio::time::sleep(over / 10).await;
            writer.write_all(chunk).await?;
        }
        // Keep the write side open until the answer came (dropping it would end the request).
        tokio::time::sleep(Duration::from_secs(30)).await;
        std::io::Result::Ok(())
    });
    let mut received = Vec::new();
    let mut answered_after = None;
    let mut buffer = [0u8; 4096];
    let guard = started + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(guard, reader.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => {
                answered_after.get_or_insert(started.elapsed());
                received.extend_from_slice(&buffer[..n]);
            }
            _ => break,
        }
    }
    upload.abort();
    let text = String::from_utf8_lossy(&received);
    Trickled {
        status: text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok()),
        answered_after,
    }
}

/// Before the fix, the dispatch budget (8 s) started when the handler started, after the body,
/// while the request timeout (9.5 s) counted from the request's arrival: a body trickled over
/// 4.5 s and GitHub answering after 5.5 s gave the client a 503 at 9.5 s while GitHub accepted
/// the dispatch at 10 s, so dbt would retry and the event be sent twice. Now the body must come
/// within 2 s of the headers (408 otherwise, and nothing is dispatched) and the budget counts from
/// the arrival; a body trickled over 1 s with the same slow GitHub still fits and gets 202.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_and_a_slow_github_get_a_2xx_exactly_when_github_accepted() {
    let github = github().await;
    let relay = Relay::start(&github);
    // The start-up check left a kept-alive connection to GitHub in the client's pool. The GitHub
    // client's 6 s read timeout runs while a pooled connection sits idle, so a dispatch on that
    // connection within 6 s gets only what is left of it, less than GitHub's 5.5 s here. Wait
    // until that connection has timed out and closed, so the dispatches open their own.
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    github.faults().set_latency(Duration::from_millis(5_500));
    let started = Instant::now();
    let (slow, fast) = tokio::join!(
        trickle(
            &relay,
            body_with_id("wev_trickled_slowly"),
            Duration::from_millis(4_500)
        ),
        trickle(
            &relay,
            body_with_id("wev_trickled_briefly"),
            Duration::from_secs(1)
        ),
    );
    // A dispatch still in flight lands by 4.5 s + 5.5 s: look at GitHub only after that.
    tokio::time::sleep_until(started + Duration::from_secs(11)).await;
    let dispatched: Vec<String> = github
        .stats()
        .dispatches
        .iter()
        .filter_map(|d| {
            d.client_payload.as_ref()?["event_id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    eprintln!("slow body: {slow:?}; brief body: {fast:?}; dispatched: {dispatched:?}");
    for (name, id, answer) in [
        ("slow body", "wev_trickled_slowly", &slow),
        ("brief body", "wev_trickled_briefly", &fast),
    ] {
        let status = answer.status.expect("an answer");
        let accepted = dispatched.iter().any(|d| d == id);
        assert_eq!(
            (200..300).contains(&status),
            accepted,
            "{name}: answered {status}, GitHub accepted: {accepted}"
        );
        let after = answer.answered_after.expect("answered");
        assert!(
            after < Duration::from_secs(10),
            "{name}: answered after {after:?}"
        );
    }
    assert_eq!(slow.status, Some(408), "{slow:?}\n{}", relay.log());
    assert_eq!(fast.status, Some(202), "{fast:?}\n{}", relay.log());
}
