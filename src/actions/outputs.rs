//! Step outputs: `name<<DELIMITER` blocks appended to `$GITHUB_OUTPUT`, and the same outputs as
//! one JSON document (`refresh --format json`) for other CI systems and scripts.
//!
//! The delimiter is random per value, so no value (the JSON of targets holds names chosen on the
//! Tableau site) can end the block early and smuggle in another output.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Appends `outputs` to the file at `path`.
pub fn write(path: &Path, outputs: &[(&str, String)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = delimiter_for(value);
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("failed to open GITHUB_OUTPUT file {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("failed to write GITHUB_OUTPUT file {}", path.display()))
}

/// The outputs as one JSON object with the same names and values; `jobs`, which is JSON text,
/// is embedded as JSON (a string if it is not JSON).
pub fn to_json(outputs: &[(&str, String)]) -> serde_json::Value {
    let object = outputs
        .iter()
        .map(|(name, value)| {
            let value = match *name {
                "jobs" => serde_json::from_str(value)
                    .unwrap_or_else(|_| serde_json::Value::String(value.clone())),
                _ => serde_json::Value::String(value.clone()),
            };
            ((*name).to_string(), value)
        })
        .collect();
    serde_json::Value::Object(object)
}

/// [`to_json`] as one line for standard output. Text from Tableau stays data, JSON-escaped and
/// not cleaned for a log; but since the runner finds a legacy `##[command]` anywhere in a line
/// it reads, `##[` is written `##\u005b`: the same JSON value, no command. JSON puts `#` only
/// inside strings, so this never touches the document's structure.
pub fn json_line(outputs: &[(&str, String)]) -> String {
    to_json(outputs).to_string().replace("##[", "##\\u005b")
}

/// A random delimiter that does not occur in `value`.
fn delimiter_for(value: &str) -> String {
    loop {
        let delimiter = format!("ghadelimiter_{}", random_hex());
        if !value.contains(&delimiter) {
            return delimiter;
        }
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source only fails on exotic platforms; fall back to the clock rather than abort.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    hex::encode(bytes)
}

/// Reads a `$GITHUB_OUTPUT` file back into (name, value) pairs; used by tests and the demo.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for inner in lines.by_ref() {
                if inner == delimiter {
                    break;
                }
                value.push(inner);
            }
            pairs.push((name.to_string(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            pairs.push((name.to_string(), value.to_string()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_multiline_values_with_random_delimiters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        let tricky = "line 1\nEOF\nstatus=success".to_string();
        write(
            &path,
            &[("status", "failed".into()), ("jobs", tricky.clone())],
        )
        .expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("status<<ghadelimiter_"));
        let pairs = parse(&text);
        assert_eq!(
            pairs,
            [("status".into(), "failed".into()), ("jobs".into(), tricky)]
        );
        assert_ne!(delimiter_for(""), delimiter_for(""));
    }

    #[test]
    fn the_json_document_has_the_outputs_with_jobs_as_json() {
        let jobs = r###"[{"name":"##[error]x\n::warning::y","outcome":"succeeded"}]"###;
        let outputs = [
            ("status", "success".to_string()),
            ("jobs", jobs.to_string()),
            ("dbt-job-id", "42".to_string()),
            ("dbt-run-id", String::new()),
        ];
        let line = json_line(&outputs);
        assert!(!line.contains('\n') && !line.contains("##["), "{line}");
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(parsed, to_json(&outputs));
        assert_eq!(parsed["status"], "success");
        assert_eq!(parsed["dbt-job-id"], "42");
        assert_eq!(parsed["dbt-run-id"], "");
        // The name is the data, exactly.
        assert_eq!(parsed["jobs"][0]["name"], "##[error]x\n::warning::y");
        assert_eq!(
            parsed["jobs"],
            serde_json::from_str::<serde_json::Value>(jobs).expect("jobs")
        );
    }
}
