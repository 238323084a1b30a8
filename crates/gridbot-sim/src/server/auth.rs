//! Request authentication exactly as `docs/BYBIT.md` §1.1 describes the server side:
//! key → 10003, timestamp window `now − recv_window ≤ ts < now + 1000` → 10002, HMAC over the
//! raw query or raw body bytes as received → 10004. `X-BAPI-SIGN-TYPE`, `Referer` and unknown
//! headers are ignored.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::SimError;

/// Lowercase hex HMAC-SHA256 (the same function as the client's; kept here so the simulator
/// does not depend on the client it tests).
#[must_use]
pub fn hmac_hex(secret: &str, message: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Checks a signed request; returns the API key it was signed with.
pub(crate) fn verify(
    headers: &HeaderMap,
    payload: &str,
    now_ms: i64,
    secret_of: impl Fn(&str) -> Option<String>,
) -> Result<String, SimError> {
    let key = header(headers, "x-bapi-api-key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| SimError::new(10_003, "API key is invalid."))?;
    let secret = secret_of(key).ok_or_else(|| SimError::new(10_003, "API key is invalid."))?;
    let ts_text = header(headers, "x-bapi-timestamp").unwrap_or_default();
    let rw_text = header(headers, "x-bapi-recv-window").unwrap_or("5000");
    let ts: i64 = ts_text.parse().map_err(|_| {
        SimError::new(
            10_002,
            format!(
                "invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts_text}]"
            ),
        )
    })?;
    let rw: i64 = rw_text
        .parse()
        .map_err(|_| SimError::params(format!("params error: recv_window {rw_text:?} is not a number")))?;
    if !(now_ms - rw <= ts && ts < now_ms + 1000) {
        return Err(SimError::new(
            10_002,
            format!(
                "invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts}],server_timestamp[{now_ms}],recv_window[{rw}]"
            ),
        ));
    }
    let origin = format!("{ts_text}{key}{rw_text}{payload}");
    let expected = hmac_hex(&secret, &origin);
    let given = header(headers, "x-bapi-sign").unwrap_or_default().to_ascii_lowercase();
    if given != expected {
        return Err(SimError::new(10_004, format!("error sign! origin_string[{origin}]")));
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const NOW: i64 = 1_700_000_000_000;

    fn secret(k: &str) -> Option<String> {
        (k == "testApiKey123").then(|| "testSecret456".to_owned())
    }

    #[test]
    fn accepts_the_reference_vectors_on_raw_bytes() {
        // V2: pybit's spaced JSON must be hashed as received
        let body = r#"{"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "30000", "timeInForce": "PostOnly", "orderLinkId": "grid-1"}"#;
        let h = headers(&[
            ("x-bapi-api-key", "testApiKey123"),
            ("x-bapi-timestamp", "1700000000000"),
            ("x-bapi-recv-window", "5000"),
            ("x-bapi-sign", "36ba30c8f27b5a10ddea0ec4c70938969049a95a1d2d4dc5f78add82dbc9ddf0"),
            ("x-bapi-sign-type", "2"),
        ]);
        assert_eq!(verify(&h, body, NOW, secret).unwrap(), "testApiKey123");
        // V5: empty query
        let h = headers(&[
            ("x-bapi-api-key", "testApiKey123"),
            ("x-bapi-timestamp", "1700000000000"),
            ("x-bapi-recv-window", "5000"),
            ("x-bapi-sign", "518427E804CF8844856C5F1736FB2988882FC8991C85DD3C3B2E545FA0AC899C"),
        ]);
        assert!(verify(&h, "", NOW, secret).is_ok(), "signature compared case-insensitively");
    }

    #[test]
    fn rejects_by_code() {
        let base = |ts: &str, sign: &str, key: &str| {
            headers(&[
                ("x-bapi-api-key", key),
                ("x-bapi-timestamp", ts),
                ("x-bapi-recv-window", "5000"),
                ("x-bapi-sign", sign),
            ])
        };
        let good = "518427e804cf8844856c5f1736fb2988882fc8991c85dd3c3b2e545fa0ac899c";
        assert_eq!(verify(&base("1700000000000", good, "other"), "", NOW, secret).unwrap_err().code, 10_003);
        assert_eq!(verify(&HeaderMap::new(), "", NOW, secret).unwrap_err().code, 10_003);
        assert_eq!(verify(&base("1700000000000", "00", "testApiKey123"), "", NOW, secret).unwrap_err().code, 10_004);
        assert_eq!(
            verify(&base("1700000000000", good, "testApiKey123"), "", NOW + 5_001, secret).unwrap_err().code,
            10_002
        );
        assert_eq!(
            verify(&base("1700000000000", good, "testApiKey123"), "", NOW - 1_000, secret).unwrap_err().code,
            10_002
        );
        assert!(
            verify(&base("1700000000000", good, "testApiKey123"), "", NOW - 999, secret).is_ok(),
            "1 s in the future is fine"
        );
        assert!(
            verify(&base("1700000000000", good, "testApiKey123"), "", NOW + 5_000, secret).is_ok(),
            "exactly recv_window old is fine"
        );
        assert_eq!(verify(&base("soon", good, "testApiKey123"), "", NOW, secret).unwrap_err().code, 10_002);
        let e = verify(&base("1700000000000", "00", "testApiKey123"), "", NOW, secret).unwrap_err();
        assert!(!e.message.contains("testSecret456"));
    }
}
