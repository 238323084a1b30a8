//! A classic grid restarted after a crash, with fills while it was down, carries on from its
//! snapshot and the exchange: the missed fills are applied as if heard live (their levels turn
//! around), the inventory is kept, and the restart sends no market or reduce-only closing order
//! — no realised loss, no taker fee caused by the restart itself. Core + in-process simulator
//! over real minutes, one thread.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod support;

use gridbot_core::time::{DAY_MS, HOUR_MS};
use gridbot_core::{Decimal, Exchange, OrderType, PositionIdx, Qty, TimeWindow};
use gridbot_grid::{Bias, Progression};
use gridbot_risk::RiskParams;
use gridbot_sim::{SimAccount, SimExchange};
use gridbot_strategy::config::{ClassicConfig, StrategyConfig, SymbolConfig};
use gridbot_strategy::{
    AccountCore, ClassicSettings, ClassicSync, CoreEvent, CoreStart, LayoutSpec, RecentrePolicy, SymbolRecovery, Venue,
    drive, open_symbol,
};
use support::{btc, core_events, sim};

fn config() -> SymbolConfig {
    SymbolConfig {
        symbol: btc(),
        leverage: Decimal::from(5),
        risk_limit: Decimal::from(2_000_000),
        strategy: StrategyConfig::Classic(ClassicConfig {
            settings: ClassicSettings {
                layout: LayoutSpec::AroundMarket { spacing: 0.002, levels_per_side: 10 },
                progression: Progression::Arithmetic,
                bias: Bias::Neutral,
                qty_per_level: Qty::new("0.002".parse().unwrap()).unwrap(),
                take_profit: None,
                stop_loss: None,
                recentre: RecentrePolicy::default(),
                partial_fill_timeout_ms: 60_000,
                options: Default::default(),
            },
            atr_spacing: None,
        }),
    }
}

/// Starts `core` (or nudges it again: `Start` is idempotent) and runs it over the replay until
/// `until` (inclusive), one candle at a time.
fn trade(sim: &SimExchange, ex: &SimAccount, core: &mut AccountCore, until: i64) {
    let mut gate = || true;
    let mut venue = Venue { exchange: ex, may_send: &mut gate, durable: &mut |_, _| {} };
    let mut feed = |core: &mut AccountCore, event: CoreEvent, now: i64| {
        let mut pending = vec![event];
        while !pending.is_empty() {
            for event in pending {
                drive(core, &mut venue, event, now, false);
            }
            pending = core_events(ex, sim.drain_events());
        }
    };
    // As the live worker does first: apply what opening found, put the orders in place.
    feed(core, CoreEvent::Start, ex.server_time().unwrap());
    while let Some((t, events)) = sim.step() {
        for event in core_events(ex, events) {
            feed(core, event, t);
        }
        let top = ex.orderbook_top(&btc()).unwrap();
        let book =
            CoreEvent::Book { symbol: btc(), bid: top.bid.map(|l| l.price), ask: top.ask.map(|l| l.price), ts_ms: t };
        feed(core, book, t);
        feed(core, CoreEvent::Tick, t);
        if t >= until {
            break;
        }
    }
}

fn open(ex: &SimAccount, snapshot: Option<&gridbot_state::AccountSnapshot>) -> (AccountCore, SymbolRecovery) {
    let now = ex.server_time().unwrap();
    let state = snapshot.and_then(|s| s.symbols.get(&btc()));
    let heard_until = snapshot.and_then(|s| s.last_execution_ms);
    let opened = open_symbol(ex, "cls", &config(), state, heard_until, now, false).unwrap();
    let start = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    (AccountCore::new("cls", RiskParams::default(), vec![opened.core], start), opened.recovery)
}

