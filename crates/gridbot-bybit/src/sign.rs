//! Request signing (`docs/BYBIT.md` §1): lowercase hex HMAC-SHA256.
//!
//! - REST: `timestamp + api_key + recv_window + payload`, where the payload is the raw query
//!   string of a GET (exactly the bytes after `?`) or the raw JSON body of a POST. The bytes
//!   signed are the bytes sent: callers build the query/body once and sign that text.
//! - WebSocket auth: `"GET/realtime" + expires`.
//!
//! Pure functions, pinned by the six vectors of docs/BYBIT.md §1.2.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lowercase hex of HMAC-SHA256(`secret`, `message`).
#[must_use]
pub fn hmac_sha256_hex(secret: &[u8], message: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The `X-BAPI-SIGN` of a REST request.
#[must_use]
pub fn sign_rest(secret: &str, timestamp_ms: i64, api_key: &str, recv_window_ms: u64, payload: &str) -> String {
    let prehash = format!("{timestamp_ms}{api_key}{recv_window_ms}{payload}");
    hmac_sha256_hex(secret.as_bytes(), prehash.as_bytes())
}

/// The signature of a private WebSocket `auth` frame.
#[must_use]
pub fn sign_ws_auth(secret: &str, expires_ms: i64) -> String {
    hmac_sha256_hex(secret.as_bytes(), format!("GET/realtime{expires_ms}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "testApiKey123";
    const SECRET: &str = "testSecret456";
    const TS: i64 = 1_700_000_000_000;

    #[test]
    fn bybit_v5_vectors() {
        let cases = [
            (
                "V1",
                "category=linear&symbol=BTCUSDT",
                "2269b4e636d47812b8e0a313867f4d79847e9709af0332916f1c102bda6fba49",
            ),
            (
                "V2",
                r#"{"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "30000", "timeInForce": "PostOnly", "orderLinkId": "grid-1"}"#,
                "36ba30c8f27b5a10ddea0ec4c70938969049a95a1d2d4dc5f78add82dbc9ddf0",
            ),
            (
                "V3",
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","timeInForce":"PostOnly","orderLinkId":"grid-1"}"#,
                "1cbfb66689ae20da3e3b7713da25d2abdcbffa239ea4891196564fc9663b5c64",
            ),
            (
                "V4",
                "symbol=BTCUSDT&limit=200&category=linear",
                "9ee2bdb2d4d9967748962375d8075ce1cb3436515d19eccf7b265a532e70f41c",
            ),
            ("V5", "", "518427e804cf8844856c5f1736fb2988882fc8991c85dd3c3b2e545fa0ac899c"),
        ];
        for (name, payload, expected) in cases {
            assert_eq!(sign_rest(SECRET, TS, KEY, 5000, payload), expected, "{name}");
        }
        assert_eq!(
            sign_ws_auth(SECRET, 1_700_000_001_000),
            "f0d21f387b611be2e04f69b8d3a3ddab297ff936301501e6a424e29386d7d61c",
            "W1"
        );
    }
}
