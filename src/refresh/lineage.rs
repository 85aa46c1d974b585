//! `--select lineage`: the relations this dbt run changed, found among Tableau's tables with the
//! Metadata API, and the rules that turn what reads them into targets.
//!
//! - A relation counts when its node was built in this run, or it is a view whose upstream was
//!   built (through views and ephemeral models; a table that was not built stops the walk).
//! - A published data source with an extract that reads a changed table is refreshed.
//! - A workbook is refreshed only when one of its embedded data sources has an extract and reads a
//!   changed table directly (`upstreamTables`), confirmed by a `workbooks` query: Tableau's
//!   `downstreamWorkbooks` may include workbooks that read through a published data source, which
//!   refreshing that data source covers (and refreshing the workbook would answer 409090).
//! - Live content, custom SQL Tableau could not parse, and models nothing in Tableau reads are
//!   reported as considered, not refreshed.
//!
//! Round trips: the tables and the custom SQL queries are asked for together, then the workbooks:
//! two, whatever the number of models (plus pages).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::report::Considered;
use crate::dbt::artifacts::selection::{Built, reach};
use crate::dbt::artifacts::{ExposureVerdict, Manifest};
use crate::inputs::{self, Naming};
use crate::tableau::Kind;
use crate::tableau::metadata::names::RelationIndex;
use crate::tableau::metadata::queries::{CustomSql, Table, Workbook};
use crate::tableau::metadata::{Client, MetadataError, Relation, fetch, names};

/// Node kinds whose relation dbt writes.
const RELATION_KINDS: [&str; 3] = ["model", "seed", "snapshot"];

/// The relations this run changed, read from the artifacts before signing in.
#[derive(Debug, Clone, Default)]
pub struct Changed {
    pub relations: Vec<Relation>,
    /// Views among them, with the built nodes they read (for messages).
    pub views: BTreeMap<String, Vec<String>>,
    /// Relations whose node the run tried and did not build, with the status.
    pub not_built: Vec<(String, String)>,
}

/// The relations of built nodes, and of views downstream of built nodes.
pub fn changed_relations(manifest: &Manifest, built: &Built) -> Changed {
    let mut changed = Changed::default();
    let mut ids: Vec<&String> = manifest.nodes.keys().collect();
    ids.sort();
    for id in ids {
        let node = &manifest.nodes[id];
        if !RELATION_KINDS.contains(&node.resource_type.as_str()) || node.relation().is_none() {
            continue;
        }
        let (Some(schema), Some(alias)) = (node.schema.as_deref(), node.alias.as_deref()) else {
            continue;
        };
        let relation = Relation::new(node.database.as_deref(), schema, alias);
        if built.nodes.contains(id) {
            changed.relations.push(relation);
        } else if node.passes_through() {
            if let ExposureVerdict::Affected { because, .. } =
                reach(manifest, built, std::slice::from_ref(id))
            {
                changed.views.insert(relation.label.clone(), because);
                changed.relations.push(relation);
            }
        } else if let Some(status) = built.not_built.get(id) {
            changed.not_built.push((relation.label, status.clone()));
        }
    }
    changed
}

/// A Tableau item lineage selects, already identified by its LUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: Kind,
    pub luid: String,
    pub name: String,
    pub project: Option<String>,
    /// `lineage:db.schema.table`, sorted.
    pub reasons: Vec<String>,
}

/// What lineage selected and what it considered.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub items: Vec<Item>,
    pub considered: Vec<Considered>,
    pub warnings: Vec<String>,
    /// Metadata API requests sent.
    pub requests: usize,
}

/// Asks the Metadata API and applies the rules.
pub async fn follow(client: &Client<'_, '_>, changed: &Changed) -> Result<Outcome, MetadataError> {
    let (tables, custom_sql) = tokio::join!(
        fetch::tables(client, &changed.relations),
        fetch::custom_sql(client)
    );
    let reached = first_pass(&changed.relations, &tables?, &custom_sql?);
    let luids: Vec<String> = reached.workbooks.keys().cloned().collect();
    let workbooks = if luids.is_empty() {
        Vec::new()
    } else {
        fetch::workbooks(client, &luids).await?
    };
    let mut outcome = second_pass(changed, reached, &workbooks);
    outcome.warnings = client.warnings();
    outcome.requests = client.requests();
    Ok(outcome)
}

/// A published data source some changed table reaches.
#[derive(Debug, Clone, Default)]
struct Published {
    name: String,
    project: Option<String>,
    has_extracts: bool,
    reasons: BTreeSet<String>,
    /// Ids of the changed tables it reads.
    tables: BTreeSet<String>,
}

