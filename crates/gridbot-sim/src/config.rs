//! Simulator settings, with Bybit's defaults.

use std::collections::BTreeMap;

use gridbot_core::{Decimal, Qty, Symbol};

/// Fees, book shape, margin and funding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Maker fee rate (Bybit base tier: 0.02%).
    pub maker_fee: Decimal,
    /// Taker fee rate (Bybit base tier: 0.055%).
    pub taker_fee: Decimal,
    /// Synthetic book: ticks between best bid and best ask.
    pub spread_ticks: u32,
    /// Synthetic book: levels per side.
    pub book_levels: u32,
    /// Synthetic book: size at each level.
    pub level_qty: Qty,
    /// Share of a resting order that fills when the path reaches its price without trading
    /// through it (through fills it completely). Gives deterministic partial fills.
    pub touch_fill_fraction: Decimal,
    /// How far beyond a resting order's price the path must go to trade *through* it, in ticks;
    /// 0: any distance beyond (the default).
    pub fill_through_ticks: u32,
    /// Market orders fill this fraction worse than the book (0: at the book).
    pub market_slippage: Decimal,
    /// Maintenance margin rate.
    pub maintenance_margin_rate: Decimal,
    /// Leverage of a symbol before `set-leverage`.
    pub default_leverage: Decimal,
    /// Risk limit (position value) per symbol and position.
    pub risk_limit: Decimal,
    /// Funding rate applied every interval when no history is given (positive: longs pay).
    pub funding_rate: Decimal,
    /// Historical funding rates per symbol: at each settlement the latest rate at or before
    /// it applies (`funding_rate` before the first point).
    pub funding_history: BTreeMap<Symbol, Vec<FundingPoint>>,
    /// Funding interval, ms (Bybit: 8 h).
    pub funding_interval_ms: i64,
    /// Active orders allowed per symbol and account (Bybit: 500).
    pub max_active_orders: usize,
    /// How long closed orders and executions stay queryable, ms (default 32 days: longer
    /// than the 30 days gridbot's recovery reads back). Older ones are dropped, so a long
    /// replay's memory and lookups stay flat.
    pub history_retention_ms: i64,
}

/// One historical funding rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FundingPoint {
    /// Settlement time, UTC ms.
    pub time_ms: i64,
    /// Rate.
    pub rate: Decimal,
}

impl SimConfig {
    /// The funding rate of `symbol` for a settlement at `t_ms`.
    #[must_use]
    pub fn funding_rate_at(&self, symbol: &Symbol, t_ms: i64) -> Decimal {
        self.funding_history
            .get(symbol)
            .and_then(|points| points.iter().filter(|p| p.time_ms <= t_ms).max_by_key(|p| p.time_ms))
            .map_or(self.funding_rate, |p| p.rate)
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            maker_fee: Decimal::new(2, 4),
            taker_fee: Decimal::new(55, 5),
            spread_ticks: 1,
            book_levels: 5,
            level_qty: Qty::new(Decimal::from(5)).unwrap_or(Qty::ZERO),
            touch_fill_fraction: Decimal::new(5, 1),
            fill_through_ticks: 0,
            market_slippage: Decimal::ZERO,
            maintenance_margin_rate: Decimal::new(5, 3),
            default_leverage: Decimal::from(10),
            risk_limit: Decimal::from(2_000_000),
            funding_rate: Decimal::new(1, 4),
            funding_history: BTreeMap::new(),
            funding_interval_ms: 8 * 60 * 60 * 1000,
            max_active_orders: 500,
            history_retention_ms: 32 * 24 * 60 * 60 * 1000,
        }
    }
}
