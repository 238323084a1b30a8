//! Unit tests of the plans against Bybit's real BTCUSDT and ETHUSDT filters.

use gridbot_core::{Decimal, Instrument, Leg, OhlcSeries, Price, Qty, Side};

use crate::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}
fn p(s: &str) -> Price {
    s.parse().unwrap()
}
fn q(s: &str) -> Qty {
    s.parse().unwrap()
}

fn btc() -> Instrument {
    gridbot_core::reference::bybit_btcusdt()
}

fn params(levels: u32) -> ProgressiveParams {
    ProgressiveParams { max_levels: levels, ..ProgressiveParams::with_base_qty(q("0.001")) }
}

#[test]
fn progressive_distances_follow_the_sqrt_sum() {
    let plan = GridPlan::from_atr_pct_ema(&params(4), 0.01, &btc(), 7).unwrap();
    assert_eq!(plan.base_step(), d("0.01"));
    let expected =
        [0.0, 1.0, 1.0 + 2f64.sqrt(), 1.0 + 2f64.sqrt() + 3f64.sqrt(), 1.0 + 2f64.sqrt() + 3f64.sqrt() + 2.0];
    for (got, want) in plan.distances().iter().zip(expected) {
        let want = Decimal::from_f64_retain(0.01 * want).unwrap().round_dp(12);
        assert_eq!(*got, want);
    }
    assert_eq!(plan.quantities(), [q("0.001"), q("0.002"), q("0.004"), q("0.008"), q("0.016")]);
    assert_eq!(plan.created_at_ms(), 7);
}

#[test]
fn long_ladder_floors_below_and_short_ladder_ceils_above() {
    let plan = GridPlan::from_atr_pct_ema(&params(3), 0.0123, &btc(), 0).unwrap();
    let anchor = p("50000.05");
    let long = plan.ladder(Leg::Long, anchor, &btc()).unwrap();
    let short = plan.ladder(Leg::Short, anchor, &btc()).unwrap();
    // level 0 is the anchor rounded for the entry side
    assert_eq!(long[0].price, p("50000"));
    assert_eq!(short[0].price, p("50000.1"));
    // level 1: 50000.05 × (1 ∓ 0.0123) = 49385.0494 / 50615.0506
    assert_eq!(long[1].price, p("49385"));
    assert_eq!(short[1].price, p("50615.1"));
    assert!(long.windows(2).all(|w| w[1].price < w[0].price));
    assert!(short.windows(2).all(|w| w[1].price > w[0].price));
    assert_eq!(long[3].cum_qty, q("0.015"));
    assert_eq!(long[1].notional, d("49385") * d("0.002"));
}

#[test]
fn take_profit_rounds_away_from_the_entry() {
    let plan = GridPlan::from_atr_pct_ema(
        &ProgressiveParams { take_profit: TakeProfitRule::Fraction(0.004), ..params(2) },
        0.02,
        &btc(),
        0,
    )
    .unwrap();
    // 43210.37 × 1.004 = 43383.21148 → ceil 43383.3; × 0.996 = 43037.52852 → floor 43037.5
    assert_eq!(plan.take_profit_price(Leg::Long, p("43210.37"), &btc()).unwrap(), p("43383.3"));
    assert_eq!(plan.take_profit_price(Leg::Short, p("43210.37"), &btc()).unwrap(), p("43037.5"));
    let step_tp = GridPlan::from_atr_pct_ema(&params(2), 0.02, &btc(), 0).unwrap();
    assert_eq!(step_tp.take_profit_fraction(), d("0.02"));
}

#[test]
fn average_entry_is_exact() {
    let avg = average_entry(&[(p("100"), q("1")), (p("90"), q("2"))]).unwrap();
    assert!((avg.as_decimal() * d("3") - d("280")).abs() < d("0.00000000000000000001"));
    assert_eq!(average_entry(&[(p("100"), q("1")), (p("94"), q("2"))]).unwrap(), p("96"));
    assert_eq!(average_entry(&[]), None);
}

