//! # gridbot-core
//!
//! The domain types every gridbot crate shares, and the two seams the rest of the workspace is
//! generic over: [`Exchange`] (Bybit client or simulator) and [`Clock`] (wall clock, manual
//! clock, replay clock).
//!
//! - [`Price`] and [`Qty`]: exact, non-negative decimals; never an `f64` on an order.
//! - [`Instrument`]: the exchange's filters and the one place prices and sizes are rounded
//!   (buys floor, sells ceil, sizes floor) and orders validated before they are sent.
//! - Bybit linear enums spelled as on the wire ([`Side`], [`OrderStatus`], [`PositionIdx`], ...).
//! - [`OrderRequest`], [`Order`], [`Execution`], [`Position`], [`Wallet`], [`Ticker`],
//!   [`Candle`], [`Interval`].
//!
//! This crate reads no files (candle files: `gridbot-data`) and no network, and reads the wall
//! clock only inside [`SystemClock`]; [`fs::write_atomic`] is the one file helper it offers.
//!
//! ```
//! use gridbot_core::reference::bybit_btcusdt;
//! use gridbot_core::{Price, Qty, Side};
//!
//! let btc = bybit_btcusdt(); // tick 0.10, qty step 0.001
//! let p: Price = "65000.07".parse()?;
//! // Buys round down to the tick, sells up: a limit never ends up more aggressive.
//! assert_eq!(btc.round_price(Side::Buy, p), "65000.0".parse::<Price>()?);
//! assert_eq!(btc.round_price(Side::Sell, p), "65000.1".parse::<Price>()?);
//! let q: Qty = "0.0019".parse()?;
//! assert_eq!(btc.round_qty(q).to_string(), "0.001");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod account;
mod candle;
mod enums;
mod environment;
mod exchange;
pub mod fs;
mod ids;
mod instrument;
mod market;
mod num;
mod order;
pub mod reference;
pub mod time;
pub mod yaml;

pub use account::{CoinBalance, Execution, Position, Wallet};
pub use candle::{Candle, Interval, OhlcSeries};
pub use enums::{
    CancelType, ExecType, Leg, OrderRole, OrderStatus, OrderType, PositionIdx, PositionMode, PositionStatus,
    RejectReason, Side, TimeInForce, UnknownEnumValue,
};
pub use environment::Environment;
pub use exchange::{ErrorAction, ErrorDetail, Exchange, ExchangeError, KlineQuery, TimeWindow};
pub use ids::{InvalidId, OrderLinkId, Symbol};
pub use instrument::{Instrument, InstrumentSpec, InvalidInstrument, OrderRejection};
pub use market::{BookLevel, FundingRate, OrderBookTop, PublicTrade, Ticker};
pub use num::{Price, Qty, USDT_DP, ValueError, decimal_to_f64, usdt};
pub use order::{Order, OrderAck, OrderRef, OrderRequest};
pub use time::{Clock, ManualClock, SystemClock};

/// Re-exported so users of the money types need not pin `rust_decimal` themselves.
pub use rust_decimal::Decimal;
