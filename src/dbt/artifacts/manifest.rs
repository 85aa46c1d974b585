//! `manifest.json`, reduced to what target selection reads: nodes' relation and materialisation,
//! their parents, and declared exposures. Every other field (SQL, columns, macros, docs…) is
//! skipped while parsing, without being built, so what is kept is little more than the nodes'
//! names (docs/BENCHMARKS.md §6 measures a 100 MB manifest).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::{ArtifactError, shape_message};

/// The parts of a manifest we use. Unknown top-level keys are skipped without being built.
#[derive(Debug, Default, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub nodes: HashMap<String, Node>,
    #[serde(default)]
    pub exposures: HashMap<String, Exposure>,
    /// Metrics, semantic models and saved queries hold no data: an exposure on them reads the
    /// models below them.
    #[serde(default)]
    pub metrics: HashMap<String, Derived>,
    #[serde(default)]
    pub semantic_models: HashMap<String, Derived>,
    #[serde(default)]
    pub saved_queries: HashMap<String, Derived>,
    /// First-order parents; used when a node's own `depends_on` is missing.
    #[serde(default)]
    pub parent_map: HashMap<String, Vec<String>>,
}

/// A model, seed, snapshot (or test, analysis…) node.
#[derive(Debug, Default, Deserialize)]
pub struct Node {
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub relation_name: Option<String>,
    #[serde(default)]
    pub config: NodeConfig,
    #[serde(default)]
    pub depends_on: DependsOn,
}

/// A metric, semantic model or saved query: only its parents are kept.
#[derive(Debug, Default, Deserialize)]
pub struct Derived {
    #[serde(default)]
    pub depends_on: DependsOn,
}

#[derive(Debug, Default, Deserialize)]
pub struct NodeConfig {
    #[serde(default)]
    pub materialized: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DependsOn {
    #[serde(default)]
    pub nodes: Vec<String>,
}

/// A declared exposure (only YAML-declared ones are in the manifest).
#[derive(Debug, Default, Deserialize)]
pub struct Exposure {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// Only `meta.tableau` is kept.
    #[serde(default)]
    pub meta: Meta,
    /// dbt 1.10 moves `meta` under `config`; read both.
    #[serde(default)]
    pub config: ExposureConfig,
    #[serde(default)]
    pub depends_on: DependsOn,
}

#[derive(Debug, Default, Deserialize)]
pub struct ExposureConfig {
    #[serde(default)]
    pub meta: Meta,
}

/// `meta`, of which only the `tableau` key is kept (meta is free-form and may be large).
#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub tableau: Option<serde_json::Value>,
}

impl Node {
    /// How dbt materialises it (`view`, `table`, `incremental`, `ephemeral`, …).
    pub fn materialized(&self) -> &str {
        self.config.materialized.as_deref().unwrap_or("")
    }

    /// A view or ephemeral model holds no data of its own: its readers see its upstream's data.
    pub fn passes_through(&self) -> bool {
        self.resource_type == "model" && matches!(self.materialized(), "view" | "ephemeral")
    }

    /// `database.schema.alias`, lower-cased without quotes, when the node has a relation.
    pub fn relation(&self) -> Option<String> {
        if self.materialized() == "ephemeral" {
            return None;
        }
        let clean = |part: &str| {
            part.chars()
                .filter(|c| !matches!(c, '"' | '`' | '[' | ']'))
                .collect::<String>()
                .to_lowercase()
        };
        match (&self.database, &self.schema, &self.alias) {
            (database, Some(schema), Some(alias)) => Some(
                database
                    .iter()
                    .map(|d| clean(d))
                    .chain([clean(schema), clean(alias)])
                    .collect::<Vec<_>>()
                    .join("."),
            ),
            _ => self.relation_name.as_deref().map(clean),
        }
    }
}

impl Exposure {
    /// `meta.tableau`, from `config.meta` (dbt 1.10+) or `meta`.
    pub fn tableau_meta(&self) -> Option<&serde_json::Value> {
        self.config
            .meta
            .tableau
            .as_ref()
            .or(self.meta.tableau.as_ref())
    }
}

