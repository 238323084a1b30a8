//! The core alone, in one thread, no files: an `AccountCore` opened with `open_symbol` and
//! driven by `drive` over the in-process simulator replaying days of the bundled real BTCUSDT
//! perpetual minutes. Levels climb, take-profits fill, each leg's cycle number increments, and
//! at the end the exchange's positions are the grid's legs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::collections::BTreeMap;

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::time::DAY_MS;
use gridbot_core::{Decimal, Exchange, Leg, Qty, Symbol};
use gridbot_grid::{ProgressiveParams, TakeProfitRule};
use gridbot_risk::RiskParams;
use gridbot_sim::{CandleReplay, MatchingEngine, SimAccount, SimConfig, SimEvent, SimExchange};
use gridbot_strategy::config::{ProgressiveConfig, StrategyConfig, SymbolConfig};
use gridbot_strategy::{AccountCore, CoreEvent, CoreStart, Grid, ProgressiveSettings, Venue, drive, open_symbol};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz");

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

/// The simulator's events for `account`, as the core's events, in the live queue's priority
/// order (executions, orders, positions, wallet), followed by the book.
fn core_events(ex: &SimAccount, events: Vec<SimEvent>) -> Vec<CoreEvent> {
    let (mut executions, mut orders, mut positions, mut wallet) = (Vec::new(), Vec::new(), false, false);
    for e in events {
        match e {
            SimEvent::Execution(a, x) if a == ex.id() => executions.push(x),
            SimEvent::Order(a, o) if a == ex.id() => orders.push(o),
            SimEvent::Position(a, ..) if a == ex.id() => positions = true,
            SimEvent::Wallet(a) if a == ex.id() => wallet = true,
            _ => {}
        }
    }
    let mut out = Vec::new();
    if !executions.is_empty() {
        out.push(CoreEvent::Executions(executions));
    }
    if !orders.is_empty() {
        out.push(CoreEvent::Orders(orders));
    }
    if positions {
        out.push(CoreEvent::Positions(ex.positions(&btc()).unwrap()));
    }
    if wallet {
        out.push(CoreEvent::Wallet(ex.wallet().unwrap()));
    }
    out
}

#[test]
fn the_core_trades_days_of_real_minutes_against_the_in_process_simulator() {
    let candles = gridbot_data::load_candles(DATA).unwrap();
    let start = candles[0].open_time_ms;
    let sim = SimExchange::new(
        MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]),
        CandleReplay::new(60_000, BTreeMap::from([(btc(), candles)])),
    );
    let ex = sim.account(sim.add_account(Decimal::from(100_000)));
    // Sixteen days of history first: the plan locks from the daily ATR, as live.
    sim.advance_to(start + 16 * DAY_MS);
    sim.drain_events();
    let params = ProgressiveParams {
        max_levels: 6,
        step_scale_factor: 0.25,
        take_profit: TakeProfitRule::Fraction(0.003),
        ..ProgressiveParams::with_base_qty("0.002".parse().unwrap())
    };
    let config = SymbolConfig {
        symbol: btc(),
        leverage: Decimal::from(5),
        risk_limit: Decimal::from(2_000_000),
        strategy: StrategyConfig::Progressive(ProgressiveConfig {
            params,
            atr_pct: None,
            settings: ProgressiveSettings::default(),
        }),
    };
    let now = ex.server_time().unwrap();
    let opened = open_symbol(&ex, "core", &config, None, None, now, false).unwrap();
    assert!(opened.new_plan.is_some(), "a plan was locked from the replayed daily candles");
    let start_state = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    let mut core = AccountCore::new("core", RiskParams::default(), vec![opened.core], start_state);
    let mut gate = || true;
    let mut venue = Venue { exchange: &ex, may_send: &mut gate };
    let mut feed = |core: &mut AccountCore, event: CoreEvent, now: i64| {
        let mut pending = vec![event];
        while !pending.is_empty() {
            for event in pending {
                drive(core, &mut venue, event, now, false);
            }
            // What our own requests caused (acks, immediate fills) comes back as events.
            pending = core_events(&ex, sim.drain_events());
        }
    };
    feed(&mut core, CoreEvent::Start, now);
    let end = now + 4 * DAY_MS;
    let mut sent_before_fills = true;
    while let Some((t, events)) = sim.step() {
        if t > end {
            break;
        }
        for event in core_events(&ex, events) {
            feed(&mut core, event, t);
        }
        let top = ex.orderbook_top(&btc()).unwrap();
        let book =
            CoreEvent::Book { symbol: btc(), bid: top.bid.map(|l| l.price), ask: top.ask.map(|l| l.price), ts_ms: t };
        feed(&mut core, book, t);
        feed(&mut core, CoreEvent::Tick, t);
        sent_before_fills &= core.stats().strategy.fills == 0;
    }
    assert!(!sent_before_fills, "nothing filled");
    let stats = core.stats();
    eprintln!("{stats:#?}");
    assert!(stats.strategy.max_level >= 1, "legs should level up: {stats:?}");
    assert!(stats.strategy.cycles >= 3, "take-profits should fill: {stats:?}");
    let Grid::Progressive(grid) = core.symbols()[0].grid() else { panic!("a progressive grid") };
    let state = grid.state();
    assert!(state.long.cycle + state.short.cycle >= 2 + 3, "cycle numbers increment: {state:?}");
    // The exchange holds what the legs say.
    let sizes = grid.leg_sizes();
    for p in ex.positions(&btc()).unwrap() {
        let leg = if p.position_idx == gridbot_core::PositionIdx::Long { Leg::Long } else { Leg::Short };
        assert_eq!(p.size, *sizes.get(leg), "{leg:?}");
    }
    assert!(Leg::BOTH.iter().any(|l| *sizes.get(*l) > Qty::ZERO) || stats.strategy.cycles > 0);
}
