//! The `dbt-tableau-refresh` binary: parse, set up logging, run the command, map the exit code.

use std::process::ExitCode;

use dbt_tableau_refresh::cli::{Cli, Command};
use dbt_tableau_refresh::relay::log::{JsonLines, LogFormat};

fn main() -> ExitCode {
    let cli = match Cli::try_parse_with_env() {
        Ok(cli) => cli,
        Err(err) => {
            // A malformed `refresh` input is a usage error the workflow must see too: the summary
            // and status=failed, as for the problems found after parsing. Help and version are
            // not errors.
            if err.use_stderr() && is_refresh() {
                use dbt_tableau_refresh::cli::ReportArgs;
                use dbt_tableau_refresh::{inputs::Naming, refresh::usage};
                let console = dbt_tableau_refresh::actions::Console::from_env();
                let problem = usage::from_clap(&err);
                if console.is_actions() {
                    // Only the cleaned line: clap's own text would print the raw value.
                    console.error("Invalid input", &problem);
                } else {
                    // clap's text, with the option named by flag and variable: a malformed value
                    // may have come from either.
                    eprint!("{}", usage::clap_text(&err, Naming::command_line()));
                }
                // The command line did not parse, so --summary-file and --format are unknown:
                // only the Actions files are written.
                usage::record(console, &[problem], &ReportArgs::default());
                return ExitCode::from(dbt_tableau_refresh::exit::USAGE);
            }
            err.exit()
        }
    };
    // The relay is a service: its request lines are its output. The other commands print for
    // people and keep diagnostics for developers.
    let (default_filter, json) = match &cli.command {
        Command::Relay(args) => (RELAY_LOG_FILTER, args.log_format == LogFormat::Json),
        _ => ("warn", false),
    };
    init_tracing(default_filter, json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Refresh(args) => dbt_tableau_refresh::refresh::command(*args).await,
            Command::Verify(args) => dbt_tableau_refresh::verify::command(args),
            Command::Relay(args) => dbt_tableau_refresh::relay::command(args).await,
            Command::Demo(args) => dbt_tableau_refresh::demo::command(args).await,
        }
    });
    ExitCode::from(code)
}

/// Whether the command line asks for `refresh` (the first argument that is not an option).
fn is_refresh() -> bool {
    std::env::args_os()
        .skip(1)
        .find(|arg| !arg.to_string_lossy().starts_with('-'))
        .is_some_and(|arg| arg == "refresh")
}

/// The relay logs one line per request at info. octocrab's own request tracing is silenced: it logs
/// every GitHub 5xx at error level, while the relay's lines already say what was retried and why.
const RELAY_LOG_FILTER: &str = "info,octocrab=off";

/// `RUST_LOG` when set, else `default_filter`. Colours only on a terminal: container platforms and
/// journald store the raw text. Inside Actions each line is cleaned like the console's (the runner
/// reads stderr for workflow commands too). `json`: the relay's JSON lines (`RELAY_LOG_FORMAT`).
fn init_tracing(default_filter: &str, json: bool) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(dbt_tableau_refresh::actions::console::log_writer);
    if json {
        builder.event_format(JsonLines).init();
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .without_time()
            .init();
    }
}
