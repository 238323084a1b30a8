//! Property tests of grid math: levels strictly monotone, buy rounding never rounds up and
//! sell rounding never down, quantities are step multiples, rounding is idempotent.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gridbot_core::{Decimal, Instrument, InstrumentSpec, Leg, Price, Qty, Side, Symbol};
use gridbot_grid::{
    Bias, ClassicLayout, ClassicParams, ClassicPlan, GridError, GridPlan, Progression, ProgressiveParams,
    TakeProfitRule,
};
use proptest::prelude::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Instruments with ticks 10^-k and steps 10^-j, like Bybit's.
fn instrument_strategy() -> impl Strategy<Value = Instrument> {
    (0u32..=4, 0u32..=4).prop_map(|(tick_dp, step_dp)| {
        let tick = Decimal::new(1, tick_dp);
        let step = Decimal::new(1, step_dp);
        Instrument::try_from(InstrumentSpec {
            symbol: Symbol::new("TESTUSDT").unwrap(),
            tick_size: tick,
            min_price: Price::new(tick).unwrap(),
            max_price: Price::new(d("10000000")).unwrap(),
            qty_step: step,
            min_order_qty: Qty::new(step).unwrap(),
            max_order_qty: Qty::new(d("1000000000")).unwrap(),
            max_market_qty: Qty::new(d("1000000")).unwrap(),
            min_notional: d("5"),
            min_leverage: d("1"),
            max_leverage: d("100"),
            leverage_step: d("0.01"),
            funding_interval_minutes: 480,
        })
        .unwrap()
    })
}

/// Positive decimals with up to 8 places, from 0.00000001 to 10,000,000.
fn price_strategy() -> impl Strategy<Value = Price> {
    (1i64..1_000_000_000_000_000, 0u32..=8)
        .prop_map(|(m, s)| Price::new(Decimal::new(m, s) % d("10000000") + Decimal::new(1, 8)).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn rounding_directions_and_idempotence(instrument in instrument_strategy(), price in price_strategy(), raw_qty in price_strategy()) {
        let buy = instrument.round_buy_price(price);
        let sell = instrument.round_sell_price(price);
        prop_assert!(buy <= price, "buy rounded up: {price} -> {buy}");
        prop_assert!(sell >= price, "sell rounded down: {price} -> {sell}");
        prop_assert!(instrument.is_on_tick(buy) && instrument.is_on_tick(sell));
        prop_assert!(sell.diff(buy) <= instrument.tick_size());
        prop_assert_eq!(instrument.round_buy_price(buy), buy);
        prop_assert_eq!(instrument.round_sell_price(sell), sell);
        prop_assert_eq!(instrument.round_price(Side::Sell, buy), buy);
        let qty = Qty::new(raw_qty.as_decimal()).unwrap();
        let rounded = instrument.round_qty(qty);
        prop_assert!(rounded <= qty);
        prop_assert!(instrument.is_on_step(rounded));
        prop_assert_eq!(instrument.round_qty(rounded), rounded);
        prop_assert!(qty.as_decimal() - rounded.as_decimal() < instrument.qty_step());
    }

    #[test]
    fn progressive_ladders_are_monotone_on_tick_and_on_step(
        instrument in instrument_strategy(),
        atr in 0.0005f64..0.08,
        levels in 1u32..12,
        anchor_units in 1_000i64..5_000_000,
        leg in prop_oneof![Just(Leg::Long), Just(Leg::Short)],
    ) {
        let base_qty = Qty::new(instrument.qty_step() * Decimal::from(1000)).unwrap();
        let params = ProgressiveParams {
            max_levels: levels,
            take_profit: TakeProfitRule::StepMultiple(0.5),
            ..ProgressiveParams::with_base_qty(base_qty)
        };
        let anchor = Price::new(Decimal::new(anchor_units, 2)).unwrap();
        let plan = match GridPlan::from_atr_pct_ema(&params, atr, &instrument, 0) {
            Ok(plan) => plan,
            Err(GridError::LevelCrossesZero { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
        };
        match plan.ladder(leg, anchor, &instrument) {
            Ok(ladder) => {
                prop_assert_eq!(ladder.len(), levels as usize + 1);
                for w in ladder.windows(2) {
                    match leg {
                        Leg::Long => prop_assert!(w[1].price < w[0].price),
                        Leg::Short => prop_assert!(w[1].price > w[0].price),
                    }
                    prop_assert!(w[1].qty >= w[0].qty);
                }
                for o in &ladder {
                    prop_assert!(instrument.is_on_tick(o.price));
                    prop_assert!(instrument.is_on_step(o.qty));
                    // never more aggressive than the unrounded level
                    let raw_factor = match leg { Leg::Long => Decimal::ONE - plan.distances()[o.level as usize], Leg::Short => Decimal::ONE + plan.distances()[o.level as usize] };
                    let raw = anchor.as_decimal() * raw_factor;
                    match leg {
                        Leg::Long => prop_assert!(o.price.as_decimal() <= raw),
                        Leg::Short => prop_assert!(o.price.as_decimal() >= raw),
                    }
                }
            }
            // Steps below the tick, or notional below the minimum, are typed rejections.
            Err(GridError::NonMonotone { .. } | GridError::NotionalBelowMinimum { .. } | GridError::LevelCrossesZero { .. } | GridError::PriceOutOfBounds { .. }) => {}
            Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
        }
        let tp = plan.take_profit_price(leg, anchor, &instrument);
        if let Ok(tp) = tp {
            match leg {
                Leg::Long => prop_assert!(tp > anchor),
                Leg::Short => prop_assert!(tp < anchor),
            }
        }
    }

    #[test]
    fn classic_levels_are_strictly_increasing_and_never_cross_the_reference(
        instrument in instrument_strategy(),
        centre_units in 10_000i64..10_000_000,
        spacing in 0.0005f64..0.05,
        per_side in 1u32..40,
        geometric in any::<bool>(),
        reference_shift in -0.02f64..0.02,
    ) {
        let centre = Price::new(Decimal::new(centre_units, 2)).unwrap();
        let reference = Price::new(Decimal::from_f64_retain(centre.to_f64() * (1.0 + reference_shift)).unwrap().round_dp(2)).unwrap();
        let params = ClassicParams {
            layout: ClassicLayout::Centre { centre, spacing, levels_per_side: per_side },
            progression: if geometric { Progression::Geometric } else { Progression::Arithmetic },
            bias: Bias::Neutral,
            qty_per_level: Qty::new(instrument.qty_step() * Decimal::from(100_000)).unwrap(),
            take_profit: None,
            stop_loss: None,
        };
        match ClassicPlan::build(&params, reference, &instrument) {
            Ok(plan) => {
                prop_assert_eq!(plan.levels().len(), 2 * per_side as usize + 1);
                for w in plan.levels().windows(2) {
                    prop_assert!(w[1].price > w[0].price);
                }
                for l in plan.levels() {
                    prop_assert!(instrument.is_on_tick(l.price));
                    match l.initial_side {
                        Some(Side::Buy) => prop_assert!(l.price < reference),
                        Some(Side::Sell) => prop_assert!(l.price > reference),
                        None => prop_assert!(l.price <= reference),
                    }
                }
            }
            Err(GridError::LevelCrossesZero { .. } | GridError::NonMonotone { .. } | GridError::NotionalBelowMinimum { .. } | GridError::PriceOutOfBounds { .. }) => {}
            Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
        }
    }
}