#[test]
fn typed_errors_name_the_level() {
    let b = btc();
    // 0.0009 rounds to 0 → below min qty at level 0
    let tiny = ProgressiveParams { base_qty: q("0.0009"), ..params(2) };
    assert!(matches!(GridPlan::from_atr_pct_ema(&tiny, 0.01, &b, 0), Err(GridError::QtyBelowMinimum { level: 0, .. })));
    // 2^n overflows max_order_qty 1190 at level 21 (0.001 × 2^21 = 2097.152)
    assert!(matches!(
        GridPlan::from_atr_pct_ema(&params(25), 0.0001, &b, 0),
        Err(GridError::QtyAboveMaximum { level: 21, .. })
    ));
    // distances reach 1 → the long leg would cross zero
    assert!(matches!(
        GridPlan::from_atr_pct_ema(&params(8), 0.2, &b, 0),
        Err(GridError::LevelCrossesZero { level: 4, .. })
    ));
    // a step far below the tick → two levels round to the same price
    let plan = GridPlan::from_atr_pct_ema(&params(3), 0.0000001, &b, 0).unwrap();
    assert!(matches!(plan.ladder(Leg::Long, p("100000"), &b), Err(GridError::NonMonotone { level: 2, .. })));
    // notional: 0.001 × 4000 < 5
    let plan = GridPlan::from_atr_pct_ema(&params(2), 0.01, &b, 0).unwrap();
    assert!(matches!(plan.ladder(Leg::Long, p("4000"), &b), Err(GridError::NotionalBelowMinimum { level: 0, .. })));
    assert!(matches!(GridPlan::from_atr_pct_ema(&params(0), 0.01, &b, 0), Err(GridError::TooFewLevels { .. })));
    assert!(GridPlan::from_atr_pct_ema(&params(2), f64::NAN, &b, 0).is_err());
    let eth = gridbot_core::reference::bybit_ethusdt();
    assert!(matches!(plan.ladder(Leg::Long, p("3000"), &eth), Err(GridError::InstrumentMismatch { .. })));
}

