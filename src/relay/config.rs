//! The relay's configuration: flags and their environment variables (clap), plus the secrets that
//! are read from the environment only. Everything is validated before the relay listens, so a
//! broken setup fails at start-up with a message that names the variable, never its value.

use std::net::SocketAddr;
use std::time::Duration;

use super::credentials::{GitHubAuth, github_auth};
use crate::cli::{RelayArgs, split_list};
use crate::dbt::decision::printable;
use crate::secret::{Secret, split_lines};

/// The dbt Cloud event types; anything else in `--event-types` is a typo.
pub const DBT_EVENT_TYPES: [&str; 3] = ["job.run.started", "job.run.completed", "job.run.errored"];
/// Where the relay listens when neither `--listen`/`RELAY_LISTEN` nor `PORT` is set.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// How long one webhook may take, from the arrival of its request (its headers) until GitHub has
/// accepted the dispatch: the body read, the wait for a slot and the dispatch with its retries all
/// fit in it. dbt Cloud counts an answer slower than 10 s as a failure (and switches the webhook
/// off after 5 in a row), so the budget leaves room for writing the answer and for the network.
pub const DEFAULT_DISPATCH_BUDGET: Duration = Duration::from_secs(8);
/// Verified webhooks handled at once; more wait for a slot (within the dispatch budget). A slot is
/// taken only after the body was read and its signature checked, so unsigned clients never hold
/// one.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 256;
/// When `--max-event-age` is 0 (no limit), event ids are still remembered this long.
const UNLIMITED_DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Everything the relay needs, validated.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    pub listen: SocketAddr,
    /// The dbt webhook secrets; a body signed with any of them is accepted.
    pub keys: Vec<Secret>,
    pub repository: Repository,
    pub github: GitHubAuth,
    /// The REST API root without a trailing slash (GitHub Enterprise Server: `https://HOST/api/v3`).
    pub github_api_url: String,
    /// dbt event types that are forwarded; others are answered 200 "ignored".
    pub event_types: Vec<String>,
    /// Events older than this are answered 200 "ignored"; `None` = no limit.
    pub max_event_age: Option<Duration>,
    /// Counted from the request's arrival, not from the start of the handler.
    pub dispatch_budget: Duration,
    pub concurrency_limit: usize,
    /// Open connections allowed from one client address; 0 = no per-client cap (only the overall
    /// one, [`super::limits::MAX_CONNECTIONS`]).
    pub max_connections_per_client: usize,
}

impl RelayConfig {
    /// How long a dispatched event id is remembered: as long as the event would be accepted.
    pub fn dedupe_window(&self) -> Duration {
        self.max_event_age.unwrap_or(UNLIMITED_DEDUPE_WINDOW)
    }
}

/// `OWNER/REPO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl std::fmt::Display for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl Repository {
    /// Parses `OWNER/REPO`. Only the characters GitHub allows in names are accepted, so the parts
    /// can go into a URL path as they are.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let valid = |part: &str| {
            !part.is_empty()
                && part.len() <= 100
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Ok(Self {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(ConfigError(format!(
                "the repository `{}` is not OWNER/REPO (e.g. acme/analytics)",
                printable(text)
            ))),
        }
    }
}

/// A configuration problem, caught before the relay listens. The message never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

pub(super) fn fail<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

impl RelayConfig {
    /// Builds the configuration from the flags and the process environment.
    pub fn from_args(args: &RelayArgs) -> Result<Self, ConfigError> {
        Self::from_args_and_env(args, |name| std::env::var(name).ok())
    }

    /// Builds the configuration from the flags and an environment lookup (tests pass their own).
    pub fn from_args_and_env(
        args: &RelayArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let listen = listen_address(args.listen.as_deref(), env("PORT").as_deref())?;
        let keys = env("DBT_WEBHOOK_KEY")
            .map(|value| split_lines(&value))
            .unwrap_or_default();
        if keys.is_empty() {
            return fail(
                "DBT_WEBHOOK_KEY is not set: give it the dbt Cloud webhook secret (several \
                 webhooks or a key rotation: one secret per line)",
            );
        }
        let repository = match args.repository.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Repository::parse(text)?,
            _ => {
                return fail(
                    "no repository: set GITHUB_REPOSITORY or --repository OWNER/REPO (the \
                     repository whose workflow runs on repository_dispatch)",
                );
            }
        };
        let github = github_auth(args, &env)?;
        let github_api_url = api_url(&args.github_api_url)?;
        let event_types = event_types(&args.event_types)?;
        let max_event_age = Some(args.max_event_age).filter(|age| !age.is_zero());
        Ok(Self {
            listen,
            keys,
            repository,
            github,
            github_api_url,
            event_types,
            max_event_age,
            dispatch_budget: DEFAULT_DISPATCH_BUDGET,
            concurrency_limit: DEFAULT_CONCURRENCY_LIMIT,
            max_connections_per_client: args.max_connections_per_client,
        })
    }
}

