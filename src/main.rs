//! The `dbt-tableau-refresh` binary: parse, set up logging, run the command, map the exit code.

use std::process::ExitCode;

use dbt_tableau_refresh::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse_with_env();
    init_tracing();
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
        }
    });
    ExitCode::from(code)
}

/// Diagnostics for developers, off unless `RUST_LOG` asks; people read the console lines.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}
