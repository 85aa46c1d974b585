//! Which Tableau credentials the run signs in with, read from the environment: exactly one of a
//! personal access token (name + secret) or a connected app (client ID, secret ID, secret value,
//! user name). Anything else is a usage error that names every variable to set or unset.

use super::config::UsageError;
use crate::cli::RunArgs;
use crate::inputs::{self, Naming};
use crate::secret::{self, Secret};
use crate::tableau::auth::{ConnectedApp, Credentials, scopes_for_run};

const PAT_VARS: [&str; 2] = ["TABLEAU_API_TOKEN_NAME", "TABLEAU_API_TOKEN_SECRET"];
const APP_VARS: [&str; 4] = [
    "TABLEAU_CONNECTED_APP_CLIENT_ID",
    "TABLEAU_CONNECTED_APP_SECRET_ID",
    "TABLEAU_CONNECTED_APP_SECRET_VALUE",
    "TABLEAU_USERNAME",
];

/// Reads the credentials; the connected app's JWT asks for the scopes this run needs.
pub(super) fn from_env(run: &RunArgs, naming: Naming) -> Result<Credentials, UsageError> {
    let pat: Vec<Option<Secret>> = PAT_VARS.iter().map(|name| read(name)).collect();
    let app: Vec<Option<Secret>> = APP_VARS.iter().map(|name| read(name)).collect();
    // The variables that are set (`true`) or not, as one phrase: `inputs a and b` in Actions,
    // `A and B` elsewhere.
    let phrase = |values: &[Option<Secret>], vars: &[&'static str], present: bool| {
        let chosen: Vec<inputs::Input> = values
            .iter()
            .zip(vars)
            .filter(|(value, _)| value.is_some() == present)
            .map(|(_, var)| inputs::env_only(var))
            .collect();
        (chosen.len(), naming.list(&chosen, "and"))
    };
    let (pat_set, pat_set_names) = phrase(&pat, &PAT_VARS, true);
    let (app_set, app_set_names) = phrase(&app, &APP_VARS, true);
    match (pat_set == 0, app_set == 0) {
        (true, true) => Err(UsageError(format!(
            "no Tableau credentials: set {} for a personal access token, or {} for a connected app",
            phrase(&pat, &PAT_VARS, false).1,
            phrase(&app, &APP_VARS, false).1
        ))),
        (false, false) => Err(UsageError(format!(
            "both a personal access token ({pat_set_names}) and a connected app \
             ({app_set_names}) are set: keep one kind of Tableau credentials and unset the other"
        ))),
        (false, true) => match (&pat[0], &pat[1]) {
            (Some(name), Some(secret)) => Ok(Credentials::Pat {
                name: name.expose().to_string(),
                secret: secret.clone(),
            }),
            _ => Err(UsageError(format!(
                "the personal access token is incomplete: {} not set",
                is_are(phrase(&pat, &PAT_VARS, false))
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
                is_are(phrase(&app, &APP_VARS, false))
            ))),
        },
    }
}

/// A variable's value, trimmed; blank counts as unset (an action input left empty).
fn read(name: &str) -> Option<Secret> {
    secret::from_env(name)
}

/// `A is` or `A and B are`.
fn is_are((count, names): (usize, String)) -> String {
    if count == 1 {
        format!("{names} is")
    } else {
        format!("{names} are")
    }
}
