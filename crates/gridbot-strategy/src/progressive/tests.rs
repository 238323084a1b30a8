//! The progressive grid driven event by event: every transition of ARCHITECTURE §4, partial fills,
//! risk, and a property test against a tiny matching loop.

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    Decimal, ErrorDetail, ExchangeError, ExecType, Execution, OrderType, Price, Qty, RejectReason, Side, TimeInForce,
};
use gridbot_grid::{ProgressiveParams, TakeProfitRule};
use gridbot_risk::{LegDecision, RiskDecision, RiskLevel};

use super::*;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn q(s: &str) -> Qty {
    s.parse().unwrap()
}

fn plan() -> GridPlan {
    let params = ProgressiveParams {
        max_levels: 4,
        take_profit: TakeProfitRule::Fraction(0.004),
        ..ProgressiveParams::with_base_qty(q("0.001"))
    };
    GridPlan::from_atr_pct_ema(&params, 0.02, &bybit_btcusdt(), 0).unwrap()
}

fn grid() -> ProgressiveGrid {
    ProgressiveGrid::new("acc1", bybit_btcusdt(), plan(), ProgressiveSettings::default(), 1_000)
}

fn market(bid: &str, ask: &str) -> MarketView {
    MarketView { bid: Some(p(bid)), ask: Some(p(ask)), ts_ms: 0 }
}

fn run(g: &mut ProgressiveGrid, now_ms: i64, m: &MarketView, d: &RiskDecision) -> Vec<Command> {
    let cmds = g.commands(&DecisionContext { now_ms, market: m, decision: d });
    // The exchange accepts every place and cancel.
    for c in &cmds {
        let outcome = match c {
            Command::Place { request, .. } => Outcome::Placed {
                link_id: request.order_link_id.clone(),
                order_id: format!("x-{}", request.order_link_id),
            },
            Command::Cancel { link_id, .. } => Outcome::Cancelled { link_id: link_id.clone() },
            Command::CancelAll { symbol } => Outcome::CancelledAll { symbol: symbol.clone(), count: 0 },
        };
        g.apply(GridEvent::Outcome(&outcome), now_ms);
    }
    cmds
}

fn places(cmds: &[Command]) -> Vec<&OrderRequest> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Place { request, .. } => Some(request),
            _ => None,
        })
        .collect()
}

fn working(g: &ProgressiveGrid, leg: Leg, role: OrderRole) -> Vec<WorkingOrder> {
    g.working().iter().filter(|w| w.tag.leg == leg && w.tag.role == role).cloned().collect()
}

fn one(g: &ProgressiveGrid, leg: Leg, role: OrderRole) -> WorkingOrder {
    let w = working(g, leg, role);
    assert_eq!(w.len(), 1, "{leg:?} {role:?}: {w:?}");
    w[0].clone()
}

static EXEC: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn fill(w: &WorkingOrder, price: Price, qty: Qty) -> Execution {
    let n = EXEC.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Execution {
        exec_id: format!("e{n}"),
        order_id: w.order_id.clone().unwrap_or_default(),
        order_link_id: w.link_id.as_str().to_owned(),
        symbol: bybit_btcusdt().symbol().clone(),
        side: w.side,
        exec_type: ExecType::Trade,
        order_type: OrderType::Limit,
        exec_price: price,
        exec_qty: qty,
        exec_value: price.as_decimal() * qty.as_decimal(),
        exec_fee: Decimal::ZERO,
        fee_rate: Decimal::ZERO,
        is_maker: true,
        closed_size: Qty::ZERO,
        exec_time_ms: 0,
    }
}

fn fill_all(g: &mut ProgressiveGrid, w: &WorkingOrder, now_ms: i64) -> Applied {
    let e = fill(w, w.price.unwrap(), w.qty);
    g.apply(GridEvent::Execution(&e), now_ms)
}

fn decision() -> RiskDecision {
    RiskDecision::default()
}

