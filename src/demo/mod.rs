//! The `demo` command: the whole chain on loopback simulators. It starts the Tableau and GitHub
//! simulators and the real relay, posts a signed webhook as dbt Cloud would, turns the dispatch
//! GitHub received into an event file, and runs the real `refresh` command on it, showing each
//! stage and the job summary.

pub mod scenario;

use std::path::Path;
use std::process::Stdio;

use anyhow::Context;

pub use scenario::Scenario;

use crate::actions::outputs;
use crate::cli::DemoArgs;
use crate::dbt::signature;
use crate::exit;
use crate::relay::{GitHubAuth, RelayConfig, RelayHandle, Repository};
use crate::secret::Secret;
use crate::sim::dbt_cloud::{DbtCloudSim, DbtCloudSimConfig, SAMPLE_DBT_TOKEN};
use crate::sim::github::{GitHubSim, GitHubSimConfig};
use crate::sim::tableau::TableauSim;
use crate::sim::tableau::front_door::{FrontDoorLog, TableauCloudSim};
use crate::sim::tableau::sample::{
    SAMPLE_CLIENT_ID, SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET, SAMPLE_SECRET_ID, SAMPLE_SECRET_VALUE,
    SAMPLE_USERNAME,
};
use crate::tableau::sim_resolve::SIMULATION_RESOLVE_ENV;

/// The demo's own throwaway credentials: nothing outside this process accepts them.
const WEBHOOK_KEY: &str = "demo-webhook-key-not-a-secret";
const GITHUB_TOKEN: &str = "ghs_demo_token_for_the_simulator";
const REPOSITORY: &str = "acme/analytics";

/// Runs the demo; exits 0 when the story played out as it should.
pub async fn command(args: DemoArgs) -> u8 {
    match play(args.scenario, args.summary_file.as_deref()).await {
        Ok(true) => exit::SUCCESS,
        Ok(false) => exit::FAILED,
        Err(err) => {
            eprintln!("error: the demo could not run: {err:#}");
            exit::FAILED
        }
    }
}

/// Everything the demo runs, stopped together at the end.
struct Stack {
    tableau: TableauSim,
    /// Set when the Tableau simulator plays Tableau Cloud (front door and pod, over TLS).
    cloud: Option<Cloud>,
    github: GitHubSim,
    relay: RelayHandle,
    /// The dbt Cloud simulator, serving the run's artifacts (the lineage scenario).
    dbt: Option<DbtCloudSim>,
}

/// What the `refresh` run needs to reach the simulated Tableau Cloud, and what it saw.
struct Cloud {
    pod_url: String,
    /// The throwaway CA, passed as `TABLEAU_CA_CERT`.
    ca_pem: String,
    /// The simulation-only resolve knob's value.
    resolve: String,
    log: FrontDoorLog,
}

