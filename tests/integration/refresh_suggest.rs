//! "Did you mean" against the Tableau simulator: a reference that matches nothing gets a hint
//! with the full path, the other kind, or the slip it shows (case, spacing, a YAML `- `, several
//! references on one line). One test a slip.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, Run, completed_body};

/// Runs `refresh` on the sample site with these lists, and returns the run.
async fn run(workbooks: &[&str], datasources: &[&str]) -> Run {
    let sim = TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
        .await
        .expect("simulator starts");
    let body = completed_body("4242", "Success", 10);
    let mut invocation = Invocation::refresh(&sim.url()).signed(&body);
    if !workbooks.is_empty() {
        invocation = invocation.workbooks(workbooks);
    }
    if !datasources.is_empty() {
        invocation = invocation.datasources(datasources);
    }
    invocation.run().await
}

/// The not-found message of the target written `reference`; it must be in the log too.
fn message(run: &Run, reference: &str) -> String {
    assert_eq!(
        run.outcome(reference),
        "not-found",
        "{}",
        run.output("jobs")
    );
    let jobs = run.jobs();
    let job = jobs
        .iter()
        .find(|job| job["reference"] == reference)
        .expect("job");
    let message = job["message"].as_str().expect("message").to_string();
    assert!(
        message.starts_with(&format!(
            "no {} named",
            job["kind"]
                .as_str()
                .expect("kind")
                .replace("datasource", "data source")
        )),
        "{message}"
    );
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_path_is_answered_with_the_full_path() {
    let run = run(&["Quarterly/P&L, Q1: Actuals"], &[]).await;
    let message = message(&run, "Quarterly/P&L, Q1: Actuals");
    assert!(
        message.contains("did you mean `Finance/Quarterly/P&L, Q1: Actuals`?"),
        "{message}"
    );
    // The comma belongs to the name: no "one reference a line" hint.
    assert!(!message.contains("commas"), "{message}");
    assert!(
        run.stdout.contains("Finance/Quarterly/P&L, Q1: Actuals"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_source_listed_as_a_workbook_is_named_as_one() {
    let run = run(&["Orders"], &[]).await;
    let message = message(&run, "Orders");
    assert!(
        message.contains(
            "`Finance/Orders` is a data source, not a workbook: list it under datasources"
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_case_gets_the_right_one() {
    let run = run(&[], &["finance/ORDERS"]).await;
    let message = message(&run, "finance/ORDERS");
    assert!(
        message.contains("did you mean `Finance/Orders`?"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_space_gets_the_right_name() {
    let run = run(&["Marketing/Live  Sales"], &[]).await;
    let message = message(&run, "Marketing/Live  Sales");
    assert!(
        message.contains("did you mean `Marketing/Live Sales`?"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comma_separated_line_is_told_to_go_one_a_line() {
    let run = run(&[], &["Orders, Customers"]).await;
    let message = message(&run, "Orders, Customers");
    assert!(
        message.contains("one reference a line")
            && message.contains("`Finance/Orders`, `Marketing/Customers`"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yaml_list_item_is_told_to_drop_the_marker() {
    let run = run(&[], &["- Customers"]).await;
    let message = message(&run, "- Customers");
    assert!(
        message.contains("YAML `- `") && message.contains("`Marketing/Customers`"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_near_gets_no_hint() {
    let run = run(&["Nothing Like It"], &["Orders"]).await;
    assert_eq!(
        message(&run, "Nothing Like It"),
        "no workbook named `Nothing Like It` is visible on this site to this token"
    );
    assert_eq!(run.outcome("Orders"), "succeeded");
}
