//! # gridbot-grid
//!
//! Volatility and grid math: pure functions of candles and parameters, no I/O, no clock.
//!
//! - [`volatility`]: true range, ATR%, pandas-exact EMAs (`adjust=True` and `False`), Wilder ATR.
//! - [`GridPlan`]: the progressive grid's locked parameters (`base_step`, level distances,
//!   quantities, take-profit) and the orders they give around a cycle's anchor price.
//! - [`desired_orders`]: the orders a progressive leg needs resting, shared by the strategy and
//!   crash recovery.
//! - [`ClassicPlan`]: arithmetic and geometric range grids, by bounds or around a centre,
//!   with named [`Profile`]s and optional ATR spacing.
//!
//! Statistics are `f64`; every price and quantity that leaves this crate is an exact decimal
//! rounded by the instrument (buys floor, sells ceil, sizes floor) and checked against its
//! filters, with a typed [`GridError`] naming the level that does not fit.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod checks;
mod classic;
mod desired;
mod error;
mod progressive;
pub mod volatility;

pub use checks::FRACTION_DP;
pub use classic::{Bias, ClassicLayout, ClassicLevel, ClassicParams, ClassicPlan, Profile, Progression, atr_spacing};
pub use desired::{DesiredOrder, LegPosition, desired_orders};
pub use error::GridError;
pub use progressive::{GridPlan, LevelOrder, ProgressiveParams, TakeProfitRule, average_entry};

#[cfg(test)]
mod tests;