/// What the tables and custom SQL answers reach.
#[derive(Debug, Default)]
struct Reached {
    /// Table id → the changed relations it is.
    tables: HashMap<String, BTreeSet<String>>,
    published: BTreeMap<String, Published>,
    /// Workbook LUID → (name, the relations that led to it).
    workbooks: BTreeMap<String, (String, BTreeSet<String>)>,
    /// Relations something in Tableau reads.
    read: BTreeSet<String>,
    considered: Vec<Considered>,
}

impl Reached {
    /// Records what reads `table` (or a custom SQL query), which is the changed tables `ids`.
    fn reach(&mut self, labels: &BTreeSet<String>, ids: &BTreeSet<String>, table: &Table) {
        for datasource in &table.downstream_datasources {
            let Some(luid) = datasource.published_luid() else {
                continue;
            };
            self.read.extend(labels.iter().cloned());
            let entry = self.published.entry(luid.to_string()).or_default();
            entry.name = datasource.name.clone().unwrap_or_else(|| luid.to_string());
            entry.project = datasource.project_name.clone();
            entry.has_extracts |= datasource.has_extracts == Some(true);
            entry.reasons.extend(labels.iter().cloned());
            entry.tables.extend(ids.iter().cloned());
            // Workbooks that read through it: confirmed (and explained) with the others.
            for workbook in &datasource.downstream_workbooks {
                self.candidate(workbook.luid.as_deref(), workbook.name.as_deref(), labels);
            }
        }
        for workbook in &table.downstream_workbooks {
            self.read.extend(labels.iter().cloned());
            self.candidate(workbook.luid.as_deref(), workbook.name.as_deref(), labels);
        }
    }

    fn candidate(&mut self, luid: Option<&str>, name: Option<&str>, labels: &BTreeSet<String>) {
        let Some(luid) = luid.filter(|l| !l.is_empty()) else {
            return;
        };
        let entry = self
            .workbooks
            .entry(luid.to_string())
            .or_insert_with(|| (name.unwrap_or(luid).to_string(), BTreeSet::new()));
        entry.1.extend(labels.iter().cloned());
    }
}

/// The changed relations each table is.
fn matches(index: &RelationIndex, table: &Table) -> BTreeSet<String> {
    index.labels(&table.name())
}

fn first_pass(relations: &[Relation], tables: &[Table], custom_sql: &[CustomSql]) -> Reached {
    let mut reached = Reached::default();
    let index = RelationIndex::new(relations);
    for table in tables {
        let labels = matches(&index, table);
        if labels.is_empty() {
            continue;
        }
        reached.tables.insert(table.id.clone(), labels.clone());
        reached.reach(&labels, &BTreeSet::from([table.id.clone()]), table);
    }
    for sql in custom_sql {
        let mut labels = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for table in &sql.tables {
            let found = matches(&index, table);
            if !found.is_empty() {
                reached.tables.insert(table.id.clone(), found.clone());
                ids.insert(table.id.clone());
                labels.extend(found);
            }
        }
        if !labels.is_empty() {
            // Tableau resolved the query's tables: what reads the query reads them.
            let through = Table {
                downstream_datasources: sql.downstream_datasources.clone(),
                downstream_workbooks: sql.downstream_workbooks.clone(),
                ..Table::default()
            };
            reached.reach(&labels, &ids, &through);
        } else if sql.unsupported == Some(true) {
            let mentioned = mentioned(relations, sql.query.as_deref().unwrap_or(""));
            if !mentioned.is_empty() {
                let naming = Naming::from_env();
                reached.considered.push(Considered {
                    subject: format!("custom SQL in {}", readers(sql)),
                    reason: format!(
                        "custom SQL lineage cannot see which tables it reads (Tableau could not \
                         parse it); it mentions {}. To refresh it after each run, list it in {} \
                         and add listed to {}",
                        mentioned.join(", "),
                        naming.list(&[inputs::WORKBOOKS, inputs::DATASOURCES], "or"),
                        naming.of(&inputs::SELECT)
                    ),
                });
            }
        }
    }
    reached
}

/// The names of what reads a custom SQL query.
fn readers(sql: &CustomSql) -> String {
    let mut names: Vec<String> = sql
        .downstream_datasources
        .iter()
        .filter(|d| d.published_luid().is_some())
        .filter_map(|d| d.name.clone().map(|n| format!("data source {n}")))
        .chain(
            sql.downstream_workbooks
                .iter()
                .filter_map(|w| w.name.clone().map(|n| format!("workbook {n}"))),
        )
        .collect();
    names.dedup();
    if names.is_empty() {
        sql.name.clone().unwrap_or_else(|| sql.id.clone())
    } else {
        names.join(", ")
    }
}

