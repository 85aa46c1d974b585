//! TLS set-up shared by every HTTP client: rustls with the ring provider and the OS trust store.

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
