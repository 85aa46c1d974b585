//! Turning `refresh` arguments and the environment into a checked configuration. Every problem
//! found here is a usage error (exit 2): nothing has been done yet.

use std::time::Duration;

use reqwest::Url;

use crate::actions::event_file;
use crate::cli::{RefreshArgs, split_list};
use crate::dbt::Policy;
use crate::secret::{self, Secret};
use crate::tableau::{ApiVersion, Connection, Kind, Reference};

const DEFAULT_DBT_CLOUD_URL: &str = "https://cloud.getdbt.com";

/// A usage error: the message says which input to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The raw event and where it came from. Untrusted until verified.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub body: Option<String>,
    pub signature: Option<String>,
    /// For messages: "the payload input", "the repository_dispatch event".
    pub source: String,
}

/// One configured target.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: Kind,
    pub text: String,
    pub reference: Reference,
    /// Why it is a target: `listed`, `exposure:NAME` (the `selected_by` of the `jobs` output).
    pub selected_by: Vec<String>,
}

/// Which sources of targets `--select` turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub listed: bool,
    pub exposures: bool,
}

/// Where the dbt run's artifacts are read from.
#[derive(Debug, Clone)]
pub enum ArtifactSource {
    /// `--dbt-artifacts-dir`: a dbt Core `target/` folder.
    Dir(std::path::PathBuf),
    /// The event's run on dbt Cloud (`DBT_CLOUD_URL`), with this token.
    Cloud(Secret),
}

/// Everything `refresh` needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub event: EventInput,
    pub keys: Vec<Secret>,
    pub policy: Policy,
    pub connection: Connection,
    pub targets: Vec<Target>,
    pub wait: bool,
    pub timeout: Duration,
    pub cancel_on_timeout: bool,
    pub incremental: bool,
    pub dry_run: bool,
    pub concurrency: usize,
    pub dbt_cloud_url: Url,
    pub select: Selection,
    /// Set when `select` needs the run's artifacts.
    pub artifacts: Option<ArtifactSource>,
    /// Certificate authorities trusted besides the operating system's (`--ca-cert`).
    pub ca_certs: Vec<reqwest::Certificate>,
    /// Things worth telling the user about how the inputs were read.
    pub notes: Vec<String>,
}

impl Config {
    /// Checks the arguments and reads the environment's secrets and event file.
    pub fn from_args(args: RefreshArgs) -> Result<Config, UsageError> {
        let mut notes = Vec::new();
        let keys = secret::list_from_env("DBT_WEBHOOK_KEY");
        if keys.is_empty() {
            return Err(usage(
                "DBT_WEBHOOK_KEY is not set: pass the dbt Cloud webhook secret (input dbt-webhook-key) \
                 so the event can be verified",
            ));
        }
        let event = event_input(&args)?;
        let server_url = args
            .tableau
            .server_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .ok_or_else(|| {
                usage("TABLEAU_SITE_URL is not set: pass the Tableau server address (input tableau-site-url)")
            })?;
        let (server, site_from_url) = parse_server_url(server_url)?;
        let mut site = args.tableau.site.trim().to_string();
        if site.is_empty()
            && let Some(found) = site_from_url
        {
            notes.push(format!(
                "Using site `{found}` from the /#/site/ part of the Tableau address."
            ));
            site = found;
        }
        let token_name = std::env::var("TABLEAU_API_TOKEN_NAME")
            .ok()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                usage("TABLEAU_API_TOKEN_NAME is not set: pass the personal access token name (input tableau-api-token-name)")
            })?;
        let token_secret = secret::from_env("TABLEAU_API_TOKEN_SECRET").ok_or_else(|| {
            usage("TABLEAU_API_TOKEN_SECRET is not set: pass the personal access token secret (input tableau-api-token-secret)")
        })?;
        let pinned_version = match args.tableau.api_version.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(ApiVersion::parse(text).ok_or_else(|| {
                usage(&format!("api-version `{text}` is not a version like 3.24"))
            })?),
        };
        let select = parse_select(&args.targets.select)?;
        let targets = targets(&args, select, &mut notes)?;

        let dbt_cloud_url = dbt_cloud_url()?;
        let artifacts = artifact_source(&args, select, &dbt_cloud_url, &mut notes)?;
        let ca_certs = match args.tableau.ca_cert.as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some(value) => ca_certs(value)?,
        };
        Ok(Config {
            event,
            keys,
            policy: Policy {
                max_age: Some(args.event.max_event_age).filter(|age| !age.is_zero()),
                job_ids: split_list(&args.event.dbt_job_ids, true),
            },
            connection: Connection {
                server,
                site,
                token_name,
                token_secret,
                pinned_version,
            },
            targets,
            wait: args.run.wait,
            timeout: args.run.timeout,
            cancel_on_timeout: args.run.cancel_on_timeout,
            incremental: args.run.incremental,
            dry_run: args.run.dry_run,
            concurrency: usize::from(args.run.concurrency),
            dbt_cloud_url,
            select,
            artifacts,
            ca_certs,
            notes,
        })
    }
}

