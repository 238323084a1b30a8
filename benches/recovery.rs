//! Bench script (prints its figures): recovery of one account trading 10 symbols against the
//! in-process simulator — wall time and the number of exchange calls.
//! Target: ≤ 50 ms for 1 account × 10 symbols.
//!
//! `cargo bench -p gridbot-benches --bench recovery`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::cast_precision_loss)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    Candle, Decimal, Exchange, ExchangeError, Execution, FundingRate, Instrument, InstrumentSpec, KlineQuery, Leg,
    Order, OrderAck, OrderBookTop, OrderLinkId, OrderRef, OrderRequest, OrderRole, Position, PositionMode, Symbol,
    Ticker, TimeInForce, TimeWindow, Wallet,
};
use gridbot_grid::{GridPlan, ProgressiveParams};
use gridbot_recovery::{LinkTag, RecoveryInput, recover};
use gridbot_sim::{CandleReplay, MatchingEngine, SimAccount, SimConfig, SimExchange};

/// Counts every exchange call, delegating to the simulator.
struct Counting<'a> {
    inner: &'a SimAccount,
    calls: Cell<usize>,
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Exchange for Counting<'_> {
            $(fn $name(&self, $($arg: $ty),*) -> Result<$ret, ExchangeError> {
                self.calls.set(self.calls.get() + 1);
                self.inner.$name($($arg),*)
            })*
        }
    };
}

delegate! {
    server_time() -> i64;
    instruments() -> Vec<Instrument>;
    instrument(symbol: &Symbol) -> Instrument;
    ticker(symbol: &Symbol) -> Ticker;
    klines(query: &KlineQuery) -> Vec<Candle>;
    orderbook_top(symbol: &Symbol) -> OrderBookTop;
    place(order: &OrderRequest) -> OrderAck;
    cancel(symbol: &Symbol, order: &OrderRef) -> OrderAck;
    cancel_all(symbol: &Symbol) -> Vec<OrderAck>;
    open_orders(symbol: &Symbol) -> Vec<Order>;
    order_history(symbol: &Symbol, window: TimeWindow) -> Vec<Order>;
    executions(symbol: &Symbol, window: TimeWindow) -> Vec<Execution>;
    positions(symbol: &Symbol) -> Vec<Position>;
    wallet() -> Wallet;
    set_leverage(symbol: &Symbol, buy: Decimal, sell: Decimal) -> ();
    set_position_mode(symbol: &Symbol, mode: PositionMode) -> ();
    funding_history(symbol: &Symbol, window: TimeWindow) -> Vec<FundingRate>;
}

const SYMBOLS: usize = 10;

fn symbols() -> Vec<Symbol> {
    (0..SYMBOLS).map(|i| Symbol::new(format!("S{i}USDT")).unwrap()).collect()
}

fn plan(instrument: &Instrument) -> GridPlan {
    let params = ProgressiveParams { max_levels: 6, ..ProgressiveParams::with_base_qty("0.001".parse().unwrap()) };
    GridPlan::from_atr_pct_ema(&params, 0.01, instrument, 0).unwrap()
}

/// Ten symbols, each with a long leg at level 2 and a flat short leg, traded the way the bot does.
fn setup() -> (std::sync::Arc<SimExchange>, SimAccount, Vec<Instrument>) {
    let instruments: Vec<Instrument> = symbols()
        .into_iter()
        .map(|s| Instrument::try_from(InstrumentSpec { symbol: s, ..bybit_btcusdt().spec().clone() }).unwrap())
        .collect();
    let sim = SimExchange::new(
        MatchingEngine::new(SimConfig::default(), instruments.clone()),
        CandleReplay::new(60_000, BTreeMap::new()),
    );
    let id = sim.add_account(Decimal::from(10_000_000));
    let ex = sim.account(id);
    sim.with_engine(|e| e.set_time(1_700_000_000_000));
    for (n, i) in (0u32..).zip(&instruments) {
        let s = i.symbol().clone();
        sim.with_engine(|e| e.move_price(&s, "30000".parse().unwrap()));
        ex.set_position_mode(&s, PositionMode::Hedge).unwrap();
        let plan = plan(i);
        let tag = |role, level, nonce: u32| LinkTag {
            account: "acc1".into(),
            leg: Leg::Long,
            cycle: 1,
            role,
            level,
            nonce: nonce + 100 * n,
        };
        ex.place(&OrderRequest::market(
            s.clone(),
            Leg::Long.entry_side(),
            plan.quantities()[0],
            Leg::Long.position_idx(),
            tag(OrderRole::Balance, 0, 1).encode().unwrap(),
        ))
        .unwrap();
        let anchor = ex.executions(&s, TimeWindow { start_ms: 0, end_ms: i64::MAX }).unwrap()[0].exec_price;
        for k in 1..=2u32 {
            let price = plan.level_price(Leg::Long, anchor, k, i).unwrap();
            let link: OrderLinkId = tag(OrderRole::Protective, k, 10 + k).encode().unwrap();
            ex.place(&OrderRequest::limit(
                s.clone(),
                Leg::Long.entry_side(),
                plan.quantities()[k as usize],
                price,
                TimeInForce::PostOnly,
                Leg::Long.position_idx(),
                link,
            ))
            .unwrap();
            sim.with_engine(|e| e.move_price(&s, price.checked_sub(Decimal::ONE).unwrap()));
        }
    }
    (sim, ex, instruments)
}

fn run(ex: &SimAccount, instruments: &[Instrument], now_ms: i64) -> (Duration, usize, bool) {
    let counting = Counting { inner: ex, calls: Cell::new(0) };
    let plans: Vec<GridPlan> = instruments.iter().map(plan).collect();
    let start = Instant::now();
    let mut unchanged = true;
    for (i, instrument) in instruments.iter().enumerate() {
        let input = RecoveryInput {
            account_tag: "acc1",
            symbol: instrument.symbol(),
            plan: &plans[i],
            snapshot: None,
            history: TimeWindow { start_ms: now_ms - 7 * 86_400_000, end_ms: now_ms },
            now_ms,
            dry_run: false,
            take_profit_ladder: None,
        };
        let report =
            recover(&counting, &input, &mut gridbot_recovery::NonceSource::new(instrument.symbol(), now_ms)).unwrap();
        unchanged &= report.unchanged;
    }
    (start.elapsed(), counting.calls.get(), unchanged)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runs = 20;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let (mut calls_first, mut calls_second) = (0, 0);
    for r in 0..runs {
        let (_sim, ex, instruments) = setup();
        let (t1, c1, u1) = run(&ex, &instruments, 1_700_000_100_000 + r);
        let (t2, c2, u2) = run(&ex, &instruments, 1_700_000_200_000 + r);
        assert!(!u1 && u2, "the first run restores, the second finds everything in place");
        first.push(t1);
        second.push(t2);
        calls_first = c1;
        calls_second = c2;
    }
    first.sort();
    second.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    println!(
        "recovery, 1 account x {SYMBOLS} symbols (long leg at level 2, short flat), in-process simulator, {runs} runs:"
    );
    println!(
        "  first run (cancel + place):   median {:?}, max {:?}, {calls_first} exchange calls",
        median(&first),
        first[first.len() - 1]
    );
    println!(
        "  second run (nothing to do):   median {:?}, max {:?}, {calls_second} exchange calls",
        median(&second),
        second[second.len() - 1]
    );
}
