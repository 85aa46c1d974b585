//! GitHub authentication for the dispatch: a token as it is, or a GitHub App whose installation
//! token is minted for the one repository only (so a leaked relay credential reaches nothing else).
//! The installation is looked up lazily and cached, so that the relay starts (and answers its health
//! check) even while GitHub is unreachable.

use std::time::Duration;

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::config::{ConfigError, RelayConfig, Repository};
use super::credentials::GitHubAuth;

/// Connecting to GitHub takes well under a second when it is up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One read on the connection; the whole attempt is bounded by the dispatch budget anyway.
const READ_TIMEOUT: Duration = Duration::from_secs(6);
/// The REST API version the requests are written against.
const API_VERSION: &str = "2022-11-28";

/// Which call failed, so that the log can say what to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `GET /repos/{owner}/{repo}/installation` with the App's JWT.
    FindInstallation,
    /// `POST /app/installations/{id}/access_tokens` with the App's JWT.
    InstallationToken,
    /// `POST /repos/{owner}/{repo}/dispatches`.
    Dispatch,
    /// `GET /repos/{owner}/{repo}`: the start-up check.
    Repository,
}

/// A client ready to dispatch to the configured repository.
pub(crate) struct GitHubClient {
    mode: Mode,
    repository: Repository,
}

enum Mode {
    Token(Octocrab),
    App(Box<AppMode>),
}

struct AppMode {
    /// Authenticated as the App (JWT); used only to find the installation and mint tokens.
    app: Octocrab,
    installation_id: Option<u64>,
    /// The installation client, built once; it caches its token and mints a new one before the
    /// old one expires.
    installation: OnceCell<Octocrab>,
}

#[derive(Deserialize)]
struct InstallationRef {
    id: u64,
}

impl GitHubClient {
    /// Builds the clients. Needs a tokio runtime (octocrab starts a worker task).
    pub(crate) fn new(config: &RelayConfig) -> Result<Self, ConfigError> {
        crate::tls::install_crypto_provider();
        let builder = || -> Result<_, ConfigError> {
            let builder = Octocrab::builder()
                .base_uri(config.github_api_url.as_str())
                .map_err(|_| ConfigError("--github-api-url is not a usable URL".into()))?
                .add_header(
                    http::HeaderName::from_static("x-github-api-version"),
                    API_VERSION.into(),
                )
                .set_connect_timeout(Some(CONNECT_TIMEOUT))
                .set_read_timeout(Some(READ_TIMEOUT));
            Ok(builder)
        };
        let mode = match &config.github {
            GitHubAuth::Token(token) => {
                // An access-token client rather than `personal_token`: octocrab then builds the
                // header per request, marks it sensitive, and reports a bad value as an error
                // instead of panicking.
                let crab = builder()?
                    .build()
                    .and_then(|crab| crab.user_access_token(token.expose().to_owned()))
                    .map_err(|_| ConfigError("cannot build the GitHub client".into()))?;
                Mode::Token(crab)
            }
            GitHubAuth::App(app) => {
                let key = octocrab::jsonwebtoken::EncodingKey::from_rsa_pem(
                    app.private_key.expose().as_bytes(),
                )
                .map_err(|_| {
                    ConfigError("the GitHub App private key is not an RSA PEM key".into())
                })?;
                let crab = builder()?
                    .app(AppId(app.app_id), key)
                    .build()
                    .map_err(|_| ConfigError("cannot build the GitHub App client".into()))?;
                Mode::App(Box::new(AppMode {
                    app: crab,
                    installation_id: app.installation_id,
                    installation: OnceCell::new(),
                }))
            }
        };
        Ok(Self {
            mode,
            repository: config.repository.clone(),
        })
    }

    /// The client to dispatch with. For an App, this finds the installation (once) and makes sure a
    /// valid installation token is cached, so that a failure is reported for the step that failed.
    pub(crate) async fn client(&self) -> Result<&Octocrab, (Stage, octocrab::Error)> {
        match &self.mode {
            Mode::Token(crab) => Ok(crab),
            Mode::App(mode) => {
                let AppMode {
                    app,
                    installation_id,
                    installation,
                } = mode.as_ref();
                let crab = installation
                    .get_or_try_init(|| async {
                        let id = match installation_id {
                            Some(id) => *id,
                            None => self.find_installation(app).await?,
                        };
                        tracing::info!(
                            installation = id,
                            repository = %self.repository,
                            "GitHub App installation found; its tokens are limited to the repository"
                        );
                        app.installation_builder(InstallationId(id))
                            .repositories(vec![self.repository.name.clone()])
                            .build()
                            .map_err(|err| (Stage::InstallationToken, err))
                    })
                    .await?;
                // Cached until shortly before it expires; then a new one is minted.
                crab.installation_token()
                    .await
                    .map_err(|err| (Stage::InstallationToken, err))?;
                Ok(crab)
            }
        }
    }

    async fn find_installation(&self, app: &Octocrab) -> Result<u64, (Stage, octocrab::Error)> {
        let Repository { owner, name } = &self.repository;
        let route = format!("/repos/{owner}/{name}/installation");
        app.get::<InstallationRef, _, ()>(route, None)
            .await
            .map(|found| found.id)
            .map_err(|err| (Stage::FindInstallation, err))
    }

    /// Whether the relay authenticates as a GitHub App.
    pub(crate) fn is_app(&self) -> bool {
        matches!(self.mode, Mode::App(_))
    }
}
