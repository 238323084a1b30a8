//! API credentials. The secret is private to this module's type: it can sign, and it can be
//! compared, but it never prints — `Debug` and `Display` show only the key's first four
//! characters — and no error of this crate carries it.

use std::fmt;

use crate::sign::{sign_rest, sign_ws_auth};

/// An API key and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    api_key: String,
    secret: String,
}

/// Empty key or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is empty")]
pub struct EmptyCredential(&'static str);

impl Credentials {
    /// Checked constructor: neither part may be empty (a `${VAR}` that expanded to nothing).
    pub fn new(api_key: impl Into<String>, secret: impl Into<String>) -> Result<Self, EmptyCredential> {
        let (api_key, secret) = (api_key.into(), secret.into());
        if api_key.trim().is_empty() {
            return Err(EmptyCredential("api key"));
        }
        if secret.trim().is_empty() {
            return Err(EmptyCredential("api secret"));
        }
        Ok(Self { api_key, secret })
    }

    /// The public API key (sent as `X-BAPI-API-KEY`).
    #[must_use]
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// `X-BAPI-SIGN` for a request stamped `timestamp_ms` with `payload` (raw query or body).
    #[must_use]
    pub fn sign_rest(&self, timestamp_ms: i64, recv_window_ms: u64, payload: &str) -> String {
        sign_rest(&self.secret, timestamp_ms, &self.api_key, recv_window_ms, payload)
    }

    /// The signature of a WebSocket `auth` frame expiring at `expires_ms`.
    #[must_use]
    pub fn sign_ws_auth(&self, expires_ms: i64) -> String {
        sign_ws_auth(&self.secret, expires_ms)
    }

    fn redacted_key(&self) -> String {
        let shown: String = self.api_key.chars().take(4).collect();
        format!("{shown}…")
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("api_key", &self.redacted_key()).field("secret", &"<redacted>").finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "api key {} (secret redacted)", self.redacted_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_prints() {
        let c = Credentials::new("testApiKey123", "testSecret456").unwrap();
        for text in [format!("{c:?}"), format!("{c:#?}"), c.to_string(), format!("{:?}", Some(&c))] {
            assert!(!text.contains("testSecret456"), "{text}");
            assert!(!text.contains("testApiKey123"), "the full key is not printed either: {text}");
            assert!(text.contains("test"), "{text}");
        }
        assert_eq!(
            c.sign_rest(1_700_000_000_000, 5000, ""),
            "518427e804cf8844856c5f1736fb2988882fc8991c85dd3c3b2e545fa0ac899c"
        );
    }

    #[test]
    fn empty_parts_are_rejected_without_echoing_anything() {
        assert_eq!(Credentials::new("", "s").unwrap_err().to_string(), "api key is empty");
        assert_eq!(Credentials::new("k", "  ").unwrap_err().to_string(), "api secret is empty");
    }
}
