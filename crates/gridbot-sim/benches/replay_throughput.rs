//! Criterion: in-process replay of the bundled 67,710 real 1-minute BTCUSDT candles with a
//! resting 20-order grid (`cargo bench -p gridbot-sim`). Target ≥ 5 million candles/s.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{Decimal, OrderLinkId, OrderRequest, PositionIdx, PositionMode, Price, Side, Symbol, TimeInForce};
use gridbot_sim::{CandleReplay, MatchingEngine, SimConfig};

fn setup(candles: &[gridbot_core::Candle], spacing: Decimal) -> (MatchingEngine, CandleReplay) {
    let btc = Symbol::new("BTCUSDT").unwrap();
    let instrument = bybit_btcusdt();
    let mut engine = MatchingEngine::new(SimConfig::default(), vec![instrument.clone()]);
    let id = engine.add_account(Decimal::from(1_000_000));
    engine.switch_mode(id, &btc, PositionMode::Hedge).unwrap();
    let mut replay = CandleReplay::new(60_000, BTreeMap::from([(btc.clone(), candles.to_vec())]));
    replay.step(&mut engine);
    let last = engine.mark(&btc).unwrap().as_decimal();
    for i in 1..=10u32 {
        let step = last * spacing * Decimal::from(i);
        let buy = instrument.round_buy_price(Price::new(last - step).unwrap());
        let sell = instrument.round_sell_price(Price::new(last + step).unwrap());
        let qty = "0.01".parse().unwrap();
        let link = |s: &str| OrderLinkId::new(format!("{s}{i}")).unwrap();
        engine
            .place(
                id,
                &OrderRequest::limit(
                    btc.clone(),
                    Side::Buy,
                    qty,
                    buy,
                    TimeInForce::PostOnly,
                    PositionIdx::Long,
                    link("b"),
                ),
            )
            .unwrap();
        engine
            .place(
                id,
                &OrderRequest::limit(
                    btc.clone(),
                    Side::Sell,
                    qty,
                    sell,
                    TimeInForce::PostOnly,
                    PositionIdx::Short,
                    link("s"),
                ),
            )
            .unwrap();
    }
    engine.drain_events();
    (engine, replay)
}

fn bench(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz");
    let candles = gridbot_data::load_candles(path).unwrap();
    let mut g = c.benchmark_group("replay");
    g.sample_size(20);
    g.throughput(Throughput::Elements(candles.len() as u64 - 1));
    // 1% apart: the grid rests for the whole replay (what a resting grid costs per candle)
    g.bench_function("1m_candles_20_resting_orders", |b| {
        b.iter_batched(
            || setup(&candles, Decimal::new(1, 2)),
            |(mut engine, mut replay)| {
                while replay.step(&mut engine).is_some() {}
                engine
            },
            BatchSize::LargeInput,
        )
    });
    // 0.3% apart: orders fill as BTC moves, positions open, liquidation checks run
    g.bench_function("1m_candles_20_orders_filling", |b| {
        b.iter_batched(
            || setup(&candles, Decimal::new(3, 3)),
            |(mut engine, mut replay)| {
                while replay.step(&mut engine).is_some() {}
                engine.drain_events();
                engine
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
