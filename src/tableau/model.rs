//! JSON shapes of the Tableau REST API, decoded defensively: numbers may arrive as strings, empty
//! lists arrive as `{}`, and most fields may be missing.

use serde::{Deserialize, Deserializer};

/// `GET /serverinfo`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfoEnvelope {
    pub server_info: ServerInfo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    #[serde(default)]
    pub product_version: Option<ProductVersion>,
    pub rest_api_version: String,
}

/// `productVersion` is an element with text and a `build` attribute, so JSON has `value` + `build`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductVersion {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub build: Option<String>,
}

/// `POST /auth/signin` answer.
#[derive(Debug, Deserialize)]
pub struct CredentialsEnvelope {
    pub credentials: Credentials,
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub token: String,
    pub site: SiteRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteRef {
    pub id: String,
    #[serde(default)]
    pub content_url: Option<String>,
}

/// `pagination` of a list answer.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    #[serde(default, deserialize_with = "number")]
    pub page_number: u64,
    #[serde(default, deserialize_with = "number")]
    pub page_size: u64,
    #[serde(default, deserialize_with = "number")]
    pub total_available: u64,
}

/// A workbook or a published data source, as far as we need it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub project: Option<ProjectRef>,
    #[serde(default)]
    pub webpage_url: Option<String>,
    #[serde(default)]
    pub content_url: Option<String>,
    /// A data source served through Tableau Bridge: its refresh jobs report finishCode 0 when a
    /// Bridge client is assigned and 3 when done (docs/tableau-compat.md, G4).
    #[serde(default, deserialize_with = "flag")]
    pub use_remote_query_agent: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProjectRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A project, with its parent for building paths.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub parent_project_id: Option<String>,
}

/// One page of workbooks, data sources or projects. The list key is the plural (`workbooks`),
/// holding the singular (`workbook`) array, absent when empty.
#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub pagination: Pagination,
    #[serde(flatten)]
    pub lists: serde_json::Map<String, serde_json::Value>,
}

impl Page {
    /// The items under `plural.singular`; `{}` (or a missing key) is an empty list, and a lone
    /// object where an array was expected is taken as a list of one.
    pub fn items<T: serde::de::DeserializeOwned>(
        &self,
        plural: &str,
        singular: &str,
    ) -> Result<Vec<T>, serde_json::Error> {
        let Some(inner) = self.lists.get(plural).and_then(|list| list.get(singular)) else {
            return Ok(Vec::new());
        };
        match inner {
            serde_json::Value::Array(_) => Vec::<T>::deserialize(inner),
            serde_json::Value::Null => Ok(Vec::new()),
            single => Ok(vec![T::deserialize(single)?]),
        }
    }
}

/// `POST …/refresh` and `GET /jobs/{id}` answers.
#[derive(Debug, Deserialize)]
pub struct JobEnvelope {
    pub job: Job,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    #[serde(default, deserialize_with = "optional_number")]
    pub progress: Option<i64>,
    #[serde(default)]
    pub completed_at: Option<String>,
    #[serde(default, deserialize_with = "optional_number")]
    pub finish_code: Option<i64>,
    #[serde(default)]
    pub extract_refresh_job: Option<ExtractRefreshJob>,
    #[serde(default)]
    pub status_notes: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExtractRefreshJob {
    #[serde(default)]
    pub notes: Option<String>,
}

impl Job {
    /// `extractRefreshJob.notes`, else the texts of `statusNotes`, for failure messages.
    pub fn notes(&self) -> Option<String> {
        let notes = self
            .extract_refresh_job
            .as_ref()
            .and_then(|job| job.notes.clone())
            .filter(|text| !text.trim().is_empty());
        notes.or_else(|| {
            let texts: Vec<String> = self
                .status_notes
                .as_ref()
                .and_then(|notes| notes.get("statusNote"))
                .map(|list| match list {
                    serde_json::Value::Array(items) => items.clone(),
                    one => vec![one.clone()],
                })
                .unwrap_or_default()
                .iter()
                .filter_map(|note| note.get("text").and_then(serde_json::Value::as_str))
                .map(str::to_string)
                .collect();
            (!texts.is_empty()).then(|| texts.join("; "))
        })
    }