#[test]
fn plan_is_locked_through_serde_and_validated_on_load() {
    let plan = GridPlan::from_atr_pct_ema(&params(5), 0.0171, &btc(), 1_700_000_000_000).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    let back: GridPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    assert_eq!(
        back.ladder(Leg::Long, p("61234.5"), &btc()).unwrap(),
        plan.ladder(Leg::Long, p("61234.5"), &btc()).unwrap()
    );
    // a hand edit that breaks monotonicity is refused
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["distances"][2] = serde_json::Value::String("0.001".into());
    let err = serde_json::from_value::<GridPlan>(v).unwrap_err().to_string();
    assert!(err.contains("distances must increase"), "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["quantities"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<GridPlan>(v).is_err());
}

#[test]
fn build_from_candles_needs_span_candles() {
    let s = OhlcSeries {
        open_time_ms: vec![0, 1],
        open: vec![10.0, 10.0],
        high: vec![11.0, 11.0],
        low: vec![9.0, 9.0],
        close: vec![10.0, 10.0],
    };
    assert!(matches!(
        GridPlan::build(&params(2), &s, &btc(), 0),
        Err(GridError::NotEnoughCandles { needed: 14, got: 2 })
    ));
    let p2 = ProgressiveParams { ema_span: 2, ..params(2) };
    let plan = GridPlan::build(&p2, &s, &btc(), 0).unwrap();
    // TR = [2, 2] → ATR% = 0.2 → EMA = 0.2
    assert_eq!(plan.base_step(), d("0.2"));
}

#[test]
fn classic_profiles_and_layouts() {
    let b = btc();
    let plan =
        ClassicPlan::build(&Profile::Normal.params(p("60000"), q("0.001"), Bias::Neutral), p("60000"), &b).unwrap();
    assert_eq!(plan.levels().len(), 13);
    assert_eq!(plan.levels()[6].price, p("60000"));
    assert_eq!(plan.levels()[6].initial_side, None);
    assert_eq!(plan.levels()[5].initial_side, Some(Side::Buy));
    assert_eq!(plan.levels()[7].initial_side, Some(Side::Sell));
    // 60000 × 1.0025 = 60150 exactly; 60000 / 1.0025 = 59850.374... → floor 59850.3
    assert_eq!(plan.levels()[7].price, p("60150"));
    assert_eq!(plan.levels()[5].price, p("59850.3"));
    assert_eq!(plan.take_profit(), Some(0.002));
    assert_eq!(plan.initial_position(), None);

    let arith = ClassicParams {
        layout: ClassicLayout::Bounds { lower: p("100"), upper: p("200"), levels: 5 },
        progression: Progression::Arithmetic,
        bias: Bias::Long,
        qty_per_level: q("0.1"),
        take_profit: None,
        stop_loss: Some(0.05),
    };
    let plan = ClassicPlan::build(&arith, p("160"), &b).unwrap();
    let prices: Vec<_> = plan.levels().iter().map(|l| l.price).collect();
    assert_eq!(prices, [p("100"), p("125"), p("150"), p("175"), p("200")]);
    assert_eq!(plan.initial_position(), Some((Side::Buy, q("0.2"))));
    let geo = ClassicParams {
        layout: ClassicLayout::Bounds { lower: p("100"), upper: p("400"), levels: 3 },
        progression: Progression::Geometric,
        bias: Bias::Short,
        ..arith
    };
    let plan = ClassicPlan::build(&geo, p("250"), &b).unwrap();
    let prices: Vec<_> = plan.levels().iter().map(|l| l.price).collect();
    assert_eq!(prices, [p("100"), p("200"), p("400")]);
    assert_eq!(plan.initial_position(), Some((Side::Sell, q("0.2"))));
    let spaced = ClassicParams {
        layout: ClassicLayout::BoundsBySpacing { lower: p("100"), upper: p("110"), spacing: 0.025 },
        ..arith
    };
    let plan = ClassicPlan::build(&spaced, p("105"), &b).unwrap();
    let prices: Vec<_> = plan.levels().iter().map(|l| l.price).collect();
    assert_eq!(prices, [p("100"), p("102.5"), p("105"), p("107.5"), p("110")]);
}

#[test]
fn classic_counter_orders_walk_one_level() {
    let b = btc();
    let plan = ClassicPlan::build(&Profile::Conservative.params(p("30000"), q("0.001"), Bias::Neutral), p("30000"), &b)
        .unwrap();
    let up = plan.counter_order(3, Side::Buy).unwrap();
    assert_eq!((up.index, up.initial_side), (4, Some(Side::Sell)));
    let down = plan.counter_order(3, Side::Sell).unwrap();
    assert_eq!((down.index, down.initial_side), (2, Some(Side::Buy)));
    assert_eq!(plan.counter_order(0, Side::Sell), None);
    assert_eq!(plan.counter_order(10, Side::Buy), None);
}

#[test]
fn classic_validation_errors() {
    let b = btc();
    let base = ClassicParams {
        layout: ClassicLayout::Bounds { lower: p("100"), upper: p("200"), levels: 1 },
        progression: Progression::Arithmetic,
        bias: Bias::Neutral,
        qty_per_level: q("0.1"),
        take_profit: None,
        stop_loss: None,
    };
    assert!(matches!(ClassicPlan::build(&base, p("150"), &b), Err(GridError::TooFewLevels { got: 1 })));
    let crossing =
        ClassicParams { layout: ClassicLayout::Centre { centre: p("100"), spacing: 0.3, levels_per_side: 4 }, ..base };
    assert!(matches!(ClassicPlan::build(&crossing, p("100"), &b), Err(GridError::LevelCrossesZero { .. })));
    let dense =
        ClassicParams { layout: ClassicLayout::Bounds { lower: p("100"), upper: p("100.2"), levels: 5 }, ..base };
    assert!(matches!(ClassicPlan::build(&dense, p("100.1"), &b), Err(GridError::NonMonotone { .. })));
    let small = ClassicParams { layout: ClassicLayout::Bounds { lower: p("10"), upper: p("20"), levels: 3 }, ..base };
    assert!(matches!(ClassicPlan::build(&small, p("15"), &b), Err(GridError::NotionalBelowMinimum { level: 0, .. })));
    let tiny = ClassicParams { qty_per_level: q("0.0001"), ..base };
    let tiny = ClassicParams { layout: ClassicLayout::Bounds { lower: p("100"), upper: p("200"), levels: 3 }, ..tiny };
    assert!(matches!(ClassicPlan::build(&tiny, p("150"), &b), Err(GridError::QtyBelowMinimum { .. })));
    let high =
        ClassicParams { layout: ClassicLayout::Bounds { lower: p("1000000"), upper: p("3000000"), levels: 3 }, ..base };
    assert!(matches!(ClassicPlan::build(&high, p("1"), &b), Err(GridError::PriceOutOfBounds { level: 1, .. })));
    let bad_tp = ClassicParams { take_profit: Some(-0.1), ..base };
    assert!(matches!(
        ClassicPlan::build(&bad_tp, p("1"), &b),
        Err(GridError::InvalidParameter { name: "take_profit", .. })
    ));
    assert!(atr_spacing(0.03, 0.5).is_ok());
    assert!(atr_spacing(0.03, 50.0).is_err());
}

#[test]
fn raw_level_prices_and_the_unrounded_step_are_public() {
    let params = ProgressiveParams { horizon_days: 2.0, step_scale_factor: 0.7, ..params(3) };
    let plan = GridPlan::from_atr_pct_ema(&params, 0.0123, &btc(), 0).unwrap();
    assert_eq!(plan.base_step_f64(), 0.0123 * 2f64.sqrt() * 0.7);
    assert_eq!(plan.base_step(), Decimal::from_f64_retain(plan.base_step_f64()).unwrap().round_dp(12));
    let anchor = p("64321.7");
    for level in 0..=3 {
        for leg in [Leg::Long, Leg::Short] {
            let raw = plan.raw_level_price(leg, anchor, level).unwrap();
            let rounded = plan.level_price(leg, anchor, level, &btc()).unwrap();
            let strategy = if leg == Leg::Long {
                RoundingStrategy::ToNegativeInfinity
            } else {
                RoundingStrategy::ToPositiveInfinity
            };
            assert_eq!(rounded.as_decimal(), raw.as_decimal().round_dp_with_strategy(1, strategy), "{leg:?} {level}");
        }
    }
}

#[test]
fn the_plan_says_which_ema_and_old_plans_read_as_adjusted() {
    let days: Vec<gridbot_core::Candle> = (0..30)
        .map(|i: i64| {
            let c = Decimal::from(100 + (i % 7) * 3);
            gridbot_core::Candle {
                open_time_ms: i * 86_400_000,
                open: Price::new(c).unwrap(),
                high: Price::new(c * d("1.03")).unwrap(),
                low: Price::new(c * d("0.98")).unwrap(),
                close: Price::new(c * d("1.01")).unwrap(),
                volume: q("1"),
            }
        })
        .collect();
    let series = OhlcSeries::from_candles(&days);
    let atr = volatility::atr_pct_series(&series);
    let adjusted = GridPlan::build(&params(3), &series, &btc(), 0).unwrap();
    let recursive =
        GridPlan::build(&ProgressiveParams { ema: EmaKind::Recursive, ..params(3) }, &series, &btc(), 0).unwrap();
    assert_eq!(adjusted.atr_pct_ema(), *volatility::ema_adjusted(&atr, 14).unwrap().last().unwrap());
    assert_eq!(recursive.atr_pct_ema(), *volatility::ema_recursive(&atr, 14).unwrap().last().unwrap());
    assert_ne!(adjusted.atr_pct_ema(), recursive.atr_pct_ema());
    // A plan saved before `ema` existed reads back as the adjusted EMA it was built with.
    let mut json: serde_json::Value = serde_json::to_value(&adjusted).unwrap();
    json["params"].as_object_mut().unwrap().remove("ema");
    let old: GridPlan = serde_json::from_value(json).unwrap();
    assert_eq!(old.params().ema, EmaKind::Adjusted);
}

#[test]
fn profiles_are_named_as_the_account_file_writes_them() {
    for p in Profile::ALL {
        assert_eq!(Profile::from_name(p.name()), Some(p));
        let written = serde_json::to_value(p).unwrap();
        assert_eq!(written.as_str(), Some(p.name()), "the same name as serde's");
    }
    assert_eq!(Profile::from_name(" aggressive "), Some(Profile::Aggressive));
    assert_eq!(Profile::from_name("wild"), None);
}

proptest::proptest! {
    /// A trailing shift keeps the grid: the staying levels keep their prices, every gap of the
    /// moved grid stays within two ticks of the grid's average gap (arithmetic) or its ratio
    /// (geometric), and the level count and quantities stay.
    #[test]
    fn a_trailing_shift_keeps_level_spacing(
        centre in 20_000u32..120_000,
        spacing_bp in 10u32..200,
        per_side in 2u32..12,
        geometric in proptest::bool::ANY,
        by in -11i32..12,
    ) {
        let progression = if geometric { Progression::Geometric } else { Progression::Arithmetic };
        let centre = Price::new(Decimal::from(centre)).unwrap();
        let params = ClassicParams {
            layout: ClassicLayout::Centre { centre, spacing: f64::from(spacing_bp) / 10_000.0, levels_per_side: per_side },
            progression,
            bias: Bias::Neutral,
            qty_per_level: q("0.001"),
            take_profit: None,
            stop_loss: None,
        };
        let plan = ClassicPlan::build(&params, centre, &btc()).unwrap();
        let n = plan.levels().len();
        proptest::prop_assume!((by.unsigned_abs() as usize) < n);
        let shifted = plan.shifted(by, progression, centre, &btc()).unwrap();
        proptest::prop_assert_eq!(shifted.levels().len(), n);
        let old: Vec<f64> = plan.levels().iter().map(|l| l.price.to_f64()).collect();
        let new: Vec<f64> = shifted.levels().iter().map(|l| l.price.to_f64()).collect();
        let k = by.unsigned_abs() as usize;
        if by >= 0 {
            proptest::prop_assert_eq!(&new[..n - k], &old[k..]);
        } else {
            proptest::prop_assert_eq!(&new[k..], &old[..n - k]);
        }
        let tick = 0.1;
        #[allow(clippy::cast_precision_loss)]
        let gaps = (n - 1) as f64;
        for w in new.windows(2) {
            if geometric {
                let ratio = (old[n - 1] / old[0]).powf(1.0 / gaps);
                proptest::prop_assert!((w[1] - w[0] * ratio).abs() <= 2.0 * tick + w[0] * 1e-9, "{w:?} ratio {ratio}");
            } else {
                let gap = (old[n - 1] - old[0]) / gaps;
                proptest::prop_assert!(((w[1] - w[0]) - gap).abs() <= 2.0 * tick + 1e-6, "{w:?} gap {gap}");
            }
        }
        proptest::prop_assert!(shifted.levels().iter().all(|l| l.qty == q("0.001")));
    }
}

#[test]
fn a_shift_by_all_the_levels_is_refused() {
    let centre = p("30000");
    let params = ClassicParams {
        layout: ClassicLayout::Centre { centre, spacing: 0.01, levels_per_side: 2 },
        progression: Progression::Arithmetic,
        bias: Bias::Neutral,
        qty_per_level: q("0.001"),
        take_profit: None,
        stop_loss: None,
    };
    let plan = ClassicPlan::build(&params, centre, &btc()).unwrap();
    assert!(plan.shifted(5, Progression::Arithmetic, centre, &btc()).is_err());
    let up = plan.shifted(2, Progression::Arithmetic, p("31000"), &btc()).unwrap();
    assert_eq!(up.levels()[4].price, p("31200"));
    assert_eq!(up.levels()[4].initial_side, Some(Side::Sell));
}