#[test]
fn flat_legs_rest_a_balance_order_at_the_touch() {
    let mut g = grid();
    let cmds = run(&mut g, 0, &market("30000", "30000.1"), &decision());
    let orders = places(&cmds);
    assert_eq!(orders.len(), 2);
    let long = orders.iter().find(|r| r.side == Side::Buy).unwrap();
    let short = orders.iter().find(|r| r.side == Side::Sell).unwrap();
    assert_eq!((long.price, long.qty, long.time_in_force), (Some(p("30000")), q("0.001"), TimeInForce::PostOnly));
    assert_eq!(short.price, Some(p("30000.1")));
    assert_eq!(long.position_idx, Leg::Long.position_idx());
    assert!(!long.reduce_only);
    let tag = LinkTag::decode(long.order_link_id.as_str()).unwrap();
    assert_eq!(
        (tag.account.as_str(), tag.leg, tag.cycle, tag.role, tag.level),
        ("acc1", Leg::Long, 1, OrderRole::Balance, 0)
    );
    // Nothing changed: nothing to send.
    assert!(run(&mut g, 1, &market("30000", "30000.1"), &decision()).is_empty());
}

#[test]
fn a_balance_order_follows_the_market_only_beyond_the_threshold() {
    let mut g = grid();
    run(&mut g, 0, &market("30000", "30000.1"), &decision());
    // 0.05% away: stays.
    assert!(run(&mut g, 1, &market("30015", "30015.1"), &decision()).is_empty());
    // 0.2% away: the long balance is cancelled, then placed at the new bid after the cancel.
    let cmds = run(&mut g, 2, &market("30060", "30060.1"), &decision());
    let old = cmds.iter().find_map(|c| match c {
        Command::Cancel { link_id, .. } => Some(link_id.clone()),
        _ => None,
    });
    assert!(old.is_some(), "{cmds:?}");
    let placed = cmds.iter().find_map(|c| match c {
        Command::Place { request, after_cancel, .. } if request.side == Side::Buy => {
            Some((request.price, after_cancel.clone()))
        }
        _ => None,
    });
    assert_eq!(placed, Some((Some(p("30060")), old)));
    assert_eq!(one(&g, Leg::Long, OrderRole::Balance).price, Some(p("30060")));
}

#[test]
fn a_full_cycle_entry_level_ups_and_take_profit() {
    let mut g = grid();
    let plan = plan();
    let btc = bybit_btcusdt();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    let a = fill_all(&mut g, &balance, 1);
    assert!(a.filled);
    assert_eq!(a.notes, vec![Note::Opened { leg: Leg::Long, cycle: 1 }]);

    // Level 0: a take-profit for the whole size and the protective order of level 1.
    run(&mut g, 2, &m, &decision());
    let tp = one(&g, Leg::Long, OrderRole::TakeProfit);
    assert_eq!(tp.qty, q("0.001"));
    assert_eq!(tp.price, Some(plan.take_profit_price(Leg::Long, p("30000"), &btc).unwrap()));
    let prot = one(&g, Leg::Long, OrderRole::Protective);
    assert_eq!((prot.tag.level, prot.qty), (1, plan.quantities()[1]));
    assert_eq!(prot.price, Some(plan.level_price(Leg::Long, p("30000"), 1, &btc).unwrap()));

    // Level 1: the take-profit moves to the new average (cancel, then place), level 2 goes out.
    let prot_price = prot.price.unwrap();
    let a = fill_all(&mut g, &prot, 3);
    assert_eq!(a.notes, vec![Note::LevelUp { leg: Leg::Long, level: 1 }]);
    let cmds = run(&mut g, 4, &m, &decision());
    let cancelled: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Cancel { link_id, .. } => Some(link_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, vec![tp.link_id.clone()]);
    let size = q("0.001").checked_add(plan.quantities()[1]).unwrap();
    let avg = (p("30000").as_decimal() * Decimal::new(1, 3)
        + prot_price.as_decimal() * plan.quantities()[1].as_decimal())
        / size.as_decimal();
    let new_tp = one(&g, Leg::Long, OrderRole::TakeProfit);
    assert_eq!(new_tp.qty, size);
    assert_eq!(
        new_tp.price,
        Some(plan.take_profit_price(Leg::Long, Price::new(avg.round_dp(8)).unwrap(), &btc).unwrap())
    );
    assert!(cmds.iter().any(|c| matches!(c, Command::Place { after_cancel: Some(id), .. } if *id == tp.link_id)));
    assert_eq!(one(&g, Leg::Long, OrderRole::Protective).tag.level, 2);

    // The take-profit fills: flat, cycle 2, the protective is cancelled, a new balance goes out.
    let leftover = one(&g, Leg::Long, OrderRole::Protective);
    let a = fill_all(&mut g, &new_tp, 5);
    assert_eq!(a.notes, vec![Note::CycleClosed { leg: Leg::Long, cycle: 1, take_profit: true }]);
    let cmds = run(&mut g, 6, &m, &decision());
    assert!(cmds.iter().any(|c| matches!(c, Command::Cancel { link_id, .. } if *link_id == leftover.link_id)));
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    assert_eq!(balance.tag.cycle, 2);
    assert_eq!(g.state().long.cycle, 2);
    assert_eq!(g.state().long.size, Qty::ZERO);
    assert_eq!(g.stats().cycles, 1);
    assert_eq!(g.stats().max_level, 1);
}

