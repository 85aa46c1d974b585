//! The demo: every scenario plays out as its story says, through the real relay and `refresh`.

use crate::common::Invocation;

async fn demo(scenario: &str) -> crate::common::Run {
    Invocation::command(&["demo", "--scenario", scenario])
        .run()
        .await
}

fn assert_played(run: &crate::common::Run, scenario: &str, expected: &[&str]) {
    assert_eq!(run.code, 0, "{scenario}:\n{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("✔ The {scenario} scenario played as it should")),
        "{}",
        run.stdout
    );
    for text in expected {
        assert!(
            run.stdout.contains(text),
            "{scenario}: missing {text:?}:\n{}",
            run.stdout
        );
    }
}

/// The summary's request count and the demo's count of the action's requests agree.
fn assert_counts_agree(run: &crate::common::Run) {
    let number = |pattern: &str| -> usize {
        regex::Regex::new(pattern)
            .expect("a valid pattern")
            .captures(&run.stdout)
            .and_then(|c| c[1].parse().ok())
            .unwrap_or_else(|| panic!("no match for {pattern}:\n{}", run.stdout))
    };
    let summary = number(r"· (\d+) requests ·");
    let demo = number(r"Tableau saw (\d+) requests from the action");
    assert_eq!(summary, demo, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_goes_through_every_stage_and_writes_the_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = dir.path().join("summary.md");
    let run = Invocation::command(&["demo", "--summary-file"])
        .arg(&summary.display().to_string())
        .run()
        .await;
    assert_played(
        &run,
        "success",
        &[
            "202 Accepted: dispatched",
            "repository_dispatch `dbt-job-run-completed` to acme/analytics (1 dispatch)",
            "Signature verified",
            "Queued refresh of workbook Finance/Revenue Dashboard",
            "Signed out of Tableau.",
            "## ✅ Tableau refresh: success",
        ],
    );
    let written = std::fs::read_to_string(&summary).expect("summary file");
    assert!(
        written.starts_with("## ✅ Tableau refresh: success"),
        "{written}"
    );
    assert_eq!(written.matches("| succeeded |").count(), 3, "{written}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dbt_run_is_skipped() {
    let run = demo("failed-run").await;
    assert_played(
        &run,
        "failed-run",
        &[
            "(Errored)",
            "## ⏭️ Tableau refresh: skipped",
            "Tableau saw 0 requests",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_is_refused_twice() {
    let run = demo("forged").await;
    assert_played(
        &run,
        "forged",
        &[
            "401 Unauthorized",
            "nothing dispatched",
            "Failed while verifying the webhook signature",
            "Tableau saw 0 requests",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_refresh_shows_the_notes() {
    let run = demo("refresh-fails").await;
    assert_played(
        &run,
        "refresh-fails",
        &[
            "## ❌ Tableau refresh: failed",
            "Login failed for user 'TABLEAU\\_SVC'",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_already_queued_refresh_is_a_warning() {
    let run = demo("already-queued").await;
    assert_played(
        &run,
        "already-queued",
        &[
            "| already-queued |",
            "## ✅ Tableau refresh: success",
            "Another job already queued a refresh of Orders on Tableau (job ",
        ],
    );
    assert!(!run.stdout.contains("Queued {"), "{}", run.stdout);
    assert!(
        run.stdout.contains(", plus 4 from the demo's own setup;"),
        "{}",
        run.stdout
    );
    assert_counts_agree(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_renewed_once() {
    let run = demo("session-expires").await;
    assert_played(
        &run,
        "session-expires",
        &["signing in again", "2 sign-ins, 1 sign-out"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tableau_clouds_front_door_leads_to_the_pod() {
    let run = demo("tableau-cloud").await;
    assert_played(
        &run,
        "tableau-cloud",
        &[
            "https://online.tableau.com:",
            "redirected to https://10ax.online.tableau.com:",
            "Signed in to https://10ax.online.tableau.com:",
            "site acme-analytics",
            "## ✅ Tableau refresh: success",
            "<sub>Tableau https://10ax.online.tableau.com:",
            "The front door redirected 2 requests to the pod 10ax.online.tableau.com:",
            "from the action (2 of them to the front door)",
        ],
    );
    assert_counts_agree(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_refreshes_what_reads_the_rebuilt_table_and_explains_the_rest() {
    let run = demo("lineage").await;
    assert_played(
        &run,
        "lineage",
        &[
            "▸ dbt Cloud sim",
            "Lineage: data source Orders ← lineage:analytics.marts.dim_customers, lineage:analytics.marts.fct_orders.",
            "Lineage: workbook P&L, Q1: Actuals ← lineage:analytics.marts.fct_orders.",
            "**workbook Live Sales** — a live connection",
            "**workbook Revenue Dashboard** — reads Orders, which is refreshed",
            "## ✅ Tableau refresh: success",
        ],
    );
    assert_counts_agree(&run);
}
