//! Criterion benchmarks of grid math (`cargo bench -p gridbot-grid`).
//!
//! Inputs are real: the first 3,000 daily BTCUSDT candles of `data/`, and Bybit's BTCUSDT
//! filters. Setup happens outside the timed closures.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridbot_core::{Decimal, Instrument, Leg, OhlcSeries, Price, Qty};
use gridbot_data::load_candles;
use gridbot_grid::volatility::{atr_pct_ema_last, atr_pct_series, ema_adjusted, wilder_atr};
use gridbot_grid::{
    Bias, ClassicLayout, ClassicParams, ClassicPlan, GridPlan, Progression, ProgressiveParams, TakeProfitRule,
};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn btcusdt() -> Instrument {
    gridbot_core::reference::bybit_btcusdt()
}

fn daily_3000() -> OhlcSeries {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binance_BTCUSDT_1d_2017-08_2026-01.csv.gz");
    let candles = load_candles(path).expect("bundled daily candles");
    OhlcSeries::from_candles(&candles[..3000])
}

fn volatility(c: &mut Criterion) {
    let series = daily_3000();
    let mut g = c.benchmark_group("volatility_3000_daily");
    g.throughput(Throughput::Elements(3000));
    g.bench_function("atr_pct_ema_last_span14", |b| b.iter(|| atr_pct_ema_last(black_box(&series), 14).unwrap()));
    g.bench_function("atr_pct_series_then_ema_adjusted_span14", |b| {
        b.iter(|| ema_adjusted(&atr_pct_series(black_box(&series)), 14).unwrap())
    });
    g.bench_function("wilder_atr_14", |b| b.iter(|| wilder_atr(black_box(&series), 14).unwrap()));
    g.finish();
}

fn progressive(c: &mut Criterion) {
    let instrument = btcusdt();
    let anchor: Price = "61234.5".parse().unwrap();
    let base_qty: Qty = "0.001".parse().unwrap();
    let mut g = c.benchmark_group("progressive_plan");
    // 10 protective levels, the martingale (2ⁿ), step from a 3% daily ATR.
    let ten = ProgressiveParams { max_levels: 10, ..ProgressiveParams::with_base_qty(base_qty) };
    // 100 levels: 2¹⁰⁰ exceeds every exchange limit (and Decimal), so quantities grow 2% per
    // level; the step is 0.1% so level 100 (Σ√k ≈ 671 steps) stays above zero.
    let hundred = ProgressiveParams {
        max_levels: 100,
        qty_multiplier: d("1.02"),
        take_profit: TakeProfitRule::Fraction(0.004),
        ..ProgressiveParams::with_base_qty(base_qty)
    };
    for (name, params, atr) in [("levels_10", &ten, 0.03), ("levels_100", &hundred, 0.001)] {
        g.throughput(Throughput::Elements(u64::from(params.max_levels) + 1));
        g.bench_function(format!("{name}_build_and_ladder"), |b| {
            b.iter(|| {
                let plan = GridPlan::from_atr_pct_ema(black_box(params), black_box(atr), &instrument, 0).unwrap();
                plan.ladder(Leg::Long, black_box(anchor), &instrument).unwrap()
            })
        });
        let plan = GridPlan::from_atr_pct_ema(params, atr, &instrument, 0).unwrap();
        g.bench_function(format!("{name}_ladder_only"), |b| {
            b.iter(|| plan.ladder(Leg::Short, black_box(anchor), &instrument).unwrap())
        });
    }
    g.finish();
}

fn classic(c: &mut Criterion) {
    let instrument = btcusdt();
    let params = ClassicParams {
        layout: ClassicLayout::Bounds { lower: "50000".parse().unwrap(), upper: "70000".parse().unwrap(), levels: 200 },
        progression: Progression::Geometric,
        bias: Bias::Neutral,
        qty_per_level: "0.001".parse().unwrap(),
        take_profit: None,
        stop_loss: None,
    };
    let reference: Price = "61234.5".parse().unwrap();
    let mut g = c.benchmark_group("classic_plan");
    g.throughput(Throughput::Elements(200));
    g.bench_function("geometric_200_levels", |b| {
        b.iter(|| ClassicPlan::build(black_box(&params), black_box(reference), &instrument).unwrap())
    });
    g.finish();
}

criterion_group!(benches, volatility, progressive, classic);
criterion_main!(benches);
