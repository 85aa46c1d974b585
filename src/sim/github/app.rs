//! GitHub App authentication as GitHub does it: the app's JWT (RS256, signed with the app's private
//! key, `iss` = the app id, at most 10 minutes long) is checked against the configured public key,
//! and installation access tokens are minted for it.

use anyhow::Context as _;
use octocrab::jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;
use serde_json::Value;

use super::SimApp;

/// GitHub refuses app JWTs that live longer than this (plus clock leeway).
const MAX_JWT_LIFETIME_S: u64 = 600;
/// Allowed clock drift, as GitHub allows some.
const LEEWAY_S: u64 = 60;

/// Checks app JWTs for one configured app.
pub(super) struct AppVerifier {
    app_id: u64,
    key: DecodingKey,
}

#[derive(Deserialize)]
struct Claims {
    iss: Value,
    iat: u64,
    exp: u64,
}

impl AppVerifier {
    pub(super) fn new(app: &SimApp) -> anyhow::Result<Self> {
        let key = DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes())
            .context("the simulated app's public key is not an RSA public key in PEM form")?;
        Ok(Self {
            app_id: app.app_id,
            key,
        })
    }

    /// Ok when `jwt` is a valid, current JWT of this app. The error is GitHub's message.
    pub(super) fn verify(&self, jwt: &str) -> Result<(), &'static str> {
        const UNDECODABLE: &str = "A JSON web token could not be decoded";
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_S;
        let claims = decode::<Claims>(jwt, &self.key, &validation)
            .map_err(|_| UNDECODABLE)?
            .claims;
        // GitHub takes the app id as a number or a string (or the client id, not simulated).
        let issuer_matches = match &claims.iss {
            Value::Number(n) => n.as_u64() == Some(self.app_id),
            Value::String(s) => s.trim() == self.app_id.to_string(),
            _ => false,
        };
        if !issuer_matches {
            return Err("Integration not found");
        }
        if claims.exp.saturating_sub(claims.iat) > MAX_JWT_LIFETIME_S + LEEWAY_S {
            return Err("'Expiration time' claim ('exp') is too far in the future");
        }
        let now = chrono::Utc::now().timestamp().max(0).unsigned_abs();
        if claims.iat > now + LEEWAY_S {
            return Err(
                "'Issued at' claim ('iat') must be an Integer representing a time in the past",
            );
        }
        Ok(())
    }
}

/// A fresh installation token, shaped like GitHub's (`ghs_` and 36 alphanumerics).
pub(super) fn new_installation_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 36];
    // Without randomness a counter-like token would still be unique enough for a simulator, but
    // getrandom failing means the machine is broken; fall back to the time rather than panic.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = nanos.to_le_bytes()[i % 8].wrapping_add(i as u8);
        }
    }
    let tail: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("ghs_{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/github-app-test-only.private-key.pem"
    ));
    const PUBLIC: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/github-app-test-only.public-key.pem"
    ));

    fn verifier(app_id: u64) -> AppVerifier {
        let app = SimApp {
            app_id,
            public_key_pem: PUBLIC.into(),
            installation_id: 1,
            installed_on: vec![],
        };
        AppVerifier::new(&app).expect("public key parses")
    }

    #[test]
    fn checks_the_signature_and_the_issuer_of_octocrabs_jwts() {
        let key = octocrab::jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE.as_bytes())
            .expect("private key parses");
        let jwt = octocrab::auth::create_jwt(octocrab::models::AppId(42), &key).expect("signs");
        assert_eq!(verifier(42).verify(&jwt), Ok(()));
        assert_eq!(verifier(43).verify(&jwt), Err("Integration not found"));
        // One character changed inside the signature (the last one may carry only padding bits).
        let at = jwt.len() - 10;
        let swapped = if &jwt[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &jwt[..at], &jwt[at + 1..]);
        assert!(verifier(42).verify(&forged).is_err());
        assert!(verifier(42).verify("not.a.jwt").is_err());
    }

    #[test]
    fn tokens_look_like_githubs() {
        let token = new_installation_token();
        assert!(token.starts_with("ghs_"));
        assert_eq!(token.len(), 40);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert_ne!(token, new_installation_token());
    }
}
