//! # gridbot-engine
//!
//! The live shell around gridbot-strategy's one trading core: everything that is threads,
//! sockets and files.
//!
//! - [`queue`]: the per-account priority queue (executions > orders > positions > market data).
//! - [`account`]: `TradingAccount`, one account's event worker: it feeds its `AccountCore` and
//!   carries out the core's effects (orders through the shared executor, alerts, journal rows,
//!   snapshots), with the emergency-stop flag before every request.
//! - [`bot`]: `MultiAccountBot`, every account of a bot file with shared public streams.
//! - [`config`]: the bot and account YAML files, validated with `file:line` errors.
//! - [`alerts`]: log lines and rate-limited Telegram messages that never block trading.
//! - [`persist`]: the per-account thread that writes the snapshot and the journal.
//! - [`operator`]: the emergency-stop and resume files, and the status read from an
//!   account's files.
//!
//! No decision about a trade is made here: see gridbot-strategy.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod account;
pub mod alerts;
pub mod bot;
pub mod clock;
pub mod latency;
pub mod log_context;
pub mod operator;
pub mod persist;
pub mod queue;

/// The configuration files (gridbot-config), re-exported: the live shell's paths stay.
pub use gridbot_config as config;

pub use account::{AccountSummary, TradingAccount};
pub use bot::{BotError, BotOptions, MultiAccountBot};
pub use queue::{Event, EventQueue, Popped, QueuedEvent, StreamNews};
