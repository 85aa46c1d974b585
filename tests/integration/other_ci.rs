//! Other CI systems (issue 13 item 9): `--summary-file` writes the job summary to a file, and
//! `--format json` prints the result as one JSON document on stdout, every other line on stderr.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::sample::SAMPLE_PAT_SECRET;
use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, Run, WEBHOOK_KEY, completed_body, sign};

async fn start() -> TableauSim {
    let config = SimConfig::sample().with_job_duration(Duration::from_millis(20));
    TableauSim::start(config).await.expect("simulator starts")
}

/// A signed run on a laptop (no Actions files) refreshing two targets, one of them missing.
fn laptop(url: &str) -> Invocation {
    let body = completed_body("4242", "Success", 10);
    Invocation::refresh(url)
        .terminal()
        .env("DBT_WEBHOOK_PAYLOAD", &body)
        .env("DBT_WEBHOOK_SIGNATURE", &sign(&body))
        .workbooks(&["Finance/Revenue Dashboard", "Missing Workbook"])
        .datasources(&["Orders"])
}

/// The one JSON document on stdout: the only line there.
fn document(run: &Run) -> serde_json::Value {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stdout: {}", run.stdout);
    serde_json::from_str(lines[0]).unwrap_or_else(|err| panic!("{err}: {}", run.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_file_gets_the_job_summary() {
    let sim = start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tableau-summary.md");
    std::fs::write(&path, "an older run's summary\n").expect("old file");

    // A failed run, by flag: the whole summary, replacing the older file.
    let run = laptop(&sim.url())
        .arg("--summary-file")
        .arg(&path.display().to_string())
        .run()
        .await;
    let written = std::fs::read_to_string(&path).expect("summary file");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        written.starts_with("## ❌ Tableau refresh: failed"),
        "{written}"
    );
    assert!(written.contains("Revenue Dashboard"), "{written}");
    assert!(!written.contains("an older run"), "{written}");

    // On a laptop, by variable: the file, and the report on the terminal as before.
    let run = laptop(&sim.url())
        .workbooks(&["Finance/Revenue Dashboard"])
        .env(
            "DBT_TABLEAU_REFRESH_SUMMARY_FILE",
            &path.display().to_string(),
        )
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = std::fs::read_to_string(&path).expect("summary file");
    assert!(
        written.starts_with("## ✅ Tableau refresh: success"),
        "{written}"
    );
    assert_eq!(run.stdout.trim_end(), written.trim_end());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_actions_the_summary_file_equals_the_job_summary() {
    let sim = start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("summary.md");
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .datasources(&["Orders"])
        .arg("--summary-file")
        .arg(&path.display().to_string())
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let written = std::fs::read_to_string(&path).expect("summary file");
    assert_eq!(written, run.summary);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_on_stdout_matches_the_outputs_and_nothing_else_is_there() {
    let sim = start().await;
    // In Actions, where the step outputs are written too: the document is the same data.
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .workbooks(&["Finance/Revenue Dashboard", "Missing Workbook"])
        .datasources(&["Orders"])
        .arg("--format")
        .arg("json")
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = document(&run);
    assert_eq!(doc["status"], run.output("status"));
    assert_eq!(doc["status"], "failed");
    assert_eq!(
        doc["jobs"],
        serde_json::Value::Array(run.jobs()),
        "jobs as the output has them"
    );
    assert_eq!(doc["dbt-job-id"], run.output("dbt-job-id"));
    assert_eq!(doc["dbt-job-id"], "4242");
    assert_eq!(doc["dbt-run-id"], run.output("dbt-run-id"));
    assert_eq!(
        doc.as_object().expect("object").len(),
        run.outputs.len(),
        "the outputs' names, no more: {doc}"
    );
    // Workflow commands still reach the runner, on stderr; the summary went to its file.
    for command in [
        "::add-mask::",
        "::group::Sign in to Tableau",
        "::error title=workbook not found::",
    ] {
        assert!(run.stderr.contains(command), "{command}: {}", run.stderr);
    }
    assert!(run.summary.contains("Tableau refresh: failed"));
    for secret in [SAMPLE_PAT_SECRET, WEBHOOK_KEY] {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_laptop_json_mode_sends_progress_and_summary_to_stderr() {
    let sim = start().await;
    let run = laptop(&sim.url())
        .env("DBT_TABLEAU_REFRESH_FORMAT", "json")
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = document(&run);
    assert_eq!(doc["status"], "failed");
    let outcomes: Vec<(&str, &str)> = doc["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|job| {
            (
                job["reference"].as_str().expect("reference"),
                job["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("Finance/Revenue Dashboard", "succeeded"),
            ("Missing Workbook", "not-found"),
            ("Orders", "succeeded"),
        ]
    );
    assert!(run.stderr.contains("Signed in to"), "{}", run.stderr);
    assert!(
        run.stderr.contains("## ❌ Tableau refresh: failed"),
        "the summary, for people: {}",
        run.stderr
    );
    assert!(!run.stdout.contains(SAMPLE_PAT_SECRET));

    // A usage error still prints the document: failed, no jobs.
    let run = Invocation::refresh("not a url")
        .terminal()
        .arg("--format=json")
        .arg("--no-event")
        .workbooks(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let doc = document(&run);
    assert_eq!(
        doc,
        serde_json::json!({"status": "failed", "jobs": [], "dbt-job-id": "", "dbt-run-id": ""})
    );
    assert!(run.stderr.contains("is not a URL"), "{}", run.stderr);
    sim.shutdown().await;
}
