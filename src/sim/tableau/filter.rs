//! The `filter=` and paging query parameters of the list endpoints, with the real server's quirks:
//! `,` separates expressions and `:` separates field/op/value, so neither can appear in a value even
//! percent-encoded, and neither can `&` (reference §4); all of these give 400065. `*` in an `eq` value
//! is a wildcard, which is how clients work around the rest.

use serde_json::{Value, json};

use super::reply::Reply;

/// The first value of query parameter `key` (already percent-decoded).
pub(super) fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Servers before 2020.1 (REST API 3.7) read `filter` before percent-decoding it (TSC #732, #753).
const FILTER_DECODED_SINCE: (u32, u32) = (3, 7);

/// On a server older than 3.7, a `filter` whose `:` is percent-encoded in the raw query is not
/// understood: 400065, as Tableau Server 2019.4 and older answered TSC 0.14.
pub(super) fn refuse_encoded_on_old_server(
    server_version: (u32, u32),
    raw_query: Option<&str>,
) -> Option<Reply> {
    if server_version >= FILTER_DECODED_SINCE {
        return None;
    }
    let filter = raw_query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("filter="))?;
    filter.to_ascii_uppercase().contains("%3A").then(|| {
        Reply::error(
            axum::http::StatusCode::BAD_REQUEST,
            "400065",
            "Bad Request",
            "The filter query contains a key which is not recognized for this api version.",
        )
    })
}

/// The `filter` and paging parameters of a list request; `fields` are the filterable fields.
pub(super) fn list_query(
    params: &[(String, String)],
    fields: &[&str],
) -> Result<(Filter, Paging), Reply> {
    let filter = Filter::parse(param(params, "filter"), fields)?;
    let paging = Paging::parse(param(params, "pageSize"), param(params, "pageNumber"))?;
    Ok((filter, paging))
}

#[derive(Debug, PartialEq, Eq)]
enum Op {
    /// Case-sensitive; `*` matches any run of characters.
    Eq(String),
    /// Exact match against any element of `[a,b,…]`.
    In(Vec<String>),
}

#[derive(Debug, PartialEq, Eq)]
struct Term {
    field: String,
    op: Op,
}

/// A parsed `filter=` value: all terms must match (the server ANDs them).
#[derive(Debug, Default)]
pub(super) struct Filter {
    terms: Vec<Term>,
}

impl Filter {
    /// Parse the decoded `filter` value; `fields` are the fields this endpoint can filter on.
    pub(super) fn parse(raw: Option<&str>, fields: &[&str]) -> Result<Self, Reply> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(Self::default());
        };
        let mut terms = Vec::new();
        for expression in split_outside_brackets(raw) {
            let mut parts = expression.splitn(3, ':');
            let field = parts.next().unwrap_or_default();
            let (Some(op), Some(value)) = (parts.next(), parts.next()) else {
                return Err(missing_value(field));
            };
            // What the server cannot tell apart from a separator makes the expression unparseable.
            if value.is_empty() || value.contains([':', '&']) {
                return Err(missing_value(field));
            }
            if !fields.contains(&field) {
                return Err(Reply::filter_error(&format!(
                    "The filter field '{field}' is not supported for this resource."
                )));
            }
            let op = match op {
                "eq" if !value.contains(',') => Op::Eq(value.to_owned()),
                "in" => Op::In(parse_list(value).ok_or_else(|| missing_value(field))?),
                "eq" => return Err(missing_value(field)),
                other => {
                    return Err(Reply::filter_error(&format!(
                        "The filter operator '{other}' is not supported for field '{field}'."
                    )));
                }
            };
            terms.push(Term {
                field: field.to_owned(),
                op,
            });
        }
        Ok(Self { terms })
    }

    /// Whether an item passes; `lookup(field)` is the item's value (`None`, e.g. the project of a
    /// personal-space item, never matches).
    pub(super) fn matches<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.terms.iter().all(|term| {
            let Some(actual) = lookup(&term.field) else {
                return false;
            };
            match &term.op {
                Op::Eq(pattern) => glob(pattern, actual),
                Op::In(values) => values.iter().any(|v| v == actual),
            }
        })
    }
}

fn missing_value(field: &str) -> Reply {
    Reply::filter_error(&format!(
        "The filter query is missing a value for key '{field}'."
    ))
}

/// Split on commas, except inside `[...]` where they separate the elements of an `in` list.
fn split_outside_brackets(raw: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in raw.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&raw[start..]);
    parts
}

/// `[a,b,c]` -> `["a","b","c"]`; anything else is not a list.
fn parse_list(value: &str) -> Option<Vec<String>> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    if inner.contains(['[', ']']) {
        return None;
    }
    Some(inner.split(',').map(str::to_owned).collect())
}

