//! The official Python client, tableauserverclient (TSC, unmodified), posting GraphQL to the
//! simulator's Metadata API: evidence that the endpoint reads the requests a real client makes
//! (its URL, `X-Tableau-Auth`, JSON body) and answers in the shape that client expects, cursors
//! included. `tests/tsc/tsc_metadata_against_sim.py` makes the calls and asserts their results.
//!
//! Without an importable `tableauserverclient` the test fails under CI (`CI` set) and otherwise
//! prints a loud skip notice and passes, as `tests/tsc_client.rs` does.

// A test that cannot start its processes should fail right there.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use dbt_tableau_refresh::sim::tableau::sample::{SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET};
use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// A Python that imports TSC (`TSC_PYTHON`, else `python3`), or why none does.
fn find_tsc() -> Result<String, String> {
    let python = std::env::var("TSC_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = std::process::Command::new(&python)
        .args(["-c", "import tableauserverclient"])
        .output()
        .map_err(|err| format!("{python}: could not be run ({err})"))?;
    if output.status.success() {
        Ok(python)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "{python}: {}",
            stderr.lines().last().unwrap_or_default()
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tableauserverclient_queries_the_metadata_api() {
    let python = match find_tsc() {
        Ok(python) => python,
        Err(why) if under_ci() => {
            panic!("tableauserverclient is not importable under CI (.ci/run installs it): {why}")
        }
        Err(why) => {
            eprintln!(
                "\n=================================================================\n\
                 SKIPPED: the official Tableau client's Metadata API test did not run.\n\
                 tableauserverclient is not importable: {why}\n\
                 Install it with: python3 -m pip install tableauserverclient==0.42\n\
                 =================================================================\n"
            );
            return;
        }
    };
    let sim = TableauSim::start(SimConfig::sample()).await.unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tsc/tsc_metadata_against_sim.py");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .env("TSC_SIM_URL", sim.url())
        .env("TSC_SIM_PAT_NAME", SAMPLE_PAT_NAME)
        .env("TSC_SIM_PAT_SECRET", SAMPLE_PAT_SECRET)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- TSC against the Metadata API\n{stdout}{stderr}");
    assert!(output.status.success(), "TSC failed:\n{stdout}{stderr}");
    assert!(stdout.contains("tsc: all calls succeeded"), "{stdout}");
    // The tables query, three pages of workbooks, and the refused query.
    assert_eq!(sim.faults().metadata_requests(), 5, "{stdout}");
    sim.shutdown().await;
}
