//! The progressive grid plan (ARCHITECTURE §4), computed once and then locked.
//!
//! ```text
//! base_step   = EMA_span(ATR%) · sqrt(horizon_days) · step_scale_factor      (a fraction)
//! distance(n) = Σ_{k=1..n} base_step · sqrt(k)                               (distance(0) = 0)
//! long  leg level n: anchor · (1 − distance(n)), a buy,  floored to the tick
//! short leg level n: anchor · (1 + distance(n)), a sell, ceiled to the tick
//! qty(n)      = base_qty · qty_multiplier^n   (multiplier 2: the martingale), floored to the step
//! take-profit = average entry · (1 ± take_profit fraction), a reduce-only exit
//! ```
//!
//! Decisions:
//! - **Locked.** `GridPlan` has no setters and no "recompute"; a restart loads it from state.
//!   Building a new one is an explicit `GridPlan::build` call. Its serde form is validated on
//!   load (`try_from`), so a hand-edited or corrupted state file is a typed error, not a plan.
//! - **Exact after the statistics.** The volatility figure is `f64`; `base_step`, the level
//!   distances and the take-profit fraction are converted once to `Decimal` with 12 places
//!   ([`crate::FRACTION_DP`]) and every price after that is exact decimal arithmetic, so the same
//!   plan and anchor give the same orders on every machine and after every reload.
//! - **Level 0 is the balance (entry) order** at the anchor; levels 1..=max_levels are the
//!   protective (averaging) orders. The anchor moves every cycle; the plan does not.
//! - Quantities are checked against min/max order qty when the plan is built; prices and
//!   notionals depend on the anchor and are checked by [`GridPlan::ladder`].
//! - Unrounded quantities are carried at 20 decimal places (`RAW_QTY_DP`), truncated.
//! - `qty_multiplier` defaults to 2 (ARCHITECTURE §4's `base_qty · 2^n`); it is a parameter because a
//!   deep ladder with 2ⁿ exceeds every exchange limit by level ~20.

use gridbot_core::{Decimal, Instrument, Leg, OhlcSeries, Price, Qty, Symbol};

use rust_decimal::RoundingStrategy;

use crate::GridError;
use crate::checks::{check_price, checked_notional, fraction_to_decimal, rounded_qty};
use crate::volatility::{EmaKind, atr_pct_ema_last_of};

/// Decimal places a level's unrounded quantity is carried at (truncated) before it is floored
/// to the qty step. Exact for multipliers such as 2 or 1.5 whose powers terminate early; for a
/// multiplier such as 1.02 it drops less than 1e-18 per level, far below any qty step, and
/// keeps the decimal products small (and fast).
const RAW_QTY_DP: u32 = 20;

/// 1 written with [`crate::FRACTION_DP`] places: comparing fractions with it needs no rescale.
pub(crate) const ONE_AT_FRACTION_SCALE: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, crate::FRACTION_DP);

/// How far from the average entry the take-profit sits.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TakeProfitRule {
    /// A fixed fraction of the average entry (0.004 = 0.4%).
    Fraction(f64),
    /// A multiple of `base_step`.
    StepMultiple(f64),
}

/// The inputs of a progressive plan, as written in an account's config.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProgressiveParams {
    /// EMA span over daily ATR% (the reference system uses 14).
    pub ema_span: usize,
    /// Horizon in days the step should cover (scales with its square root).
    pub horizon_days: f64,
    /// Free multiplier on the step.
    pub step_scale_factor: f64,
    /// Deepest protective level (levels are 0..=max_levels).
    pub max_levels: u32,
    /// Quantity of the entry order (level 0).
    pub base_qty: Qty,
    /// Quantity growth per level (2 = martingale).
    pub qty_multiplier: Decimal,
    /// Take-profit distance.
    pub take_profit: TakeProfitRule,
    /// The EMA smoothing daily ATR% (default: pandas `adjust=True`).
    #[serde(default)]
    pub ema: EmaKind,
}

impl ProgressiveParams {
    /// The reference system's defaults: span 14, one-day horizon, scale 1, 8 levels, 2×, TP one step.
    #[must_use]
    pub fn with_base_qty(base_qty: Qty) -> Self {
        Self {
            ema_span: 14,
            horizon_days: 1.0,
            step_scale_factor: 1.0,
            max_levels: 8,
            base_qty,
            qty_multiplier: Decimal::TWO,
            take_profit: TakeProfitRule::StepMultiple(1.0),
            ema: EmaKind::Adjusted,
        }
    }
}

