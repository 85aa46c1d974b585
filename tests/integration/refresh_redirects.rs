//! Meeting the real Tableau: Tableau Cloud's front door redirects to a pod (followed, over TLS,
//! and every later call stays on the pod); a redirect anywhere else is refused before any
//! credential reaches it; plain `http://` to a remote host is refused before anything is sent;
//! an XML `serverinfo` is read; TLS and DNS failures fail at once instead of being retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dbt_tableau_refresh::actions::Console;
use dbt_tableau_refresh::sim::tableau::front_door::TableauCloudSim;
use dbt_tableau_refresh::sim::tableau::sample::SAMPLE_PAT_SECRET;
use dbt_tableau_refresh::sim::tableau::{Route, SimConfig, TableauSim};
use dbt_tableau_refresh::tableau::http::{Retry, RetryPolicy, Transport};
use dbt_tableau_refresh::tableau::sim_resolve::SIMULATION_RESOLVE_ENV;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::common::{Invocation, Run, completed_body};

const FAST: Duration = Duration::from_millis(20);
const SITE: &str = "acme-analytics";

fn cloud_site() -> SimConfig {
    let mut config = SimConfig::sample().with_job_duration(FAST);
    config.sites = vec![SITE.to_string()];
    for item in config
        .workbooks
        .iter_mut()
        .chain(config.datasources.iter_mut())
    {
        item.site = SITE.to_string();
    }
    config
}

async fn refresh_through_the_front_door(cloud: &TableauCloudSim) -> Run {
    let body = completed_body("4242", "Success", 10);
    Invocation::refresh(&cloud.front_door_url())
        .env("TABLEAU_SITE_NAME", SITE)
        .env("TABLEAU_CA_CERT", cloud.ca_pem())
        .env(SIMULATION_RESOLVE_ENV, &cloud.resolve_knob())
        .signed(&body)
        .workbooks(&["Finance/Revenue Dashboard"])
        .datasources(&["Orders"])
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tableau_clouds_front_door_leads_to_the_pod_for_every_call() {
    let cloud = TableauCloudSim::start(cloud_site(), "10ax")
        .await
        .expect("simulator starts");
    // The session dies after one call: the new sign-in must go to the pod, not the front door.
    cloud.sim.faults().expire_session_after(1);
    let run = refresh_through_the_front_door(&cloud).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    let pod = format!("10ax.online.tableau.com:{}", cloud.port());
    assert!(
        run.summary_text()
            .contains(&format!("Tableau https://{pod}")),
        "the summary names the pod: {}",
        run.summary
    );
    assert!(
        run.stdout.contains("redirected to https://10ax"),
        "{}",
        run.stdout
    );

    // The front door saw only the opening pair; the sign-in stayed a POST.
    let hits = cloud.front_door_hits();
    let mut seen: Vec<(String, String)> = hits
        .iter()
        .map(|hit| (hit.method.clone(), hit.path.clone()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("GET".to_string(), "/api/2.4/serverinfo".to_string()),
            ("POST".to_string(), "/api/3.6/auth/signin".to_string()),
        ]
    );
    // The pod served both sign-ins (the second after the session expired) and the sign-out.
    let stats = cloud.sim.stats();
    assert_eq!(stats.sign_ins, 2, "{:?}", stats.requests);
    assert_eq!(stats.sign_outs, 1);
    assert_eq!(stats.active_sessions, 0);
    assert!(stats.requests.iter().any(|r| r.route == Route::SignOut));
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_door_needs_the_simulators_ca_like_any_private_tls() {
    let cloud = TableauCloudSim::start(cloud_site(), "10ax")
        .await
        .expect("simulator starts");
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&cloud.front_door_url())
        .env("TABLEAU_SITE_NAME", SITE)
        .env(SIMULATION_RESOLVE_ENV, &cloud.resolve_knob())
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("TLS certificate was refused"),
        "{}",
        run.summary
    );
    assert!(cloud.front_door_hits().is_empty());
    assert_eq!(cloud.sim.stats().sign_ins, 0);
    cloud.shutdown().await;
}

/// What a raw loopback server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    bytes: Mutex<Vec<u8>>,
}

