//! What the simulated Metadata API knows beyond the REST content: database tables, the lineage of
//! published data sources, the embedded data sources of workbooks, custom SQL; with small builders
//! and the start-up check that every reference resolves.

use std::collections::BTreeSet;

use anyhow::bail;

use super::super::model::SimConfig;

/// The Metadata API's content and switches. `Default`: enabled, empty.
#[derive(Clone, Debug)]
pub struct SimMetadata {
    /// `false` → every query answers `FEATURE_DISABLED` (Tableau Server without metadata services).
    pub enabled: bool,
    pub tables: Vec<SimTable>,
    /// Lineage of data sources in `SimConfig::datasources`.
    pub published: Vec<SimPublishedLineage>,
    /// Embedded data sources of workbooks in `SimConfig::workbooks`.
    pub embedded: Vec<SimEmbeddedDatasource>,
    pub custom_sql: Vec<SimCustomSql>,
    /// UNVERIFIED behaviour: whether lineage reaches past a published data source. The brief asked
    /// whether a table's `downstreamDatasources` lists the embedded data sources that read it only
    /// through a published data source; Tableau's schema types that field
    /// `[PublishedDatasource!]!`, so it never can. What stays open is the same question one hop
    /// on: with `true`, a table's (and custom SQL's) `downstreamWorkbooks` also lists the workbooks
    /// that read it only through a published data source, and an embedded data source's (and its
    /// workbook's) `upstreamTables` also lists the tables behind the published data sources it
    /// reads. Default `false`: both lists hold direct lineage only. See docs/metadata-sim.md.
    pub transitive_downstream: bool,
}

impl Default for SimMetadata {
    fn default() -> Self {
        Self {
            enabled: true,
            tables: Vec::new(),
            published: Vec::new(),
            embedded: Vec::new(),
            custom_sql: Vec::new(),
            transitive_downstream: false,
        }
    }
}

/// A database table as the Metadata API shows it (names as Tableau shows them, e.g. Snowflake's
/// upper-case unquoted names).
#[derive(Clone, Debug)]
pub struct SimTable {
    /// The Metadata API id (not a REST LUID).
    pub id: String,
    pub database: String,
    pub schema: String,
    pub name: String,
    /// e.g. `snowflake`, `postgres`, `bigquery`.
    pub connection_type: String,
}

impl SimTable {
    pub fn new(
        id: impl Into<String>,
        connection_type: impl Into<String>,
        database: impl Into<String>,
        schema: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            database: database.into(),
            schema: schema.into(),
            name: name.into(),
            connection_type: connection_type.into(),
        }
    }
}

/// The lineage of a published data source.
#[derive(Clone, Debug)]
pub struct SimPublishedLineage {
    /// LUID of a `SimConfig::datasources` item.
    pub datasource_id: String,
    pub has_extracts: bool,
    /// `SimTable` ids read directly.
    pub tables: Vec<String>,
    /// `SimCustomSql` ids.
    pub custom_sql: Vec<String>,
}

impl SimPublishedLineage {
    /// A published data source reading `tables` directly.
    pub fn new(datasource_id: impl Into<String>, has_extracts: bool, tables: &[&str]) -> Self {
        Self {
            datasource_id: datasource_id.into(),
            has_extracts,
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
            custom_sql: Vec::new(),
        }
    }

    pub fn with_custom_sql(mut self, ids: &[&str]) -> Self {
        self.custom_sql = ids.iter().map(|t| (*t).to_owned()).collect();
        self
    }
}

/// An embedded data source of a workbook.
#[derive(Clone, Debug)]
pub struct SimEmbeddedDatasource {
    /// The Metadata API id.
    pub id: String,
    pub name: String,
    /// LUID of a `SimConfig::workbooks` item.
    pub workbook_id: String,
    pub has_extracts: bool,
    /// `SimTable` ids read directly.
    pub tables: Vec<String>,
    /// LUIDs of the published data sources it reads.
    pub published: Vec<String>,
    /// `SimCustomSql` ids.
    pub custom_sql: Vec<String>,
}

