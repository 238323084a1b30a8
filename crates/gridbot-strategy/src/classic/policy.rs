//! The classic grid's settings and its recentring policy (pure functions).

use std::collections::VecDeque;

use gridbot_core::{Decimal, Price, Qty};
use gridbot_grid::{Bias, ClassicLayout, ClassicParams, ClassicPlan, Progression};
use gridbot_state::ClassicState;

use crate::reasons::RecentreReason;

/// Where the levels go; `AroundMarket` centres on the mid when the grid is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayoutSpec {
    /// `levels` levels from `lower` to `upper`.
    Bounds {
        /// Lowest level.
        lower: Price,
        /// Highest level.
        upper: Price,
        /// Number of levels.
        levels: u32,
    },
    /// Levels from `lower` every `spacing` up to `upper`.
    BoundsBySpacing {
        /// Lowest level.
        lower: Price,
        /// Upper bound.
        upper: Price,
        /// Spacing fraction.
        spacing: f64,
    },
    /// `levels_per_side` levels each side of the mid, `spacing` apart.
    AroundMarket {
        /// Spacing fraction.
        spacing: f64,
        /// Levels per side.
        levels_per_side: u32,
    },
    /// `levels` levels between the Bollinger bands of `interval` (`period` samples, `k`
    /// standard deviations), taken when the grid is built and at every recentre.
    Bollinger {
        /// Samples in the band.
        period: u32,
        /// Standard deviations either side of the mean.
        k: f64,
        /// The sampling interval.
        interval: gridbot_core::Interval,
        /// Number of levels.
        levels: u32,
    },
}

/// A fast move: the mid moved by `move_fraction` within `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PumpDump {
    /// Window, ms.
    pub window_ms: i64,
    /// Move, fraction.
    pub move_fraction: f64,
}

/// When to rebuild the grid around the market.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RecentrePolicy {
    /// The mid is beyond the outer levels by more than this fraction.
    pub max_deviation: Option<f64>,
    /// The generation is older than this, ms.
    pub max_age_ms: Option<i64>,
    /// Every slot is on one side (all buys or all sells): the market left the range.
    pub one_sided: bool,
    /// A fast pump or dump.
    pub pump_dump: Option<PumpDump>,
}

/// What a classic grid may do beyond its levels — each off unless configured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClassicOptions {
    /// Entry trigger: the first generation is built only once the mid crosses this price from
    /// the side it was on when the grid began waiting.
    pub trigger_price: Option<Price>,
    /// Take-profit by price: when the mid reaches it (from the side the generation was built
    /// on), everything is closed and the grid stops until an operator resumes it.
    pub take_profit_price: Option<Price>,
    /// Stop-loss by price: as the take-profit by price.
    pub stop_loss_price: Option<Price>,
    /// Trailing up: when the mid rises above the top level, the grid moves up by whole levels
    /// (keeping its spacing and its inventory) as far as this price for its top level.
    pub trailing_up_limit: Option<Price>,
    /// Trailing down: the mirror, as far as this price for its bottom level.
    pub trailing_down_limit: Option<Price>,
}

/// True when `mid` has reached `price`, coming from `reference` (the side it started on).
#[must_use]
pub fn reached(price: Price, reference: Price, mid: Price) -> bool {
    if price >= reference { mid >= price } else { mid <= price }
}

/// Everything a classic grid is configured with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassicSettings {
    /// Levels.
    pub layout: LayoutSpec,
    /// Arithmetic or geometric.
    pub progression: Progression,
    /// Neutral, long or short.
    pub bias: Bias,
    /// Size per level.
    pub qty_per_level: Qty,
    /// Whole-grid take-profit, fraction of the grid's notional.
    pub take_profit: Option<f64>,
    /// Whole-grid stop-loss, fraction of the grid's notional.
    pub stop_loss: Option<f64>,
    /// Recentring.
    pub recentre: RecentrePolicy,
    /// How long a partly filled level may wait, ms.
    pub partial_fill_timeout_ms: i64,
    /// Entry trigger, take-profit and stop-loss by price.
    pub options: ClassicOptions,
}

