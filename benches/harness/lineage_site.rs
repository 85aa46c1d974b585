//! The lineage benchmark's world: a dbt run that built `n` table models, and a Tableau site whose
//! Metadata API knows every one of their tables, read by published extracts, embedded extracts
//! and live content; with the names a `--select listed` run gives for the same targets.
//! Shared with tests/lineage_bench_site.rs, which checks the world says what it claims.

use dbt_tableau_refresh::sim::dbt_cloud::project;
use dbt_tableau_refresh::sim::tableau::{
    SimConfig, SimEmbeddedDatasource, SimItem, SimJobBehaviour, SimProject, SimPublishedLineage,
    SimTable,
};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const PROJECT: &str = "Bench";
const PROJECT_ID: &str = "c0000000-0000-4000-8000-000000000000";
/// Readers of each kind. Every model is read by exactly one reader (model `i` by reader
/// `i % READERS_TOTAL`), so the targets are the same 20 for every `n` and queue in one round at
/// the default concurrency of 20: only what lineage adds changes with `n`.
pub(crate) const PUBLISHED_EXTRACTS: usize = 10;
pub(crate) const EMBEDDED_EXTRACTS: usize = 10;
pub(crate) const LIVE_DATASOURCES: usize = 5;
pub(crate) const LIVE_WORKBOOKS: usize = 5;
const READERS_TOTAL: usize =
    PUBLISHED_EXTRACTS + EMBEDDED_EXTRACTS + LIVE_DATASOURCES + LIVE_WORKBOOKS;

/// One benchmark world.
pub(crate) struct Site {
    pub(crate) config: SimConfig,
    pub(crate) manifest: Value,
    pub(crate) run_results: Value,
    /// `Project/Name` of the data sources lineage should select (the published extracts).
    pub(crate) datasources: Vec<String>,
    /// `Project/Name` of the workbooks lineage should select (those with an embedded extract).
    pub(crate) workbooks: Vec<String>,
}

fn luid(prefix: &str, i: usize) -> String {
    format!("{prefix}000000-0000-4000-8000-{i:012}")
}

fn model(i: usize) -> String {
    format!("model_{i:04}")
}

/// Which reader reads model `i`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reader {
    PublishedExtract(usize),
    EmbeddedExtract(usize),
    LiveDatasource(usize),
    LiveWorkbook(usize),
}

pub(crate) fn reader(i: usize) -> Reader {
    let r = i % READERS_TOTAL;
    if r < PUBLISHED_EXTRACTS {
        Reader::PublishedExtract(r)
    } else if r < PUBLISHED_EXTRACTS + EMBEDDED_EXTRACTS {
        Reader::EmbeddedExtract(r - PUBLISHED_EXTRACTS)
    } else if r < PUBLISHED_EXTRACTS + EMBEDDED_EXTRACTS + LIVE_DATASOURCES {
        Reader::LiveDatasource(r - PUBLISHED_EXTRACTS - EMBEDDED_EXTRACTS)
    } else {
        Reader::LiveWorkbook(r - PUBLISHED_EXTRACTS - EMBEDDED_EXTRACTS - LIVE_DATASOURCES)
    }
}

pub(crate) fn extract_datasource_name(k: usize) -> String {
    format!("Extract {k:02}")
}

pub(crate) fn extract_workbook_name(k: usize) -> String {
    format!("Embedded {k:02}")
}

