//! Property tests of the code that takes untrusted input: the dbt webhook parser, the signature
//! verifier and the dispatch-payload reader (the `$GITHUB_EVENT_PATH` file that `refresh` reads)
//! never panic and keep their contract on valid input; the console's lines, read the way the
//! Actions runner reads them, carry no command but their own; the job summary keeps its table
//! and lets no HTML out, whatever Tableau or dbt named things.
//!
//! `cargo test` runs proptest's default of 256 cases per property (well under a second in all).
//! A longer run, for example before a release or after touching a parser:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --release --test properties
//! ```
//!
//! A failing case is shrunk to a small input and saved in a `proptest-regressions` file next to
//! this one; commit that file so the case is replayed on every run from then on.

use dbt_tableau_refresh::actions::console::{Entry, Level, clean};
use dbt_tableau_refresh::actions::event_file;
use dbt_tableau_refresh::dbt::WebhookEvent;
use dbt_tableau_refresh::dbt::signature::{self, SignatureError};
use dbt_tableau_refresh::secret::Secret;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// The runner-faithful reader of the integration tests; this crate uses only part of it.
#[allow(dead_code)]
#[path = "integration/runner_log.rs"]
mod runner_log;

/// Field names the parsers look for, so that generated JSON reaches their branches.
static KNOWN_FIELDS: [&str; 20] = [
    "eventType",
    "eventId",
    "accountId",
    "webhookId",
    "webhooksID",
    "timestamp",
    "webhookName",
    "data",
    "jobId",
    "jobName",
    "runId",
    "runStatus",
    "runStatusCode",
    "runStartedAt",
    "runFinishedAt",
    "runErroredAt",
    "projectId",
    "client_payload",
    "body",
    "signature",
];

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&KNOWN_FIELDS[..]).prop_map(str::to_owned),
        1 => "[a-zA-Z_]{0,10}",
    ]
}

/// Any JSON value, up to `depth` levels deep, with object keys the parsers know among others.
/// `mark` prefixes every string that is not a known field name with `§`, so a test can tell
/// whether a message quotes the input.
fn json_value(mark: bool, depth: u32) -> impl Strategy<Value = Value> {
    let text = move |s: String| {
        if mark { format!("§{s}") } else { s }
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(move |s| Value::String(text(s))),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?Z"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..8).prop_map(move |pairs| {
                let map: Map<String, Value> = pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let known = KNOWN_FIELDS.contains(&k.as_str());
                        (if known { k } else { text(k) }, v)
                    })
                    .collect();
                Value::Object(map)
            }),
        ]
    })
}

/// An id as dbt may send it (a string or a number), and the text the parser must keep.
fn id() -> impl Strategy<Value = (Value, String)> {
    prop_oneof![
        any::<String>().prop_map(|s| (Value::String(s.clone()), s)),
        any::<u64>().prop_map(|n| (Value::from(n), n.to_string())),
        any::<i64>().prop_map(|n| (Value::from(n), n.to_string())),
    ]
}