async fn play(scenario: Scenario, summary_file: Option<&Path>) -> anyhow::Result<bool> {
    crate::tls::install_crypto_provider();
    println!("dbt-tableau-refresh demo: {}", scenario_name(scenario));
    println!("  {}\n", scenario.describe());
    let stack = start(scenario).await?;
    let work = tempfile::tempdir().context("a temporary folder for the event file")?;
    let outcome = run_story(scenario, &stack, work.path()).await;
    let Stack {
        tableau,
        github,
        relay,
        dbt,
        ..
    } = stack;
    if let Some(dbt) = dbt {
        dbt.shutdown().await;
    }
    relay.shutdown().await;
    github.shutdown().await;
    tableau.shutdown().await;
    let outcome = outcome?;
    if let Some(path) = summary_file {
        std::fs::write(path, &outcome.summary)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if outcome.as_expected {
        println!(
            "✔ The {} scenario played as it should: {}.",
            scenario_name(scenario),
            outcome.verdict
        );
    } else {
        println!(
            "✘ The {} scenario did not play as it should: {}.",
            scenario_name(scenario),
            outcome.verdict
        );
    }
    Ok(outcome.as_expected)
}

fn scenario_name(scenario: Scenario) -> String {
    use clap::ValueEnum;
    scenario
        .to_possible_value()
        .map(|value| value.get_name().to_string())
        .unwrap_or_default()
}

async fn start(scenario: Scenario) -> anyhow::Result<Stack> {
    let site = scenario.site();
    let (workbooks, datasources) = (site.workbooks.len(), site.datasources.len());
    let (tableau, cloud) = if scenario == Scenario::TableauCloud {
        let cloud = TableauCloudSim::start(site, scenario::CLOUD_POD).await?;
        println!(
            "▸ Tableau Cloud sim  {} → pod {}  (TLS, throwaway CA; {workbooks} workbooks, {datasources} data sources)",
            cloud.front_door_url(),
            cloud.pod_url()
        );
        let access = Cloud {
            pod_url: cloud.pod_url().to_string(),
            ca_pem: cloud.ca_pem().to_string(),
            resolve: cloud.resolve_knob(),
            log: cloud.front_door_log(),
        };
        (cloud.sim, Some(access))
    } else {
        let tableau = TableauSim::start(site).await?;
        println!(
            "▸ Tableau simulator  {}  ({workbooks} workbooks, {datasources} data sources)",
            tableau.url()
        );
        (tableau, None)
    };
    let github =
        GitHubSim::start(GitHubSimConfig::new(REPOSITORY).with_token(GITHUB_TOKEN)).await?;
    println!(
        "▸ GitHub simulator   {}  (repository {REPOSITORY})",
        github.url()
    );
    let config = RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        keys: vec![Secret::new(WEBHOOK_KEY)],
        repository: Repository::parse(REPOSITORY)?,
        github: GitHubAuth::Token(Secret::new(GITHUB_TOKEN)),
        github_api_url: github.url(),
        event_types: vec!["job.run.completed".into()],
        max_event_age: Some(std::time::Duration::from_secs(3_600)),
        dispatch_budget: crate::relay::config::DEFAULT_DISPATCH_BUDGET,
        concurrency_limit: crate::relay::config::DEFAULT_CONCURRENCY_LIMIT,
        max_connections_per_client: crate::relay::limits::DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    };
    let relay = crate::relay::start(config).await?;
    let dbt = if scenario == Scenario::Lineage {
        let dbt = DbtCloudSim::start(DbtCloudSimConfig::sample()).await?;
        println!(
            "▸ dbt Cloud sim      {}  (the run's steps and artifacts)",
            dbt.url()
        );
        Some(dbt)
    } else {
        None
    };
    println!(
        "▸ Relay              {}  (forwarding to {REPOSITORY})\n",
        relay.url()
    );
    Ok(Stack {
        tableau,
        cloud,
        github,
        relay,
        dbt,
    })
}

/// What the story produced.
struct Outcome {
    as_expected: bool,
    verdict: String,
    summary: String,
}

