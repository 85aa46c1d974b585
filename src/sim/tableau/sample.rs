//! The sample site used by `demo` and tests: small, but with every naming trap the client must handle
//! (a name repeated in two projects, a name full of filter separators, a sub-project, a personal-space
//! item, a workbook without extracts), and the Metadata API lineage of the dbt Cloud simulator's
//! project (`fct_orders` and friends, as Tableau shows Snowflake tables).

use super::SimConnectedApp;
use super::metadata::{
    SimCustomSql, SimEmbeddedDatasource, SimMetadata, SimPublishedLineage, SimTable,
};
use super::model::{SimConfig, SimItem, SimProject};

/// Project LUIDs, public so tests and the demo can refer to them without string copies.
pub const FINANCE_PROJECT_ID: &str = "3f2a9c1e-5b7d-4e8a-9c10-2b4d6f8a0c11";
pub const MARKETING_PROJECT_ID: &str = "7c1e4a2b-9d3f-4b6c-8e21-5a7b9c0d1e22";
pub const QUARTERLY_PROJECT_ID: &str = "b4d6f8a0-2c4e-4a6b-8d33-9e1f3a5b7c33";

/// Workbook LUIDs of the sample.
pub const REVENUE_FINANCE_WORKBOOK_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c01";
pub const REVENUE_MARKETING_WORKBOOK_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c02";
pub const PNL_WORKBOOK_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c03";
pub const LIVE_WORKBOOK_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c04";
pub const PERSONAL_WORKBOOK_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c05";

/// Data source LUIDs of the sample.
pub const ORDERS_DATASOURCE_ID: &str = "d5e6f7a8-b9c0-4d1e-8f2a-3b4c5d6e7f01";
pub const CUSTOMERS_DATASOURCE_ID: &str = "d5e6f7a8-b9c0-4d1e-8f2a-3b4c5d6e7f02";

/// The connected app (direct trust) the sample trusts, and its one user.
pub const SAMPLE_CLIENT_ID: &str = "3c4a5b6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d";
pub const SAMPLE_SECRET_ID: &str = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f";
pub const SAMPLE_SECRET_VALUE: &str = "sim-connected-app-secret-value";
pub const SAMPLE_USERNAME: &str = "dbt-ci@example.com";

/// Metadata API ids of the sample's database tables (Snowflake, `ANALYTICS.MARTS`). Tableau shows
/// unquoted Snowflake names as Snowflake stores them, upper case, while dbt's alias is
/// `fct_orders`: a client must match case-insensitively (docs/metadata-sim.md).
pub const FCT_ORDERS_TABLE_ID: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a01";
pub const DIM_CUSTOMERS_TABLE_ID: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a02";
pub const FCT_REVENUE_TABLE_ID: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a03";

/// Metadata API ids of the sample's embedded data sources.
pub const PNL_EMBEDDED_ID: &str = "5e2d3c4b-6a7f-4e81-9b0c-1d2e3f4a5b01";
pub const LIVE_SALES_EMBEDDED_ID: &str = "5e2d3c4b-6a7f-4e81-9b0c-1d2e3f4a5b02";
pub const REVENUE_ORDERS_EMBEDDED_ID: &str = "5e2d3c4b-6a7f-4e81-9b0c-1d2e3f4a5b03";
pub const REVENUE_EXTRACT_EMBEDDED_ID: &str = "5e2d3c4b-6a7f-4e81-9b0c-1d2e3f4a5b04";

/// Metadata API ids of the sample's custom SQL tables: one Tableau resolved, one it could not.
pub const ORDERS_CUSTOM_SQL_ID: &str = "4c3b2a19-8f7e-4d6c-9b5a-3e2d1c0b9a01";
pub const UNSUPPORTED_CUSTOM_SQL_ID: &str = "4c3b2a19-8f7e-4d6c-9b5a-3e2d1c0b9a02";

/// The PAT the sample accepts.
pub const SAMPLE_PAT_NAME: &str = "dbt-refresh";
pub const SAMPLE_PAT_SECRET: &str = "sim-pat-secret";

