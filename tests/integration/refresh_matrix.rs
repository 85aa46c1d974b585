//! The fault matrix of the refresh run: every phase × every fault Tableau is known for, each in
//! its own simulator. Each cell must end the right way (retried and succeeded, or failed with a
//! message naming the phase), and sign-out must be attempted whenever sign-in succeeded.
//! `cargo test --test integration fault_matrix -- --nocapture` prints the matrix.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::{Fault, FaultBody, Route, SimConfig, TableauSim};

use crate::common::{Invocation, completed_body};

#[derive(Clone, Copy)]
struct Phase {
    name: &'static str,
    route: Route,
}

const PHASES: [Phase; 6] = [
    Phase {
        name: "serverinfo",
        route: Route::ServerInfo,
    },
    Phase {
        name: "sign-in",
        route: Route::SignIn,
    },
    Phase {
        name: "resolve",
        route: Route::QueryDatasources,
    },
    Phase {
        name: "refresh",
        route: Route::RefreshDatasource,
    },
    Phase {
        name: "wait",
        route: Route::QueryJob,
    },
    Phase {
        name: "sign-out",
        route: Route::SignOut,
    },
];

fn faults() -> Vec<(&'static str, Fault)> {
    let status = |status: u16, body: FaultBody, retry_after: Option<&str>| Fault::Status {
        status,
        body,
        retry_after: retry_after.map(str::to_string),
    };
    vec![
        ("latency spike 1 s", Fault::Delay(Duration::from_secs(1))),
        ("connection reset", Fault::ResetConnection),
        ("429 + Retry-After", status(429, FaultBody::Html, Some("1"))),
        ("429", status(429, FaultBody::Html, None)),
        ("500 HTML", status(500, FaultBody::Html, None)),
        ("502 HTML", status(502, FaultBody::Html, None)),
        ("503 HTML", status(503, FaultBody::Html, None)),
        (
            "401002 expiry",
            status(401, FaultBody::Json("401002".into()), None),
        ),
        ("malformed JSON", Fault::MalformedJson),
    ]
}

/// What a cell must end with: `None` = success, `Some(text)` = failure whose summary says `text`.
fn expected(phase: &str, fault: &str) -> Option<&'static str> {
    let server_error = fault.starts_with('5');
    match (phase, fault) {
        ("serverinfo", "401002 expiry" | "malformed JSON") => {
            Some("Failed while contacting Tableau")
        }
        ("sign-in", "401002 expiry" | "malformed JSON") => {
            Some("Failed while signing in to Tableau")
        }
        ("resolve", "malformed JSON") => Some("could not look up data source"),
        ("refresh", "connection reset") => Some("the refresh request failed"),
        ("refresh", _) if server_error => Some("the refresh request failed"),
        ("refresh", "malformed JSON") => Some("its answer was unreadable"),
        _ => None,
    }
}

/// What the summary of a cell that succeeded despite its fault must say about it.
fn success_note(phase: &str, fault: &str) -> Option<&'static str> {
    match fault {
        "connection reset" | "429 + Retry-After" | "429" | "500 HTML" | "502 HTML" | "503 HTML" => {
            Some("retried")
        }
        "401002 expiry" if phase == "sign-out" => Some("sign-out failed"),
        "401002 expiry" => Some("signed in again"),
        _ => None,
    }
}

/// One cell's observed result.
struct Cell {
    phase: &'static str,
    fault: &'static str,
    status: String,
    summary: String,
    signed_in: bool,
    signed_out: bool,
    faulted: bool,
}

async fn play(phase: Phase, fault_name: &'static str, fault: Fault) -> Cell {
    let sim = TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
        .await
        .expect("simulator starts");
    sim.faults().inject(phase.route, fault, 1);
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    let stats = sim.stats();
    sim.shutdown().await;
    Cell {
        phase: phase.name,
        fault: fault_name,
        status: run
            .outputs
            .iter()
            .find(|(n, _)| n == "status")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        summary: run.summary_text(),
        signed_in: stats.sign_ins > 0,
        signed_out: stats.requests.iter().any(|r| r.route == Route::SignOut),
        faulted: stats.requests.iter().any(|r| r.route == phase.route),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix() {
    let mut cells = Vec::new();
    let plan: Vec<(Phase, &'static str, Fault)> = faults()
        .into_iter()
        .flat_map(|(name, fault)| {
            PHASES
                .iter()
                .map(move |phase| (*phase, name, fault.clone()))
        })
        .collect();
    // A few cells at a time: each runs the binary against its own simulator.
    for chunk in plan.chunks(6) {
        let runs = chunk
            .iter()
            .cloned()
            .map(|(phase, name, fault)| play(phase, name, fault));
        cells.extend(futures_util::future::join_all(runs).await);
    }

    let mut problems = Vec::new();
    for cell in &cells {
        assert!(cell.faulted, "{} never reached {}", cell.fault, cell.phase);
        match expected(cell.phase, cell.fault) {
            None if cell.status != "success" => problems.push(format!(
                "{} / {}: expected success, got {}:\n{}",
                cell.phase, cell.fault, cell.status, cell.summary
            )),
            Some(text) if cell.status != "failed" || !cell.summary.contains(text) => {
                problems.push(format!(
                    "{} / {}: expected a failure saying {text:?}, got {}:\n{}",
                    cell.phase, cell.fault, cell.status, cell.summary
                ))
            }
            _ => {}
        }
        if cell.signed_in && !cell.signed_out {
            problems.push(format!(
                "{} / {}: signed in but never signed out",
                cell.phase, cell.fault
            ));
        }
        if let (None, Some(note)) = (
            expected(cell.phase, cell.fault),
            success_note(cell.phase, cell.fault),
        ) && !cell.summary.contains(note)
        {
            problems.push(format!(
                "{} / {}: the summary does not say {note:?}:\n{}",
                cell.phase, cell.fault, cell.summary
            ));
        }
    }
    eprintln!("{}", table(&cells));
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The matrix as markdown: faults down, phases across.
fn table(cells: &[Cell]) -> String {
    let mut out = format!(
        "| fault | {} |\n|---|{}\n",
        PHASES.map(|p| p.name).join(" | "),
        "---|".repeat(PHASES.len())
    );
    for (fault, _) in faults() {
        let row: Vec<String> = PHASES
            .iter()
            .map(|phase| {
                let cell = cells
                    .iter()
                    .find(|c| c.fault == fault && c.phase == phase.name);
                match cell {
                    Some(c) if c.status == "success" => "✅ success".to_string(),
                    Some(c) => format!("❌ {}", c.status),
                    None => "—".into(),
                }
            })
            .collect();
        out.push_str(&format!("| {fault} | {} |\n", row.join(" | ")));
    }
    out
}
