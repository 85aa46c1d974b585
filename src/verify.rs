//! The `verify` command: check a saved webhook body against a signature, for debugging a setup.

use crate::actions::console;
use crate::cli::VerifyArgs;
use crate::dbt::{WebhookEvent, signature};
use crate::exit;
use crate::secret;

/// Prints whether the signature matches and, if so, the parsed event.
pub fn command(args: VerifyArgs) -> u8 {
    let keys = secret::list_from_env("DBT_WEBHOOK_KEY");
    if keys.is_empty() {
        eprintln!("error: DBT_WEBHOOK_KEY is not set");
        return exit::USAGE;
    }
    let body = match std::fs::read(&args.body_file) {
        Ok(body) => body,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.body_file.display());
            return exit::USAGE;
        }
    };
    if let Err(err) = signature::verify(&keys, &body, Some(&args.signature)) {
        eprintln!("signature: INVALID: {err}");
        return exit::FAILED;
    }
    println!("signature: valid ({} bytes)", body.len());
    match WebhookEvent::parse(&body) {
        Ok(event) => {
            // The event's strings come from the body: inside Actions they must not reach the
            // runner as commands (`Debug` escapes line breaks but keeps `##[`).
            println!("{}", console::log_text(&format!("{event:#?}")));
            exit::SUCCESS
        }
        Err(err) => {
            eprintln!("event: {err}");
            exit::FAILED
        }
    }
}
