//! The classic range grid (ARCHITECTURE §4): a fixed set of price levels; a buy that fills places a
//! sell one level up, a sell that fills places a buy one level down.
//!
//! Layouts: between bounds by level count, between bounds by spacing, or around a centre with
//! a number of levels per side; arithmetic (equal price steps) or geometric (equal ratios).
//! Named profiles give the usual settings; spacing may come from ATR.
//!
//! Decisions:
//! - Fractions everywhere (`0.0035` is 0.35%); the config layer converts percent if it wants.
//! - Arithmetic levels are exact decimals. Geometric levels need powers, so they are computed
//!   in `f64` and converted once per level, then rounded like every other price.
//! - Rounding follows the side a level's *first* order takes relative to the reference price:
//!   levels below it are buys (floored), levels above it sells (ceiled). Rounding therefore
//!   moves every level away from the reference price, never across it. A level exactly at the
//!   reference gets no initial order.
//! - Bias: `Neutral` starts flat; `Long` opens, up front, the position its sell levels will
//!   close (Σ qty above the reference); `Short` the mirror image. This is how exchange grid bots
//!   define long and short grids.

use gridbot_core::{Decimal, Instrument, Price, Qty, Side};

use crate::GridError;
use crate::checks::{check_price, checked_notional, fraction_to_decimal, rounded_qty};

/// How levels are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progression {
    /// Equal price differences.
    Arithmetic,
    /// Equal price ratios.
    Geometric,
}

/// Where the levels go.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassicLayout {
    /// `levels` levels from `lower` to `upper`, both included.
    Bounds {
        /// Lowest level.
        lower: Price,
        /// Highest level.
        upper: Price,
        /// Number of levels (≥ 2).
        levels: u32,
    },
    /// Levels from `lower` every `spacing` (a fraction: of `lower` for arithmetic, a ratio step
    /// for geometric) while they stay at or below `upper`.
    BoundsBySpacing {
        /// Lowest level.
        lower: Price,
        /// Upper bound.
        upper: Price,
        /// Spacing fraction.
        spacing: f64,
    },
    /// `levels_per_side` levels below and above `centre`, plus the centre itself.
    Centre {
        /// Centre price.
        centre: Price,
        /// Spacing fraction (of the centre for arithmetic, a ratio step for geometric).
        spacing: f64,
        /// Levels on each side (≥ 1).
        levels_per_side: u32,
    },
}

/// Direction of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bias {
    /// Start flat: buys below, sells above.
    Neutral,
    /// Start long the quantity of the sell levels.
    Long,
    /// Start short the quantity of the buy levels.
    Short,
}

/// Named settings (spacing × levels per side, whole-grid take-profit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// 0.35% × 5 levels, take-profit 0.30%.
    Conservative,
    /// 0.25% × 6 levels, take-profit 0.20%.
    Normal,
    /// 0.15% × 8 levels, take-profit 0.15%.
    Aggressive,
}

impl Profile {
    /// Every profile, tightest spacing last.
    pub const ALL: [Self; 3] = [Self::Conservative, Self::Normal, Self::Aggressive];

    /// Its name as an account file writes it (`conservative`, `normal`, `aggressive`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Conservative => "conservative",
            Self::Normal => "normal",
            Self::Aggressive => "aggressive",
        }
    }

    /// The profile of that name, if one has it.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name.trim())
    }

    /// Spacing fraction.
    #[must_use]
    pub const fn spacing(self) -> f64 {
        match self {
            Self::Conservative => 0.0035,
            Self::Normal => 0.0025,
            Self::Aggressive => 0.0015,
        }
    }

    /// Levels on each side of the centre.
    #[must_use]
    pub const fn levels_per_side(self) -> u32 {
        match self {
            Self::Conservative => 5,
            Self::Normal => 6,
            Self::Aggressive => 8,
        }
    }

    /// Whole-grid take-profit fraction.
    #[must_use]
    pub const fn take_profit(self) -> f64 {
        match self {
            Self::Conservative => 0.0030,
            Self::Normal => 0.0020,
            Self::Aggressive => 0.0015,
        }
    }

    /// Geometric grid around `centre` with this profile's settings.
    #[must_use]
    pub fn params(self, centre: Price, qty_per_level: Qty, bias: Bias) -> ClassicParams {
        ClassicParams {
            layout: ClassicLayout::Centre { centre, spacing: self.spacing(), levels_per_side: self.levels_per_side() },
            progression: Progression::Geometric,
            bias,
            qty_per_level,
            take_profit: Some(self.take_profit()),
            stop_loss: None,
        }
    }
}

