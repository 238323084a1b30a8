//! The data path every backtest starts with, on the bundled real candles
//! (`cargo bench -p gridbot-benches`): load 67,710 gzip 1-minute candles, resample them to
//! days, and go from the daily file to a locked plan.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridbot_core::{Interval, OhlcSeries};
use gridbot_data::{load_candles, resample};
use gridbot_grid::{GridPlan, ProgressiveParams};

fn data(name: &str) -> String {
    format!("{}/../data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pipeline(c: &mut Criterion) {
    let minute_file = data("binance_BTCUSDT_1m_2021-08_2021-09.csv.gz");
    let daily_file = data("binance_BTCUSDT_1d_2017-08_2026-01.csv.gz");
    let minutes = load_candles(&minute_file).unwrap();
    let daily = load_candles(&daily_file).unwrap();
    let n_min = minutes.len() as u64;
    let instrument = gridbot_core::reference::bybit_btcusdt();
    let params = ProgressiveParams::with_base_qty("0.001".parse().unwrap());

    let mut g = c.benchmark_group("data_pipeline");
    g.sample_size(20);
    g.throughput(Throughput::Elements(n_min));
    g.bench_function("load_gzip_1m_candles", |b| b.iter(|| load_candles(black_box(&minute_file)).unwrap()));
    g.bench_function("resample_1m_to_1d", |b| b.iter(|| resample(black_box(&minutes), Interval::D1).unwrap()));
    g.throughput(Throughput::Elements(daily.len() as u64));
    g.bench_function("daily_file_to_locked_plan", |b| {
        b.iter(|| {
            let candles = load_candles(black_box(&daily_file)).unwrap();
            let series = OhlcSeries::from_candles(&candles);
            GridPlan::build(&params, &series, &instrument, 0).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
