//! Filters, ordering and cursor paging, as the Metadata API documents them: filters match exactly
//! (case-sensitive), `…Within` is "any of"; without `orderBy` results are sorted by id ascending;
//! `first` defaults to 100; `after` and `offset` cannot be combined.

use async_graphql::Error;
use async_graphql::dynamic::ObjectAccessor;
use serde_json::Value;

use super::lineage::{Graph, Kind, Node};
use super::resolve::error;

/// Page size when `first` is not given (Tableau: "The default is 100").
pub(super) const DEFAULT_PAGE_SIZE: usize = 100;

/// One page of a connection.
pub(super) struct Page {
    pub(super) nodes: Vec<Node>,
    pub(super) total_count: usize,
    pub(super) has_next_page: bool,
    pub(super) end_cursor: Option<String>,
}

/// Apply `filter` and `orderBy` to `nodes`.
pub(super) fn select(
    graph: &Graph,
    mut nodes: Vec<Node>,
    args: &ObjectAccessor<'_>,
) -> async_graphql::Result<Vec<Node>> {
    if let Some(filter) = args.get("filter").filter(|f| !f.is_null()) {
        let filter = filter.object()?;
        for (key, wanted) in filter.iter() {
            let wanted = wanted.as_value().clone().into_json()?;
            if wanted.is_null() {
                continue;
            }
            if key.as_str() == "text" {
                return Err(unsupported("the text filter"));
            }
            let (field, within) = match key.as_str().strip_suffix("Within") {
                Some(field) => (field, true),
                None => (key.as_str(), false),
            };
            let mut kept = Vec::with_capacity(nodes.len());
            for node in nodes {
                let Some(actual) = graph.scalar(node, field) else {
                    return Err(unsupported(&format!("the filter field {key}")));
                };
                let matches = if within {
                    wanted.as_array().is_some_and(|list| list.contains(&actual))
                } else {
                    wanted == actual
                };
                if matches {
                    kept.push(node);
                }
            }
            nodes = kept;
        }
    }
    let id = |node: Node| graph.scalar(node, "id").unwrap_or(Value::Null).to_string();
    nodes.sort_by_key(|n| id(*n));
    if let Some(order) = args.get("orderBy").filter(|o| !o.is_null()) {
        let order = order.object()?;
        let field = camel_case(order.try_get("field")?.enum_name()?);
        let descending = order.try_get("direction")?.enum_name()? == "DESC";
        let mut keyed = Vec::with_capacity(nodes.len());
        for node in nodes {
            let Some(key) = graph.scalar(node, &field) else {
                return Err(unsupported(&format!("orderBy {field}")));
            };
            keyed.push((sort_key(&key), node));
        }
        // Stable: ties stay in id order.
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        if descending {
            keyed.reverse();
        }
        nodes = keyed.into_iter().map(|(_, n)| n).collect();
    }
    Ok(nodes)
}

/// `PROJECT_NAME` → `projectName`.
fn camel_case(screaming: &str) -> String {
    let mut out = String::new();
    for (i, word) in screaming.split('_').enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            out.push_str(chars.as_str());
        }
    }
    out
}

fn sort_key(value: &Value) -> (u8, String) {
    match value {
        Value::Null => (0, String::new()),
        Value::String(s) => (1, s.clone()),
        other => (1, other.to_string()),
    }
}

fn unsupported(what: &str) -> Error {
    error(
        "SIMULATOR_UNSUPPORTED",
        &format!("The Tableau simulator does not implement {what}."),
    )
}

/// Cut the page `first`/`after`/`offset` ask for.
pub(super) fn page(
    kind: Kind,
    nodes: Vec<Node>,
    args: &ObjectAccessor<'_>,
) -> async_graphql::Result<Page> {
    let int = |name: &str| -> async_graphql::Result<Option<i64>> {
        match args.get(name).filter(|v| !v.is_null()) {
            Some(v) => Ok(Some(v.i64()?)),
            None => Ok(None),
        }
    };
    let after = args
        .get("after")
        .filter(|v| !v.is_null())
        .map(|v| v.string().map(str::to_owned))
        .transpose()?;
    let offset = int("offset")?;
    if after.is_some() && offset.is_some() {
        return Err(error(
            "INVALID_ARGUMENT",
            "Can't use \"after\" and \"offset\" pagination at the same time. Remove one of the arguments from the query.",
        ));
    }
    let first = match int("first")? {
        None => DEFAULT_PAGE_SIZE,
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => {
            return Err(error(
                "INVALID_ARGUMENT",
                "The value of \"first\" can't be negative.",
            ));
        }
    };
    let start = match (&after, offset) {
        (Some(cursor), _) => decode_cursor(kind, cursor)? + 1,
        (None, Some(offset)) => usize::try_from(offset.max(0)).unwrap_or(usize::MAX),
        (None, None) => 0,
    };
    let total_count = nodes.len();
    let end = start.saturating_add(first).min(total_count);
    let page: Vec<Node> = nodes.get(start.min(end)..end).unwrap_or_default().to_vec();
    Ok(Page {
        end_cursor: (!page.is_empty()).then(|| encode_cursor(kind, end - 1)),
        has_next_page: end < total_count,
        total_count,
        nodes: page,
    })
}

/// An opaque cursor naming the kind and the position of the last node seen.
fn encode_cursor(kind: Kind, position: usize) -> String {
    let plain = format!("{}:{position}", kind.type_name());
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(kind: Kind, cursor: &str) -> async_graphql::Result<usize> {
    let invalid = || {
        error(
            "INVALID_ARGUMENT",
            "The query contains an invalid cursor. Make sure to use cursors of the same type.",
        )
    };
    let bytes = hex::decode(cursor).map_err(|_| invalid())?;
    let plain = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (type_name, position) = plain.split_once(':').ok_or_else(invalid)?;
    if type_name != kind.type_name() {
        return Err(invalid());
    }
    position.parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_fields_become_field_names() {
        assert_eq!(camel_case("PROJECT_NAME"), "projectName");
        assert_eq!(camel_case("ID"), "id");
        assert_eq!(camel_case("FULL_NAME"), "fullName");
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_kinds() {
        let cursor = encode_cursor(Kind::Table, 41);
        assert_eq!(decode_cursor(Kind::Table, &cursor).ok(), Some(41));
        assert!(decode_cursor(Kind::Workbook, &cursor).is_err());
        assert!(decode_cursor(Kind::Table, "zz").is_err());
    }
}