#[test]
fn a_partial_fill_freezes_the_leg_until_it_completes_or_times_out() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    run(&mut g, 1, &m, &decision());
    fill_all(&mut g, &balance, 1);
    run(&mut g, 2, &m, &decision());
    let prot = one(&g, Leg::Long, OrderRole::Protective);
    let half = prot.qty.checked_div(Decimal::TWO).unwrap();
    let a = g.apply(GridEvent::Execution(&fill(&prot, prot.price.unwrap(), half)), 10_000);
    assert!(a.filled && a.notes.is_empty());
    // Frozen: even a market move far away changes nothing on the long leg.
    let cmds = run(&mut g, 20_000, &market("31000", "31000.1"), &decision());
    assert!(cmds.iter().all(|c| !matches!(c, Command::Place { request, .. } if request.side == Side::Buy)), "{cmds:?}");
    assert!(cmds.iter().all(|c| !matches!(c, Command::Cancel { .. })
        || g.working().iter().all(|w| w.tag.leg == Leg::Short || !w.state.cancel_sent())));
    // The timeout cancels the rest; the leg moves on to level 1 with the half that filled.
    let cmds = run(&mut g, 10_000 + 60_000, &m, &decision());
    assert!(cmds.iter().any(|c| matches!(c, Command::Cancel { link_id, .. } if *link_id == prot.link_id)), "{cmds:?}");
    let s = g.state();
    assert_eq!(s.long.level, Some(1));
    assert_eq!(s.long.size, q("0.001").checked_add(half).unwrap());
    let cmds = run(&mut g, 70_001, &m, &decision());
    assert!(!places(&cmds).is_empty());
    assert_eq!(one(&g, Leg::Long, OrderRole::TakeProfit).qty, s.long.size);
    assert_eq!(one(&g, Leg::Long, OrderRole::Protective).tag.level, 2);
}

#[test]
fn duplicated_fills_count_once_and_unknown_fills_ask_for_reconciliation() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    let e = fill(&balance, p("30000"), q("0.001"));
    assert!(g.apply(GridEvent::Execution(&e), 1).filled);
    assert!(!g.apply(GridEvent::Execution(&e), 1).filled);
    assert_eq!(g.state().long.size, q("0.001"));

    let mut stranger = fill(&balance, p("30000"), q("0.001"));
    stranger.exec_id = "other".into();
    stranger.order_link_id = "g2acc1-L1-P3-zz".into();
    assert!(g.apply(GridEvent::Execution(&stranger), 2).reconcile.is_some());
    stranger.exec_id = "foreign".into();
    stranger.order_link_id = "manual-order".into();
    assert_eq!(g.apply(GridEvent::Execution(&stranger), 2), Applied::default());
}

#[test]
fn an_order_the_exchange_cancels_is_replaced() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    // PostOnly would have crossed: Bybit cancels it.
    let order = crate::test_orders::report(
        balance.link_id.as_str(),
        bybit_btcusdt().symbol().clone(),
        (Leg::Long, Side::Buy),
        (balance.price, balance.qty),
        OrderStatus::Cancelled,
        RejectReason::Other("EC_PostOnlyWillTakeLiquidity".into()),
    );
    g.apply(GridEvent::Order(&order), 1);
    assert!(working(&g, Leg::Long, OrderRole::Balance).is_empty());
    let cmds = run(&mut g, 2, &m, &decision());
    assert_eq!(places(&cmds).len(), 1);
    assert_ne!(one(&g, Leg::Long, OrderRole::Balance).link_id, balance.link_id);
}