/// Spacing derived from volatility: `EMA(ATR%) × multiplier`.
pub fn atr_spacing(atr_pct_ema: f64, multiplier: f64) -> Result<f64, GridError> {
    let spacing = atr_pct_ema * multiplier;
    if !(spacing.is_finite() && spacing > 0.0 && spacing < 1.0) {
        return Err(GridError::InvalidParameter {
            name: "atr_spacing",
            reason: format!("EMA(ATR%) {atr_pct_ema} × multiplier {multiplier} must be in (0, 1)"),
        });
    }
    Ok(spacing)
}

/// Everything a classic grid is built from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassicParams {
    /// Where the levels go.
    pub layout: ClassicLayout,
    /// Arithmetic or geometric.
    pub progression: Progression,
    /// Neutral, long or short.
    pub bias: Bias,
    /// Quantity at every level.
    pub qty_per_level: Qty,
    /// Whole-grid take-profit on equity, fraction (`None`: off).
    pub take_profit: Option<f64>,
    /// Whole-grid stop-loss on equity, fraction (`None`: off).
    pub stop_loss: Option<f64>,
}

/// One level of a classic grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassicLevel {
    /// Index, 0 = lowest.
    pub index: u32,
    /// Rounded price.
    pub price: Price,
    /// Rounded quantity.
    pub qty: Qty,
    /// Side of the level's first order: `Buy` below the reference price, `Sell` above,
    /// `None` at it.
    pub initial_side: Option<Side>,
}

/// A validated classic grid.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassicPlan {
    levels: Vec<ClassicLevel>,
    reference_price: Price,
    bias: Bias,
    take_profit: Option<f64>,
    stop_loss: Option<f64>,
}

fn price_from_f64(level: u32, value: f64) -> Result<Price, GridError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(GridError::LevelCrossesZero { level, distance: Decimal::ONE });
    }
    Decimal::from_f64_retain(value).and_then(|d| Price::new(d).ok()).ok_or(GridError::Overflow { what: "price", level })
}

fn check_fraction(name: &'static str, value: f64) -> Result<(), GridError> {
    if value.is_finite() && value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(GridError::InvalidParameter { name, reason: format!("must be a fraction in (0, 1), got {value}") })
    }
}

/// Raw (unrounded) level prices, ascending.
fn raw_levels(layout: ClassicLayout, progression: Progression) -> Result<Vec<Price>, GridError> {
    const MAX_LEVELS: u32 = 10_000;
    let too_many = |got: f64| GridError::InvalidParameter {
        name: "levels",
        reason: format!("at most {MAX_LEVELS} levels, the layout gives {got}"),
    };
    match layout {
        ClassicLayout::Bounds { lower, upper, levels } => {
            if levels < 2 {
                return Err(GridError::TooFewLevels { got: levels as usize });
            }
            if levels > MAX_LEVELS {
                return Err(too_many(f64::from(levels)));
            }
            if lower.is_zero() || lower >= upper {
                return Err(GridError::InvalidParameter {
                    name: "lower",
                    reason: format!("must be positive and below upper {upper}, got {lower}"),
                });
            }
            let gaps = levels - 1;
            match progression {
                Progression::Arithmetic => {
                    let step = upper.diff(lower) / Decimal::from(gaps);
                    (0..levels)
                        .map(|i| {
                            if i == gaps {
                                return Ok(upper);
                            }
                            lower
                                .checked_add(step * Decimal::from(i))
                                .ok_or(GridError::Overflow { what: "price", level: i })
                        })
                        .collect()
                }
                Progression::Geometric => {
                    let (lo, hi) = (lower.to_f64(), upper.to_f64());
                    let ratio = (hi / lo).powf(1.0 / f64::from(gaps));
                    (0..levels)
                        .map(|i| {
                            if i == gaps {
                                Ok(upper)
                            } else {
                                price_from_f64(i, lo * ratio.powi(i32::try_from(i).unwrap_or(i32::MAX)))
                            }
                        })
                        .collect()
                }
            }
        }
        ClassicLayout::BoundsBySpacing { lower, upper, spacing } => {
            check_fraction("spacing", spacing)?;
            if lower.is_zero() || lower >= upper {
                return Err(GridError::InvalidParameter {
                    name: "lower",
                    reason: format!("must be positive and below upper {upper}, got {lower}"),
                });
            }
            let (lo, hi) = (lower.to_f64(), upper.to_f64());
            let count = match progression {
                Progression::Arithmetic => ((hi - lo) / (lo * spacing)).floor() + 1.0,
                Progression::Geometric => ((hi / lo).ln() / spacing.ln_1p()).floor() + 1.0,
            };
            if count > f64::from(MAX_LEVELS) {
                return Err(too_many(count));
            }
            let mut out = Vec::new();
            match progression {
                Progression::Arithmetic => {
                    let step = fraction_to_decimal("spacing", spacing)? * lower.as_decimal();
                    let mut price = lower;
                    let mut i = 0u32;
                    while price <= upper {
                        out.push(price);
                        i += 1;
                        price = price.checked_add(step).ok_or(GridError::Overflow { what: "price", level: i })?;
                    }
                }
                Progression::Geometric => {
                    let mut i = 0u32;
                    loop {
                        let p = lo * (1.0 + spacing).powi(i32::try_from(i).unwrap_or(i32::MAX));
                        // A hair of tolerance so `upper` itself counts when it lies on the grid.
                        if p > hi * (1.0 + 1e-12) {
                            break;
                        }
                        out.push(if i == 0 { lower } else { price_from_f64(i, p)? });
                        i += 1;
                    }
                }
            }
            if out.len() < 2 {
                return Err(GridError::TooFewLevels { got: out.len() });
            }
            Ok(out)
        }
        ClassicLayout::Centre { centre, spacing, levels_per_side } => {
            check_fraction("spacing", spacing)?;
            if levels_per_side < 1 {
                return Err(GridError::TooFewLevels { got: 1 });
            }
            if levels_per_side > MAX_LEVELS / 2 {
                return Err(too_many(2.0 * f64::from(levels_per_side) + 1.0));
            }
            if centre.is_zero() {
                return Err(GridError::InvalidParameter { name: "centre", reason: "must be positive".into() });
            }
            let n = i32::try_from(levels_per_side).unwrap_or(i32::MAX);
            let mut out = Vec::with_capacity(2 * levels_per_side as usize + 1);
            match progression {
                Progression::Arithmetic => {
                    let step = fraction_to_decimal("spacing", spacing)? * centre.as_decimal();
                    for k in -n..=n {
                        let level = u32::try_from(k + n).unwrap_or(0);
                        let price = centre
                            .checked_add(step * Decimal::from(k))
                            .ok_or(GridError::LevelCrossesZero { level, distance: Decimal::ONE })?;
                        out.push(price);
                    }
                }
                Progression::Geometric => {
                    let c = centre.to_f64();
                    for k in -n..=n {
                        let level = u32::try_from(k + n).unwrap_or(0);
                        out.push(if k == 0 { centre } else { price_from_f64(level, c * (1.0 + spacing).powi(k))? });
                    }
                }
            }
            Ok(out)
        }
    }
}