async fn run_story(scenario: Scenario, stack: &Stack, dir: &Path) -> anyhow::Result<Outcome> {
    if scenario == Scenario::AlreadyQueued {
        queue_orders_ahead(&stack.tableau).await?;
    }
    let body = webhook_body(scenario);
    let signing_key = if scenario == Scenario::Forged {
        Secret::new("a-key-the-attacker-guessed")
    } else {
        Secret::new(WEBHOOK_KEY)
    };
    let signature = signature::sign(&signing_key, body.as_bytes());
    let (status, answer) = post_webhook(&stack.relay.url(), &body, &signature).await?;
    let signed = if scenario == Scenario::Forged {
        "signed with a wrong key"
    } else {
        "signed"
    };
    println!(
        "① dbt Cloud → relay    POST / job.run.completed, run 318275016 ({}), {signed}",
        scenario.run_status().0
    );
    let verdict = if status == 202 {
        "signature verified; "
    } else {
        ""
    };
    println!("                       {verdict}{answer}");
    let dispatches = stack.github.stats().dispatches;
    let event = match dispatches.last() {
        Some(dispatch) => {
            println!(
                "② relay → GitHub       repository_dispatch `{}` to {} ({} dispatch)",
                dispatch.event_type,
                dispatch.repository,
                dispatches.len()
            );
            serde_json::json!({
                "action": dispatch.event_type,
                "client_payload": dispatch.client_payload,
                "repository": {"full_name": dispatch.repository},
            })
        }
        None => {
            println!("② relay → GitHub       nothing dispatched");
            // The second half of the forged story: someone holding a GitHub token sends a
            // dispatch of their own. The action checks the signature and refuses it.
            println!(
                "   Someone with a GitHub token dispatches a forged event straight to the repository…"
            );
            serde_json::json!({
                "action": "dbt-job-run-completed",
                "client_payload": {"body": body, "signature": signature, "event_type": "job.run.completed"},
            })
        }
    };
    if matches!(scenario, Scenario::SessionExpires | Scenario::ConnectedApp) {
        // Serverinfo and sign-in are not counted; the session dies during the wait.
        stack.tableau.faults().expire_session_after(9);
    }
    let event_path = dir.join("event.json");
    std::fs::write(&event_path, event.to_string())?;
    // What Tableau saw before the action ran (the demo's own setup), so the counts printed after
    // the summary are the action's, as its summary counts them.
    let setup = stack.tableau.stats();
    println!("③ GitHub → action      on: repository_dispatch ▸ dbt-tableau-refresh refresh\n");
    let refresh = run_refresh(
        scenario,
        &stack.tableau.url(),
        stack.cloud.as_ref(),
        stack.dbt.as_ref().map(DbtCloudSim::url).as_deref(),
        &event_path,
        dir,
    )
    .await?;
    println!("\n④ The job summary on the Actions run page:\n");
    println!("{}", indent(&refresh.summary));
    let tableau = stack.tableau.stats();
    let front_door = stack
        .cloud
        .as_ref()
        .map_or(0, |cloud| cloud.log.hits().len());
    println!(
        "{}\n",
        counts_line(
            &Counts {
                requests: tableau.requests.len() - setup.requests.len() + front_door,
                front_door,
                sign_ins: tableau.sign_ins - setup.sign_ins,
                sign_outs: tableau.sign_outs - setup.sign_outs,
            },
            setup.requests.len(),
            stack.github.stats().dispatches.len(),
        )
    );
    let status_ok = refresh.status == scenario.expected_status();
    let (as_expected, verdict) = match scenario {
        Scenario::Forged => {
            let untouched = tableau.requests.is_empty() && dispatches.is_empty() && status == 401;
            (
                status_ok && untouched,
                format!(
                    "the relay answered {status}, the action ended `{}`, and Tableau received {}",
                    refresh.status,
                    crate::plural::count(tableau.requests.len(), "request", "requests")
                ),
            )
        }
        Scenario::FailedRun => (
            status_ok && tableau.requests.is_empty(),
            format!(
                "the action ended `{}` without calling Tableau",
                refresh.status
            ),
        ),
        Scenario::SessionExpires => (
            status_ok && tableau.sign_ins == 2 && tableau.sign_outs == 1,
            format!(
                "the action ended `{}` after {} sign-ins",
                refresh.status, tableau.sign_ins
            ),
        ),
        Scenario::TableauCloud => {
            let redirected = stack
                .cloud
                .as_ref()
                .map_or(0, |cloud| cloud.log.hits().len());
            let pod = stack
                .cloud
                .as_ref()
                .map(|cloud| cloud.pod_url.trim_start_matches("https://").to_string())
                .unwrap_or_default();
            println!(
                "The front door redirected {} to the pod {pod}; every other call went to the pod.\n",
                crate::plural::count(redirected, "request", "requests")
            );
            (
                status_ok
                    && tableau.sign_outs == tableau.sign_ins
                    && redirected > 0
                    && !pod.is_empty()
                    && refresh.summary.contains(&pod),
                format!(
                    "the action followed the front door to {pod} and ended `{}`",
                    refresh.status
                ),
            )
        }
        Scenario::ConnectedApp => (
            // The simulator refuses a reused jti: two JWT sign-ins mean two fresh JWTs.
            status_ok && tableau.jwt_sign_ins == 2 && tableau.sign_outs == 1,
            format!(
                "the action ended `{}` after {} connected-app sign-ins, each with a new JWT",
                refresh.status, tableau.jwt_sign_ins
            ),
        ),
        Scenario::Lineage => {
            // Refreshed: the published extract and the workbook with its own extract of
            // fct_orders. Skipped and explained: the live workbook, the one reading Orders.
            let refreshed = ["Orders", "P&L, Q1: Actuals"];
            let jobs = refresh.jobs.clone();
            let names: Vec<&str> = jobs.iter().filter_map(|j| j["name"].as_str()).collect();
            let planned = names.len() == refreshed.len()
                && refreshed.iter().all(|name| names.contains(name))
                && jobs.iter().all(|j| j["outcome"] == "succeeded");
            let summary_ok = refresh
                .summary
                .contains("**workbook Revenue Dashboard** — reads Orders, which is refreshed")
                && refresh
                    .summary
                    .contains("**workbook Live Sales** — a live connection");
            (
                status_ok && planned && summary_ok && tableau.sign_outs == tableau.sign_ins,
                format!(
                    "lineage refreshed {} and the action ended `{}`",
                    names.join(" and "),
                    refresh.status
                ),
            )
        }
        _ => (
            status_ok && tableau.sign_outs == tableau.sign_ins,
            format!("the action ended `{}`", refresh.status),
        ),
    };
    Ok(Outcome {
        as_expected,
        verdict,
        summary: refresh.summary,
    })
}