#[test]
fn a_halt_sends_nothing_and_the_kill_switch_cancels_everything_once() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    let halt = RiskDecision { halt: Some(RiskLevel::EmergencyStop), ..RiskDecision::default() };
    assert!(run(&mut g, 0, &m, &halt).is_empty());
    run(&mut g, 1, &m, &decision());
    let kill = RiskDecision { halt: Some(RiskLevel::DailyKillSwitch), cancel_all: true, ..RiskDecision::default() };
    let cmds = run(&mut g, 2, &m, &kill);
    assert_eq!(cmds, vec![Command::CancelAll { symbol: bybit_btcusdt().symbol().clone() }]);
    assert!(g.working().is_empty());
    assert!(run(&mut g, 3, &m, &kill).is_empty());
}

#[test]
fn a_risk_close_cancels_the_leg_and_closes_it_at_market() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    fill_all(&mut g, &balance, 1);
    run(&mut g, 2, &m, &decision());
    let mut close = RiskDecision::default();
    close.legs.long = LegDecision { close: Some(RiskLevel::TrailingStop), ..LegDecision::default() };
    let cmds = run(&mut g, 3, &m, &close);
    let cancels = cmds.iter().filter(|c| matches!(c, Command::Cancel { .. })).count();
    assert_eq!(cancels, 2, "{cmds:?}");
    let closing = places(&cmds);
    assert_eq!(closing.len(), 1);
    assert_eq!(
        (closing[0].order_type, closing[0].side, closing[0].qty, closing[0].reduce_only),
        (OrderType::Market, Side::Sell, q("0.001"), true)
    );
    let w = one(&g, Leg::Long, OrderRole::Close);
    // While the close is out, nothing else happens on the leg.
    assert!(
        run(&mut g, 4, &m, &close)
            .iter()
            .all(|c| !matches!(c, Command::Place { request, .. } if request.position_idx == Leg::Long.position_idx()))
    );
    let a = g.apply(GridEvent::Execution(&fill(&w, p("29990"), q("0.001"))), 5);
    assert_eq!(a.notes, vec![Note::CycleClosed { leg: Leg::Long, cycle: 1, take_profit: false }]);
    assert_eq!(g.stats().risk_closes, 1);
}

#[test]
fn blocked_protective_orders_are_not_placed_and_resting_ones_are_cancelled() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    fill_all(&mut g, &balance, 1);
    let mut budget = RiskDecision::default();
    budget.legs.long.blocked.block(gridbot_risk::Action::Protective, RiskLevel::LevelUpBudget);
    run(&mut g, 2, &m, &budget);
    assert!(working(&g, Leg::Long, OrderRole::Protective).is_empty());
    assert_eq!(working(&g, Leg::Long, OrderRole::TakeProfit).len(), 1);
    run(&mut g, 3, &m, &decision());
    assert_eq!(working(&g, Leg::Long, OrderRole::Protective).len(), 1);
    let cmds = run(&mut g, 4, &m, &budget);
    assert!(cmds.iter().any(|c| matches!(c, Command::Cancel { .. })));
    assert!(working(&g, Leg::Long, OrderRole::Protective).is_empty());
}