/// One order of a leg's ladder for a given anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelOrder {
    /// 0 = entry, 1.. = protective.
    pub level: u32,
    /// Rounded price.
    pub price: Price,
    /// Rounded quantity.
    pub qty: Qty,
    /// Σ qty of levels 0..=level.
    pub cum_qty: Qty,
    /// `price × qty`.
    pub notional: Decimal,
}

impl LevelOrder {
    /// `|price − anchor| / anchor`: how far the rounded level sits from the anchor, as a
    /// fraction. (Computed on demand: a decimal division costs more than the rest of a level.)
    #[must_use]
    pub fn distance_from(&self, anchor: Price) -> Decimal {
        self.price.diff(anchor).abs().checked_div(anchor.as_decimal()).unwrap_or(Decimal::ZERO)
    }
}

/// The serde form of a [`GridPlan`], validated into one on load.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct GridPlanRecord {
    symbol: Symbol,
    created_at_ms: i64,
    params: ProgressiveParams,
    atr_pct_ema: f64,
    base_step: Decimal,
    distances: Vec<Decimal>,
    quantities: Vec<Qty>,
    take_profit: Decimal,
    tick_size: Decimal,
    qty_step: Decimal,
}

/// The locked parameters of a progressive grid for one symbol.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "GridPlanRecord", into = "GridPlanRecord")]
pub struct GridPlan {
    record: GridPlanRecord,
}

impl GridPlan {
    /// Builds a plan from daily candles: ATR% (`true_range / close`) → the EMA of
    /// `params.ema` (default pandas `ewm(span=ema_span, adjust=True)`, the last value) →
    /// `base_step` → levels. Needs at least `ema_span` candles.
    pub fn build(
        params: &ProgressiveParams,
        daily: &OhlcSeries,
        instrument: &Instrument,
        now_ms: i64,
    ) -> Result<Self, GridError> {
        if daily.len() < params.ema_span.max(1) {
            return Err(GridError::NotEnoughCandles { needed: params.ema_span.max(1), got: daily.len() });
        }
        let atr_pct_ema = atr_pct_ema_last_of(daily, params.ema_span, params.ema)?;
        Self::from_atr_pct_ema(params, atr_pct_ema, instrument, now_ms)
    }

