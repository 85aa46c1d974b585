//! The four endpoints with GitHub's checks and error bodies: repository dispatches (token or
//! installation token, repository visibility, the `event_type` and `client_payload` limits), the
//! repository itself (the relay's start-up check), and for GitHub Apps the installation lookup and installation access tokens.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::app::new_installation_token;
use super::handlers::{Reply, Shared};
use super::state::{IssuedToken, SimAuth, SimDispatch, SimTokenRequest, lock};
use super::{MAX_CLIENT_PAYLOAD_CHARS, MAX_CLIENT_PAYLOAD_PROPERTIES};
use super::{MAX_EVENT_TYPE_CHARS, ONE_HOUR, SimApp};

/// The credential of a request: `Authorization: Bearer X` or `token X`.
fn credential(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let scheme = scheme.to_ascii_lowercase();
    (scheme == "bearer" || scheme == "token").then(|| token.trim())
}

fn unauthenticated(headers: &HeaderMap) -> Reply {
    if headers.contains_key(header::AUTHORIZATION) {
        Reply::error(StatusCode::UNAUTHORIZED, "Bad credentials")
    } else {
        Reply::error(StatusCode::UNAUTHORIZED, "Requires authentication")
    }
}

/// `POST /repos/{owner}/{repo}/dispatches`.
pub(super) fn dispatch(
    shared: &Shared,
    repository: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Reply {
    let auth = match repository_auth(shared, repository, headers) {
        Ok(auth) => auth,
        Err(reply) => return reply,
    };
    let mut state = lock(&shared.state);
    let raw_body = String::from_utf8_lossy(body).into_owned();
    let request: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return Reply::error(StatusCode::BAD_REQUEST, "Problems parsing JSON"),
    };
    let event_type = match request.get("event_type") {
        Some(Value::String(text)) => text.clone(),
        Some(_) => {
            return invalid("For 'properties/event_type', the value is not a string.");
        }
        None => return invalid("\"event_type\" wasn't supplied."),
    };
    let length = event_type.chars().count();
    if length == 0 || length > MAX_EVENT_TYPE_CHARS {
        return invalid(&format!(
            "For 'properties/event_type', \"{}\" is {length} characters; it must be 1 to \
             {MAX_EVENT_TYPE_CHARS}.",
            event_type.chars().take(20).collect::<String>()
        ));
    }
    let client_payload = match request.get("client_payload") {
        None => None,
        Some(Value::Object(map)) => {
            if map.len() > MAX_CLIENT_PAYLOAD_PROPERTIES {
                return invalid(&format!(
                    "No more than {MAX_CLIENT_PAYLOAD_PROPERTIES} properties are allowed; {} were \
                     supplied.",
                    map.len()
                ));
            }
            let chars = Value::Object(map.clone()).to_string().chars().count();
            if chars > MAX_CLIENT_PAYLOAD_CHARS {
                return Reply::error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "client_payload is too large.",
                );
            }
            Some(Value::Object(map.clone()))
        }
        Some(_) => return invalid("For 'properties/client_payload', the value is not an object."),
    };
    state.stats.dispatches.push(SimDispatch {
        repository: repository.to_owned(),
        event_type,
        client_payload,
        raw_body,
        auth,
    });
    Reply::no_content()
}

/// Who may act on `repository`: a configured token (on every repository the simulator has), or an
/// installation token of the App installed on it and minted for it. GitHub answers 404, not 403,
/// for a repository the credential cannot see.
fn repository_auth(
    shared: &Shared,
    repository: &str,
    headers: &HeaderMap,
) -> Result<SimAuth, Reply> {
    let Some(token) = credential(headers) else {
        return Err(unauthenticated(headers));
    };
    let state = lock(&shared.state);
    let auth = if shared.config.tokens.iter().any(|t| t == token) {
        SimAuth::Token
    } else if let Some(issued) = state.tokens.get(token) {
        let installed = shared
            .config
            .app
            .as_ref()
            .is_some_and(|app| app.installed_on.iter().any(|r| r == repository));
        let name = repository.split('/').nth(1).unwrap_or_default();
        let in_scope = issued
            .repositories
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name));
        if !(installed && in_scope) {
            return Err(Reply::error(StatusCode::NOT_FOUND, "Not Found"));
        }
        SimAuth::Installation(issued.installation_id)
    } else {
        return Err(Reply::error(StatusCode::UNAUTHORIZED, "Bad credentials"));
    };
    if !shared.config.repositories.iter().any(|r| r == repository) {
        return Err(Reply::error(StatusCode::NOT_FOUND, "Not Found"));
    }
    Ok(auth)
}