#[test]
fn a_failed_cancel_holds_the_slot_and_reconciles_when_nothing_explains_it() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    let gone = Outcome::CancelFailed {
        link_id: balance.link_id.clone(),
        error: ExchangeError::Reconcile(ErrorDetail { ret_code: Some(110_001), ..ErrorDetail::default() }),
    };
    let cmds = g.commands(&DecisionContext { now_ms: 1, market: &market("30100", "30100.1"), decision: &decision() });
    assert!(cmds.iter().any(|c| matches!(c, Command::Cancel { .. })));
    g.apply(GridEvent::Outcome(&gone), 1);
    // The dependent place is skipped by the executor.
    for c in &cmds {
        if let Command::Place { request, after_cancel: Some(_), .. } = c {
            g.apply(GridEvent::Outcome(&Outcome::PlaceSkipped { link_id: request.order_link_id.clone() }), 1);
        }
    }
    assert!(
        run(&mut g, 2, &market("30100", "30100.1"), &decision())
            .iter()
            .all(|c| !matches!(c, Command::Place { request, .. } if request.side == Side::Buy))
    );
    // Ten seconds of event time after the failed cancel, nothing has explained it: reconcile.
    for t in [2, 1_000, 9_000, 10_000] {
        assert!(g.apply(GridEvent::Timer, t).reconcile.is_none(), "{t} ms");
    }
    let reason = g.apply(GridEvent::Timer, 10_001).reconcile;
    assert!(
        matches!(&reason, Some(ReconcileReason::Unexplained { link_id, for_ms: 10_000 }) if *link_id == balance.link_id),
        "{reason:?}"
    );
}

#[test]
fn an_ended_cycles_order_that_fills_asks_for_reconciliation_and_keeps_the_state_valid() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    fill_all(&mut g, &balance, 1);
    run(&mut g, 2, &m, &decision());
    let tp = one(&g, Leg::Long, OrderRole::TakeProfit);
    let prot = one(&g, Leg::Long, OrderRole::Protective);
    fill_all(&mut g, &tp, 3);
    // Before its cancel goes out, the old cycle's protective fills.
    let a = fill_all(&mut g, &prot, 4);
    assert!(a.reconcile.is_some(), "{a:?}");
    let mut snapshot = gridbot_state::AccountSnapshot::new("acc1", 0);
    snapshot.symbols.insert(bybit_btcusdt().symbol().clone(), g.state());
    assert_eq!(snapshot.validate(), Ok(()));
    assert_eq!(g.state().long.level, None);
    assert_eq!(g.state().long.size, prot.qty);
}

#[test]
fn state_round_trips_through_restore() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let balance = one(&g, Leg::Long, OrderRole::Balance);
    fill_all(&mut g, &balance, 1);
    run(&mut g, 2, &m, &decision());
    let s = g.state();
    let mut h = grid();
    h.restore(&s);
    assert_eq!(h.state(), s);
    // The restored strategy finds everything in place.
    assert!(run(&mut h, 3, &m, &decision()).is_empty());
}

mod property {
    //! A tiny matching loop: prices wander, resting limits fill when crossed (sometimes in two
    //! parts), the strategy answers. Invariants hold after every step.
    use proptest::prelude::*;

    use super::*;

