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