    /// Whether a status note reports an error code (a failure even with finishCode 0).
    pub fn has_error_note(&self) -> bool {
        let notes = self.status_notes.as_ref().and_then(|n| n.get("statusNote"));
        let is_error = |note: &serde_json::Value| {
            note.get("type").and_then(serde_json::Value::as_str) == Some("errorCode")
        };
        match notes {
            Some(serde_json::Value::Array(items)) => items.iter().any(is_error),
            Some(one) => is_error(one),
            None => false,
        }
    }
}

/// A count sent as a number or as a string holding one; anything else counts as 0.
fn number<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    Ok(optional_number(de)?
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or_default())
}

/// A boolean sent as a boolean or as the text of an XML attribute; anything else is `false`.
fn flag<'de, D: Deserializer<'de>>(de: D) -> Result<bool, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(de)? {
        Some(serde_json::Value::Bool(flag)) => flag,
        Some(serde_json::Value::String(text)) => text.trim().eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// A number sent as a number or a string; absent, empty or not numeric is `None`.
fn optional_number<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(de)? {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_with_string_numbers_and_empty_lists() {
        let page: Page = serde_json::from_str(
            r#"{"pagination":{"pageNumber":"1","pageSize":"1000","totalAvailable":"0"},"workbooks":{}}"#,
        )
        .expect("json");
        assert_eq!(page.pagination.page_size, 1000);
        assert!(
            page.items::<Item>("workbooks", "workbook")
                .expect("items")
                .is_empty()
        );

        let page: Page = serde_json::from_str(
            r#"{"pagination":{"pageNumber":1,"pageSize":100,"totalAvailable":"1"},
                "workbooks":{"workbook":{"id":"a","name":"Sales","project":{"id":"p","name":"Finance"}}}}"#,
        )
        .expect("json");
        let items = page.items::<Item>("workbooks", "workbook").expect("items");
        assert_eq!(items[0].name, "Sales");
        assert!(!items[0].use_remote_query_agent);
        assert_eq!(page.pagination.total_available, 1);
    }

    #[test]
    fn bridge_data_sources_are_flagged_as_boolean_or_text() {
        for flag in [r#"true"#, r#""true""#] {
            let item: Item = serde_json::from_str(&format!(
                r#"{{"id":"d","name":"Orders","useRemoteQueryAgent":{flag}}}"#
            ))
            .expect("json");
            assert!(item.use_remote_query_agent, "{flag}");
        }
        let item: Item =
            serde_json::from_str(r#"{"id":"d","name":"Orders","useRemoteQueryAgent":"false"}"#)
                .expect("json");
        assert!(!item.use_remote_query_agent);
    }

    #[test]
    fn jobs_decode_codes_as_strings_or_numbers_and_find_notes() {
        let job: JobEnvelope = serde_json::from_str(
            r#"{"job":{"id":"j","progress":"100","completedAt":"2020-05-13T20:25:18Z","finishCode":"1",
                "extractRefreshJob":{"notes":"Login failed for user"},
                "statusNotes":{"statusNote":[{"type":"errorCode","value":"x","text":"t"}]}}}"#,
        )
        .expect("json");
        assert_eq!(job.job.finish_code, Some(1));
        assert_eq!(job.job.notes().as_deref(), Some("Login failed for user"));
        assert!(job.job.has_error_note());

        let running: JobEnvelope =
            serde_json::from_str(r#"{"job":{"id":"j","progress":0}}"#).expect("json");
        assert_eq!(running.job.finish_code, None);
        assert!(running.job.completed_at.is_none());
        assert_eq!(running.job.notes(), None);
    }
}
