//! # gridbot-engine
//!
//! Where the library crates become a trading bot (DESIGN §4, §6):
//!
//! - [`strategy`]: the progressive and classic grids as deterministic `apply → commands` state
//!   machines per symbol, both legs, consulting the risk decision before every command.
//! - [`queue`]: the per-account priority queue (executions > orders > positions > market data).
//! - [`executor`]: commands over REST, in order, never while the emergency stop is on.
//! - [`account`]: `TradingAccount`, one account's event worker (risk before every command,
//!   persistence after every fill, reconciliation, operator files).
//! - [`bot`]: `MultiAccountBot`, every account of a bot file with shared public streams.
//! - [`config`]: the bot and account YAML files, validated with `file:line` errors.
//! - [`alerts`]: log lines and rate-limited Telegram messages that never block trading.
//! - [`persist`]: the per-account thread that writes the snapshot and the journal.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod account;
pub mod alerts;
pub mod bot;
pub mod clock;
pub mod command;
pub mod config;
pub mod demo;
pub mod executor;
pub mod log_context;
pub mod operator;
pub mod persist;
pub mod queue;
pub mod strategy;

pub use account::{AccountSummary, TradingAccount};
pub use bot::{BotError, BotOptions, MultiAccountBot};

pub use command::{Command, Outcome};
pub use queue::{Envelope, Event, EventQueue, Popped};
