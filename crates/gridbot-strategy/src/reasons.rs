//! Why a symbol is reconciled with the exchange, and why a classic grid is rebuilt — typed, so
//! callers match on them and logs, alerts and the journal print them the same way.

use gridbot_core::{ExchangeError, Leg, OrderLinkId, Price, Qty, Side};
use gridbot_risk::RiskLevel;

/// Why the account asks the exchange what is true for a symbol.
#[derive(Debug, Clone, PartialEq)]
pub enum ReconcileReason {
    /// A place that may have reached the exchange, or a failed cancel, stayed unexplained.
    Unexplained {
        /// The order.
        link_id: OrderLinkId,
        /// For how long, ms.
        for_ms: i64,
    },
    /// The exchange answered a place with an error that means "look again" (e.g. a duplicate id).
    PlaceRefused {
        /// The order.
        link_id: OrderLinkId,
        /// The answer.
        error: Box<ExchangeError>,
    },
    /// A cancel-all failed.
    CancelAllFailed {
        /// The answer.
        error: Box<ExchangeError>,
    },
    /// A fill of one of our orders that the strategy does not track.
    UntrackedFill {
        /// The order.
        link_id: String,
    },
    /// A late fill of an ended order is larger than its leg.
    LateFillExceedsLeg {
        /// The order.
        link_id: String,
    },
    /// An exit fill is larger than its leg.
    ExitExceedsLeg {
        /// The order.
        link_id: String,
        /// The fill.
        qty: Qty,
        /// The leg.
        leg: Leg,
    },
    /// An order of a cycle that already ended filled (before its cancel).
    EndedCycleFilled {
        /// The order.
        link_id: OrderLinkId,
        /// Its cycle.
        cycle: u32,
    },
    /// A protective order filled on a leg that has no anchor.
    NoAnchor {
        /// The order.
        link_id: OrderLinkId,
    },
    /// The exchange's positions disagree with the strategy's legs for longer than the grace.
    PositionsDisagree,
    /// The emergency stop was lifted: fills and cancels may have happened meanwhile.
    EmergencyStopLifted,
    /// The private stream reconnected: events may have been missed.
    StreamReconnected,
    /// The state would not pass the snapshot's own checks.
    InconsistentState {
        /// What is wrong.
        problem: String,
    },
}

impl std::fmt::Display for ReconcileReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unexplained { link_id, for_ms } => write!(f, "{link_id} unexplained for {} s", for_ms / 1000),
            Self::PlaceRefused { link_id, error } => write!(f, "placing {link_id}: {error}"),
            Self::CancelAllFailed { error } => write!(f, "cancel-all: {error}"),
            Self::UntrackedFill { link_id } => write!(f, "fill of untracked order {link_id}"),
            Self::LateFillExceedsLeg { link_id } => write!(f, "late fill of {link_id} exceeds the leg"),
            Self::ExitExceedsLeg { link_id, qty, leg } => {
                write!(f, "{link_id}: exit {qty} larger than the {leg:?} leg")
            }
            Self::EndedCycleFilled { link_id, cycle } => write!(f, "{link_id} of the ended cycle {cycle} filled"),
            Self::NoAnchor { link_id } => write!(f, "{link_id} filled on a leg without an anchor"),
            Self::PositionsDisagree => f.write_str("positions disagree with the strategy"),
            Self::EmergencyStopLifted => f.write_str("emergency stop lifted"),
            Self::StreamReconnected => f.write_str("private stream reconnected"),
            Self::InconsistentState { problem } => write!(f, "inconsistent state: {problem}"),
        }
    }
}