impl Manifest {
    /// Reads a manifest from a stream (a file or a download), skipping every unused field.
    pub fn from_reader(reader: impl Read, what: &str) -> Result<Manifest, ArtifactError> {
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 16, reader)).map_err(|err| {
            ArtifactError::Shape {
                what: what.to_string(),
                kind: "manifest",
                message: shape_message(&err),
            }
        })
    }

    /// Reads a manifest already in memory.
    pub fn from_slice(bytes: &[u8], what: &str) -> Result<Manifest, ArtifactError> {
        serde_json::from_slice(bytes).map_err(|err| ArtifactError::Shape {
            what: what.to_string(),
            kind: "manifest",
            message: shape_message(&err),
        })
    }

    /// Reads `path` whole, then parses it: serde_json parses a slice about twice as fast as a
    /// reader (which it takes byte by byte), for the file's size in memory while parsing.
    pub fn from_path(path: &Path) -> Result<Manifest, ArtifactError> {
        let what = path.display().to_string();
        let bytes = read_file(path, &what)?;
        Self::from_slice(&bytes, &what)
    }

    fn derived(&self, unique_id: &str) -> Option<&Derived> {
        self.metrics
            .get(unique_id)
            .or_else(|| self.semantic_models.get(unique_id))
            .or_else(|| self.saved_queries.get(unique_id))
    }

    /// Whether readers of `unique_id` see its upstream's data: a view, an ephemeral model, a
    /// metric, a semantic model or a saved query.
    pub fn passes_through(&self, unique_id: &str) -> bool {
        match self.nodes.get(unique_id) {
            Some(node) => node.passes_through(),
            None => self.derived(unique_id).is_some(),
        }
    }

    /// The first-order parents of a node: its `depends_on.nodes`, else the `parent_map` entry.
    pub fn parents(&self, unique_id: &str) -> &[String] {
        let own = match self.nodes.get(unique_id) {
            Some(node) => Some(&node.depends_on.nodes),
            None => self.derived(unique_id).map(|d| &d.depends_on.nodes),
        };
        match own {
            Some(nodes) if !nodes.is_empty() => nodes,
            _ => self
                .parent_map
                .get(unique_id)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        }
    }
}

/// The bytes of an artifact file (the run_results too).
pub(super) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, ArtifactError> {
    std::fs::read(path).map_err(|err| ArtifactError::Read {
        what: what.to_string(),
        message: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_fields_used_and_skips_the_rest() {
        let text = r#"{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"},
          "nodes":{"model.shop.fct_orders":{"resource_type":"model","database":"ANALYTICS","schema":"MARTS",
            "alias":"fct_orders","relation_name":"ANALYTICS.MARTS.fct_orders","raw_code":"select 1",
            "columns":{"id":{"name":"id"}},"config":{"materialized":"table","tags":[]},
            "depends_on":{"nodes":["model.shop.stg_orders"],"macros":[]}},
           "model.shop.int_x":{"resource_type":"model","database":"A","schema":"B","alias":"int_x",
            "relation_name":null,"config":{"materialized":"ephemeral"}}},
          "macros":{"macro.x":{"macro_sql":"…"}},
          "exposures":{"exposure.shop.orders_dash":{"name":"orders_dash","type":"dashboard",
            "url":"https://10ax.online.tableau.com/#/site/acme/workbooks/1234/views","owner":{"name":"BI","email":null},
            "depends_on":{"nodes":["model.shop.fct_orders"]},"meta":{"tableau":{"workbook":"Finance/Orders"},"owner_team":"x"}}},
          "parent_map":{"model.shop.fct_orders":["model.shop.stg_orders"]}}"#;
        let manifest = Manifest::from_slice(text.as_bytes(), "test").expect("parses");
        let node = &manifest.nodes["model.shop.fct_orders"];
        assert_eq!(
            node.relation().as_deref(),
            Some("analytics.marts.fct_orders")
        );
        assert_eq!(
            manifest.parents("model.shop.fct_orders"),
            ["model.shop.stg_orders"]
        );
        assert!(manifest.nodes["model.shop.int_x"].passes_through());
        assert_eq!(manifest.nodes["model.shop.int_x"].relation(), None);
        let exposure = &manifest.exposures["exposure.shop.orders_dash"];
        assert_eq!(
            exposure.tableau_meta(),
            Some(&serde_json::json!({"workbook": "Finance/Orders"}))
        );
    }

    #[test]
    fn a_broken_manifest_is_a_shape_error_without_its_text() {
        let err = Manifest::from_slice(br#"{"nodes": {"secret-value": 3}}"#, "m.json")
            .expect_err("nodes must be objects");
        let message = err.to_string();
        assert!(message.contains("m.json"), "{message}");
        assert!(!message.contains("secret-value"), "{message}");
    }
}
