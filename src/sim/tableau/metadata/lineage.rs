//! The lineage graph behind the Metadata API, built once at start-up from the REST content and
//! `SimMetadata`: every node's scalar fields (as Tableau names them) and its up- and downstream
//! neighbours, derived in one place so every query sees the same lineage.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::super::model::{SimConfig, SimItem};
use super::super::state::stable_luid;
use super::config::{SimCustomSql, SimEmbeddedDatasource, SimTable};

/// When every extract of the sample was last refreshed (a fixed time keeps answers stable).
const EXTRACT_REFRESHED_AT: &str = "2026-01-15T05:00:00Z";
const CREATED_AT: &str = "2025-06-01T09:30:00Z";

/// One object of the graph; the index is into the matching `Graph` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Node {
    Table(usize),
    CustomSql(usize),
    Published(usize),
    Embedded(usize),
    Workbook(usize),
    Database(usize),
}

/// The entity kinds a query can list, with their GraphQL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Table,
    CustomSql,
    Published,
    Embedded,
    Workbook,
}

impl Kind {
    pub(super) const ALL: [Kind; 5] = [
        Kind::Table,
        Kind::CustomSql,
        Kind::Published,
        Kind::Embedded,
        Kind::Workbook,
    ];

    /// The GraphQL object type.
    pub(super) fn type_name(self) -> &'static str {
        match self {
            Kind::Table => "DatabaseTable",
            Kind::CustomSql => "CustomSQLTable",
            Kind::Published => "PublishedDatasource",
            Kind::Embedded => "EmbeddedDatasource",
            Kind::Workbook => "Workbook",
        }
    }

    /// The root list field, e.g. `databaseTables`; its connection field adds `Connection`.
    pub(super) fn root_field(self) -> &'static str {
        match self {
            Kind::Table => "databaseTables",
            Kind::CustomSql => "customSQLTables",
            Kind::Published => "publishedDatasources",
            Kind::Embedded => "embeddedDatasources",
            Kind::Workbook => "workbooks",
        }
    }

    /// The connection type, e.g. `DatabaseTablesConnection`.
    pub(super) fn connection_type(self) -> &'static str {
        match self {
            Kind::Table => "DatabaseTablesConnection",
            Kind::CustomSql => "CustomSQLTablesConnection",
            Kind::Published => "PublishedDatasourcesConnection",
            Kind::Embedded => "EmbeddedDatasourcesConnection",
            Kind::Workbook => "WorkbooksConnection",
        }
    }
}

impl Node {
    pub(super) fn type_name(self) -> &'static str {
        match self {
            Node::Table(_) => "DatabaseTable",
            Node::CustomSql(_) => "CustomSQLTable",
            Node::Published(_) => "PublishedDatasource",
            Node::Embedded(_) => "EmbeddedDatasource",
            Node::Workbook(_) => "Workbook",
            // The one `Database` implementer the simulator serves.
            Node::Database(_) => "DatabaseServer",
        }
    }
}

struct Database {
    name: String,
    connection_type: String,
}

struct Published {
    item: SimItem,
    project: Option<String>,
    has_extracts: bool,
    tables: Vec<usize>,
    custom_sql: Vec<usize>,
}

struct Embedded {
    source: SimEmbeddedDatasource,
    workbook: usize,
    tables: Vec<usize>,
    published: Vec<usize>,
    custom_sql: Vec<usize>,
}

struct Workbook {
    item: SimItem,
    project: Option<String>,
}

/// All lineage, read-only while the server runs.
pub(super) struct Graph {
    tables: Vec<SimTable>,
    table_database: Vec<usize>,
    databases: Vec<Database>,
    custom_sql: Vec<SimCustomSql>,
    published: Vec<Published>,
    embedded: Vec<Embedded>,
    workbooks: Vec<Workbook>,
    transitive: bool,
}

fn positions<T>(ids: &[String], list: &[T], id_of: impl Fn(&T) -> &str) -> Vec<usize> {
    ids.iter()
        .filter_map(|id| list.iter().position(|x| id_of(x) == id))
        .collect()
}

