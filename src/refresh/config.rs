//! Turning `refresh` arguments and the environment into a checked configuration. Every problem
//! found here is a usage error (exit 2): nothing has been done yet.

use std::time::Duration;

use reqwest::Url;

use crate::actions::event_file;
use crate::cli::{RefreshArgs, split_list};
use crate::dbt::Policy;
use crate::dbt::decision::printable;
use crate::inputs::{self, Naming};
use crate::secret::{self, Secret};
use crate::tableau::{ApiVersion, Connection, Kind, Reference, address, sim_resolve};

const DEFAULT_DBT_CLOUD_URL: &str = "https://cloud.getdbt.com";

/// Tableau calls in flight at once by default (`--concurrency`). Tableau Cloud limits a site to 20
/// concurrent requests to endpoints that start long-running jobs and answers 429 past that (Tableau
/// KB "Concurrency limits in REST APIs on Tableau Cloud",
/// <https://kb.tableau.com/articles/issue/concurrency-limits-in-rest-apis-on-tableau-cloud>; its
/// list names exports and downloads, and a refresh request starts a job too). 20 is the most that
/// stays within that documented limit for every call we make, and queues 50 refreshes in 3 rounds.
/// A 429 is retried after `Retry-After` anyway, refresh requests included (Tableau did not act).
pub const DEFAULT_CONCURRENCY: u16 = 20;

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
    /// Why it is a target: `listed`, `exposure:NAME`, `lineage:DB.SCHEMA.TABLE` (the
    /// `selected_by` of the `jobs` output).
    pub selected_by: Vec<String>,
    /// Already found on the site (by selection, or given by lineage as a LUID): not looked up
    /// again.
    pub resolved: Option<crate::tableau::content::Resolved>,
}

/// Which sources of targets `--select` turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub listed: bool,
    pub exposures: bool,
    pub lineage: bool,
}

impl Selection {
    /// Whether a source of targets reads the dbt run's artifacts.
    pub fn needs_artifacts(self) -> bool {
        self.exposures || self.lineage
    }
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
    /// Simulation only: names dialled on loopback instead of DNS (see `tableau::sim_resolve`).
    pub resolve: Vec<(String, std::net::SocketAddr)>,
    /// Things worth telling the user about how the inputs were read.
    pub notes: Vec<String>,
    /// A manual run (no dbt event, so no signature and no dbt checks): what started it, e.g.
    /// `workflow_dispatch by @octocat` or `--no-event`. `None` when a dbt event drives the run.
    pub manual: Option<String>,
    /// Set on a re-run (`GITHUB_RUN_ATTEMPT` > 1), whose age limit is lifted: the notice to show.
    pub age_limit_lifted: Option<String>,
}