/// The requests the action made, as the simulators saw them.
struct Counts {
    /// Every request, the front door's included: the number the job summary shows.
    requests: usize,
    /// Requests Tableau Cloud's front door answered with a redirect (the pod simulator never
    /// sees them).
    front_door: usize,
    sign_ins: usize,
    sign_outs: usize,
}

/// The line after the summary. It counts what the summary counts; the requests of the demo's own
/// setup (queuing Orders ahead) are named apart, so the two numbers agree.
fn counts_line(action: &Counts, setup_requests: usize, dispatches: usize) -> String {
    use crate::plural::count;
    let door = match action.front_door {
        0 => String::new(),
        n => format!(" ({n} of them to the front door)"),
    };
    let setup = match setup_requests {
        0 => String::new(),
        n => format!(", plus {n} from the demo's own setup"),
    };
    format!(
        "Tableau saw {} from the action{door}, {}, {}{setup}; GitHub received {}.",
        count(action.requests, "request", "requests"),
        count(action.sign_ins, "sign-in", "sign-ins"),
        count(action.sign_outs, "sign-out", "sign-outs"),
        count(dispatches, "dispatch", "dispatches")
    )
}

/// A `job.run.completed` body as dbt Cloud sends it, dated now.
fn webhook_body(scenario: Scenario) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.9fZ");
    let (status, code) = scenario.run_status();
    let mut id = [0u8; 8];
    let _ = getrandom::fill(&mut id);
    let event_id = format!("wev_demo{}", hex::encode(id));
    format!(
        r#"{{"accountId": 51798, "webhooksID": "wsu_demo", "eventId": "{event_id}", "timestamp": "{now}", "eventType": "job.run.completed", "webhookName": "tableau-refresh", "data": {{"jobId": "4242", "jobName": "Nightly build", "runId": "318275016", "environmentId": "218762", "environmentName": "Production", "dbtVersion": "2025.9.30+21d3fd7", "projectName": "Analytics", "projectId": "270542", "runStatus": "{status}", "runStatusCode": {code}, "runStatusMessage": "None", "runReason": "Kicked off by the scheduler", "runStartedAt": "{now}", "runFinishedAt": "{now}"}}}}"#
    )
}

/// Posts the webhook the way dbt Cloud does; returns the status and the relay's answer.
async fn post_webhook(url: &str, body: &str, signature: &str) -> anyhow::Result<(u16, String)> {
    let response = reqwest::Client::new()
        .post(url)
        .header("Authorization", signature)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .context("post the webhook to the relay")?;
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let word = answer["status"].as_str().unwrap_or("");
    let reason = answer["reason"]
        .as_str()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    Ok((status.as_u16(), answer_line(status, word, &reason)))
}

/// `401 Unauthorized: signature mismatch` or `202 Accepted: dispatched`. The relay's status word
/// is left out when it only repeats the HTTP status's name (`401 Unauthorized: unauthorized`).
fn answer_line(status: reqwest::StatusCode, word: &str, reason: &str) -> String {
    let name = status.canonical_reason().unwrap_or("");
    let repeats = word.replace('_', " ").eq_ignore_ascii_case(name);
    match (word.is_empty() || repeats, reason.strip_prefix(": ")) {
        (false, _) => format!("{} {name}: {word}{reason}", status.as_u16()),
        (true, Some(reason)) => format!("{} {name}: {reason}", status.as_u16()),
        (true, None) => format!("{} {name}", status.as_u16()),
    }
}