fn usage(message: &str) -> UsageError {
    UsageError(message.to_string())
}

/// The payload from `--payload`, `--payload-file` or the repository_dispatch event file.
fn event_input(args: &RefreshArgs) -> Result<EventInput, UsageError> {
    let signature = args
        .event
        .signature
        .clone()
        .filter(|sig| !sig.trim().is_empty());
    if let Some(body) = args.event.payload.clone().filter(|body| !body.is_empty()) {
        return Ok(EventInput {
            body: Some(body),
            signature,
            source: "the payload input".into(),
        });
    }
    if let Some(path) = &args.event.payload_file {
        let body = std::fs::read_to_string(path).map_err(|err| {
            usage(&format!(
                "cannot read the payload file {}: {err}",
                path.display()
            ))
        })?;
        return Ok(EventInput {
            body: Some(body),
            signature,
            source: format!("the payload file {}", path.display()),
        });
    }
    let Some(path) = crate::actions::path_from_env("GITHUB_EVENT_PATH") else {
        return Err(usage(
            "no dbt event: pass --payload (input payload) or run in a workflow triggered by \
             repository_dispatch from the relay",
        ));
    };
    let dispatch = event_file::read(&path).map_err(|err| usage(&format!("{err:#}")))?;
    let event_name = std::env::var("GITHUB_EVENT_NAME").unwrap_or_default();
    let source = if event_name.is_empty() {
        "the event file".to_string()
    } else {
        format!("the {event_name} event")
    };
    Ok(EventInput {
        body: dispatch.body,
        signature: signature.or(dispatch.signature),
        source,
    })
}