impl Config {
    /// Checks the arguments and reads the environment's secrets and event file. Every problem
    /// is collected, so one run names them all (four empty secrets: four problems).
    pub fn from_args(args: RefreshArgs) -> Result<Config, Vec<UsageError>> {
        let mut problems = Vec::new();
        let mut notes = Vec::new();
        let naming = Naming::from_env();
        let manual_checked = manual_trigger(&args, naming);
        let manual_known = manual_checked.is_ok();
        let manual = take(&mut problems, manual_checked).flatten();
        let keys = secret::list_from_env("DBT_WEBHOOK_KEY");
        // A manual run has no event to verify, so it needs no webhook key.
        if keys.is_empty() && manual.is_none() && manual_known {
            problems.push(usage(&format!(
                "{} is not set: give the dbt Cloud webhook secret, so the event can be verified",
                naming.of(&inputs::WEBHOOK_KEY)
            )));
        }
        let event = match manual {
            Some(_) => Some(EventInput {
                body: None,
                signature: None,
                source: "a manual run".into(),
            }),
            None if manual_known => take(&mut problems, event_input(&args, naming)),
            None => None,
        };
        let job_ids = take(&mut problems, job_ids(&args.event.dbt_job_ids, naming));
        if manual.is_some() && job_ids.as_ref().is_some_and(|ids| !ids.is_empty()) {
            notes.push(format!(
                "A manual run has no dbt event to check: {} is not used.",
                naming.of(&inputs::JOB_IDS)
            ));
        }
        let (max_age, age_limit_lifted) =
            age_limit(args.event.max_event_age, manual.is_some(), naming);
        let server_url = args
            .tableau
            .site_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .ok_or_else(|| {
                usage(&format!(
                    "{} is not set: give the Tableau server address",
                    naming.of(&inputs::SITE_URL)
                ))
            });
        let parsed = take(
            &mut problems,
            server_url.and_then(|url| parse_server_url(url, naming)),
        );
        let (server, site_from_url) = match parsed {
            Some((server, site)) => (Some(server), site),
            None => (None, None),
        };
        let allow_insecure_http = take(&mut problems, allow_insecure_http()).unwrap_or(false);
        if let Some(server) = &server {
            take(
                &mut problems,
                address::check_scheme(server, allow_insecure_http)
                    .map_err(|message| usage(&message)),
            );
        }
        let resolve = take(
            &mut problems,
            sim_resolve::from_env().map_err(|message| usage(&message)),
        )
        .unwrap_or_default();
        if !resolve.is_empty() {
            let names: Vec<&str> = resolve.iter().map(|(name, _)| name.as_str()).collect();
            notes.push(format!(
                "Simulation: connecting to {} on this machine (certificates are checked as usual).",
                names.join(", ")
            ));
        }
        let mut site = args.tableau.site_name.trim().to_string();
        if site.is_empty()
            && let Some(found) = site_from_url
        {
            notes.push(format!(
                "Using site `{found}` from the /#/site/ part of the Tableau address."
            ));
            site = found;
        }
        let credentials = take(
            &mut problems,
            super::credentials::from_env(&args.run, naming),
        );
        let pinned_version = match args.tableau.api_version.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(text) => take(
                &mut problems,
                ApiVersion::parse(text).map(Some).ok_or_else(|| {
                    usage(&format!(
                        "{} `{text}` is not a version like 3.24",
                        naming.of(&inputs::API_VERSION)
                    ))
                }),
            ),
        };
        let select = take(&mut problems, parse_select(&args.targets.select));
        let targets = select
            .and_then(|select| take(&mut problems, targets(&args, select, naming, &mut notes)));
        let dbt_cloud_url = take(&mut problems, dbt_cloud_url(naming));
        let artifacts = match (select, &dbt_cloud_url) {
            (Some(select), Some(url)) => take(
                &mut problems,
                artifact_source(&args, select, url, naming, &mut notes),
            ),
            _ => None,
        };
        let ca_certs = match args.tableau.ca_cert.as_deref().map(str::trim) {
            None | Some("") => Some(Vec::new()),
            Some(value) => take(
                &mut problems,
                crate::tls::ca_certificates(value, &naming.of(&inputs::CA_CERT))
                    .map_err(UsageError),
            ),
        };
        let (
            Some(event),
            Some(job_ids),
            Some(select),
            Some(artifacts),
            Some(server),
            Some(credentials),
            Some(pinned_version),
            Some(targets),
            Some(dbt_cloud_url),
            Some(ca_certs),
        ) = (
            event,
            job_ids,
            select,
            artifacts,
            server,
            credentials,
            pinned_version,
            targets,
            dbt_cloud_url,
            ca_certs,
        )
        else {
            return Err(problems);
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            event,
            keys,
            policy: Policy { max_age, job_ids },
            connection: Connection {
                server,
                site,
                credentials,
                pinned_version,
                allow_insecure_http,
            },
            targets,
            wait: args.run.should_wait(),
            timeout: args.run.timeout,
            cancel_on_timeout: args.run.cancel_on_timeout,
            incremental: args.run.incremental,
            dry_run: args.run.dry_run,
            concurrency: usize::from(args.run.concurrency),
            dbt_cloud_url,
            select,
            artifacts,
            ca_certs,
            resolve,
            notes,
            manual,
            age_limit_lifted,
        })
    }
}

