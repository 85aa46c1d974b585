//! The Metadata API's own answers around a query: its error entries (`FEATURE_DISABLED`,
//! `RATE_EXCEEDED`, the `BACKFILL_RUNNING` warning, `NODE_LIMIT_EXCEEDED` with partial results),
//! the classification graphql-java gives validation errors, and the node count behind the limit.
//! Shapes and their sources are in docs/metadata-sim.md.

use serde_json::{Map, Value, json};

/// Tableau's default node limit per query ("the 20000 node limit").
pub(super) const DEFAULT_NODE_LIMIT: usize = 20_000;

/// One `errors[]` entry as the Metadata API words it.
pub(super) fn entry(code: &str, severity: &str, message: &str) -> Value {
    json!({"message": message, "extensions": {"severity": severity, "code": code}})
}

/// A whole answer that carries only this error.
pub(super) fn refusal(code: &str, message: &str) -> Value {
    json!({"data": null, "errors": [entry(code, "ERROR", message)]})
}

pub(super) fn feature_disabled() -> Value {
    refusal(
        "FEATURE_DISABLED",
        "Can't run the query because the Metadata API has not been enabled yet. Run the 'tsm maintenance metadata-services enable' command to enable the Metadata API or contact your Tableau administrator.",
    )
}

pub(super) fn rate_exceeded() -> Value {
    refusal(
        "RATE_EXCEEDED",
        "The query was rejected because the rate limit for this site was exceeded. Wait and try the query again.",
    )
}

pub(super) fn backfill_running() -> Value {
    entry(
        "BACKFILL_RUNNING",
        "WARNING",
        "Still creating the Metadata API Store. Results from the query may be incomplete at this time.",
    )
}

/// Objects in an answer's `data` (the root object not counted): what the node limit counts.
pub(super) fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Object(map) => map
            .values()
            .map(|v| usize::from(v.is_object()) + count_nodes(v))
            .sum(),
        Value::Array(items) => items
            .iter()
            .map(|v| usize::from(v.is_object()) + count_nodes(v))
            .sum(),
        _ => 0,
    }
}

/// Keep the first `budget` objects (in document order) and cut lists after them; an object
/// field past the budget becomes null. Tableau's partial answer is no more precise than this.
fn truncate(value: &mut Value, budget: &mut usize) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                if child.is_object() {
                    if *budget == 0 {
                        *child = Value::Null;
                        continue;
                    }
                    *budget -= 1;
                }
                truncate(child, budget);
            }
        }
        Value::Array(items) => {
            let mut kept = 0;
            for item in items.iter_mut() {
                if item.is_object() {
                    if *budget == 0 {
                        break;
                    }
                    *budget -= 1;
                }
                truncate(item, budget);
                kept += 1;
            }
            items.truncate(kept);
        }
        _ => {}
    }
}

/// Over the limit: partial data and the warning Tableau sends with it.
pub(super) fn enforce_node_limit(answer: &mut Map<String, Value>, limit: usize) {
    let Some(data) = answer.get_mut("data") else {
        return;
    };
    if count_nodes(data) <= limit {
        return;
    }
    let mut budget = limit;
    truncate(data, &mut budget);
    let mut warning = entry(
        "NODE_LIMIT_EXCEEDED",
        "WARNING",
        &format!(
            "Showing partial results. The request exceeded the {limit} node limit. Use pagination, additional filtering, or both in the query to adjust results."
        ),
    );
    warning["extensions"]["properties"] = json!({"nodeLimit": limit});
    push_error(answer, warning);
}

pub(super) fn push_error(answer: &mut Map<String, Value>, error: Value) {
    match answer.get_mut("errors").and_then(Value::as_array_mut) {
        Some(errors) => errors.push(error),
        None => {
            answer.insert("errors".to_owned(), json!([error]));
        }
    }
}

/// Errors the executor raised before running anything (parse and validation errors: no `path`)
/// carry no extensions; graphql-java, which serves Tableau's API, classifies them
/// `ValidationError` (or `InvalidSyntax`).
pub(super) fn classify_request_errors(answer: &mut Map<String, Value>) {
    for error in answer
        .get_mut("errors")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if error.get("path").is_none() && error.get("extensions").is_none() {
            let syntax = error["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(" --> ") || m.contains("expected"));
            let class = if syntax {
                "InvalidSyntax"
            } else {
                "ValidationError"
            };
            error["extensions"] = json!({"classification": class});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_objects_below_the_root() {
        let data = json!({"a": {"nodes": [{"id": 1, "d": {"x": 1}}, {"id": 2}], "pageInfo": {}}});
        assert_eq!(count_nodes(&data), 5);
    }

    #[test]
    fn over_the_limit_keeps_partial_data_and_warns() {
        let mut answer = json!({"data": {"t": [{"id": 1}, {"id": 2}, {"id": 3}]}});
        let map = answer.as_object_mut().expect("object");
        enforce_node_limit(map, 2);
        assert_eq!(answer["data"]["t"], json!([{"id": 1}, {"id": 2}]));
        assert_eq!(
            answer["errors"][0]["extensions"]["code"],
            "NODE_LIMIT_EXCEEDED"
        );
        assert_eq!(answer["errors"][0]["extensions"]["severity"], "WARNING");
    }
}
