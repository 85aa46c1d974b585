//! The command line: one `Args` struct per command. Every option also reads an environment
//! variable, so action.yml only maps inputs to env. Secrets are read from the environment only
//! (never flags, which show in process lists) and are listed in each command's help.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::duration;

#[derive(Debug, Parser)]
#[command(
    name = "dbt-tableau-refresh",
    version,
    about = "Refresh Tableau extracts the moment a dbt Cloud job has produced fresh data.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a dbt Cloud event, refresh Tableau workbooks and data sources, wait, and report
    /// (the GitHub Action step).
    #[command(after_help = REFRESH_ENV_HELP)]
    Refresh(Box<RefreshArgs>),
    /// Check a saved webhook body against a signature and report the event it carries.
    #[command(after_help = VERIFY_ENV_HELP)]
    Verify(VerifyArgs),
    /// Serve the webhook relay: verify dbt Cloud webhooks and send them to a GitHub repository as
    /// repository_dispatch events.
    #[command(after_help = RELAY_ENV_HELP)]
    Relay(RelayArgs),
    /// Play the whole chain on loopback simulators of dbt Cloud, GitHub and Tableau: no account
    /// needed. Prints each stage and the job summary.
    Demo(DemoArgs),
}

const REFRESH_ENV_HELP: &str = "\
Secrets, read from the environment only:
  DBT_WEBHOOK_KEY           the dbt Cloud webhook secret (several keys: one per line); not
                            needed for a manual run
  TABLEAU_API_TOKEN_NAME    the Tableau personal access token name
  TABLEAU_API_TOKEN_SECRET  the Tableau personal access token secret
  or, for a Tableau connected app (direct trust) instead of a personal access token:
  TABLEAU_CONNECTED_APP_CLIENT_ID     the connected app's client ID
  TABLEAU_CONNECTED_APP_SECRET_ID     the ID of one of its secrets
  TABLEAU_CONNECTED_APP_SECRET_VALUE  that secret's value
  TABLEAU_USERNAME                    the Tableau user to act as (the email on Tableau Cloud)
  DBT_CLOUD_API_TOKEN       a dbt Cloud service or personal access token (select: exposures, lineage)
Other environment:
  DBT_CLOUD_URL             dbt Cloud address, for run links and the API (regional and
                            single-tenant hosts too) [default: https://cloud.getdbt.com]
  TABLEAU_ALLOW_INSECURE_HTTP  true allows http:// to a Tableau that is not on this machine
                            (the token then crosses the network unencrypted; lab servers only)
  GITHUB_EVENT_PATH         the repository_dispatch event file, read when no payload is given
  GITHUB_EVENT_NAME         in Actions, any event but repository_dispatch without a payload is a
                            manual run (GITHUB_ACTOR names who started it)
  GITHUB_RUN_ATTEMPT        above 1 (a re-run), the event age limit is not applied
  GITHUB_STEP_SUMMARY, GITHUB_OUTPUT  written when set (inside GitHub Actions)

Exit status: 0 success or skipped, 1 failed, 2 usage error.";

const VERIFY_ENV_HELP: &str = "\
Secrets, read from the environment only:
  DBT_WEBHOOK_KEY  the dbt Cloud webhook secret (several keys: one per line)";

const RELAY_ENV_HELP: &str = "\
Secrets, read from the environment only:
  DBT_WEBHOOK_KEY             the dbt Cloud webhook secret (several keys: one per line)
  GITHUB_TOKEN                a token that may dispatch to the repository (fine-grained:
                              Contents read & write; classic: repo), or else a GitHub App:
  GITHUB_APP_ID               the App's numeric ID
  GITHUB_APP_PRIVATE_KEY      the App's private key (PEM text), or --github-app-private-key-file
  GITHUB_APP_INSTALLATION_ID  optional; looked up for the repository when not set
Other environment:
  PORT                        listen on 0.0.0.0:$PORT when --listen/RELAY_LISTEN is not set
  RUST_LOG                    log filter [default: info]
  RELAY_LOG_FORMAT            text, or json for one JSON object per line (--log-format)

Answers: 202 dispatched, 200 ignored (the body says why), 401 bad signature, 413 too large,
400 not a dbt event, 502 GitHub refused or failed (dbt Cloud retries). GET /healthz answers 200.

Exit status: 0 after SIGTERM or Ctrl-C, 2 configuration error, 1 cannot listen or GitHub refused
the credentials or repository at start (GitHub unreachable at start is only a warning).";

/// `refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub tableau: TableauArgs,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where the dbt event comes from and which events count.
#[derive(Debug, Args)]
#[command(next_help_heading = "dbt event")]
pub struct EventArgs {
    /// The raw webhook body, exactly as dbt Cloud sent it [default: client_payload.body of the
    /// repository_dispatch event in $GITHUB_EVENT_PATH].
    #[arg(
        long,
        value_name = "BODY",
        env = "DBT_WEBHOOK_PAYLOAD",
        conflicts_with = "payload_file"
    )]
    pub payload: Option<String>,
    /// Read the raw webhook body from a file.
    #[arg(long, value_name = "PATH")]
    pub payload_file: Option<PathBuf>,
    /// The hex HMAC-SHA256 signature (dbt's Authorization header) [default:
    /// client_payload.signature].
    #[arg(long, value_name = "HEX", env = "DBT_WEBHOOK_SIGNATURE")]
    pub signature: Option<String>,
    /// Ignore events older than this; 0 = no limit.
    #[arg(long, value_name = "DUR", env = "DBT_MAX_EVENT_AGE", default_value = "24h", value_parser = duration::parse)]
    pub max_event_age: Duration,
    /// Act only on runs of these dbt job ids (repeat, or one per line / comma-separated in the
    /// env var) [default: every job].
    #[arg(long = "dbt-job-id", value_name = "ID", env = "DBT_JOB_IDS")]
    pub dbt_job_ids: Vec<String>,
    /// Refresh by hand, with no dbt event: no signature, no dbt checks, no webhook key needed.
    /// In GitHub Actions any trigger but repository_dispatch without a payload is a manual run
    /// already.
    #[arg(long, value_name = "BOOL", env = "DBT_NO_EVENT", num_args = 0..=1,
          default_value = "false", default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub no_event: bool,
}