/// The value, or `None` with the problem noted.
fn take<T>(problems: &mut Vec<UsageError>, result: Result<T, UsageError>) -> Option<T> {
    result.map_err(|problem| problems.push(problem)).ok()
}

fn usage(message: &str) -> UsageError {
    UsageError(message.to_string())
}

/// The payload from `--payload`, `--payload-file` or the repository_dispatch event file.
fn event_input(args: &RefreshArgs, naming: Naming) -> Result<EventInput, UsageError> {
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
        return Err(usage(&format!(
            "no dbt event: pass {} or run in a workflow triggered by repository_dispatch from \
             the relay; to refresh by hand without an event, pass {}",
            naming.list(&[inputs::PAYLOAD, inputs::PAYLOAD_FILE], "or"),
            naming.of(&inputs::NO_EVENT)
        )));
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

/// Whether this is a manual run, and what started it. In Actions, any trigger but
/// `repository_dispatch` without a payload is one (workflow_dispatch, schedule, push, workflow_run
/// after a dbt Core build…); elsewhere only `--no-event` makes one. `repository_dispatch` always
/// carries a signed dbt event and never skips its verification.
fn manual_trigger(args: &RefreshArgs, naming: Naming) -> Result<Option<String>, UsageError> {
    let payload_given = args
        .event
        .payload
        .as_deref()
        .is_some_and(|body| !body.is_empty())
        || args.event.payload_file.is_some();
    let in_actions = crate::actions::in_actions();
    let event_name = env_text("GITHUB_EVENT_NAME").filter(|_| in_actions);
    let dispatch = event_name.as_deref() == Some("repository_dispatch");
    if args.event.no_event {
        if payload_given {
            return Err(usage(&format!(
                "{} and {} exclude each other: drop one of them",
                naming.of(&inputs::NO_EVENT),
                naming.list(&[inputs::PAYLOAD, inputs::PAYLOAD_FILE], "or")
            )));
        }
        if dispatch {
            return Err(usage(&format!(
                "a repository_dispatch run always verifies the signed dbt event: {} does not \
                 apply to it",
                naming.of(&inputs::NO_EVENT)
            )));
        }
    } else if payload_given || dispatch || event_name.is_none() {
        return Ok(None);
    }
    Ok(Some(match event_name {
        Some(name) => {
            let by = env_text("GITHUB_ACTOR")
                .map(|actor| format!(" by @{}", printable(&actor)))
                .unwrap_or_default();
            format!("{}{by}", printable(&name))
        }
        None => "--no-event".to_string(),
    }))
}

/// The age limit to apply, and the notice to show when a re-run lifts it: a run re-tried the next
/// morning (after fixing a token, say) must not skip green because its event has aged meanwhile.
fn age_limit(
    max_age: Duration,
    manual: bool,
    naming: Naming,
) -> (Option<Duration>, Option<String>) {
    let limit = Some(max_age).filter(|age| !age.is_zero());
    let attempt = env_text("GITHUB_RUN_ATTEMPT")
        .and_then(|text| text.parse::<u32>().ok())
        .unwrap_or(1);
    match limit {
        Some(limit) if attempt > 1 && !manual => (
            None,
            Some(format!(
                "This is attempt {attempt} of the workflow run (a re-run): the event age limit of \
                 {} ({}) is not applied.",
                crate::duration::format_short(limit),
                naming.of(&inputs::MAX_EVENT_AGE)
            )),
        ),
        _ => (limit, None),
    }
}

/// `DBT_JOB_IDS`: dbt job ids are numbers. A job name would match no event and make every run
/// skip green, so it is refused here, naming the entry.
fn job_ids(values: &[String], naming: Naming) -> Result<Vec<String>, UsageError> {
    split_list(values, true)
        .into_iter()
        .map(|entry| {
            entry
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| entry.parse::<u64>().ok())
                .flatten()
                .map(|id| id.to_string())
                .ok_or_else(|| {
                    usage(&format!(
                        "`{}` in {} is not a dbt job id: give the number from the job's address \
                         in dbt Cloud (…/jobs/123456), one per line or comma-separated",
                        printable(&entry),
                        naming.of(&inputs::JOB_IDS)
                    ))
                })
        })
        .collect()
}