/// Queues a refresh of Orders before the story starts, as another job would have.
async fn queue_orders_ahead(tableau: &TableauSim) -> anyhow::Result<()> {
    use crate::tableau::http::{RetryPolicy, Transport};
    use crate::tableau::{Connection, Credentials, Kind, Session, jobs};
    let console = crate::actions::Console::plain();
    let transport = Transport::new(console, RetryPolicy::default(), &[])?;
    let connection = Connection {
        server: tableau.url().parse()?,
        site: String::new(),
        credentials: Credentials::Pat {
            name: SAMPLE_PAT_NAME.into(),
            secret: Secret::new(SAMPLE_PAT_SECRET),
        },
        pinned_version: None,
        allow_insecure_http: false,
    };
    let session = Session::open(&transport, console, connection, 1).await?;
    let started = jobs::start(
        &session,
        Kind::Datasource,
        crate::sim::tableau::sample::ORDERS_DATASOURCE_ID,
        false,
    )
    .await;
    session.close().await?;
    println!("▸ {}\n", queued_ahead(&started));
    Ok(())
}

/// Words what queuing Orders ahead of the story gave (not the `Start` value's Debug form).
fn queued_ahead(started: &crate::tableau::jobs::Start) -> String {
    use crate::tableau::jobs::Start;
    match started {
        Start::Queued { job_id } => {
            format!("Another job already queued a refresh of Orders on Tableau (job {job_id}).")
        }
        Start::AlreadyQueued(_) => {
            "Another job's refresh of Orders is already queued on Tableau.".into()
        }
        Start::NotRefreshable(why) | Start::Failed(why) | Start::Throttled { message: why, .. } => {
            format!("Queuing a refresh of Orders ahead of the story failed: {why}")
        }
    }
}

/// The result of the `refresh` run.
struct RefreshRun {
    status: String,
    summary: String,
    /// The `jobs` output.
    jobs: Vec<serde_json::Value>,
}

/// Runs this binary's `refresh` command as the action step would, with the Actions files pointed
/// into `dir`. Its progress lines go straight to the terminal.
async fn run_refresh(
    story: Scenario,
    tableau_url: &str,
    cloud: Option<&Cloud>,
    dbt_url: Option<&str>,
    event_path: &Path,
    dir: &Path,
) -> anyhow::Result<RefreshRun> {
    let exe = std::env::current_exe().context("find the running binary")?;
    let summary_path = dir.join("summary.md");
    let output_path = dir.join("output.txt");
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("refresh")
        .env_clear()
        .env("DBT_WEBHOOK_KEY", WEBHOOK_KEY)
        .env("TABLEAU_SITE_URL", tableau_url)
        .envs(credentials_env(story))
        .env("GITHUB_EVENT_NAME", "repository_dispatch")
        .env("GITHUB_EVENT_PATH", event_path)
        .env("GITHUB_STEP_SUMMARY", &summary_path)
        .env("GITHUB_OUTPUT", &output_path)
        .stdin(Stdio::null())
        .stderr(progress_to_stdout());
    match dbt_url {
        // Lineage alone chooses the targets: nothing is listed.
        Some(url) => {
            command
                .env("TABLEAU_SELECT", "lineage")
                .env("DBT_CLOUD_URL", url)
                .env("DBT_CLOUD_API_TOKEN", SAMPLE_DBT_TOKEN);
        }
        None => {
            command
                .env("TABLEAU_WORKBOOKS", scenario::WORKBOOKS.join("\n"))
                .env("TABLEAU_DATASOURCES", scenario::DATASOURCES.join("\n"));
        }
    }
    if let Some(cloud) = cloud {
        // The simulator's CA is trusted the way a user trusts a private CA; the resolve knob
        // only points the two names at loopback (certificates are still checked).
        command
            .env("TABLEAU_CA_CERT", &cloud.ca_pem)
            .env("TABLEAU_SITE_NAME", scenario::CLOUD_SITE)
            .env(SIMULATION_RESOLVE_ENV, &cloud.resolve);
    }
    if let Some(term) = std::env::var_os("TERM") {
        command.env("TERM", term);
    }
    let status = command.status().await.context("run `refresh`")?;
    let summary = std::fs::read_to_string(&summary_path).unwrap_or_default();
    let outputs = outputs::parse(&std::fs::read_to_string(&output_path).unwrap_or_default());
    let output_status = outputs
        .iter()
        .find(|(name, _)| name == "status")
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| format!("no status (exit {})", status.code().unwrap_or(-1)));
    let jobs = outputs
        .iter()
        .find(|(name, _)| name == "jobs")
        .and_then(|(_, value)| serde_json::from_str(value).ok())
        .unwrap_or_default();
    Ok(RefreshRun {
        status: output_status,
        summary,
        jobs,
    })
}

