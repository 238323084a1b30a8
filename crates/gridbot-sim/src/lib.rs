//! # gridbot-sim
//!
//! A deterministic exchange for USDT linear perpetuals that behaves like Bybit v5 wherever a
//! grid bot depends on the behaviour: limit/market/PostOnly/IOC/FOK and reduce-only orders,
//! hedge and one-way modes, partial fills, maker/taker fees, positions with average price and
//! realised PnL, cross margin with IM/MM rates and liquidation, funding.
//!
//! The market is a candle replay: each candle's price walks open → nearer extreme → other
//! extreme → close ([`candle_path`]), and resting orders fill as the walk trades through them.
//! Ordered maps, no wall clock, no randomness: the same candles and orders give the same fills.
//!
//! In-process, as a backtest uses it (the same engine serves Bybit's REST and WebSocket
//! protocol on loopback for paper trading, [`server`]):
//!
//! ```
//! use std::collections::BTreeMap;
//! use gridbot_core::reference::bybit_btcusdt;
//! use gridbot_core::{Decimal, Exchange, OrderRequest, PositionIdx, PositionMode, Side, Symbol, TimeInForce};
//! use gridbot_sim::{CandleReplay, MatchingEngine, SimConfig, SimExchange};
//!
//! let btc = Symbol::new("BTCUSDT")?;
//! let sim = SimExchange::new(MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]), CandleReplay::new(60_000, BTreeMap::new()));
//! let ex = sim.account(sim.add_account(Decimal::from(10_000)));
//! sim.with_engine(|e| e.move_price(&btc, "30000".parse().expect("a price")));
//! ex.set_position_mode(&btc, PositionMode::Hedge)?;
//! let buy = OrderRequest::limit(btc.clone(), Side::Buy, "0.01".parse()?, "29900".parse()?, TimeInForce::PostOnly,
//!     PositionIdx::Long, "doc-1".parse()?);
//! ex.place(&buy)?;
//! sim.with_engine(|e| e.move_price(&btc, "29899.9".parse().expect("a price"))); // trades through it
//! let long = ex.positions(&btc)?.into_iter().find(|p| p.position_idx == PositionIdx::Long).expect("a long row");
//! assert_eq!(long.size.to_string(), "0.01");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![recursion_limit = "256"]
#![forbid(unsafe_code)]

mod account;
mod config;
mod engine;
mod error;
mod file_config;
mod inproc;
mod path;
mod replay;
pub mod serve;
pub mod server;
pub mod state;

pub use account::{Account, Margin, SimPosition, SymbolAccount};
pub use config::{FundingPoint, SimConfig};
pub use engine::{AccountId, Levels, MONEY_DP, MatchingEngine, SimEvent};
pub use error::SimError;
pub use file_config::{SimFileError, SimSetup, load_sim_file};
pub use inproc::{SimAccount, SimExchange};
pub use path::candle_path;
pub use replay::{CandleReplay, QuietEnd, QuietWalk, ReplayPosition, align_price_scales};

#[cfg(test)]
mod engine_tests;
