//! Prints a freshly dated dbt Cloud `job.run.completed` webhook body and its signature as GitHub step
//! outputs, for the CI's action self-test (`.github/workflows/ci.yml`):
//!
//! ```sh
//! DBT_WEBHOOK_KEY=… cargo run --example sign_webhook -- [JOB_ID] >> "$GITHUB_OUTPUT"
//! ```
//!
//! Output: `payload=<the body, one line of JSON>` and `signature=<hex HMAC-SHA256 of the body>`,
//! the way dbt Cloud signs it with the webhook secret. The run succeeded; JOB_ID defaults to 123456.

use anyhow::Context as _;
use dbt_tableau_refresh::dbt::signature;
use dbt_tableau_refresh::secret;

fn main() -> anyhow::Result<()> {
    let key = secret::from_env("DBT_WEBHOOK_KEY").context("set DBT_WEBHOOK_KEY to sign with")?;
    let job_id = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "123456".to_owned());
    anyhow::ensure!(
        !job_id.is_empty() && job_id.bytes().all(|b| b.is_ascii_digit()),
        "JOB_ID must be digits"
    );
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let body = serde_json::json!({
        "accountId": 51798,
        "webhooksID": "wsu_selftest",
        "eventId": format!("wev_selftest_{}", chrono::Utc::now().timestamp_millis()),
        "timestamp": now.to_string(),
        "eventType": "job.run.completed",
        "webhookName": "action self-test",
        "data": {
            "jobId": job_id,
            "jobName": "Nightly build",
            "runId": "318275016",
            "environmentId": "218762",
            "environmentName": "Production",
            "projectName": "Analytics",
            "projectId": "270542",
            "runStatus": "Success",
            "runStatusCode": 10,
            "runStatusMessage": "None",
            "runReason": "Kicked off by the action self-test",
            "runStartedAt": now.to_string(),
            "runFinishedAt": now.to_string(),
        }
    })
    .to_string();
    let signature = signature::sign(&key, body.as_bytes());
    println!("payload={body}");
    println!("signature={signature}");
    Ok(())
}