/// Relations whose table name appears as a word in `query` (any case).
fn mentioned(relations: &[Relation], query: &str) -> Vec<String> {
    let text = query.to_lowercase();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out: Vec<String> = relations
        .iter()
        .filter(|relation| {
            let name = names::key(&relation.name);
            !name.is_empty()
                && text.match_indices(&name).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + name.len()..].chars().next();
                    !before.is_some_and(word) && !after.is_some_and(word)
                })
        })
        .map(|relation| relation.name.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn lineage_reasons(labels: &BTreeSet<String>) -> Vec<String> {
    labels
        .iter()
        .map(|label| format!("lineage:{label}"))
        .collect()
}

fn list(labels: &BTreeSet<String>) -> String {
    labels.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn second_pass(changed: &Changed, reached: Reached, workbooks: &[Workbook]) -> Outcome {
    let mut outcome = Outcome {
        considered: reached.considered.clone(),
        ..Outcome::default()
    };
    for (luid, published) in &reached.published {
        if published.has_extracts {
            outcome.items.push(Item {
                kind: Kind::Datasource,
                luid: luid.clone(),
                name: published.name.clone(),
                project: published.project.clone(),
                reasons: lineage_reasons(&published.reasons),
            });
        } else {
            outcome.considered.push(Considered {
                subject: format!("data source {}", published.name),
                reason: format!(
                    "a live connection to {}: nothing to refresh",
                    list(&published.reasons)
                ),
            });
        }
    }
    let by_luid: HashMap<&str, &Workbook> =
        workbooks.iter().map(|w| (w.luid.as_str(), w)).collect();
    for (luid, (name, led_by)) in &reached.workbooks {
        let Some(workbook) = by_luid.get(luid.as_str()) else {
            outcome.considered.push(Considered {
                subject: format!("workbook {name}"),
                reason: "Tableau lists it downstream, but the workbooks query did not return it \
                         (not visible to this user?)"
                    .into(),
            });
            continue;
        };
        let name = workbook.name.clone().unwrap_or_else(|| name.clone());
        let mut extract = BTreeSet::new();
        let mut live = BTreeSet::new();
        let mut through: BTreeSet<(String, bool)> = BTreeSet::new();
        for embedded in &workbook.embedded {
            // Tables behind the published data sources it reads are not read directly, even
            // where Tableau lists them among its upstream tables (a transitive answer).
            let behind: BTreeSet<&str> = embedded
                .upstream_datasources
                .iter()
                .filter_map(|d| d.published_luid())
                .filter_map(|luid| reached.published.get(luid))
                .flat_map(|p| p.tables.iter().map(String::as_str))
                .collect();
            let direct: BTreeSet<String> = embedded
                .upstream_tables
                .iter()
                .filter_map(|t| t.id.as_deref())
                .filter(|id| !behind.contains(id))
                .filter_map(|id| reached.tables.get(id))
                .flatten()
                .cloned()
                .collect();
            if embedded.has_extracts == Some(true) {
                extract.extend(direct);
            } else {
                live.extend(direct);
            }
            for upstream in &embedded.upstream_datasources {
                if let Some(published) = upstream
                    .published_luid()
                    .and_then(|l| reached.published.get(l))
                {
                    through.insert((published.name.clone(), published.has_extracts));
                }
            }
        }
        if !extract.is_empty() {
            outcome.items.push(Item {
                kind: Kind::Workbook,
                luid: luid.clone(),
                name,
                project: workbook.project_name.clone(),
                reasons: lineage_reasons(&extract),
            });
            continue;
        }
        let reason = if let Some((source, _)) = through.iter().find(|(_, refreshed)| *refreshed) {
            format!("reads {source}, which is refreshed")
        } else if !live.is_empty() {
            format!("a live connection to {}: nothing to refresh", list(&live))
        } else if let Some((source, _)) = through.iter().next() {
            format!("reads {source}, a live data source: nothing to refresh")
        } else {
            format!(
                "Tableau lists it downstream of {}, but none of its data sources reads a changed \
                 table directly or through a data source refreshed here",
                list(led_by)
            )
        };
        outcome.considered.push(Considered {
            subject: format!("workbook {name}"),
            reason,
        });
    }
    for (label, status) in &changed.not_built {
        outcome.considered.push(Considered {
            subject: format!("model {label}"),
            reason: format!("did not build in this run ({status}): what reads it is not refreshed"),
        });
    }
    let unread: Vec<&str> = changed
        .relations
        .iter()
        .filter(|r| !reached.read.contains(&r.label))
        .map(|r| r.label.as_str())
        .collect();
    if !unread.is_empty() {
        let shown = unread
            .iter()
            .take(10)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = match unread.len() {
            n if n > 10 => format!(" (+{} more)", n - 10),
            _ => String::new(),
        };
        outcome.considered.push(Considered {
            subject: format!(
                "{} of this run",
                crate::plural::count(unread.len(), "model", "models")
            ),
            reason: format!("nothing in Tableau reads them: {shown}{more}"),
        });
    }
    outcome
}

#[cfg(test)]
mod tests;
