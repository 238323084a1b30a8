//! Bearer tokens, compared in constant time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// Whether `headers` carry `Authorization: Bearer <expected>`.
pub(crate) fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(token) = given.strip_prefix("Bearer ").or_else(|| given.strip_prefix("bearer ")) else { return false };
    constant_time_eq(token.trim().as_bytes(), expected.as_bytes())
}

/// Equal bytes, in time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = "0123456789abcdef-token";
        assert!(bearer_matches(&with("Bearer 0123456789abcdef-token"), token));
        assert!(bearer_matches(&with("bearer 0123456789abcdef-token"), token));
        assert!(!bearer_matches(&with("Bearer 0123456789abcdef-toke"), token));
        assert!(!bearer_matches(&with("Bearer 0123456789abcdef-tokeN"), token));
        assert!(!bearer_matches(&with("Basic 0123456789abcdef-token"), token));
        assert!(!bearer_matches(&with("0123456789abcdef-token"), token));
        assert!(!bearer_matches(&HeaderMap::new(), token));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"a", b""));
    }
}
