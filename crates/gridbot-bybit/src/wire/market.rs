//! Market-data results (`/v5/market/*`).

/// `/v5/market/time`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    /// Seconds.
    pub time_second: String,
    /// Nanoseconds.
    pub time_nano: String,
}

/// `/v5/market/kline`: rows `[start, open, high, low, close, volume, turnover]`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Klines {
    /// Symbol.
    #[serde(default)]
    pub symbol: String,
    /// Rows.
    pub list: Vec<Vec<String>>,
}

/// One linear ticker of `/v5/market/tickers` (and the `tickers` WebSocket topic).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ticker {
    /// Symbol.
    pub symbol: String,
    /// Last price.
    pub last_price: String,
    /// Index price.
    pub index_price: String,
    /// Mark price.
    pub mark_price: String,
    /// Best bid.
    pub bid1_price: String,
    /// Best bid size.
    pub bid1_size: String,
    /// Best ask.
    pub ask1_price: String,
    /// Best ask size.
    pub ask1_size: String,
    /// Funding rate.
    pub funding_rate: String,
    /// Next funding time, ms (a string).
    pub next_funding_time: String,
}

/// `leverageFilter`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LeverageFilter {
    /// Minimum.
    pub min_leverage: String,
    /// Maximum.
    pub max_leverage: String,
    /// Step.
    pub leverage_step: String,
}

/// `priceFilter`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PriceFilter {
    /// Minimum.
    pub min_price: String,
    /// Maximum.
    pub max_price: String,
    /// Tick.
    pub tick_size: String,
}

/// `lotSizeFilter`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LotSizeFilter {
    /// Limit/PostOnly maximum.
    pub max_order_qty: String,
    /// Minimum.
    pub min_order_qty: String,
    /// Step.
    pub qty_step: String,
    /// Market maximum.
    pub max_mkt_order_qty: String,
    /// Notional floor.
    pub min_notional_value: String,
}

/// One instrument of `/v5/market/instruments-info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Instrument {
    /// Symbol.
    pub symbol: String,
    /// `Trading`, `PreLaunch`, ...
    pub status: String,
    /// Leverage bounds.
    pub leverage_filter: LeverageFilter,
    /// Price bounds.
    pub price_filter: PriceFilter,
    /// Size bounds.
    pub lot_size_filter: LotSizeFilter,
    /// Funding interval, minutes (a JSON number).
    pub funding_interval: i64,
}

/// `/v5/market/orderbook`: levels are `[price, size]`, bids descending, asks ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Orderbook {
    /// Symbol.
    #[serde(default)]
    pub s: String,
    /// Bids.
    #[serde(default)]
    pub b: Vec<[String; 2]>,
    /// Asks.
    #[serde(default)]
    pub a: Vec<[String; 2]>,
    /// Timestamp, ms.
    #[serde(default)]
    pub ts: i64,
    /// Update id.
    #[serde(default)]
    pub u: i64,
}

/// One row of `/v5/market/funding/history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FundingRate {
    /// Symbol.
    pub symbol: String,
    /// Rate.
    pub funding_rate: String,
    /// Settlement time, ms (a string).
    pub funding_rate_timestamp: String,
}

/// One row of `/v5/market/recent-trade`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecentTrade {
    /// Trade id.
    pub exec_id: String,
    /// Symbol.
    pub symbol: String,
    /// Price.
    pub price: String,
    /// Size.
    pub size: String,
    /// Taker side.
    pub side: String,
    /// Time, ms (a string).
    pub time: String,
}
