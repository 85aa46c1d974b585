//! Workbooks, data sources and projects as the real server renders them: Query Workbooks/Data
//! Sources/Projects (filter, paging, `{}` for an empty list, numbers as strings) and Get Workbook/Data
//! Source by id.

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::filter::{list_query, param};
use super::model::{SimConfig, SimItem, SimProject};
use super::reply::Reply;
use super::state::{JobPhase, State};

/// The two kinds of content that have extracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ContentKind {
    Workbook,
    Datasource,
}

impl ContentKind {
    /// The JSON key of one item (`workbook`), also the path segment's singular.
    pub(super) fn singular(self) -> &'static str {
        match self {
            Self::Workbook => "workbook",
            Self::Datasource => "datasource",
        }
    }

    /// The JSON key of the list and the path segment (`workbooks`).
    pub(super) fn plural(self) -> &'static str {
        match self {
            Self::Workbook => "workbooks",
            Self::Datasource => "datasources",
        }
    }

    /// How error details name the kind.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Workbook => "workbook",
            Self::Datasource => "data source",
        }
    }

    pub(super) fn not_found(self) -> Reply {
        Reply::canned(match self {
            Self::Workbook => "404006",
            Self::Datasource => "404011",
        })
    }
}

/// An item with what the server derives from it once, at start-up.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) kind: ContentKind,
    pub(super) item: SimItem,
    project: Option<SimProject>,
    content_url: String,
    /// The number in the item's `webpageUrl` (the real server's repository id).
    web_id: usize,
    created_at: DateTime<Utc>,
}

/// All content, read-only while the server runs.
#[derive(Debug)]
pub(super) struct Catalog {
    base_url: String,
    projects: Vec<SimProject>,
    entries: Vec<Entry>,
}

impl Catalog {
    pub(super) fn new(config: &SimConfig, base_url: &str) -> Self {
        let items = config
            .workbooks
            .iter()
            .map(|item| (ContentKind::Workbook, item))
            .chain(
                config
                    .datasources
                    .iter()
                    .map(|item| (ContentKind::Datasource, item)),
            );
        let mut entries: Vec<Entry> = Vec::new();
        for (index, (kind, item)) in items.enumerate() {
            // The server strips a name to letters and digits for contentUrl and suffixes `_0`, `_1`…
            // when that is taken on the site (TSC asset request_option_filter_equals.xml).
            let base: String = item.name.chars().filter(|c| c.is_alphanumeric()).collect();
            let taken = |url: &str| {
                entries
                    .iter()
                    .any(|e| e.kind == kind && e.item.site == item.site && e.content_url == url)
            };
            let mut content_url = base.clone();
            let mut suffix = 0;
            while taken(&content_url) {
                content_url = format!("{base}_{suffix}");
                suffix += 1;
            }
            let days = i64::try_from(index).unwrap_or(0);
            entries.push(Entry {
                kind,
                item: item.clone(),
                project: item
                    .project_id
                    .as_ref()
                    .and_then(|id| config.projects.iter().find(|p| &p.id == id).cloned()),
                content_url,
                web_id: 101 + index,
                // 2024-01-15T09:30:00Z plus a day per item: fixed, so snapshots stay stable.
                created_at: DateTime::from_timestamp(1_705_311_000 + days * 86_400, 0)
                    .unwrap_or_default(),
            });
        }
        Self {
            base_url: base_url.to_owned(),
            projects: config.projects.clone(),
            entries,
        }
    }

