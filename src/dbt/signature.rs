//! The dbt Cloud webhook signature: hex HMAC-SHA256 of the raw body, sent as the `Authorization` header.
//!
//! Verification runs over the exact bytes received (never a re-serialised body) and compares through
//! `Mac::verify_slice`, which is constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Length of a hex SHA-256 digest.
const HEX_LEN: usize = 64;

/// Why a signature was refused. The messages name the problem without echoing the header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Authorization` header, or an empty one.
    #[error("the webhook has no signature (dbt Cloud sends it in the Authorization header)")]
    Missing,
    /// A `Bearer …` value: dbt Cloud never sends one, so this did not come from dbt.
    #[error(
        "the signature is a `Bearer` token; dbt Cloud sends the bare hex HMAC-SHA256 of the body"
    )]
    Bearer,
    /// A `sha256=…` value, GitHub's style, not dbt's.
    #[error(
        "the signature has a `sha256=` prefix (GitHub's style); dbt Cloud sends the bare hex digest"
    )]
    Prefixed,
    /// Not 64 hex characters.
    #[error("the signature is not a hex SHA-256 digest ({0})")]
    Malformed(&'static str),
    /// Well formed, but no configured key produced it.
    #[error("the signature does not match the body for any configured webhook key")]
    Mismatch,
    /// No key to verify with.
    #[error("no dbt webhook key is configured")]
    NoKey,
}

/// Signs a body as dbt Cloud does: lowercase hex HMAC-SHA256 keyed with the webhook secret.
pub fn sign(key: &Secret, body: &[u8]) -> String {
    let mut mac = new_mac(key);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Verifies `header` (the `Authorization` value) over `body` against each key in turn.
/// Returns the index of the key that matched.
pub fn verify(keys: &[Secret], body: &[u8], header: Option<&str>) -> Result<usize, SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::NoKey);
    }
    let digest = decode(header)?;
    keys.iter()
        .position(|key| {
            let mut mac = new_mac(key);
            mac.update(body);
            mac.verify_slice(&digest).is_ok()
        })
        .ok_or(SignatureError::Mismatch)
}

/// How a copy of dbt's body differs from what dbt signed, found by verifying the likely variants
/// after the exact bytes failed: the usual ways a body changes on its way into a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyHint {
    /// The signature matches once trailing newlines are removed (`echo "$BODY" > body.json`).
    TrailingNewline,
    /// The signature matches once CRLF line endings become LF (an editor or a Windows copy).
    CrLf,
    /// Both at once.
    CrLfAndTrailingNewline,
}

impl BodyHint {
    /// The hint for people; `what` names the body, e.g. "the saved body" or "the payload".
    pub fn message(self, what: &str) -> String {
        const SAVE: &str = "save it byte for byte, e.g. with printf '%s' \"$BODY\" > body.json \
                            (echo adds a newline)";
        match self {
            BodyHint::TrailingNewline => format!(
                "{what} ends with a newline that dbt did not send (the signature matches without \
                 it); {SAVE}"
            ),
            BodyHint::CrLf => format!(
                "{what} has Windows line endings (CRLF) where dbt sent LF (the signature matches \
                 with LF); save it without converting line endings"
            ),
            BodyHint::CrLfAndTrailingNewline => format!(
                "{what} has Windows line endings (CRLF) and ends with a newline, neither of which \
                 dbt sent (the signature matches with LF and without the final newline); {SAVE}, \
                 without converting line endings"
            ),
        }
    }
}

/// After [`verify`] failed with a mismatch: whether the signature matches `body` without its
/// trailing newlines, or with CRLF turned into LF. Only says how the body was changed, never
/// which key or digest was involved.
pub fn diagnose(keys: &[Secret], body: &[u8], header: Option<&str>) -> Option<BodyHint> {
    let digest = decode(header).ok()?;
    let matches = |candidate: &[u8]| {
        keys.iter().any(|key| {
            let mut mac = new_mac(key);
            mac.update(candidate);
            mac.verify_slice(&digest).is_ok()
        })
    };
    let trimmed = trim_trailing_newlines(body);
    if trimmed.len() != body.len() && matches(trimmed) {
        return Some(BodyHint::TrailingNewline);
    }
    if !body.windows(2).any(|pair| pair == b"\r\n") {
        return None;
    }
    let lf = crlf_to_lf(body);
    if matches(&lf) {
        return Some(BodyHint::CrLf);
    }
    let lf_trimmed = trim_trailing_newlines(&lf);
    (lf_trimmed.len() != lf.len() && matches(lf_trimmed))
        .then_some(BodyHint::CrLfAndTrailingNewline)
}

