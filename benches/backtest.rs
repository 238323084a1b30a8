//! Backtest throughput: the live core (progressive grid, both legs, risk on) over real
//! one-minute BTCUSDT candles, in-process, candles loaded once and shared. Throughput is
//! candles per second, comparable with gridbot-sim's `replay/1m_candles_20_resting_orders`
//! bench on the same machine.
//!
//! Data: `../shared/data/binance_BTCUSDT_1m_2020-11_2021-04.csv.gz` (209,430 rows; read from
//! the shared data directory beside the repository when it is there), else the bundled
//! `data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz`.
//!
//! `cargo bench -p gridbot-benches --bench backtest`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridbot_backtest::{AccountSpec, BacktestSettings, MarketData, Window, run};
use gridbot_core::{Decimal, Symbol};
use gridbot_grid::{ProgressiveParams, TakeProfitRule};
use gridbot_risk::RiskParams;
use gridbot_strategy::ProgressiveSettings;
use gridbot_strategy::config::{ProgressiveConfig, StrategyConfig, SymbolConfig};

fn data_file() -> PathBuf {
    let shared = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/binance_BTCUSDT_1m_2020-11_2021-04.csv.gz"
    ));
    if shared.exists() {
        shared
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz"))
    }
}

fn spec() -> AccountSpec {
    let params = ProgressiveParams {
        max_levels: 6,
        step_scale_factor: 0.25,
        take_profit: TakeProfitRule::Fraction(0.003),
        ..ProgressiveParams::with_base_qty("0.002".parse().unwrap())
    };
    AccountSpec {
        account_id: "bench".into(),
        tag: "bench".into(),
        symbols: vec![SymbolConfig {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            leverage: Decimal::from(5),
            risk_limit: Decimal::from(2_000_000),
            strategy: StrategyConfig::Progressive(ProgressiveConfig {
                params,
                atr_pct: None,
                settings: ProgressiveSettings::default(),
            }),
        }],
        risk: RiskParams::default(),
    }
}

fn bench(c: &mut Criterion) {
    let file = data_file();
    let data = MarketData::load(&[(Symbol::new("BTCUSDT").unwrap(), file.clone())]).unwrap();
    let spec = spec();
    let settings = BacktestSettings::default();
    let probe = run(&spec, &data, &settings, Window::default(), &mut |_| {}).unwrap();
    println!(
        "{}: {} candle steps traded, {} fills, {} cycles",
        file.display(),
        probe.candle_steps,
        probe.metrics.fills,
        probe.metrics.cycles.closed
    );
    let mut group = c.benchmark_group("backtest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(probe.candle_steps));
    group.bench_function("progressive_both_legs_risk_on_1m_candles", |b| {
        b.iter(|| run(&spec, &data, &settings, Window::default(), &mut |_| {}).unwrap());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
