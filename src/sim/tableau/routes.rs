//! Routing: which endpoint a method and path address (with the path parameters), which [`Route`] that
//! is for faults and the request log, and the `/api/{v}` version segment compared as numbers.

use axum::http::Method;

use super::content::ContentKind;
use super::faults::Route;

/// `"3.24"` -> `(3, 24)`; compared as numbers, so 3.9 < 3.10.
pub(super) fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The endpoint a request addresses, with its path parameters.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Endpoint {
    ServerInfo,
    SignIn,
    SignOut,
    List(String, ContentKind),
    ListProjects(String),
    Get(String, ContentKind, String),
    Refresh(String, ContentKind, String),
    QueryJob(String, String),
    CancelJob(String, String),
    /// `POST /api/metadata/graphql`: the Metadata API (no version segment).
    Metadata,
    /// A known path with another method.
    WrongMethod,
    Unknown,
}

impl Endpoint {
    pub(super) fn route(&self) -> Route {
        match self {
            Self::ServerInfo => Route::ServerInfo,
            Self::SignIn => Route::SignIn,
            Self::SignOut => Route::SignOut,
            Self::List(_, ContentKind::Workbook) => Route::QueryWorkbooks,
            Self::List(_, ContentKind::Datasource) => Route::QueryDatasources,
            Self::ListProjects(_) => Route::QueryProjects,
            Self::Get(_, ContentKind::Workbook, _) => Route::GetWorkbook,
            Self::Get(_, ContentKind::Datasource, _) => Route::GetDatasource,
            Self::Refresh(_, ContentKind::Workbook, _) => Route::RefreshWorkbook,
            Self::Refresh(_, ContentKind::Datasource, _) => Route::RefreshDatasource,
            Self::QueryJob(..) => Route::QueryJob,
            Self::CancelJob(..) => Route::CancelJob,
            Self::Metadata => Route::Metadata,
            Self::WrongMethod | Self::Unknown => Route::Any,
        }
    }

    /// The site LUID in the path, for endpoints under `/sites/{site-id}`.
    pub(super) fn site(&self) -> Option<&str> {
        match self {
            Self::List(site, _)
            | Self::ListProjects(site)
            | Self::Get(site, ..)
            | Self::Refresh(site, ..)
            | Self::QueryJob(site, _)
            | Self::CancelJob(site, _) => Some(site),
            _ => None,
        }
    }
}

/// `(version segment, endpoint)` of a path; the version is `None` outside `/api/`.
pub(super) fn classify<'a>(method: &Method, path: &'a str) -> (Option<&'a str>, Endpoint) {
    let Some(after_api) = path.strip_prefix("/api/") else {
        return (None, Endpoint::Unknown);
    };
    if matches!(after_api, "metadata/graphql" | "metadata/graphql/") {
        let endpoint = if *method == Method::POST {
            Endpoint::Metadata
        } else {
            Endpoint::WrongMethod
        };
        return (None, endpoint);
    }
    let mut segments: Vec<&str> = after_api.split('/').collect();
    if segments.len() > 1 && segments.last() == Some(&"") {
        segments.pop();
    }
    let version = segments.first().copied();
    let owned = |s: &&str| (*s).to_owned();
    let kind = |plural: &str| match plural {
        "workbooks" => Some(ContentKind::Workbook),
        "datasources" => Some(ContentKind::Datasource),
        _ => None,
    };
    let (wanted, endpoint) = match segments.get(1..).unwrap_or_default() {
        ["serverinfo" | "serverInfo"] => (Method::GET, Endpoint::ServerInfo),
        ["auth", "signin"] => (Method::POST, Endpoint::SignIn),
        ["auth", "signout"] => (Method::POST, Endpoint::SignOut),
        ["sites", site, "projects"] => (Method::GET, Endpoint::ListProjects(owned(site))),
        ["sites", site, "jobs", id] if *method == Method::PUT => {
            (Method::PUT, Endpoint::CancelJob(owned(site), owned(id)))
        }
        ["sites", site, "jobs", id] => (Method::GET, Endpoint::QueryJob(owned(site), owned(id))),
        ["sites", site, plural] => match kind(plural) {
            Some(kind) => (Method::GET, Endpoint::List(owned(site), kind)),
            None => return (version, Endpoint::Unknown),
        },
        ["sites", site, plural, id] => match kind(plural) {
            Some(kind) => (Method::GET, Endpoint::Get(owned(site), kind, owned(id))),
            None => return (version, Endpoint::Unknown),
        },
        ["sites", site, plural, id, "refresh"] => match kind(plural) {
            Some(kind) => (
                Method::POST,
                Endpoint::Refresh(owned(site), kind, owned(id)),
            ),
            None => return (version, Endpoint::Unknown),
        },
        _ => return (version, Endpoint::Unknown),
    };
    if *method == wanted {
        (version, endpoint)
    } else {
        (version, Endpoint::WrongMethod)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("3.9") < parse_version("3.10"));
        assert_eq!(parse_version("3.24"), Some((3, 24)));
        assert_eq!(parse_version("-"), None);
        assert_eq!(parse_version("3"), None);
    }

    #[test]
    fn classify_routes_and_methods() {
        let site = "s".to_owned();
        let id = "i".to_owned();
        let cases = [
            (Method::GET, "/api/3.24/serverInfo", Endpoint::ServerInfo),
            (Method::POST, "/api/3.24/auth/signin", Endpoint::SignIn),
            (Method::GET, "/api/3.24/auth/signin", Endpoint::WrongMethod),
            (
                Method::GET,
                "/api/3.24/sites/s/datasources/",
                Endpoint::List(site.clone(), ContentKind::Datasource),
            ),
            (
                Method::POST,
                "/api/3.24/sites/s/workbooks/i/refresh",
                Endpoint::Refresh(site.clone(), ContentKind::Workbook, id.clone()),
            ),
            (
                Method::PUT,
                "/api/3.24/sites/s/jobs/i",
                Endpoint::CancelJob(site.clone(), id.clone()),
            ),
            (Method::GET, "/api/3.24/sites/s/views", Endpoint::Unknown),
            (Method::POST, "/api/metadata/graphql", Endpoint::Metadata),
            (Method::GET, "/api/metadata/graphql", Endpoint::WrongMethod),
            (Method::GET, "/", Endpoint::Unknown),
        ];
        for (method, path, expected) in cases {
            assert_eq!(classify(&method, path).1, expected, "{method} {path}");
        }
    }
}
