//! Saving the simulator mid-replay and restoring it gives exactly the run that was never
//! interrupted; a damaged state file is a typed error.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{Decimal, OrderLinkId, OrderRequest, PositionIdx, PositionMode, Price, Side, Symbol, TimeInForce};
use gridbot_sim::state::{StateError, load, save};
use gridbot_sim::{CandleReplay, MatchingEngine, SimConfig};

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn fresh() -> (MatchingEngine, CandleReplay) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz");
    let candles = gridbot_data::load_candles(path).unwrap()[..2 * 1440].to_vec();
    let replay = CandleReplay::new(60_000, BTreeMap::from([(btc(), candles)]));
    (MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]), replay)
}

fn setup(engine: &mut MatchingEngine, replay: &mut CandleReplay) {
    let a = engine.add_account(Decimal::from(50_000));
    engine.switch_mode(a, &btc(), PositionMode::Hedge).unwrap();
    replay.step(engine);
    let last = engine.mark(&btc()).unwrap().as_decimal();
    for i in 1..=10u32 {
        let step = last * Decimal::new(2, 3) * Decimal::from(i);
        let buy = bybit_btcusdt().round_buy_price(Price::new(last - step).unwrap());
        let sell = bybit_btcusdt().round_sell_price(Price::new(last + step).unwrap());
        let link = |s: &str| OrderLinkId::new(format!("{s}{i}")).unwrap();
        engine
            .place(
                a,
                &OrderRequest::limit(
                    btc(),
                    Side::Buy,
                    "0.01".parse().unwrap(),
                    buy,
                    TimeInForce::Gtc,
                    PositionIdx::Long,
                    link("b"),
                ),
            )
            .unwrap();
        engine
            .place(
                a,
                &OrderRequest::limit(
                    btc(),
                    Side::Sell,
                    "0.01".parse().unwrap(),
                    sell,
                    TimeInForce::Gtc,
                    PositionIdx::Short,
                    link("s"),
                ),
            )
            .unwrap();
    }
}

/// The run's outcome, compared by value (a restored decimal may print with fewer zeros).
fn finish(
    engine: &mut MatchingEngine,
    replay: &mut CandleReplay,
) -> (gridbot_core::Wallet, Vec<gridbot_core::Execution>, Vec<gridbot_core::Order>) {
    while replay.step(engine).is_some() {}
    (engine.wallet(0).unwrap(), engine.executions(0, &btc(), 0, i64::MAX), engine.open_orders(0, &btc()))
}

#[test]
fn save_and_restore_mid_replay_changes_nothing() {
    let (mut e1, mut r1) = fresh();
    setup(&mut e1, &mut r1);
    let uninterrupted = finish(&mut e1, &mut r1);

    let (mut e2, mut r2) = fresh();
    setup(&mut e2, &mut r2);
    for _ in 0..1_500 {
        r2.step(&mut e2);
    }
    let dir = std::env::temp_dir().join(format!("gridbot-sim-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sim.json");
    save(&file, &e2, &r2).unwrap();
    drop((e2, r2));
    let (_, mut r3) = fresh();
    let mut e3 = load(&file, &mut r3).unwrap();
    assert_eq!(finish(&mut e3, &mut r3), uninterrupted);

    std::fs::write(&file, "{\"version\": 1, \"engine\": ").unwrap();
    assert!(matches!(load(&file, &mut fresh().1), Err(StateError::Invalid { .. })));
    assert!(matches!(load(&dir.join("missing.json"), &mut fresh().1), Err(StateError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_replay_moved_to_the_wall_clock_restores_at_the_same_times() {
    let (mut engine, replay) = fresh();
    let offset = 500 * 86_400_000;
    let mut moved = replay.shifted(offset);
    let first = moved.next_time().unwrap();
    moved.step(&mut engine);
    moved.step(&mut engine);
    let dir = std::env::temp_dir().join(format!("gridbot-sim-shifted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    save(&path, &engine, &moved).unwrap();
    // A restart loads the data files afresh (unmoved): restoring moves them as saved.
    let (_, mut reloaded) = fresh();
    let engine2 = load(&path, &mut reloaded).unwrap();
    assert_eq!(engine2.now_ms(), engine.now_ms());
    assert_eq!(reloaded.next_time(), moved.next_time());
    assert_eq!(reloaded.next_time(), Some(first + 2 * 60_000));
    std::fs::remove_dir_all(&dir).unwrap();
}
