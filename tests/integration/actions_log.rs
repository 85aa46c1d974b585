//! Issue 10, finding 1: no text from Tableau or dbt can forge a workflow command, and no session
//! token shows in the log. The real `refresh` runs twice inside a simulated Actions step, once with
//! hostile names everywhere an outside value reaches the log and once with plain ones, both with a
//! session that expires mid-run (so a second token is masked late). A runner-faithful reader
//! (`runner_log`) reads both outputs; the commands it acts on must be the same.

use std::time::Duration;

use dbt_tableau_refresh::actions::console::clean;
use dbt_tableau_refresh::sim::tableau::sample::{FINANCE_PROJECT_ID, SAMPLE_PAT_SECRET};
use dbt_tableau_refresh::sim::tableau::{
    SimConfig, SimItem, SimJobBehaviour, SimProject, TableauSim,
};

use crate::common::{Invocation, Run, WEBHOOK_KEY};
use crate::runner_log::{Command, RunnerLog};

const FAST: Duration = Duration::from_millis(20);
const PROJECT_ID: &str = "aa000000-0000-4000-8000-0000000000a1";
const WORKBOOK_ID: &str = "aa000000-0000-4000-8000-0000000000b1";
const FAILING_ID: &str = "aa000000-0000-4000-8000-0000000000b2";
const DATASOURCE_ID: &str = "aa000000-0000-4000-8000-0000000000c1";

/// Every outside value of one run that reaches the log.
struct Names {
    product_version: &'static str,
    project: &'static str,
    workbook: &'static str,
    failing_workbook: &'static str,
    notes: &'static str,
    datasource: &'static str,
    dbt_event_id: &'static str,
    dbt_job_id: &'static str,
    dbt_run_id: &'static str,
    dbt_job_name: &'static str,
    dbt_project: &'static str,
    dbt_environment: &'static str,
}

const HOSTILE: Names = Names {
    // Fires on the "Signed in" line, before the session is lost: the new token's mask comes after.
    product_version: "2024.2.0 ##[stop-commands]pausing",
    project: "\r::error title=x::forged",
    workbook: "Q3 ##[stop-commands]x",
    failing_workbook: "\u{1b}[31mRed\u{1b}[0m \u{1b}]0;title\u{7} %0A::error::pct %0D%0A::warning::x",
    notes: "Login failed.\n::error title=notes::forged\r##[set-output name=status;]success ##[add-mask]the",
    datasource: "Orders\n  ::set-output name=a::b\u{85}::notice::nel\u{2028}::notice::ls",
    dbt_event_id: "wev_2uR9 `##[stop-commands]event` |::error::x",
    dbt_job_id: "4242\r::error::dbt ##[stop-commands]dbtjob",
    dbt_run_id: "318275016 ##[save-state name=x]y",
    dbt_job_name: "Nightly\n::error::job",
    dbt_project: "Analytics ##[set-env name=X]y",
    dbt_environment: "Prod\r\n  ::add-path::/tmp/evil",
};

const PLAIN: Names = Names {
    product_version: "2024.2.0",
    project: "Plain Project",
    workbook: "Q3 Plain",
    failing_workbook: "Failing Plain",
    notes: "Login failed.",
    datasource: "Orders Plain",
    dbt_event_id: "wev_2uR9xTt4dQ0Lz1pVbN",
    dbt_job_id: "4242",
    dbt_run_id: "318275016",
    dbt_job_name: "Nightly build",
    dbt_project: "Analytics",
    dbt_environment: "Production",
};

fn site(names: &Names) -> SimConfig {
    let mut config = SimConfig::sample().with_job_duration(FAST);
    config.product_version = names.product_version.to_string();
    config
        .projects
        .push(SimProject::new(PROJECT_ID, names.project).under(FINANCE_PROJECT_ID));
    config.workbooks.extend([
        SimItem::new(WORKBOOK_ID, names.workbook, Some(PROJECT_ID))
            .with_job(SimJobBehaviour::succeeding(FAST)),
        SimItem::new(FAILING_ID, names.failing_workbook, Some(PROJECT_ID))
            .with_job(SimJobBehaviour::failing(FAST, names.notes)),
    ]);
    config.datasources.push(
        SimItem::new(DATASOURCE_ID, names.datasource, Some(PROJECT_ID))
            .with_job(SimJobBehaviour::succeeding(FAST)),
    );
    config
}

/// A `job.run.completed` body with the dbt values of `names`.
fn body(names: &Names) -> String {
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string();
    serde_json::json!({
        "accountId": 51798,
        "webhooksID": "wsu_2xq8mJk1",
        "eventId": names.dbt_event_id,
        "timestamp": now,
        "eventType": "job.run.completed",
        "webhookName": "tableau-refresh",
        "data": {
            "jobId": names.dbt_job_id,
            "jobName": names.dbt_job_name,
            "runId": names.dbt_run_id,
            "environmentId": "218762",
            "environmentName": names.dbt_environment,
            "projectName": names.dbt_project,
            "projectId": "270542",
            "runStatus": "Success",
            "runStatusCode": 10,
            "runStartedAt": now,
            "runFinishedAt": now,
        }
    })
    .to_string()
}

/// One run against a fresh simulator whose session expires after the first authenticated call.
async fn run(names: &Names) -> (Run, usize) {
    run_with(names, |invocation| invocation).await
}