/// `[[[…]]]` or `{"":{"":…1}}` nested `depth` deep.
fn nested(depth: usize, objects: bool) -> String {
    if objects {
        format!("{}1{}", r#"{"":"#.repeat(depth), "}".repeat(depth))
    } else {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }
}

mod webhook {
    use super::*;

    proptest! {
        #[test]
        fn parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
            let _ = WebhookEvent::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_json(value in json_value(false, 4)) {
            let _ = WebhookEvent::parse(value.to_string().as_bytes());
        }

        #[test]
        fn parse_never_panics_on_event_shaped_json(
            top in prop::collection::vec((field_name(), json_value(false, 2)), 0..8),
            data in prop::collection::vec((field_name(), json_value(false, 2)), 0..8),
            event_type in prop::option::of(any::<String>()),
        ) {
            let mut event: Map<String, Value> = top.into_iter().collect();
            event.insert("data".into(), Value::Object(data.into_iter().collect()));
            if let Some(event_type) = &event_type {
                event.insert("eventType".into(), Value::String(event_type.clone()));
            }
            if let Ok(parsed) = WebhookEvent::parse(Value::Object(event.clone()).to_string().as_bytes()) {
                prop_assert_eq!(Some(&Value::String(parsed.event_type)), event.get("eventType"));
            }
        }

        #[test]
        fn parse_never_panics_on_deep_nesting(depth in 0usize..40_000, objects: bool, inside: bool) {
            let deep = nested(depth, objects);
            let body = if inside {
                format!(r#"{{"eventType":"job.run.completed","eventId":{deep}}}"#)
            } else {
                deep
            };
            let parsed = WebhookEvent::parse(body.as_bytes());
            // Past serde_json's recursion limit (128), the nesting itself is refused.
            if depth > 200 {
                prop_assert!(parsed.is_err());
            }
        }

        #[test]
        fn error_messages_never_quote_the_input(value in json_value(true, 4)) {
            if let Err(err) = WebhookEvent::parse(value.to_string().as_bytes()) {
                let message = err.to_string();
                prop_assert!(!message.contains('§'), "{}", message);
            }
        }

        #[test]
        fn a_valid_event_round_trips_its_ids(
            (event_id, event_id_text) in id(),
            (account_id, account_id_text) in id(),
            (job_id, job_id_text) in id(),
            (run_id, run_id_text) in id(),
            event_type in any::<String>(),
            run_status in any::<String>(),
            pretty: bool,
        ) {
            let event = json!({
                "accountId": account_id,
                "eventId": event_id,
                "eventType": event_type,
                "data": {"jobId": job_id, "runId": run_id, "runStatus": run_status, "extra": [1, {"a": null}]},
            });
            let body = if pretty {
                serde_json::to_string_pretty(&event).expect("serialises")
            } else {
                event.to_string()
            };
            let parsed = WebhookEvent::parse(body.as_bytes()).expect("a valid event parses");
            prop_assert_eq!(parsed.event_id, Some(event_id_text));
            prop_assert_eq!(parsed.account_id, Some(account_id_text));
            prop_assert_eq!(parsed.data.job_id, Some(job_id_text));
            prop_assert_eq!(parsed.data.run_id, Some(run_id_text));
            prop_assert_eq!(parsed.event_type, event_type);
            prop_assert_eq!(parsed.data.run_status, Some(run_status));
        }
    }
}

mod signatures {
    use super::*;

    fn key() -> impl Strategy<Value = Secret> {
        "\\PC{0,64}".prop_map(Secret::new)
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..512)
    }

    /// Header values that come close to a valid one, and any text at all.
    fn header() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "(?i)(bearer |sha256=)?[0-9a-fA-F]{60,68}",
            "[ \t\r\n]{0,3}[0-9a-fA-Fg-z]{64}[ \t\r\n]{0,3}",
            "\\PC{0,80}",
        ]
    }

    proptest! {
        #[test]
        fn verify_never_panics(
            keys in prop::collection::vec(key(), 0..3),
            body in body(),
            header in prop::option::of(header()),
        ) {
            let _ = signature::verify(&keys, &body, header.as_deref());
        }

        #[test]
        fn sign_then_verify_accepts_in_either_case_among_other_keys(
            key in key(),
            others in prop::collection::vec(key(), 0..3),
            body in body(),
            upper: bool,
        ) {
            let digest = signature::sign(&key, &body);
            prop_assert_eq!(digest.len(), 64);
            let header = if upper { digest.to_uppercase() } else { digest };
            let mut keys: Vec<Secret> = others.into_iter().filter(|k| *k != key).collect();
            keys.push(key);
            prop_assert_eq!(signature::verify(&keys, &body, Some(&header)), Ok(keys.len() - 1));
        }

        #[test]
        fn any_single_byte_change_to_the_body_is_rejected(
            key in key(),
            body in prop::collection::vec(any::<u8>(), 1..512),
            index: prop::sample::Index,
            flip in 1u8..=255,
        ) {
            let header = signature::sign(&key, &body);
            let mut changed = body.clone();
            let at = index.index(changed.len());
            changed[at] ^= flip;
            prop_assert_eq!(
                signature::verify(&[key], &changed, Some(&header)),
                Err(SignatureError::Mismatch)
            );
        }

        /// Every ASCII replacement of one character of the hex digest is rejected, except the same
        /// digit in the other case (upper- and lower-case hex are the same digest, by design).
        #[test]
        fn any_single_byte_change_to_the_signature_is_rejected(
            key in key(),
            body in body(),
            at in 0usize..64,
            replacement in 0u8..0x80,
        ) {
            let header = signature::sign(&key, &body);
            let original = header.as_bytes()[at];
            prop_assume!(replacement.to_ascii_lowercase() != original);
            let mut changed = header.into_bytes();
            changed[at] = replacement;
            let changed = String::from_utf8(changed).expect("ASCII");
            prop_assert!(signature::verify(&[key], &body, Some(&changed)).is_err());
        }
    }
}

