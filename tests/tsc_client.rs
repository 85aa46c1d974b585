//! The official Python client, tableauserverclient (TSC, unmodified, the version `.ci/run` pins),
//! against `examples/tableau_sim`: our evidence that the simulator is a faithful Tableau and not just
//! the dialect of our own client. `tests/tsc/tsc_against_sim.py` makes the calls and asserts their
//! results; this test builds and starts the example, runs the script once per REST API version that
//! changes what TSC sends, and stops the example again.
//!
//! Without an importable `tableauserverclient` the test fails under CI (`CI` set) and otherwise
//! prints a loud skip notice and passes, so `cargo test` on a fresh machine still works.

// A test that cannot start its processes should fail right there.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use dbt_tableau_refresh::sim::tableau::sample::{SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET};

/// The versions whose requests differ for TSC: 3.24 posts an empty refresh body, 3.25 and later post
/// `<tsRequest><extractRefresh /></tsRequest>`.
const API_VERSIONS: &[&str] = &["3.24", "3.27"];

/// Kills the example when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether CI runs this test (GitHub Actions and `.ci/run` set `CI=true`).
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The first Python that can import TSC and its TSC version (`TSC_PYTHON` if set, else `python3`,
/// then `python`: Windows runners have no `python3`), or why none can.
fn find_tsc() -> Result<(String, String), String> {
    let probe = "import importlib.metadata as m, tableauserverclient; \
                 print(m.version('tableauserverclient'))";
    let candidates = match std::env::var("TSC_PYTHON") {
        Ok(python) => vec![python],
        Err(_) => vec!["python3".to_owned(), "python".to_owned()],
    };
    let mut failures = Vec::new();
    for python in candidates {
        match Command::new(&python).args(["-c", probe]).output() {
            Ok(output) if output.status.success() => {
                let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                return Ok((python, version));
            }
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let last = stderr.lines().last().unwrap_or_default().to_owned();
                failures.push(format!("{python}: {} {last}", output.status));
            }
            Err(err) => failures.push(format!("{python}: could not be run ({err})")),
        }
    }
    Err(failures.join("; "))
}

/// Build `examples/tableau_sim` (a no-op when it is fresh) and return its path, as cargo reports it.
fn build_example() -> PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    // Cargo gives this test process the variables it sets for our crate (CARGO_PKG_NAME, …). Build
    // scripts such as ring's rerun when those change, so passing them on would rebuild half the
    // tree here and again at the next `cargo test`.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let per_crate = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_CFG_",
        ]
        .iter()
        .any(|prefix| key.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&key.as_ref());
        if per_crate {
            cargo.env_remove(key.as_ref());
        }
    }
    let output = cargo
        .args(["build", "--example", "tableau_sim", "--message-format=json"])
        .arg("--manifest-path")
        .arg(manifest_dir().join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "building examples/tableau_sim failed"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "tableau_sim")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no tableau_sim executable")
}

/// Start the example serving `api_version`; its first stdout line is its base URL.
fn start_sim(example: &Path, api_version: &str) -> (Running, String) {
    let mut child = Command::new(example)
        .env("TABLEAU_SIM_API_VERSION", api_version)
        // A leftover process (should the test be killed) ends by itself.
        .env("TABLEAU_SIM_MINUTES", "5")
        // Long enough that the script's immediate second refresh of a workbook meets its queued job
        // (409093) even on a loaded machine; short enough for TSC's first three polls.
        .env("TABLEAU_SIM_JOB_MS", "1000")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the simulator printed {url:?} instead of its URL"
    );
    (running, url)
}

#[test]
fn tableauserverclient_signs_in_lists_filters_refreshes_waits_and_signs_out() {
    let (python, version) = match find_tsc() {
        Ok(found) => found,
        Err(why) if under_ci() => {
            panic!("tableauserverclient is not importable under CI (.ci/run installs it): {why}")
        }
        Err(why) => {
            eprintln!(
                "\n=================================================================\n\
                 SKIPPED: the official Tableau client test did not run.\n\
                 tableauserverclient is not importable: {why}\n\
                 Install it with: python3 -m pip install tableauserverclient==0.42\n\
                 (CI installs it and fails this test without it.)\n\
                 =================================================================\n"
            );
            return;
        }
    };
    eprintln!("tableauserverclient {version} ({python})");
    let example = build_example();
    let script = manifest_dir().join("tests/tsc/tsc_against_sim.py");
    for api_version in API_VERSIONS {
        let (_sim, url) = start_sim(&example, api_version);
        let output = Command::new(&python)
            .arg(&script)
            .env("TSC_SIM_URL", &url)
            .env("TSC_SIM_PAT_NAME", SAMPLE_PAT_NAME)
            .env("TSC_SIM_PAT_SECRET", SAMPLE_PAT_SECRET)
            .env("TSC_SIM_API_VERSION", api_version)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("--- TSC against the simulator at REST API {api_version}\n{stdout}{stderr}");
        assert!(
            output.status.success(),
            "TSC failed against the simulator at REST API {api_version}:\n{stdout}{stderr}"
        );
        assert!(stdout.contains("tsc: all calls succeeded"), "{stdout}");
    }
}
