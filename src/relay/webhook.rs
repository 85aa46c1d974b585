//! The webhook extractor, in a fixed order: limit the body (413) and the time to receive it (408),
//! verify the signature over the exact bytes against every configured key (401, and nothing is read
//! from the body), then parse the dbt event (400). Nothing here echoes a header value or the body.
//! No slot is held meanwhile: the handler takes one only for a verified webhook.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};

use tokio::time::Instant;

use super::RelayState;
use super::answer::Answer;
use super::server::Arrival;
use crate::dbt::WebhookEvent;
use crate::dbt::signature::{self, SignatureError};

/// The largest body accepted. dbt's bodies are about 1 KB; this leaves room for long names while
/// keeping the dispatch under GitHub's 65 535 characters.
pub const MAX_BODY_BYTES: usize = 60_000;

/// How long after the request's arrival (its headers) the whole body must have come. dbt Cloud
/// sends its ~1 KB body with the headers, and even 60 000 bytes take milliseconds; a client that
/// trickles its body is broken or hostile, and is cut off long before dbt's 10 s are up.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// A webhook whose signature matched one of the keys, and whose body is a dbt event.
#[derive(Debug)]
pub(crate) struct VerifiedWebhook {
    /// The body exactly as received (it is UTF-8: parsing checked).
    pub(crate) body: String,
    /// The `Authorization` value as received, trimmed.
    pub(crate) signature: String,
    pub(crate) event: WebhookEvent,
    /// When the request arrived; the handler's deadlines count from it.
    pub(crate) arrival: Instant,
}

impl FromRequest<RelayState> for VerifiedWebhook {
    type Rejection = Answer;

    async fn from_request(request: Request, state: &RelayState) -> Result<Self, Answer> {
        // Outside the relay's router (a test driving `app` directly), arrival is now.
        let arrival = request
            .extensions()
            .get::<Arrival>()
            .map_or_else(Instant::now, |arrival| arrival.0);
        // 1. The size, before anything else: first the declared length, then the bytes read (a
        //    chunked body has no declared length), all within the body's deadline.
        let too_large = || Answer::too_large(format!("the body is over {MAX_BODY_BYTES} bytes"));
        if declared_length(request.headers()).is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let header = match request.headers().get(header::AUTHORIZATION) {
            None => Ok(None),
            // Not visible ASCII: certainly not a hex digest. Only the verdict is kept.
            Some(value) => value.to_str().map(|s| Some(s.to_owned())).map_err(|_| ()),
        };
        let read = Bytes::from_request(request, state);
        let bytes = match tokio::time::timeout_at(arrival + BODY_READ_TIMEOUT, read).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(
                _,
            )))) => {
                return Err(too_large());
            }
            Ok(Err(_)) => return Err(Answer::invalid("the body could not be read".into())),
            Err(_) => {
                return Err(Answer::body_timeout(format!(
                    "the body did not arrive within {} s of the headers",
                    BODY_READ_TIMEOUT.as_secs()
                )));
            }
        };
        // 2. The signature, over the exact bytes.
        let verdict = match &header {
            Ok(value) => signature::verify(state.keys(), &bytes, value.as_deref()),
            Err(()) => Err(SignatureError::Malformed("not hexadecimal")),
        };
        if let Err(err) = verdict {
            return Err(Answer::unauthorized(err.to_string()));
        }
        // 3. The event. Its messages never quote the body.
        let event = WebhookEvent::parse(&bytes).map_err(|err| Answer::invalid(err.to_string()))?;
        let body = String::from_utf8(bytes.to_vec())
            .map_err(|_| Answer::invalid("the body is not UTF-8 text".into()))?;
        let signature = header.ok().flatten().unwrap_or_default().trim().to_owned();
        Ok(Self {
            body,
            signature,
            event,
            arrival,
        })
    }
}

/// `Content-Length`, when present and numeric.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::relay::app;
    use crate::relay::tests::{KEY, state};
    use crate::secret::Secret;

    fn sign(body: &[u8]) -> String {
        signature::sign(&Secret::new(KEY), body)
    }

    async fn post(body: Vec<u8>, authorization: Option<&str>) -> (StatusCode, serde_json::Value) {
        let mut request = Request::post("/");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request.body(Body::from(body)).expect("request");
        let response = app(state().await)
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON answer"))
    }

    #[tokio::test]
    async fn the_limit_comes_before_the_signature_and_the_signature_before_parsing() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let (status, _) = post(big.clone(), None).await;
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "unsigned and too large"
        );
        let (status, _) = post(big.clone(), Some(&sign(&big))).await;
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "signed and too large"
        );

        let (status, answer) = post(b"not json".to_vec(), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "unsigned garbage");
        assert!(
            answer["reason"]
                .as_str()
                .expect("reason")
                .contains("no signature")
        );
        let (status, _) = post(b"not json".to_vec(), Some(&sign(b"not json"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "signed garbage");
    }

    #[tokio::test]
    async fn hostile_headers_and_bodies_get_answers_not_panics() {
        let body = br#"{"eventType":"job.run.completed"}"#.to_vec();
        let (status, answer) = post(body.clone(), Some("Bearer abc.def")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!answer.to_string().contains("abc.def"), "no echo: {answer}");
        let latin1 = axum::http::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is allowed");
        let request = Request::post("/")
            .header(header::AUTHORIZATION, latin1)
            .body(Body::from(body))
            .expect("request");
        let response = app(state().await)
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

        let not_utf8 = b"\xff\xfe{}".to_vec();
        let (status, _) = post(not_utf8.clone(), Some(&sign(&not_utf8))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let not_event = br#"{"data":{}}"#.to_vec();
        let (status, answer) = post(not_event.clone(), Some(&sign(&not_event))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            answer["reason"]
                .as_str()
                .expect("reason")
                .contains("eventType")
        );
    }
}