mod dispatch_payload {
    use super::*;

    proptest! {
        #[test]
        fn parse_never_panics_on_text(text in prop_oneof![any::<String>(), "\\PC{0,200}"]) {
            let _ = event_file::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_deep_nesting(depth in 0usize..40_000, objects: bool) {
            let _ = event_file::parse(&nested(depth, objects));
            let event = format!(r#"{{"client_payload":{{"body":"x","signature":{}}}}}"#, nested(depth, objects));
            let _ = event_file::parse(&event);
        }

        #[test]
        fn body_and_signature_come_back_only_when_they_are_strings(
            body in json_value(false, 2),
            signature in json_value(false, 2),
            extra in json_value(false, 3),
            payload_is_object: bool,
        ) {
            let client_payload = if payload_is_object {
                json!({"body": body, "signature": signature, "event_id": extra})
            } else {
                extra.clone()
            };
            let event = json!({"action": "dbt-job-run-completed", "client_payload": client_payload});
            let payload = event_file::parse(&event.to_string()).expect("JSON");
            if payload_is_object {
                prop_assert_eq!(payload.body.is_some(), body.is_string());
                prop_assert_eq!(payload.signature.is_some(), signature.is_string());
            }
            let expect = |name: &str| client_payload.get(name).and_then(Value::as_str).map(str::to_owned);
            prop_assert_eq!(payload.body, expect("body"));
            prop_assert_eq!(payload.signature, expect("signature"));
        }

        /// The relay puts the raw webhook body into `client_payload.body` as a JSON string; the
        /// action gets back the very same text, whatever characters it holds.
        #[test]
        fn the_body_text_survives_the_event_file_character_for_character(
            body in any::<String>(),
            signature in "[0-9a-f]{64}",
        ) {
            let event = json!({"client_payload": {"body": body, "signature": signature}});
            let payload = event_file::parse(&event.to_string()).expect("JSON");
            prop_assert_eq!(payload.body.as_deref(), Some(body.as_str()));
            prop_assert_eq!(payload.signature.as_deref(), Some(signature.as_str()));
        }
    }
}

/// Pieces of text that mean something to the runner, a terminal or markdown, for building names
/// that probe the escaping harder than random text does.
static HOSTILE_PIECES: [&str; 40] = [
    "::",
    "##[",
    "]",
    "[",
    "#",
    "\r",
    "\n",
    "\r\n",
    " ",
    "\t",
    "\u{1b}",
    "\u{7}",
    "\u{85}",
    "\u{2028}",
    "\u{3000}",
    "\u{200B}",
    "\u{202E}",
    "%0A",
    "%0D",
    "%25",
    "%",
    ",",
    ":",
    "=",
    ";",
    "stop-commands",
    "error",
    "add-mask",
    "set-output",
    "group",
    "endgroup",
    "title=x",
    "|",
    "`",
    "\\",
    "<img src=x>",
    "<",
    ">",
    "*",
    "_",
];

/// Untrusted text: hostile pieces glued together, or any string at all.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(&HOSTILE_PIECES[..]).prop_map(str::to_owned),
        1 => "[a-zA-Z0-9]{1,4}",
    ];
    prop_oneof![
        3 => prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat()),
        1 => any::<String>(),
    ]
}

mod console {
    use super::runner_log::{Command, RunnerLog};
    use super::*;

    /// Something a run logs, with untrusted text in it.
    #[derive(Debug, Clone)]
    enum Logged {
        Info(String),
        Group(String),
        EndGroup,
        Annotation(Level, String, String),
    }

    fn logged() -> impl Strategy<Value = Logged> {
        let level = prop::sample::select(vec![Level::Notice, Level::Warning, Level::Error]);
        prop_oneof![
            hostile_text().prop_map(Logged::Info),
            hostile_text().prop_map(Logged::Group),
            Just(Logged::EndGroup),
            (level, hostile_text(), hostile_text())
                .prop_map(|(level, title, message)| Logged::Annotation(level, title, message)),
        ]
    }

