//! Validated identifiers: `Symbol` and `OrderLinkId`.
//!
//! Both end up in URLs, WebSocket topics, file names and log lines, so both are checked once
//! at construction and are plain ASCII afterwards. The orderLinkId *codec* (who placed an order
//! and why) lives in gridbot-recovery; here is only the exchange's rule: at most 36 characters
//! of `[A-Za-z0-9_-]`, not empty.

use std::fmt;
use std::str::FromStr;

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {text:?}: expected {expected}")]
pub struct InvalidId {
    /// "symbol" or "orderLinkId".
    pub kind: &'static str,
    /// The rejected text (truncated to 64 chars).
    pub text: String,
    /// What a valid value looks like.
    pub expected: &'static str,
}

/// One shared copy of each symbol's text: symbols are few and compared constantly (every map
/// of the simulator and the core is keyed by them), so equal symbols share one allocation and
/// compare by pointer first.
fn intern_symbol(text: String) -> std::sync::Arc<str> {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex, OnceLock};
    static TABLE: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| Mutex::new(HashSet::new()));
    let mut set = table.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = set.get(text.as_str()) {
        return Arc::clone(found);
    }
    let shared: Arc<str> = Arc::from(text);
    set.insert(Arc::clone(&shared));
    shared
}

/// A plain copy (order ids are many and rarely compared).
fn own(text: String) -> std::sync::Arc<str> {
    std::sync::Arc::from(text)
}

macro_rules! ascii_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $max:literal, $expected:literal, $allowed:expr, $store:expr) => {
        $(#[$meta])*
        // `Arc<str>`: ids are cloned into every order, event and record; a clone is a count.
        #[derive(Debug, Clone, Eq)]
        pub struct $name(std::sync::Arc<str>);

        // Hash by text, like `eq` (the pointer check is only a shortcut to the same answer).
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                if std::sync::Arc::ptr_eq(&self.0, &other.0) {
                    std::cmp::Ordering::Equal
                } else {
                    self.0.cmp(&other.0)
                }
            }
        }

        impl $name {
            /// Longest accepted length in bytes.
            pub const MAX_LEN: usize = $max;

            /// Checked constructor.
            pub fn new(text: impl Into<String>) -> Result<Self, InvalidId> {
                let text = text.into();
                let allowed: fn(u8) -> bool = $allowed;
                if text.is_empty() || text.len() > $max || !text.bytes().all(allowed) {
                    return Err(InvalidId {
                        kind: $kind,
                        text: text.chars().take(64).collect(),
                        expected: $expected,
                    });
                }
                let store: fn(String) -> std::sync::Arc<str> = $store;
                Ok(Self(store(text)))
            }

            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::new(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::new(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

ascii_id!(
    /// An instrument symbol such as `BTCUSDT` or `1000PEPEUSDT`: 1–32 of `[A-Z0-9-]`.
    Symbol,
    "symbol",
    32,
    "1 to 32 characters of A-Z, 0-9 and '-'",
    |b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-',
    intern_symbol
);

ascii_id!(
    /// A client order id (`orderLinkId`): 1–36 of `[A-Za-z0-9_-]`.
    OrderLinkId,
    "orderLinkId",
    36,
    "1 to 36 characters of A-Z, a-z, 0-9, '_' and '-'",
    |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
    own
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_rules() {
        assert!(Symbol::new("BTCUSDT").is_ok());
        assert!(Symbol::new("1000PEPEUSDT").is_ok());
        assert!(Symbol::new("btcusdt").is_err());
        assert!(Symbol::new("").is_err());
        assert!(Symbol::new("BTC/USDT").is_err());
        assert!(Symbol::new("A".repeat(33)).is_err());
    }

    #[test]
    fn order_link_id_rules() {
        assert!(OrderLinkId::new("g1-A-L-12-P-03-x9_z").is_ok());
        assert!(OrderLinkId::new("a".repeat(36)).is_ok());
        let err = OrderLinkId::new("a".repeat(37)).unwrap_err();
        assert_eq!(err.kind, "orderLinkId");
        assert!(OrderLinkId::new("grid 1").is_err());
        assert!(OrderLinkId::new("grid.1").is_err());
        assert!(serde_json::from_str::<OrderLinkId>("\"ok_1\"").is_ok());
        assert!(serde_json::from_str::<OrderLinkId>("\"no!\"").is_err());
    }
}