#[test]
fn a_restart_after_fills_while_down_keeps_the_inventory_and_the_grid() {
    let (sim, ex) = sim(100_000, HOUR_MS);

    let (mut core, _) = open(&ex, None);
    let t0 = ex.server_time().unwrap();
    trade(&sim, &ex, &mut core, t0 + DAY_MS);
    let crash = ex.server_time().unwrap();
    let snapshot = core.snapshot(crash);
    let fills_before = core.stats().strategy.fills;
    assert!(fills_before > 5, "the grid traded before the crash: {fills_before}");
    drop(core); // SIGKILL: nothing more is heard or sent

    // Down for a few hours while the market moves and resting levels fill.
    sim.advance_to(crash + 3 * HOUR_MS);
    sim.drain_events();
    let missed = ex.executions(&btc(), TimeWindow { start_ms: crash + 1, end_ms: crash + 3 * HOUR_MS }).unwrap();
    assert!(!missed.is_empty(), "levels filled while the bot was down");

    let restart = ex.server_time().unwrap();
    let (mut core, recovery) = open(&ex, Some(&snapshot));
    eprintln!("{}", recovery.describe(false));
    let SymbolRecovery::Classic(ClassicSync::CatchUp { executions, .. }) = &recovery else {
        panic!("a catch-up, not a rebuild: {}", recovery.describe(false))
    };
    assert_eq!(executions.len(), missed.len(), "every fill while down is applied, none twice");
    // The restart itself: open, catch up, put the turned-around levels in place.
    trade(&sim, &ex, &mut core, restart + 10 * 60_000);
    assert!(core.stats().strategy.fills >= missed.len() as u64, "the missed fills went through the grid");
    let window = TimeWindow { start_ms: restart - 60_000, end_ms: restart + 10 * 60_000 };
    let sent = ex.order_history(&btc(), window).unwrap();
    let market: Vec<_> = sent.iter().filter(|o| o.order_type == OrderType::Market).collect();
    assert!(market.is_empty(), "the restart closed inventory at market: {market:?}");
    let taker: Vec<_> = ex.executions(&btc(), window).unwrap().into_iter().filter(|e| !e.is_maker).collect();
    assert!(taker.is_empty(), "taker fills caused by the restart: {taker:?}");
    let gridbot_strategy::Grid::Classic(grid) = core.symbols()[0].grid() else { panic!("classic") };
    assert_eq!(
        grid.classic_state().map(|s| s.generation),
        snapshot.symbols[&btc()].classic.as_ref().map(|s| s.generation),
        "the same generation carries on (not rebuilt)"
    );
    let sizes = grid.leg_sizes();
    for p in ex.positions(&btc()).unwrap() {
        let size = if p.position_idx == PositionIdx::Long { sizes.long } else { sizes.short };
        assert_eq!(p.size, size, "the grid's inventory is the exchange's: {:?}", p.position_idx);
    }
    // Every level the grid wants is working again: one open order per slot.
    let open = ex.open_orders(&btc()).unwrap();
    let slots = grid.classic_state().map_or(0, |s| s.slots.len());
    assert_eq!(open.len(), slots, "one order per slot after the restart");
    // And it carries on trading.
    let fills_after_restart = core.stats().strategy.fills;
    trade(&sim, &ex, &mut core, restart + 6 * HOUR_MS);
    assert!(core.stats().strategy.fills > fills_after_restart, "the grid trades after the restart");
}

#[test]
fn risk_conditions_already_alerted_survive_a_restart() {
    let (_sim, ex) = sim(100_000, HOUR_MS);
    let now = ex.server_time().unwrap();
    let memory = gridbot_state::RiskAlertMemory {
        symbol: btc(),
        level: gridbot_risk::RiskLevel::LevelUpBudget,
        leg: Some(gridbot_core::Leg::Long),
        at_ms: now - 1_000,
    };
    let opened = open_symbol(&ex, "cls", &config(), None, None, now, false).unwrap();
    let start_state = CoreStart { risk_alerts: vec![memory.clone()], ..CoreStart::default() };
    let core = AccountCore::new("cls", RiskParams::default(), vec![opened.core], start_state);
    // Known as holding and alerted at that time: saved again as it was, so the next start does
    // not alert it again either (and the hourly repeat counts from the first alert).
    assert_eq!(core.snapshot(now).risk_alerts, vec![memory]);
    let opened = open_symbol(&ex, "cls", &config(), None, None, now, false).unwrap();
    let fresh = AccountCore::new("cls", RiskParams::default(), vec![opened.core], CoreStart::default());
    assert!(fresh.snapshot(now).risk_alerts.is_empty());
}