impl Graph {
    /// Build from a config that passed `config::validate`.
    pub(super) fn new(config: &SimConfig) -> Self {
        let meta = &config.metadata;
        let project_name = |item: &SimItem| {
            item.project_id.as_ref().and_then(|id| {
                config
                    .projects
                    .iter()
                    .find(|p| &p.id == id)
                    .map(|p| p.name.clone())
            })
        };
        let mut databases: Vec<Database> = Vec::new();
        let table_database = meta
            .tables
            .iter()
            .map(|t| {
                let found = databases
                    .iter()
                    .position(|d| d.name == t.database && d.connection_type == t.connection_type);
                found.unwrap_or_else(|| {
                    databases.push(Database {
                        name: t.database.clone(),
                        connection_type: t.connection_type.clone(),
                    });
                    databases.len() - 1
                })
            })
            .collect();
        let published = config
            .datasources
            .iter()
            .map(|item| {
                let lineage = meta.published.iter().find(|l| l.datasource_id == item.id);
                Published {
                    item: item.clone(),
                    project: project_name(item),
                    has_extracts: lineage.map_or(item.has_extracts, |l| l.has_extracts),
                    tables: lineage
                        .map_or_else(Vec::new, |l| positions(&l.tables, &meta.tables, |t| &t.id)),
                    custom_sql: lineage.map_or_else(Vec::new, |l| {
                        positions(&l.custom_sql, &meta.custom_sql, |c| &c.id)
                    }),
                }
            })
            .collect();
        let embedded = meta
            .embedded
            .iter()
            .filter_map(|e| {
                Some(Embedded {
                    source: e.clone(),
                    // An embedded data source of a workbook the config does not have is left out.
                    workbook: config
                        .workbooks
                        .iter()
                        .position(|w| w.id == e.workbook_id)?,
                    tables: positions(&e.tables, &meta.tables, |t| &t.id),
                    published: positions(&e.published, &config.datasources, |d| &d.id),
                    custom_sql: positions(&e.custom_sql, &meta.custom_sql, |c| &c.id),
                })
            })
            .collect();
        let workbooks = config
            .workbooks
            .iter()
            .map(|item| Workbook {
                item: item.clone(),
                project: project_name(item),
            })
            .collect();
        Graph {
            tables: meta.tables.clone(),
            table_database,
            databases,
            custom_sql: meta.custom_sql.clone(),
            published,
            embedded,
            workbooks,
            transitive: meta.transitive_downstream,
        }
    }

    /// Every node of a kind.
    pub(super) fn all(&self, kind: Kind) -> Vec<Node> {
        match kind {
            Kind::Table => (0..self.tables.len()).map(Node::Table).collect(),
            Kind::CustomSql => (0..self.custom_sql.len()).map(Node::CustomSql).collect(),
            Kind::Published => (0..self.published.len()).map(Node::Published).collect(),
            Kind::Embedded => (0..self.embedded.len()).map(Node::Embedded).collect(),
            Kind::Workbook => (0..self.workbooks.len()).map(Node::Workbook).collect(),
        }
    }

    /// Whether a session on the site with this contentUrl sees the node. Tables, custom SQL and
    /// databases are external assets: every site sees them.
    pub(super) fn visible(&self, node: Node, site: &str) -> bool {
        match node {
            Node::Published(i) => self.published[i].item.site == site,
            Node::Workbook(i) => self.workbooks[i].item.site == site,
            Node::Embedded(i) => self.workbooks[self.embedded[i].workbook].item.site == site,
            Node::Table(_) | Node::CustomSql(_) | Node::Database(_) => true,
        }
    }