/// Validates the server address; returns it without fragment or trailing slash, plus a site name
/// found in a pasted browser address (`…/#/site/NAME/…`).
pub fn parse_server_url(text: &str) -> Result<(Url, Option<String>), UsageError> {
    let mut url = Url::parse(text).map_err(|err| {
        usage(&format!(
            "tableau-site-url `{text}` is not a URL ({err}); write it like https://10ax.online.tableau.com"
        ))
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(usage(&format!(
            "tableau-site-url `{text}` must be an http(s) address"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(usage(
            "tableau-site-url must not carry a user name or password; use the token inputs",
        ));
    }
    let site = url.fragment().and_then(|fragment| {
        let mut parts = fragment.trim_start_matches('/').split('/');
        (parts.next() == Some("site"))
            .then(|| parts.next())
            .flatten()
            .filter(|name| !name.is_empty())
            .map(str::to_string)
    });
    url.set_fragment(None);
    url.set_query(None);
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok((url, site))
}

fn targets(
    args: &RefreshArgs,
    select: Selection,
    notes: &mut Vec<String>,
) -> Result<Vec<Target>, UsageError> {
    let mut targets = Vec::new();
    for (kind, values) in [
        (Kind::Workbook, &args.targets.workbooks),
        (Kind::Datasource, &args.targets.datasources),
    ] {
        for text in split_list(values, false) {
            let reference = Reference::parse(&text).map_err(|err| usage(&err))?;
            if !targets
                .iter()
                .any(|t: &Target| t.kind == kind && t.reference == reference)
            {
                targets.push(Target {
                    kind,
                    text,
                    reference,
                    selected_by: vec!["listed".into()],
                });
            }
        }
    }
    if !select.listed {
        if !targets.is_empty() {
            notes.push(
                "The workbooks and datasources inputs are not used: select does not include `listed`."
                    .into(),
            );
        }
        return Ok(Vec::new());
    }
    if targets.is_empty() && !select.exposures {
        return Err(usage(
            "nothing to refresh: list workbooks and/or data sources (inputs workbooks, datasources)",
        ));
    }
    Ok(targets)
}

/// The words of `--select`: comma- or newline-separated, any case; `listed` when none.
pub fn parse_select(values: &[String]) -> Result<Selection, UsageError> {
    let words = split_list(values, true);
    if words.is_empty() {
        return Ok(Selection {
            listed: true,
            exposures: false,
        });
    }
    let mut selection = Selection {
        listed: false,
        exposures: false,
    };
    for word in words {
        match word.to_ascii_lowercase().as_str() {
            "listed" => selection.listed = true,
            "exposures" => selection.exposures = true,
            "lineage" => {
                return Err(usage(
                    "select: `lineage` (Tableau Metadata API lineage) is not yet available in this                      version; use `listed` and/or `exposures`",
                ));
            }
            _ => {
                let shown: String = word.chars().filter(|c| !c.is_control()).take(40).collect();
                return Err(usage(&format!(
                    "select: unknown source `{shown}`; use listed, exposures or lineage, comma- or                      newline-separated"
                )));
            }
        }
    }
    Ok(selection)
}

/// Where `exposures` reads the run's artifacts: `--dbt-artifacts-dir`, else dbt Cloud with
/// `DBT_CLOUD_API_TOKEN`.
fn artifact_source(
    args: &RefreshArgs,
    select: Selection,
    dbt_cloud_url: &Url,
    notes: &mut Vec<String>,
) -> Result<Option<ArtifactSource>, UsageError> {
    let dir = args
        .targets
        .dbt_artifacts_dir
        .clone()
        .filter(|dir| !dir.as_os_str().is_empty());
    let token = secret::from_env("DBT_CLOUD_API_TOKEN");
    if !select.exposures {
        if dir.is_some() || token.is_some() {
            notes.push(
                "dbt-artifacts-dir and dbt-cloud-api-token are not used: select does not include                  `exposures`."
                    .into(),
            );
        }
        return Ok(None);
    }
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(usage(&format!(
                "dbt-artifacts-dir `{}` is not a folder",
                dir.display()
            )));
        }
        return Ok(Some(ArtifactSource::Dir(dir)));
    }
    // The token must not cross a network in clear text; plain http only to this machine (the
    // simulators).
    let host = dbt_cloud_url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if token.is_some() && dbt_cloud_url.scheme() != "https" && !loopback {
        return Err(usage(
            "DBT_CLOUD_URL must be an https address to send DBT_CLOUD_API_TOKEN (plain http only \
             to 127.0.0.1 or localhost)",
        ));
    }
    match token {
        Some(token) => Ok(Some(ArtifactSource::Cloud(token))),
        None => Err(usage(
            "select: exposures needs the dbt run's artifacts: set dbt-cloud-api-token              (DBT_CLOUD_API_TOKEN) to read them from dbt Cloud, or dbt-artifacts-dir              (DBT_ARTIFACTS_DIR) to read them from a folder",
        )),
    }
}

/// Reads `--ca-cert`: PEM text, or the path of a PEM file. Every certificate in it is trusted.
fn ca_certs(value: &str) -> Result<Vec<reqwest::Certificate>, UsageError> {
    let (pem, source) = if value.starts_with("-----BEGIN") {
        (
            value.as_bytes().to_vec(),
            "the tableau-ca-cert text".to_string(),
        )
    } else {
        let bytes = std::fs::read(value).map_err(|err| {
            usage(&format!(
                "cannot read the CA certificate file {value}: {err}"
            ))
        })?;
        (bytes, format!("the CA certificate file {value}"))
    };
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|_| usage(&format!("{source} is not PEM certificate text")))?;
    if certs.is_empty() {
        return Err(usage(&format!("{source} holds no PEM certificate")));
    }
    Ok(certs)
}

fn dbt_cloud_url() -> Result<Url, UsageError> {
    let text = std::env::var("DBT_CLOUD_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DBT_CLOUD_URL.to_string());
    let url = Url::parse(text.trim())
        .map_err(|err| usage(&format!("DBT_CLOUD_URL `{text}` is not a URL ({err})")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(usage("DBT_CLOUD_URL must be an http(s) address"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_words_and_usage_errors() {
        let words = |text: &str| parse_select(&[text.to_string()]);
        assert_eq!(
            words("listed, exposures"),
            Ok(Selection {
                listed: true,
                exposures: true
            })
        );
        assert_eq!(
            words("Exposures\n"),
            Ok(Selection {
                listed: false,
                exposures: true
            })
        );
        assert_eq!(
            parse_select(&[]),
            Ok(Selection {
                listed: true,
                exposures: false
            })
        );
        let unknown = words("listed,exposure").expect_err("unknown word");
        assert!(unknown.0.contains("unknown source `exposure`"), "{unknown}");
        let lineage = words("lineage").expect_err("not yet");
        assert!(lineage.0.contains("not yet available"), "{lineage}");
    }

    #[test]
    fn server_urls_are_cleaned_and_the_site_taken_from_a_browser_address() {
        let (url, site) = parse_server_url("https://10ax.online.tableau.com/#/site/marketing/home")
            .expect("valid");
        assert_eq!(url.as_str(), "https://10ax.online.tableau.com/");
        assert_eq!(site.as_deref(), Some("marketing"));
        let (url, site) = parse_server_url("https://tableau.example.com/").expect("valid");
        assert_eq!(url.as_str(), "https://tableau.example.com/");
        assert_eq!(site, None);
        assert!(parse_server_url("tableau.example.com").is_err());
        assert!(parse_server_url("ftp://tableau.example.com").is_err());
        assert!(parse_server_url("https://user:pw@tableau.example.com").is_err());
    }
}
