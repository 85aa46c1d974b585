//! The `verify` command: check a saved webhook body against a signature and print a short report
//! (or JSON), for debugging a setup. Every value from the body is untrusted text: it is shortened
//! and stripped of control characters before it is printed.

use std::io::Read as _;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::actions::console;
use crate::cli::VerifyArgs;
use crate::dbt::decision::printable;
use crate::dbt::signature::{self, SignatureError};
use crate::dbt::{WebhookEvent, event::EventError};
use crate::exit;
use crate::secret;

/// What `verify` found. The key is named by its place in `DBT_WEBHOOK_KEY`, never by its value.
#[derive(Debug)]
pub struct Verdict {
    pub bytes: usize,
    pub keys: usize,
    /// The 0-based index of the key that matched, or why none did.
    pub signature: Result<usize, SignatureError>,
    /// How the body was changed, when the signature matches a likely variant of it.
    pub hint: Option<String>,
    pub event: Result<WebhookEvent, EventError>,
}

impl Verdict {
    /// Checks `body` against `header` with `keys` and parses it.
    pub fn check(keys: &[secret::Secret], body: &[u8], header: &str) -> Self {
        let signature = signature::verify(keys, body, Some(header));
        let hint = (signature == Err(SignatureError::Mismatch))
            .then(|| signature::diagnose(keys, body, Some(header)))
            .flatten()
            .map(|hint| hint.message("the saved body"));
        Self {
            bytes: body.len(),
            keys: keys.len(),
            signature,
            hint,
            event: WebhookEvent::parse(body),
        }
    }

    /// Exit status: 0 only when the signature is valid and the body is a dbt event.
    pub fn code(&self) -> u8 {
        if self.signature.is_ok() && self.event.is_ok() {
            exit::SUCCESS
        } else {
            exit::FAILED
        }
    }

    /// The report for people: one fact per line.
    pub fn text(&self, now: DateTime<Utc>) -> String {
        let mut lines = Vec::new();
        match &self.signature {
            Ok(index) => lines.push((
                "signature",
                format!(
                    "valid: key {} of {}, {} bytes",
                    index + 1,
                    self.keys,
                    self.bytes
                ),
            )),
            Err(err) => lines.push((
                "signature",
                format!("INVALID: {err} ({} bytes)", self.bytes),
            )),
        }
        if let Some(hint) = &self.hint {
            lines.push(("hint", hint.clone()));
        }
        match &self.event {
            Ok(event) => {
                let data = &event.data;
                let shown = |value: &Option<String>| {
                    value.as_deref().map_or_else(|| "-".to_string(), printable)
                };
                let mut kind = printable(&event.event_type);
                if let Some(id) = &event.event_id {
                    kind.push_str(&format!(" ({})", printable(id)));
                }
                lines.push(("event", kind));
                let mut job = shown(&data.job_id);
                if let Some(name) = &data.job_name {
                    job.push_str(&format!(" ({})", printable(name)));
                }
                lines.push(("job", job));
                lines.push(("run", shown(&data.run_id)));
                lines.push(("status", printable(&event.status_label())));
                lines.push(("age", age_text(event.occurred_at(), now)));
            }
            Err(err) => lines.push(("event", format!("not a dbt event: {err}"))),
        }
        if self.signature.is_err() && self.event.is_ok() {
            lines.push((
                "note",
                "the event above is not verified: do not trust it".into(),
            ));
        }
        lines
            .into_iter()
            .map(|(label, value)| format!("{label:<10} {value}\n"))
            .collect()
    }

    /// The report for scripts. `key` is 1-based, like the text report.
    pub fn json(&self, now: DateTime<Utc>) -> serde_json::Value {
        let event = self.event.as_ref().ok().map(|event| {
            let at = event.occurred_at();
            json!({
                "type": event.event_type,
                "id": event.event_id,
                "job_id": event.data.job_id,
                "job_name": event.data.job_name,
                "run_id": event.data.run_id,
                "status": event.status_label(),
                "succeeded": event.run_succeeded(),
                "occurred_at": at.map(|at| at.to_rfc3339()),
                "age_s": at.map(|at| now.signed_duration_since(at).num_seconds()),
            })
        });
        json!({
            "valid": self.signature.is_ok(),
            "key": self.signature.as_ref().ok().map(|index| index + 1),
            "keys": self.keys,
            "bytes": self.bytes,
            "error": self.signature.as_ref().err().map(ToString::to_string),
            "hint": self.hint,
            "event": event,
            "event_error": self.event.as_ref().err().map(ToString::to_string),
        })
    }
}

