//! # gridbot-state
//!
//! Durable state of one account, in two parts with different jobs:
//!
//! - [`SnapshotStore`]: a small JSON file replaced atomically after every fill — the locked grid
//!   plans, cycle counters, levels, anchors, risk memory and the last execution processed — so a
//!   restart is fast. Schema-versioned and migrated; a bad file is moved aside and the account
//!   is rebuilt from the exchange, which is always the source of truth.
//! - [`Journal`]: an SQLite database (WAL) of orders, executions, positions, equity, grid history
//!   and events — the history behind PnL reports and the dashboard.
//!
//! ```
//! use gridbot_state::{AccountSnapshot, Loaded, SnapshotStore};
//!
//! let dir = std::env::temp_dir().join(format!("gridbot-state-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let store = SnapshotStore::new(&dir, "main");
//! store.save(&AccountSnapshot::new("main", 1_700_000_000_000))?; // temp file, fsync, rename
//! match store.load(1_700_000_001_000)? {
//!     Loaded::Snapshot { snapshot, .. } => assert_eq!(snapshot.account, "main"),
//!     other => panic!("{other:?}"),
//! }
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod journal;
mod snapshot;

pub use journal::{
    GridHistoryRow, Journal, JournalError, JournalEvent, JournalFill, JournalTrade, PnlSince, PositionReading, Refusal,
    TradeFilter, WalletReading,
};
pub use snapshot::{
    AccountSnapshot, ClassicSlot, ClassicState, EntryTrigger, InvalidSnapshot, LegProblem, LegState, Loaded,
    Rebuilding, RiskAlertMemory, SCHEMA_VERSION, SnapshotError, SnapshotStore, SymbolState, TrackedOrder,
};

#[cfg(test)]
mod tests;
