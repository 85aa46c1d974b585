//! The relay's catalogue of named hostile cases (docs/RELIABILITY.md lists them with their
//! answers): the real binary on 127.0.0.1, raw TCP where a well-behaved client cannot misbehave
//! enough. Every case ends by checking that the relay still serves: `/healthz` answers 200 and a
//! normal signed webhook is dispatched (202).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dbt_tableau_refresh::dbt::signature;
use dbt_tableau_refresh::secret::Secret;
use dbt_tableau_refresh::sim::github::GitHubSim;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

use crate::common::{WEBHOOK_KEY, sign};
use crate::relay::{Relay, body_with_id, client, github, token_env};

/// How long a raw-connection case waits for the relay to answer or close before it fails. A bound
/// on the test, not a measurement: the relay's own timeouts are far shorter.
const GUARD: Duration = Duration::from_secs(30);

fn sign_bytes(body: &[u8]) -> String {
    signature::sign(&Secret::new(WEBHOOK_KEY), body)
}

/// `/healthz` answers 200 and a normal signed webhook with event id `id` is dispatched: the
/// hostile case before this left the relay serving.
async fn assert_still_serving(relay: &Relay, github: &GitHubSim, id: &str) {
    let health = client()
        .get(format!("{}/healthz", relay.url))
        .send()
        .await
        .expect("the relay answers its health check");
    assert_eq!(health.status().as_u16(), 200);
    let before = github.stats().dispatches.len();
    let answer = relay.post_signed(&body_with_id(id)).await;
    assert_eq!(
        answer.status, 202,
        "a normal webhook after the case: {answer:?}"
    );
    assert_eq!(github.stats().dispatches.len(), before + 1);
}

/// A raw TCP connection to the relay.
async fn connect(relay: &Relay) -> TcpStream {
    let address = relay.url.trim_start_matches("http://").to_owned();
    TcpStream::connect(address)
        .await
        .expect("connect to the relay")
}

/// What a raw connection ended with.
#[derive(Debug)]
struct Ending {
    /// Everything the relay sent.
    received: Vec<u8>,
    /// The relay closed the connection (end of stream or reset) before the guard ran out.
    closed: bool,
    elapsed: Duration,
}

impl Ending {
    /// The status of the first answer, if the relay sent one.
    fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.received);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }
}