impl ClassicSettings {
    /// The plan's parameters for a grid built at `mid`; `previous` keeps a bounds layout's
    /// width when recentring.
    #[must_use]
    pub fn params_at(&self, mid: Price, previous: Option<&ClassicPlan>) -> ClassicParams {
        let layout = match (self.layout, previous) {
            (LayoutSpec::AroundMarket { spacing, levels_per_side }, _) => {
                ClassicLayout::Centre { centre: mid, spacing, levels_per_side }
            }
            (LayoutSpec::Bounds { lower, upper, levels }, None) => ClassicLayout::Bounds { lower, upper, levels },
            (LayoutSpec::BoundsBySpacing { lower, upper, spacing }, None) => {
                ClassicLayout::BoundsBySpacing { lower, upper, spacing }
            }
            (LayoutSpec::Bounds { lower, upper, levels }, Some(p)) => {
                let (lower, upper) = shifted(lower, upper, p.reference_price(), mid);
                ClassicLayout::Bounds { lower, upper, levels }
            }
            (LayoutSpec::BoundsBySpacing { lower, upper, spacing }, Some(p)) => {
                let (lower, upper) = shifted(lower, upper, p.reference_price(), mid);
                ClassicLayout::BoundsBySpacing { lower, upper, spacing }
            }
            // The grid resolves the bands into `Bounds` before it builds; without them there is
            // no range (an empty one, which the plan refuses).
            (LayoutSpec::Bollinger { levels, .. }, _) => ClassicLayout::Bounds { lower: mid, upper: mid, levels },
        };
        ClassicParams {
            layout,
            progression: self.progression,
            bias: self.bias,
            qty_per_level: self.qty_per_level,
            take_profit: self.take_profit,
            stop_loss: self.stop_loss,
        }
    }
}

/// Bounds moved by the ratio `mid / reference`.
fn shifted(lower: Price, upper: Price, reference: Price, mid: Price) -> (Price, Price) {
    let ratio = mid.as_decimal().checked_div(reference.as_decimal()).unwrap_or(Decimal::ONE);
    let scale = |p: Price| Price::new((p.as_decimal() * ratio).round_dp(8)).unwrap_or(p);
    (scale(lower), scale(upper))
}

/// Why the grid should be rebuilt now, if it should.
#[must_use]
pub fn recentre_reason(
    policy: &RecentrePolicy,
    state: &ClassicState,
    now_ms: i64,
    mid: Price,
    mids: &VecDeque<(i64, Price)>,
) -> Option<RecentreReason> {
    let levels = state.plan.levels();
    let (Some(low), Some(high)) = (levels.first(), levels.last()) else { return None };
    let m = mid.to_f64();
    if let Some(d) = policy.max_deviation {
        let (lo, hi) = (low.price.to_f64() * (1.0 - d), high.price.to_f64() * (1.0 + d));
        if m < lo || m > hi {
            return Some(RecentreReason::LeftRange { mid, low: lo, high: hi });
        }
    }
    if let Some(age) = policy.max_age_ms
        && now_ms - state.built_at_ms >= age
    {
        return Some(RecentreReason::Age { age_ms: now_ms - state.built_at_ms, limit_ms: age });
    }
    if policy.one_sided && !state.slots.is_empty() {
        let first = state.slots[0].side;
        if state.slots.iter().all(|s| s.side == first) {
            return Some(RecentreReason::OneSided(first));
        }
    }
    if let Some(pd) = policy.pump_dump
        && let Some((_, then)) = mids.iter().find(|(t, _)| now_ms - t <= pd.window_ms)
    {
        let moved = (m - then.to_f64()) / then.to_f64();
        if moved.abs() >= pd.move_fraction {
            return Some(RecentreReason::FastMove { moved, window_ms: pd.window_ms });
        }
    }
    None
}