/// The Tableau server and site.
#[derive(Debug, Args)]
#[command(next_help_heading = "Tableau")]
pub struct TableauArgs {
    /// The Tableau Server or Tableau Cloud address, e.g. https://10ax.online.tableau.com.
    // Named like its variable; --server-url (and --site below) are the earlier names, kept.
    #[arg(
        long,
        visible_alias = "server-url",
        value_name = "URL",
        env = "TABLEAU_SITE_URL"
    )]
    pub site_url: Option<String>,
    /// The site's content URL (the name in /#/site/NAME/); empty for the default site.
    #[arg(
        long,
        visible_alias = "site",
        value_name = "NAME",
        env = "TABLEAU_SITE_NAME",
        default_value = ""
    )]
    pub site_name: String,
    /// Pin the REST API version (e.g. 3.24) [default: detected from serverinfo].
    #[arg(long, value_name = "V", env = "TABLEAU_API_VERSION")]
    pub api_version: Option<String>,
    /// Also trust this certificate authority (a PEM file, or the PEM text itself), for a Tableau
    /// Server whose certificate comes from a private CA. Certificate checks are never turned off.
    #[arg(long, value_name = "PEM", env = "TABLEAU_CA_CERT")]
    pub ca_cert: Option<String>,
}

/// What to refresh.
#[derive(Debug, Args)]
#[command(next_help_heading = "Targets")]
pub struct TargetArgs {
    /// A workbook: Project/Sub project/Name, a unique Name, or a LUID (repeat; one per line in
    /// the env var).
    #[arg(long = "workbook", value_name = "REF", env = "TABLEAU_WORKBOOKS")]
    pub workbooks: Vec<String>,
    /// A published data source, same forms (repeat; one per line in the env var).
    #[arg(long = "datasource", value_name = "REF", env = "TABLEAU_DATASOURCES")]
    pub datasources: Vec<String>,
    /// Where targets come from, comma- or newline-separated: listed (the workbook and
    /// datasource inputs), exposures (dbt exposures downstream of what the run built), lineage
    /// (the Tableau extracts that read what the run built, from Tableau's Metadata API).
    #[arg(
        long,
        value_name = "LIST",
        env = "TABLEAU_SELECT",
        default_value = "listed"
    )]
    pub select: Vec<String>,
    /// Read manifest.json and run_results.json from this folder (dbt Core's target/) instead
    /// of the dbt Cloud run.
    #[arg(long, value_name = "DIR", env = "DBT_ARTIFACTS_DIR")]
    pub dbt_artifacts_dir: Option<PathBuf>,
}

