//! Tableau errors: the `{error:{code,summary,detail}}` body read defensively (JSON, XML, HTML,
//! empty), and the error type callers branch on by `code`, never by the localised summary.

use std::fmt;

/// Error codes we act on.
pub mod code {
    pub const NO_CREDENTIALS: &str = "401000";
    pub const SIGN_IN_FAILED: &str = "401001";
    pub const SESSION_EXPIRED: &str = "401002";
    pub const UNKNOWN_RESOURCE: &str = "404003";
    pub const NOT_REFRESHABLE: &str = "409090";
    pub const ALREADY_QUEUED: &str = "409093";
    pub const JOB_QUERY_PROBLEM: &str = "400031";
    /// Too many requests (Tableau Cloud's rate limits).
    pub const THROTTLED: &str = "429000";
}

/// An error answer from Tableau.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// Tableau's six-digit code, when the body had one.
    pub code: Option<String>,
    pub summary: Option<String>,
    pub detail: Option<String>,
    /// A cleaned excerpt of a body that was not a Tableau error (an HTML proxy page).
    pub excerpt: Option<String>,
}

impl ApiError {
    /// Reads an error answer whatever its body: JSON, XML, HTML or nothing.
    pub fn from_response(status: u16, content_type: Option<&str>, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let mut error = ApiError {
            status,
            code: None,
            summary: None,
            detail: None,
            excerpt: None,
        };
        if let Some((code, summary, detail)) = parse_json(text).or_else(|| parse_xml(text)) {
            error.code = code;
            error.summary = summary;
            error.detail = detail;
        } else if !text.is_empty() {
            let html = content_type.is_some_and(|t| t.contains("html")) || text.starts_with('<');
            error.excerpt = Some(excerpt(text, html));
        }
        error
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// A 401 that means the session token is no longer valid.
    pub fn is_session_lost(&self) -> bool {
        self.status == 401 && !self.has_code(code::SIGN_IN_FAILED)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        match (&self.code, &self.summary) {
            (Some(code), Some(summary)) => write!(f, " ({code} {summary})")?,
            (Some(code), None) => write!(f, " ({code})")?,
            (None, Some(summary)) => write!(f, " ({summary})")?,
            (None, None) => {}
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        } else if let Some(excerpt) = &self.excerpt {
            write!(f, ": {excerpt}")?;
        } else if self.code.is_none() {
            f.write_str(": empty answer")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking to Tableau.
#[derive(Debug, thiserror::Error)]
pub enum TableauError {
    /// Tableau answered with an error status.
    #[error("{0}")]
    Api(ApiError),
    /// No answer: connection refused or reset, DNS, TLS, timeout.
    #[error("no answer from Tableau: {0}")]
    Transport(String),
    /// A 2xx answer we could not read.
    #[error("unexpected answer from Tableau: {0}")]
    Decode(String),
    /// Something we refuse to do (an unsupported version, an unsafe redirect).
    #[error("{0}")]
    Refused(String),
}

impl TableauError {
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            TableauError::Api(error) => Some(error),
            _ => None,
        }
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.api().is_some_and(|error| error.has_code(code))
    }
}

type Parts = (Option<String>, Option<String>, Option<String>);

fn parse_json(text: &str) -> Option<Parts> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let error = value.get("error")?;
    let field = |name: &str| {
        error.get(name).and_then(|v| match v {
            serde_json::Value::String(s) => Some(clean(s)),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    Some((field("code"), field("summary"), field("detail")))
}

/// `<error code="401001"><summary>…</summary><detail>…</detail></error>`, read with plain string
/// search: this is all of the XML we ever need, and a wrong guess only loses detail.
fn parse_xml(text: &str) -> Option<Parts> {
    let start = text.find("<error")?;
    let error = &text[start..];
    let code = error
        .split_once("code=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(code, _)| clean(code));
    let element = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        error
            .split_once(open.as_str())
            .and_then(|(_, rest)| rest.split_once(close.as_str()))
            .map(|(inner, _)| clean(&unescape_xml(inner)))
    };
    Some((code, element("summary"), element("detail")))
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Shortens untrusted text and drops control characters.
fn clean(text: &str) -> String {
    const MAX: usize = 500;
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The readable part of a non-Tableau body: HTML tags removed, whitespace folded, shortened.
fn excerpt(text: &str, html: bool) -> String {
    const MAX: usize = 160;
    let plain = if html {
        strip_tags(text)
    } else {
        text.to_string()
    };
    let plain = clean(&plain);
    if plain.chars().count() > MAX {
        format!("{}…", plain.chars().take(MAX).collect::<String>())
    } else if plain.is_empty() {
        "an HTML page with no text".into()
    } else {
        plain
    }
}

fn strip_tags(html: &str) -> String {
    // Drop <head>, <script> and <style> content, then every tag.
    let mut text = html.to_string();
    for element in ["head", "script", "style"] {
        while let Some(start) = text.find(&format!("<{element}")) {
            let close = format!("</{element}>");
            let end = text[start..]
                .find(&close)
                .map_or(text.len(), |at| start + at + close.len());
            text.replace_range(start..end, " ");
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape_xml(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_errors() {
        let error = ApiError::from_response(
            409,
            Some("application/json"),
            br#"{"error":{"summary":"Resource Conflict","detail":"Job for 'extract' is already queued.","code":"409093"}}"#,
        );
        assert!(error.has_code(code::ALREADY_QUEUED));
        assert_eq!(
            error.to_string(),
            "HTTP 409 (409093 Resource Conflict): Job for 'extract' is already queued."
        );
    }

    #[test]
    fn reads_xml_errors() {
        let body = br#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api"><error code="401001"><summary>Signin Error</summary><detail>Error signing in to Tableau Server</detail></error></tsResponse>"#;
        let error = ApiError::from_response(401, Some("application/xml"), body);
        assert!(error.has_code(code::SIGN_IN_FAILED));
        assert!(!error.is_session_lost());
        assert_eq!(
            error.to_string(),
            "HTTP 401 (401001 Signin Error): Error signing in to Tableau Server"
        );
    }

    #[test]
    fn reads_html_and_empty_bodies() {
        let body = b"<html><head><title>x</title><style>p{}</style></head><body><h1>429 Too Many Requests</h1>\n<p>Slow down</p></body></html>";
        let error = ApiError::from_response(429, Some("text/html"), body);
        assert_eq!(error.code, None);
        assert_eq!(
            error.to_string(),
            "HTTP 429: 429 Too Many Requests Slow down"
        );
        let empty = ApiError::from_response(502, None, b"");
        assert_eq!(empty.to_string(), "HTTP 502: empty answer");
        assert!(ApiError::from_response(401, None, b"").is_session_lost());
    }

    #[test]
    fn long_or_hostile_text_is_shortened_and_flattened() {
        let body = format!("{}\u{1b}[2J", "a".repeat(400));
        let error = ApiError::from_response(500, Some("text/plain"), body.as_bytes());
        let text = error.to_string();
        assert!(text.len() < 200, "{text}");
        assert!(!text.contains('\u{1b}'));
    }
}
