//! retCode and HTTP status → what the caller should do (`docs/BYBIT.md` §2, §6.1).
//!
//! Every code the bot must handle is listed in one table; an unknown non-zero code is treated
//! as a rejection (Bybit's business errors mean the request did not take effect), never as
//! something to retry blindly.

use gridbot_core::{ErrorDetail, ExchangeError};

/// How long an HTTP 403 "access too frequent" IP ban lasts at least (docs: ≥ 10 minutes).
pub const IP_BAN_MS: i64 = 10 * 60_000;

/// A successful answer: done, or "not modified" (already in the requested state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// retCode 0.
    Done,
    /// 110043 / 110025 / 34040: the setting already had this value.
    NotModified,
}

/// Maps a `retCode` (HTTP 200 answers) to success or the error variant that says what to do.
/// `reset_ms` is `X-Bapi-Limit-Reset-Timestamp` when the reply carried it.
pub fn classify_ret_code(
    endpoint: &str,
    ret_code: i64,
    ret_msg: &str,
    reset_ms: Option<i64>,
    now_ms: i64,
) -> Result<Acceptance, ExchangeError> {
    let detail = || ErrorDetail {
        endpoint: endpoint.to_owned(),
        ret_code: Some(ret_code),
        http_status: Some(200),
        message: ret_msg.chars().take(300).collect(),
    };
    match ret_code {
        0 => Ok(Acceptance::Done),
        110_043 | 110_025 | 34_040 => Ok(Acceptance::NotModified),
        // server timeout, server error / restarting, order is processing
        10_000 | 10_016 | 110_079 => Err(ExchangeError::RetryLater(detail())),
        10_006 => Err(ExchangeError::BackOffUntil {
            until_ms: reset_ms.unwrap_or(now_ms + 1_000).max(now_ms),
            detail: detail(),
        }),
        10_002 => Err(ExchangeError::ResyncClock(detail())),
        // key invalid, signature, permission, IP, route
        10_003 | 10_004 | 10_005 | 10_010 | 10_017 => Err(ExchangeError::Fatal(detail())),
        // duplicate request, order not found, already filled / cancelled, duplicate orderLinkId
        10_014 | 110_001 | 110_008 | 110_010 | 110_072 => Err(ExchangeError::Reconcile(detail())),
        _ => Err(ExchangeError::Rejected(detail())),
    }
}

/// Maps a non-200 HTTP status to the error variant (Bybit keeps business errors at 200).
#[must_use]
pub fn classify_http_status(
    endpoint: &str,
    status: u16,
    body: &str,
    reset_ms: Option<i64>,
    now_ms: i64,
) -> ExchangeError {
    let detail = ErrorDetail {
        endpoint: endpoint.to_owned(),
        ret_code: None,
        http_status: Some(status),
        message: body.chars().take(300).collect(),
    };
    match status {
        403 => ExchangeError::BackOffUntil { until_ms: now_ms + IP_BAN_MS, detail },
        429 => ExchangeError::BackOffUntil { until_ms: reset_ms.unwrap_or(now_ms + 1_000).max(now_ms), detail },
        401 | 404 => ExchangeError::Fatal(detail),
        400 | 405..=499 => ExchangeError::Rejected(detail),
        _ => ExchangeError::RetryLater(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbot_core::ErrorAction;

    fn action(code: i64) -> Result<Acceptance, ErrorAction> {
        classify_ret_code("/v5/order/create", code, "msg", Some(5_000), 1_000).map_err(|e| e.action())
    }

    #[test]
    fn ret_codes_by_action() {
        assert_eq!(action(0), Ok(Acceptance::Done));
        for code in [110_043, 110_025, 34_040] {
            assert_eq!(action(code), Ok(Acceptance::NotModified), "{code}");
        }
        for code in [10_000, 10_016, 110_079] {
            assert_eq!(action(code), Err(ErrorAction::Retry), "{code}");
        }
        assert_eq!(action(10_006), Err(ErrorAction::BackOffUntil(5_000)));
        assert_eq!(action(10_002), Err(ErrorAction::ResyncClock));
        for code in [10_003, 10_004, 10_005, 10_010, 10_017] {
            assert_eq!(action(code), Err(ErrorAction::Fatal), "{code}");
        }
        for code in [10_014, 110_001, 110_008, 110_010, 110_072] {
            assert_eq!(action(code), Err(ErrorAction::Reconcile), "{code}");
        }
        for code in [10_001, 110_003, 110_004, 110_007, 110_012, 110_017, 110_020, 110_024, 110_094, 30_208, 999_999] {
            assert_eq!(action(code), Err(ErrorAction::FixRequest), "{code}");
        }
        let e = classify_ret_code("/v5/order/create", 110_007, "ab not enough for new order", None, 0).unwrap_err();
        assert_eq!(e.detail().ret_code, Some(110_007));
        assert_eq!(e.detail().message, "ab not enough for new order");
    }

    #[test]
    fn http_statuses_are_distinct() {
        let c = |s| classify_http_status("/v5/market/time", s, "", Some(9_000), 1_000);
        assert_eq!(c(403).action(), ErrorAction::BackOffUntil(1_000 + IP_BAN_MS));
        assert_eq!(c(429).action(), ErrorAction::BackOffUntil(9_000));
        assert_eq!(c(404).action(), ErrorAction::Fatal);
        assert_eq!(c(502).action(), ErrorAction::Retry);
        assert_eq!(c(400).action(), ErrorAction::FixRequest);
        assert_eq!(c(503).detail().http_status, Some(503));
    }
}
