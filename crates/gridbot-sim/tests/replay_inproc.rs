//! The in-process simulator through gridbot-core's `Exchange` trait, replaying the bundled
//! real 1-minute BTCUSDT candles.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    Decimal, Exchange, ExecType, OrderLinkId, OrderRequest, PositionIdx, PositionMode, Price, Side, Symbol,
    TimeInForce, TimeWindow,
};
use gridbot_sim::{CandleReplay, MatchingEngine, SimConfig, SimEvent, SimExchange};

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn sim(days: usize) -> std::sync::Arc<SimExchange> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz");
    let candles = gridbot_data::load_candles(path).unwrap();
    let candles = candles[..days * 1440].to_vec();
    let replay = CandleReplay::new(60_000, BTreeMap::from([(btc(), candles)]));
    SimExchange::new(MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]), replay)
}

#[test]
fn a_hedge_mode_grid_trades_through_real_candles_and_the_books_balance() {
    let sim = sim(3);
    let id = sim.add_account(Decimal::from(100_000));
    let ex = sim.account(id);
    ex.set_position_mode(&btc(), PositionMode::Hedge).unwrap();
    ex.set_position_mode(&btc(), PositionMode::Hedge).unwrap(); // not modified = ok
    ex.set_leverage(&btc(), Decimal::from(10), Decimal::from(10)).unwrap();
    let (t0, _) = sim.step().unwrap();
    let first = ex.ticker(&btc()).unwrap().last_price;
    // a symmetric ladder: buys below on the long leg, sells above on the short leg
    let instrument = ex.instrument(&btc()).unwrap();
    for i in 1..=10u32 {
        let step = first.as_decimal() * Decimal::new(3, 3) * Decimal::from(i);
        let buy = instrument.round_buy_price(Price::new(first.as_decimal() - step).unwrap());
        let sell = instrument.round_sell_price(Price::new(first.as_decimal() + step).unwrap());
        let qty = "0.01".parse().unwrap();
        let link = |s: &str| OrderLinkId::new(format!("{s}{i}")).unwrap();
        ex.place(&OrderRequest::limit(btc(), Side::Buy, qty, buy, TimeInForce::PostOnly, PositionIdx::Long, link("b")))
            .unwrap();
        ex.place(&OrderRequest::limit(
            btc(),
            Side::Sell,
            qty,
            sell,
            TimeInForce::PostOnly,
            PositionIdx::Short,
            link("s"),
        ))
        .unwrap();
    }
    assert_eq!(ex.open_orders(&btc()).unwrap().len(), 20);
    let mut fills = 0;
    while let Some((_, events)) = sim.step() {
        fills +=
            events.iter().filter(|e| matches!(e, SimEvent::Execution(_, x) if x.exec_type == ExecType::Trade)).count();
    }
    assert!(fills > 0, "three real days move BTC more than 0.3%");
    let now = ex.server_time().unwrap();
    let executions = ex.executions(&btc(), TimeWindow { start_ms: 0, end_ms: now }).unwrap();
    // wallet = initial − fees − funding + realised; realised is 0 (only opening fills), so:
    let fees: Decimal = executions.iter().map(|e| e.exec_fee).sum();
    let wallet = ex.wallet().unwrap();
    assert_eq!(wallet.total_wallet_balance, Decimal::from(100_000) - fees);
    assert!(executions.iter().filter(|e| e.exec_type == ExecType::Trade).all(|e| e.is_maker), "PostOnly never takes");
    assert!(executions.iter().any(|e| e.exec_type == ExecType::Funding), "three days cross funding times");
    let positions = ex.positions(&btc()).unwrap();
    assert_eq!(positions.len(), 2);
    let filled_long: Decimal = executions
        .iter()
        .filter(|e| e.exec_type == ExecType::Trade && e.side == Side::Buy)
        .map(|e| e.exec_qty.as_decimal())
        .sum();
    assert_eq!(positions[0].size.as_decimal(), filled_long);
    let funding = ex.funding_history(&btc(), TimeWindow { start_ms: t0, end_ms: now }).unwrap();
    assert_eq!(
        funding.len(),
        executions
            .iter()
            .filter(|e| e.exec_type == ExecType::Funding)
            .map(|e| e.exec_time_ms)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
}

#[test]
fn replay_is_deterministic() {
    let run = || {
        let sim = sim(1);
        let id = sim.add_account(Decimal::from(10_000));
        let ex = sim.account(id);
        sim.step().unwrap();
        let last = ex.ticker(&btc()).unwrap().last_price;
        let price = Price::new(last.as_decimal() * Decimal::new(998, 3)).unwrap();
        let price = ex.instrument(&btc()).unwrap().round_buy_price(price);
        ex.place(&OrderRequest::limit(
            btc(),
            Side::Buy,
            "0.01".parse().unwrap(),
            price,
            TimeInForce::Gtc,
            PositionIdx::OneWay,
            OrderLinkId::new("x").unwrap(),
        ))
        .unwrap();
        let mut log = Vec::new();
        while let Some((t, events)) = sim.step() {
            log.push(format!("{t}:{events:?}"));
        }
        log
    };
    assert_eq!(run(), run());
}

/// An exchange with a hedge-mode ladder resting around the first price, an open short (so a
/// liquidation price exists) and a thin wallet, after the first candle.
fn laddered(days: usize, wallet: i64) -> (MatchingEngine, CandleReplay) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz");
    let candles = gridbot_data::load_candles(path).unwrap()[..days * 1440].to_vec();
    let mut replay = CandleReplay::new(60_000, BTreeMap::from([(btc(), candles)]));
    let mut engine = MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]);
    let id = engine.add_account(Decimal::from(wallet));
    engine.switch_mode(id, &btc(), PositionMode::Hedge).unwrap();
    engine.set_leverage(id, &btc(), Decimal::from(20), Decimal::from(20)).unwrap();
    replay.step(&mut engine);
    let first = engine.mark(&btc()).unwrap().as_decimal();
    let instrument = engine.instrument(&btc()).unwrap().clone();
    let qty = "0.01".parse().unwrap();
    engine
        .place(
            id,
            &OrderRequest::market(
                btc(),
                Side::Sell,
                "0.1".parse().unwrap(),
                PositionIdx::Short,
                OrderLinkId::new("open").unwrap(),
            ),
        )
        .unwrap();
    for i in 1..=12u32 {
        let step = first * Decimal::new(4, 3) * Decimal::from(i);
        let buy = instrument.round_buy_price(Price::new(first - step).unwrap());
        let sell = instrument.round_sell_price(Price::new(first + step).unwrap());
        let link = |s: &str| OrderLinkId::new(format!("{s}{i}")).unwrap();
        let limit = |side, price, idx, l| OrderRequest::limit(btc(), side, qty, price, TimeInForce::Gtc, idx, l);
        // A thin wallet cannot margin the whole ladder: the orders it rejects are simply absent.
        let _ = engine.place(id, &limit(Side::Buy, buy, PositionIdx::Long, link("b")));
        let _ = engine.place(id, &limit(Side::Sell, sell, PositionIdx::Short, link("s")));
    }
    engine.drain_events();
    (engine, replay)
}

