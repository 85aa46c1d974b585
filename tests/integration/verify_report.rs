//! `verify`: the short report, `--json`, `-` for standard input, and the hint when a saved body
//! gained a trailing newline or CRLF line endings; the same hint in `refresh`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, WEBHOOK_KEY, completed_body, sign};

/// Runs `verify` with `args`, feeding `stdin`; returns (code, stdout, stderr).
fn verify(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbt-tableau-refresh"))
        .env_clear()
        .env("DBT_WEBHOOK_KEY", format!("old-key\n{WEBHOOK_KEY}"))
        .arg("verify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_valid_body_from_stdin_gives_a_short_report_and_json() {
    let body = completed_body("4242", "Success", 10);
    let signature = sign(&body);
    let (code, stdout, stderr) = verify(&["-", "--signature", &signature], body.as_bytes());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("signature  valid: key 2 of 2,"),
        "{stdout}"
    );
    for line in [
        "event      job.run.completed (wev_2uR9xTt4dQ0Lz1pVbN)",
        "job        4242 (Nightly build)",
        "run        318275016",
        "status     Success (10)",
        "age        ",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert!(stdout.lines().count() <= 8, "short: {stdout}");
    assert!(!stdout.contains("WebhookEvent"), "no Debug dump: {stdout}");
    assert!(!stdout.contains(WEBHOOK_KEY), "never the key");

    let (code, stdout, _) = verify(&["-", "--json", "--signature", &signature], body.as_bytes());
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(json["valid"], true);
    assert_eq!(json["key"], 2);
    assert_eq!(json["event"]["type"], "job.run.completed");
    assert_eq!(json["event"]["job_id"], "4242");
    assert_eq!(json["event"]["run_id"], "318275016");
    assert_eq!(json["event"]["succeeded"], true);
    assert!(json["event"]["age_s"].as_i64().is_some_and(|age| age >= 0));
}

#[test]
fn a_body_saved_with_echo_or_crlf_gets_the_hint() {
    let body = completed_body("4242", "Success", 10);
    let signature = sign(&body);
    let dir = tempfile::tempdir().expect("tempdir");
    let echoed = dir.path().join("body.json");
    std::fs::write(&echoed, format!("{body}\n")).expect("write");
    let (code, stdout, _) = verify(
        &[
            echoed.to_str().expect("utf-8 path"),
            "--signature",
            &signature,
        ],
        b"",
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("signature  INVALID"), "{stdout}");
    assert!(
        stdout.contains(
            "the saved body ends with a newline that dbt did not send (the signature matches \
             without it); save it byte for byte, e.g. with printf '%s'"
        ),
        "{stdout}"
    );

    // A pretty-printed body copied through a Windows editor.
    let pretty = "{\n  \"eventType\": \"job.run.completed\",\n  \"data\": {}\n}";
    let crlf = pretty.replace('\n', "\r\n");
    let (code, stdout, _) = verify(
        &["-", "--json", "--signature", &sign(pretty)],
        crlf.as_bytes(),
    );
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["valid"], false);
    assert!(
        json["hint"]
            .as_str()
            .is_some_and(|hint| hint.contains("Windows line endings (CRLF)")),
        "{json}"
    );

    // A plain mismatch gets no hint.
    let (code, stdout, _) = verify(&["-", "--signature", &sign("other")], body.as_bytes());
    assert_eq!(code, 1);
    assert!(!stdout.contains("hint"), "{stdout}");
}

#[test]
fn control_characters_from_the_body_are_not_printed() {
    let body = completed_body("4242", "Success", 10).replace(
        "Nightly build",
        "Nightly \\u001b]0;owned\\u0007\\u001b[2J build",
    );
    let (code, stdout, _) = verify(&["-", "--signature", &sign(&body)], body.as_bytes());
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("job        4242 (Nightly"), "{stdout}");
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_gives_the_same_hint_for_a_payload_with_a_trailing_newline() {
    let sim = TableauSim::start(SimConfig::sample())
        .await
        .expect("simulator starts");
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("DBT_WEBHOOK_PAYLOAD", &format!("{body}\n"))
        .env("DBT_WEBHOOK_SIGNATURE", &sign(&body))
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.summary_text()
            .contains("Hint: the body ends with a newline that dbt did not send"),
        "{}",
        run.summary
    );
    assert!(sim.stats().requests.is_empty());
}
