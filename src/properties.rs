//! Property tests of everything on the refresh side that reads untrusted text: Tableau's answers
//! (JSON, XML, HTML, empty, truncated), durations, references, and the summary renderer fed
//! hostile names. Run longer with `PROPTEST_CASES=100000 cargo test --lib properties`.

use proptest::prelude::*;

use crate::refresh::render;
use crate::refresh::report::{Outcome, Report, TargetReport};
use crate::tableau::model::{JobEnvelope, Page};
use crate::tableau::{ApiError, Kind, Reference};

/// Text that looks like what a server or a user might send: JSON-ish, XML-ish, HTML-ish, or noise.
fn answer_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[{}\\[\\]\":,0-9a-zA-Z ]{0,200}",
        "<[a-zA-Z/ =\"0-9]{0,40}>[^<]{0,40}(</[a-z]{0,8}>)?",
        json_value().prop_map(|v| v.to_string()),
        json_value().prop_map(|v| {
            let text = v.to_string();
            let cut = text.len() / 2;
            text.get(..cut).unwrap_or_default().to_string()
        }),
    ]
}

/// Arbitrary JSON, with Tableau's keys more likely than chance.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("error".to_string()),
        Just("code".to_string()),
        Just("job".to_string()),
        Just("finishCode".to_string()),
        Just("completedAt".to_string()),
        Just("workbooks".to_string()),
        Just("workbook".to_string()),
        Just("pagination".to_string()),
        Just("statusNotes".to_string()),
        Just("statusNote".to_string()),
        "[a-z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| serde_json::Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn error_bodies_never_panic_and_stay_short(status in 400u16..600, body in answer_text(), html in any::<bool>()) {
        let content_type = if html { Some("text/html") } else { None };
        let error = ApiError::from_response(status, content_type, body.as_bytes());
        let text = error.to_string();
        let prefix = format!("HTTP {status}");
        prop_assert!(text.starts_with(&prefix), "{}", text);
        prop_assert!(text.chars().count() < 1_600, "{} chars", text.chars().count());
        prop_assert!(!text.chars().any(|c| c.is_control()));
    }

    #[test]
    fn list_and_job_answers_never_panic(value in json_value()) {
        let text = value.to_string();
        if let Ok(page) = serde_json::from_str::<Page>(&text) {
            let _ = page.items::<crate::tableau::model::Item>("workbooks", "workbook");
        }
        if let Ok(job) = serde_json::from_str::<JobEnvelope>(&text) {
            let _ = job.job.notes();
            let _ = job.job.has_error_note();
        }
    }

    #[test]
    fn durations_parse_or_refuse_without_panicking(text in ".{0,30}") {
        let _ = crate::duration::parse(&text);
    }

    #[test]
    fn durations_round_trip_through_seconds(seconds in 0u64..10_000_000) {
        prop_assert_eq!(
            crate::duration::parse(&format!("{seconds}s")),
            Ok(std::time::Duration::from_secs(seconds))
        );
    }

    #[test]
    fn references_parse_or_refuse_and_valid_ones_round_trip(text in "[^\\x00]{0,60}") {
        if let Ok(reference) = Reference::parse(&text) {
            let again = Reference::parse(&reference.to_string());
            prop_assert_eq!(again, Ok(reference));
        }
    }

    #[test]
    fn hostile_names_cannot_break_the_summary_table(
        names in prop::collection::vec(any::<String>(), 1..5),
        message in any::<String>(),
    ) {
        let mut report = Report::new();
        for name in &names {
            let mut target = TargetReport::new(Kind::Workbook, name.clone(), Outcome::Failed);
            target.name = Some(name.clone());
            target.project = Some(name.clone());
            target.message = Some(message.clone());
            target.url = Some(format!("https://x/{name}"));
            report.targets.push(target);
        }
        let markdown = render::markdown(&report);
        let rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with("| ❌")).collect();
        prop_assert_eq!(rows.len(), names.len());
        for row in rows {
            // Seven cells: eight unescaped pipes, whatever the names hold.
            let unescaped = row
                .char_indices()
                .filter(|(i, c)| *c == '|' && (*i == 0 || !row[..*i].ends_with('\\')))
                .count();
            prop_assert_eq!(unescaped, 8, "{}", row);
        }
        // No raw HTML from a name reaches the page.
        prop_assert!(!markdown.replace("\\<", "").replace("<sub>", "").replace("</sub>", "").contains('<'));
        let jobs: serde_json::Value = serde_json::from_str(&render::jobs_json(&report)).expect("valid JSON");
        prop_assert_eq!(jobs.as_array().map(Vec::len), Some(names.len()));
    }
}