/// The backtest's fast-forward (`advance_quiet`, which strides whole candles that cannot
/// matter) leaves the exchange exactly as walking every point does: the same events in the
/// same order, the same saved state at the end — fills, a liquidation and funding included.
#[test]
fn walking_quietly_is_walking_point_by_point() {
    for wallet in [250, 100_000] {
        let (mut walked, mut every) = laddered(10, wallet);
        let mut walked_events = Vec::new();
        while every.step_point(&mut walked).is_some() {
            walked_events.extend(walked.drain_events());
        }
        let (mut strode, mut quiet) = laddered(10, wallet);
        let mut strode_events = Vec::new();
        let mut stops = 0;
        loop {
            let walk = quiet.advance_quiet(&mut strode, &[None], i64::MAX, i64::MAX);
            strode_events.extend(strode.drain_events());
            match walk.end {
                gridbot_sim::QuietEnd::Done => break,
                gridbot_sim::QuietEnd::Paused | gridbot_sim::QuietEnd::CloseReached { .. } => {
                    unreachable!("no pause asked for")
                }
                gridbot_sim::QuietEnd::Stopped { .. } => stops += 1,
            }
        }
        assert!(wallet < 1_000 || stops > 10, "the ladder filled on the way ({stops} stops)");
        let executions = |events: &[SimEvent]| events.iter().filter(|e| matches!(e, SimEvent::Execution(..))).count();
        assert_eq!(executions(&strode_events), executions(&walked_events), "wallet {wallet}");
        assert!(strode_events == walked_events, "wallet {wallet}: the event streams differ");
        let state = |e: &MatchingEngine| serde_json::to_string(e).unwrap();
        assert_eq!(state(&strode), state(&walked), "wallet {wallet}");
        let busts = walked_events
            .iter()
            .filter(|e| matches!(e, SimEvent::Execution(_, x) if x.exec_type == ExecType::BustTrade))
            .count();
        let funding = walked_events
            .iter()
            .filter(|e| matches!(e, SimEvent::Execution(_, x) if x.exec_type == ExecType::Funding))
            .count();
        assert!(funding > 0, "wallet {wallet}: funding settled on the way");
        if wallet == 250 {
            assert!(busts > 0, "the thin wallet is liquidated on the way");
        }
    }
}