/// Why a classic grid is (re)built.
#[derive(Debug, Clone, PartialEq)]
pub enum RecentreReason {
    /// The first build.
    Start,
    /// At start, the exchange disagreed with the snapshot (or there was none) and the grid
    /// held inventory.
    ExchangeDisagrees,
    /// The whole-grid stop-loss: the grid stops until an operator resumes it.
    StopLoss {
        /// The grid's PnL, fraction of its notional.
        pnl: f64,
        /// The limit.
        limit: f64,
    },
    /// The whole-grid take-profit.
    TakeProfit {
        /// The grid's PnL, fraction of its notional.
        pnl: f64,
        /// The target.
        target: f64,
    },
    /// A risk level closed a leg.
    RiskClose(RiskLevel),
    /// The mid left the range by more than the allowed deviation.
    LeftRange {
        /// The mid.
        mid: Price,
        /// Lower bound with the deviation.
        low: f64,
        /// Upper bound with the deviation.
        high: f64,
    },
    /// The generation is older than the limit.
    Age {
        /// Its age, ms.
        age_ms: i64,
        /// The limit, ms.
        limit_ms: i64,
    },
    /// Every level is on one side: the market left the range.
    OneSided(Side),
    /// A fast pump or dump.
    FastMove {
        /// The move, fraction.
        moved: f64,
        /// Within this window, ms.
        window_ms: i64,
    },
    /// An operator resumed a stopped grid.
    Resumed,
    /// An operator asked for a recentre (`gridbot recentre`, the dashboard), possibly with a
    /// new profile.
    Operator {
        /// The profile the grid takes from now on, if one was asked for.
        profile: Option<gridbot_grid::Profile>,
    },
    /// The mid reached the take-profit price: everything is closed and the grid stops.
    TakeProfitPrice {
        /// The mid.
        mid: Price,
        /// The take-profit price.
        price: Price,
    },
    /// The mid reached the stop-loss price: everything is closed and the grid stops.
    StopLossPrice {
        /// The mid.
        mid: Price,
        /// The stop-loss price.
        price: Price,
    },
    /// The mid left the range and a trailing grid follows it by whole levels, keeping its
    /// inventory (nothing is closed).
    Trail {
        /// Levels moved: up when positive.
        by: i32,
        /// The mid.
        mid: Price,
    },
    /// The mid crossed the entry trigger price: the first generation is built.
    Triggered {
        /// The trigger price.
        price: Price,
    },
    /// A rebuild a restart interrupted (after its cancels or closes, before the new grid),
    /// finished.
    Interrupted {
        /// Why it was started.
        was: String,
        /// It ends with the grid stopped (a stop-loss).
        stops: bool,
        /// It keeps the inventory (a trailing shift).
        keeps: bool,
    },
}

impl RecentreReason {
    /// True when the rebuild keeps the inventory instead of closing it (a trailing shift).
    #[must_use]
    pub const fn keeps_inventory(&self) -> bool {
        matches!(self, Self::Trail { .. } | Self::Interrupted { keeps: true, .. })
    }

    /// True when the grid stops after closing instead of being rebuilt.
    #[must_use]
    pub const fn stops_the_grid(&self) -> bool {
        matches!(
            self,
            Self::StopLoss { .. }
                | Self::TakeProfitPrice { .. }
                | Self::StopLossPrice { .. }
                | Self::Interrupted { stops: true, .. }
        )
    }
}

impl std::fmt::Display for RecentreReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Start => f.write_str("start"),
            Self::ExchangeDisagrees => {
                f.write_str("start: the exchange disagrees with the snapshot (or there is none)")
            }
            Self::StopLoss { pnl, limit } => {
                write!(f, "stop-loss: grid PnL {:.3}% ≤ −{:.3}%", pnl * 100.0, limit * 100.0)
            }
            Self::TakeProfit { pnl, target } => {
                write!(f, "take-profit: grid PnL {:.3}% ≥ {:.3}%", pnl * 100.0, target * 100.0)
            }
            Self::RiskClose(level) => write!(f, "risk close ({level})"),
            Self::LeftRange { mid, low, high } => write!(f, "mid {mid} left the range [{low:.8}, {high:.8}]"),
            Self::Age { age_ms, limit_ms } => write!(f, "grid is {age_ms} ms old (limit {limit_ms})"),
            Self::OneSided(side) => write!(f, "every level is a {side:?}: the market left the range"),
            Self::FastMove { moved, window_ms } => write!(f, "{:+.3}% within {window_ms} ms", moved * 100.0),
            Self::Resumed => f.write_str("resumed by the operator"),
            Self::Operator { profile: None } => f.write_str("recentred by the operator"),
            Self::Operator { profile: Some(p) } => {
                write!(f, "recentred by the operator with the {} profile", p.name())
            }
            Self::TakeProfitPrice { mid, price } => write!(f, "take-profit price {price} reached (mid {mid})"),
            Self::StopLossPrice { mid, price } => write!(f, "stop-loss price {price} reached (mid {mid})"),
            Self::Triggered { price } => write!(f, "the mid crossed the entry trigger {price}"),
            Self::Trail { by, mid } => {
                let way = if *by > 0 { "up" } else { "down" };
                write!(f, "trailing {way} by {} level(s): mid {mid} left the range", by.unsigned_abs())
            }
            Self::Interrupted { was, .. } => write!(f, "finishing the rebuild a restart interrupted ({was})"),
        }
    }
}

/// Why an operator's recentre was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecentreRefused {
    /// Progressive plans are locked until their legs are flat.
    #[error("only classic grids recentre: a progressive grid's plan is locked until its legs are flat")]
    Progressive,
    /// The classic grid's stop-loss stopped it.
    #[error("the grid is stopped by its stop-loss: resume restarts it")]
    Stopped,
    /// One rebuild at a time.
    #[error("a rebuild is already under way ({0})")]
    UnderWay(RecentreReason),
}