    /// Builds a plan from an already computed `EMA(ATR%)` value.
    pub fn from_atr_pct_ema(
        params: &ProgressiveParams,
        atr_pct_ema: f64,
        instrument: &Instrument,
        now_ms: i64,
    ) -> Result<Self, GridError> {
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(GridError::InvalidParameter { name, reason: format!("must be a positive number, got {v}") })
            }
        };
        positive("atr_pct_ema", atr_pct_ema)?;
        positive("horizon_days", params.horizon_days)?;
        positive("step_scale_factor", params.step_scale_factor)?;
        if params.qty_multiplier < Decimal::ONE {
            return Err(GridError::InvalidParameter {
                name: "qty_multiplier",
                reason: format!("must be at least 1, got {}", params.qty_multiplier),
            });
        }
        if params.max_levels < 1 {
            return Err(GridError::TooFewLevels { got: 1 });
        }
        let base_step_f = atr_pct_ema * params.horizon_days.sqrt() * params.step_scale_factor;
        let base_step = fraction_to_decimal("base_step", base_step_f)?;
        if base_step <= Decimal::ZERO || base_step >= Decimal::ONE {
            return Err(GridError::InvalidParameter {
                name: "base_step",
                reason: format!("must be a fraction in (0, 1) after rounding to 12 places, got {base_step}"),
            });
        }
        let take_profit_f = match params.take_profit {
            TakeProfitRule::Fraction(f) => f,
            TakeProfitRule::StepMultiple(m) => base_step_f * m,
        };
        positive("take_profit", take_profit_f)?;
        let take_profit = fraction_to_decimal("take_profit", take_profit_f)?;
        if take_profit <= Decimal::ZERO || take_profit >= Decimal::ONE {
            return Err(GridError::InvalidParameter {
                name: "take_profit",
                reason: format!("must be a fraction in (0, 1), got {take_profit}"),
            });
        }

        let levels = params.max_levels as usize + 1;
        let mut distances = Vec::with_capacity(levels);
        let mut quantities = Vec::with_capacity(levels);
        let mut sum_sqrt = 0.0_f64;
        let mut raw_qty = params.base_qty;
        for level in 0..=params.max_levels {
            if level > 0 {
                sum_sqrt += f64::from(level).sqrt();
                raw_qty = raw_qty
                    .checked_mul(params.qty_multiplier)
                    .and_then(|q| {
                        let d = q.as_decimal();
                        if d.scale() <= RAW_QTY_DP {
                            return Some(q);
                        }
                        Qty::new(d.round_dp_with_strategy(RAW_QTY_DP, RoundingStrategy::ToZero)).ok()
                    })
                    .ok_or(GridError::Overflow { what: "quantity", level })?;
            }
            let distance = fraction_to_decimal("distance", base_step_f * sum_sqrt)?;
            if distance >= ONE_AT_FRACTION_SCALE {
                return Err(GridError::LevelCrossesZero { level, distance });
            }
            distances.push(distance);
            quantities.push(rounded_qty(level, raw_qty, instrument)?);
        }
        let record = GridPlanRecord {
            symbol: instrument.symbol().clone(),
            created_at_ms: now_ms,
            params: params.clone(),
            atr_pct_ema,
            base_step,
            distances,
            quantities,
            take_profit,
            tick_size: instrument.tick_size(),
            qty_step: instrument.qty_step(),
        };
        Self::try_from(record)
    }

    /// Symbol the plan was locked for.
    #[must_use]
    pub fn symbol(&self) -> &Symbol {
        &self.record.symbol
    }

    /// When it was built, UTC ms.
    #[must_use]
    pub fn created_at_ms(&self) -> i64 {
        self.record.created_at_ms
    }

    /// The inputs it was built from.
    #[must_use]
    pub fn params(&self) -> &ProgressiveParams {
        &self.record.params
    }

    /// The `EMA(ATR%)` it was built from.
    #[must_use]
    pub fn atr_pct_ema(&self) -> f64 {
        self.record.atr_pct_ema
    }

    /// The step, as a fraction of the anchor, at 12 places ([`crate::FRACTION_DP`]): the value
    /// every level distance is built from.
    #[must_use]
    pub fn base_step(&self) -> Decimal {
        self.record.base_step
    }

    /// The step before rounding: `atr_pct_ema · sqrt(horizon_days) · step_scale_factor` in
    /// `f64`, as computed when the plan was built.
    #[must_use]
    pub fn base_step_f64(&self) -> f64 {
        let p = &self.record.params;
        self.record.atr_pct_ema * p.horizon_days.sqrt() * p.step_scale_factor
    }

    /// Deepest level.
    #[must_use]
    pub fn max_level(&self) -> u32 {
        self.record.params.max_levels
    }

    /// Distance of each level from the anchor, as fractions (`[0] == 0`).
    #[must_use]
    pub fn distances(&self) -> &[Decimal] {
        &self.record.distances
    }

    /// Rounded quantity of each level.
    #[must_use]
    pub fn quantities(&self) -> &[Qty] {
        &self.record.quantities
    }

    /// Take-profit distance from the average entry, as a fraction.
    #[must_use]
    pub fn take_profit_fraction(&self) -> Decimal {
        self.record.take_profit
    }

    /// Errors unless `instrument` has the symbol, tick and step the plan was locked with.
    pub fn check_instrument(&self, instrument: &Instrument) -> Result<(), GridError> {
        let r = &self.record;
        if instrument.symbol() != &r.symbol
            || instrument.tick_size() != r.tick_size
            || instrument.qty_step() != r.qty_step
        {
            return Err(GridError::InstrumentMismatch {
                locked: format!("{} tick {} step {}", r.symbol, r.tick_size, r.qty_step),
                found: format!(
                    "{} tick {} step {}",
                    instrument.symbol(),
                    instrument.tick_size(),
                    instrument.qty_step()
                ),
            });
        }
        Ok(())
    }

    /// The price of `level` for `leg` around `anchor` before the instrument rounds it:
    /// `anchor · (1 ∓ distance)`, exact decimal arithmetic on the 12-place distance
    /// ([`Self::level_price`] is this, floored or ceiled to the tick).
    pub fn raw_level_price(&self, leg: Leg, anchor: Price, level: u32) -> Result<Price, GridError> {
        self.raw_price(leg, anchor, level)
    }

    /// Unrounded price of `level` for `leg` around `anchor`.
    fn raw_price(&self, leg: Leg, anchor: Price, level: u32) -> Result<Price, GridError> {
        let distance =
            self.record.distances.get(level as usize).copied().ok_or_else(|| GridError::InvalidParameter {
                name: "level",
                reason: format!("{level} is beyond the plan's max level {}", self.max_level()),
            })?;
        let factor = match leg {
            Leg::Long => Decimal::ONE - distance,
            Leg::Short => Decimal::ONE + distance,
        };
        anchor.checked_mul(factor).ok_or(GridError::Overflow { what: "price", level })
    }

    /// The price of one level for `leg` around `anchor`, rounded for the leg's entry side.
    pub fn level_price(
        &self,
        leg: Leg,
        anchor: Price,
        level: u32,
        instrument: &Instrument,
    ) -> Result<Price, GridError> {
        let price = instrument.round_price(leg.entry_side(), self.raw_price(leg, anchor, level)?);
        check_price(level, price, instrument)?;
        Ok(price)
    }

    /// Every order of `leg`'s ladder around `anchor`: rounded, strictly monotone away from the
    /// anchor, inside the price band and above the minimum notional.
    pub fn ladder(&self, leg: Leg, anchor: Price, instrument: &Instrument) -> Result<Vec<LevelOrder>, GridError> {
        self.check_instrument(instrument)?;
        if anchor.is_zero() {
            return Err(GridError::InvalidParameter { name: "anchor", reason: "must be positive".into() });
        }
        let mut out: Vec<LevelOrder> = Vec::with_capacity(self.record.distances.len());
        let mut cum_qty = Qty::ZERO;
        for (level, &qty) in (0u32..).zip(&self.record.quantities) {
            let price = self.level_price(leg, anchor, level, instrument)?;
            if let Some(prev) = out.last() {
                let beyond = match leg {
                    Leg::Long => price < prev.price,
                    Leg::Short => price > prev.price,
                };
                if !beyond {
                    return Err(GridError::NonMonotone { level, price, previous: prev.price });
                }
            }
            let notional = checked_notional(level, price, qty, instrument)?;
            cum_qty = cum_qty.checked_add(qty).ok_or(GridError::Overflow { what: "cumulative quantity", level })?;
            out.push(LevelOrder { level, price, qty, cum_qty, notional });
        }
        Ok(out)
    }

    /// The take-profit price for `leg` given its average entry: above it for the long leg
    /// (a sell, ceiled), below it for the short leg (a buy, floored).
    pub fn take_profit_price(&self, leg: Leg, avg_entry: Price, instrument: &Instrument) -> Result<Price, GridError> {
        let tp = self.record.take_profit;
        let factor = match leg {
            Leg::Long => Decimal::ONE + tp,
            Leg::Short => Decimal::ONE - tp,
        };
        let raw = avg_entry.checked_mul(factor).ok_or(GridError::Overflow { what: "take-profit price", level: 0 })?;
        let price = instrument.round_price(leg.exit_side(), raw);
        check_price(0, price, instrument)?;
        Ok(price)
    }
}

