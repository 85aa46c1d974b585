//! Test harness: runs the real binary with a scrubbed environment against the simulators, with the
//! Actions files pointed at temp files, and redacts volatile values for snapshots.

use std::path::PathBuf;
use std::process::Command;

use dbt_tableau_refresh::actions::outputs;
use dbt_tableau_refresh::dbt::signature;
use dbt_tableau_refresh::secret::Secret;
use dbt_tableau_refresh::sim::tableau::sample::{SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET};

/// The webhook key every test signs with.
pub(crate) const WEBHOOK_KEY: &str = "whk-7f3c2a91e5d84b06";

pub(crate) fn sign(body: &str) -> String {
    signature::sign(&Secret::new(WEBHOOK_KEY), body.as_bytes())
}

/// A `job.run.completed` body for dbt job `job_id`, dated now, as dbt Cloud sends it.
pub(crate) fn completed_body(job_id: &str, status: &str, code: u8) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.9fZ");
    format!(
        r#"{{"accountId": 51798, "webhooksID": "wsu_2xq8mJk1", "eventId": "wev_2uR9xTt4dQ0Lz1pVbN", "timestamp": "{now}", "eventType": "job.run.completed", "webhookName": "tableau-refresh", "data": {{"jobId": "{job_id}", "jobName": "Nightly build", "runId": "318275016", "environmentId": "218762", "environmentName": "Production", "dbtVersion": "2025.9.30+21d3fd7", "projectName": "Analytics", "projectId": "270542", "runStatus": "{status}", "runStatusCode": {code}, "runStatusMessage": "None", "runReason": "Kicked off by the scheduler", "runStartedAt": "{now}", "runFinishedAt": "{now}"}}}}"#
    )
}

/// A successful run's event dated 2020-01-01: older than any age limit.
pub(crate) fn stale_completed_body() -> String {
    completed_body("4242", "Success", 10).replace(
        &chrono::Utc::now().format("%Y-%m-%d").to_string(),
        "2020-01-01",
    )
}

/// A finished run of the binary.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) summary: String,
    pub(crate) outputs: Vec<(String, String)>,
}

impl Run {
    pub(crate) fn output(&self, name: &str) -> &str {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no output {name} in {:?}", self.outputs))
    }

    pub(crate) fn jobs(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(self.output("jobs")).expect("jobs output is JSON")
    }

    /// The outcome of the target whose reference is `reference`.
    pub(crate) fn outcome(&self, reference: &str) -> String {
        self.jobs()
            .iter()
            .find(|job| job["reference"] == reference)
            .unwrap_or_else(|| panic!("no job for {reference}: {}", self.output("jobs")))["outcome"]
            .as_str()
            .expect("outcome is a string")
            .to_string()
    }

    /// The summary with markdown escapes removed, for assertions on its words.
    pub(crate) fn summary_text(&self) -> String {
        regex::Regex::new(r"\\(.)")
            .expect("valid pattern")
            .replace_all(&self.summary, "$1")
            .into_owned()
    }

    /// Everything the binary wrote, for leak checks.
    pub(crate) fn everything(&self) -> String {
        let outputs: String = self
            .outputs
            .iter()
            .map(|(n, v)| format!("{n}={v}\n"))
            .collect();
        format!(
            "{}\n{}\n{}\n{}",
            self.stdout, self.stderr, self.summary, outputs
        )
    }
}

/// Builder for one `dbt-tableau-refresh` invocation.
pub(crate) struct Invocation {
    args: Vec<String>,
    env: Vec<(String, String)>,
    actions: bool,
    dir: tempfile::TempDir,
}