impl ClassicPlan {
    /// Builds and validates the grid around the current `reference_price` (usually the last
    /// or mark price).
    pub fn build(params: &ClassicParams, reference_price: Price, instrument: &Instrument) -> Result<Self, GridError> {
        for (name, value) in [("take_profit", params.take_profit), ("stop_loss", params.stop_loss)] {
            if let Some(v) = value {
                check_fraction(name, v)?;
            }
        }
        let raw = raw_levels(params.layout, params.progression)?;
        if raw.len() < 2 {
            return Err(GridError::TooFewLevels { got: raw.len() });
        }
        let mut levels: Vec<ClassicLevel> = Vec::with_capacity(raw.len());
        for (index, raw_price) in (0u32..).zip(raw) {
            let initial_side = match raw_price.cmp(&reference_price) {
                std::cmp::Ordering::Less => Some(Side::Buy),
                std::cmp::Ordering::Greater => Some(Side::Sell),
                std::cmp::Ordering::Equal => None,
            };
            let price = instrument.round_price(initial_side.unwrap_or(Side::Buy), raw_price);
            check_price(index, price, instrument)?;
            if let Some(prev) = levels.last()
                && price <= prev.price
            {
                return Err(GridError::NonMonotone { level: index, price, previous: prev.price });
            }
            let qty = rounded_qty(index, params.qty_per_level, instrument)?;
            checked_notional(index, price, qty, instrument)?;
            levels.push(ClassicLevel { index, price, qty, initial_side });
        }
        Ok(Self {
            levels,
            reference_price,
            bias: params.bias,
            take_profit: params.take_profit,
            stop_loss: params.stop_loss,
        })
    }

    /// The levels, ascending.
    #[must_use]
    pub fn levels(&self) -> &[ClassicLevel] {
        &self.levels
    }

    /// The price the grid was laid out against.
    #[must_use]
    pub fn reference_price(&self) -> Price {
        self.reference_price
    }

    /// Bias.
    #[must_use]
    pub fn bias(&self) -> Bias {
        self.bias
    }

    /// Whole-grid take-profit fraction.
    #[must_use]
    pub fn take_profit(&self) -> Option<f64> {
        self.take_profit
    }

    /// Whole-grid stop-loss fraction.
    #[must_use]
    pub fn stop_loss(&self) -> Option<f64> {
        self.stop_loss
    }

