//! Synthetic dbt artifacts of any size for the manifest benchmark: a `manifest.json` (v12) and
//! the `run_results.json` (v6) of a `dbt build`, shaped like a real project's. Models in layers
//! (staging views over sources, ephemeral intermediates, tables, incremental facts, reporting
//! views), seeds, snapshots, generic tests, macros and docs blocks (which make much of a real
//! manifest's bytes), columns, SQL before and after compilation, `parent_map`/`child_map`, a few
//! semantic models and metrics, and exposures naming Tableau workbooks through `meta.tableau` or
//! their urls. Deterministic: the same project gives the same bytes.
//!
//! Compiled into the harness and into `tests/manifest_generator.rs`, which checks its shape.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

/// The package every node belongs to.
const PACKAGE: &str = "shop";
/// dbt's own and the adapter's macros, in every manifest whatever the project.
const BASE_MACROS: usize = 300;
/// Manifest bytes of a project without models (dbt's macros, the overview doc), and per model
/// with what comes with it (tests, sources, macros, map entries…), measured on the generator's
/// own output; [`Project::sized`] uses them.
const FIXED_BYTES: u64 = 450_000;
const BYTES_PER_MODEL: u64 = 12_000;

/// What to generate. Every count but the models follows from the model count as in a typical
/// project; the exposures name workbooks `{workbook_project}/Workbook {i}` for `i` below
/// `exposures` (as `meta.tableau`, or through a url on the default site whose numbers and
/// names are those the Tableau simulator gives workbooks listed in that order).
#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub(crate) models: usize,
    pub(crate) exposures: usize,
    pub(crate) workbook_project: String,
}

/// What a generated manifest and run_results hold, for checking and reporting.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Models by materialisation (`view`, `ephemeral`, `table`, `incremental`).
    pub(crate) models: BTreeMap<&'static str, usize>,
    pub(crate) seeds: usize,
    pub(crate) snapshots: usize,
    pub(crate) tests: usize,
    pub(crate) sources: usize,
    pub(crate) macros: usize,
    pub(crate) docs: usize,
    pub(crate) semantic_models: usize,
    pub(crate) metrics: usize,
    pub(crate) exposures: usize,
    /// Exposures naming their workbook in `meta.tableau` (half of them under `config.meta`, as
    /// dbt 1.10 writes it), and by url.
    pub(crate) exposures_by_meta: usize,
    pub(crate) exposures_by_url: usize,
    /// run_results entries, and the models, seeds and snapshots among them that succeeded.
    pub(crate) results: usize,
    pub(crate) built: usize,
    /// Models, seeds and snapshots that errored or were skipped.
    pub(crate) not_built: usize,
}

impl Counts {
    pub(crate) fn model_total(&self) -> usize {
        self.models.values().sum()
    }

    /// Entries of the manifest's `nodes` map.
    #[allow(dead_code)] // by tests/manifest_generator.rs
    pub(crate) fn nodes(&self) -> usize {
        self.model_total() + self.seeds + self.snapshots + self.tests
    }
}

impl Project {
    /// A project of `models` models with a few hundred exposures at most.
    pub(crate) fn with_models(models: usize) -> Self {
        Self {
            models,
            exposures: (models / 3).clamp(20, 300),
            workbook_project: "Bench".into(),
        }
    }

    /// A project whose manifest is about `bytes` long.
    pub(crate) fn sized(bytes: u64) -> Self {
        let models = bytes.saturating_sub(FIXED_BYTES) / BYTES_PER_MODEL;
        Self::with_models(usize::try_from(models).unwrap_or(usize::MAX).max(10))
    }

    fn seeds(&self) -> usize {
        self.models / 20 + 2
    }

    fn snapshots(&self) -> usize {
        self.models / 25 + 1
    }

    fn sources(&self) -> usize {
        (self.models * 3 / 10).max(3)
    }

    /// dbt's own and the adapter's macros are in every manifest, the project adds its own.
    fn macros(&self) -> usize {
        BASE_MACROS + self.models / 5
    }

    fn docs(&self) -> usize {
        1 + self.models / 10
    }

    fn semantic_models(&self) -> usize {
        (self.models / 50).max(1)
    }
}

/// A small deterministic generator (splitmix64): the same bytes on every run, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(len);
        out
    }
}

const WORDS: [&str; 32] = [
    "order",
    "customer",
    "payment",
    "amount",
    "status",
    "created",
    "updated",
    "region",
    "channel",
    "product",
    "sku",
    "price",
    "quantity",
    "discount",
    "currency",
    "country",
    "account",
    "session",
    "event",
    "device",
    "campaign",
    "source",
    "medium",
    "revenue",
    "cost",
    "margin",
    "tier",
    "segment",
    "store",
    "warehouse",
    "carrier",
    "invoice",
];

/// One node of the graph: what the others need to refer to it.
#[derive(Clone)]
struct Item {
    id: String,
    name: String,
    /// `database.schema.alias` as the adapter quotes it; `None` for ephemeral models.
    relation: Option<String>,
    columns: Vec<String>,
}

