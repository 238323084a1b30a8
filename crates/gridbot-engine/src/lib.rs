//! # gridbot-engine
//!
//! Where the library crates become a trading bot (DESIGN §4, §6):
//!
//! - [`strategy`]: the progressive and classic grids as deterministic `apply → commands` state
//!   machines per symbol, both legs, consulting the risk decision before every command.
//! - [`queue`]: the per-account priority queue (executions > orders > positions > market data).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod command;
pub mod config;
pub mod queue;
pub mod strategy;

pub use command::{Command, Outcome};
pub use queue::{Envelope, Event, EventQueue, Popped};