    fn check(g: &ProgressiveGrid) {
        for leg in Leg::BOTH {
            for role in [OrderRole::Balance, OrderRole::TakeProfit, OrderRole::Protective] {
                let live = working(g, leg, role).into_iter().filter(|w| !w.state.cancel_sent()).count();
                assert!(live <= 1, "{leg:?} {role:?} has {live} live orders: {:?}", g.working());
            }
            let s = if leg == Leg::Long { g.state().long } else { g.state().short };
            if s.size.is_zero() {
                assert!(working(g, leg, OrderRole::TakeProfit).is_empty(), "flat {leg:?} with a take-profit");
                assert!(working(g, leg, OrderRole::Protective).is_empty(), "flat {leg:?} with a protective");
            }
            if !s.size.is_zero() && g.leg(leg).frozen_since.is_none() {
                let tp = working(g, leg, OrderRole::TakeProfit);
                assert_eq!(tp.len(), 1, "open {leg:?} without its take-profit");
                assert_eq!(tp[0].qty, s.size, "take-profit must cover the {leg:?} leg");
                assert!(s.level.is_some_and(|l| l <= g.plan().max_level()));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn invariants_hold_along_random_price_paths(moves in prop::collection::vec((-60i64..=60, any::<bool>()), 1..120)) {
            let mut g = grid();
            let mut mid = Decimal::from(30_000);
            let mut now = 0i64;
            let step = Decimal::new(5, 0);
            for (m, split) in moves {
                now += 1_000;
                mid += step * Decimal::from(m);
                let bid = Price::new(mid).unwrap();
                let ask = Price::new(mid + Decimal::new(1, 1)).unwrap();
                let view = MarketView { bid: Some(bid), ask: Some(ask), ts_ms: now };
                // Fill every resting limit the price crossed.
                let crossed: Vec<WorkingOrder> = g
                    .working()
                    .iter()
                    .filter(|w| !w.state.cancel_sent())
                    .filter(|w| match (w.side, w.price) {
                        (Side::Buy, Some(px)) => bid <= px,
                        (Side::Sell, Some(px)) => ask >= px,
                        (_, None) => true,
                    })
                    .cloned()
                    .collect();
                for w in crossed {
                    let rest = w.qty.checked_sub(w.filled).unwrap();
                    let price = w.price.unwrap_or(bid);
                    if split && rest > Qty::new(Decimal::new(1, 3)).unwrap() {
                        let half = bybit_btcusdt().round_qty(rest.checked_div(Decimal::TWO).unwrap());
                        g.apply(GridEvent::Execution(&fill(&w, price, half)), now);
                        g.apply(GridEvent::Execution(&fill(&w, price, rest.checked_sub(half).unwrap())), now);
                    } else {
                        g.apply(GridEvent::Execution(&fill(&w, price, rest)), now);
                    }
                }
                run(&mut g, now, &view, &decision());
                check(&g);
            }
        }
    }
}

fn guarded() -> ProgressiveGrid {
    let guard = FundingGuard {
        max_open_rate: Some("0.0005".parse().unwrap()),
        close_before_ms: Some(600_000),
        close_rate: Some("0.001".parse().unwrap()),
    };
    let settings = ProgressiveSettings { funding_guard: guard, ..ProgressiveSettings::default() };
    ProgressiveGrid::new("acc1", bybit_btcusdt(), plan(), settings, 1_000)
}

#[test]
fn the_funding_guard_opens_no_cycle_that_would_pay_too_much() {
    let mut g = guarded();
    assert!(g.set_funding(FundingView { rate: "0.0008".parse().unwrap(), next_ms: 28_800_000 }));
    let cmds = run(&mut g, 0, &market("30000", "30000.1"), &decision());
    let orders = places(&cmds);
    assert_eq!(orders.len(), 1, "only the short leg (it receives funding) opens: {orders:?}");
    assert_eq!(orders[0].side, Side::Sell);
    // The rate falls below the threshold: the long leg opens too.
    assert!(g.set_funding(FundingView { rate: "0.0004".parse().unwrap(), next_ms: 28_800_000 }));
    let cmds = run(&mut g, 1, &market("30000", "30000.1"), &decision());
    assert_eq!(places(&cmds).iter().map(|o| o.side).collect::<Vec<_>>(), vec![Side::Buy]);
    // It rises again: the resting entry is cancelled.
    assert!(g.set_funding(FundingView { rate: "0.0009".parse().unwrap(), next_ms: 28_800_000 }));
    let cmds = run(&mut g, 2, &market("30000", "30000.1"), &decision());
    assert!(matches!(cmds.as_slice(), [Command::Cancel { .. }]), "{cmds:?}");
}

#[test]
fn the_funding_guard_closes_a_leg_in_profit_just_before_an_adverse_settlement() {
    let mut g = guarded();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let entry = one(&g, Leg::Long, OrderRole::Balance);
    fill_all(&mut g, &entry, 1);
    run(&mut g, 2, &m, &decision());
    g.set_funding(FundingView { rate: "0.0015".parse().unwrap(), next_ms: 28_800_000 });
    let up = market("30020", "30020.1"); // within the entries' re-price band
    // Before the window: nothing; in it, in profit: the whole leg closes at market.
    assert!(run(&mut g, 28_800_000 - 600_001, &up, &decision()).is_empty());
    let d = decision();
    let calm = g.commands_calm(&DecisionContext { now_ms: 100, market: &up, decision: &d }).1;
    assert_eq!(calm.until_ms, 28_800_000 - 600_000, "the core wakes when the window opens");
    let cmds = run(&mut g, 28_800_000 - 600_000, &market("29990", "29990.1"), &decision());
    assert!(places(&cmds).iter().all(|o| o.order_type != OrderType::Market), "in loss: kept");
    let cmds = run(&mut g, 28_800_000 - 500_000, &up, &decision());
    let close: Vec<_> = places(&cmds).into_iter().filter(|o| o.order_type == OrderType::Market).collect();
    assert_eq!(close.len(), 1, "{cmds:?}");
    assert!(close[0].reduce_only && close[0].side == Side::Sell && close[0].qty == q("0.001"));
    assert!(matches!(g.take_notes().as_slice(), [Note::FundingClose { leg: Leg::Long, .. }]));
}

proptest::proptest! {
    /// Whatever the funding rate does, a flat leg never has an entry placed or resting while it
    /// would pay more than the threshold.
    #[test]
    fn the_funding_guard_never_opens_against_the_threshold(
        rates in proptest::collection::vec(-20i64..20, 1..30),
        moves in proptest::collection::vec(-30i64..30, 1..30),
    ) {
        let mut g = guarded();
        let max = Decimal::new(5, 4);
        let mut mid = 30_000i64;
        for (t, (r, m)) in rates.iter().zip(moves.iter().cycle()).enumerate() {
            let rate = Decimal::new(*r, 4);
            let t = i64::try_from(t).unwrap() * 1_000;
            g.set_funding(FundingView { rate, next_ms: 28_800_000 });
            mid += m;
            let cmds = run(&mut g, t, &market(&mid.to_string(), &format!("{mid}.1")), &decision());
            for o in places(&cmds) {
                let leg = if o.position_idx == gridbot_core::PositionIdx::Long { Leg::Long } else { Leg::Short };
                let paid = if leg == Leg::Long { rate } else { -rate };
                proptest::prop_assert!(!(o.order_link_id.as_str().contains("-B0-") && paid > max), "{o:?} at {rate}");
            }
            for w in g.working().iter().filter(|w| w.tag.role == OrderRole::Balance && !w.state.cancel_sent()) {
                let paid = if w.tag.leg == Leg::Long { rate } else { -rate };
                proptest::prop_assert!(paid <= max, "a resting entry of {:?} at {rate}", w.tag.leg);
            }
        }
    }
}

fn laddered(break_even: bool) -> ProgressiveGrid {
    let t = |share: &str, distance: &str| gridbot_grid::Tranche {
        share: share.parse().unwrap(),
        distance: distance.parse().unwrap(),
    };
    let ladder =
        gridbot_grid::TakeProfitLadder::new(vec![t("0.25", "0.002"), t("0.25", "0.004"), t("0.5", "0.006")]).unwrap();
    let settings = ProgressiveSettings {
        take_profit_ladder: Some(ladder),
        break_even_stop: break_even,
        ..ProgressiveSettings::default()
    };
    let params = ProgressiveParams {
        max_levels: 4,
        take_profit: TakeProfitRule::Fraction(0.004),
        ..ProgressiveParams::with_base_qty(q("0.004"))
    };
    let plan = GridPlan::from_atr_pct_ema(&params, 0.02, &bybit_btcusdt(), 0).unwrap();
    ProgressiveGrid::new("acc1", bybit_btcusdt(), plan, settings, 1_000)
}

#[test]
fn a_take_profit_ladder_sells_in_tranches_and_stops_averaging_after_the_first() {
    let mut g = laddered(false);
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let entry = one(&g, Leg::Long, OrderRole::Balance);
    fill_all(&mut g, &entry, 1);
    run(&mut g, 2, &m, &decision());
    let tps = working(&g, Leg::Long, OrderRole::TakeProfit);
    assert_eq!(
        tps.iter().map(|w| (w.tag.level, w.qty.to_string(), w.price.unwrap().to_string())).collect::<Vec<_>>(),
        vec![
            (0, "0.001".into(), "30060".into()),
            (1, "0.001".into(), "30120".into()),
            (2, "0.002".into(), "30180".into())
        ]
    );
    assert_eq!(working(&g, Leg::Long, OrderRole::Protective).len(), 1, "still averaging");
    // The first tranche fills: the protective order goes, the other tranches stay as they are.
    let first = tps[0].clone();
    let a = fill_all(&mut g, &first, 3);
    assert_eq!(a.realised_pnl, Some("0.06".parse().unwrap()));
    let protective = one(&g, Leg::Long, OrderRole::Protective);
    let cmds = run(&mut g, 4, &market("30060", "30060.1"), &decision());
    assert!(places(&cmds).iter().all(|o| o.position_idx != gridbot_core::PositionIdx::Long), "nothing new: {cmds:?}");
    assert!(
        cmds.iter().any(|c| matches!(c, Command::Cancel { link_id, .. } if *link_id == protective.link_id)),
        "the protective order is cancelled: {cmds:?}"
    );
    assert_eq!(working(&g, Leg::Long, OrderRole::TakeProfit).len(), 2);
    assert_eq!(g.state().long.tranches_filled, 1);
    // The rest fill: the cycle ends when the leg is flat.
    for w in working(&g, Leg::Long, OrderRole::TakeProfit) {
        fill_all(&mut g, &w, 5);
    }
    assert_eq!(g.state().long.cycle, 2);
    assert_eq!(g.state().long.tranches_filled, 0);
}

#[test]
fn a_stop_at_break_even_closes_the_rest_when_the_market_comes_back() {
    let mut g = laddered(true);
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let entry = one(&g, Leg::Long, OrderRole::Balance);
    fill_all(&mut g, &entry, 1);
    run(&mut g, 2, &m, &decision());
    // Back at the average before any tranche: no stop (it arms with the first tranche).
    assert!(
        places(&run(&mut g, 3, &market("29990", "29990.1"), &decision()))
            .iter()
            .all(|o| o.order_type != OrderType::Market)
    );
    let first = working(&g, Leg::Long, OrderRole::TakeProfit)[0].clone();
    fill_all(&mut g, &first, 4);
    run(&mut g, 5, &market("30060", "30060.1"), &decision());
    let cmds = run(&mut g, 6, &market("30000", "30000.1"), &decision());
    let market_orders: Vec<_> = places(&cmds).into_iter().filter(|o| o.order_type == OrderType::Market).collect();
    assert_eq!(market_orders.len(), 1, "{cmds:?}");
    assert_eq!((market_orders[0].qty, market_orders[0].reduce_only), (q("0.003"), true));
    assert!(g.take_notes().iter().any(|n| matches!(n, Note::BreakEvenStop { leg: Leg::Long })));
}

/// A duplicated fill event is told apart from a new fill — and a fill the grid could not apply
/// (of an order it does not track) is not taken for a duplicate when it comes again: a
/// duplicate of it would otherwise be journaled without its PnL and marked heard, and the
/// reconciliation would never price it (found by the chaos runner).
#[test]
fn duplicates_of_applied_fills_are_ignored_and_untracked_fills_never_count_as_applied() {
    let mut g = grid();
    let m = market("30000", "30000.1");
    run(&mut g, 0, &m, &decision());
    let entry = one(&g, Leg::Long, OrderRole::Balance);
    let e = fill(&entry, entry.price.unwrap(), entry.qty);
    let first = g.apply(GridEvent::Execution(&e), 1);
    assert!(first.filled && !first.duplicate);
    let again = g.apply(GridEvent::Execution(&e), 2);
    assert!(again.duplicate && !again.filled, "{again:?}");
    // A take-profit of an order the grid does not track (placed before a restart that tracks
    // nothing): untracked, both times.
    let stranger = WorkingOrder::new(
        &OrderRequest::limit(
            bybit_btcusdt().symbol().clone(),
            Side::Sell,
            q("0.001"),
            p("30200"),
            TimeInForce::Gtc,
            Leg::Long.position_idx(),
            LinkTag {
                account: "acc1".into(),
                leg: Leg::Long,
                cycle: 1,
                role: OrderRole::TakeProfit,
                level: 0,
                nonce: 9,
            }
            .encode()
            .unwrap(),
        ),
        LinkTag { account: "acc1".into(), leg: Leg::Long, cycle: 1, role: OrderRole::TakeProfit, level: 0, nonce: 9 },
    );
    let tp = fill(&stranger, p("30200"), q("0.001"));
    for _ in 0..2 {
        let a = g.apply(GridEvent::Execution(&tp), 3);
        assert!(matches!(a.reconcile, Some(ReconcileReason::UntrackedFill { .. })) && !a.duplicate, "{a:?}");
    }
}
