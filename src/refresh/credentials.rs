//! Which Tableau credentials the run signs in with, read from the environment: exactly one of a
//! personal access token (name + secret) or a connected app (client ID, secret ID, secret value,
//! user name). Anything else is a usage error that names every variable to set or unset.

use super::config::UsageError;
use crate::cli::RunArgs;
use crate::secret::{self, Secret};
use crate::tableau::auth::{ConnectedApp, Credentials, scopes_for_run};

const PAT_VARS: [(&str, &str); 2] = [
    ("TABLEAU_API_TOKEN_NAME", "tableau-api-token-name"),
    ("TABLEAU_API_TOKEN_SECRET", "tableau-api-token-secret"),
];
const APP_VARS: [(&str, &str); 4] = [
    (
        "TABLEAU_CONNECTED_APP_CLIENT_ID",
        "tableau-connected-app-client-id",
    ),
    (
        "TABLEAU_CONNECTED_APP_SECRET_ID",
        "tableau-connected-app-secret-id",
    ),
    (
        "TABLEAU_CONNECTED_APP_SECRET_VALUE",
        "tableau-connected-app-secret-value",
    ),
    ("TABLEAU_USERNAME", "tableau-username"),
];

/// Reads the credentials; the connected app's JWT asks for the scopes this run needs.
pub(super) fn from_env(run: &RunArgs) -> Result<Credentials, UsageError> {
    let pat: Vec<Option<Secret>> = PAT_VARS.iter().map(|(name, _)| read(name)).collect();
    let app: Vec<Option<Secret>> = APP_VARS.iter().map(|(name, _)| read(name)).collect();
    let set = |values: &[Option<Secret>], vars: &[(&str, &str)]| -> Vec<String> {
        names(values, vars, true)
    };
    let missing = |values: &[Option<Secret>], vars: &[(&str, &str)]| -> Vec<String> {
        names(values, vars, false)
    };
    let pat_set = set(&pat, &PAT_VARS);
    let app_set = set(&app, &APP_VARS);
    match (pat_set.is_empty(), app_set.is_empty()) {
        (true, true) => Err(UsageError(format!(
            "no Tableau credentials: set {} for a personal access token, or {} for a connected app",
            missing(&pat, &PAT_VARS).join(" and "),
            missing(&app, &APP_VARS).join(", ")
        ))),
        (false, false) => Err(UsageError(format!(
            "both a personal access token ({}) and a connected app ({}) are set: keep one kind of \
             Tableau credentials and unset the other",
            pat_set.join(", "),
            app_set.join(", ")
        ))),
        (false, true) => match (&pat[0], &pat[1]) {
            (Some(name), Some(secret)) => Ok(Credentials::Pat {
                name: name.expose().to_string(),
                secret: secret.clone(),
            }),
            _ => Err(UsageError(format!(
                "the personal access token is incomplete: {} not set",
                is_are(&missing(&pat, &PAT_VARS))
            ))),
        },
        (true, false) => match (&app[0], &app[1], &app[2], &app[3]) {
            (Some(client_id), Some(secret_id), Some(secret_value), Some(username)) => {
                Ok(Credentials::ConnectedApp(ConnectedApp {
                    client_id: client_id.expose().to_string(),
                    secret_id: secret_id.expose().to_string(),
                    secret_value: secret_value.clone(),
                    username: username.expose().to_string(),
                    scopes: scopes_for_run(run.should_wait(), run.dry_run, run.cancel_on_timeout),
                }))
            }
            _ => Err(UsageError(format!(
                "the connected app is incomplete: {} not set",
                is_are(&missing(&app, &APP_VARS))
            ))),
        },
    }
}

/// A variable's value, trimmed; blank counts as unset (an action input left empty).
fn read(name: &str) -> Option<Secret> {
    secret::from_env(name)
}

/// `VAR (input name)` for the variables that are set (`present`) or not.
fn names(values: &[Option<Secret>], vars: &[(&str, &str)], present: bool) -> Vec<String> {
    values
        .iter()
        .zip(vars)
        .filter(|(value, _)| value.is_some() == present)
        .map(|(_, (var, input))| format!("{var} (input {input})"))
        .collect()
}

fn is_are(names: &[String]) -> String {
    match names {
        [one] => format!("{one} is"),
        many => format!("{} are", many.join(", ")),
    }
}
