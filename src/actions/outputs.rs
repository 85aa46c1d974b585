//! Step outputs: `name<<DELIMITER` blocks appended to `$GITHUB_OUTPUT`.
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
}