/// The graph, built once and written as the manifest, then read again for the run_results.
struct Graph {
    sources: Vec<Item>,
    seeds: Vec<Item>,
    snapshots: Vec<(Item, String)>,
    /// Models with their materialisation and parents.
    models: Vec<(Item, &'static str, Vec<String>)>,
    /// unique_id, parents.
    tests: Vec<(String, String, Vec<String>)>,
    semantic_models: Vec<(String, String)>,
    metrics: Vec<(String, String)>,
    exposures: Vec<(String, Vec<String>)>,
}

fn columns(rng: &mut Rng, prefix: &str) -> Vec<String> {
    let n = 5 + rng.below(8);
    let mut out = vec![format!("{prefix}_id")];
    while out.len() < n {
        let name = format!("{}_{}", rng.pick(&WORDS), rng.pick(&WORDS));
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn relation(schema: &str, alias: &str) -> String {
    format!("ANALYTICS.{schema}.{alias}")
}

fn graph(project: &Project) -> Graph {
    let mut rng = Rng(0x5eed_f0d0);
    let sources: Vec<Item> = (0..project.sources())
        .map(|i| {
            let name = format!("{}s_{i}", WORDS[i % WORDS.len()]);
            Item {
                id: format!("source.{PACKAGE}.raw_{}.{name}", i % 7),
                relation: Some(format!("RAW.RAW_{}.{}", i % 7, name.to_uppercase())),
                columns: columns(&mut rng, &name),
                name,
            }
        })
        .collect();
    let seeds: Vec<Item> = (0..project.seeds())
        .map(|i| {
            let name = format!("seed_{}_{i}", WORDS[(i * 7) % WORDS.len()]);
            Item {
                id: format!("seed.{PACKAGE}.{name}"),
                relation: Some(relation("SEEDS", &name)),
                columns: columns(&mut rng, &name),
                name,
            }
        })
        .collect();
    let snapshots: Vec<(Item, String)> = (0..project.snapshots())
        .map(|i| {
            let name = format!("snap_{}_{i}", WORDS[(i * 5) % WORDS.len()]);
            let source = rng.pick(&sources).id.clone();
            let item = Item {
                id: format!("snapshot.{PACKAGE}.{name}"),
                relation: Some(relation("SNAPSHOTS", &name)),
                columns: columns(&mut rng, &name),
                name,
            };
            (item, source)
        })
        .collect();
    let mut staging: Vec<usize> = Vec::new();
    let mut middle: Vec<usize> = Vec::new();
    let mut marts: Vec<usize> = Vec::new();
    let mut models: Vec<(Item, &'static str, Vec<String>)> = Vec::new();
    for i in 0..project.models {
        let word = WORDS[i % WORDS.len()];
        // The first models are staging, so every later layer has something to read.
        let layer = if i < 3 { 0 } else { i % 10 };
        let (name, schema, materialized) = match layer {
            0..=2 => (format!("stg_{word}s_{i}"), "STAGING", "view"),
            3 | 4 => (
                format!("int_{word}s_joined_{i}"),
                "INTERMEDIATE",
                "ephemeral",
            ),
            5 | 6 => (format!("dim_{word}s_{i}"), "MARTS", "table"),
            7 => (format!("fct_{word}s_{i}"), "MARTS", "table"),
            8 => (format!("fct_{word}_events_{i}"), "MARTS", "incremental"),
            _ => (format!("rpt_{word}_summary_{i}"), "REPORTING", "view"),
        };
        let id_of = |at: &usize, models: &[(Item, &str, Vec<String>)]| models[*at].0.id.clone();
        let mut parents: Vec<String> = Vec::new();
        match layer {
            0..=2 => parents.push(sources[i % sources.len()].id.clone()),
            3 | 4 => {
                for _ in 0..2 {
                    parents.push(id_of(rng.pick(&staging), &models));
                }
                if rng.below(4) == 0 {
                    parents.push(rng.pick(&seeds).id.clone());
                }
            }
            5..=8 => {
                for _ in 0..1 + rng.below(3) {
                    let from = if middle.is_empty() || rng.below(3) == 0 {
                        &staging
                    } else {
                        &middle
                    };
                    parents.push(id_of(rng.pick(from), &models));
                }
                if rng.below(6) == 0 {
                    parents.push(rng.pick(&snapshots).0.id.clone());
                }
            }
            _ => {
                let from = if marts.is_empty() { &staging } else { &marts };
                for _ in 0..1 + rng.below(2) {
                    parents.push(id_of(rng.pick(from), &models));
                }
            }
        }
        parents.sort();
        parents.dedup();
        let at = models.len();
        match layer {
            0..=2 => staging.push(at),
            3 | 4 => middle.push(at),
            5..=8 => marts.push(at),
            _ => {}
        }
        let item = Item {
            id: format!("model.{PACKAGE}.{name}"),
            relation: (materialized != "ephemeral").then(|| relation(schema, &name)),
            columns: columns(&mut rng, &name),
            name,
        };
        models.push((item, materialized, parents));
    }
    let mut tests = Vec::new();
    for (at, (model, materialized, _)) in models.iter().enumerate() {
        if *materialized == "ephemeral" {
            continue;
        }
        let key = &model.columns[0];
        for test in ["not_null", "unique"] {
            tests.push((
                format!("test.{PACKAGE}.{test}_{}_{key}.{}", model.name, rng.hex(10)),
                format!("{test}_{}_{key}", model.name),
                vec![model.id.clone()],
            ));
        }
        if at % 3 == 0 && !marts.is_empty() {
            let other = &models[*rng.pick(&marts)].0;
            if other.id != model.id {
                tests.push((
                    format!(
                        "test.{PACKAGE}.relationships_{}_{key}__{}.{}",
                        model.name,
                        other.name,
                        rng.hex(10)
                    ),
                    format!("relationships_{}_{key}__{}", model.name, other.name),
                    vec![model.id.clone(), other.id.clone()],
                ));
            }
        }
    }
    let tables: Vec<usize> = marts
        .iter()
        .copied()
        .filter(|at| models[*at].1 == "table")
        .collect();
    let semantic_models: Vec<(String, String)> = (0..project.semantic_models())
        .map(|i| {
            let model = &models[tables[i % tables.len().max(1)]].0;
            (
                format!("semantic_model.{PACKAGE}.sm_{}", model.name),
                model.id.clone(),
            )
        })
        .collect();
    let metrics: Vec<(String, String)> = semantic_models
        .iter()
        .map(|(id, _)| {
            (
                id.replacen("semantic_model.", "metric.", 1)
                    .replace(".sm_", ".total_"),
                id.clone(),
            )
        })
        .collect();
    let readable: Vec<usize> = models
        .iter()
        .enumerate()
        .filter(|(_, (_, materialized, _))| *materialized != "ephemeral")
        .map(|(at, _)| at)
        .filter(|at| models[*at].0.name.starts_with(['d', 'f', 'r']))
        .collect();
    let exposures = (0..project.exposures)
        .map(|i| {
            let mut parents = Vec::new();
            if i % 10 == 9 && !metrics.is_empty() {
                parents.push(rng.pick(&metrics).0.clone());
            }
            for _ in 0..1 + rng.below(3) {
                parents.push(models[*rng.pick(&readable)].0.id.clone());
            }
            parents.sort();
            parents.dedup();
            (
                format!("exposure.{PACKAGE}.workbook_{i}_dashboard"),
                parents,
            )
        })
        .collect();
    Graph {
        sources,
        seeds,
        snapshots,
        models,
        tests,
        semantic_models,
        metrics,
        exposures,
    }
}

/// Writes `"key":value` pairs of one JSON object, one at a time, so a 100 MB manifest is never
/// held in memory.
struct Object<'w, W: Write> {
    out: &'w mut W,
    first: bool,
}

impl<'w, W: Write> Object<'w, W> {
    fn open(out: &'w mut W) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(Self { out, first: true })
    }

    fn entry(&mut self, key: &str, value: &Value) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.write_all(b":")?;
        serde_json::to_writer(&mut *self.out, value)?;
        Ok(())
    }

    /// A nested object written entry by entry.
    fn nested(&mut self, key: &str) -> io::Result<Object<'_, W>> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.write_all(b":")?;
        Object::open(&mut *self.out)
    }

    fn close(self) -> io::Result<()> {
        self.out.write_all(b"}")
    }
}

const CREATED_AT: f64 = 1_733_100_000.123;

/// One JSON object from two: `json!` cannot take a whole model node at once (its recursion
/// limit).
trait Merged {
    fn merged(self, more: Value) -> Value;
}

impl Merged for Value {
    fn merged(self, more: Value) -> Value {
        match (self, more) {
            (Value::Object(mut first), Value::Object(second)) => {
                first.extend(second);
                Value::Object(first)
            }
            (first, _) => first,
        }
    }
}

fn fqn(name: &str, folder: &str) -> Value {
    json!([PACKAGE, folder, name])
}

fn column_map(columns: &[String], rng: &mut Rng) -> Value {
    let map: serde_json::Map<String, Value> = columns
        .iter()
        .map(|column| {
            let described = rng.below(2) == 0;
            (
                column.clone(),
                json!({
                    "name": column,
                    "description": if described {
                        format!("The {} of the row, as the source system recorded it.", column.replace('_', " "))
                    } else {
                        String::new()
                    },
                    "meta": {},
                    "data_type": if described { Value::from("varchar") } else { Value::Null },
                    "constraints": [],
                    "quote": null,
                    "tags": [],
                    "granularity": null,
                }),
            )
        })
        .collect();
    Value::Object(map)
}

fn node_config(materialized: &str, schema: Option<&str>) -> Value {
    json!({
        "enabled": true,
        "alias": null,
        "schema": schema,
        "database": null,
        "tags": [],
        "meta": {},
        "group": null,
        "materialized": materialized,
        "incremental_strategy": if materialized == "incremental" { Value::from("merge") } else { Value::Null },
        "batch_size": null,
        "lookback": 1,
        "begin": null,
        "persist_docs": {},
        "post-hook": [],
        "pre-hook": [],
        "quoting": {},
        "column_types": {},
        "full_refresh": null,
        "unique_key": if materialized == "incremental" { Value::from("event_id") } else { Value::Null },
        "on_schema_change": "ignore",
        "on_configuration_change": "apply",
        "grants": {},
        "packages": [],
        "docs": {"show": true, "node_color": null},
        "contract": {"enforced": false, "alias_types": true},
        "event_time": null,
        "concurrent_batches": null,
        "access": "protected",
    })
}

/// `select` lists and CTEs in the style of a dbt project, `refs` in Jinja before compilation
/// and relation names after.
fn sql(item: &Item, parents: &[(String, String)], rng: &mut Rng) -> (String, String) {
    let mut raw = String::new();
    let mut compiled = String::new();
    for (at, (jinja, relation)) in parents.iter().enumerate() {
        let cte = format!("upstream_{at}");
        let body = |from: &str| {
            format!(
                "{cte} as (\n\n    select\n{}\n    from {from}\n    where {} is not null\n\n),\n\n",
                item.columns
                    .iter()
                    .map(|c| format!("        {c}"))
                    .collect::<Vec<_>>()
                    .join(",\n"),
                item.columns[0]
            )
        };
        raw.push_str(if at == 0 { "with " } else { "" });
        compiled.push_str(if at == 0 { "with " } else { "" });
        raw.push_str(&body(jinja));
        compiled.push_str(&body(relation));
    }
    let tail = format!(
        "final as (\n\n    select\n{},\n        current_timestamp as _loaded_at_{}\n    from upstream_0\n\n)\n\nselect * from final\n",
        item.columns
            .iter()
            .map(|c| format!("        upstream_0.{c}"))
            .collect::<Vec<_>>()
            .join(",\n"),
        rng.below(1000)
    );
    raw.push_str(&tail);
    compiled.push_str(&tail);
    (raw, compiled)
}

/// How a parent reads in SQL before and after compilation.
fn reference(graph_item: &Item, kind: &str) -> (String, String) {
    let jinja = if kind == "source" {
        let schema = graph_item.id.split('.').nth(2).unwrap_or("raw");
        format!("{{{{ source('{schema}', '{}') }}}}", graph_item.name)
    } else {
        format!("{{{{ ref('{}') }}}}", graph_item.name)
    };
    let compiled = graph_item
        .relation
        .clone()
        .unwrap_or_else(|| format!("__dbt__cte__{}", graph_item.name));
    (jinja, compiled)
}

/// Writes the manifest of `project` and returns what it holds (run_results counts left at 0).
#[allow(dead_code)] // by tests/manifest_generator.rs
pub(crate) fn write_manifest(project: &Project, out: impl Write) -> io::Result<Counts> {
    let graph = graph(project);
    write_graph(project, &graph, out)
}

fn write_graph(project: &Project, graph: &Graph, out: impl Write) -> io::Result<Counts> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let mut rng = Rng(0xa11_7ab1e);
    let mut counts = Counts::default();
    let mut by_id: BTreeMap<&str, (&Item, &str)> = BTreeMap::new();
    for item in &graph.sources {
        by_id.insert(&item.id, (item, "source"));
    }
    for item in &graph.seeds {
        by_id.insert(&item.id, (item, "seed"));
    }
    for (item, _) in &graph.snapshots {
        by_id.insert(&item.id, (item, "snapshot"));
    }
    for (item, _, _) in &graph.models {
        by_id.insert(&item.id, (item, "model"));
    }
    let mut parent_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut top = Object::open(&mut out)?;
    top.entry(
        "metadata",
        &json!({
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.9.4",
            "generated_at": "2026-12-01T06:00:00.000000Z",
            "invocation_id": "1b7c3e8a-5d2f-4f0e-9a61-2c4d8e9f0a1b",
            "env": {},
            "project_name": PACKAGE,
            "project_id": "a3f5c1d2e4b6a8c0d2e4f6a8b0c2d4e6",
            "user_id": null,
            "send_anonymous_usage_stats": false,
            "adapter_type": "snowflake",
        }),
    )?;
    {
        let mut nodes = top.nested("nodes")?;
        for (item, materialized, parents) in &graph.models {
            let refs: Vec<(String, String)> = parents
                .iter()
                .filter_map(|p| by_id.get(p.as_str()))
                .map(|(parent, kind)| reference(parent, kind))
                .collect();
            let (raw, compiled) = sql(item, &refs, &mut rng);
            let folder = item.name.split('_').next().unwrap_or("models");
            let schema = item
                .relation
                .as_deref()
                .and_then(|r| r.split('.').nth(1))
                .unwrap_or("INTERMEDIATE");
            let path = format!("{folder}/{}.sql", item.name);
            nodes.entry(
                &item.id,
                &json!({
                    "database": "ANALYTICS",
                    "schema": schema,
                    "name": item.name,
                    "resource_type": "model",
                    "package_name": PACKAGE,
                    "path": path,
                    "original_file_path": format!("models/{path}"),
                    "unique_id": item.id,
                    "fqn": fqn(&item.name, folder),
                    "alias": item.name,
                    "checksum": {"name": "sha256", "checksum": rng.hex(64)},
                    "config": node_config(materialized, Some(&schema.to_lowercase())),
                    "tags": [],
                    "description": format!("One row per {} of the {} layer, with what the business reports on.", item.columns[0].trim_end_matches("_id"), folder),
                    "columns": column_map(&item.columns, &mut rng),
                    "meta": {},
                    "group": null,
                })
                .merged(json!({
                    "docs": {"show": true, "node_color": null},
                    "patch_path": format!("{PACKAGE}://models/{folder}/_{folder}__models.yml"),
                    "build_path": null,
                    "unrendered_config": {"materialized": materialized, "schema": schema.to_lowercase()},
                    "created_at": CREATED_AT,
                    "relation_name": item.relation,
                    "raw_code": raw,
                    "doc_blocks": [],
                    "language": "sql",
                    "refs": parents.iter().filter(|p| p.starts_with("model.") || p.starts_with("seed.") || p.starts_with("snapshot."))
                        .map(|p| json!({"name": p.rsplit('.').next(), "package": null, "version": null})).collect::<Vec<_>>(),
                    "sources": parents.iter().filter(|p| p.starts_with("source."))
                        .map(|p| p.split('.').skip(2).collect::<Vec<_>>()).collect::<Vec<_>>(),
                    "metrics": [],
                    "depends_on": {"macros": ["macro.dbt.run_query", "macro.dbt_snowflake.snowflake__create_table_as"], "nodes": parents},
                    "compiled_path": format!("target/compiled/{PACKAGE}/models/{path}"),
                    "compiled": true,
                    "compiled_code": compiled,
                    "extra_ctes_injected": true,
                    "extra_ctes": [],
                    "contract": {"enforced": false, "alias_types": true, "checksum": null},
                    "access": "protected",
                    "constraints": [],
                    "version": null,
                    "latest_version": null,
                    "deprecation_date": null,
                    "primary_key": [item.columns[0]],
                    "time_spine": null,
                })),
            )?;
            parent_map.insert(item.id.clone(), parents.clone());
            *counts.models.entry(materialized).or_default() += 1;
        }
        for item in &graph.seeds {
            nodes.entry(
                &item.id,
                &json!({
                    "database": "ANALYTICS", "schema": "SEEDS", "name": item.name,
                    "resource_type": "seed", "package_name": PACKAGE,
                    "path": format!("{}.csv", item.name), "original_file_path": format!("seeds/{}.csv", item.name),
                    "unique_id": item.id, "fqn": [PACKAGE, item.name], "alias": item.name,
                    "checksum": {"name": "sha256", "checksum": rng.hex(64)},
                    "config": node_config("seed", Some("seeds")),
                    "tags": [], "description": "", "columns": column_map(&item.columns, &mut rng), "meta": {},
                    "group": null, "docs": {"show": true, "node_color": null}, "patch_path": null,
                    "build_path": null, "unrendered_config": {"schema": "seeds"}, "created_at": CREATED_AT,
                    "relation_name": item.relation, "raw_code": "", "doc_blocks": [],
                    "root_path": "/usr/app/dbt", "depends_on": {"macros": []},
                }),
            )?;
            parent_map.insert(item.id.clone(), Vec::new());
            counts.seeds += 1;
        }
        for (item, source) in &graph.snapshots {
            let (jinja, compiled_from) = by_id
                .get(source.as_str())
                .map(|(parent, kind)| reference(parent, kind))
                .unwrap_or_default();
            nodes.entry(
                &item.id,
                &json!({
                    "database": "ANALYTICS", "schema": "SNAPSHOTS", "name": item.name,
                    "resource_type": "snapshot", "package_name": PACKAGE,
                    "path": format!("{}.sql", item.name), "original_file_path": format!("snapshots/{}.sql", item.name),
                    "unique_id": item.id, "fqn": [PACKAGE, item.name, item.name], "alias": item.name,
                    "checksum": {"name": "sha256", "checksum": rng.hex(64)},
                    "config": {"enabled": true, "materialized": "snapshot", "strategy": "timestamp",
                        "unique_key": item.columns[0], "updated_at": "updated_at", "target_schema": "snapshots",
                        "snapshot_meta_column_names": {"dbt_valid_to": null, "dbt_valid_from": null,
                            "dbt_scd_id": null, "dbt_updated_at": null, "dbt_is_deleted": null},
                        "tags": [], "meta": {}, "persist_docs": {}, "post-hook": [], "pre-hook": []},
                    }).merged(json!({
                    "tags": [], "description": "", "columns": {}, "meta": {}, "group": null,
                    "docs": {"show": true, "node_color": null}, "patch_path": null, "build_path": null,
                    "unrendered_config": {"strategy": "timestamp", "unique_key": item.columns[0]},
                    "created_at": CREATED_AT, "relation_name": item.relation,
                    "raw_code": format!("\n{{{{ config(strategy='timestamp', unique_key='{}', updated_at='updated_at') }}}}\n\nselect * from {jinja}\n\n", item.columns[0]),
                    "doc_blocks": [], "language": "sql", "refs": [], "sources": [source.split('.').skip(2).collect::<Vec<_>>()],
                    "metrics": [], "depends_on": {"macros": ["macro.dbt.snapshot_timestamp_strategy"], "nodes": [source]},
                    "compiled_path": null, "compiled": true,
                    "compiled_code": format!("\n\nselect * from {compiled_from}\n\n"),
                    "extra_ctes_injected": true, "extra_ctes": [], "contract": {"enforced": false, "alias_types": true, "checksum": null},
                })),
            )?;
            parent_map.insert(item.id.clone(), vec![source.clone()]);
            counts.snapshots += 1;
        }
        for (id, name, parents) in &graph.tests {
            let test = name.split('_').next().unwrap_or("not");
            let (model, column) = by_id
                .get(parents[0].as_str())
                .map(|(item, _)| (item.name.clone(), item.columns[0].clone()))
                .unwrap_or_default();
            let relation = by_id
                .get(parents[0].as_str())
                .and_then(|(item, _)| item.relation.clone())
                .unwrap_or_default();
            nodes.entry(
                id,
                &json!({
                    "database": "ANALYTICS", "schema": "DBT_TEST__AUDIT", "name": name,
                    "resource_type": "test", "package_name": PACKAGE,
                    "path": format!("{name}.sql"), "original_file_path": "models/_models.yml",
                    "unique_id": id, "fqn": [PACKAGE, name], "alias": name,
                    "checksum": {"name": "none", "checksum": ""},
                    "config": {"enabled": true, "alias": null, "schema": "dbt_test__audit", "database": null,
                        "tags": [], "meta": {}, "group": null, "materialized": "test", "severity": "ERROR",
                        "store_failures": null, "store_failures_as": null, "where": null, "limit": null,
                        "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0"},
                    "tags": [], "description": "", "columns": {}, "meta": {}, "group": null,
                    }).merged(json!({
                    "docs": {"show": true, "node_color": null}, "patch_path": null, "build_path": null,
                    "unrendered_config": {}, "created_at": CREATED_AT, "relation_name": null,
                    "raw_code": format!("{{{{ test_{test}(**_dbt_generic_test_kwargs) }}}}"),
                    "doc_blocks": [], "language": "sql",
                    "refs": parents.iter().map(|p| json!({"name": p.rsplit('.').next(), "package": null, "version": null})).collect::<Vec<_>>(),
                    "sources": [], "metrics": [],
                    "depends_on": {"macros": [format!("macro.dbt.test_{test}"), "macro.dbt.get_where_subquery"], "nodes": parents},
                    "compiled_path": format!("target/compiled/{PACKAGE}/models/_models.yml/{name}.sql"),
                    "compiled": true,
                    "compiled_code": format!("\n    \n    \n\nselect\n    {column} as unique_field,\n    count(*) as n_records\n\nfrom {relation}\nwhere {column} is not null\ngroup by {column}\nhaving count(*) > 1\n\n\n"),
                    "extra_ctes_injected": true, "extra_ctes": [],
                    "contract": {"enforced": false, "alias_types": true, "checksum": null},
                    "column_name": column, "file_key_name": format!("models.{model}"),
                    "attached_node": parents[0],
                    "test_metadata": {"name": test, "kwargs": {"column_name": column, "model": format!("{{{{ get_where_subquery(ref('{model}')) }}}}")}, "namespace": null},
                })),
            )?;
            parent_map.insert(id.clone(), parents.clone());
            counts.tests += 1;
        }
        nodes.close()?;
    }
    {
        let mut sources = top.nested("sources")?;
        for item in &graph.sources {
            let schema = item.id.split('.').nth(2).unwrap_or("raw");
            sources.entry(
                &item.id,
                &json!({
                    "database": "RAW", "schema": schema.to_uppercase(), "name": item.name,
                    "resource_type": "source", "package_name": PACKAGE,
                    "path": "models/staging/_sources.yml", "original_file_path": "models/staging/_sources.yml",
                    "unique_id": item.id, "fqn": [PACKAGE, "staging", schema, item.name],
                    "source_name": schema, "source_description": "Tables the loader writes.",
                    "loader": "fivetran", "identifier": item.name.to_uppercase(),
                    "quoting": {"database": null, "schema": null, "identifier": null, "column": null},
                    "loaded_at_field": "_fivetran_synced", "loaded_at_query": null,
                    "freshness": {"warn_after": {"count": 12, "period": "hour"}, "error_after": {"count": 24, "period": "hour"}, "filter": null},
                    }).merged(json!({
                    "external": null, "description": "", "columns": column_map(&item.columns, &mut rng),
                    "meta": {}, "source_meta": {}, "tags": [],
                    "config": {"enabled": true, "event_time": null, "freshness": null},
                    "patch_path": null, "unrendered_config": {}, "relation_name": item.relation,
                    "created_at": CREATED_AT, "unrendered_database": null, "unrendered_schema": null, "doc_blocks": [],
                })),
            )?;
            parent_map.insert(item.id.clone(), Vec::new());
            counts.sources += 1;
        }
        sources.close()?;
    }
    {
        let mut macros = top.nested("macros")?;
        for i in 0..project.macros() {
            let (package, name) = if i < BASE_MACROS {
                (
                    if i % 3 == 0 { "dbt_snowflake" } else { "dbt" },
                    format!(
                        "{}__{}_{i}",
                        if i % 3 == 0 { "snowflake" } else { "default" },
                        WORDS[i % WORDS.len()]
                    ),
                )
            } else {
                (PACKAGE, format!("cents_to_{}_{i}", WORDS[i % WORDS.len()]))
            };
            let id = format!("macro.{package}.{name}");
            let lines = 4 + rng.below(20);
            let body: String = (0..lines)
                .map(|l| {
                    format!(
                        "    {{%- set {}_{l} = adapter.dispatch('{}', '{package}')({}) -%}}\n",
                        WORDS[(l + i) % WORDS.len()],
                        WORDS[l % WORDS.len()],
                        WORDS[(l * 3) % WORDS.len()]
                    )
                })
                .collect();
            macros.entry(
                &id,
                &json!({
                    "name": name, "resource_type": "macro", "package_name": package,
                    "path": format!("macros/{name}.sql"), "original_file_path": format!("macros/{name}.sql"),
                    "unique_id": id,
                    "macro_sql": format!("{{% macro {name}(relation, column_name) -%}}\n{body}    {{{{ return(relation) }}}}\n{{%- endmacro %}}"),
                    "depends_on": {"macros": ["macro.dbt.default__get_columns_in_relation"]},
                    "description": "", "meta": {}, "docs": {"show": true, "node_color": null},
                    "patch_path": null, "arguments": [], "created_at": CREATED_AT, "supported_languages": ["sql"],
                }),
            )?;
            counts.macros += 1;
        }
        macros.close()?;
    }
    {
        let mut docs = top.nested("docs")?;
        for i in 0..project.docs() {
            let (package, name) = if i == 0 {
                ("dbt", "__overview__".to_string())
            } else {
                (
                    PACKAGE,
                    format!("{}_definition_{i}", WORDS[i % WORDS.len()]),
                )
            };
            let id = format!("doc.{package}.{name}");
            let paragraphs = if i == 0 { 12 } else { 2 + rng.below(3) };
            let text: String = (0..paragraphs)
                .map(|p| {
                    format!(
                        "### {}\n\nThe {} is computed from the {} and the {} of each row; rows without a {} are dropped before the join, see the model's tests.\n\n",
                        WORDS[(p + i) % WORDS.len()],
                        WORDS[p % WORDS.len()],
                        WORDS[(p * 5) % WORDS.len()],
                        WORDS[(p * 7 + 1) % WORDS.len()],
                        WORDS[(p * 11 + 2) % WORDS.len()]
                    )
                })
                .collect();
            docs.entry(
                &id,
                &json!({
                    "name": name, "resource_type": "doc", "package_name": package,
                    "path": "overview.md", "original_file_path": "docs/overview.md",
                    "unique_id": id, "block_contents": text,
                }),
            )?;
            counts.docs += 1;
        }
        docs.close()?;
    }
    {
        let mut exposures = top.nested("exposures")?;
        for (i, (id, parents)) in graph.exposures.iter().enumerate() {
            let workbook = format!("{}/Workbook {i}", project.workbook_project);
            // Half name their workbook in meta (a quarter under `config.meta`, dbt 1.10's
            // place), half by the url the simulator gives it (its number, or a view's address).
            let (url, meta, config_meta) = match i % 4 {
                0 => (
                    format!("https://tableau.example.com/#/workbooks/{}", 101 + i),
                    json!({"owner_team": "finance", "tableau": {"workbook": workbook}}),
                    json!({}),
                ),
                1 => (
                    format!("https://tableau.example.com/#/workbooks/{}", 101 + i),
                    json!({}),
                    json!({"tableau": {"workbooks": [workbook]}, "sla": "daily"}),
                ),
                2 => (
                    format!("https://tableau.example.com/#/workbooks/{}/views", 101 + i),
                    json!({"owner_team": "growth"}),
                    json!({}),
                ),
                _ => (
                    format!("https://tableau.example.com/#/views/Workbook{i}/Overview?:iid=1"),
                    json!({}),
                    json!({}),
                ),
            };
            if i % 4 < 2 {
                counts.exposures_by_meta += 1;
            } else {
                counts.exposures_by_url += 1;
            }
            let name = id.rsplit('.').next().unwrap_or_default();
            exposures.entry(
                id,
                &json!({
                    "name": name, "resource_type": "exposure", "package_name": PACKAGE,
                    "path": "exposures/tableau.yml", "original_file_path": "models/exposures/tableau.yml",
                    "unique_id": id, "fqn": [PACKAGE, "exposures", name],
                    "type": "dashboard",
                    "owner": {"email": format!("bi-team+{i}@example.com"), "name": "BI team"},
                    "description": format!("Workbook {i}: what the {} team looks at every morning.", WORDS[i % WORDS.len()]),
                    "label": format!("Workbook {i}"), "maturity": "high",
                    "meta": meta, "tags": ["tableau"],
                    "config": {"enabled": true, "tags": ["tableau"], "meta": config_meta},
                    "unrendered_config": {},
                    "url": url,
                    "depends_on": {"macros": [], "nodes": parents},
                    "refs": parents.iter().filter(|p| p.starts_with("model.")).map(|p| json!({"name": p.rsplit('.').next(), "package": null, "version": null})).collect::<Vec<_>>(),
                    "sources": [], "metrics": parents.iter().filter(|p| p.starts_with("metric.")).map(|p| json!([p.rsplit('.').next()])).collect::<Vec<_>>(),
                    "created_at": CREATED_AT,
                }),
            )?;
            parent_map.insert(id.clone(), parents.clone());
            counts.exposures += 1;
        }
        exposures.close()?;
    }
    {
        let mut metrics = top.nested("metrics")?;
        for (id, semantic_model) in &graph.metrics {
            let name = id.rsplit('.').next().unwrap_or_default();
            metrics.entry(
                id,
                &json!({
                    "name": name, "resource_type": "metric", "package_name": PACKAGE,
                    "path": "semantic/metrics.yml", "original_file_path": "models/semantic/metrics.yml",
                    "unique_id": id, "fqn": [PACKAGE, "semantic", name], "description": "", "label": name,
                    "type": "simple", "type_params": {"measure": {"name": "total", "filter": null, "alias": null, "join_to_timespine": false, "fill_nulls_with": null}},
                    "filter": null, "metadata": null, "time_granularity": null, "meta": {}, "tags": [],
                    "config": {"enabled": true, "group": null, "meta": {}}, "unrendered_config": {},
                    "sources": [], "depends_on": {"macros": [], "nodes": [semantic_model]},
                    "refs": [], "metrics": [], "created_at": CREATED_AT, "group": null,
                }),
            )?;
            parent_map.insert(id.clone(), vec![semantic_model.clone()]);
            counts.metrics += 1;
        }
        metrics.close()?;
    }
    top.entry("groups", &json!({}))?;
    top.entry("selectors", &json!({}))?;
    top.entry("disabled", &json!({}))?;
    // Every node's first-order parents, and the same edges the other way.
    let mut child_map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (semantic_model, model) in &graph.semantic_models {
        parent_map.insert(semantic_model.clone(), vec![model.clone()]);
    }
    for (child, parents) in &parent_map {
        child_map.entry(child).or_default();
        for parent in parents {
            child_map.entry(parent).or_default().push(child);
        }
    }
    top.entry("parent_map", &serde_json::to_value(&parent_map)?)?;
    top.entry("child_map", &serde_json::to_value(&child_map)?)?;
    top.entry("group_map", &json!({}))?;
    top.entry("saved_queries", &json!({}))?;
    {
        let mut semantic_models = top.nested("semantic_models")?;
        for (id, model) in &graph.semantic_models {
            let name = id.rsplit('.').next().unwrap_or_default();
            let model_name = model.rsplit('.').next().unwrap_or_default();
            semantic_models.entry(
                id,
                &json!({
                    "name": name, "resource_type": "semantic_model", "package_name": PACKAGE,
                    "path": "semantic/models.yml", "original_file_path": "models/semantic/models.yml",
                    "unique_id": id, "fqn": [PACKAGE, "semantic", name],
                    "model": format!("ref('{model_name}')"),
                    "node_relation": {"alias": model_name, "schema_name": "MARTS", "database": "ANALYTICS", "relation_name": format!("ANALYTICS.MARTS.{model_name}")},
                    "description": null, "label": null, "defaults": {"agg_time_dimension": "created_at"},
                    }).merged(json!({
                    "entities": [{"name": "id", "type": "primary", "description": null, "label": null, "role": null, "expr": null, "config": null}],
                    "measures": [{"name": "total", "agg": "sum", "description": null, "label": null, "create_metric": false, "expr": "amount", "agg_params": null, "non_additive_dimension": null, "agg_time_dimension": null, "config": null}],
                    "dimensions": [{"name": "created_at", "type": "time", "description": null, "label": null, "is_partition": false, "type_params": {"time_granularity": "day", "validity_params": null}, "expr": null, "metadata": null, "config": null}],
                    "metadata": null, "depends_on": {"macros": [], "nodes": [model]},
                    "refs": [{"name": model_name, "package": null, "version": null}],
                    "created_at": CREATED_AT, "config": {"enabled": true, "group": null, "meta": {}},
                    "unrendered_config": {}, "primary_entity": null, "group": null,
                })),
            )?;
            counts.semantic_models += 1;
        }
        semantic_models.close()?;
    }
    top.entry("unit_tests", &json!({}))?;
    top.close()?;
    out.flush()?;
    Ok(counts)
}