    /// A scalar field: `None` = the node has no such scalar; `Some(Value::Null)` = null.
    pub(super) fn scalar(&self, node: Node, field: &str) -> Option<Value> {
        let common = |id: String, name: Option<&str>| match field {
            "id" => Some(json!(id)),
            "name" => Some(json!(name)),
            _ => None,
        };
        let extract_time = |has: bool| json!(has.then_some(EXTRACT_REFRESHED_AT));
        match node {
            Node::Table(i) => {
                let t = &self.tables[i];
                match field {
                    "id" => Some(json!(t.id)),
                    "luid" => Some(json!(stable_luid(&format!("table:{}", t.id)))),
                    "name" => Some(json!(t.name)),
                    "schema" => Some(json!(t.schema)),
                    // As Tableau shows a table with a schema (docs/metadata-sim.md).
                    "fullName" => Some(json!(format!("[{}].[{}]", t.schema, t.name))),
                    "connectionType" => Some(json!(t.connection_type)),
                    "isEmbedded" => Some(json!(false)),
                    "isCertified" | "hasActiveWarning" => Some(json!(false)),
                    "description" | "projectName" => Some(Value::Null),
                    _ => None,
                }
            }
            Node::CustomSql(i) => {
                let c = &self.custom_sql[i];
                let database = self.custom_sql_database(i);
                match field {
                    "id" => Some(json!(c.id)),
                    // Tableau names every custom SQL table so.
                    "name" => Some(json!("Custom SQL Query")),
                    "query" => Some(json!(c.query)),
                    "isUnsupportedCustomSql" => Some(json!(c.unsupported)),
                    "isEmbedded" => Some(json!(false)),
                    "connectionType" => Some(json!(
                        database.map(|d| self.databases[d].connection_type.as_str())
                    )),
                    "description" => Some(Value::Null),
                    _ => None,
                }
            }
            Node::Published(i) => {
                let p = &self.published[i];
                match field {
                    "id" => Some(json!(stable_luid(&format!("published:{}", p.item.id)))),
                    "luid" => Some(json!(p.item.id)),
                    "name" => Some(json!(p.item.name)),
                    "hasExtracts" => Some(json!(p.has_extracts)),
                    "extractLastRefreshTime" | "extractLastUpdateTime" => {
                        Some(extract_time(p.has_extracts))
                    }
                    "extractLastIncrementalUpdateTime" | "description" => Some(Value::Null),
                    "containsUnsupportedCustomSql" => Some(json!(
                        p.custom_sql.iter().any(|c| self.custom_sql[*c].unsupported)
                    )),
                    "projectName" => Some(json!(p.project)),
                    "isCertified" | "hasActiveWarning" => Some(json!(false)),
                    "createdAt" | "updatedAt" => Some(json!(CREATED_AT)),
                    _ => None,
                }
            }
            Node::Embedded(i) => {
                let e = &self.embedded[i];
                match field {
                    "hasExtracts" => Some(json!(e.source.has_extracts)),
                    "extractLastRefreshTime" | "extractLastUpdateTime" => {
                        Some(extract_time(e.source.has_extracts))
                    }
                    "extractLastIncrementalUpdateTime" => Some(Value::Null),
                    "containsUnsupportedCustomSql" => Some(json!(
                        e.custom_sql.iter().any(|c| self.custom_sql[*c].unsupported)
                    )),
                    "createdAt" | "updatedAt" => Some(json!(CREATED_AT)),
                    _ => common(e.source.id.clone(), Some(&e.source.name)),
                }
            }
            Node::Workbook(i) => {
                let w = &self.workbooks[i];
                match field {
                    "id" => Some(json!(stable_luid(&format!("workbook:{}", w.item.id)))),
                    "luid" => Some(json!(w.item.id)),
                    "name" => Some(json!(w.item.name)),
                    "projectName" | "containerName" => Some(json!(w.project)),
                    "projectLuid" => Some(json!(w.item.project_id)),
                    "description" => Some(Value::Null),
                    "containsUnsupportedCustomSql" => Some(json!(
                        self.embedded_of(i)
                            .flat_map(|e| &self.embedded[e].custom_sql)
                            .any(|c| self.custom_sql[*c].unsupported)
                    )),
                    "createdAt" | "updatedAt" => Some(json!(CREATED_AT)),
                    _ => None,
                }
            }
            Node::Database(i) => {
                let d = &self.databases[i];
                match field {
                    "id" => Some(json!(stable_luid(&format!(
                        "database:{}:{}",
                        d.connection_type, d.name
                    )))),
                    "luid" => Some(json!(stable_luid(&format!(
                        "database-luid:{}:{}",
                        d.connection_type, d.name
                    )))),
                    "name" => Some(json!(d.name)),
                    "connectionType" => Some(json!(d.connection_type)),
                    "isEmbedded" | "isCertified" | "hasActiveWarning" => Some(json!(false)),
                    "description" | "hostName" | "port" | "service" => Some(Value::Null),
                    _ => None,
                }
            }
        }
    }

    /// The database a custom SQL query runs on: that of its first resolved table (none when
    /// Tableau could not parse it).
    fn custom_sql_database(&self, i: usize) -> Option<usize> {
        let first = self.custom_sql[i].tables.first()?;
        let table = self.tables.iter().position(|t| &t.id == first)?;
        Some(self.table_database[table])
    }

