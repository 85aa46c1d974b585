//! The Metadata API queries the lineage step sends, and the parts of their answers it reads.
//!
//! Field and argument names follow Tableau's schema (checked against the generated copy in
//! DataHub's Tableau source, `codegen_sgqlc/tableau_schema.py`, and its filter input types; see
//! docs/tableau-compat.md). What `downstreamDatasources` returns (the `Datasource` interface or
//! `PublishedDatasource`) is not documented, so published ones are told apart by `__typename`
//! and read through an inline fragment, which is valid for either answer.

use serde::{Deserialize, Deserializer};

/// Database tables by name and schema (every spelling), with what reads them.
pub const TABLES: &str = "query Tables($names: [String], $schemas: [String], $first: Int, $after: String) {
  databaseTablesConnection(first: $first, after: $after, filter: {nameWithin: $names, schemaWithin: $schemas}) {
    nodes {
      id name schema fullName connectionType
      database { name }
      downstreamDatasources {
        __typename id name
        ... on PublishedDatasource { luid hasExtracts projectName downstreamWorkbooks { luid name } }
      }
      downstreamWorkbooks { luid name }
    }
    pageInfo { hasNextPage endCursor }
  }
}";

/// Every custom SQL query of the site (the filter has no table-name field), with the tables
/// Tableau resolved in it and what reads it.
pub const CUSTOM_SQL: &str = "query CustomSql($first: Int, $after: String) {
  customSQLTablesConnection(first: $first, after: $after) {
    nodes {
      id name query isUnsupportedCustomSql
      tables { id name schema fullName database { name } }
      downstreamDatasources {
        __typename id name
        ... on PublishedDatasource { luid hasExtracts projectName downstreamWorkbooks { luid name } }
      }
      downstreamWorkbooks { luid name }
    }
    pageInfo { hasNextPage endCursor }
  }
}";

/// Workbooks by LUID with their embedded data sources: which have an extract, which tables they
/// read directly, which published data sources they read through.
pub const WORKBOOKS: &str = "query Workbooks($luids: [String]) {
  workbooks(filter: {luidWithin: $luids}) {
    luid name projectName
    embeddedDatasources {
      id name hasExtracts
      upstreamTables { id }
      upstreamDatasources { luid name hasExtracts }
    }
  }
}";

/// A list GraphQL may answer as `null`.
fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<Option<T>>>::deserialize(deserializer)?
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

/// One page of a connection.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Connection<T> {
    #[serde(default, deserialize_with = "list")]
    pub nodes: Vec<T>,
    #[serde(rename = "pageInfo", default)]
    pub page_info: Option<PageInfo>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageInfo {
    #[serde(rename = "hasNextPage", default)]
    pub has_next_page: bool,
    #[serde(rename = "endCursor", default)]
    pub end_cursor: Option<String>,
}

impl<T> Connection<T> {
    /// The cursor of the next page, if there is one.
    pub fn next(&self) -> Option<String> {
        self.page_info
            .as_ref()
            .filter(|p| p.has_next_page)
            .and_then(|p| p.end_cursor.clone())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub name: Option<String>,
}

/// A database table.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Table {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(rename = "fullName", default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub database: Option<Named>,
    #[serde(rename = "downstreamDatasources", default, deserialize_with = "list")]
    pub downstream_datasources: Vec<Datasource>,
    #[serde(rename = "downstreamWorkbooks", default, deserialize_with = "list")]
    pub downstream_workbooks: Vec<WorkbookRef>,
}

impl Table {
    pub fn name(&self) -> super::names::TableName {
        super::names::TableName {
            database: self.database.as_ref().and_then(|d| d.name.clone()),
            schema: self.schema.clone(),
            name: self.name.clone(),
            full_name: self.full_name.clone(),
        }
    }
}

/// A data source downstream of a table: published (with a LUID) or embedded in a workbook.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Datasource {
    #[serde(rename = "__typename", default)]
    pub typename: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub luid: Option<String>,
    #[serde(rename = "hasExtracts", default)]
    pub has_extracts: Option<bool>,
    #[serde(rename = "projectName", default)]
    pub project_name: Option<String>,
    #[serde(rename = "downstreamWorkbooks", default, deserialize_with = "list")]
    pub downstream_workbooks: Vec<WorkbookRef>,
}

impl Datasource {
    /// A published data source: so typed, or (an answer without `__typename`) one with a LUID.
    pub fn published_luid(&self) -> Option<&str> {
        let published = match self.typename.as_deref() {
            Some(typename) => typename == "PublishedDatasource",
            None => true,
        };
        self.luid.as_deref().filter(|l| published && !l.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkbookRef {
    #[serde(default)]
    pub luid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A custom SQL query Tableau found in a data source.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomSql {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(rename = "isUnsupportedCustomSql", default)]
    pub unsupported: Option<bool>,
    #[serde(default, deserialize_with = "list")]
    pub tables: Vec<Table>,
    #[serde(rename = "downstreamDatasources", default, deserialize_with = "list")]
    pub downstream_datasources: Vec<Datasource>,
    #[serde(rename = "downstreamWorkbooks", default, deserialize_with = "list")]
    pub downstream_workbooks: Vec<WorkbookRef>,
}

/// A workbook and its embedded data sources.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Workbook {
    #[serde(default)]
    pub luid: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "projectName", default)]
    pub project_name: Option<String>,
    #[serde(rename = "embeddedDatasources", default, deserialize_with = "list")]
    pub embedded: Vec<Embedded>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Embedded {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "hasExtracts", default)]
    pub has_extracts: Option<bool>,
    #[serde(rename = "upstreamTables", default, deserialize_with = "list")]
    pub upstream_tables: Vec<Id>,
    #[serde(rename = "upstreamDatasources", default, deserialize_with = "list")]
    pub upstream_datasources: Vec<Datasource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Id {
    #[serde(default)]
    pub id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_shape_of_downstream_datasources_is_read() {
        // As the `Datasource` interface: embedded ones appear too, told apart by __typename.
        let interface: Table = serde_json::from_str(
            r#"{"id":"t1","name":"fct_orders","downstreamDatasources":[
                {"__typename":"PublishedDatasource","id":"d1","name":"Orders","luid":"L1","hasExtracts":true},
                {"__typename":"EmbeddedDatasource","id":"e1","name":"Sheet data"}],
               "downstreamWorkbooks":null}"#,
        )
        .expect("interface shape");
        let published: Vec<_> = interface
            .downstream_datasources
            .iter()
            .filter_map(Datasource::published_luid)
            .collect();
        assert_eq!(published, ["L1"]);
        assert!(interface.downstream_workbooks.is_empty());
        // As `PublishedDatasource` only, and without __typename at all.
        let only: Table = serde_json::from_str(
            r#"{"id":"t1","downstreamDatasources":[{"id":"d1","name":"Orders","luid":"L1","hasExtracts":false}, null]}"#,
        )
        .expect("published shape");
        assert_eq!(only.downstream_datasources.len(), 1);
        assert_eq!(only.downstream_datasources[0].published_luid(), Some("L1"));
    }
}