/// How old the event is, or that it is dated in the future.
fn age_text(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(at) = at else {
        return "unknown (the event carries no timestamp)".into();
    };
    let age = now.signed_duration_since(at);
    match age.to_std() {
        Ok(age) => format!(
            "{} (at {})",
            crate::duration::format_short(age),
            at.to_rfc3339()
        ),
        Err(_) => format!(
            "dated {} in the future (at {}); check the clocks",
            crate::duration::format_short((-age).to_std().unwrap_or_default()),
            at.to_rfc3339()
        ),
    }
}

/// Runs `verify` and returns the exit code.
pub fn command(args: VerifyArgs) -> u8 {
    let keys = secret::list_from_env("DBT_WEBHOOK_KEY");
    if keys.is_empty() {
        eprintln!("error: DBT_WEBHOOK_KEY is not set");
        return exit::USAGE;
    }
    let body = if args.body_file.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body).map(|_| body)
    } else {
        std::fs::read(&args.body_file)
    };
    let body = match body {
        Ok(body) => body,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.body_file.display());
            return exit::USAGE;
        }
    };
    let verdict = Verdict::check(&keys, &body, &args.signature);
    let now = Utc::now();
    // Values from the body are untrusted: inside Actions the runner must not read them as
    // commands (JSON escaping keeps `##[` as it is, so the JSON goes through the same path).
    if args.json {
        println!("{}", console::log_text(&verdict.json(now).to_string()));
    } else {
        println!("{}", console::log_text(verdict.text(now).trim_end()));
    }
    verdict.code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    const BODY: &str = r#"{"eventType":"job.run.completed","eventId":"wev_1","timestamp":"2026-11-26T09:30:00Z","data":{"jobId":42,"jobName":"Nightly\u001b[31m","runId":"7","runStatus":"Success","runStatusCode":10}}"#;

    #[test]
    fn a_valid_body_reads_as_a_short_report_naming_the_key_by_place() {
        let keys = [Secret::new("old"), Secret::new("new")];
        let sig = signature::sign(&keys[1], BODY.as_bytes());
        let verdict = Verdict::check(&keys, BODY.as_bytes(), &sig);
        assert_eq!(verdict.code(), exit::SUCCESS);
        let text = verdict.text(now());
        assert_eq!(
            text,
            format!(
                "signature  valid: key 2 of 2, {} bytes\n\
                 event      job.run.completed (wev_1)\n\
                 job        42 (Nightly[31m)\n\
                 run        7\n\
                 status     Success (10)\n\
                 age        2h 30m (at 2026-11-26T09:30:00+00:00)\n",
                BODY.len()
            )
        );
        assert!(!text.contains('\u{1b}'), "no control characters");
        let json = verdict.json(now());
        assert_eq!(json["valid"], true);
        assert_eq!(json["key"], 2);
        assert_eq!(json["event"]["job_id"], "42");
        assert_eq!(json["event"]["age_s"], 9000);
        assert!(!json.to_string().contains("new"), "never the key");
    }

    #[test]
    fn a_saved_newline_fails_with_the_hint() {
        let keys = [Secret::new("k")];
        let sig = signature::sign(&keys[0], BODY.as_bytes());
        let saved = format!("{BODY}\n");
        let verdict = Verdict::check(&keys, saved.as_bytes(), &sig);
        assert_eq!(verdict.code(), exit::FAILED);
        let text = verdict.text(now());
        assert!(
            text.starts_with("signature  INVALID: the signature does not match"),
            "{text}"
        );
        assert!(
            text.contains("hint       the saved body ends with a newline that dbt did not send"),
            "{text}"
        );
        assert!(text.contains("printf '%s'"), "{text}");
        assert!(text.contains("not verified"), "{text}");
        let json = verdict.json(now());
        assert_eq!(json["valid"], false);
        assert_eq!(json["key"], serde_json::Value::Null);
        assert!(json["hint"].as_str().is_some_and(|h| h.contains("newline")));
    }
}