#[test]
fn a_changed_progressive_plan_is_relocked_when_both_legs_are_flat() {
    use gridbot_grid::ProgressiveParams;
    use gridbot_strategy::config::ProgressiveConfig;
    let (_sim, ex) = sim(100_000, HOUR_MS);
    let progressive = |levels: u32| SymbolConfig {
        strategy: StrategyConfig::Progressive(ProgressiveConfig {
            params: ProgressiveParams {
                max_levels: levels,
                ..ProgressiveParams::with_base_qty("0.001".parse().unwrap())
            },
            atr_pct: Some(0.02),
            settings: gridbot_strategy::ProgressiveSettings::default(),
        }),
        ..config()
    };
    let now = ex.server_time().unwrap();
    let first = open_symbol(&ex, "prg", &progressive(4), None, None, now, false).unwrap();
    let state = first.core.grid().state();
    assert_eq!(state.plan.as_ref().map(gridbot_grid::GridPlan::max_level), Some(4));
    // Nothing has filled: both legs are flat, so the new max_levels is applied at once.
    let again = open_symbol(&ex, "prg", &progressive(6), Some(&state), None, now, false).unwrap();
    assert!(again.new_plan.is_some(), "re-locked");
    assert!(
        again.config_changes.iter().any(|c| c.starts_with("max_levels: configured 6, locked 4 — applied")),
        "{:?}",
        again.config_changes
    );
    assert_eq!(again.core.grid().state().plan.as_ref().map(gridbot_grid::GridPlan::max_level), Some(6));
}

#[test]
fn an_emergency_stop_and_resume_keep_the_classic_inventory() {
    let (sim, ex) = sim(100_000, HOUR_MS);
    // Risk closes are the strategy's own decisions, halted or not: the trailing stop (L3) is
    // set out of reach so that only what the stop and resume themselves do is seen.
    let t0 = ex.server_time().unwrap();
    let opened = open_symbol(&ex, "cls", &config(), None, None, t0, false).unwrap();
    let risk = RiskParams { trailing_activation: 0.99, ..RiskParams::default() };
    let start_state = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    let mut core = AccountCore::new("cls", risk, vec![opened.core], start_state);
    trade(&sim, &ex, &mut core, t0 + DAY_MS);
    let generation = core.snapshot(t0).symbols[&btc()].classic.as_ref().map(|s| s.generation);
    // The operator stops the account; the market moves on and resting levels fill meanwhile.
    let mut gate = || true;
    let mut venue = Venue { exchange: &ex, may_send: &mut gate, durable: &mut |_, _| {} };
    let stop_at = ex.server_time().unwrap();
    drive(&mut core, &mut venue, CoreEvent::EmergencyStop { on: true, reason: None }, stop_at, false);
    trade(&sim, &ex, &mut core, stop_at + 3 * HOUR_MS);
    let resumed = ex.server_time().unwrap();
    let mut venue = Venue { exchange: &ex, may_send: &mut gate, durable: &mut |_, _| {} };
    drive(&mut core, &mut venue, CoreEvent::EmergencyStop { on: false, reason: None }, resumed, false);
    drive(&mut core, &mut venue, CoreEvent::Resume, resumed, false);
    let fills_before = core.stats().strategy.fills;
    trade(&sim, &ex, &mut core, resumed + 10 * 60_000);
    let window = TimeWindow { start_ms: resumed - 60_000, end_ms: resumed + 10 * 60_000 };
    let market: Vec<_> =
        ex.order_history(&btc(), window).unwrap().into_iter().filter(|o| o.order_type == OrderType::Market).collect();
    assert!(market.is_empty(), "resuming closed inventory at market: {market:?}");
    let gridbot_strategy::Grid::Classic(grid) = core.symbols()[0].grid() else { panic!("classic") };
    assert_eq!(grid.classic_state().map(|s| s.generation), generation, "the same generation carries on");
    assert!(fills_before > 0 && core.stats().strategy.risk_closes == 0);
    let sizes = grid.leg_sizes();
    for p in ex.positions(&btc()).unwrap() {
        let size = if p.position_idx == PositionIdx::Long { sizes.long } else { sizes.short };
        assert_eq!(p.size, size, "{:?}", p.position_idx);
    }
}

