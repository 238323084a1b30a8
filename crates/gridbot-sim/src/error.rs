//! Simulator errors carry Bybit's retCode and message, so the server answers exactly as Bybit
//! would and the in-process `Exchange` maps them to the same `ExchangeError` variants the
//! client produces.

use gridbot_core::{ErrorDetail, ExchangeError};

/// A rejected request, as Bybit would reject it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retCode {code}: {message}")]
pub struct SimError {
    /// Bybit retCode.
    pub code: i64,
    /// Bybit-style message.
    pub message: String,
}

impl SimError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// 10001, request parameter error.
    pub fn params(message: impl Into<String>) -> Self {
        Self::new(10_001, message)
    }

    /// As the client would classify the same reply.
    #[must_use]
    pub fn into_exchange_error(self, endpoint: &str) -> ExchangeError {
        let detail = ErrorDetail {
            endpoint: endpoint.to_owned(),
            ret_code: Some(self.code),
            http_status: Some(200),
            message: self.message,
        };
        match self.code {
            10_000 | 10_016 | 110_079 => ExchangeError::RetryLater(detail),
            10_006 => ExchangeError::BackOffUntil { until_ms: 0, detail },
            10_002 => ExchangeError::ResyncClock(detail),
            10_003 | 10_004 | 10_005 | 10_010 | 10_017 => ExchangeError::Fatal(detail),
            110_001 | 110_008 | 110_010 | 110_072 => ExchangeError::Reconcile(detail),
            _ => ExchangeError::Rejected(detail),
        }
    }
}