/// How to run.
#[derive(Debug, Args)]
#[command(next_help_heading = "Run")]
pub struct RunArgs {
    /// Wait for the refresh jobs to finish (a bare --wait means true; --wait=false or --no-wait
    /// asks for the refreshes and ends).
    #[arg(long, value_name = "BOOL", env = "TABLEAU_WAIT", num_args = 0..=1,
          default_value = "true", default_missing_value = "true",
          value_parser = BoolishValueParser::new(), overrides_with = "no_wait")]
    pub wait: bool,
    /// Do not wait for the refresh jobs (the same as --wait=false).
    // Read through `RunArgs::should_wait`, which settles --wait against it.
    #[arg(long, overrides_with = "wait")]
    pub no_wait: bool,
    /// Stop waiting after this long.
    #[arg(long, value_name = "DUR", env = "TABLEAU_TIMEOUT", default_value = "60m", value_parser = duration::parse)]
    pub timeout: Duration,
    /// Cancel jobs still running at the timeout.
    #[arg(long, value_name = "BOOL", env = "TABLEAU_CANCEL_ON_TIMEOUT", num_args = 0..=1,
          default_value = "false", default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub cancel_on_timeout: bool,
    /// Ask for incremental refreshes (Tableau REST API 3.25 or later).
    #[arg(long, value_name = "BOOL", env = "TABLEAU_INCREMENTAL", num_args = 0..=1,
          default_value = "false", default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub incremental: bool,
    /// Resolve every target, refresh nothing.
    #[arg(long, value_name = "BOOL", env = "TABLEAU_DRY_RUN", num_args = 0..=1,
          default_value = "false", default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub dry_run: bool,
    /// How many Tableau calls may run at once.
    #[arg(long, value_name = "N", env = "TABLEAU_CONCURRENCY",
          default_value_t = crate::refresh::config::DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

/// Where the result goes besides the job summary and step outputs of GitHub Actions: for other
/// CI systems and scripts. The variables carry the tool's name: they concern its own report,
/// not dbt or Tableau.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Report")]
pub struct ReportArgs {
    /// Also write the job summary (Markdown) to this file, replacing it: for CI systems other
    /// than GitHub Actions (GitLab, Buildkite, Jenkins).
    #[arg(long, value_name = "PATH", env = "DBT_TABLEAU_REFRESH_SUMMARY_FILE")]
    pub summary_file: Option<PathBuf>,
    /// text: progress and the summary, for people. json: also print the result as one JSON
    /// document on standard output (status, jobs, dbt-job-id, dbt-run-id, as the action's
    /// outputs); every other line goes to standard error.
    #[arg(
        long,
        value_name = "FORMAT",
        env = "DBT_TABLEAU_REFRESH_FORMAT",
        default_value = "text",
        value_enum,
        ignore_case = true
    )]
    pub format: Format,
}

/// `--format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

impl RunArgs {
    /// Whether to wait for the jobs: `--wait`/`TABLEAU_WAIT`, unless `--no-wait` came last.
    pub fn should_wait(&self) -> bool {
        self.wait && !self.no_wait
    }
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The story to play.
    #[arg(long, value_enum, default_value_t = crate::demo::Scenario::Success)]
    pub scenario: crate::demo::Scenario,
    /// Also write the job summary (markdown) to this file.
    #[arg(long, value_name = "PATH")]
    pub summary_file: Option<PathBuf>,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The saved webhook body; `-` reads it from standard input.
    #[arg(value_name = "BODY_FILE")]
    pub body_file: PathBuf,
    /// The signature to check (dbt's Authorization header value).
    #[arg(long, value_name = "HEX", env = "DBT_WEBHOOK_SIGNATURE")]
    pub signature: String,
    /// Print the report as one JSON object, for scripts.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    /// Parses the command line, treating an empty environment variable as unset. A composite
    /// action maps every input to an env var, so an input left blank arrives as `VAR=""`; clap
    /// would otherwise read that as an (invalid) empty value instead of using the default.
    pub fn parse_with_env() -> Self {
        Self::try_parse_with_env().unwrap_or_else(|err| err.exit())
    }

    /// [`Cli::parse_with_env`], returning clap's error (or its help and version, which clap
    /// also delivers as errors) instead of exiting.
    pub fn try_parse_with_env() -> Result<Self, clap::Error> {
        let command = ignore_empty_env(Cli::command());
        let matches = command.try_get_matches()?;
        Cli::from_arg_matches(&matches)
    }
}

fn ignore_empty_env(command: clap::Command) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    let mut command = command.mut_args(|arg| {
        let empty = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| value.is_empty());
        if empty { arg.env(None) } else { arg }
    });
    for name in names {
        command = command.mut_subcommand(name, ignore_empty_env);
    }
    command
}