/// The Tableau credentials of the step: the sample's connected app in that scenario, else its PAT.
fn credentials_env(scenario: Scenario) -> Vec<(&'static str, &'static str)> {
    if scenario == Scenario::ConnectedApp {
        vec![
            ("TABLEAU_CONNECTED_APP_CLIENT_ID", SAMPLE_CLIENT_ID),
            ("TABLEAU_CONNECTED_APP_SECRET_ID", SAMPLE_SECRET_ID),
            ("TABLEAU_CONNECTED_APP_SECRET_VALUE", SAMPLE_SECRET_VALUE),
            ("TABLEAU_USERNAME", SAMPLE_USERNAME),
        ]
    } else {
        vec![
            ("TABLEAU_API_TOKEN_NAME", SAMPLE_PAT_NAME),
            ("TABLEAU_API_TOKEN_SECRET", SAMPLE_PAT_SECRET),
        ]
    }
}

/// The step's progress lines (its stderr) join the demo's stdout, so the story reads in order
/// even when redirected to a file.
fn progress_to_stdout() -> Stdio {
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::fd::AsFd as _;
        let _ = std::io::stdout().flush();
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Stdio::from(fd);
        }
    }
    Stdio::inherit()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("    {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::{Counts, answer_line, counts_line, queued_ahead};
    use reqwest::StatusCode;

    #[test]
    fn the_refresh_queued_ahead_is_worded_not_debug_printed() {
        use crate::tableau::jobs::Start;
        let line = queued_ahead(&Start::Queued {
            job_id: "j-42".into(),
        });
        assert_eq!(
            line,
            "Another job already queued a refresh of Orders on Tableau (job j-42)."
        );
        let line = queued_ahead(&Start::Failed("HTTP 500".into()));
        assert!(line.ends_with("failed: HTTP 500"), "{line}");
        assert!(!line.contains('{') && !line.contains("Failed("), "{line}");
    }

    #[test]
    fn the_counts_name_the_demos_setup_and_the_front_door_apart() {
        let action = Counts {
            requests: 23,
            front_door: 2,
            sign_ins: 1,
            sign_outs: 1,
        };
        assert_eq!(
            counts_line(&action, 4, 1),
            "Tableau saw 23 requests from the action (2 of them to the front door), 1 sign-in, \
             1 sign-out, plus 4 from the demo's own setup; GitHub received 1 dispatch."
        );
        let none = Counts {
            requests: 0,
            front_door: 0,
            sign_ins: 0,
            sign_outs: 0,
        };
        assert_eq!(
            counts_line(&none, 0, 0),
            "Tableau saw 0 requests from the action, 0 sign-ins, 0 sign-outs; GitHub \
             received 0 dispatches."
        );
    }

    #[test]
    fn the_relays_answer_does_not_repeat_the_status() {
        assert_eq!(
            answer_line(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                ": signature mismatch"
            ),
            "401 Unauthorized: signature mismatch"
        );
        assert_eq!(
            answer_line(StatusCode::UNAUTHORIZED, "unauthorized", ""),
            "401 Unauthorized"
        );
        assert_eq!(
            answer_line(StatusCode::ACCEPTED, "dispatched", ""),
            "202 Accepted: dispatched"
        );
    }
}
