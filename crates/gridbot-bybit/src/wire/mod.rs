//! The raw wire layer: structs that mirror Bybit v5 JSON exactly (numbers as strings, camelCase),
//! and the two-stage envelope decoder.
//!
//! Decisions:
//! - Fields the bot does not read are not declared (serde ignores unknown fields), so a new
//!   field on Bybit's side never breaks decoding; fields it reads but Bybit may omit default to
//!   `""` and are rejected, with their name, by the domain layer if they are required.
//! - The envelope is decoded in two stages: `retCode`/`retMsg` first, then `result` only when
//!   `retCode == 0`, because error replies carry `result: {}`, which no result type fits.

pub mod account;
pub mod market;
pub mod trade;

use serde::de::DeserializeOwned;

/// A reply that could not be decoded: not JSON, or missing/mistyped fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{endpoint}: cannot decode the reply: {reason}")]
pub struct DecodeError {
    /// The endpoint that answered.
    pub endpoint: String,
    /// What was wrong (serde's message, with the line and column).
    pub reason: String,
}

impl DecodeError {
    /// A decode error for `endpoint`.
    pub fn new(endpoint: &str, reason: impl Into<String>) -> Self {
        Self { endpoint: endpoint.to_owned(), reason: reason.into() }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    ret_code: i64,
    #[serde(default)]
    ret_msg: String,
}

#[derive(serde::Deserialize)]
struct WithResult<T> {
    result: T,
}

/// A decoded REST reply: `retCode`, `retMsg`, and the result when `retCode == 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct RestReply<T> {
    /// Bybit's code (0 = OK).
    pub ret_code: i64,
    /// Bybit's message.
    pub ret_msg: String,
    /// The result, present exactly when `ret_code == 0`.
    pub result: Option<T>,
}

/// Decodes a REST reply body.
pub fn decode_reply<T: DeserializeOwned>(endpoint: &str, body: &str) -> Result<RestReply<T>, DecodeError> {
    let header: Header = serde_json::from_str(body).map_err(|e| DecodeError::new(endpoint, e.to_string()))?;
    let result = if header.ret_code == 0 {
        let with: WithResult<T> = serde_json::from_str(body).map_err(|e| DecodeError::new(endpoint, e.to_string()))?;
        Some(with.result)
    } else {
        None
    };
    Ok(RestReply { ret_code: header.ret_code, ret_msg: header.ret_msg, result })
}

/// `result: {}` (set-leverage, switch-mode, trading-stop).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Empty {}

/// A list page with Bybit's opaque cursor (`""` on the last page).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
    /// The next page's cursor; empty or absent on the last page.
    #[serde(default)]
    pub next_page_cursor: String,
}
