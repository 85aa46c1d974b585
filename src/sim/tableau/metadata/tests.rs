//! The schema against Tableau's own wording, and the start-up check of the lineage config.

use super::super::model::SimConfig;
use super::super::sample::LIVE_WORKBOOK_ID;
use super::*;

fn sdl() -> String {
    let service = Service::new(&SimConfig::sample()).expect("schema builds");
    service.sdl()
}

/// Lines exactly as Tableau's published schema has them (arguments collapsed onto one line).
#[test]
fn schema_lines_read_as_tableau_writes_them() {
    let sdl: String = sdl()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")");
    let expected = [
        "databaseTablesConnection(after: String, first: Int, offset: Int, filter: DatabaseTable_Filter, orderBy: DatabaseTableSortOrder, permissionMode: PermissionMode = OBFUSCATE_RESULTS): DatabaseTablesConnection!",
        "downstreamDatasources(filter: PublishedDatasource_Filter, orderBy: PublishedDatasourceSortOrder, permissionMode: PermissionMode = OBFUSCATE_RESULTS): [PublishedDatasource!]!",
        "upstreamTables(filter: DatabaseTable_Filter, orderBy: DatabaseTableSortOrder, permissionMode: PermissionMode = OBFUSCATE_RESULTS): [DatabaseTable]!",
        "referencedByQueries(filter: CustomSQLTable_Filter, orderBy: CustomSQLTableSortOrder, permissionMode: PermissionMode = OBFUSCATE_RESULTS): [CustomSQLTable]",
        "type PageInfo { endCursor: String hasNextPage: Boolean! }",
        "type DatabaseTablesConnection { nodes: [DatabaseTable!]! pageInfo: PageInfo! totalCount: Int! }",
        "type PublishedDatasource implements Datasource",
        "type DatabaseServer implements Database",
        "luid: String!",
        "extractLastRefreshTime: DateTime",
        "isUnsupportedCustomSql: Boolean",
        "workbook: Workbook",
        "database: Database",
        "nameWithin: [String]",
        "idWithin: [ID]",
    ];
    for line in expected {
        assert!(sdl.contains(line), "missing: {line}");
    }
}

#[test]
fn the_sample_lineage_is_valid() {
    SimConfig::sample().validate().expect("sample is valid");
}

#[test]
fn dangling_references_and_disagreements_are_refused() {
    let mut config = SimConfig::sample();
    config.metadata.embedded[0]
        .tables
        .push("no-such-table".into());
    let error = config.validate().expect_err("unknown table").to_string();
    assert!(error.contains("no-such-table"), "{error}");

    let mut config = SimConfig::sample();
    config.metadata.custom_sql[0]
        .tables
        .push("no-such-table".into());
    assert!(config.validate().is_err());

    let mut config = SimConfig::sample();
    config.metadata.published[0].has_extracts = false;
    let error = config.validate().expect_err("disagrees").to_string();
    assert!(error.contains("has_extracts"), "{error}");

    let mut config = SimConfig::sample();
    let copy = config.metadata.embedded[0].clone();
    config.metadata.embedded.push(SimEmbeddedDatasource {
        workbook_id: LIVE_WORKBOOK_ID.into(),
        ..copy
    });
    assert!(config.validate().is_err(), "duplicate embedded id");
}

/// Tests and benchmarks start from the sample and replace its content: the lineage of what they
/// removed is left out instead of refusing to start.
#[test]
fn lineage_of_removed_rest_content_is_left_out() {
    let mut config = SimConfig::sample();
    config.workbooks.clear();
    config.datasources.clear();
    config.validate().expect("still valid");
    let graph = lineage::Graph::new(&config);
    assert!(graph.all(lineage::Kind::Embedded).is_empty());
    assert!(graph.all(lineage::Kind::Published).is_empty());
    assert_eq!(graph.all(lineage::Kind::Table).len(), 3);
}