async fn run_with(names: &Names, setup: impl FnOnce(Invocation) -> Invocation) -> (Run, usize) {
    let sim = TableauSim::start(site(names)).await.expect("simulator");
    sim.faults().expire_session_after(1);
    let run = setup(Invocation::refresh(&sim.url()))
        .signed(&body(names))
        // Diagnostics on stderr too: the runner reads both streams.
        .env("RUST_LOG", "trace")
        .workbooks(&[WORKBOOK_ID, FAILING_ID])
        .datasources(&[DATASOURCE_ID])
        .run()
        .await;
    let sign_ins = sim.stats().sign_ins;
    sim.shutdown().await;
    (run, sign_ins)
}

/// The runner reads stdout and stderr alike.
fn read(run: &Run) -> RunnerLog {
    let mut log = RunnerLog::read(&run.stdout);
    log.feed(&run.stderr);
    log
}

/// A command with the outside values left out: its name, its property names, and the data of the
/// commands whose data is ours (groups). Masks are compared by count.
fn shape(command: &Command) -> String {
    let keys: Vec<&str> = command.properties.keys().map(String::as_str).collect();
    let data = match command.name.as_str() {
        "group" | "endgroup" => command.data.as_str(),
        _ => "…",
    };
    format!("{} [{}] {data}", command.name, keys.join(","))
}

/// Every value the program asked the runner to mask, read from the raw output with no runner
/// rules at all (so a mask the runner ignored is found too).
fn mask_values(run: &Run) -> Vec<String> {
    regex::Regex::new(r"::add-mask::([^\r\n]+)")
        .expect("valid pattern")
        .captures_iter(&run.stdout)
        .map(|found| found[1].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_forge_no_workflow_command_and_no_token_shows() {
    let (hostile, hostile_sign_ins) = run(&HOSTILE).await;
    let (plain, plain_sign_ins) = run(&PLAIN).await;
    // Both runs lost their session once and signed in again.
    assert_eq!((hostile_sign_ins, plain_sign_ins), (2, 2));
    assert_eq!(hostile.code, plain.code, "{}", hostile.stdout);
    assert_eq!(plain.code, 1, "the failing workbook fails both runs");

    let (hostile_log, plain_log) = (read(&hostile), read(&plain));
    let hostile_shapes: Vec<String> = hostile_log.commands.iter().map(shape).collect();
    let plain_shapes: Vec<String> = plain_log.commands.iter().map(shape).collect();
    assert_eq!(
        hostile_shapes, plain_shapes,
        "the hostile run's commands differ from the plain run's:\n{}",
        hostile.stdout
    );
    let masks = plain_shapes
        .iter()
        .filter(|s| s.starts_with("add-mask"))
        .count();
    assert!(
        masks >= 4,
        "PAT secret, webhook key and two session tokens: {plain_shapes:?}"
    );
    assert!(plain_shapes.iter().any(|s| s.starts_with("warning")));

    for (label, run, log) in [
        ("hostile", &hostile, &hostile_log),
        ("plain", &plain, &plain_log),
    ] {
        let shown = log.shown_text();
        for secret in mask_values(run)
            .into_iter()
            .chain([WEBHOOK_KEY.to_string(), SAMPLE_PAT_SECRET.to_string()])
        {
            assert!(
                !shown.contains(&secret),
                "{label}: a masked value is visible in the log:\n{shown}"
            );
        }
        // One line per line written: nothing but `\n` ends a line, and no ESC reaches the log.
        assert!(
            !run.stdout
                .chars()
                .chain(run.stderr.chars())
                .any(|c| c != '\n' && (c.is_control() || c == '\u{2028}')),
            "{label}: a control character was written:\n{:?}",
            run.stdout
        );
    }

    // The hostile values did reach the log, cleaned, so the comparison above means something.
    let shown = hostile_log.shown_text();
    for value in [
        HOSTILE.product_version,
        HOSTILE.project,
        HOSTILE.workbook,
        HOSTILE.failing_workbook,
        HOSTILE.datasource,
        HOSTILE.notes,
    ] {
        assert!(
            shown.contains(&clean(value)),
            "{:?} is not in the log:\n{shown}",
            clean(value)
        );
    }
    assert!(
        shown.contains("4242::error::dbt ##［stop-commands]dbtjob"),
        "{shown}"
    );
}

/// `verify` prints the parsed event; run as an Actions step, its strings must not act either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_prints_a_hostile_event_without_forging_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("body.json");
    let body = body(&HOSTILE);
    std::fs::write(&path, &body).expect("write body");
    let run = Invocation::command(&["verify", "--signature", &crate::common::sign(&body)])
        .arg(&path.display().to_string())
        .env("DBT_WEBHOOK_KEY", WEBHOOK_KEY)
        .env("GITHUB_ACTIONS", "true")
        .run()
        .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("##［stop-commands]dbtjob"),
        "{}",
        run.stdout
    );
    let log = read(&run);
    assert_eq!(log.commands, [], "{}", run.stdout);
}

/// Inside Actions but without a job summary file, the report goes to stdout, where the runner reads
/// it for commands like any other line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_on_stdout_forges_no_command_either() {
    let without_summary =
        |invocation: Invocation| invocation.terminal().env("GITHUB_ACTIONS", "true");
    let (hostile, _) = run_with(&HOSTILE, without_summary).await;
    let (plain, _) = run_with(&PLAIN, without_summary).await;
    assert!(
        hostile.stdout.contains("## ❌ Tableau refresh: failed"),
        "{}",
        hostile.stdout
    );
    let hostile_shapes: Vec<String> = read(&hostile).commands.iter().map(shape).collect();
    let plain_shapes: Vec<String> = read(&plain).commands.iter().map(shape).collect();
    assert_eq!(hostile_shapes, plain_shapes, "{}", hostile.stdout);
    assert!(
        hostile.stdout.contains("##［stop-commands]event"),
        "{}",
        hostile.stdout
    );
}