    /// The line the console writes in Actions, and the command the runner must take from it.
    fn line_and_command(logged: &Logged) -> (String, Option<Command>) {
        match logged {
            Logged::Info(text) => (line(Entry::Info(text)), None),
            Logged::Group(title) => (
                line(Entry::Group(title)),
                Some(Command::new("group", &[], &clean(title))),
            ),
            Logged::EndGroup => (
                line(Entry::EndGroup),
                Some(Command::new("endgroup", &[], "")),
            ),
            Logged::Annotation(level, title, message) => {
                // The runner trims the property list, so a title's trailing spaces go; an empty
                // title is no property at all.
                let title = clean(title);
                let title = title.trim_end();
                let properties: Vec<(&str, &str)> = if title.is_empty() {
                    Vec::new()
                } else {
                    vec![("title", title)]
                };
                (
                    line(Entry::Annotation {
                        level: *level,
                        title,
                        message,
                    }),
                    Some(Command::new(level.as_str(), &properties, &clean(message))),
                )
            }
        }
    }

    fn line(entry: Entry<'_>) -> String {
        entry.actions_line().expect("a line")
    }

    proptest! {
        /// Whatever a run logs before it, a session token's mask is obeyed and the token never
        /// shows; every line yields exactly the command the console meant, and a plain line none.
        #[test]
        fn the_runner_takes_only_our_commands_and_always_obeys_the_mask(
            before in prop::collection::vec(logged(), 0..8),
            after in prop::collection::vec(logged(), 0..4),
            token in "[A-Za-z0-9|%:#\\[\\]]{12,32}",
        ) {
            let secret = dbt_tableau_refresh::secret::Secret::new(token.clone());
            let mut output = String::new();
            let mut expected = Vec::new();
            for logged in &before {
                let (line, command) = line_and_command(logged);
                output.push_str(&line);
                output.push('\n');
                expected.extend(command);
            }
            output.push_str(&line(Entry::Mask(&secret)));
            output.push('\n');
            expected.push(Command::new("add-mask", &[], &token));
            for logged in &after {
                let (line, command) = line_and_command(logged);
                output.push_str(&line);
                output.push('\n');
                expected.extend(command);
            }
            output.push_str(&line(Entry::Info(&format!("the token {token} itself"))));
            output.push('\n');
            let log = RunnerLog::read(&output);
            prop_assert_eq!(&log.commands, &expected, "{}", output);
            prop_assert!(log.masks.contains(&token));
            prop_assert!(!log.shown_text().contains(&token), "{}", log.shown_text());
        }
    }
}

mod summary {
    use std::time::Duration;

    use dbt_tableau_refresh::refresh::render;
    use dbt_tableau_refresh::refresh::report::{
        EventFacts, Outcome, Phase, Report, Status, TargetReport,
    };
    use dbt_tableau_refresh::tableau::{Kind, ServerFacts};

    use super::*;

    /// A report in which every value that Tableau, dbt or the user chose is `text`.
    fn report_of(texts: &[String], status: Status) -> Report {
        let text = |i: usize| texts[i % texts.len()].clone();
        let mut report = Report::new();
        report.event = Some(EventFacts {
            event_type: text(0),
            event_id: Some(text(1)),
            job_id: Some(text(2)),
            job_name: Some(text(3)),
            run_id: Some(text(4)),
            status: text(5),
            project_name: Some(text(6)),
            environment: Some(text(7)),
            occurred_at: Some(text(8)),
            run_url: Some(format!("https://cloud.getdbt.com/{}", text(9))),
        });
        report.server = Some(ServerFacts {
            server: text(10),
            site: text(11),
            api_version: text(12),
            product_version: Some(text(13)),
        });
        for (i, outcome) in [Outcome::Succeeded, Outcome::Failed, Outcome::AlreadyQueued]
            .into_iter()
            .enumerate()
        {
            let mut target = TargetReport::new(Kind::Workbook, text(14 + i), outcome);
            target.name = Some(text(17 + i));
            target.project = Some(text(20 + i));
            target.id = Some(text(23 + i));
            target.job_id = Some(text(26 + i));
            target.url = Some(format!("https://tableau.example.com/{}", text(29 + i)));
            target.message = Some(text(32 + i));
            target.duration = Some(Duration::from_millis(1_500));
            report.targets.push(target);
        }
        // A target Tableau did not find: no name, so its reference is shown.
        report.targets.push(TargetReport::new(
            Kind::Datasource,
            text(35),
            Outcome::NotFound,
        ));
        report.warnings.push(text(36));
        match status {
            Status::Skipped => report.skip(text(37)),
            Status::Failed => report.fail(Phase::Wait, text(37)),
            Status::Success => {}
        }
        report
    }