    /// The position a biased grid opens up front: `Long` buys the quantity of its sell levels,
    /// `Short` sells the quantity of its buy levels; `Neutral` opens none.
    #[must_use]
    pub fn initial_position(&self) -> Option<(Side, Qty)> {
        let (side, backing) = match self.bias {
            Bias::Neutral => return None,
            Bias::Long => (Side::Buy, Side::Sell),
            Bias::Short => (Side::Sell, Side::Buy),
        };
        let qty = self
            .levels
            .iter()
            .filter(|l| l.initial_side == Some(backing))
            .try_fold(Qty::ZERO, |acc, l| acc.checked_add(l.qty))?;
        (!qty.is_zero()).then_some((side, qty))
    }

    /// The same grid moved by `by` whole levels (up when positive): the levels that stay keep
    /// their prices exactly, the `|by|` levels leaving on one side come back on the other,
    /// continuing the grid's spacing — its average gap (`Arithmetic`) or ratio (`Geometric`)
    /// — rounded to the tick; sides are taken against `reference_price`, the level count and
    /// quantities stay. A trailing grid follows the market with it instead of a full recentre.
    pub fn shifted(
        &self,
        by: i32,
        progression: Progression,
        reference_price: Price,
        instrument: &Instrument,
    ) -> Result<Self, GridError> {
        let n = self.levels.len();
        let steps = by.unsigned_abs() as usize;
        if n < 2 || steps >= n {
            return Err(GridError::InvalidParameter {
                name: "shift",
                reason: format!("a grid of {n} levels moves by 1 to {} levels, not {by}", n.saturating_sub(1)),
            });
        }
        let (lo, hi) = (self.levels[0].price.to_f64(), self.levels[n - 1].price.to_f64());
        #[allow(clippy::cast_precision_loss, reason = "level counts are small")]
        let gaps = (n - 1) as f64;
        let beyond = |j: usize| -> Result<Price, GridError> {
            // j = 1, 2, … levels past the top (up) or below the bottom (down).
            let level = u32::try_from(n + j).unwrap_or(u32::MAX);
            #[allow(clippy::cast_precision_loss, reason = "small counts")]
            let j = j as f64;
            let v = match (progression, by > 0) {
                (Progression::Arithmetic, true) => hi + j * (hi - lo) / gaps,
                (Progression::Arithmetic, false) => lo - j * (hi - lo) / gaps,
                (Progression::Geometric, true) => hi * (hi / lo).powf(j / gaps),
                (Progression::Geometric, false) => lo / (hi / lo).powf(j / gaps),
            };
            if v <= 0.0 {
                return Err(GridError::LevelCrossesZero { level, distance: Decimal::ONE });
            }
            price_from_f64(level, v)
        };
        let mut prices: Vec<Price> = Vec::with_capacity(n);
        if by >= 0 {
            prices.extend(self.levels[steps..].iter().map(|l| l.price));
            for j in 1..=steps {
                prices.push(instrument.round_price(Side::Sell, beyond(j)?));
            }
        } else {
            for j in (1..=steps).rev() {
                prices.push(instrument.round_price(Side::Buy, beyond(j)?));
            }
            prices.extend(self.levels[..n - steps].iter().map(|l| l.price));
        }
        let mut levels: Vec<ClassicLevel> = Vec::with_capacity(n);
        for (index, price) in (0u32..).zip(prices) {
            check_price(index, price, instrument)?;
            if let Some(prev) = levels.last()
                && price <= prev.price
            {
                return Err(GridError::NonMonotone { level: index, price, previous: prev.price });
            }
            let qty = self.levels.get(index as usize).map_or(self.levels[0].qty, |l| l.qty);
            checked_notional(index, price, qty, instrument)?;
            let initial_side = match price.cmp(&reference_price) {
                std::cmp::Ordering::Less => Some(Side::Buy),
                std::cmp::Ordering::Greater => Some(Side::Sell),
                std::cmp::Ordering::Equal => None,
            };
            levels.push(ClassicLevel { index, price, qty, initial_side });
        }
        Ok(Self { levels, reference_price, ..self.clone() })
    }

    /// The order that replaces a filled one: a buy at `index` → a sell one level up, a sell
    /// → a buy one level down. `None` at the grid's edge.
    #[must_use]
    pub fn counter_order(&self, filled_index: u32, filled_side: Side) -> Option<ClassicLevel> {
        let target = match filled_side {
            Side::Buy => filled_index.checked_add(1)?,
            Side::Sell => filled_index.checked_sub(1)?,
        };
        let level = self.levels.get(target as usize)?;
        Some(ClassicLevel { initial_side: Some(filled_side.opposite()), ..*level })
    }
}
