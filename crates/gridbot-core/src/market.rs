//! Market data: tickers, the top of the order book and funding rates.

use rust_decimal::Decimal;

use crate::ids::Symbol;
use crate::num::{Price, Qty};

/// One price level of a book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BookLevel {
    /// Price.
    pub price: Price,
    /// Size resting at that price.
    pub qty: Qty,
}

/// Best bid and best ask.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderBookTop {
    /// Instrument.
    pub symbol: Symbol,
    /// Best bid, if any.
    pub bid: Option<BookLevel>,
    /// Best ask, if any.
    pub ask: Option<BookLevel>,
    /// Exchange timestamp, UTC ms.
    pub time_ms: i64,
}

/// A linear ticker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ticker {
    /// Instrument.
    pub symbol: Symbol,
    /// Last traded price.
    pub last_price: Price,
    /// Mark price (margin and PnL).
    pub mark_price: Price,
    /// Index price.
    pub index_price: Option<Price>,
    /// Best bid.
    pub bid: Option<BookLevel>,
    /// Best ask.
    pub ask: Option<BookLevel>,
    /// Current funding rate.
    pub funding_rate: Decimal,
    /// Next funding time, UTC ms.
    pub next_funding_time_ms: i64,
    /// Time of the snapshot, UTC ms.
    pub time_ms: i64,
}

/// A settled funding rate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FundingRate {
    /// Instrument.
    pub symbol: Symbol,
    /// Rate (positive: longs pay shorts).
    pub rate: Decimal,
    /// Settlement time, UTC ms.
    pub time_ms: i64,
}

/// One public trade (REST recent-trade, WebSocket publicTrade).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicTrade {
    /// Instrument.
    pub symbol: Symbol,
    /// Trade id.
    pub trade_id: String,
    /// Price.
    pub price: Price,
    /// Size.
    pub qty: Qty,
    /// The taker's side.
    pub taker_side: crate::enums::Side,
    /// Trade time, UTC ms.
    pub time_ms: i64,
}