impl Invocation {
    /// `refresh` against a Tableau simulator at `tableau_url`, with the sample PAT and test key,
    /// inside a simulated GitHub Actions step.
    pub(crate) fn refresh(tableau_url: &str) -> Self {
        let mut invocation = Self::command(&["refresh"]);
        invocation = invocation
            .env("TABLEAU_SITE_URL", tableau_url)
            .env("TABLEAU_API_TOKEN_NAME", SAMPLE_PAT_NAME)
            .env("TABLEAU_API_TOKEN_SECRET", SAMPLE_PAT_SECRET)
            .env("DBT_WEBHOOK_KEY", WEBHOOK_KEY);
        invocation.actions = true;
        invocation
    }

    /// Any command, with an empty environment.
    pub(crate) fn command(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            actions: false,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    pub(crate) fn without_env(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// Runs outside GitHub Actions: no summary or output files, report on stdout.
    pub(crate) fn terminal(mut self) -> Self {
        self.actions = false;
        self
    }

    pub(crate) fn workbooks(self, refs: &[&str]) -> Self {
        self.env("TABLEAU_WORKBOOKS", &refs.join("\n"))
    }

    pub(crate) fn datasources(self, refs: &[&str]) -> Self {
        self.env("TABLEAU_DATASOURCES", &refs.join("\n"))
    }

    /// A repository_dispatch event file carrying `body` and `signature`, as the relay sends it.
    pub(crate) fn dispatch(self, body: &str, signature: &str) -> Self {
        let event = serde_json::json!({
            "action": "dbt-job-run-completed",
            "client_payload": {"body": body, "signature": signature, "event_type": "job.run.completed"},
        });
        self.event_file(&event.to_string())
    }

    /// A signed dispatch of `body`.
    pub(crate) fn signed(self, body: &str) -> Self {
        let signature = sign(body);
        self.dispatch(body, &signature)
    }

    pub(crate) fn event_file(self, json: &str) -> Self {
        let path = self.dir.path().join("event.json");
        std::fs::write(&path, json).expect("write event file");
        let path = path.display().to_string();
        self.env("GITHUB_EVENT_PATH", &path)
            .env("GITHUB_EVENT_NAME", "repository_dispatch")
    }

    /// Runs the binary to completion (off the async runtime, which serves the simulators).
    pub(crate) async fn run(self) -> Run {
        tokio::task::spawn_blocking(move || self.run_blocking())
            .await
            .expect("the run task")
    }

    pub(crate) fn run_blocking(self) -> Run {
        let summary_path = self.dir.path().join("summary.md");
        let output_path = self.dir.path().join("output.txt");
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbt-tableau-refresh"));
        // A clean environment: no GITHUB_*, RUNNER_*, ACTIONS_* or RUST_LOG from wherever the tests run.
        command.env_clear().args(&self.args);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        if self.actions {
            command
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", &summary_path)
                .env("GITHUB_OUTPUT", &output_path);
        }
        let output = command.output().expect("run the binary");
        let read = |path: &PathBuf| std::fs::read_to_string(path).unwrap_or_default();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            summary: read(&summary_path),
            outputs: outputs::parse(&read(&output_path)),
        }
    }
}

/// Replaces values that change from run to run: LUIDs of jobs, durations, ports, timestamps.
pub(crate) fn redact(text: &str) -> String {
    let rules: [(&str, &str); 7] = [
        (r"127\.0\.0\.1:\d+", "[sim]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[luid]",
        ),
        (
            r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00| UTC)",
            "[time]",
        ),
        (r"\b\d+(\.\d+)?(ms|s)\b", "[dur]"),
        (r"\b\d+m \d\ds\b", "[dur]"),
        (r#""duration_s": ?[0-9.]+"#, r#""duration_s": "[dur]""#),
        (r"\d+ requests", "[n] requests"),
    ];
    let mut text = text.to_string();
    for (pattern, replacement) in rules {
        text = regex_replace(&text, pattern, replacement);
    }
    text
}

fn regex_replace(text: &str, pattern: &str, replacement: &str) -> String {
    regex::Regex::new(pattern)
        .expect("valid pattern")
        .replace_all(text, replacement)
        .into_owned()
}
