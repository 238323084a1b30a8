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
//! - [`doctor`]: the read-only preflight of `gridbot doctor`.
//! - [`operator`]: the emergency-stop and resume files, and the status read from an
//!   account's files.
//!
//! No decision about a trade is made here: see gridbot-strategy.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use gridbot_engine::queue::{Event, EventQueue, Popped};
//! use gridbot_core::Symbol;
//!
//! // A book top and then a fill arrive; the account's worker hears the fill first.
//! let queue = EventQueue::new();
//! let btc = Symbol::new("BTCUSDT")?;
//! queue.push(Event::Book { symbol: btc, bid: None, ask: None, ts_ms: 1 }, Instant::now());
//! queue.push(Event::Executions(Vec::new()), Instant::now());
//! let Popped::Event(first) = queue.pop(Duration::ZERO) else { panic!("queued") };
//! assert!(matches!(first.event, Event::Executions(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod account;
pub mod alerts;
pub mod bot;
pub mod chat;
pub mod clock;
pub mod doctor;
pub mod latency;
pub mod live;
pub mod log_context;
pub mod operator;
mod outbox;
pub mod persist;
pub mod queue;
pub mod webhook;

/// The configuration files (gridbot-config), re-exported: the live shell's paths stay.
pub use gridbot_config as config;

pub use account::{AccountSummary, TradingAccount};
pub use bot::{BotError, BotOptions, MultiAccountBot};
pub use queue::{Event, EventQueue, Popped, QueuedEvent, StreamNews};
