//! # gridbot-bybit
//!
//! A Bybit v5 client for USDT linear perpetuals, written to `docs/BYBIT.md`.
//!
//! Structure: a raw wire layer whose structs mirror Bybit's JSON (numbers as
//! strings) and a domain layer that converts them into gridbot-core types. Signing is a pure
//! function pinned by the reference vectors; [`Credentials`] keep the secret out of every
//! `Debug`, `Display`, log line and error.
//!
//! Decisions so far:
//! - Retry decisions are made from the error *variant* (see [`classify_ret_code`]), never from a message.
//! - "Not modified" answers (110043 leverage, 110025 position mode, 34040 TP/SL) are successes.
//!
//! ```
//! use gridbot_bybit::sign::sign_rest;
//!
//! // docs/BYBIT.md §1.2: the signature of `GET ?category=linear&symbol=BTCUSDT`.
//! let sign = sign_rest("testSecret456", 1_700_000_000_000, "testApiKey123", 5_000, "category=linear&symbol=BTCUSDT");
//! assert_eq!(sign, "2269b4e636d47812b8e0a313867f4d79847e9709af0332916f1c102bda6fba49");
//! ```
//!
//! Against the simulator or Bybit: `BybitClient::new(ClientConfig::new(Environment::custom(url),
//! Some(Credentials::new(key, secret)?)))` implements gridbot-core's `Exchange`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod classify;
mod convert;
mod credentials;
pub mod rest;
pub mod sign;
pub mod wire;
pub mod ws;

#[cfg(test)]
mod fixture_tests;

pub use classify::{Acceptance, IP_BAN_MS, classify_http_status, classify_ret_code};
pub use convert::Fields;
pub use credentials::{Credentials, EmptyCredential};
/// Which Bybit (or Bybit-compatible server): re-exported from gridbot-core.
pub use gridbot_core::Environment;
pub use rest::endpoints::ApiKeyInfo;
pub use rest::stats::{ClassReading, LATENCY_BUCKETS_S, RequestStats};
pub use rest::{BybitClient, BybitError, ClientConfig, Pause, ThreadSleep};
pub use wire::DecodeError;
