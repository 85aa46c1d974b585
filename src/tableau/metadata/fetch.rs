//! The lineage lookups, batched and paged: the tables of many relations in one request (every
//! spelling of their names and schemas), every custom SQL query of the site, and workbooks by
//! LUID. A request Tableau finds too large (`NODE_LIMIT_EXCEEDED`) is split in two, or asks for
//! smaller pages once it cannot be split, and tried again.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::graphql::{Client, MetadataError};
use super::names::{Relation, filter_lists};
use super::queries::{self, Connection, CustomSql, Table, Workbook};

/// Relations asked for in one request: 500 built models cost one request (plus pages).
pub const RELATIONS_PER_REQUEST: usize = 500;
/// Workbooks asked for in one request.
pub const WORKBOOKS_PER_REQUEST: usize = 500;
/// Nodes per page. Tableau's default is 100; a larger page saves requests, and a page that
/// meets the node limit is asked for again smaller.
pub const PAGE_SIZE: u32 = 500;
/// Pages are not made smaller than this.
const MIN_PAGE_SIZE: u32 = 1;
/// At most this many pages of one list.
const MAX_PAGES: usize = 1000;

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, MetadataError>> + Send + 'a>>;

/// Every table whose name and schema are those of one of `relations` (in any spelling); the
/// caller matches the database and the exact pair. Batches run concurrently.
pub async fn tables(
    client: &Client<'_, '_>,
    relations: &[Relation],
) -> Result<Vec<Table>, MetadataError> {
    let batches = relations
        .chunks(RELATIONS_PER_REQUEST)
        .map(|batch| tables_batch(client, batch.iter().collect(), PAGE_SIZE));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for found in futures_util::future::join_all(batches).await {
        for table in found? {
            if seen.insert(table.id.clone()) {
                out.push(table);
            }
        }
    }
    Ok(out)
}

fn tables_batch<'a>(
    client: &'a Client<'_, '_>,
    batch: Vec<&'a Relation>,
    first: u32,
) -> Boxed<'a, Vec<Table>> {
    Box::pin(async move {
        let (names, schemas) = filter_lists(batch.iter().copied());
        let variables = |after: Option<String>| json!({"names": names, "schemas": schemas, "first": first, "after": after});
        match pages::<Table>(
            client,
            queries::TABLES,
            "databaseTablesConnection",
            variables,
        )
        .await
        {
            Ok(tables) => Ok(tables),
            Err(None) if batch.len() > 1 => {
                let (left, right) = batch.split_at(batch.len() / 2);
                let (left, right) = futures_util::future::join(
                    tables_batch(client, left.to_vec(), first),
                    tables_batch(client, right.to_vec(), first),
                )
                .await;
                let mut all = left?;
                all.extend(right?);
                Ok(all)
            }
            Err(None) if first > MIN_PAGE_SIZE => tables_batch(client, batch, first / 2).await,
            Err(None) => Err(MetadataError::TooLarge(
                "NODE_LIMIT_EXCEEDED for the tables of one model".into(),
            )),
            Err(Some(err)) => Err(err),
        }
    })
}

/// Every custom SQL query of the site.
pub async fn custom_sql(client: &Client<'_, '_>) -> Result<Vec<CustomSql>, MetadataError> {
    let mut first = PAGE_SIZE;
    loop {
        let variables = |after: Option<String>| json!({"first": first, "after": after});
        match pages::<CustomSql>(
            client,
            queries::CUSTOM_SQL,
            "customSQLTablesConnection",
            variables,
        )
        .await
        {
            Ok(all) => return Ok(all),
            Err(None) if first > MIN_PAGE_SIZE => first /= 2,
            Err(None) => {
                return Err(MetadataError::TooLarge(
                    "NODE_LIMIT_EXCEEDED for custom SQL queries".into(),
                ));
            }
            Err(Some(err)) => return Err(err),
        }
    }
}

/// Workbooks by LUID, with their embedded data sources.
pub async fn workbooks(
    client: &Client<'_, '_>,
    luids: &[String],
) -> Result<Vec<Workbook>, MetadataError> {
    let batches = luids
        .chunks(WORKBOOKS_PER_REQUEST)
        .map(|batch| workbooks_batch(client, batch.to_vec()));
    let mut out = Vec::new();
    for found in futures_util::future::join_all(batches).await {
        out.extend(found?);
    }
    Ok(out)
}

fn workbooks_batch<'a>(client: &'a Client<'_, '_>, luids: Vec<String>) -> Boxed<'a, Vec<Workbook>> {
    Box::pin(async move {
        match client
            .query(queries::WORKBOOKS, json!({"luids": luids}))
            .await
        {
            Ok(data) => decode::<Vec<Option<Workbook>>>(data.get("workbooks"), "workbooks")
                .map(|list| list.into_iter().flatten().collect()),
            Err(None) if luids.len() > 1 => {
                let (left, right) = luids.split_at(luids.len() / 2);
                let (left, right) = futures_util::future::join(
                    workbooks_batch(client, left.to_vec()),
                    workbooks_batch(client, right.to_vec()),
                )
                .await;
                let mut all = left?;
                all.extend(right?);
                Ok(all)
            }
            Err(None) => Err(MetadataError::TooLarge(
                "NODE_LIMIT_EXCEEDED for one workbook".into(),
            )),
            Err(Some(err)) => Err(err),
        }
    })
}

/// Follows a connection's cursors to the end. `Err(None)`: too large, make it smaller.
async fn pages<T: DeserializeOwned>(
    client: &Client<'_, '_>,
    query: &str,
    field: &str,
    variables: impl Fn(Option<String>) -> Value,
) -> Result<Vec<T>, Option<MetadataError>> {
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..MAX_PAGES {
        let data = client.query(query, variables(after.clone())).await?;
        let page: Connection<T> = decode(data.get(field), field).map_err(Some)?;
        let next = page.next();
        out.extend(page.nodes);
        match next {
            Some(cursor) if after.as_ref() != Some(&cursor) => after = Some(cursor),
            _ => return Ok(out),
        }
    }
    Ok(out)
}

fn decode<T: DeserializeOwned>(value: Option<&Value>, field: &str) -> Result<T, MetadataError> {
    let value = value.cloned().unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|err| MetadataError::Failed(format!("unexpected `{field}` in the answer ({err})")))
}