impl SimConfig {
    /// A small default site: projects "Finance" (with sub-project "Quarterly") and "Marketing";
    /// workbooks "Revenue Dashboard" (in Finance *and* Marketing), "P&L, Q1: Actuals" (in
    /// Finance/Quarterly), "Live Sales" (no extracts: refresh gives 409090) and "Scratchpad" (personal
    /// space); data sources "Orders" and "Customers". PAT ("dbt-refresh", "sim-pat-secret"), a
    /// connected app (`SAMPLE_CLIENT_ID`, user `SAMPLE_USERNAME`), API 3.24, no latency, refresh
    /// jobs succeed after 300 ms (the `SimItem::new` default).
    pub fn sample() -> SimConfig {
        SimConfig {
            pats: vec![(SAMPLE_PAT_NAME.to_owned(), SAMPLE_PAT_SECRET.to_owned())],
            projects: vec![
                SimProject::new(FINANCE_PROJECT_ID, "Finance"),
                SimProject::new(MARKETING_PROJECT_ID, "Marketing"),
                SimProject::new(QUARTERLY_PROJECT_ID, "Quarterly").under(FINANCE_PROJECT_ID),
            ],
            workbooks: vec![
                SimItem::new(
                    REVENUE_FINANCE_WORKBOOK_ID,
                    "Revenue Dashboard",
                    Some(FINANCE_PROJECT_ID),
                ),
                // Same name, other project: resolving by bare name must be ambiguous.
                SimItem::new(
                    REVENUE_MARKETING_WORKBOOK_ID,
                    "Revenue Dashboard",
                    Some(MARKETING_PROJECT_ID),
                ),
                // `,` `&` `:` cannot be sent in a filter value: the client must use `*` wildcards.
                SimItem::new(
                    PNL_WORKBOOK_ID,
                    "P&L, Q1: Actuals",
                    Some(QUARTERLY_PROJECT_ID),
                ),
                SimItem::new(LIVE_WORKBOOK_ID, "Live Sales", Some(MARKETING_PROJECT_ID))
                    .without_extracts(),
                SimItem::new(PERSONAL_WORKBOOK_ID, "Scratchpad", None),
            ],
            datasources: vec![
                SimItem::new(ORDERS_DATASOURCE_ID, "Orders", Some(FINANCE_PROJECT_ID)),
                SimItem::new(
                    CUSTOMERS_DATASOURCE_ID,
                    "Customers",
                    Some(MARKETING_PROJECT_ID),
                ),
            ],
            connected_apps: vec![SimConnectedApp::new(
                SAMPLE_CLIENT_ID,
                SAMPLE_SECRET_ID,
                SAMPLE_SECRET_VALUE,
                &[SAMPLE_USERNAME],
            )],
            metadata: sample_lineage(),
            ..SimConfig::default()
        }
    }
}

/// The sample's lineage: "Orders" (published, extract) reads `FCT_ORDERS` directly and through
/// custom SQL Tableau resolved; "Customers" (published, extract) reads only custom SQL Tableau
/// could not parse; "P&L, Q1: Actuals" has an embedded extract of `FCT_ORDERS`; "Live Sales" reads
/// it live; "Revenue Dashboard" (Marketing) reads it only through "Orders" and has its own extract
/// of `FCT_REVENUE`.
fn sample_lineage() -> SimMetadata {
    let table = |id, name| SimTable::new(id, "snowflake", "ANALYTICS", "MARTS", name);
    SimMetadata {
        tables: vec![
            table(FCT_ORDERS_TABLE_ID, "FCT_ORDERS"),
            table(DIM_CUSTOMERS_TABLE_ID, "DIM_CUSTOMERS"),
            table(FCT_REVENUE_TABLE_ID, "FCT_REVENUE"),
        ],
        custom_sql: vec![
            SimCustomSql::resolved(
                ORDERS_CUSTOM_SQL_ID,
                "select o.*, c.customer_name\nfrom ANALYTICS.MARTS.FCT_ORDERS o\njoin ANALYTICS.MARTS.DIM_CUSTOMERS c on c.customer_id = o.customer_id",
                &[FCT_ORDERS_TABLE_ID, DIM_CUSTOMERS_TABLE_ID],
            ),
            SimCustomSql::unsupported(
                UNSUPPORTED_CUSTOM_SQL_ID,
                "select c.*, f.value:segment::string as segment\nfrom ANALYTICS.MARTS.DIM_CUSTOMERS c,\nlateral flatten(input => c.tags) f",
            ),
        ],
        published: vec![
            SimPublishedLineage::new(ORDERS_DATASOURCE_ID, true, &[FCT_ORDERS_TABLE_ID])
                .with_custom_sql(&[ORDERS_CUSTOM_SQL_ID]),
            SimPublishedLineage::new(CUSTOMERS_DATASOURCE_ID, true, &[])
                .with_custom_sql(&[UNSUPPORTED_CUSTOM_SQL_ID]),
        ],
        embedded: vec![
            SimEmbeddedDatasource::new(PNL_EMBEDDED_ID, "Orders (extract)", PNL_WORKBOOK_ID, true)
                .reading_tables(&[FCT_ORDERS_TABLE_ID]),
            SimEmbeddedDatasource::new(
                LIVE_SALES_EMBEDDED_ID,
                "Sales (live)",
                LIVE_WORKBOOK_ID,
                false,
            )
            .reading_tables(&[FCT_ORDERS_TABLE_ID]),
            SimEmbeddedDatasource::new(
                REVENUE_ORDERS_EMBEDDED_ID,
                "Orders",
                REVENUE_MARKETING_WORKBOOK_ID,
                false,
            )
            .reading_published(&[ORDERS_DATASOURCE_ID]),
            SimEmbeddedDatasource::new(
                REVENUE_EXTRACT_EMBEDDED_ID,
                "Revenue (extract)",
                REVENUE_MARKETING_WORKBOOK_ID,
                true,
            )
            .reading_tables(&[FCT_REVENUE_TABLE_ID]),
        ],
        ..SimMetadata::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_valid_and_ids_are_luid_shaped() {
        let config = SimConfig::sample();
        config.validate().expect("sample config is valid");
        let ids = config
            .projects
            .iter()
            .map(|p| &p.id)
            .chain(config.workbooks.iter().map(|w| &w.id))
            .chain(config.datasources.iter().map(|d| &d.id));
        for id in ids {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
        }
    }
}
