//! The lineage benchmark's world (benches/harness/lineage_site.rs) says what the benchmark
//! claims: `--select lineage` over its artifacts selects exactly the published and embedded
//! extracts, and `--select listed` with its names refreshes the very same items.

#[path = "../benches/harness/lineage_site.rs"]
mod lineage_site;

use std::collections::BTreeSet;
use std::process::Command;

use dbt_tableau_refresh::sim::tableau::sample::{SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET};
use dbt_tableau_refresh::sim::tableau::{Route, TableauSim};
use lineage_site::{Reader, reader, site};

/// Runs `refresh --no-event --select …` of the debug binary; returns the refreshed paths.
async fn refreshed(
    site: &lineage_site::Site,
    dir: &std::path::Path,
    lineage: bool,
) -> (BTreeSet<String>, usize, String) {
    let sim = TableauSim::start(site.config.clone())
        .await
        .expect("simulator starts");
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbt-tableau-refresh"));
    command
        .env_clear()
        .args(["refresh", "--no-event", "--select"])
        .arg(if lineage { "lineage" } else { "listed" })
        .env("TABLEAU_SITE_URL", sim.url())
        .env("TABLEAU_API_TOKEN_NAME", SAMPLE_PAT_NAME)
        .env("TABLEAU_API_TOKEN_SECRET", SAMPLE_PAT_SECRET)
        .env("TABLEAU_WAIT", "false");
    if lineage {
        command.arg("--dbt-artifacts-dir").arg(dir);
    } else {
        command
            .env("TABLEAU_DATASOURCES", site.datasources.join("\n"))
            .env("TABLEAU_WORKBOOKS", site.workbooks.join("\n"));
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("the binary runs");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    let stats = sim.stats();
    let metadata = sim.faults().metadata_requests();
    sim.shutdown().await;
    let paths = stats
        .requests
        .iter()
        .filter(|r| matches!(r.route, Route::RefreshDatasource | Route::RefreshWorkbook))
        .map(|r| r.path.clone())
        .collect();
    (paths, metadata, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_and_listed_refresh_the_same_extracts_of_the_bench_site() {
    for n in [50, 500] {
        let site = site(n);
        let dir = tempfile::tempdir().expect("temp dir");
        site.write_artifacts(dir.path()).expect("artifacts");
        let (by_lineage, metadata, log) = refreshed(&site, dir.path(), true).await;
        let (by_name, listed_metadata, _) = refreshed(&site, dir.path(), false).await;
        let extracts = lineage_site::PUBLISHED_EXTRACTS + lineage_site::EMBEDDED_EXTRACTS;
        assert_eq!(by_lineage.len(), extracts, "N = {n}: {by_lineage:?}\n{log}");
        assert_eq!(by_lineage, by_name, "N = {n}");
        assert!(
            by_lineage
                .iter()
                .filter(|p| p.contains("/datasources/"))
                .count()
                == lineage_site::PUBLISHED_EXTRACTS,
            "{by_lineage:?}"
        );
        // Live content is considered, not refreshed; every model is read by something.
        assert!(log.contains("nothing to refresh"), "N = {n}:\n{log}");
        assert!(!log.contains("nothing in Tableau reads"), "N = {n}:\n{log}");
        assert!(metadata > 0, "N = {n}: lineage asked the Metadata API");
        assert_eq!(listed_metadata, 0, "N = {n}: listed never asks it");
    }
}

#[test]
fn every_reader_kind_reads_some_model() {
    let kinds: BTreeSet<String> = (0..30)
        .map(|i| match reader(i) {
            Reader::PublishedExtract(_) => "published extract".to_string(),
            Reader::EmbeddedExtract(_) => "embedded extract".to_string(),
            Reader::LiveDatasource(_) => "live data source".to_string(),
            Reader::LiveWorkbook(_) => "live workbook".to_string(),
        })
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    let site = site(60);
    assert_eq!(site.config.metadata.tables.len(), 60);
    assert_eq!(
        site.workbooks[0],
        format!(
            "{}/{}",
            lineage_site::PROJECT,
            lineage_site::extract_workbook_name(0)
        )
    );
    assert_eq!(
        site.datasources[0],
        format!(
            "{}/{}",
            lineage_site::PROJECT,
            lineage_site::extract_datasource_name(0)
        )
    );
}
