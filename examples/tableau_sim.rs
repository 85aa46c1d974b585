//! Runs the Tableau simulator with the sample site on 127.0.0.1 until stopped: the server that the
//! CI's action self-test (`.github/workflows/ci.yml`) refreshes against.
//!
//! ```sh
//! cargo run --example tableau_sim -- [URL_FILE]
//! ```
//!
//! Prints the base URL once it listens, and also writes it to URL_FILE when given (so a workflow
//! can start it in the background and wait for the file). The sample site accepts the personal
//! access token `dbt-refresh` / `sim-pat-secret` and has, among others, the workbook
//! `Finance/Revenue Dashboard` and the data source `Finance/Orders`. It stops on Ctrl-C or after
//! `TABLEAU_SIM_MINUTES` minutes (default 30), so a forgotten background process ends by itself.
//! `TABLEAU_SIM_API_VERSION` (default the sample's 3.24) sets the REST API version it serves, e.g.
//! 3.25+ where refresh requests may carry an `extractRefresh` body; `TABLEAU_SIM_JOB_MS` how long each
//! refresh job runs (default 300 ms).
//!
//! It answers in XML unless a request sends `Accept: application/json`, like the real server; the
//! official Python client runs against it in `tests/tsc_client.rs`.

use std::time::Duration;

use anyhow::Context as _;
use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url_file = std::env::args_os().nth(1);
    let minutes: u64 = match std::env::var("TABLEAU_SIM_MINUTES") {
        Ok(value) => value
            .parse()
            .context("TABLEAU_SIM_MINUTES is not a number of minutes")?,
        Err(_) => 30,
    };

    let mut config = SimConfig::sample();
    if let Ok(version) = std::env::var("TABLEAU_SIM_API_VERSION") {
        config = config.with_api_version(&version);
    }
    if let Ok(millis) = std::env::var("TABLEAU_SIM_JOB_MS") {
        let millis = millis
            .parse()
            .context("TABLEAU_SIM_JOB_MS is not a number of milliseconds")?;
        config = config.with_job_duration(Duration::from_millis(millis));
    }
    let sim = TableauSim::start(config).await?;
    let url = sim.url();
    if let Some(path) = url_file {
        // Written whole and then renamed, so a reader never sees half a URL.
        let tmp = std::path::PathBuf::from(format!("{}.tmp", path.to_string_lossy()));
        std::fs::write(&tmp, format!("{url}\n")).context("failed to write the URL file")?;
        std::fs::rename(&tmp, &path).context("failed to move the URL file into place")?;
    }
    println!("{url}");

    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = tokio::time::sleep(Duration::from_secs(minutes * 60)) => {}
    }
    sim.shutdown().await;
    Ok(())
}
