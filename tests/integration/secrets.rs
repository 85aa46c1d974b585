//! No secret (webhook key, PAT secret, session token) appears in anything the binary writes, on
//! any path: success, refusal, failure, usage error, `--help`.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::sample::SAMPLE_PAT_SECRET;
use dbt_tableau_refresh::sim::tableau::{Fault, FaultBody, Route, SimConfig, TableauSim};

use crate::common::{Invocation, Run, WEBHOOK_KEY, completed_body, sign};

/// Asserts `run` wrote none of the secrets; the session token may appear only in the
/// `::add-mask::` command that hides it.
fn assert_no_secret(label: &str, run: &Run) {
    let tokens: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("::add-mask::"))
        .map(str::to_string)
        .collect();
    let without_masks: String = run
        .everything()
        .lines()
        .filter(|line| !line.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [WEBHOOK_KEY, SAMPLE_PAT_SECRET]
        .iter()
        .map(|s| s.to_string())
        .chain(tokens)
    {
        assert!(
            !without_masks.contains(&secret),
            "{label}: a secret leaked:\n{without_masks}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_path_prints_a_secret() {
    let sim = TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
        .await
        .expect("simulator");
    let body = completed_body("4242", "Success", 10);
    let base = || {
        Invocation::refresh(&sim.url())
            .signed(&body)
            .datasources(&["Orders"])
    };

    let runs = vec![
        ("success", base().run().await),
        (
            "terminal",
            base()
                .terminal()
                .env("DBT_WEBHOOK_PAYLOAD", &body)
                .env("DBT_WEBHOOK_SIGNATURE", &sign(&body))
                .run()
                .await,
        ),
        (
            "bad signature",
            base().dispatch(&body, &sign("other")).run().await,
        ),
        (
            "key as signature",
            base().dispatch(&body, WEBHOOK_KEY).run().await,
        ),
        (
            "wrong secret",
            base().env("TABLEAU_API_TOKEN_SECRET", "wrong").run().await,
        ),
        (
            "usage error",
            base().without_env("TABLEAU_SITE_URL").run().await,
        ),
        ("not found", base().workbooks(&["Nope"]).run().await),
        (
            "help",
            Invocation::command(&["refresh", "--help"])
                .env("DBT_WEBHOOK_KEY", WEBHOOK_KEY)
                .env("TABLEAU_API_TOKEN_SECRET", SAMPLE_PAT_SECRET)
                .run()
                .await,
        ),
        (
            "verify",
            Invocation::command(&["verify", "--signature", "00"])
                .arg("/nonexistent")
                .env("DBT_WEBHOOK_KEY", WEBHOOK_KEY)
                .run()
                .await,
        ),
        ("debug logging", base().env("RUST_LOG", "trace").run().await),
    ];
    sim.faults().inject(
        Route::QueryJob,
        Fault::Status {
            status: 500,
            body: FaultBody::Json("500000".into()),
            retry_after: None,
        },
        20,
    );
    let failing = base().env("TABLEAU_TIMEOUT", "3s").run().await;
    sim.faults().clear();
    sim.faults().expire_session_after(2);
    let expired = base().run().await;
    for (label, run) in runs
        .iter()
        .chain([("poll failures", failing), ("session expiry", expired)].iter())
    {
        assert_no_secret(label, run);
    }
    // The help names the secret variables but shows no value.
    let help = &runs
        .iter()
        .find(|(label, _)| *label == "help")
        .expect("help run")
        .1;
    assert!(
        help.stdout.contains("TABLEAU_API_TOKEN_SECRET"),
        "{}",
        help.stdout
    );
}
