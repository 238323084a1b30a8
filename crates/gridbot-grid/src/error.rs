//! Typed errors for grid construction. Every variant names the level and the values involved,
//! so a config error can say exactly which level of which plan is impossible and why.

use gridbot_core::{Decimal, Price, Qty};

/// Why a grid plan cannot be built or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    /// A parameter is out of its domain.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Parameter name as in the config.
        name: &'static str,
        /// What was expected.
        reason: String,
    },
    /// Not enough candles for the requested statistics.
    #[error("need at least {needed} candles, got {got}")]
    NotEnoughCandles {
        /// Required.
        needed: usize,
        /// Available.
        got: usize,
    },
    /// A grid needs at least two levels.
    #[error("a grid needs at least 2 levels, got {got}")]
    TooFewLevels {
        /// Levels produced.
        got: usize,
    },
    /// A level would sit at or below zero.
    #[error("level {level} crosses zero (distance {distance} of the anchor)")]
    LevelCrossesZero {
        /// The level.
        level: u32,
        /// Its distance from the anchor as a fraction.
        distance: Decimal,
    },
    /// A level is outside the instrument's price band.
    #[error("level {level} price {price} is outside the instrument's [{min}, {max}]")]
    PriceOutOfBounds {
        /// The level.
        level: u32,
        /// Its price.
        price: Price,
        /// Instrument minimum.
        min: Price,
        /// Instrument maximum.
        max: Price,
    },
    /// Two levels round to the same price, or go the wrong way.
    #[error("level {level} price {price} is not beyond level {} price {previous}: levels must be strictly monotone (spacing below the tick?)", level - 1)]
    NonMonotone {
        /// The level.
        level: u32,
        /// Its price.
        price: Price,
        /// The previous level's price.
        previous: Price,
    },
    /// A quantity rounds below the instrument's minimum.
    #[error("level {level} quantity {qty} is below the minimum order quantity {min}")]
    QtyBelowMinimum {
        /// The level.
        level: u32,
        /// Rounded quantity.
        qty: Qty,
        /// Minimum.
        min: Qty,
    },
    /// A quantity exceeds the instrument's maximum.
    #[error("level {level} quantity {qty} is above the maximum order quantity {max}")]
    QtyAboveMaximum {
        /// The level.
        level: u32,
        /// Rounded quantity.
        qty: Qty,
        /// Maximum.
        max: Qty,
    },
    /// `price × qty` is below the instrument's minimum notional.
    #[error("level {level} notional {notional} is below the minimum notional {min}")]
    NotionalBelowMinimum {
        /// The level.
        level: u32,
        /// `price × qty`.
        notional: Decimal,
        /// Minimum.
        min: Decimal,
    },
    /// Decimal arithmetic overflowed (absurd sizes, e.g. a 2ⁿ martingale far too deep).
    #[error("arithmetic overflow computing {what} at level {level}")]
    Overflow {
        /// What was being computed.
        what: &'static str,
        /// The level.
        level: u32,
    },
    /// A locked plan does not match the instrument it is used with.
    #[error("plan was locked for {locked}, instrument is {found}")]
    InstrumentMismatch {
        /// What the plan was locked with.
        locked: String,
        /// What it is being used with.
        found: String,
    },
    /// A stored plan is inconsistent (edited by hand, or corrupted).
    #[error("stored plan is invalid: {0}")]
    CorruptPlan(String),
}