#[test]
fn a_progressive_restart_journals_the_fills_made_while_away_with_their_pnl() {
    use gridbot_grid::{ProgressiveParams, TakeProfitRule};
    use gridbot_strategy::config::ProgressiveConfig;
    let (sim, ex) = sim(100_000, HOUR_MS);
    let progressive = SymbolConfig {
        strategy: StrategyConfig::Progressive(ProgressiveConfig {
            params: ProgressiveParams {
                max_levels: 5,
                step_scale_factor: 0.1,
                take_profit: TakeProfitRule::Fraction(0.002),
                ..ProgressiveParams::with_base_qty("0.002".parse().unwrap())
            },
            atr_pct: Some(0.02),
            settings: gridbot_strategy::ProgressiveSettings::default(),
        }),
        ..config()
    };
    let realised_on_exchange =
        |ex: &SimAccount| -> Decimal { ex.positions(&btc()).unwrap().iter().map(|p| p.cum_realised_pnl).sum() };
    let t0 = ex.server_time().unwrap();
    let opened = open_symbol(&ex, "prg", &progressive, None, None, t0, false).unwrap();
    let start_state = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    let mut core = AccountCore::new("prg", RiskParams::default(), vec![opened.core], start_state);
    trade(&sim, &ex, &mut core, t0 + 6 * HOUR_MS);
    let crash = ex.server_time().unwrap();
    let snapshot = core.snapshot(crash);
    let before = realised_on_exchange(&ex);
    drop(core);
    sim.advance_to(crash + 2 * DAY_MS);
    sim.drain_events();
    let after = realised_on_exchange(&ex);
    let restart = ex.server_time().unwrap();
    let state = snapshot.symbols.get(&btc());
    // As the live shell does: the exchange's executions the journal lacks (here: after the
    // newest the core heard), with the PnL they realised against the saved legs.
    let heard = snapshot.last_execution_ms.unwrap();
    let list = ex.executions(&btc(), TimeWindow { start_ms: heard + 1, end_ms: restart }).unwrap();
    let missed = gridbot_strategy::missed_fills("prg", state.unwrap(), list, &|_| false, &Default::default());
    let trades = missed.iter().filter(|(e, _)| e.exec_type == gridbot_core::ExecType::Trade).count();
    assert!(trades > 0, "levels and take-profits filled while away");
    // What the journal gets adds up to what the exchange booked meanwhile: realised PnL net of
    // fees, and funding (the exchange's cumulative realised PnL counts both).
    let journaled: Decimal = missed
        .iter()
        .map(|(e, realised)| match e.exec_type {
            gridbot_core::ExecType::Funding => -e.exec_fee,
            _ => realised.unwrap_or_default() - e.exec_fee,
        })
        .sum();
    let booked = after - before;
    assert!((journaled - booked).abs() < Decimal::new(1, 6), "journal {journaled} vs exchange {booked}");
}

/// A rebuild — here an operator's recentre — is journaled and made durable before its first
/// cancel goes out: a kill between the orders and the journal must not leave a market close
/// the journal cannot explain (found by the chaos runner).
#[test]
fn a_rebuild_is_journaled_and_durable_before_its_first_order() {
    let (sim, ex) = sim(100_000, HOUR_MS);
    let t0 = ex.server_time().unwrap();
    let opened = open_symbol(&ex, "cls", &config(), None, None, t0, false).unwrap();
    let start_state = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    let mut core = AccountCore::new("cls", RiskParams::default(), vec![opened.core], start_state);
    trade(&sim, &ex, &mut core, t0 + 6 * HOUR_MS);
    let log = std::cell::RefCell::new(Vec::<String>::new());
    let mut gate = || {
        log.borrow_mut().push("send".into());
        true
    };
    let mut durable = |core: &AccountCore, rows: &[gridbot_strategy::JournalRecord]| {
        let rebuilding = core.snapshot(0).symbols[&btc()].classic.as_ref().is_some_and(|c| c.rebuilding.is_some());
        let journaled = rows.iter().any(|r| {
            matches!(
                r,
                gridbot_strategy::JournalRecord::Grid {
                    change: gridbot_strategy::GridChange::RebuildStarted { .. },
                    ..
                }
            )
        });
        log.borrow_mut().push(format!("durable rebuilding={rebuilding} journaled={journaled}"));
    };
    let now = ex.server_time().unwrap();
    let mut venue = Venue { exchange: &ex, may_send: &mut gate, durable: &mut durable };
    let carried = drive(&mut core, &mut venue, CoreEvent::Recentre { symbol: btc(), profile: None }, now, false);
    let log = log.into_inner();
    assert_eq!(
        log.first().map(String::as_str),
        Some("durable rebuilding=true journaled=true"),
        "the state and the journal's row are on disk first: {log:?}"
    );
    assert!(log.iter().any(|l| l == "send"), "then the cancels go out: {log:?}");
    assert!(carried.durable_records >= 1 && carried.durable_records <= carried.records.len());
}