fn trim_trailing_newlines(body: &[u8]) -> &[u8] {
    let end = body
        .iter()
        .rposition(|byte| !matches!(byte, b'\n' | b'\r'))
        .map_or(0, |at| at + 1);
    &body[..end]
}

fn crlf_to_lf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for (at, byte) in body.iter().enumerate() {
        if *byte == b'\r' && body.get(at + 1) == Some(&b'\n') {
            continue;
        }
        out.push(*byte);
    }
    out
}

/// Checks the form of a header value and decodes it to the 32 digest bytes.
fn decode(header: Option<&str>) -> Result<Vec<u8>, SignatureError> {
    let value = header.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(SignatureError::Missing);
    }
    let lower_prefix = value.get(..7).map(str::to_ascii_lowercase);
    if lower_prefix.as_deref() == Some("bearer ") {
        return Err(SignatureError::Bearer);
    }
    if lower_prefix
        .as_deref()
        .is_some_and(|p| p.starts_with("sha256="))
    {
        return Err(SignatureError::Prefixed);
    }
    if value.len() != HEX_LEN {
        return Err(SignatureError::Malformed("wrong length"));
    }
    // `hex` accepts upper- and lower-case digits alike.
    hex::decode(value).map_err(|_| SignatureError::Malformed("not hexadecimal"))
}

fn new_mac(key: &Secret) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(key.expose().as_bytes()).expect("HMAC accepts any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Secret {
        Secret::new(text)
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        let digest = sign(&key("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            digest,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn accepts_lower_and_upper_case_hex_and_surrounding_space() {
        let body = br#"{"eventType":"job.run.completed"}"#;
        let sig = sign(&key("k"), body);
        assert_eq!(verify(&[key("k")], body, Some(&sig)), Ok(0));
        let upper = sig.to_uppercase();
        assert_eq!(verify(&[key("k")], body, Some(&upper)), Ok(0));
        assert_eq!(verify(&[key("k")], body, Some(&format!(" {sig}\n"))), Ok(0));
    }

    #[test]
    fn finds_the_matching_key_among_several() {
        let body = b"{}";
        let sig = sign(&key("new"), body);
        assert_eq!(verify(&[key("old"), key("new")], body, Some(&sig)), Ok(1));
    }

    #[test]
    fn refuses_every_bad_form() {
        let body = b"{}";
        let sig = sign(&key("k"), body);
        let keys = [key("k")];
        assert_eq!(verify(&keys, body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(&keys, body, Some("  ")),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&keys, body, Some(&format!("Bearer {sig}"))),
            Err(SignatureError::Bearer)
        );
        assert_eq!(
            verify(&keys, body, Some(&format!("sha256={sig}"))),
            Err(SignatureError::Prefixed)
        );
        assert_eq!(
            verify(&keys, body, Some(&sig[..63])),
            Err(SignatureError::Malformed("wrong length"))
        );
        let not_hex = format!("{}zz", &sig[..62]);
        assert_eq!(
            verify(&keys, body, Some(&not_hex)),
            Err(SignatureError::Malformed("not hexadecimal"))
        );
        assert_eq!(
            verify(&keys, b"{} ", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&[], body, Some(&sig)), Err(SignatureError::NoKey));
    }

    #[test]
    fn diagnoses_a_trailing_newline_and_crlf() {
        let keys = [key("k")];
        let body = b"{\n  \"eventType\": \"job.run.completed\"\n}";
        let sig = sign(&key("k"), body);
        let with_newline = [&body[..], b"\n"].concat();
        assert_eq!(
            verify(&keys, &with_newline, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            diagnose(&keys, &with_newline, Some(&sig)),
            Some(BodyHint::TrailingNewline)
        );
        let crlf = String::from_utf8_lossy(body).replace('\n', "\r\n");
        assert_eq!(
            diagnose(&keys, crlf.as_bytes(), Some(&sig)),
            Some(BodyHint::CrLf)
        );
        let both = format!("{crlf}\r\n");
        assert_eq!(
            diagnose(&keys, both.as_bytes(), Some(&sig)),
            Some(BodyHint::CrLfAndTrailingNewline)
        );
        // A body that differs otherwise, or the wrong key, gets no hint.
        assert_eq!(diagnose(&keys, b"{} \n", Some(&sig)), None);
        assert_eq!(diagnose(&[key("other")], &with_newline, Some(&sig)), None);
        assert_eq!(diagnose(&keys, &with_newline, Some("Bearer x")), None);
        assert!(
            BodyHint::TrailingNewline
                .message("the saved body")
                .starts_with("the saved body ends with a newline that dbt did not send")
        );
    }

    #[test]
    fn a_multibyte_header_does_not_panic() {
        let keys = [key("k")];
        assert!(verify(&keys, b"{}", Some("béarer ééé")).is_err());
    }
}