/// `relay`.
#[derive(Debug, Clone, Args)]
pub struct RelayArgs {
    /// The address to listen on: IP:PORT, :PORT (every interface) or localhost:PORT (loopback)
    /// [default: 0.0.0.0:$PORT when PORT is set, else 0.0.0.0:8080].
    #[arg(long, value_name = "ADDR", env = "RELAY_LISTEN")]
    pub listen: Option<String>,
    /// The repository whose workflows receive the repository_dispatch events.
    #[arg(long, value_name = "OWNER/REPO", env = "GITHUB_REPOSITORY")]
    pub repository: Option<String>,
    /// The GitHub REST API root (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(
        long,
        value_name = "URL",
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
    /// Read the GitHub App private key (PEM) from this file instead of GITHUB_APP_PRIVATE_KEY.
    #[arg(long, value_name = "PATH", env = "GITHUB_APP_PRIVATE_KEY_FILE")]
    pub github_app_private_key_file: Option<PathBuf>,
    /// The dbt event types to forward, comma-separated (job.run.started, job.run.completed,
    /// job.run.errored); others are answered 200 and not forwarded.
    #[arg(
        long,
        value_name = "LIST",
        env = "RELAY_EVENT_TYPES",
        default_value = "job.run.completed"
    )]
    pub event_types: Vec<String>,
    /// Answer older events 200 without forwarding them; 0 = no limit.
    #[arg(long, value_name = "DUR", env = "RELAY_MAX_EVENT_AGE", default_value = "1h", value_parser = duration::parse)]
    pub max_event_age: Duration,
    /// Open connections allowed from one client address; 0 = no per-client cap. Behind a proxy or
    /// load balancer every client shares the proxy's address (docs/relay.md).
    #[arg(
        long,
        value_name = "N",
        env = "RELAY_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = crate::relay::limits::DEFAULT_MAX_CONNECTIONS_PER_CLIENT
    )]
    pub max_connections_per_client: usize,
    /// The log's format: text, or json (one JSON object per line, for Cloud Logging or Datadog).
    #[arg(long, value_name = "FORMAT", env = "RELAY_LOG_FORMAT", default_value = "text",
          value_parser = crate::relay::log::LogFormat::parse)]
    pub log_format: crate::relay::log::LogFormat,
}

/// Splits list values given one per line (env vars) or comma-separated, trimming and dropping
/// blank lines.
pub fn split_list(values: &[String], commas: bool) -> Vec<String> {
    values
        .iter()
        .flat_map(|value| value.lines())
        .flat_map(|line| {
            if commas {
                line.split(',').collect::<Vec<_>>()
            } else {
                vec![line]
            }
        })
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// `refresh` parsed from `args` (no environment is read for these flags in the tests' env).
    fn refresh(args: &[&str]) -> Result<RefreshArgs, clap::Error> {
        let argv = ["dbt-tableau-refresh", "refresh"].iter().chain(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Refresh(args) => Ok(*args),
            other => panic!("not refresh: {other:?}"),
        }
    }

    #[test]
    fn wait_is_a_flag_that_still_takes_a_value() {
        let wait = |args: &[&str]| refresh(args).expect("parses").run.should_wait();
        assert!(wait(&[]), "waits by default");
        assert!(wait(&["--wait"]), "a bare --wait");
        assert!(!wait(&["--wait=false"]));
        assert!(!wait(&["--wait", "false"]), "the value after a space");
        assert!(!wait(&["--wait", "no"]));
        assert!(wait(&["--wait", "true"]));
        assert!(!wait(&["--no-wait"]));
        // The last of --wait and --no-wait wins.
        assert!(wait(&["--no-wait", "--wait"]));
        assert!(!wait(&["--wait", "--no-wait"]));
        // A bare --wait before another flag does not swallow it.
        let args = refresh(&["--wait", "--workbook", "Sales", "--dry-run"]).expect("parses");
        assert!(args.run.should_wait() && args.run.dry_run);
        assert_eq!(args.targets.workbooks, ["Sales"]);
        assert!(refresh(&["--wait", "maybe"]).is_err());
        let cancel = refresh(&["--cancel-on-timeout", "--incremental"]).expect("parses");
        assert!(cancel.run.cancel_on_timeout && cancel.run.incremental);
        let cancel = refresh(&["--cancel-on-timeout", "false"]).expect("parses");
        assert!(!cancel.run.cancel_on_timeout);
    }

    #[test]
    fn site_flags_are_named_like_their_variables_and_keep_the_old_names() {
        for (url_flag, site_flag) in [("--site-url", "--site-name"), ("--server-url", "--site")] {
            let args =
                refresh(&[url_flag, "https://t.example.com", site_flag, "acme"]).expect("parses");
            assert_eq!(
                args.tableau.site_url.as_deref(),
                Some("https://t.example.com")
            );
            assert_eq!(args.tableau.site_name, "acme");
        }
        let help = Cli::command()
            .find_subcommand_mut("refresh")
            .expect("refresh")
            .render_long_help()
            .to_string();
        assert!(help.contains("--site-url <URL>"), "{help}");
        assert!(help.contains("[alias: --server-url]"), "{help}");
        assert!(help.contains("[alias: --site]"), "{help}");
    }

    #[test]
    fn lists_split_on_lines_and_optionally_commas() {
        let values = vec![
            "Finance/Revenue\n\n  Sales, EMEA \n".to_string(),
            "X".to_string(),
        ];
        assert_eq!(
            split_list(&values, false),
            ["Finance/Revenue", "Sales, EMEA", "X"]
        );
        assert_eq!(split_list(&["1, 2\n3".to_string()], true), ["1", "2", "3"]);
    }
}