/// `--listen`/`RELAY_LISTEN`, else `0.0.0.0:$PORT` (container platforms set PORT), else the default.
fn listen_address(listen: Option<&str>, port: Option<&str>) -> Result<SocketAddr, ConfigError> {
    if let Some(listen) = listen.map(str::trim).filter(|l| !l.is_empty()) {
        return parse_listen(listen).ok_or_else(|| {
            ConfigError(format!(
                "--listen/RELAY_LISTEN `{}` is not an address like 0.0.0.0:8080, :8080 (every \
                 interface), localhost:8080 or [::]:8080",
                printable(listen)
            ))
        });
    }
    if let Some(port) = port.map(str::trim).filter(|p| !p.is_empty()) {
        return match port.parse::<u16>() {
            Ok(port) => Ok(SocketAddr::from(([0, 0, 0, 0], port))),
            Err(_) => fail(format!("PORT `{}` is not a port number", printable(port))),
        };
    }
    DEFAULT_LISTEN
        .parse()
        .or_else(|_| fail("the default listen address is malformed"))
}

/// An IP address and port, or the two shorthands people type (as Go's `net.Listen` takes them):
/// `:PORT` for every IPv4 interface (0.0.0.0), and `localhost:PORT` for the IPv4 loopback
/// (127.0.0.1; no name lookup, so the answer cannot depend on /etc/hosts or DNS).
fn parse_listen(text: &str) -> Option<SocketAddr> {
    if let Ok(address) = text.parse() {
        return Some(address);
    }
    let (host, port) = text.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    if host.is_empty() {
        Some(SocketAddr::from(([0, 0, 0, 0], port)))
    } else if host.eq_ignore_ascii_case("localhost") {
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    } else {
        None
    }
}

fn api_url(text: &str) -> Result<String, ConfigError> {
    let url = text.trim().trim_end_matches('/');
    let parsed = url.parse::<http::Uri>();
    match parsed {
        Ok(uri)
            if matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some()
                && uri.query().is_none() =>
        {
            Ok(url.to_owned())
        }
        _ => fail(format!(
            "--github-api-url/GITHUB_API_URL `{}` is not an http(s) URL like \
             https://api.github.com or https://github.example.com/api/v3",
            printable(url)
        )),
    }
}

