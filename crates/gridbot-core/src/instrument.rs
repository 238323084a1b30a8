//! Instruments and the one place prices and sizes are rounded (ARCHITECTURE §3).
//!
//! Rules:
//! - buy prices floor to the tick, sell prices ceil to the tick (a rounded order is never more
//!   aggressive than the price we computed), quantities floor to the qty step;
//! - then `validate` checks `minOrderQty`, `maxOrderQty` / `maxMktOrderQty`, the price band and
//!   `minNotionalValue`, and rejects with a typed error rather than send a doomed order.
//!
//! Decisions:
//! - Rounding is exact integer arithmetic on the decimal mantissas (count whole steps, multiply
//!   back), never a division that could round, so it is idempotent and a rounded value is
//!   always an exact step multiple. Results come back at the tick's (step's) scale, and the
//!   spec's bounds are stored at the same scales, so the comparisons that follow are cheap.
//! - `Instrument` can only be built from a validated `InstrumentSpec` (tick and step > 0,
//!   bounds ordered), so the rounding functions can never divide by zero.
//! - Reduce-only orders are exempt from `minNotionalValue` (Bybit applies the notional floor to
//!   opening orders; a closing order must always be able to close). *(inferred)*
//! - A market order carries no price, so its notional can only be checked by the caller
//!   against a reference price (`validate_notional`).
//! - `round_sell_price` saturates to the floor if ceiling would overflow `Decimal` (a price
//!   beyond 7.9e28, which `validate` then rejects as above `maxPrice`).
//! - `spec()` returns the filters with aligned scales (`min_price` written `0.10` for a tick of
//!   `0.10`): equal values, possibly different text than the input.

use rust_decimal::Decimal;

use crate::enums::{OrderType, Side};
use crate::ids::Symbol;
use crate::num::{Price, Qty};
use crate::order::OrderRequest;

/// The exchange's filters for one instrument, as read from instruments-info or a config file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstrumentSpec {
    /// Symbol.
    pub symbol: Symbol,
    /// `priceFilter.tickSize`.
    pub tick_size: Decimal,
    /// `priceFilter.minPrice`.
    pub min_price: Price,
    /// `priceFilter.maxPrice`.
    pub max_price: Price,
    /// `lotSizeFilter.qtyStep`.
    pub qty_step: Decimal,
    /// `lotSizeFilter.minOrderQty`.
    pub min_order_qty: Qty,
    /// `lotSizeFilter.maxOrderQty` (limit and PostOnly orders).
    pub max_order_qty: Qty,
    /// `lotSizeFilter.maxMktOrderQty`.
    pub max_market_qty: Qty,
    /// `lotSizeFilter.minNotionalValue` (quote currency).
    pub min_notional: Decimal,
    /// `leverageFilter.minLeverage`.
    pub min_leverage: Decimal,
    /// `leverageFilter.maxLeverage`.
    pub max_leverage: Decimal,
    /// `leverageFilter.leverageStep`.
    pub leverage_step: Decimal,
    /// `fundingInterval`, minutes.
    pub funding_interval_minutes: u32,
}

