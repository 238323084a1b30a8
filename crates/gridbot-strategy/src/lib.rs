//! # gridbot-strategy
//!
//! The one trading core. Live trading, paper trading and backtests run the same code: the
//! grids, the risk engine before every command, the executor and reconciliation; only what
//! feeds events in and carries effects out differs.
//!
//! - [`grid`]: the progressive ([`progressive`]) and classic ([`classic`]) grids as
//!   deterministic state machines per symbol, both legs — a closed set ([`Grid`]).
//! - [`lifecycle`]: one order's state and its single transition table.
//! - [`AccountCore`]: everything an account decides, with no threads, files, sockets or
//!   clocks: `on_event(event, now_ms) -> Effects`.
//! - [`execute`]: the one executor, over the `Exchange` trait, with a gate before every request.
//! - [`reconcile`]: reconciliation jobs the core asks for and the I/O side runs.
//! - [`drive`]: the loop around the core that every mode runs.
//! - [`open_symbol`]: opening a symbol (instrument, leverage, plan, recovery).
//!
//! Nothing here reads a clock or a file: time is always passed in, so a replay at any speed
//! decides exactly as real time would.
//!
//! A progressive grid with both legs flat asks for one PostOnly balance order per leg, at the
//! touch:
//!
//! ```
//! use gridbot_core::reference::bybit_btcusdt;
//! use gridbot_core::{Side, TimeInForce};
//! use gridbot_grid::{GridPlan, ProgressiveParams};
//! use gridbot_risk::RiskDecision;
//! use gridbot_strategy::{Command, DecisionContext, MarketView, ProgressiveGrid, ProgressiveSettings};
//!
//! let params = ProgressiveParams::with_base_qty("0.001".parse()?);
//! let plan = GridPlan::from_atr_pct_ema(&params, 0.02, &bybit_btcusdt(), 0)?;
//! let mut grid = ProgressiveGrid::new("acc1", bybit_btcusdt(), plan, ProgressiveSettings::default(), 0);
//! let market = MarketView { bid: Some("30000".parse()?), ask: Some("30000.1".parse()?), ts_ms: 0 };
//! let decision = RiskDecision::default();
//! let commands = grid.commands(&DecisionContext { now_ms: 0, market: &market, decision: &decision });
//! let sides: Vec<Side> = commands
//!     .iter()
//!     .map(|c| match c {
//!         Command::Place { request, .. } => {
//!             assert_eq!(request.time_in_force, TimeInForce::PostOnly);
//!             request.side
//!         }
//!         other => panic!("{other:?}"),
//!     })
//!     .collect();
//! assert_eq!(sides, [Side::Buy, Side::Sell]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod classic;
pub mod command;
pub mod config;
pub mod core;
pub mod driver;
pub mod executor;
pub mod grid;
pub mod lifecycle;
pub mod market;
pub mod open;
pub mod progressive;
pub mod reasons;
pub mod reconcile;
pub mod records;
pub mod replay;
pub mod working;

#[cfg(test)]
mod test_orders;

pub use crate::core::{
    AccountCore, CoreEvent, CoreStart, CoreStats, Effect, Effects, HEARD_KEEP_MS, HeardExecutions, SymbolCore, Work,
};
pub use classic::{ClassicGrid, ClassicOptions, ClassicSettings, LayoutSpec, PumpDump, RecentrePolicy};
pub use command::{Command, Outcome};
pub use driver::{Carried, CoreTape, SentBatch, Venue, checked_snapshot, drive};
pub use executor::execute;
pub use grid::{Applied, Calm, DecisionContext, Grid, GridEvent, Note, StrategyStats};
pub use gridbot_grid::Profile;
pub use market::MarketView;
pub use open::{
    OpenError, OpenedSymbol, SymbolRecovery, check_symbols, classic_changes, missed_fills, open_symbol, plan_changes,
};
pub use progressive::{FundingGuard, FundingView, ProgressiveGrid, ProgressiveSettings};
pub use reasons::{RecentreReason, RecentreRefused, ReconcileReason};
pub use reconcile::{ClassicSync, ReconcileJob, ReconcileOutcome, Reconciled};
pub use records::{Alert, AlertKind, EventKind, GridChange, JournalRecord};