/// Whatever a snapshot made durable before a new grid's orders reflects is in the journal
/// before it: the newest fill the snapshot's legs reflect has its journal row among the rows
/// made durable so far. Without it, a rebuild's closing fill (its row queued after the orders
/// it called for) could be on disk in the legs and not in the journal, and a kill right then
/// made the next start journal it with realised PnL 0 (found by the chaos runner).
#[test]
fn a_durable_snapshot_never_reflects_a_fill_the_journal_lacks() {
    let (sim, ex) = sim(100_000, HOUR_MS);
    let mut symbol = config();
    if let StrategyConfig::Classic(c) = &mut symbol.strategy {
        c.settings.recentre.max_deviation = Some(0.002);
    }
    let t0 = ex.server_time().unwrap();
    let opened = open_symbol(&ex, "cls", &symbol, None, None, t0, false).unwrap();
    let start_state = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    let mut core = AccountCore::new("cls", RiskParams::default(), vec![opened.core], start_state);
    let journal = std::cell::RefCell::new(std::collections::BTreeSet::<String>::new());
    let checks = std::cell::Cell::new(0u32);
    let note_rows = |rows: &[gridbot_strategy::JournalRecord]| {
        for r in rows {
            if let gridbot_strategy::JournalRecord::Execution { execution, .. } = r {
                journal.borrow_mut().insert(execution.exec_id.clone());
            }
        }
    };
    let mut gate = || true;
    let mut durable = |core: &AccountCore, rows: &[gridbot_strategy::JournalRecord]| {
        note_rows(rows);
        if let Some(newest) = core.snapshot(0).last_execution_id {
            assert!(journal.borrow().contains(&newest), "the snapshot reflects fill {newest}, the journal lacks it");
            checks.set(checks.get() + 1);
        }
    };
    let mut venue = Venue { exchange: &ex, may_send: &mut gate, durable: &mut durable };
    let mut feed = |core: &mut AccountCore, event: CoreEvent, now: i64| {
        let mut pending = vec![event];
        while !pending.is_empty() {
            for event in pending {
                let carried = drive(core, &mut venue, event, now, false);
                note_rows(&carried.records[carried.durable_records..]);
            }
            pending = core_events(&ex, sim.drain_events());
        }
    };
    feed(&mut core, CoreEvent::Start, t0);
    while let Some((t, events)) = sim.step() {
        for event in core_events(&ex, events) {
            feed(&mut core, event, t);
        }
        let top = ex.orderbook_top(&btc()).unwrap();
        let book =
            CoreEvent::Book { symbol: btc(), bid: top.bid.map(|l| l.price), ask: top.ask.map(|l| l.price), ts_ms: t };
        feed(&mut core, book, t);
        feed(&mut core, CoreEvent::Tick, t);
        if t >= t0 + 3 * DAY_MS {
            break;
        }
    }
    let gridbot_strategy::Grid::Classic(grid) = core.symbols()[0].grid() else { panic!("classic") };
    let generation = grid.classic_state().map_or(0, |s| s.generation);
    assert!(generation > 3, "the grid was rebuilt along the way: generation {generation}");
    assert!(checks.get() > 3, "snapshots made durable after fills: {}", checks.get());
}