/// Why an `InstrumentSpec` is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("instrument {symbol}: {field} {problem}")]
pub struct InvalidInstrument {
    /// Symbol of the rejected spec.
    pub symbol: String,
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Why an order does not fit its instrument. Every variant names the values involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRejection {
    /// The order is for another instrument.
    #[error("order is for {order}, instrument is {instrument}")]
    WrongSymbol {
        /// The order's symbol.
        order: String,
        /// The instrument's symbol.
        instrument: String,
    },
    /// Quantity is zero.
    #[error("quantity must be positive")]
    NonPositiveQty,
    /// A limit order without a positive price.
    #[error("a limit order needs a positive price")]
    NonPositivePrice,
    /// Price is not a multiple of the tick size.
    #[error("price {price} is not a multiple of the tick size {tick}")]
    OffTick {
        /// The price.
        price: Price,
        /// The tick size.
        tick: Decimal,
    },
    /// Quantity is not a multiple of the qty step.
    #[error("quantity {qty} is not a multiple of the qty step {step}")]
    OffStep {
        /// The quantity.
        qty: Qty,
        /// The step.
        step: Decimal,
    },
    /// Price outside `[minPrice, maxPrice]`.
    #[error("price {price} is outside [{min}, {max}]")]
    PriceOutOfBounds {
        /// The price.
        price: Price,
        /// Lowest allowed.
        min: Price,
        /// Highest allowed.
        max: Price,
    },
    /// Quantity below `minOrderQty`.
    #[error("quantity {qty} is below the minimum order quantity {min}")]
    BelowMinQty {
        /// The quantity.
        qty: Qty,
        /// The minimum.
        min: Qty,
    },
    /// Quantity above `maxOrderQty` (limit) or `maxMktOrderQty` (market).
    #[error("quantity {qty} is above the maximum order quantity {max}")]
    AboveMaxQty {
        /// The quantity.
        qty: Qty,
        /// The maximum.
        max: Qty,
    },
    /// `qty × price` below `minNotionalValue`.
    #[error("notional {notional} is below the minimum notional {min}")]
    BelowMinNotional {
        /// `qty × price`.
        notional: Decimal,
        /// The minimum.
        min: Decimal,
    },
}

/// A tradable instrument with validated filters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "InstrumentSpec", into = "InstrumentSpec")]
pub struct Instrument {
    spec: InstrumentSpec,
}

impl TryFrom<InstrumentSpec> for Instrument {
    type Error = InvalidInstrument;

    fn try_from(spec: InstrumentSpec) -> Result<Self, Self::Error> {
        let bad = |field: &'static str, problem: String| InvalidInstrument {
            symbol: spec.symbol.to_string(),
            field,
            problem,
        };
        if spec.tick_size <= Decimal::ZERO {
            return Err(bad("tick_size", format!("must be positive, got {}", spec.tick_size)));
        }
        if spec.qty_step <= Decimal::ZERO {
            return Err(bad("qty_step", format!("must be positive, got {}", spec.qty_step)));
        }
        if spec.min_price > spec.max_price {
            return Err(bad("min_price", format!("{} is above max_price {}", spec.min_price, spec.max_price)));
        }
        if spec.min_order_qty > spec.max_order_qty {
            return Err(bad(
                "min_order_qty",
                format!("{} is above max_order_qty {}", spec.min_order_qty, spec.max_order_qty),
            ));
        }
        if spec.min_notional < Decimal::ZERO {
            return Err(bad("min_notional", format!("must not be negative, got {}", spec.min_notional)));
        }
        if spec.min_leverage <= Decimal::ZERO || spec.min_leverage > spec.max_leverage {
            return Err(bad(
                "min_leverage",
                format!("must be positive and at most max_leverage {}, got {}", spec.max_leverage, spec.min_leverage),
            ));
        }
        Ok(Self { spec: spec.with_aligned_scales() })
    }
}

impl InstrumentSpec {
    /// Writes prices at the tick's scale, sizes at the step's and the notional floor at their
    /// sum (all lossless), so that comparing a rounded price or size with a bound needs no
    /// rescaling. Values are unchanged; only their decimal representation is aligned.
    fn with_aligned_scales(mut self) -> Self {
        let (ts, qs) = (self.tick_size.scale(), self.qty_step.scale());
        let price = |p: Price| Price::new(with_scale(p.as_decimal(), ts)).unwrap_or(p);
        let qty = |q: Qty| Qty::new(with_scale(q.as_decimal(), qs)).unwrap_or(q);
        self.min_price = price(self.min_price);
        self.max_price = price(self.max_price);
        self.min_order_qty = qty(self.min_order_qty);
        self.max_order_qty = qty(self.max_order_qty);
        self.max_market_qty = qty(self.max_market_qty);
        self.min_notional = with_scale(self.min_notional, ts + qs);
        self
    }
}

impl From<Instrument> for InstrumentSpec {
    fn from(instrument: Instrument) -> Self {
        instrument.spec
    }
}