fn write_results(graph: &Graph, out: impl Write) -> io::Result<Counts> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let mut rng = Rng(0x0b_0011d);
    let mut counts = Counts::default();
    let mut results: Vec<Value> = Vec::new();
    let mut result = |id: &str,
                      status: &str,
                      relation: Option<&str>,
                      code: Option<String>,
                      rng: &mut Rng| {
        let started = 6 * 3600 + results.len() as u64 / 4;
        let at = |s: u64, ms: u64| {
            format!(
                "2026-12-01T{:02}:{:02}:{:02}.{ms:03}000Z",
                s / 3600,
                s / 60 % 60,
                s % 60
            )
        };
        let test = id.starts_with("test.");
        let message = match status {
            "success" => Value::from("SUCCESS 1"),
            "error" => Value::from(
                "Database Error in model (models/x.sql)\n  000904 (42000): SQL compilation error: error line 12 at position 8\n  invalid identifier 'AMOUNT'",
            ),
            "skipped" => Value::Null,
            _ => Value::Null,
        };
        results.push(json!({
            "status": status,
            "timing": if status == "skipped" { json!([]) } else { json!([
                {"name": "compile", "started_at": at(started, 101), "completed_at": at(started, 180)},
                {"name": "execute", "started_at": at(started, 181), "completed_at": at(started + 1, 422)},
            ]) },
            "thread_id": format!("Thread-{} (worker)", 1 + rng.below(8)),
            "execution_time": (rng.below(5000) as f64) / 1000.0,
            "adapter_response": if status == "skipped" { json!({}) } else { json!({
                "_message": "SUCCESS 1", "code": "SUCCESS",
                "rows_affected": rng.below(100_000), "query_id": format!("01b8{}", rng.hex(28)),
            }) },
            "message": message,
            "failures": if test { Value::from(0) } else { Value::Null },
            "unique_id": id,
            "compiled": status != "skipped",
            "compiled_code": code,
            "relation_name": relation,
            "batch_results": null,
        }));
    };
    for item in &graph.seeds {
        result(
            &item.id,
            "success",
            item.relation.as_deref(),
            None,
            &mut rng,
        );
        counts.built += 1;
    }
    for (item, _) in &graph.snapshots {
        result(
            &item.id,
            "success",
            item.relation.as_deref(),
            Some(format!("select * from {}", item.name)),
            &mut rng,
        );
        counts.built += 1;
    }
    let mut failed: HashSet<&str> = HashSet::new();
    let mut selected: HashSet<&str> = HashSet::new();
    for (at, (item, materialized, parents)) in graph.models.iter().enumerate() {
        // dbt does not run ephemeral models; about one model in ten is not selected.
        if *materialized == "ephemeral" || at % 10 == 4 || at % 11 == 10 {
            continue;
        }
        selected.insert(&item.id);
        let status = if at % 97 == 50 {
            "error"
        } else if parents.iter().any(|p| failed.contains(p.as_str())) {
            "skipped"
        } else {
            "success"
        };
        if status == "success" {
            counts.built += 1;
        } else {
            counts.not_built += 1;
            failed.insert(&item.id);
        }
        let code = format!(
            "select\n    {}\nfrom {}",
            item.columns.join(",\n    "),
            item.relation.as_deref().unwrap_or_default()
        );
        result(
            &item.id,
            status,
            item.relation.as_deref(),
            Some(code),
            &mut rng,
        );
    }
    // A test runs when its model was selected, and is skipped when a model it reads did not build.
    for (id, _, parents) in &graph.tests {
        if !selected.contains(parents[0].as_str()) {
            continue;
        }
        let status = if parents.iter().any(|p| failed.contains(p.as_str())) {
            "skipped"
        } else {
            "pass"
        };
        let code = "select count(*) as failures from (select 1) having count(*) > 1";
        result(id, status, None, Some(code.into()), &mut rng);
    }
    counts.results = results.len();
    serde_json::to_writer(
        &mut out,
        &json!({
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                "dbt_version": "1.9.4", "generated_at": "2026-12-01T06:31:12.000000Z",
                "invocation_id": "1b7c3e8a-5d2f-4f0e-9a61-2c4d8e9f0a1b", "env": {},
            },
            "results": results,
            "elapsed_time": 1811.5,
            "args": {
                "which": "build", "select": [], "exclude": [], "resource_types": [],
                "indirect_selection": "eager", "full_refresh": false, "favor_state": false,
                "show_resource_report": false, "write_json": true, "use_colors": true,
                "printer_width": 80, "log_format": "default", "log_level": "info",
                "partial_parse": true, "static_parser": true, "populate_cache": true,
                "project_dir": "/usr/app/dbt", "profiles_dir": "/usr/app/dbt", "vars": {},
                "target": "prod", "threads": 8, "invocation_command": "dbt build --target prod",
                "strict_mode": false, "send_anonymous_usage_stats": false,
            },
        }),
    )?;
    out.flush()?;
    Ok(counts)
}

/// Writes `manifest.json` and `run_results.json` of `project` into `dir`; one count of both.
pub(crate) fn write_dir(project: &Project, dir: &Path) -> io::Result<Counts> {
    let graph = graph(project);
    let mut counts = write_graph(
        project,
        &graph,
        std::fs::File::create(dir.join("manifest.json"))?,
    )?;
    let results = write_results(&graph, std::fs::File::create(dir.join("run_results.json"))?)?;
    counts.results = results.results;
    counts.built = results.built;
    counts.not_built = results.not_built;
    Ok(counts)
}