    fn embedded_of(&self, workbook: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.embedded.len()).filter(move |e| self.embedded[*e].workbook == workbook)
    }

    /// Tables a data source reads directly: its tables and those its custom SQL resolved to.
    fn direct_tables(&self, tables: &[usize], custom_sql: &[usize]) -> BTreeSet<usize> {
        let mut all: BTreeSet<usize> = tables.iter().copied().collect();
        for c in custom_sql {
            for id in &self.custom_sql[*c].tables {
                all.extend(self.tables.iter().position(|t| &t.id == id));
            }
        }
        all
    }

    fn published_tables(&self, p: usize) -> BTreeSet<usize> {
        let p = &self.published[p];
        self.direct_tables(&p.tables, &p.custom_sql)
    }

    /// An embedded data source's upstream tables: direct, plus (transitive mode) those behind the
    /// published data sources it reads.
    fn embedded_tables(&self, e: usize) -> BTreeSet<usize> {
        let source = &self.embedded[e];
        let mut all = self.direct_tables(&source.tables, &source.custom_sql);
        if self.transitive {
            for p in &source.published {
                all.extend(self.published_tables(*p));
            }
        }
        all
    }

    /// Workbooks downstream of whatever `reads` says an embedded or published data source reads.
    fn workbooks_reading(
        &self,
        embedded_reads: impl Fn(&Embedded) -> bool,
        published_reads: impl Fn(usize) -> bool,
    ) -> Vec<Node> {
        let workbooks: BTreeSet<usize> = self
            .embedded
            .iter()
            .filter(|e| {
                embedded_reads(e)
                    || (self.transitive && e.published.iter().any(|p| published_reads(*p)))
            })
            .map(|e| e.workbook)
            .collect();
        workbooks.into_iter().map(Node::Workbook).collect()
    }

    /// A list field's nodes, `None` if the node has no such list.
    pub(super) fn list(&self, node: Node, field: &str) -> Option<Vec<Node>> {
        let tables = |set: BTreeSet<usize>| set.into_iter().map(Node::Table).collect();
        let published_where = |reads: &dyn Fn(usize) -> bool| {
            (0..self.published.len())
                .filter(|p| reads(*p))
                .map(Node::Published)
                .collect()
        };
        Some(match (node, field) {
            (Node::Table(t), "downstreamDatasources") => {
                published_where(&|p| self.published_tables(p).contains(&t))
            }
            (Node::Table(t), "downstreamWorkbooks") => self.workbooks_reading(
                |e| self.direct_tables(&e.tables, &e.custom_sql).contains(&t),
                |p| self.published_tables(p).contains(&t),
            ),
            (Node::Table(t), "referencedByQueries") => {
                let id = &self.tables[t].id;
                (0..self.custom_sql.len())
                    .filter(|c| self.custom_sql[*c].tables.contains(id))
                    .map(Node::CustomSql)
                    .collect()
            }
            (Node::Table(_), "upstreamTables") => Vec::new(),
            (Node::CustomSql(c), "tables" | "upstreamTables") => {
                tables(self.direct_tables(&[], &[c]))
            }
            (Node::CustomSql(c), "downstreamDatasources") => {
                published_where(&|p| self.published[p].custom_sql.contains(&c))
            }
            (Node::CustomSql(c), "downstreamWorkbooks") => self.workbooks_reading(
                |e| e.custom_sql.contains(&c),
                |p| self.published[p].custom_sql.contains(&c),
            ),
            (Node::Published(p), "upstreamTables") => tables(self.published_tables(p)),
            (Node::Published(_), "upstreamDatasources" | "downstreamDatasources") => Vec::new(),
            (Node::Published(p), "downstreamWorkbooks") => {
                let workbooks: BTreeSet<usize> = self
                    .embedded
                    .iter()
                    .filter(|e| e.published.contains(&p))
                    .map(|e| e.workbook)
                    .collect();
                workbooks.into_iter().map(Node::Workbook).collect()
            }
            (Node::Embedded(e), "upstreamTables") => tables(self.embedded_tables(e)),
            (Node::Embedded(e), "upstreamDatasources" | "parentPublishedDatasources") => self
                .embedded[e]
                .published
                .iter()
                .map(|p| Node::Published(*p))
                .collect(),
            (Node::Embedded(e), "downstreamWorkbooks") => {
                vec![Node::Workbook(self.embedded[e].workbook)]
            }
            (Node::Workbook(w), "embeddedDatasources") => {
                self.embedded_of(w).map(Node::Embedded).collect()
            }
            (Node::Workbook(w), "upstreamDatasources") => {
                let all: BTreeSet<usize> = self
                    .embedded_of(w)
                    .flat_map(|e| self.embedded[e].published.clone())
                    .collect();
                all.into_iter().map(Node::Published).collect()
            }
            (Node::Workbook(w), "upstreamTables") => {
                let all: BTreeSet<usize> = self
                    .embedded_of(w)
                    .flat_map(|e| self.embedded_tables(e))
                    .collect();
                tables(all)
            }
            (Node::Database(d), "tables") => (0..self.tables.len())
                .filter(|t| self.table_database[*t] == d)
                .map(Node::Table)
                .collect(),
            _ => return None,
        })
    }

    /// A single-object field: `None` if the node has no such field, `Some(None)` for null.
    pub(super) fn one(&self, node: Node, field: &str) -> Option<Option<Node>> {
        match (node, field) {
            (Node::Table(t), "database") => Some(Some(Node::Database(self.table_database[t]))),
            (Node::CustomSql(c), "database") => {
                Some(self.custom_sql_database(c).map(Node::Database))
            }
            (Node::Embedded(e), "workbook") => {
                Some(Some(Node::Workbook(self.embedded[e].workbook)))
            }
            _ => None,
        }
    }
}