/// A plain-TCP HTTP server on `ip`: records everything it receives and answers each request
/// with `answer(path)` (a full HTTP response), closing the connection after it.
async fn raw_server(
    ip: &str,
    answer: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (u16, Arc<Seen>) {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Seen::default());
    let answer = Arc::new(answer);
    let recorder = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            recorder.connections.fetch_add(1, Ordering::SeqCst);
            let recorder = Arc::clone(&recorder);
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                // Whatever arrives until the sender pauses: an HTTP request with its body, or
                // a TLS ClientHello (which a plain-HTTP server answers with a 400).
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(150), stream.read(&mut buffer)).await
                {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..n]);
                }
                recorder.bytes.lock().await.extend_from_slice(&request);
                let text = String::from_utf8_lossy(&request);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let _ = stream.write_all(answer(&path).as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, seen)
}

fn redirect(location: &str) -> String {
    format!(
        "HTTP/1.1 301 Moved Permanently\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_fails_and_no_credential_reaches_it() {
    for (other_ip, other_host) in [("127.0.0.1", "localhost"), ("127.0.0.2", "127.0.0.2")] {
        let (other_port, other) = raw_server(other_ip, |_| redirect("/")).await;
        let target = format!("http://{other_host}:{other_port}");
        let (door_port, door) = raw_server("127.0.0.1", move |path| {
            redirect(&format!("{target}{path}"))
        })
        .await;
        let body = completed_body("4242", "Success", 10);
        let run = Invocation::refresh(&format!("http://127.0.0.1:{door_port}"))
            .signed(&body)
            .datasources(&["Orders"])
            .run()
            .await;
        assert_eq!(run.code, 1, "{}", run.stdout);
        let text = run.summary_text();
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(text.contains(other_host), "{text}");
        assert!(text.contains("set input tableau-site-url"), "{text}");
        assert!(!run.stdout.contains("retrying"), "{}", run.stdout);
        assert_eq!(
            other.connections.load(Ordering::SeqCst),
            0,
            "{other_host} was contacted"
        );
        assert!(!String::from_utf8_lossy(&other.bytes.lock().await).contains(SAMPLE_PAT_SECRET));
        // The configured host itself did get the sign-in: the test can see a secret if one comes.
        assert!(
            String::from_utf8_lossy(&door.bytes.lock().await).contains(SAMPLE_PAT_SECRET),
            "the sign-in went to the configured host"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_three_redirects_fail() {
    let (port, door) = raw_server("127.0.0.1", |path| redirect(&format!("{path}x"))).await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&format!("http://127.0.0.1:{port}"))
        .env("TABLEAU_API_VERSION", "3.24")
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("more than 3 redirects"),
        "{}",
        run.summary
    );
    // The sign-in and three redirects, each a POST with the body.
    assert_eq!(door.connections.load(Ordering::SeqCst), 4);
    let seen = String::from_utf8_lossy(&door.bytes.lock().await).into_owned();
    assert_eq!(
        seen.matches("POST /api/3.24/auth/signin").count(),
        4,
        "{seen}"
    );
    assert_eq!(
        seen.matches("personalAccessTokenSecret").count(),
        4,
        "{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_remote_host_is_refused_before_anything_is_sent() {
    let (port, listener) = raw_server("127.0.0.1", |_| redirect("/")).await;
    // A name that is not loopback as written; the knob would connect it to our listener.
    let url = format!("http://tableau.acme.invalid:{port}");
    let body = completed_body("4242", "Success", 10);
    let invocation = || {
        Invocation::refresh(&url)
            .env(SIMULATION_RESOLVE_ENV, "tableau.acme.invalid=127.0.0.1")
            .signed(&body)
            .datasources(&["Orders"])
    };
    let run = invocation().run().await;
    assert_eq!(run.code, 2, "a usage error: {}", run.stdout);
    assert!(run.stdout.contains("Use https://"), "{}", run.stdout);
    assert!(
        run.stdout.contains("TABLEAU_ALLOW_INSECURE_HTTP"),
        "{}",
        run.stdout
    );
    assert_eq!(listener.connections.load(Ordering::SeqCst), 0);

    // The opt-in lets it through: the test would have seen a connection.
    let run = invocation()
        .env("TABLEAU_ALLOW_INSECURE_HTTP", "true")
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(listener.connections.load(Ordering::SeqCst) > 0);

    let run = invocation()
        .env("TABLEAU_ALLOW_INSECURE_HTTP", "maybe")
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xml_only_serverinfo_is_read() {
    let sim = TableauSim::start_xml_only_serverinfo(SimConfig::sample().with_job_duration(FAST))
        .await
        .expect("simulator starts");
    let answer = reqwest::Client::new()
        .get(format!("{}/api/2.4/serverinfo", sim.url()))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("serverinfo");
    assert!(
        answer
            .text()
            .await
            .expect("body")
            .contains("<restApiVersion>3.24</restApiVersion>"),
        "the simulator answers XML to a JSON client"
    );
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert!(
        run.summary_text()
            .contains("REST API 3.24 (Tableau 2024.2.0)"),
        "{}",
        run.summary
    );
    sim.shutdown().await;

    // A Tableau Server 10.1 (REST API 2.4): its XML answer is read, and it is too old.
    let old = TableauSim::start_xml_only_serverinfo(SimConfig::sample().with_api_version("2.4"))
        .await
        .expect("simulator starts");
    let run = Invocation::refresh(&old.url())
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("REST API 2.4 is too old"),
        "{}",
        run.summary
    );
    assert_eq!(old.stats().sign_ins, 0, "3.6 is not served there");
    old.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_no_longer_serves_3_6_gets_the_sign_in_at_its_own_version() {
    let (port, server) = raw_server("127.0.0.1", |path| {
        let (status, body) = match path {
            "/api/2.4/serverinfo" => (
                "200 OK",
                r#"{"serverInfo":{"productVersion":{"value":"2030.1.0","build":"x"},"restApiVersion":"4.2"}}"#,
            ),
            "/api/4.2/auth/signin" => (
                "200 OK",
                r#"{"credentials":{"site":{"id":"site-luid","contentUrl":""},"user":{"id":"u"},"token":"tok-4-2"}}"#,
            ),
            "/api/4.2/auth/signout" => ("204 No Content", ""),
            _ => (
                "404 Not Found",
                r#"{"error":{"summary":"Resource Not Found","detail":"Unknown resource","code":"404003"}}"#,
            ),
        };
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    })
    .await;
    let transport = transport();
    let connection = dbt_tableau_refresh::tableau::Connection {
        server: format!("http://127.0.0.1:{port}").parse().expect("url"),
        site: String::new(),
        credentials: dbt_tableau_refresh::tableau::Credentials::Pat {
            name: "n".into(),
            secret: dbt_tableau_refresh::secret::Secret::new("s"),
        },
        pinned_version: None,
        allow_insecure_http: false,
    };
    let session =
        dbt_tableau_refresh::tableau::Session::open(&transport, Console::plain(), connection, 1)
            .await
            .expect("signed in");
    assert_eq!(session.version().to_string(), "4.2");
    session.close().await.expect("signed out");
    let seen = String::from_utf8_lossy(&server.bytes.lock().await).into_owned();
    for line in [
        "GET /api/2.4/serverinfo",
        "POST /api/3.6/auth/signin",
        "POST /api/4.2/auth/signin",
        "POST /api/4.2/auth/signout",
    ] {
        assert!(seen.contains(line), "{line} in {seen}");
    }
}

fn transport() -> Transport {
    Transport::new(Console::plain(), RetryPolicy::default(), &[]).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_server_behind_https_fails_in_one_attempt() {
    let (port, server) = raw_server("127.0.0.1", |_| {
        "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
    })
    .await;
    let url = format!("https://127.0.0.1:{port}/api/2.4/serverinfo");
    let transport = transport();
    let err = transport
        .send(
            Method::GET,
            &url.parse().expect("url"),
            None,
            None,
            Retry::Safe,
        )
        .await
        .expect_err("not TLS");
    assert_eq!(transport.requests(), 1);
    assert_eq!(transport.retries(), 0);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("did not answer in TLS"), "{text}");
    assert!(text.contains("plain-http server"), "{text}");

    // The whole run: one attempt per opening call (serverinfo and sign-in), none repeated.
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&format!("https://127.0.0.1:{port}"))
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("retrying"), "{}", run.stdout);
    assert!(
        run.summary_text().contains("did not answer in TLS"),
        "{}",
        run.summary
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_does_not_resolve_fails_in_one_attempt() {
    // RFC 6761: names under .invalid never resolve.
    let url = "https://tableau.does-not-exist.invalid/api/2.4/serverinfo";
    let transport = transport();
    let err = transport
        .send(
            Method::GET,
            &url.parse().expect("url"),
            None,
            None,
            Retry::Safe,
        )
        .await
        .expect_err("no such name");
    assert_eq!(transport.requests(), 1);
    assert_eq!(transport.retries(), 0);
    let text = err.to_string();
    assert!(
        text.contains("the name tableau.does-not-exist.invalid does not resolve"),
        "{text}"
    );
    // Named as where this test runs: `--site-url (TABLEAU_SITE_URL)`, or the input in Actions.
    let named =
        dbt_tableau_refresh::inputs::Naming::from_env().of(&dbt_tableau_refresh::inputs::SITE_URL);
    assert!(text.contains(&format!("check {named}")), "{text}");
}