fn event_types(values: &[String]) -> Result<Vec<String>, ConfigError> {
    let types = split_list(values, true);
    if types.is_empty() {
        return fail("--event-types/RELAY_EVENT_TYPES is empty: give at least job.run.completed");
    }
    if let Some(unknown) = types
        .iter()
        .find(|t| !DBT_EVENT_TYPES.contains(&t.as_str()))
    {
        return fail(format!(
            "--event-types/RELAY_EVENT_TYPES: `{}` is not a dbt Cloud event type ({})",
            printable(unknown),
            DBT_EVENT_TYPES.join(", ")
        ));
    }
    Ok(types)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const BASE: [(&str, &str); 2] = [("DBT_WEBHOOK_KEY", "k1\n k2 \n"), ("GITHUB_TOKEN", "ghp_x")];

    /// The flags as clap fills them with nothing given. Built by hand so that the environment
    /// the tests run in (GITHUB_REPOSITORY, GITHUB_API_URL inside Actions) cannot leak in.
    pub(in crate::relay) fn args() -> RelayArgs {
        RelayArgs {
            listen: None,
            repository: Some("acme/analytics".into()),
            github_api_url: "https://api.github.com".into(),
            github_app_private_key_file: None,
            event_types: vec!["job.run.completed".into()],
            max_event_age: Duration::from_secs(3600),
            max_connections_per_client: super::super::limits::DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            log_format: Default::default(),
        }
    }

    pub(in crate::relay) fn config(
        args: &RelayArgs,
        vars: &[(&str, &str)],
    ) -> Result<RelayConfig, ConfigError> {
        RelayConfig::from_args_and_env(args, |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    pub(in crate::relay) fn error(args: &RelayArgs, vars: &[(&str, &str)]) -> String {
        config(args, vars).expect_err("must be refused").0
    }

    #[test]
    fn defaults_and_the_listen_address() {
        let c = config(&args(), &BASE).expect("valid");
        assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.keys.len(), 2);
        assert_eq!(c.repository.to_string(), "acme/analytics");
        assert_eq!(c.github_api_url, "https://api.github.com");
        assert_eq!(c.event_types, ["job.run.completed"]);
        assert_eq!(c.max_event_age, Some(Duration::from_secs(3600)));
        assert!(matches!(c.github, GitHubAuth::Token(_)));

        let with_port = [BASE[0], BASE[1], ("PORT", "9000")];
        let c = config(&args(), &with_port).expect("valid");
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        let listen = RelayArgs {
            listen: Some("127.0.0.1:0".into()),
            ..args()
        };
        let c = config(&listen, &with_port).expect("valid");
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");

        let bad_port = [BASE[0], BASE[1], ("PORT", "http")];
        assert!(error(&args(), &bad_port).contains("PORT `http`"));
        for bad in [
            "localhost",
            "example.com:8080",
            ":http",
            ":70000",
            "127.0.0.1",
            "0.0.0.0:",
        ] {
            let bad_listen = RelayArgs {
                listen: Some(bad.into()),
                ..args()
            };
            let message = error(&bad_listen, &BASE);
            assert!(
                message.contains("--listen") && message.contains(":8080"),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn listen_takes_a_bare_port_for_every_interface_and_localhost_for_the_loopback() {
        let listen = |text: &str| {
            let args = RelayArgs {
                listen: Some(text.into()),
                ..args()
            };
            config(&args, &[BASE[0], BASE[1], ("PORT", "9000")])
                .expect("valid")
                .listen
                .to_string()
        };
        assert_eq!(listen(":8080"), "0.0.0.0:8080");
        assert_eq!(listen(" :0 "), "0.0.0.0:0");
        assert_eq!(listen("localhost:8080"), "127.0.0.1:8080");
        assert_eq!(listen("LocalHost:8080"), "127.0.0.1:8080");
        assert_eq!(listen("[::]:8080"), "[::]:8080");
        assert_eq!(listen("[::1]:8080"), "[::1]:8080");
        assert_eq!(listen("10.0.0.5:8080"), "10.0.0.5:8080");
    }

    #[test]
    fn lists_ages_and_urls() {
        let custom = RelayArgs {
            event_types: vec!["job.run.completed, job.run.errored".into()],
            max_event_age: Duration::ZERO,
            github_api_url: "https://ghe.example.com/api/v3/".into(),
            ..args()
        };
        let c = config(&custom, &BASE).expect("valid");
        assert_eq!(c.event_types, ["job.run.completed", "job.run.errored"]);
        assert_eq!(c.max_event_age, None);
        assert_eq!(c.dedupe_window(), UNLIMITED_DEDUPE_WINDOW);
        assert_eq!(c.github_api_url, "https://ghe.example.com/api/v3");

        let typo = RelayArgs {
            event_types: vec!["job.run.complete".into()],
            ..args()
        };
        let e = error(&typo, &BASE);
        assert!(
            e.contains("`job.run.complete` is not a dbt Cloud event type"),
            "{e}"
        );
        let no_scheme = RelayArgs {
            github_api_url: "api.github.com".into(),
            ..args()
        };
        assert!(error(&no_scheme, &BASE).contains("not an http(s) URL"));
    }

    #[test]
    fn required_values_and_malformed_repositories() {
        assert!(error(&args(), &BASE[1..]).contains("DBT_WEBHOOK_KEY"));
        let no_repo = RelayArgs {
            repository: None,
            ..args()
        };
        assert!(error(&no_repo, &BASE).contains("GITHUB_REPOSITORY"));
        for bad in ["acme", "acme/", "/x", "a/b/c", "a b/c", "../x", "a/b?x=1"] {
            let repo = RelayArgs {
                repository: Some(bad.into()),
                ..args()
            };
            let e = error(&repo, &BASE);
            assert!(e.contains("is not OWNER/REPO"), "{bad}: {e}");
        }
        assert!(error(&args(), &BASE[..1]).contains("no GitHub credentials"));
        let spaced = [BASE[0], ("GITHUB_TOKEN", "ghp_a b")];
        assert!(error(&args(), &spaced).contains("GITHUB_TOKEN contains"));
    }
}
