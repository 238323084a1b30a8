//! The `Exchange` trait: what the engine, recovery and backtests need from a venue. Implemented
//! by the Bybit client (over the network) and by the simulator (in-process).
//!
//! Decisions:
//! - Blocking, `&self` methods: trading runs on plain threads (ARCHITECTURE §6), and an implementation
//!   that needs mutation (the in-process simulator) uses interior mutability. A client can be
//!   shared by reference between the event worker and recovery without an async runtime.
//! - Errors are grouped by what the caller should do next ([`ErrorAction`]), never by where
//!   they came from, and keep Bybit's `retCode`, HTTP status and message for the log. Retry
//!   policy is decided from the variant, never by searching a message.
//! - History and execution queries take an explicit time window; implementations split it into
//!   the exchange's 7-day windows and follow cursors to the end.

use rust_decimal::Decimal;

use crate::account::{Execution, Position, Wallet};
use crate::candle::{Candle, Interval};
use crate::enums::PositionMode;
use crate::ids::Symbol;
use crate::instrument::Instrument;
use crate::market::{FundingRate, OrderBookTop, Ticker};
use crate::order::{Order, OrderAck, OrderRef, OrderRequest};

/// What went wrong, as the venue reported it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDetail {
    /// The endpoint or operation, e.g. `/v5/order/create`.
    pub endpoint: String,
    /// Bybit's `retCode`, when the venue answered with one.
    pub ret_code: Option<i64>,
    /// HTTP status, when one was received.
    pub http_status: Option<u16>,
    /// The venue's message or the transport error, never a secret.
    pub message: String,
}

impl std::fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.endpoint)?;
        if let Some(status) = self.http_status {
            write!(f, " HTTP {status}")?;
        }
        if let Some(code) = self.ret_code {
            write!(f, " retCode {code}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// An exchange call failed; the variant says what the caller should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// Transient (network, 5xx, 10000, 10016, 110079): retry the same request with backoff.
    #[error("transient failure, retry later: {0}")]
    RetryLater(ErrorDetail),
    /// Rate limited (10006, HTTP 429, HTTP 403 IP ban): send nothing to this endpoint class
    /// until `until_ms` (UTC ms).
    #[error("rate limited until {until_ms}: {detail}")]
    BackOffUntil {
        /// When sending may resume, UTC ms.
        until_ms: i64,
        /// The venue's report.
        detail: ErrorDetail,
    },
    /// Our clock is outside the venue's receive window (10002): resync, then retry.
    #[error("clock out of sync with the exchange: {0}")]
    ResyncClock(ErrorDetail),
    /// The venue's view differs from ours (unknown order, already filled or cancelled,
    /// duplicate orderLinkId, or an answer we could not read after sending): query the
    /// exchange before acting on this order again.
    #[error("state differs from the exchange, reconcile: {0}")]
    Reconcile(ErrorDetail),
    /// The request itself is wrong (parameters, price band, balance, reduce-only rule): fix it,
    /// never resend it unchanged.
    #[error("request rejected: {0}")]
    Rejected(ErrorDetail),
    /// Credentials, permissions, IP whitelist, a wrong route: stop and tell the operator.
    #[error("fatal exchange error: {0}")]
    Fatal(ErrorDetail),
}

/// The action an [`ExchangeError`] calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAction {
    /// Retry with backoff.
    Retry,
    /// Wait until the given UTC ms, then retry.
    BackOffUntil(i64),
    /// Resynchronise the clock offset, then retry.
    ResyncClock,
    /// Query the exchange before acting again.
    Reconcile,
    /// Change the request; do not resend it.
    FixRequest,
    /// Stop and alert.
    Fatal,
}

impl ExchangeError {
    /// What to do about it.
    #[must_use]
    pub fn action(&self) -> ErrorAction {
        match self {
            Self::RetryLater(_) => ErrorAction::Retry,
            Self::BackOffUntil { until_ms, .. } => ErrorAction::BackOffUntil(*until_ms),
            Self::ResyncClock(_) => ErrorAction::ResyncClock,
            Self::Reconcile(_) => ErrorAction::Reconcile,
            Self::Rejected(_) => ErrorAction::FixRequest,
            Self::Fatal(_) => ErrorAction::Fatal,
        }
    }