/// 10^n for n ≤ 38.
fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `value` rounded to a multiple of `step` (both non-negative, `step > 0`), down or up,
/// returned at `step`'s scale so later comparisons with the instrument's (equally scaled)
/// bounds take `Decimal`'s fast path. Exact integer arithmetic on the mantissas; `None` only
/// if the result does not fit a `Decimal`.
fn round_to_step(value: Decimal, step: Decimal, up: bool) -> Option<Decimal> {
    round_to_step_fast(value, step, up).or_else(|| {
        // The result does not fit at the step's scale (a huge value with a tiny step): the
        // same rule in decimal arithmetic, at the value's scale.
        let rem = value.checked_rem(step)?;
        let floor = value.checked_sub(rem)?;
        if up && !rem.is_zero() { floor.checked_add(step) } else { Some(floor) }
    })
}

fn round_to_step_fast(value: Decimal, step: Decimal, up: bool) -> Option<Decimal> {
    let (vm, vs) = (value.mantissa(), value.scale());
    let (sm, ss) = (step.mantissa(), step.scale());
    // value = vm / 10^vs, step = sm / 10^ss. Count whole steps in value.
    let (num, den) =
        if vs >= ss { (vm, sm.checked_mul(pow10(vs - ss)?)?) } else { (vm.checked_mul(pow10(ss - vs)?)?, sm) };
    let mut steps = num.div_euclid(den);
    if up && num.rem_euclid(den) != 0 {
        steps += 1;
    }
    Decimal::try_from_i128_with_scale(steps.checked_mul(sm)?, ss).ok()
}

/// `value` rescaled to `scale` if that loses nothing; otherwise unchanged.
fn with_scale(value: Decimal, scale: u32) -> Decimal {
    let mut rescaled = value;
    rescaled.rescale(scale);
    if rescaled == value { rescaled } else { value }
}

