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
//!
//! ```
//! use gridbot_core::reference::bybit_btcusdt;
//! use gridbot_core::{Leg, Price};
//! use gridbot_grid::{GridPlan, ProgressiveParams};
//!
//! let btc = bybit_btcusdt();
//! let params = ProgressiveParams { max_levels: 4, ..ProgressiveParams::with_base_qty("0.001".parse()?) };
//! // From an EMA of daily ATR% of 2.5%: base_step = 0.025 · sqrt(horizon) · step_scale_factor.
//! let plan = GridPlan::from_atr_pct_ema(&params, 0.025, &btc, 0)?;
//! let anchor: Price = "60000".parse()?;
//! let first = plan.level_price(Leg::Long, anchor, 1, &btc)?;
//! let second = plan.level_price(Leg::Long, anchor, 2, &btc)?;
//! assert!(second < first && first < anchor, "the long leg averages down");
//! // Quantities double per level (qty_multiplier 2): 0.001, 0.002, 0.004, ...
//! assert_eq!(plan.quantities()[2].to_string(), "0.004");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
pub use desired::{DesiredOrder, LegPosition, TakeProfitLadder, Tranche, desired_orders};
pub use error::GridError;
pub use progressive::{GridPlan, LevelOrder, ProgressiveParams, TakeProfitRule, average_entry};
/// How the instrument's rounding is chosen (buys floor, sells ceil, sizes floor); re-exported
/// for callers that round their own figures the same way.
pub use rust_decimal::RoundingStrategy;
pub use volatility::EmaKind;

#[cfg(test)]
mod tests;
