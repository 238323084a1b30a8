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
