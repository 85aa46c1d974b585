//! The answers the simulator sends: Tableau documents (rendered as XML or JSON, whichever the request
//! asked for), raw fault bodies, Tableau's error form (`<error code=…><summary/><detail/></error>`,
//! `{"error":{summary,detail,code}}`), and the canned summaries/details of the error codes the real
//! server uses (reference §7).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::dialect::Format;
use super::xml;

/// One answer, built by the handlers and turned into an HTTP response at the edge.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) payload: Payload,
    pub(super) retry_after: Option<String>,
}

/// What an answer carries.
#[derive(Debug)]
pub(super) enum Payload {
    /// The children of a `tsResponse`, as JSON; sent as XML or JSON as the request asked.
    Document(Value),
    /// Sent exactly as given (faults: HTML pages, cut-off JSON, fixed-dialect errors); `None` = no
    /// Content-Type header (empty bodies).
    Raw {
        content_type: Option<&'static str>,
        body: String,
    },
}

pub(super) const JSON: &str = "application/json";
/// What the server labels its XML with.
pub(super) const XML: &str = "application/xml;charset=UTF-8";

impl Reply {
    /// A Tableau document (`{"workbooks":…}` and the like), in the dialect of the request.
    pub(super) fn document(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            payload: Payload::Document(value.clone()),
            retry_after: None,
        }
    }

    pub(super) fn raw(
        status: StatusCode,
        content_type: Option<&'static str>,
        body: String,
    ) -> Self {
        Self {
            status,
            payload: Payload::Raw { content_type, body },
            retry_after: None,
        }
    }

    pub(super) fn no_content() -> Self {
        Self::raw(StatusCode::NO_CONTENT, None, String::new())
    }

    /// Tableau's error: `code` is a six-digit *string* whose first three digits are the status.
    pub(super) fn error(status: StatusCode, code: &str, summary: &str, detail: &str) -> Self {
        Self::document(
            status,
            &json!({"error": {"summary": summary, "detail": detail, "code": code}}),
        )
    }

    /// The error for `code` with its canned summary and detail.
    pub(super) fn canned(code: &str) -> Self {
        let (summary, detail) = describe(code);
        Self::error(status_of_code(code), code, summary, detail)
    }

    pub(super) fn unknown_resource(path_after_api: &str) -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            "404003",
            "Resource Not Found",
            &format!("Unknown resource '{path_after_api}' specified in URI."),
        )
    }

    /// A path no endpoint serves (with a supported version).
    pub(super) fn unknown_route(path: &str) -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            "404000",
            "Resource Not Found",
            &format!("Unknown resource '{path}' specified in URI."),
        )
    }

    pub(super) fn bad_payload() -> Self {
        Self::canned("400000")
    }

    pub(super) fn filter_error(detail: &str) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "400065", "Bad Request", detail)
    }

    /// The Tableau error code of an error document.
    #[cfg(test)]
    pub(super) fn code(&self) -> Option<&str> {
        match &self.payload {
            Payload::Document(value) => value["error"]["code"].as_str(),
            Payload::Raw { .. } => None,
        }
    }

    /// The body as a JSON client would receive it.
    #[cfg(test)]
    pub(super) fn json_text(&self) -> String {
        self.body(Format::Json, "3.24").1
    }

    /// Content-Type and body in `format`; raw payloads ignore it.
    fn body(&self, format: Format, api_version: &str) -> (Option<&'static str>, String) {
        match (&self.payload, format) {
            (Payload::Document(value), Format::Json) => (Some(JSON), value.to_string()),
            (Payload::Document(value), Format::Xml) => (Some(XML), xml::render(value, api_version)),
            (Payload::Raw { content_type, body }, _) => (*content_type, body.clone()),
        }
    }

    /// The HTTP response, documents rendered in `format`; `api_version` names the XML schema.
    pub(super) fn render(self, format: Format, api_version: &str) -> Response {
        let (content_type, body) = self.body(format, api_version);
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        // `String` bodies default to text/plain; Tableau answers XML, JSON or nothing at all.
        headers.remove(header::CONTENT_TYPE);
        if let Some(content_type) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if let Some(retry_after) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&retry_after)
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The HTTP status a Tableau error code implies (its first three digits); 500 if it has none.
pub(super) fn status_of_code(code: &str) -> StatusCode {
    code.get(..3)
        .and_then(|digits| digits.parse::<u16>().ok())
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Summary and detail of the codes the simulator emits (and of any code an injected fault names).
pub(super) fn describe(code: &str) -> (&'static str, &'static str) {
    match code {
        "400000" => ("Bad Request", "Payload is either malformed or incomplete"),
        "400006" => (
            "Bad Request",
            "The page number parameter is not an integer or is less than one.",
        ),
        "400007" => (
            "Bad Request",
            "The page size parameter is not an integer, is less than one, or is greater than 1000.",
        ),
        "400065" => (
            "Bad Request",
            "The filter query is missing a value for key 'name'.",
        ),
        "401000" => (
            "Unauthorized Access",
            "No authentication credentials were provided",
        ),
        "401001" => ("Signin Error", "Error signing in to Tableau Server"),
        "401002" => (
            "Unauthorized Access",
            "Invalid authentication credentials were provided.",
        ),
        "403000" => (
            "Forbidden",
            "The site in the URI does not match the site of the credentials token.",
        ),
        "404000" => ("Resource Not Found", "Unknown resource specified in URI."),
        "404006" => ("Not Found", "Workbook not found."),
        "404011" => ("Not Found", "Datasource not found."),
        "404031" => ("Not Found", "Job not found."),
        "406000" => ("Bad Request", "Content type not supported"),
        "405000" => (
            "Method Not Allowed",
            "The HTTP method is not supported for this resource.",
        ),
        "409000" => ("Conflict", "The job has already completed."),
        "409090" => ("Bad Request", "Extract operation is not allowed."),
        "409093" => (
            "Resource Conflict",
            "Job for 'extract' is already queued. Not queuing a duplicate.",
        ),
        // Tableau Cloud's hourly cap on refresh requests, as TSC issue #952 shows it.
        "429000" => (
            "Too Many Requests",
            "Too many requests for 'api.rest.refresh_extracts'. Please retry after 29 minutes.",
        ),
        "500000" => ("Internal Server Error", "An unexpected error occurred."),
        "503000" => (
            "Service Unavailable",
            "The service is temporarily unavailable.",
        ),
        _ => match status_of_code(code).as_u16() {
            400..=499 => ("Bad Request", "The request could not be processed."),
            _ => ("Internal Server Error", "An unexpected error occurred."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_comes_from_the_first_three_digits() {
        assert_eq!(status_of_code("409093"), StatusCode::CONFLICT);
        assert_eq!(status_of_code("401002"), StatusCode::UNAUTHORIZED);
        assert_eq!(status_of_code("x"), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
