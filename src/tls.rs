//! TLS set-up shared by every HTTP client: rustls with the ring provider and the OS trust store,
//! plus the certificate authorities a user adds with `TABLEAU_CA_CERT`.

use std::sync::Once;

/// Installs ring as the process-wide rustls provider. reqwest is built without a provider of its
/// own (so aws-lc's C build is not needed); this must run before the first client is built.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An Err means another provider is already installed, which serves just as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The certificate authorities of `TABLEAU_CA_CERT` (input `tableau-ca-cert`): PEM text, or the
/// path of a PEM file. Every certificate in it is trusted besides the operating system's.
/// Messages call the value `input` (the flag and variable, or the action input).
///
/// The value may be a whole `openssl pkcs12` export (text before the first `-----BEGIN`, a private
/// key among the blocks), so no message ever quotes it, not even as a path:
/// - text holding `-----BEGIN` anywhere is PEM text; its `CERTIFICATE` blocks are read and
///   anything around them (`Bag Attributes`, `subject=` lines) is skipped;
/// - text holding a private key (`PRIVATE KEY-----`) is refused: a key has no place in this input;
/// - anything else is a path; a file is read for its certificates only.
pub fn ca_certificates(value: &str, input: &str) -> Result<Vec<reqwest::Certificate>, String> {
    if value.contains("PRIVATE KEY-----") {
        return Err(format!(
            "{input} holds a private key. Pass only the certificate of the authority that signed \
             the Tableau server's certificate (its -----BEGIN CERTIFICATE----- block), never a key; \
             if the value is stored where others can read it, treat that key as exposed"
        ));
    }
    let (pem, source) = if value.contains("-----BEGIN") {
        (value.as_bytes().to_vec(), format!("{input} text"))
    } else {
        let bytes = std::fs::read(value).map_err(|err| {
            format!(
                "{input} is neither PEM certificate text (-----BEGIN CERTIFICATE-----) nor the \
                 path of a readable file ({})",
                io_reason(&err)
            )
        })?;
        (bytes, format!("the file named by {input}"))
    };
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|_| format!("{source} is not valid PEM certificate text"))?;
    if certs.is_empty() {
        return Err(format!(
            "{source} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(certs)
}

/// Why a file could not be read, without the path (std's messages never include it, but say so
/// here rather than rely on it).
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "a directory".into(),
        kind => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("../tests/fixtures/tls-test-only-ca.cert.pem");
    const INPUT: &str = "TABLEAU_CA_CERT";

    #[test]
    fn pem_text_is_found_after_other_text() {
        let export = format!(
            "Bag Attributes\n    localKeyID: 01 00 00 00\nsubject=CN = test-only CA\nissuer=CN = test-only CA\n{CA}"
        );
        assert_eq!(ca_certificates(&export, INPUT).map(|c| c.len()), Ok(1));
        assert_eq!(ca_certificates(CA, INPUT).map(|c| c.len()), Ok(1));
    }

    #[test]
    fn no_message_quotes_the_value() {
        let key = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END PRIVATE KEY-----\n";
        let cases = [
            format!("Bag Attributes\n    friendlyName: sekrit-name\n{key}{CA}"),
            format!(
                "{CA}-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END RSA PRIVATE KEY-----"
            ),
            "Bag Attributes sekrit-name c2VjcmV0LWtleS1ib2R5".to_string(),
            "/no/such/dir/sekrit-name".to_string(),
            "-----BEGIN PUBLIC KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END PUBLIC KEY-----"
                .to_string(),
        ];
        for value in &cases {
            let message = ca_certificates(value, INPUT).expect_err("refused");
            assert!(message.starts_with("TABLEAU_CA_CERT"), "{message}");
            for secret in ["sekrit-name", "c2VjcmV0LWtleS1ib2R5", "/no/such"] {
                assert!(!message.contains(secret), "{message}");
            }
        }
        assert!(
            ca_certificates(&cases[0], INPUT)
                .expect_err("key")
                .contains("private key")
        );
        assert!(
            ca_certificates(&cases[1], INPUT)
                .expect_err("key")
                .contains("private key")
        );
    }
}
