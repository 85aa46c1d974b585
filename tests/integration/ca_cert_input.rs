//! Issue 10, finding 8: `TABLEAU_CA_CERT` is never echoed. PEM text is found wherever its
//! `-----BEGIN CERTIFICATE-----` is (an `openssl pkcs12` export starts with `Bag Attributes`), and
//! text holding a private key is refused with a message that quotes none of it.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, Run, completed_body};

const CA: &str = include_str!("../fixtures/tls-test-only-ca.cert.pem");
/// Marks every part of the values below that must never be printed.
const MARK: &str = "c2VjcmV0LWtleS1ib2R5";

async fn refresh(sim: &TableauSim, ca_cert: &str) -> Run {
    Invocation::refresh(&sim.url())
        .signed(&completed_body("4242", "Success", 10))
        .datasources(&["Orders"])
        .env("TABLEAU_CA_CERT", ca_cert)
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_input_is_read_wherever_its_certificate_is_and_never_echoed() {
    let sim = TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
        .await
        .expect("simulator");

    // `openssl pkcs12 -in bundle.p12 -nokeys` output: attributes before the certificate.
    let export = format!(
        "Bag Attributes\n    localKeyID: 01 00 00 00\n    friendlyName: {MARK}\nsubject=CN = test-only CA\nissuer=CN = test-only CA\n{CA}"
    );
    let run = refresh(&sim, &export).await;
    assert_eq!(run.code, 0, "{}", run.stdout);

    // The same export with its private key: refused, and nothing of it is quoted.
    let key = format!("-----BEGIN PRIVATE KEY-----\n{MARK}\n-----END PRIVATE KEY-----\n");
    for value in [
        format!(
            "{export}Bag Attributes\n    friendlyName: {MARK}\nKey Attributes: <No Attributes>\n{key}"
        ),
        format!("{key}{CA}"),
    ] {
        let run = refresh(&sim, &value).await;
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(run.stdout.contains("holds a private key"), "{}", run.stdout);
        assert!(!run.everything().contains(MARK), "{}", run.everything());
        assert!(!run.everything().contains("Bag Attributes"));
    }

    // Neither PEM nor a readable file: the message names the input, not the value.
    for value in [
        format!("Bag Attributes friendlyName: {MARK}"),
        format!("/run/secrets/{MARK}.pem"),
    ] {
        let run = refresh(&sim, &value).await;
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.stdout.contains("input tableau-ca-cert"),
            "{}",
            run.stdout
        );
        assert!(!run.everything().contains(MARK), "{}", run.everything());
    }
    sim.shutdown().await;
}
