//! The `$GITHUB_EVENT_PATH` file of a `repository_dispatch` run: where the relay put the raw dbt
//! body and its signature (`client_payload.body`, `client_payload.signature`).

use std::path::Path;

use anyhow::Context;

/// What a dispatch carried. Both are untrusted until the signature is verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchPayload {
    pub body: Option<String>,
    pub signature: Option<String>,
}

/// Reads the event file. A file that is not JSON is an error; missing fields are `None`.
pub fn read(path: &Path) -> anyhow::Result<DispatchPayload> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the event file {}", path.display()))?;
    parse(&text).with_context(|| format!("the event file {} is not JSON", path.display()))
}

/// Extracts the payload from event JSON.
pub fn parse(text: &str) -> serde_json::Result<DispatchPayload> {
    let event: serde_json::Value = serde_json::from_str(text)?;
    let field = |name: &str| {
        event
            .get("client_payload")
            .and_then(|payload| payload.get(name))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    Ok(DispatchPayload {
        body: field("body"),
        signature: field("signature"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_body_and_signature_as_strings_only() {
        let payload = parse(
            r#"{"action":"dbt-job-run-completed","client_payload":{"body":"{\"a\": 1}","signature":"ab"}}"#,
        )
        .expect("json");
        assert_eq!(payload.body.as_deref(), Some("{\"a\": 1}"));
        assert_eq!(payload.signature.as_deref(), Some("ab"));

        let payload = parse(r#"{"client_payload":{"body":{"a":1}}}"#).expect("json");
        assert_eq!(payload, DispatchPayload::default());
        assert!(parse("not json").is_err());
    }
}
