//! # gridbot-backtest
//!
//! Backtests that run **the same strategy, risk and executor code as live trading**
//! (gridbot-strategy's `AccountCore`, `drive` and executor) against the in-process simulator
//! (gridbot-sim's matching engine and candle replay) — a rehearsal, not a second
//! implementation.
//!
//! - **Within-candle reaction.** The simulator walks each candle's path (open → nearer extreme →
//!   other extreme → close) one point at a time and the core reacts after each point: a
//!   protective fill at the low can be followed by its take-profit at the high of the same
//!   candle when the path goes that way — and never otherwise.
//! - **Fill model** ([`FillModel`]): by default a resting limit order fills only when the path
//!   trades *through* its price by at least one tick (then completely; a touch fills nothing —
//!   conservative, since a real queue is not reached by every touch); `Touch` fills on the
//!   touch. Maker and taker fees as configured (Bybit's base tier by default); market orders
//!   fill against the simulator's book `slippage` worse.
//! - **Funding** every 8 hours, from a constant rate or a funding-history file per symbol.
//! - **Liquidation** at the simulator's liquidation price: the run records it and stops, as
//!   Bybit would stop the account.
//! - **Warm-up.** The progressive plan locks from the daily ATR exactly as live locks it: from
//!   the daily candles of the history before the start (resampled from the data's minutes). A
//!   run without enough history says how much it needs.
//! - Several symbols of one account share one wallet and margin.
//! - **Reproducible**: no clock, no randomness, ordered maps; the same inputs give the same
//!   `result.json`, bit for bit.
//!
//! ```no_run
//! use gridbot_backtest::{BacktestSettings, MarketData, Window, run, spec_of};
//! // Symbols, grids and risk, as the account file says (its secrets are not needed).
//! let account = gridbot_config::load_account_for_backtest("config/backtest-example.yaml".as_ref())?;
//! let spec = spec_of(&account);
//! let symbol = spec.symbols[0].symbol.clone();
//! let data = MarketData::load(&[(symbol, "data/btc_1m.csv.gz".into())])?;
//! let result = run(&spec, &data, &BacktestSettings::default(), Window::default(), &mut |_| {})?;
//! println!("net {:.2} USDT, max drawdown {:.1}%", result.metrics.net_pnl, result.metrics.max_drawdown.depth * 100.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod account;
pub mod data;
pub mod metrics;
pub mod record;
pub mod report;
pub mod run;
pub mod settings;

pub use account::{settings_of, spec_of};
pub use data::{DataError, Gap, MarketData, Series, symbol_of};
pub use metrics::Metrics;
pub use record::{BacktestRun, EquityPoint, Trade};
pub use run::{
    AccountSpec, BacktestError, Progress, RunOptions, Window, iso, resolve_window, run, run_with, warm_up_days,
};
pub use settings::{BacktestSettings, FillModel, Funding};