/// `GET /repos/{owner}/{repo}`: the fields of GitHub's "full repository" answer that a client
/// would read, in GitHub's shape, with `permissions` (the role on the repository).
pub(super) fn repository(shared: &Shared, repository: &str, headers: &HeaderMap) -> Reply {
    if let Err(reply) = repository_auth(shared, repository, headers) {
        return reply;
    }
    let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
    let id = shared
        .config
        .repositories
        .iter()
        .position(|r| r == repository)
        .map_or(1, |i| 1_000 + i as u64);
    let api = "https://api.github.com";
    Reply::json(
        StatusCode::OK,
        json!({
            "id": id,
            "node_id": format!("R_sim{id}"),
            "name": name,
            "full_name": repository,
            "private": true,
            "owner": {
                "login": owner,
                "id": 1,
                "type": "Organization",
                "url": format!("{api}/users/{owner}"),
                "html_url": format!("https://github.com/{owner}"),
            },
            "html_url": format!("https://github.com/{repository}"),
            "description": null,
            "fork": false,
            "url": format!("{api}/repos/{repository}"),
            "default_branch": "main",
            "visibility": "private",
            "archived": false,
            "disabled": false,
            "permissions": {
                "admin": false, "maintain": false, "push": true, "triage": true, "pull": true,
            },
        }),
    )
}

fn invalid(detail: &str) -> Reply {
    Reply::error(
        StatusCode::UNPROCESSABLE_ENTITY,
        &format!("Invalid request.\n\n{detail}"),
    )
}

/// Checks the app JWT of an app endpoint.
fn app_auth<'s>(shared: &'s Shared, headers: &HeaderMap) -> Result<&'s SimApp, Reply> {
    let (Some(app), Some(verifier)) = (&shared.config.app, &shared.app) else {
        return Err(Reply::error(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        ));
    };
    let Some(jwt) = credential(headers) else {
        return Err(unauthenticated(headers));
    };
    verifier
        .verify(jwt)
        .map_err(|message| Reply::error(StatusCode::UNAUTHORIZED, message))?;
    Ok(app)
}

/// `GET /repos/{owner}/{repo}/installation`.
pub(super) fn installation(shared: &Shared, repository: &str, headers: &HeaderMap) -> Reply {
    let app = match app_auth(shared, headers) {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    if !app.installed_on.iter().any(|r| r == repository) {
        return Reply::error(StatusCode::NOT_FOUND, "Not Found");
    }
    lock(&shared.state)
        .stats
        .installation_lookups
        .push(repository.to_owned());
    let owner = repository.split('/').next().unwrap_or_default();
    let id = app.installation_id;
    Reply::json(
        StatusCode::OK,
        json!({
            "id": id,
            "app_id": app.app_id,
            "target_type": "Organization",
            "account": {"login": owner, "type": "Organization"},
            "access_tokens_url": format!("/app/installations/{id}/access_tokens"),
            "repository_selection": "selected",
            "permissions": {"contents": "write", "metadata": "read"},
            "events": [],
        }),
    )
}

/// `POST /app/installations/{id}/access_tokens`.
pub(super) fn access_token(shared: &Shared, id: &str, headers: &HeaderMap, body: &Bytes) -> Reply {
    let app = match app_auth(shared, headers) {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    if id.parse::<u64>().ok() != Some(app.installation_id) {
        return Reply::error(StatusCode::NOT_FOUND, "Not Found");
    }
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(value @ Value::Object(_)) => value,
            _ => return Reply::error(StatusCode::BAD_REQUEST, "Problems parsing JSON"),
        }
    };
    let repositories = match request.get("repositories") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let names: Option<Vec<String>> = items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect();
            match names {
                Some(names) => Some(names),
                None => return invalid("For 'items', the value is not a string."),
            }
        }
        Some(_) => return invalid("For 'properties/repositories', the value is not an array."),
    };
    let installed_names: Vec<&str> = app
        .installed_on
        .iter()
        .filter_map(|full| full.split('/').nth(1))
        .collect();
    if let Some(names) = &repositories
        && names.iter().any(|n| !installed_names.contains(&n.as_str()))
    {
        return Reply::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "There is at least one repository that does not exist or is not accessible to the \
             parent installation.",
        );
    }
    let token = new_installation_token();
    let mut state = lock(&shared.state);
    state.tokens.insert(
        token.clone(),
        IssuedToken {
            installation_id: app.installation_id,
            repositories: repositories.clone(),
        },
    );
    state.stats.token_requests.push(SimTokenRequest {
        installation_id: app.installation_id,
        token: token.clone(),
        repositories,
    });
    let expires_at = (chrono::Utc::now() + ONE_HOUR).format("%Y-%m-%dT%H:%M:%SZ");
    Reply::json(
        StatusCode::CREATED,
        json!({
            "token": token,
            "expires_at": expires_at.to_string(),
            "permissions": {"contents": "write", "metadata": "read"},
            "repository_selection": "selected",
        }),
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn credentials_take_both_schemes() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("token abc"));
        assert_eq!(credential(&headers), Some("abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(credential(&headers), Some("xyz"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(credential(&headers), None);
    }
}