/// `n` built models (n ≥ READERS_TOTAL, so every reader reads one) and the site reading them.
/// Refresh jobs end at once: the runs wait for them, as the action does by default, so a
/// lineage target's REST lookup (read in the pause before the first poll) is measured too.
pub(crate) fn site(n: usize) -> Site {
    assert!(n >= READERS_TOTAL, "every reader reads at least one model");
    let mut config = SimConfig::sample();
    config.projects = vec![SimProject::new(PROJECT_ID, PROJECT)];
    let job = SimJobBehaviour::succeeding(Duration::ZERO);
    let published = |k: usize, name: String, extract: bool| {
        let item = SimItem::new(luid("d", k), name, Some(PROJECT_ID)).with_job(job.clone());
        if extract {
            item
        } else {
            item.without_extracts()
        }
    };
    config.datasources = (0..PUBLISHED_EXTRACTS)
        .map(|k| published(k, extract_datasource_name(k), true))
        .chain(
            (0..LIVE_DATASOURCES)
                .map(|k| published(PUBLISHED_EXTRACTS + k, format!("Live source {k:02}"), false)),
        )
        .collect();
    let workbook = |k: usize, name: String, extract: bool| {
        let item = SimItem::new(luid("e", k), name, Some(PROJECT_ID)).with_job(job.clone());
        if extract {
            item
        } else {
            item.without_extracts()
        }
    };
    config.workbooks = (0..EMBEDDED_EXTRACTS)
        .map(|k| workbook(k, extract_workbook_name(k), true))
        .chain((0..LIVE_WORKBOOKS).map(|k| {
            workbook(
                EMBEDDED_EXTRACTS + k,
                format!("Live workbook {k:02}"),
                false,
            )
        }))
        .collect();

    // Snowflake shows unquoted names in upper case; dbt's are lower case: matched in any case.
    let table_id = |i: usize| luid("7b", i);
    let meta = &mut config.metadata;
    meta.tables = (0..n)
        .map(|i| {
            SimTable::new(
                table_id(i),
                "snowflake",
                "ANALYTICS",
                "MARTS",
                model(i).to_uppercase(),
            )
        })
        .collect();
    meta.custom_sql.clear();
    let read_by = |wanted: Reader| -> Vec<String> {
        (0..n)
            .filter(|i| reader(*i) == wanted)
            .map(table_id)
            .collect()
    };
    let refs = |ids: &[String]| -> Vec<String> { ids.to_vec() };
    meta.published = (0..PUBLISHED_EXTRACTS)
        .map(|k| (k, true, read_by(Reader::PublishedExtract(k))))
        .chain((0..LIVE_DATASOURCES).map(|k| {
            (
                PUBLISHED_EXTRACTS + k,
                false,
                read_by(Reader::LiveDatasource(k)),
            )
        }))
        .map(|(k, extract, tables)| {
            let mut lineage = SimPublishedLineage::new(luid("d", k), extract, &[]);
            lineage.tables = refs(&tables);
            lineage
        })
        .collect();
    meta.embedded = (0..EMBEDDED_EXTRACTS)
        .map(|k| (k, true, read_by(Reader::EmbeddedExtract(k))))
        .chain((0..LIVE_WORKBOOKS).map(|k| {
            (
                EMBEDDED_EXTRACTS + k,
                false,
                read_by(Reader::LiveWorkbook(k)),
            )
        }))
        .map(|(k, extract, tables)| {
            let mut embedded =
                SimEmbeddedDatasource::new(luid("ed", k), "Marts", luid("e", k), extract);
            embedded.tables = tables;
            embedded
        })
        .collect();

    // The sample project's manifest (none of its nodes built) plus the n models, all built.
    let mut manifest = project::manifest();
    let nodes = manifest["nodes"]
        .as_object_mut()
        .expect("the sample manifest has nodes");
    let mut results = Vec::with_capacity(n);
    for i in 0..n {
        let name = model(i);
        let id = format!("model.shop.{name}");
        nodes.insert(
            id.clone(),
            json!({
                "resource_type": "model",
                "unique_id": id,
                "name": name,
                "package_name": "shop",
                "database": "ANALYTICS",
                "schema": "MARTS",
                "alias": name,
                "relation_name": format!("ANALYTICS.MARTS.{name}"),
                "config": {"enabled": true, "materialized": "table", "tags": []},
                "depends_on": {"nodes": [], "macros": []},
                "fqn": ["shop", name],
            }),
        );
        results.push(json!({"unique_id": id, "status": "success"}));
    }
    let run_results = json!({"args": {"which": "build"}, "results": results});

    Site {
        config,
        manifest,
        run_results,
        datasources: (0..PUBLISHED_EXTRACTS)
            .map(|k| format!("{PROJECT}/{}", extract_datasource_name(k)))
            .collect(),
        workbooks: (0..EMBEDDED_EXTRACTS)
            .map(|k| format!("{PROJECT}/{}", extract_workbook_name(k)))
            .collect(),
    }
}

impl Site {
    /// Writes `manifest.json` and `run_results.json` into `dir`, as a dbt Core `target/`.
    pub(crate) fn write_artifacts(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(dir.join("manifest.json"), self.manifest.to_string())?;
        std::fs::write(dir.join("run_results.json"), self.run_results.to_string())
    }
}
