//! Which dialect a request speaks and wants back. The real server answers XML unless `Accept` asks
//! for `application/json`, reads a body as JSON when `Content-Type` says `application/json` and as XML
//! otherwise (XML is its default), and refuses a body in a type it does not read with 406 / 406000
//! "Content type '…' not supported" (Tableau's "REST API Example Requests" page;
//! tableau/rest-api-samples#82 for the refusal).

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::reply::Reply;
use super::xml;

/// The format of an answer's document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Xml,
    Json,
}

/// JSON only when `application/json` is acceptable and preferred (by `q`, then by order) over every
/// XML type; `*/*`, no `Accept`, or only types the server does not make give XML, as the real
/// server does for TSC (which sends `Accept: */*`) and for a browser.
pub(crate) fn response_format(headers: &HeaderMap) -> Format {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
    else {
        return Format::Xml;
    };
    // (q, -position) of the best range naming each format: a higher q wins, then the earlier range.
    let mut json: Option<(f32, isize)> = None;
    let mut xml: Option<(f32, isize)> = None;
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "application/json" => &mut json,
            "application/xml" | "text/xml" => &mut xml,
            _ => continue,
        };
        let rank = (q, -isize::try_from(position).unwrap_or(isize::MAX));
        if q > 0.0 && slot.is_none_or(|best| best.0 < q) {
            *slot = Some(rank);
        }
    }
    match (json, xml) {
        (Some(j), Some(x)) if j > x => Format::Json,
        (Some(_), None) => Format::Json,
        _ => Format::Xml,
    }
}

/// The request body as a JSON value (XML bodies mapped onto the same shape); `Ok(None)` for an empty
/// body, whatever its `Content-Type` (TSC posts sign-out and pre-3.25 refreshes as empty `text/xml`).
pub(super) fn read_body(headers: &HeaderMap, body: &[u8]) -> Result<Option<Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let media = content_type.as_deref().map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(Reply::bad_payload());
    };
    let parsed = match media.as_deref() {
        Some("application/json") => serde_json::from_str::<Value>(text).ok(),
        // XML is the server's default body type: no Content-Type, the XML types, and the form type
        // that PowerShell's Invoke-RestMethod sends by default all read as XML.
        None | Some("text/xml" | "application/xml" | "application/x-www-form-urlencoded") => {
            xml::parse_request(text)
        }
        Some(_) => {
            let shown = content_type.unwrap_or_default();
            return Err(Reply::error(
                StatusCode::NOT_ACCEPTABLE,
                "406000",
                "Bad Request",
                &format!("Content type '{shown}' not supported"),
            ));
        }
    };
    parsed.map(Some).ok_or_else(Reply::bad_payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            name,
            HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
        );
        headers
    }

    #[test]
    fn xml_unless_json_is_asked_for_and_preferred() {
        assert_eq!(response_format(&HeaderMap::new()), Format::Xml);
        let cases = [
            ("*/*", Format::Xml),
            ("application/json", Format::Json),
            ("Application/JSON; charset=utf-8", Format::Json),
            ("application/json, text/plain, */*", Format::Json),
            ("application/xml", Format::Xml),
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                Format::Xml,
            ),
            ("application/xml;q=0.5, application/json", Format::Json),
            ("application/json;q=0.5, application/xml", Format::Xml),
            ("application/json;q=0", Format::Xml),
            ("text/html", Format::Xml),
        ];
        for (accept, expected) in cases {
            assert_eq!(
                response_format(&with(header::ACCEPT, accept)),
                expected,
                "{accept}"
            );
        }
    }

    #[test]
    fn bodies_read_by_content_type() {
        let json_type = with(header::CONTENT_TYPE, "application/json; charset=UTF-8");
        assert_eq!(
            read_body(&json_type, br#"{"a":{"b":"c"}}"#).ok(),
            Some(Some(json!({"a":{"b":"c"}})))
        );
        assert!(read_body(&json_type, b"<tsRequest/>").is_err());
        for xml_type in [
            "text/xml",
            "application/xml",
            "application/x-www-form-urlencoded",
        ] {
            let headers = with(header::CONTENT_TYPE, xml_type);
            assert_eq!(
                read_body(&headers, b"<tsRequest/>").ok(),
                Some(Some(json!({}))),
                "{xml_type}"
            );
        }
        assert_eq!(
            read_body(&HeaderMap::new(), b"<tsRequest/>").ok(),
            Some(Some(json!({})))
        );
        assert_eq!(read_body(&json_type, b"  ").ok(), Some(None));
        assert_eq!(
            read_body(&with(header::CONTENT_TYPE, "text/plain"), b"").ok(),
            Some(None)
        );
    }

    #[test]
    fn other_body_types_get_406000() {
        let headers = with(header::CONTENT_TYPE, "text/plain");
        let refused = read_body(&headers, b"{}").expect_err("refused");
        assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(refused.code(), Some("406000"));
        assert!(
            refused
                .json_text()
                .contains("Content type 'text/plain' not supported")
        );
    }
}