/// `*` matches any run of characters (also none); everything else matches itself, case-sensitively.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Position of the last `*` seen and the text position it currently stands for: on a mismatch the
    // star swallows one more character and matching resumes after it.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, consumed)) => {
                    backtrack = Some((star, consumed + 1));
                    p = star + 1;
                    t = consumed + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// `pageSize` (1..=1000, default 100) and `pageNumber` (from 1, default 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Paging {
    size: usize,
    number: usize,
}

impl Paging {
    pub(super) fn parse(size: Option<&str>, number: Option<&str>) -> Result<Self, Reply> {
        let size = match size {
            None => 100,
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| Reply::canned("400007"))?,
        };
        let number = match number {
            None => 1,
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| Reply::canned("400006"))?,
        };
        Ok(Self { size, number })
    }

    /// The items on this page; a page past the end is empty, not an error.
    pub(super) fn page<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.size.saturating_mul(self.number - 1).min(items.len());
        let end = start.saturating_add(self.size).min(items.len());
        &items[start..end]
    }

    /// The `pagination` object; numbers are strings, as the real server sends them.
    pub(super) fn json(&self, total: usize) -> Value {
        json!({
            "pageNumber": self.number.to_string(),
            "pageSize": self.size.to_string(),
            "totalAvailable": total.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["name", "projectName"];

    fn accepts(raw: &str, name: &str, project: Option<&str>) -> bool {
        let filter = Filter::parse(Some(raw), FIELDS).expect("filter parses");
        filter.matches(|field| match field {
            "name" => Some(name),
            "projectName" => project,
            _ => None,
        })
    }

    fn rejected_with(raw: &str) -> String {
        Filter::parse(Some(raw), FIELDS)
            .expect_err("filter is rejected")
            .json_text()
    }

    #[test]
    fn eq_is_exact_and_case_sensitive() {
        assert!(accepts("name:eq:Orders", "Orders", None));
        assert!(!accepts("name:eq:orders", "Orders", None));
        assert!(!accepts("name:eq:Order", "Orders", None));
    }

    #[test]
    fn star_is_a_wildcard() {
        assert!(accepts(
            "name:eq:P*L* Q1* Actuals",
            "P&L, Q1: Actuals",
            None
        ));
        assert!(accepts("name:eq:*", "anything", None));
        assert!(accepts("name:eq:a*b*c", "abc", None));
        assert!(!accepts("name:eq:a*b*c", "acb", None));
    }

    #[test]
    fn terms_are_anded_and_in_lists_work() {
        let raw = "name:eq:Revenue Dashboard,projectName:in:[Finance,Sales]";
        assert!(accepts(raw, "Revenue Dashboard", Some("Finance")));
        assert!(!accepts(raw, "Revenue Dashboard", Some("Marketing")));
        assert!(!accepts(raw, "Revenue Dashboard", None));
    }

    #[test]
    fn separators_inside_values_give_400065() {
        for raw in [
            "name:eq:P&L, Q1: Actuals",
            "name:eq:a,b",
            "name:eq:a:b",
            "name:eq:a&b",
            "name:eq:",
            "name",
            "name:in:a,b",
        ] {
            assert!(rejected_with(raw).contains("\"400065\""), "{raw}");
        }
        assert!(rejected_with("owner:eq:x").contains("'owner'"));
        assert!(rejected_with("name:gt:x").contains("'gt'"));
    }

    #[test]
    fn old_servers_refuse_an_encoded_filter() {
        let encoded = Some("filter=name%3Aeq%3ASales&pageSize=1000");
        let literal = Some("pageSize=1000&filter=name:eq:Sales%202024");
        let refused = refuse_encoded_on_old_server((3, 6), encoded).expect("refused");
        assert_eq!(refused.code(), Some("400065"));
        assert!(refuse_encoded_on_old_server((3, 6), literal).is_none());
        assert!(refuse_encoded_on_old_server((3, 7), encoded).is_none());
        assert!(refuse_encoded_on_old_server((3, 6), None).is_none());
    }

    #[test]
    fn paging_defaults_limits_and_slices() {
        let default = Paging::parse(None, None).expect("defaults");
        assert_eq!(default.json(3)["pageSize"], "100");
        assert!(Paging::parse(Some("1001"), None).is_err());
        assert!(Paging::parse(Some("0"), None).is_err());
        assert!(Paging::parse(None, Some("0")).is_err());
        let second = Paging::parse(Some("2"), Some("2")).expect("valid");
        assert_eq!(second.page(&[1, 2, 3]), &[3]);
        let past_end = Paging::parse(Some("2"), Some("9")).expect("valid");
        assert!(past_end.page(&[1, 2, 3]).is_empty());
    }
}