    pub(super) fn find(&self, kind: ContentKind, site: &str, id: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.item.site == site && e.item.id == id)
    }

    /// Query Workbooks / Query Data Sources on `site`.
    pub(super) fn list(
        &self,
        state: &State,
        kind: ContentKind,
        site: &str,
        params: &[(String, String)],
    ) -> Reply {
        let (filter, paging) = match list_query(params, &["name", "projectName"]) {
            Ok(query) => query,
            Err(reply) => return reply,
        };
        let all_fields = param(params, "fields").is_some_and(|f| f.contains("_all_"));
        let matching: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.kind == kind && e.item.site == site)
            .filter(|e| {
                filter.matches(|field| match field {
                    "name" => Some(e.item.name.as_str()),
                    "projectName" => e.project.as_ref().map(|p| p.name.as_str()),
                    _ => None,
                })
            })
            .collect();
        let page: Vec<Value> = paging
            .page(&matching)
            .iter()
            .map(|e| self.item_json(e, state, all_fields))
            .collect();
        Reply::document(
            StatusCode::OK,
            &json!({
                "pagination": paging.json(matching.len()),
                kind.plural(): wrap_list(kind.singular(), page),
            }),
        )
    }

    /// Get Workbook / Get Data Source.
    pub(super) fn get(&self, state: &State, kind: ContentKind, site: &str, id: &str) -> Reply {
        match self.find(kind, site, id) {
            Some(entry) => Reply::document(
                StatusCode::OK,
                &json!({ kind.singular(): self.item_json(entry, state, true) }),
            ),
            None => kind.not_found(),
        }
    }

    /// Query Projects (projects exist on every site in the simulator).
    pub(super) fn list_projects(&self, params: &[(String, String)]) -> Reply {
        let (filter, paging) = match list_query(params, &["name", "parentProjectId"]) {
            Ok(query) => query,
            Err(reply) => return reply,
        };
        let matching: Vec<&SimProject> = self
            .projects
            .iter()
            .filter(|p| {
                filter.matches(|field| match field {
                    "name" => Some(p.name.as_str()),
                    "parentProjectId" => p.parent_id.as_deref(),
                    _ => None,
                })
            })
            .collect();
        let page: Vec<Value> = paging
            .page(&matching)
            .iter()
            .map(|p| {
                let mut project = json!({
                    "id": p.id,
                    "name": p.name,
                    "description": "",
                    "contentPermissions": "ManagedByOwner",
                });
                // Top-level projects have no parentProjectId key at all.
                if let (Some(parent), Some(object)) = (&p.parent_id, project.as_object_mut()) {
                    object.insert("parentProjectId".into(), json!(parent));
                }
                project
            })
            .collect();
        Reply::document(
            StatusCode::OK,
            &json!({
                "pagination": paging.json(matching.len()),
                "projects": wrap_list("project", page),
            }),
        )
    }

    fn item_json(&self, entry: &Entry, state: &State, all_fields: bool) -> Value {
        let item = &entry.item;
        let site_part = if item.site.is_empty() {
            String::new()
        } else {
            format!("site/{}/", item.site)
        };
        // A successful refresh moves updatedAt, which lets a client confirm a job it lost track of.
        let updated_at = last_refresh(state, entry)
            .unwrap_or(entry.created_at + chrono::Duration::hours(2))
            .max(entry.created_at);
        let mut object = Map::new();
        let mut put = |key: &str, value: Value| {
            object.insert(key.to_owned(), value);
        };
        put("id", json!(item.id));
        put("name", json!(item.name));
        put("contentUrl", json!(entry.content_url));
        put(
            "webpageUrl",
            json!(format!(
                "{}/#/{site_part}{}/{}",
                self.base_url,
                entry.kind.plural(),
                entry.web_id
            )),
        );
        put("createdAt", json!(timestamp(entry.created_at)));
        put("updatedAt", json!(timestamp(updated_at)));
        put("size", json!("1"));
        put("encryptExtracts", json!("false"));
        if let Some(project) = &entry.project {
            put("project", json!({"id": project.id, "name": project.name}));
        }
        put("owner", json!({"id": super::state::stable_luid("owner")}));
        put("tags", json!({}));
        match entry.kind {
            ContentKind::Workbook => {
                put("showTabs", json!("false"));
                // Workbooks reveal hasExtracts only with fields=_all_ (or on Get Workbook here).
                if all_fields {
                    put("hasExtracts", json!(item.has_extracts.to_string()));
                }
            }
            ContentKind::Datasource => {
                let source = if item.has_extracts {
                    "hyper"
                } else {
                    "postgres"
                };
                put("type", json!(source));
                put("hasExtracts", json!(item.has_extracts.to_string()));
                put("isCertified", json!("false"));
                put("useRemoteQueryAgent", json!(item.bridge.to_string()));
            }
        }
        Value::Object(object)
    }
}

/// `{"workbook":[…]}`, or `{}` when empty: the real server omits the key rather than send `[]`.
fn wrap_list(key: &str, items: Vec<Value>) -> Value {
    if items.is_empty() {
        json!({})
    } else {
        json!({ key: items })
    }
}

/// When the item's latest successful (finishCode 0 or 3) refresh completed.
fn last_refresh(state: &State, entry: &Entry) -> Option<DateTime<Utc>> {
    let now = Instant::now();
    state
        .jobs
        .values()
        .filter(|j| j.kind == entry.kind && j.site == entry.item.site && j.item_id == entry.item.id)
        .filter_map(|j| match j.phase(now) {
            JobPhase::Done {
                finish_code: 0 | 3,
                completed_at,
            } => Some(completed_at),
            _ => None,
        })
        .max()
}

/// RFC 3339 in UTC with seconds and `Z`, the server's timestamp format.
pub(super) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