/// Reads until the relay closes the connection, or `GUARD` passes.
async fn read_to_close(mut reader: OwnedReadHalf) -> Ending {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + GUARD),
            reader.read(&mut buffer),
        )
        .await
        {
            Err(_) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    };
    Ending {
        received,
        closed,
        elapsed: started.elapsed(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_invalid_utf8_bodies_signed_correctly_get_400() {
    let github = github().await;
    let relay = Relay::start(&github);
    let cases: [(&str, &[u8]); 5] = [
        (
            "a stray 0xff",
            b"{\"eventType\":\"job.run.completed\",\"eventId\":\"wev_\xff\"}",
        ),
        ("a UTF-16 byte-order mark", b"\xff\xfe{\x00}\x00"),
        (
            "an encoded surrogate",
            b"{\"eventType\":\"job.run.completed\",\"x\":\"\xed\xa0\x80\"}",
        ),
        (
            "an overlong slash",
            b"{\"eventType\":\"job.run.completed\",\"x\":\"\xc0\xaf\"}",
        ),
        (
            "a truncated euro sign",
            b"{\"eventType\":\"job.run.completed\",\"x\":\"\xe2\x82\"}",
        ),
    ];
    for (name, body) in cases {
        let answer = relay.post(body.to_vec(), Some(&sign_bytes(body))).await;
        assert_eq!(answer.status, 400, "{name}: {answer:?}");
        assert!(answer.reason().contains("not UTF-8"), "{name}: {answer:?}");
    }
    assert_eq!(
        crate::relay::received_after_start(&github),
        0,
        "nothing reaches GitHub"
    );
    assert_still_serving(&relay, &github, "wev_after_utf8").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_json_nested_10_000_deep_gets_400_or_is_skipped_without_recursion() {
    let github = github().await;
    let relay = Relay::start(&github);
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", r#"{"":"#.repeat(depth), "}".repeat(depth));
    // Where the parser builds values (the top level, the id and time fields), serde_json's
    // recursion limit (128 levels) refuses the nesting long before the stack is at risk.
    let refused = [
        ("arrays at the top", arrays.clone()),
        ("objects at the top", objects.clone()),
        (
            "arrays as the event id",
            format!(r#"{{"eventType":"job.run.completed","eventId":{arrays}}}"#),
        ),
        (
            "objects as the timestamp",
            format!(r#"{{"eventType":"job.run.completed","timestamp":{objects}}}"#),
        ),
        (
            "arrays as the run status",
            format!(r#"{{"eventType":"job.run.completed","data":{{"runStatus":{arrays}}}}}"#),
        ),
    ];
    for (name, body) in refused {
        assert!(
            body.len() <= dbt_tableau_refresh::relay::MAX_BODY_BYTES,
            "{name}"
        );
        let answer = relay.post_signed(&body).await;
        assert_eq!(answer.status, 400, "{name}: {answer:?}");
        assert_eq!(answer.json["status"], "invalid", "{name}");
    }
    assert_eq!(crate::relay::received_after_start(&github), 0);

    // In a field the event model ignores, serde_json skips the value with a loop and a byte
    // stack, not recursion: no depth can crash it, and the event is judged on its merits. This
    // one is a fresh, successful run, so it is dispatched with its exact bytes.
    let base = body_with_id("wev_deep_unknown_field");
    let body = format!(r#"{},"extra":{arrays}}}"#, &base[..base.len() - 1]);
    let answer = relay.post_signed(&body).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let stats = github.stats();
    assert_eq!(stats.dispatches.len(), 1);
    let payload = stats.dispatches[0]
        .client_payload
        .as_ref()
        .expect("payload");
    assert_eq!(payload["body"].as_str(), Some(body.as_str()));
    assert_still_serving(&relay, &github, "wev_after_nesting").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_duplicate_keys_get_400_so_a_second_value_never_wins() {
    let github = github().await;
    let relay = Relay::start(&github);
    let body = body_with_id("wev_duplicate_keys");
    // Without the numeric code, the text decides: a parser that let the last value win would
    // dispatch an errored run as a success.
    let errored_then_success = body.replace(r#""runStatusCode": 10, "#, "").replace(
        r#""runStatus": "Success""#,
        r#""runStatus": "Error", "runStatus": "Success""#,
    );
    let cases = [
        ("runStatus twice", errored_then_success, "runStatus"),
        (
            "eventId twice",
            body.replace(
                r#""eventId": "wev_duplicate_keys""#,
                r#""eventId": "wev_a", "eventId": "wev_b""#,
            ),
            "eventId",
        ),
        (
            "eventType twice",
            body.replace(
                r#""eventType": "job.run.completed""#,
                r#""eventType": "job.run.started", "eventType": "job.run.completed""#,
            ),
            "eventType",
        ),
        (
            "data twice",
            body.replace(r#""data": {"#, r#""data": {}, "data": {"#),
            "data",
        ),
    ];
    for (name, hostile, field) in cases {
        assert_ne!(hostile, body, "{name}: the case changed the body");
        let answer = relay.post_signed(&hostile).await;
        assert_eq!(answer.status, 400, "{name}: {answer:?}");
        let expected = format!("duplicate field `{field}`");
        assert!(answer.reason().contains(&expected), "{name}: {answer:?}");
    }
    assert_eq!(
        crate::relay::received_after_start(&github),
        0,
        "nothing was dispatched"
    );
    assert_still_serving(&relay, &github, "wev_after_duplicates").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_10_mb_body_sent_slowly_gets_413_after_60_000_bytes_and_the_connection_closes() {
    let github = github().await;
    let relay = Relay::start(&github);
    const TOTAL: usize = 10 * 1024 * 1024;
    const CHUNK: usize = 16 * 1024;
    let body = format!(
        r#"{{"eventType":"job.run.completed","pad":"{}"}}"#,
        "x".repeat(TOTAL - 40)
    );
    let signature = sign(&body);

    // Chunked (no declared length), 16 KiB every 10 ms: the relay must stop reading at its limit.
    let (reader, mut writer) = connect(&relay).await.into_split();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let head = format!(
        "POST / HTTP/1.1\r\nHost: relay\r\nAuthorization: {signature}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let upload = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for chunk in body.as_bytes().chunks(CHUNK) {
            writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            writer.write_all(chunk).await?;
            writer.write_all(b"\r\n").await?;
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        writer.write_all(b"0\r\n\r\n").await?;
        std::io::Result::Ok(())
    });
    let ending = read_to_close(reader).await;
    let sent_when_closed = sent.load(Ordering::SeqCst);
    upload.abort();
    eprintln!(
        "10 MB slow body: {:?} after {:?}, {sent_when_closed} bytes sent by then",
        ending.status(),
        ending.elapsed
    );
    assert_eq!(
        ending.status(),
        Some(413),
        "{}",
        String::from_utf8_lossy(&ending.received)
    );
    assert!(ending.closed, "the relay keeps the connection open");
    assert!(
        ending.elapsed < Duration::from_secs(10),
        "dbt counts an answer after 10 s as failed: {:?}",
        ending.elapsed
    );
    assert!(
        sent_when_closed < TOTAL / 10,
        "the relay read on: {sent_when_closed} bytes"
    );

    // A declared 10 MB length is refused before any of the body is sent.
    let (reader, mut writer) = connect(&relay).await.into_split();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: relay\r\nAuthorization: {signature}\r\nContent-Length: {TOTAL}\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.expect("send head");
    let ending = read_to_close(reader).await;
    assert_eq!(ending.status(), Some(413), "{ending:?}");
    assert!(ending.closed);

    assert_eq!(crate::relay::received_after_start(&github), 0);
    assert_still_serving(&relay, &github, "wev_after_slow_body").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_slowloris_headers_that_never_finish_are_closed_by_the_header_timeout() {
    let github = github().await;
    let relay = Relay::start(&github);

    // One header line every 500 ms, never the blank line that ends them.
    let (reader, mut writer) = connect(&relay).await.into_split();
    let trickle = tokio::spawn(async move {
        writer
            .write_all(b"POST / HTTP/1.1\r\nHost: relay\r\n")
            .await?;
        for n in 0.. {
            tokio::time::sleep(Duration::from_millis(500)).await;
            writer
                .write_all(format!("X-Slow-{n}: x\r\n").as_bytes())
                .await?;
        }
        std::io::Result::Ok(())
    });
    // And a connection that sends nothing at all.
    let (silent, _silent_writer) = connect(&relay).await.into_split();
    let (trickled, silent) = tokio::join!(read_to_close(reader), read_to_close(silent));
    trickle.abort();
    eprintln!(
        "slowloris: closed after {:?} (trickled headers), {:?} (nothing sent)",
        trickled.elapsed, silent.elapsed
    );
    assert!(
        trickled.closed,
        "a connection trickling its headers is held open: {trickled:?}"
    );
    assert!(
        silent.closed,
        "a silent connection is held open: {silent:?}"
    );
    assert_eq!(crate::relay::received_after_start(&github), 0);
    assert_still_serving(&relay, &github, "wev_after_slowloris").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_body_that_never_finishes_gets_408_from_the_body_deadline() {
    let github = github().await;
    let relay = Relay::start(&github);
    let body = body_with_id("wev_never_finished");
    let (reader, mut writer) = connect(&relay).await.into_split();
    // The whole head and half of the declared body, then nothing.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: relay\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n",
        sign(&body),
        body.len()
    );
    writer.write_all(head.as_bytes()).await.expect("send head");
    writer
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .expect("send half the body");
    let ending = read_to_close(reader).await;
    drop(writer);
    eprintln!(
        "unfinished body: {:?} after {:?}",
        ending.status(),
        ending.elapsed
    );
    assert_eq!(ending.status(), Some(408), "{ending:?}");
    assert!(ending.closed, "{ending:?}");
    // The body's deadline is 2 s after the headers; the bound leaves room for a busy machine.
    assert!(
        ending.elapsed < Duration::from_secs(5),
        "the body deadline is 2 s: {:?}",
        ending.elapsed
    );
    assert_eq!(crate::relay::received_after_start(&github), 0);
    assert_still_serving(&relay, &github, "wev_after_unfinished_body").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_100_000_headers_get_431_or_a_closed_connection() {
    let github = github().await;
    let relay = Relay::start(&github);
    let (reader, mut writer) = connect(&relay).await.into_split();
    let mut head = String::from("POST / HTTP/1.1\r\nHost: relay\r\n");
    for n in 0..100_000 {
        head.push_str(&format!("X-Hostile-{n}: v\r\n"));
    }
    head.push_str("Content-Length: 2\r\n\r\n{}");
    // The relay may close while this is still being written: a failed write is expected.
    let flood = tokio::spawn(async move { writer.write_all(head.as_bytes()).await });
    let ending = read_to_close(reader).await;
    flood.abort();
    eprintln!(
        "100 000 headers: {:?}, closed={} after {:?}",
        ending.status(),
        ending.closed,
        ending.elapsed
    );
    assert!(ending.closed, "{ending:?}");
    assert!(
        matches!(ending.status(), None | Some(431)),
        "{}",
        String::from_utf8_lossy(&ending.received)
    );
    assert_eq!(crate::relay::received_after_start(&github), 0);
    assert_still_serving(&relay, &github, "wev_after_headers").await;
}

/// Issue 10, finding 4: hyper's default header buffer (about 400 KB) let each connection that never
/// finished its headers hold that much. The cap is 16 KiB (`relay::MAX_HEADER_BYTES`): one 20 KiB
/// header is refused with 431 and the connection closed, before any of it is judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_header_block_over_16_kib_gets_431_and_the_connection_closes() {
    let github = github().await;
    let relay = Relay::start(&github);
    let (reader, mut writer) = connect(&relay).await.into_split();
    let big = "a".repeat(20 * 1024);
    assert!(big.len() > dbt_tableau_refresh::relay::MAX_HEADER_BYTES);
    let head =
        format!("POST / HTTP/1.1\r\nHost: relay\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\n{{}}");
    // The relay may close while this is still being written: a failed write is expected.
    let send = tokio::spawn(async move { writer.write_all(head.as_bytes()).await });
    let ending = read_to_close(reader).await;
    send.abort();
    eprintln!(
        "20 KiB header: {:?}, closed={} after {:?}",
        ending.status(),
        ending.closed,
        ending.elapsed
    );
    assert!(ending.closed, "{ending:?}");
    assert_eq!(
        ending.status(),
        Some(431),
        "{}",
        String::from_utf8_lossy(&ending.received)
    );
    assert_eq!(crate::relay::received_after_start(&github), 0);
    assert_still_serving(&relay, &github, "wev_after_big_header").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_signatures_of_the_wrong_length_get_401() {
    let github = github().await;
    let relay = Relay::start(&github);
    let body = body_with_id("wev_wrong_length");
    let good = sign(&body);
    let cases = [
        ("one character", good[..1].to_string()),
        ("half a digest", good[..32].to_string()),
        ("one short", good[..63].to_string()),
        ("one long", format!("{good}0")),
        ("two digests", format!("{good}{good}")),
        // Within the 16 KiB cap on the header block (a bigger one is refused with 431).
        ("8 KiB", "a".repeat(8 * 1024)),
        (
            "a digest with a space inside",
            format!("{} {}", &good[..32], &good[32..]),
        ),
    ];
    for (name, signature) in &cases {
        let answer = relay.post(body.clone(), Some(signature)).await;
        assert_eq!(answer.status, 401, "{name}: {answer:?}");
        assert!(
            answer.reason().contains("wrong length"),
            "{name}: {answer:?}"
        );
    }
    assert_eq!(crate::relay::received_after_start(&github), 0);
    assert_still_serving(&relay, &github, "wev_after_lengths").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_whitespace_and_newlines_around_the_key_are_trimmed() {
    let github = github().await;
    // Pasted secrets often carry a trailing newline or spaces; no dbt key has them at its ends.
    let mut env = token_env(&github.url());
    env.retain(|(name, _)| name != "DBT_WEBHOOK_KEY");
    env.push(("DBT_WEBHOOK_KEY".into(), " key \n".into()));
    let relay = Relay::start_with(&env, &[]);
    let body = body_with_id("wev_trimmed_key");
    let answer = relay
        .post(body.clone(), Some(&sign_with(" key \n", &body)))
        .await;
    assert_eq!(
        answer.status, 401,
        "the untrimmed value is not the key: {answer:?}"
    );
    let answer = relay
        .post(body.clone(), Some(&sign_with("key", &body)))
        .await;
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(github.stats().dispatches.len(), 1);

    // Several keys, one per line, with blank lines, tabs and CRLF: each is trimmed.
    let mut env = token_env(&github.url());
    env.retain(|(name, _)| name != "DBT_WEBHOOK_KEY");
    let keys = format!("\n  old-key \r\n\n\t{WEBHOOK_KEY}\t\n");
    env.push(("DBT_WEBHOOK_KEY".into(), keys));
    let relay = Relay::start_with(&env, &[]);
    let body = body_with_id("wev_old_key");
    let answer = relay
        .post(body.clone(), Some(&sign_with("old-key", &body)))
        .await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let body = body_with_id("wev_blank_key");
    let answer = relay.post(body.clone(), Some(&sign_with("", &body))).await;
    assert_eq!(answer.status, 401, "a blank line is no key: {answer:?}");
    assert_eq!(github.stats().dispatches.len(), 2);
    assert_still_serving(&relay, &github, "wev_after_keys").await;
}

fn sign_with(key: &str, body: &str) -> String {
    signature::sign(&Secret::new(key), body.as_bytes())
}