/// Quantity-weighted average of `(price, qty)` fills, in decimal arithmetic (exact up to
/// `Decimal`'s 28 significant digits); `None` when there is no quantity.
#[must_use]
pub fn average_entry(fills: &[(Price, Qty)]) -> Option<Price> {
    let mut value = Decimal::ZERO;
    let mut qty = Decimal::ZERO;
    for (p, q) in fills {
        value = value.checked_add(p.notional(*q)?)?;
        qty = qty.checked_add(q.as_decimal())?;
    }
    if qty.is_zero() {
        return None;
    }
    Price::new(value.checked_div(qty)?).ok()
}

impl TryFrom<GridPlanRecord> for GridPlan {
    type Error = GridError;

    fn try_from(r: GridPlanRecord) -> Result<Self, Self::Error> {
        let corrupt = |msg: String| Err(GridError::CorruptPlan(msg));
        let levels = r.params.max_levels as usize + 1;
        if r.distances.len() != levels || r.quantities.len() != levels {
            return corrupt(format!(
                "{} distances and {} quantities for max_levels {}",
                r.distances.len(),
                r.quantities.len(),
                r.params.max_levels
            ));
        }
        if levels < 2 {
            return corrupt("fewer than 2 levels".into());
        }
        if r.distances[0] != Decimal::ZERO {
            return corrupt(format!("level 0 distance must be 0, got {}", r.distances[0]));
        }
        if let Some(i) = r.distances.windows(2).position(|w| w[1] <= w[0] || w[1] >= ONE_AT_FRACTION_SCALE) {
            return corrupt(format!(
                "distances must increase strictly below 1; level {} is {}",
                i + 1,
                r.distances[i + 1]
            ));
        }
        if let Some(i) = r.quantities.iter().position(|q| q.is_zero()) {
            return corrupt(format!("level {i} quantity is zero"));
        }
        for (name, v) in [("base_step", r.base_step), ("take_profit", r.take_profit)] {
            if v <= Decimal::ZERO || v >= Decimal::ONE {
                return corrupt(format!("{name} must be in (0, 1), got {v}"));
            }
        }
        if r.tick_size <= Decimal::ZERO || r.qty_step <= Decimal::ZERO {
            return corrupt("tick size and qty step must be positive".into());
        }
        Ok(Self { record: r })
    }
}

impl From<GridPlan> for GridPlanRecord {
    fn from(plan: GridPlan) -> Self {
        plan.record
    }
}