impl SimEmbeddedDatasource {
    /// An embedded data source reading nothing yet; add with the `reading_*` builders.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        workbook_id: impl Into<String>,
        has_extracts: bool,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            workbook_id: workbook_id.into(),
            has_extracts,
            tables: Vec::new(),
            published: Vec::new(),
            custom_sql: Vec::new(),
        }
    }

    pub fn reading_tables(mut self, ids: &[&str]) -> Self {
        self.tables.extend(ids.iter().map(|t| (*t).to_owned()));
        self
    }

    pub fn reading_published(mut self, luids: &[&str]) -> Self {
        self.published.extend(luids.iter().map(|t| (*t).to_owned()));
        self
    }

    pub fn reading_custom_sql(mut self, ids: &[&str]) -> Self {
        self.custom_sql.extend(ids.iter().map(|t| (*t).to_owned()));
        self
    }
}

/// A custom SQL query of a data source, as the Metadata API shows it (`CustomSQLTable`).
#[derive(Clone, Debug)]
pub struct SimCustomSql {
    pub id: String,
    pub query: String,
    /// Resolved `SimTable` ids; empty (and `unsupported`) when Tableau could not parse the SQL.
    pub tables: Vec<String>,
    pub unsupported: bool,
}

impl SimCustomSql {
    /// SQL that Tableau parsed into these tables.
    pub fn resolved(id: impl Into<String>, query: impl Into<String>, tables: &[&str]) -> Self {
        Self {
            id: id.into(),
            query: query.into(),
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
            unsupported: false,
        }
    }

    /// SQL that Tableau could not parse: no tables, `isUnsupportedCustomSql: true`.
    pub fn unsupported(id: impl Into<String>, query: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            query: query.into(),
            tables: Vec::new(),
            unsupported: true,
        }
    }
}

/// Ids are unique, references between metadata entries resolve, and a lineage agrees with its
/// REST item. Entries whose REST data source or workbook is not in the config are not errors:
/// they are left out of the lineage (so `SimConfig::sample()` with its content replaced still
/// starts), and so are references to published data sources that are not there.
pub(in crate::sim::tableau) fn validate(config: &SimConfig) -> anyhow::Result<()> {
    let meta = &config.metadata;
    let unique = |what: &str, ids: Vec<&str>| -> anyhow::Result<BTreeSet<String>> {
        let set: BTreeSet<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        if set.len() != ids.len() {
            bail!("metadata: two {what} share an id");
        }
        Ok(set)
    };
    let tables = unique(
        "tables",
        meta.tables.iter().map(|t| t.id.as_str()).collect(),
    )?;
    let sql = unique(
        "custom SQL tables",
        meta.custom_sql.iter().map(|c| c.id.as_str()).collect(),
    )?;
    unique(
        "embedded data sources",
        meta.embedded.iter().map(|e| e.id.as_str()).collect(),
    )?;
    unique(
        "published lineages",
        meta.published
            .iter()
            .map(|p| p.datasource_id.as_str())
            .collect(),
    )?;
    let check = |owner: &str, kind: &str, ids: &[String], known: &BTreeSet<String>| match ids
        .iter()
        .find(|id| !known.contains(*id))
    {
        Some(id) => bail!("metadata: {owner} names unknown {kind} {id:?}"),
        None => Ok(()),
    };
    for custom in &meta.custom_sql {
        check(
            &format!("custom SQL {:?}", custom.id),
            "table",
            &custom.tables,
            &tables,
        )?;
        if custom.unsupported && !custom.tables.is_empty() {
            bail!(
                "metadata: unsupported custom SQL {:?} lists tables",
                custom.id
            );
        }
    }
    for lineage in &meta.published {
        let owner = format!("published lineage {:?}", lineage.datasource_id);
        if let Some(item) = config
            .datasources
            .iter()
            .find(|d| d.id == lineage.datasource_id)
            && item.has_extracts != lineage.has_extracts
        {
            bail!(
                "metadata: {owner}: has_extracts disagrees with the REST item {:?}",
                item.name
            );
        }
        check(&owner, "table", &lineage.tables, &tables)?;
        check(&owner, "custom SQL", &lineage.custom_sql, &sql)?;
    }
    for embedded in &meta.embedded {
        let owner = format!("embedded data source {:?}", embedded.id);
        check(&owner, "table", &embedded.tables, &tables)?;
        check(&owner, "custom SQL", &embedded.custom_sql, &sql)?;
    }
    Ok(())
}