    /// `|` not preceded by a backslash: what GFM splits a table row on, code spans or not
    /// (cmark-gfm's row scanner reads `\|` as an escaped pipe wherever it is).
    fn cell_separators(row: &str) -> usize {
        let bytes = row.as_bytes();
        (0..bytes.len())
            .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
            .count()
    }

    /// Text with its code spans taken out (CommonMark: a run of N backticks not escaped by a
    /// backslash opens one, the next run of exactly N closes it; an unclosed run is literal).
    fn without_code_spans(text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let run_at = |at: usize| chars[at..].iter().take_while(|c| **c == '`').count();
        let mut out = String::new();
        let mut at = 0;
        while at < chars.len() {
            match chars[at] {
                '\\' if at + 1 < chars.len() => {
                    out.push(chars[at]);
                    out.push(chars[at + 1]);
                    at += 2;
                }
                '`' => {
                    let run = run_at(at);
                    let mut close = at + run;
                    let mut closed = None;
                    while close < chars.len() {
                        if chars[close] == '`' {
                            let length = run_at(close);
                            if length == run {
                                closed = Some(close + length);
                                break;
                            }
                            close += length;
                        } else {
                            close += 1;
                        }
                    }
                    match closed {
                        Some(end) => at = end,
                        None => {
                            out.extend(&chars[at..at + run]);
                            at += run;
                        }
                    }
                }
                c => {
                    out.push(c);
                    at += 1;
                }
            }
        }
        out
    }

    /// Whether `text` holds a `<` that no backslash escapes.
    fn has_raw_angle(text: &str) -> bool {
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '<' => return true,
                _ => {}
            }
        }
        false
    }

    proptest! {
        #[test]
        fn no_server_chosen_value_breaks_the_table_or_lets_html_out(
            texts in prop::collection::vec(hostile_text(), 1..40),
            status in prop::sample::select(vec![Status::Success, Status::Skipped, Status::Failed]),
        ) {
            let report = report_of(&texts, status);
            let markdown = render::markdown(&report);
            let lines: Vec<&str> = markdown.lines().collect();
            let header = lines
                .iter()
                .position(|l| l.starts_with("| | Kind |"))
                .expect("the table header");
            let rows: Vec<&str> = lines[header + 2..]
                .iter()
                .take_while(|l| !l.is_empty())
                .copied()
                .collect();
            prop_assert_eq!(rows.len(), report.targets.len(), "{}", markdown);
            for row in &rows {
                // Seven cells: eight separators, whatever the values hold.
                prop_assert_eq!(cell_separators(row), 8, "{}", row);
            }
            for line in &lines {
                // No value starts a line of its own (a heading, a list, a new table row).
                prop_assert!(
                    line.is_empty()
                        || ["## ", "**", "| ", "|---", "### Details", "- **", "> ⚠️", "<sub>"]
                            .iter()
                            .any(|start| line.starts_with(start)),
                    "{}", line
                );
                // No raw HTML outside code spans, cell by cell as GFM parses a row (its `\|`
                // become `|` before the cell's inlines are read). The footer's own `<sub>` aside.
                let line = line.strip_prefix("<sub>").unwrap_or(line);
                let line = line.strip_suffix("</sub>").unwrap_or(line);
                let cells: Vec<String> = if line.starts_with('|') {
                    split_cells(line)
                } else {
                    vec![line.to_string()]
                };
                for cell in cells {
                    prop_assert!(!has_raw_angle(&without_code_spans(&cell)), "{}", line);
                }
            }
            let jobs: serde_json::Value = serde_json::from_str(&render::jobs_json(&report)).expect("valid JSON");
            prop_assert_eq!(jobs.as_array().map(Vec::len), Some(report.targets.len()));
            prop_assert_eq!(&jobs[0]["job_id"], &json!(report.targets[0].job_id));
        }
    }

    /// A row's cells, split on unescaped pipes, each with `\|` turned back into `|`.
    fn split_cells(row: &str) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut chars = row.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'|') => {
                    chars.next();
                    cells.last_mut().expect("a cell").push('|');
                }
                '|' => cells.push(String::new()),
                c => cells.last_mut().expect("a cell").push(c),
            }
        }
        cells
    }
}
