//! The relay's log format (`--log-format`/`RELAY_LOG_FORMAT`): text lines for people and journald,
//! or JSON lines for log platforms (Cloud Run's Cloud Logging, Datadog), one object per event.
//!
//! The JSON formatter is the relay's own rather than tracing-subscriber's `json` feature: that one
//! nests the fields under `fields` and calls the time `timestamp`, while Cloud Logging reads
//! `time`, `severity` and `message` at the top level. Here every event is one flat object:
//! `time` (RFC 3339, UTC, milliseconds), `level` (`INFO`, `WARN`, ...), `severity` (the same in
//! Cloud Logging's words: `WARNING` for `WARN`, `DEBUG` for `TRACE`), `message`, `target`, and the
//! event's fields as they are in the text line (`method`, `path`, `status`, `latency`, `outcome`,
//! `event_id`, ...), numbers as numbers. The values are the ones the text log shows, so nothing
//! that the text log keeps out (bodies, headers, secrets) can appear here.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How the relay writes its log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `LEVEL target: message key=value ...`, one line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The flag's and the variable's value parser: `text` or `json`, in any case. Anything else is
    /// a configuration error (clap exits 2).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("--log-format/RELAY_LOG_FORMAT must be text or json".into()),
        }
    }
}

/// The JSON lines formatter (see the module documentation).
pub struct JsonLines;

/// The keys the formatter sets itself; an event field of the same name is kept as `field.NAME`.
const OWN_KEYS: [&str; 5] = ["time", "level", "severity", "message", "target"];

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let line = json_line(event, chrono::Utc::now());
        writeln!(writer, "{line}")
    }
}

/// One event as a JSON object, at `now`.
fn json_line(event: &Event<'_>, now: chrono::DateTime<chrono::Utc>) -> Value {
    let meta = event.metadata();
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut object = Map::new();
    object.insert(
        "time".into(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .into(),
    );
    object.insert("level".into(), meta.level().as_str().into());
    object.insert("severity".into(), severity(*meta.level()).into());
    object.insert(
        "message".into(),
        fields.message.take().unwrap_or_default().into(),
    );
    object.insert("target".into(), meta.target().into());
    for (name, value) in fields.values {
        let key = if OWN_KEYS.contains(&name.as_str()) {
            format!("field.{name}")
        } else {
            name
        };
        object.insert(key, value);
    }
    Value::Object(object)
}

/// Cloud Logging's `LogSeverity` name for a level.
fn severity(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// The event's message and fields, typed as JSON values.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    values: Vec<(String, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.values.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }

    /// `%value` (Display) and `?value` (Debug) fields, and the message, arrive here already
    /// formatted as the text log would show them.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what a subscriber with the JSON formatter writes.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(log: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_writer(move || sink.clone())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf-8");
        assert!(text.ends_with('\n'), "{text}");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
            .collect()
    }

    #[test]
    fn each_event_is_one_flat_json_object_with_time_level_message_and_its_fields() {
        let method = http::Method::POST;
        let latency = "212.4ms".to_owned();
        let lines = lines(|| {
            tracing::info!(%method, path = "/", status = 202u16, %latency, outcome = "dispatched",
                event_id = "wev_1", "request");
            tracing::warn!(
                attempt = 1u32,
                retry_in_ms = 96u64,
                "dispatch not accepted yet: \"502\"\nnext"
            );
            tracing::trace!(level = "shadowed", "deep");
        });
        assert_eq!(lines.len(), 3);
        let request = &lines[0];
        assert_eq!(request["level"], "INFO");
        assert_eq!(request["severity"], "INFO");
        assert_eq!(request["message"], "request");
        assert_eq!(request["method"], "POST");
        assert_eq!(request["path"], "/");
        assert_eq!(request["status"], 202);
        assert_eq!(request["latency"], "212.4ms");
        assert_eq!(request["outcome"], "dispatched");
        assert_eq!(request["event_id"], "wev_1");
        assert!(
            request["target"]
                .as_str()
                .is_some_and(|t| t.contains("relay::log"))
        );
        let time = request["time"].as_str().expect("time");
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
        assert!(
            time.ends_with('Z') && time.len() == "2026-12-01T23:37:47.123Z".len(),
            "{time}"
        );

        let warning = &lines[1];
        assert_eq!(warning["level"], "WARN");
        assert_eq!(warning["severity"], "WARNING");
        assert_eq!(
            warning["message"],
            "dispatch not accepted yet: \"502\"\nnext"
        );
        assert_eq!(warning["attempt"], 1);
        assert_eq!(warning["retry_in_ms"], 96);

        let deep = &lines[2];
        assert_eq!(deep["severity"], "DEBUG");
        assert_eq!(deep["level"], "TRACE");
        assert_eq!(deep["field.level"], "shadowed");
    }

    #[test]
    fn the_format_is_text_or_json_and_nothing_else() {
        assert_eq!(LogFormat::parse("json"), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(" JSON "), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse("text"), Ok(LogFormat::Text));
        for bad in ["", "xml", "jsonl", "logfmt"] {
            let error = LogFormat::parse(bad).expect_err(bad);
            assert!(error.contains("RELAY_LOG_FORMAT"), "{error}");
        }
    }
}
