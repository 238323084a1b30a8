//! What a backtest assumes about the exchange: the starting balance, fees, funding, how resting
//! orders fill, slippage of market orders — the account file's optional `backtest:` section.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gridbot_core::{Decimal, Symbol};
use gridbot_sim::{FundingPoint, SimConfig};

/// When a resting limit order fills as the price path reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillModel {
    /// Only when the path trades through the price by at least `ticks` ticks (then completely);
    /// a touch fills nothing. The default, with one tick: conservative — real queues are not
    /// reached by every touch.
    TradeThrough {
        /// Ticks beyond the price, ≥ 1.
        ticks: u32,
    },
    /// As soon as the path touches the price (completely). Optimistic.
    Touch,
}

impl Default for FillModel {
    fn default() -> Self {
        Self::TradeThrough { ticks: 1 }
    }
}

/// Where funding rates come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Funding {
    /// One rate for every 8-hour settlement (positive: longs pay shorts).
    Constant(Decimal),
    /// Historical settlements per symbol (`gridbot data fetch --funding` writes such files);
    /// the latest rate at or before a settlement applies, `before` before the first.
    History {
        /// Files by symbol, as configured.
        files: BTreeMap<Symbol, PathBuf>,
        /// Their points, loaded.
        points: BTreeMap<Symbol, Vec<FundingPoint>>,
        /// Before the first point.
        before: Decimal,
    },
}

/// The backtest's exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestSettings {
    /// Starting wallet, USDT.
    pub balance: Decimal,
    /// Maker fee rate.
    pub maker_fee: Decimal,
    /// Taker fee rate.
    pub taker_fee: Decimal,
    /// Funding.
    pub funding: Funding,
    /// How resting orders fill.
    pub fill: FillModel,
    /// Market orders fill this fraction worse than the path price.
    pub slippage: Decimal,
}

impl Default for BacktestSettings {
    fn default() -> Self {
        let bybit = SimConfig::default();
        Self {
            balance: Decimal::from(10_000),
            maker_fee: bybit.maker_fee,
            taker_fee: bybit.taker_fee,
            funding: Funding::Constant(bybit.funding_rate),
            fill: FillModel::default(),
            slippage: Decimal::ZERO,
        }
    }
}

impl BacktestSettings {
    /// The simulator's settings for these assumptions.
    #[must_use]
    pub fn sim_config(&self) -> SimConfig {
        let mut c = SimConfig { maker_fee: self.maker_fee, taker_fee: self.taker_fee, ..SimConfig::default() };
        match self.fill {
            FillModel::TradeThrough { ticks } => {
                c.fill_through_ticks = ticks.max(1);
                c.touch_fill_fraction = Decimal::ZERO;
            }
            FillModel::Touch => {
                c.fill_through_ticks = 0;
                c.touch_fill_fraction = Decimal::ONE;
            }
        }
        c.market_slippage = self.slippage;
        match &self.funding {
            Funding::Constant(rate) => c.funding_rate = *rate,
            Funding::History { points, before, .. } => {
                c.funding_rate = *before;
                c.funding_history.clone_from(points);
            }
        }
        c
    }
}
