//! `refresh` steps 1–2: the signature over the exact bytes, and which events lead to refreshes.
//! None of these may reach Tableau when they refuse or skip.

use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, WEBHOOK_KEY, completed_body, sign, stale_completed_body};

async fn sim() -> TableauSim {
    TableauSim::start(SimConfig::sample().with_job_duration(std::time::Duration::from_millis(20)))
        .await
        .expect("simulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_dispatch_refreshes_and_succeeds() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .workbooks(&["Finance/Revenue Dashboard"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("status"), "success");
    assert_eq!(run.outcome("Finance/Revenue Dashboard"), "succeeded");
    assert_eq!(run.output("dbt-job-id"), "4242");
    assert_eq!(run.output("dbt-run-id"), "318275016");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exact_bytes_are_verified_and_one_changed_byte_is_refused() {
    let sim = sim().await;
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/webhook-tricky-bytes.json"
    ))
    .expect("fixture");
    // Re-serialising this body changes its bytes (spacing, key order, `\/`, `\u00e9`), so only
    // a verifier that uses the raw text accepts it.
    let reserialised =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&body).expect("json"))
            .expect("json");
    assert_ne!(reserialised, body);
    let signature = sign(&body);

    let run = Invocation::refresh(&sim.url())
        .dispatch(&body, &signature)
        .env("DBT_MAX_EVENT_AGE", "0")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("Signature verified"), "{}", run.stdout);
    assert_eq!(run.output("dbt-job-id"), "4242");

    let mut tampered = body.clone().into_bytes();
    let at = body.find("Success").expect("status in fixture");
    tampered[at] = b's';
    let tampered = String::from_utf8(tampered).expect("utf-8");
    let before = sim.stats().requests.len();
    let run = Invocation::refresh(&sim.url())
        .dispatch(&tampered, &signature)
        .env("DBT_MAX_EVENT_AGE", "0")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.output("status"), "failed");
    assert!(
        run.summary_text().contains("does not match"),
        "{}",
        run.summary
    );
    assert_eq!(
        sim.stats().requests.len(),
        before,
        "Tableau must not be contacted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_malformed_and_wrong_signatures_fail_without_any_tableau_call() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let good = sign(&body);
    let cases = [
        ("", "has no signature"),
        ("Bearer abc", "`Bearer` token"),
        (&format!("sha256={good}") as &str, "`sha256=` prefix"),
        (&good[..40], "wrong length"),
        (&"g".repeat(64), "not hexadecimal"),
        (&sign("another body"), "does not match"),
    ];
    for (signature, expected) in cases {
        let run = Invocation::refresh(&sim.url())
            .dispatch(&body, signature)
            .workbooks(&["Orders"])
            .run()
            .await;
        assert_eq!(run.code, 1, "{signature}: {}", run.stdout);
        assert_eq!(run.output("status"), "failed");
        assert!(
            run.summary_text().contains(expected),
            "{signature}: {}",
            run.summary
        );
        assert!(
            run.stdout
                .contains("::error title=Tableau refresh failed::"),
            "{}",
            run.stdout
        );
    }
    assert!(
        sim.stats().requests.is_empty(),
        "no Tableau call may happen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upper_case_hex_and_explicit_inputs_are_accepted() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .env("DBT_WEBHOOK_PAYLOAD", &body)
        .env("DBT_WEBHOOK_SIGNATURE", &sign(&body).to_uppercase())
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Orders"), "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_accepted_one_per_line() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .env("DBT_WEBHOOK_KEY", &format!("old-key\n{WEBHOOK_KEY}\n"))
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("(key 2 of 2)"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_must_not_refresh_are_skipped_with_the_reason() {
    let sim = sim().await;
    let stale = stale_completed_body();
    let cases = [
        (
            completed_body("4242", "Errored", 20),
            vec![],
            "did not succeed",
        ),
        (
            completed_body("4242", "Success", 10).replace("job.run.completed", "job.run.started"),
            vec![],
            "only `job.run.completed`",
        ),
        (
            completed_body("4242", "Success", 10),
            vec!["7", "8"],
            "not one of the selected jobs",
        ),
        (stale, vec![], "older than the limit"),
    ];
    for (body, job_ids, reason) in cases {
        let run = Invocation::refresh(&sim.url())
            .signed(&body)
            .env("DBT_JOB_IDS", &job_ids.join(","))
            .workbooks(&["Orders"])
            .run()
            .await;
        assert_eq!(run.code, 0, "{reason}: {}", run.stdout);
        assert_eq!(run.output("status"), "skipped");
        assert_eq!(run.output("jobs"), "[]");
        assert!(run.summary_text().contains("Skipped"), "{}", run.summary);
        assert!(
            run.summary_text().contains(reason),
            "{reason}: {}",
            run.summary
        );
    }
    assert!(
        sim.stats().requests.is_empty(),
        "skipped events make no Tableau call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_job_ids_let_their_runs_through() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .env("DBT_JOB_IDS", "7\n4242")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.output("status"), "success", "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_without_a_body_fails_and_no_event_at_all_is_a_usage_error() {
    let sim = sim().await;
    let run = Invocation::refresh(&sim.url())
        .event_file(r#"{"action":"dbt-job-run-completed","client_payload":{"signature":"ab"}}"#)
        .workbooks(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("no client_payload.body"),
        "{}",
        run.summary
    );

    let run = Invocation::refresh(&sim.url())
        .workbooks(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stdout.contains("no dbt event"), "{}", run.stdout);
    assert!(sim.stats().requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_before_any_work() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let missing_key = Invocation::refresh(&sim.url())
        .without_env("DBT_WEBHOOK_KEY")
        .signed(&body)
        .workbooks(&["Orders"]);
    let run = missing_key.run().await;
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("input dbt-webhook-key is not set"),
        "{}",
        run.stdout
    );

    let run = Invocation::refresh(&sim.url()).signed(&body).run().await;
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("nothing to refresh"), "{}", run.stdout);

    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .workbooks(&["Orders"])
        .env("TABLEAU_TIMEOUT", "soon")
        .run()
        .await;
    assert_eq!(run.code, 2);

    let run = Invocation::refresh("not a url")
        .signed(&body)
        .workbooks(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("is not a URL"), "{}", run.stdout);

    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .workbooks(&["Orders"])
        .arg("--no-such-flag")
        .run()
        .await;
    assert_eq!(run.code, 2);
    assert!(sim.stats().requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_inputs_mean_the_defaults() {
    // A composite action maps every input to env; an input left empty arrives as VAR="".
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .datasources(&["Orders"])
        .env("DBT_WEBHOOK_PAYLOAD", "")
        .env("DBT_WEBHOOK_SIGNATURE", "")
        .env("DBT_MAX_EVENT_AGE", "")
        .env("DBT_JOB_IDS", "")
        .env("TABLEAU_SITE_NAME", "")
        .env("TABLEAU_WORKBOOKS", "")
        .env("TABLEAU_API_VERSION", "")
        .env("TABLEAU_WAIT", "")
        .env("TABLEAU_TIMEOUT", "")
        .env("TABLEAU_INCREMENTAL", "")
        .env("TABLEAU_DRY_RUN", "")
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Orders"), "succeeded");
}
