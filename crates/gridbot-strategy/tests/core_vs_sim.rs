//! The core alone, in one thread, no files: an `AccountCore` opened with `open_symbol` and
//! driven by `drive` over the in-process simulator replaying days of the bundled real BTCUSDT
//! perpetual minutes. Levels climb, take-profits fill, each leg's cycle number increments, and
//! at the end the exchange's positions are the grid's legs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod support;

use gridbot_core::time::DAY_MS;
use gridbot_core::{Exchange, Leg, Qty};
use gridbot_risk::RiskParams;
use gridbot_strategy::{AccountCore, CoreEvent, CoreStart, Grid, Venue, drive, open_symbol};
use support::{btc, core_events, progressive_btc, sim};

#[test]
fn the_core_trades_days_of_real_minutes_against_the_in_process_simulator() {
    // Sixteen days of history first: the plan locks from the daily ATR, as live.
    let (sim, ex) = sim(100_000, 16 * DAY_MS);
    let config = progressive_btc(0.25);
    let now = ex.server_time().unwrap();
    let opened = open_symbol(&ex, "core", &config, None, None, now, false).unwrap();
    assert!(opened.new_plan.is_some(), "a plan was locked from the replayed daily candles");
    let start_state = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    let mut core = AccountCore::new("core", RiskParams::default(), vec![opened.core], start_state);
    let mut gate = || true;
    let mut venue = Venue { exchange: &ex, may_send: &mut gate, durable: &mut |_, _| {} };
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