    /// The venue's report.
    #[must_use]
    pub fn detail(&self) -> &ErrorDetail {
        match self {
            Self::RetryLater(d)
            | Self::ResyncClock(d)
            | Self::Reconcile(d)
            | Self::Rejected(d)
            | Self::Fatal(d)
            | Self::BackOffUntil { detail: d, .. } => d,
        }
    }

    /// True when resending the same request later can succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self.action(), ErrorAction::Retry | ErrorAction::BackOffUntil(_) | ErrorAction::ResyncClock)
    }
}

/// A time window for history queries, UTC ms, `start_ms ≤ t ≤ end_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Inclusive start.
    pub start_ms: i64,
    /// Inclusive end.
    pub end_ms: i64,
}

/// Which candles to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlineQuery {
    /// Instrument.
    pub symbol: Symbol,
    /// Interval.
    pub interval: Interval,
    /// Open times in this window.
    pub window: TimeWindow,
}

/// A venue for USDT linear perpetuals. All methods block.
pub trait Exchange {
    /// The venue's clock, UTC ms.
    fn server_time(&self) -> Result<i64, ExchangeError>;
    /// Every tradable linear instrument.
    fn instruments(&self) -> Result<Vec<Instrument>, ExchangeError>;
    /// One instrument.
    fn instrument(&self, symbol: &Symbol) -> Result<Instrument, ExchangeError>;
    /// The ticker.
    fn ticker(&self, symbol: &Symbol) -> Result<Ticker, ExchangeError>;
    /// Candles in the window, oldest first.
    fn klines(&self, query: &KlineQuery) -> Result<Vec<Candle>, ExchangeError>;
    /// Best bid and ask.
    fn orderbook_top(&self, symbol: &Symbol) -> Result<OrderBookTop, ExchangeError>;
    /// Places an order. Retrying with the same `order_link_id` is idempotent.
    fn place(&self, order: &OrderRequest) -> Result<OrderAck, ExchangeError>;
    /// Cancels one order.
    fn cancel(&self, symbol: &Symbol, order: &OrderRef) -> Result<OrderAck, ExchangeError>;
    /// Cancels every open order of the symbol; returns what was cancelled.
    fn cancel_all(&self, symbol: &Symbol) -> Result<Vec<OrderAck>, ExchangeError>;
    /// Open orders of the symbol (all pages).
    fn open_orders(&self, symbol: &Symbol) -> Result<Vec<Order>, ExchangeError>;
    /// Orders created in the window, open or closed (all pages, all 7-day windows).
    fn order_history(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Order>, ExchangeError>;
    /// Executions in the window, fills and funding (all pages, all 7-day windows).
    fn executions(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Execution>, ExchangeError>;
    /// Position rows of the symbol (two in hedge mode, flat ones included).
    fn positions(&self, symbol: &Symbol) -> Result<Vec<Position>, ExchangeError>;
    /// The UNIFIED wallet.
    fn wallet(&self) -> Result<Wallet, ExchangeError>;
    /// Sets leverage ("not modified" counts as success).
    fn set_leverage(&self, symbol: &Symbol, buy: Decimal, sell: Decimal) -> Result<(), ExchangeError>;
    /// Switches one-way / hedge mode ("not modified" counts as success).
    fn set_position_mode(&self, symbol: &Symbol, mode: PositionMode) -> Result<(), ExchangeError>;
    /// Settled funding rates in the window, oldest first.
    fn funding_history(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<FundingRate>, ExchangeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_maps_to_one_action_and_keeps_its_detail() {
        let detail = ErrorDetail {
            endpoint: "/v5/order/create".into(),
            ret_code: Some(10006),
            http_status: Some(200),
            message: "Too many visits!".into(),
        };
        let e = ExchangeError::BackOffUntil { until_ms: 42, detail: detail.clone() };
        assert_eq!(e.action(), ErrorAction::BackOffUntil(42));
        assert!(e.is_retryable());
        assert_eq!(e.detail().ret_code, Some(10006));
        assert_eq!(e.to_string(), "rate limited until 42: /v5/order/create HTTP 200 retCode 10006: Too many visits!");
        assert!(!ExchangeError::Rejected(detail.clone()).is_retryable());
        assert!(!ExchangeError::Reconcile(detail.clone()).is_retryable());
        assert_eq!(ExchangeError::Fatal(detail.clone()).action(), ErrorAction::Fatal);
        assert_eq!(ExchangeError::ResyncClock(detail).action(), ErrorAction::ResyncClock);
    }
}