/// An environment variable's trimmed value, if set and not blank.
fn env_text(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Validates the server address; returns it without fragment or trailing slash, plus a site name
/// found in a pasted browser address (`…/#/site/NAME/…`).
pub fn parse_server_url(text: &str, naming: Naming) -> Result<(Url, Option<String>), UsageError> {
    let name = naming.of(&inputs::SITE_URL);
    let mut url = Url::parse(text).map_err(|err| {
        usage(&format!(
            "{name} `{text}` is not a URL ({err}); write it like https://10ax.online.tableau.com"
        ))
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(usage(&format!(
            "{name} `{text}` must be an http or https address"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(usage(&format!(
            "{name} must not carry a user name or password; the credentials go in {}",
            naming.list(
                &[
                    inputs::env_only("TABLEAU_API_TOKEN_NAME"),
                    inputs::env_only("TABLEAU_API_TOKEN_SECRET")
                ],
                "and"
            )
        )));
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

/// `TABLEAU_ALLOW_INSECURE_HTTP`: `true` allows `http://` to a Tableau that is not loopback.
fn allow_insecure_http() -> Result<bool, UsageError> {
    let name = address::ALLOW_INSECURE_HTTP_ENV;
    let value = std::env::var(name).unwrap_or_default();
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" | "off" => Ok(false),
        "true" | "1" | "yes" | "on" => Ok(true),
        _ => Err(usage(&format!("{name} must be true or false"))),
    }
}

fn targets(
    args: &RefreshArgs,
    select: Selection,
    naming: Naming,
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
                    resolved: None,
                });
            }
        }
    }
    if !select.listed {
        if !targets.is_empty() {
            notes.push(format!(
                "Not used, since {} does not include `listed`: {}.",
                naming.of(&inputs::SELECT),
                naming.list(&[inputs::WORKBOOKS, inputs::DATASOURCES], "and")
            ));
        }
        return Ok(Vec::new());
    }
    if targets.is_empty() && !select.needs_artifacts() {
        return Err(usage(&format!(
            "nothing to refresh: list workbooks or data sources in {}",
            naming.list(&[inputs::WORKBOOKS, inputs::DATASOURCES], "or")
        )));
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
            lineage: false,
        });
    }
    let mut selection = Selection {
        listed: false,
        exposures: false,
        lineage: false,
    };
    for word in words {
        match word.to_ascii_lowercase().as_str() {
            "listed" => selection.listed = true,
            "exposures" => selection.exposures = true,
            "lineage" => selection.lineage = true,
            _ => {
                let shown: String = word.chars().filter(|c| !c.is_control()).take(40).collect();
                return Err(usage(&format!(
                    "select: unknown source `{shown}`; use listed, exposures or lineage, comma- or newline-separated"
                )));
            }
        }
    }
    Ok(selection)
}

