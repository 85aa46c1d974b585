//! GitHub credentials in the configuration: `GITHUB_TOKEN`, or a GitHub App (`GITHUB_APP_ID`, the
//! private key as text or a file, an optional installation id), exactly one of them. The App key is
//! checked to be a usable RSA key at start-up, and no message ever quotes a credential.

use std::path::Path;

use super::config::{ConfigError, fail};
use crate::cli::RelayArgs;
use crate::secret::Secret;

/// How the relay authenticates to GitHub.
#[derive(Clone, Debug)]
pub enum GitHubAuth {
    /// A PAT (classic with `repo`, or fine-grained with Contents read & write) or another token.
    Token(Secret),
    App(AppCredentials),
}

/// A GitHub App: the relay mints installation tokens limited to the one repository.
#[derive(Clone, Debug)]
pub struct AppCredentials {
    pub app_id: u64,
    /// The PEM text of the app's private key.
    pub private_key: Secret,
    /// Looked up for the repository when not given.
    pub installation_id: Option<u64>,
}

/// `GITHUB_TOKEN`, or the GitHub App variables; exactly one of them.
pub(super) fn github_auth(
    args: &RelayArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<GitHubAuth, ConfigError> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let token = set("GITHUB_TOKEN");
    let app_id = set("GITHUB_APP_ID");
    let key_text = set("GITHUB_APP_PRIVATE_KEY");
    let key_file = args.github_app_private_key_file.as_deref();
    let installation = set("GITHUB_APP_INSTALLATION_ID");
    let app_wanted = app_id.is_some() || key_text.is_some() || key_file.is_some();
    match (token, app_wanted) {
        (Some(_), true) => fail(
            "both GITHUB_TOKEN and GitHub App settings are set: keep one (the App's installation \
             token is limited to the one repository, so it is the safer choice)",
        ),
        (Some(token), false) => {
            let token = token.trim();
            // The token goes into an HTTP header; a pasted control character would make every
            // request fail, so refuse it here instead.
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                return fail(
                    "GITHUB_TOKEN contains spaces or characters an HTTP header cannot carry",
                );
            }
            Ok(GitHubAuth::Token(Secret::new(token)))
        }
        (None, false) => fail(
            "no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY \
             (or --github-app-private-key-file)",
        ),
        (None, true) => {
            let Some(app_id) = app_id else {
                return fail("a GitHub App private key is set but GITHUB_APP_ID is not");
            };
            let Ok(app_id) = app_id.trim().parse::<u64>() else {
                return fail("GITHUB_APP_ID must be the App's numeric ID (on its settings page)");
            };
            let private_key = private_key(key_text, key_file)?;
            let installation_id = match installation {
                None => None,
                Some(id) => match id.trim().parse::<u64>() {
                    Ok(id) => Some(id),
                    Err(_) => return fail("GITHUB_APP_INSTALLATION_ID must be a number"),
                },
            };
            Ok(GitHubAuth::App(AppCredentials {
                app_id,
                private_key,
                installation_id,
            }))
        }
    }
}

/// The App's private key, from the variable or the file, checked to be a usable RSA PEM key.
fn private_key(text: Option<String>, file: Option<&Path>) -> Result<Secret, ConfigError> {
    let (pem, source) = match (text, file) {
        (Some(_), Some(_)) => {
            return fail(
                "both GITHUB_APP_PRIVATE_KEY and --github-app-private-key-file are set: keep one",
            );
        }
        (Some(text), None) => (text, "GITHUB_APP_PRIVATE_KEY".to_owned()),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => (text, format!("the file {}", path.display())),
            Err(err) => {
                return fail(format!(
                    "cannot read the GitHub App private key file {}: {}",
                    path.display(),
                    err.kind()
                ));
            }
        },
        (None, None) => {
            return fail(
                "GITHUB_APP_ID is set but no private key: set GITHUB_APP_PRIVATE_KEY (the PEM \
                 text) or --github-app-private-key-file",
            );
        }
    };
    // Platforms that take only one-line values often store the PEM with `\n` escapes.
    let pem = if pem.contains('\n') {
        pem.trim().to_owned()
    } else {
        pem.trim().replace("\\n", "\n")
    };
    // The parse error is not shown: it says nothing useful and must not risk quoting the key.
    if octocrab::jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).is_err() {
        return fail(format!(
            "{source} is not an RSA private key in PEM form (the .pem file GitHub lets you \
             download, starting with -----BEGIN RSA PRIVATE KEY-----)"
        ));
    }
    Ok(Secret::new(pem))
}

#[cfg(test)]
mod tests {
    use super::super::config::tests::{args, config, error};
    use super::*;

    const PEM: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/github-app-test-only.private-key.pem"
    ));

    #[test]
    fn github_app_settings() {
        let app = [
            ("DBT_WEBHOOK_KEY", "k"),
            ("GITHUB_APP_ID", "123"),
            ("GITHUB_APP_PRIVATE_KEY", PEM),
        ];
        let c = config(&args(), &app).expect("valid");
        let GitHubAuth::App(creds) = &c.github else {
            panic!("app auth expected")
        };
        assert_eq!((creds.app_id, creds.installation_id), (123, None));

        // The one-line form some platforms store.
        let escaped = PEM.trim().replace('\n', "\\n");
        let one_line = [app[0], app[1], ("GITHUB_APP_PRIVATE_KEY", escaped.as_str())];
        assert!(config(&args(), &one_line).is_ok());

        let with_id = [app[0], app[1], app[2], ("GITHUB_APP_INSTALLATION_ID", "77")];
        let c = config(&args(), &with_id).expect("valid");
        assert!(matches!(
            c.github,
            GitHubAuth::App(AppCredentials {
                installation_id: Some(77),
                ..
            })
        ));

        let both = [app[0], app[1], app[2], ("GITHUB_TOKEN", "ghp_x")];
        assert!(error(&args(), &both).contains("both GITHUB_TOKEN"));
        assert!(error(&args(), &[app[0], app[2]]).contains("GITHUB_APP_ID is not"));
        assert!(error(&args(), &[app[0], app[1]]).contains("no private key"));
        let garbage = [
            app[0],
            app[1],
            ("GITHUB_APP_PRIVATE_KEY", "-----BEGIN sekrit"),
        ];
        let e = error(&args(), &garbage);
        assert!(
            e.contains("is not an RSA private key") && !e.contains("sekrit"),
            "{e}"
        );
        let missing_file = RelayArgs {
            github_app_private_key_file: Some("/nonexistent/key.pem".into()),
            ..args()
        };
        let e = error(&missing_file, &[app[0], app[1]]);
        assert!(
            e.contains("cannot read the GitHub App private key file"),
            "{e}"
        );
    }
}
