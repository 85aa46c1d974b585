//! Property tests of the parsers that take untrusted input on the relay's side of the chain: the
//! dbt webhook parser, the signature verifier and the dispatch-payload reader (the
//! `$GITHUB_EVENT_PATH` file that `refresh` reads). None may panic on any input, and each keeps
//! its contract on valid input.
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

use dbt_tableau_refresh::actions::event_file;
use dbt_tableau_refresh::dbt::WebhookEvent;
use dbt_tableau_refresh::dbt::signature::{self, SignatureError};
use dbt_tableau_refresh::secret::Secret;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

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