/// Where `exposures` and `lineage` read the run's artifacts: `--dbt-artifacts-dir`, else dbt Cloud with
/// `DBT_CLOUD_API_TOKEN`.
fn artifact_source(
    args: &RefreshArgs,
    select: Selection,
    dbt_cloud_url: &Url,
    naming: Naming,
    notes: &mut Vec<String>,
) -> Result<Option<ArtifactSource>, UsageError> {
    let dir = args
        .targets
        .dbt_artifacts_dir
        .clone()
        .filter(|dir| !dir.as_os_str().is_empty());
    let token = secret::from_env("DBT_CLOUD_API_TOKEN");
    if !select.needs_artifacts() {
        if dir.is_some() || token.is_some() {
            notes.push(format!(
                "Not used, since {} includes neither `exposures` nor `lineage`: {}.",
                naming.of(&inputs::SELECT),
                naming.list(&[inputs::ARTIFACTS_DIR, inputs::DBT_CLOUD_API_TOKEN], "and")
            ));
        }
        return Ok(None);
    }
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(usage(&format!(
                "{} `{}` is not a folder",
                naming.of(&inputs::ARTIFACTS_DIR),
                dir.display()
            )));
        }
        return Ok(Some(ArtifactSource::Dir(dir)));
    }
    // The token must not cross a network in clear text; plain http only to this machine (the
    // simulators).
    if token.is_some() && dbt_cloud_url.scheme() != "https" && !address::is_loopback(dbt_cloud_url)
    {
        return Err(usage(&format!(
            "{} must be an https address to send {} (plain http only to 127.0.0.1 or localhost)",
            naming.of(&inputs::DBT_CLOUD_URL),
            naming.of(&inputs::DBT_CLOUD_API_TOKEN)
        )));
    }
    match token {
        Some(token) => Ok(Some(ArtifactSource::Cloud(token))),
        None => Err(usage(&format!(
            "`{}` in {} needs the dbt run's artifacts: set {} to read them from dbt Cloud, \
             or {} to read them from a folder",
            if select.exposures {
                "exposures"
            } else {
                "lineage"
            },
            naming.of(&inputs::SELECT),
            naming.of(&inputs::DBT_CLOUD_API_TOKEN),
            naming.of(&inputs::ARTIFACTS_DIR)
        ))),
    }
}

fn dbt_cloud_url(naming: Naming) -> Result<Url, UsageError> {
    let text = std::env::var("DBT_CLOUD_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DBT_CLOUD_URL.to_string());
    let name = naming.of(&inputs::DBT_CLOUD_URL);
    let url = Url::parse(text.trim())
        .map_err(|err| usage(&format!("{name} `{text}` is not a URL ({err})")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(usage(&format!("{name} must be an http or https address")));
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
                exposures: true,
                lineage: false
            })
        );
        assert_eq!(
            words("Exposures\n"),
            Ok(Selection {
                listed: false,
                exposures: true,
                lineage: false
            })
        );
        assert_eq!(
            parse_select(&[]),
            Ok(Selection {
                listed: true,
                exposures: false,
                lineage: false
            })
        );
        let unknown = words("listed,exposure").expect_err("unknown word");
        assert!(unknown.0.contains("unknown source `exposure`"), "{unknown}");
        let lineage = words("Lineage,\nlisted").expect("lineage is a source");
        assert!(lineage.lineage && lineage.listed && !lineage.exposures);
        assert!(lineage.needs_artifacts());
        assert!(!words("listed").expect("listed").needs_artifacts());
    }

    #[test]
    fn server_urls_are_cleaned_and_the_site_taken_from_a_browser_address() {
        let parse = |text| parse_server_url(text, Naming::command_line());
        let (url, site) =
            parse("https://10ax.online.tableau.com/#/site/marketing/home").expect("valid");
        assert_eq!(url.as_str(), "https://10ax.online.tableau.com/");
        assert_eq!(site.as_deref(), Some("marketing"));
        let (url, site) = parse("https://tableau.example.com/").expect("valid");
        assert_eq!(url.as_str(), "https://tableau.example.com/");
        assert_eq!(site, None);
        assert!(parse("tableau.example.com").is_err());
        assert!(parse("ftp://tableau.example.com").is_err());
        assert!(parse("https://user:pw@tableau.example.com").is_err());
    }

    #[test]
    fn job_ids_must_be_numbers_and_the_bad_entry_is_named() {
        let laptop = Naming::command_line();
        let ok = job_ids(&["7, 0042\n123456".to_string()], laptop).expect("numbers");
        assert_eq!(ok, ["7", "42", "123456"]);
        let err = job_ids(&["7\nNightly build".to_string()], laptop).expect_err("a name");
        assert!(err.0.contains("`Nightly build`"), "{err}");
        for bad in ["+5", "-1", "12a", "99999999999999999999999"] {
            assert!(job_ids(&[bad.to_string()], laptop).is_err(), "{bad}");
        }
    }
}