impl Instrument {
    /// The validated filters.
    #[must_use]
    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
    }

    /// Symbol.
    #[must_use]
    pub fn symbol(&self) -> &Symbol {
        &self.spec.symbol
    }

    /// Tick size.
    #[must_use]
    pub fn tick_size(&self) -> Decimal {
        self.spec.tick_size
    }

    /// Qty step.
    #[must_use]
    pub fn qty_step(&self) -> Decimal {
        self.spec.qty_step
    }

    /// Minimum order quantity.
    #[must_use]
    pub fn min_order_qty(&self) -> Qty {
        self.spec.min_order_qty
    }

    /// Minimum notional.
    #[must_use]
    pub fn min_notional(&self) -> Decimal {
        self.spec.min_notional
    }

    /// Buy price floored to the tick.
    #[must_use]
    pub fn round_buy_price(&self, price: Price) -> Price {
        round_to_step(price.as_decimal(), self.spec.tick_size, false).and_then(|d| Price::new(d).ok()).unwrap_or(price)
    }

    /// Sell price ceiled to the tick.
    #[must_use]
    pub fn round_sell_price(&self, price: Price) -> Price {
        round_to_step(price.as_decimal(), self.spec.tick_size, true)
            .and_then(|d| Price::new(d).ok())
            .unwrap_or_else(|| self.round_buy_price(price))
    }

    /// Price rounded for `side`: buys floor, sells ceil.
    #[must_use]
    pub fn round_price(&self, side: Side, price: Price) -> Price {
        match side {
            Side::Buy => self.round_buy_price(price),
            Side::Sell => self.round_sell_price(price),
        }
    }

    /// Quantity floored to the qty step.
    #[must_use]
    pub fn round_qty(&self, qty: Qty) -> Qty {
        round_to_step(qty.as_decimal(), self.spec.qty_step, false).and_then(|d| Qty::new(d).ok()).unwrap_or(qty)
    }

    /// True when `price` is a multiple of the tick.
    #[must_use]
    pub fn is_on_tick(&self, price: Price) -> bool {
        (price.as_decimal() % self.spec.tick_size).is_zero()
    }

    /// True when `qty` is a multiple of the qty step.
    #[must_use]
    pub fn is_on_step(&self, qty: Qty) -> bool {
        (qty.as_decimal() % self.spec.qty_step).is_zero()
    }

    /// Checks an order against every filter: symbol, positive size and price, tick, step,
    /// price band, min/max quantity and (for priced, opening orders) min notional.
    pub fn validate(&self, order: &OrderRequest) -> Result<(), OrderRejection> {
        if order.symbol != self.spec.symbol {
            return Err(OrderRejection::WrongSymbol {
                order: order.symbol.to_string(),
                instrument: self.spec.symbol.to_string(),
            });
        }
        self.validate_qty(order.qty, order.order_type)?;
        if let Some(price) = order.price {
            self.validate_price(price)?;
            if !order.reduce_only {
                self.validate_notional(price, order.qty)?;
            }
        } else if order.order_type == OrderType::Limit {
            return Err(OrderRejection::NonPositivePrice);
        }
        Ok(())
    }

    /// Positive, on the tick and inside the price band.
    pub fn validate_price(&self, price: Price) -> Result<(), OrderRejection> {
        if price.is_zero() {
            return Err(OrderRejection::NonPositivePrice);
        }
        if !self.is_on_tick(price) {
            return Err(OrderRejection::OffTick { price, tick: self.spec.tick_size });
        }
        if price < self.spec.min_price || price > self.spec.max_price {
            return Err(OrderRejection::PriceOutOfBounds { price, min: self.spec.min_price, max: self.spec.max_price });
        }
        Ok(())
    }

    /// Positive, on the step and inside `[minOrderQty, max]` for the order type.
    pub fn validate_qty(&self, qty: Qty, order_type: OrderType) -> Result<(), OrderRejection> {
        if qty.is_zero() {
            return Err(OrderRejection::NonPositiveQty);
        }
        if !self.is_on_step(qty) {
            return Err(OrderRejection::OffStep { qty, step: self.spec.qty_step });
        }
        if qty < self.spec.min_order_qty {
            return Err(OrderRejection::BelowMinQty { qty, min: self.spec.min_order_qty });
        }
        let max = match order_type {
            OrderType::Market => self.spec.max_market_qty,
            OrderType::Limit | OrderType::Unknown => self.spec.max_order_qty,
        };
        if qty > max {
            return Err(OrderRejection::AboveMaxQty { qty, max });
        }
        Ok(())
    }

    /// `price × qty ≥ minNotionalValue`.
    pub fn validate_notional(&self, price: Price, qty: Qty) -> Result<(), OrderRejection> {
        let notional = price.notional(qty).unwrap_or(Decimal::MAX);
        if notional < self.spec.min_notional {
            return Err(OrderRejection::BelowMinNotional { notional, min: self.spec.min_notional });
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::enums::{PositionIdx, TimeInForce};
    use crate::ids::OrderLinkId;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    pub(crate) fn btcusdt() -> Instrument {
        crate::reference::bybit_btcusdt()
    }

    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }

    fn buy(qty: &str, price: &str) -> OrderRequest {
        OrderRequest::limit(
            Symbol::new("BTCUSDT").unwrap(),
            Side::Buy,
            q(qty),
            p(price),
            TimeInForce::PostOnly,
            PositionIdx::Long,
            OrderLinkId::new("t1").unwrap(),
        )
    }

    #[test]
    fn rounding_directions() {
        let i = btcusdt();
        assert_eq!(i.round_buy_price(p("30000.19")), p("30000.1"));
        assert_eq!(i.round_sell_price(p("30000.11")), p("30000.2"));
        assert_eq!(i.round_sell_price(p("30000.1")), p("30000.1"));
        assert_eq!(i.round_buy_price(p("30000.1")), p("30000.1"));
        assert_eq!(i.round_qty(q("0.0019")), q("0.001"));
        assert_eq!(i.round_qty(q("0.0009")), q("0"));
        assert_eq!(i.round_price(Side::Sell, p("0.01")), p("0.1"));
        assert_eq!(i.round_price(Side::Buy, p("0.01")), p("0"));
    }

    #[test]
    fn rounding_handles_any_scale_and_returns_the_tick_scale() {
        let i = btcusdt();
        // fewer decimals than the tick, more decimals than the tick, exact multiples
        assert_eq!(i.round_buy_price(p("30000")).as_decimal().scale(), 2);
        assert_eq!(i.round_sell_price(p("30000.123456789012345678")), p("30000.2"));
        assert_eq!(i.round_buy_price(p("30000.123456789012345678")), p("30000.1"));
        assert_eq!(i.round_qty(q("1.23456789")).to_string(), "1.234");
        // bounds were aligned to the tick's scale without changing their value
        assert_eq!(i.spec().min_notional.scale(), 5);
        assert_eq!(i.spec().min_notional, d("5"));
        assert_eq!(i.spec().max_order_qty.as_decimal().scale(), 3);
    }

    proptest::proptest! {
        #[test]
        fn integer_rounding_equals_the_decimal_definition(
            m in 0i64..i64::MAX, s in 0u32..=18, step_m in 1i64..10_000, step_s in 0u32..=10,
        ) {
            let value = Decimal::new(m, s);
            let step = Decimal::new(step_m, step_s);
            let floor = value - value % step;
            let ceil = if (value % step).is_zero() { floor } else { floor + step };
            let (f, c) = (round_to_step(value, step, false).unwrap(), round_to_step(value, step, true).unwrap());
            // Equal values; the representation (scale) may differ.
            proptest::prop_assert_eq!(f, floor);
            proptest::prop_assert_eq!(c, ceil);
        }
    }

    #[test]
    fn sell_rounding_saturates_instead_of_overflowing() {
        let i = btcusdt();
        let huge = Price::new(Decimal::MAX).unwrap();
        let r = i.round_sell_price(huge);
        assert!(r <= huge);
        assert!(i.validate_price(r).is_err());
    }

    #[test]
    fn validation_names_each_problem() {
        let i = btcusdt();
        assert_eq!(i.validate(&buy("0.001", "30000")), Ok(()));
        assert_eq!(i.validate(&buy("0", "30000")), Err(OrderRejection::NonPositiveQty));
        assert!(matches!(i.validate(&buy("0.0015", "30000")), Err(OrderRejection::OffStep { .. })));
        assert!(matches!(i.validate(&buy("0.001", "30000.05")), Err(OrderRejection::OffTick { .. })));
        assert!(matches!(i.validate(&buy("0.001", "0")), Err(OrderRejection::NonPositivePrice)));
        assert!(matches!(i.validate(&buy("0.001", "2000000")), Err(OrderRejection::PriceOutOfBounds { .. })));
        assert!(matches!(i.validate(&buy("1191", "100")), Err(OrderRejection::AboveMaxQty { .. })));
        // 0.001 × 4999.9 = 4.9999 < 5
        assert_eq!(
            i.validate(&buy("0.001", "4999.9")),
            Err(OrderRejection::BelowMinNotional { notional: d("4.9999"), min: d("5") })
        );
        // exactly 5 is fine
        assert_eq!(i.validate(&buy("0.001", "5000")), Ok(()));
        // reduce-only orders may be below the notional floor
        assert_eq!(i.validate(&buy("0.001", "4999.9").reduce_only()), Ok(()));
    }

    #[test]
    fn market_orders_use_the_market_maximum() {
        let i = btcusdt();
        let m = OrderRequest::market(
            Symbol::new("BTCUSDT").unwrap(),
            Side::Sell,
            q("600"),
            PositionIdx::Short,
            OrderLinkId::new("m1").unwrap(),
        );
        assert_eq!(i.validate(&m), Err(OrderRejection::AboveMaxQty { qty: q("600"), max: q("500") }));
        let mut below = m.clone();
        below.qty = q("0.001");
        assert_eq!(i.validate(&below), Ok(()));
    }

    #[test]
    fn rejects_invalid_specs() {
        let mut spec = btcusdt().spec().clone();
        spec.tick_size = Decimal::ZERO;
        let err = Instrument::try_from(spec).unwrap_err();
        assert_eq!(err.field, "tick_size");
        let mut spec = btcusdt().spec().clone();
        spec.min_order_qty = q("2000");
        assert_eq!(Instrument::try_from(spec).unwrap_err().field, "min_order_qty");
        let json = serde_json::to_string(&btcusdt()).unwrap();
        assert_eq!(serde_json::from_str::<Instrument>(&json).unwrap(), btcusdt());
        let broken = json.replace("\"0.10\"", "\"0\"").replace("\"0.1\"", "\"0\"");
        assert!(serde_json::from_str::<Instrument>(&broken).is_err());
    }
}
