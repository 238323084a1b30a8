//! The classic grid driven event by event.

use gridbot_core::reference::bybit_ethusdt;
use gridbot_core::{ExecType, Execution, OrderType, Price, Qty, Side};
use gridbot_grid::Progression;
use gridbot_risk::RiskDecision;

use super::*;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn q(s: &str) -> Qty {
    s.parse().unwrap()
}

fn settings(bias: Bias) -> ClassicSettings {
    ClassicSettings {
        layout: LayoutSpec::AroundMarket { spacing: 0.01, levels_per_side: 3 },
        progression: Progression::Arithmetic,
        bias,
        qty_per_level: q("0.1"),
        take_profit: None,
        stop_loss: None,
        recentre: RecentrePolicy::default(),
        partial_fill_timeout_ms: 60_000,
        options: Default::default(),
    }
}

fn market(mid: &str) -> MarketView {
    let m = p(mid);
    MarketView { bid: m.checked_sub(Decimal::new(1, 2)), ask: m.checked_add(Decimal::new(1, 2)), ts_ms: 0 }
}

fn run(g: &mut ClassicGrid, now_ms: i64, m: &MarketView) -> Vec<Command> {
    run_noting(g, now_ms, m).0
}

fn run_noting(g: &mut ClassicGrid, now_ms: i64, m: &MarketView) -> (Vec<Command>, Vec<Note>) {
    let d = RiskDecision::default();
    let (cmds, notes) = g.commands(&DecisionContext { now_ms, market: m, decision: &d });
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
    (cmds, notes)
}

fn at_level(g: &ClassicGrid, level: u32) -> WorkingOrder {
    let w: Vec<_> =
        g.working().iter().filter(|w| w.tag.role == OrderRole::ClassicLevel && w.tag.level == level).collect();
    assert_eq!(w.len(), 1, "level {level}: {:?}", g.working());
    w[0].clone()
}

fn fill(w: &WorkingOrder, n: u32) -> Execution {
    let price = w.price.unwrap_or(p("2000"));
    Execution {
        exec_id: format!("{}-{n}", w.link_id),
        order_id: "o".into(),
        order_link_id: w.link_id.as_str().to_owned(),
        symbol: bybit_ethusdt().symbol().clone(),
        side: w.side,
        exec_type: ExecType::Trade,
        order_type: OrderType::Limit,
        exec_price: price,
        exec_qty: w.qty,
        exec_value: price.as_decimal() * w.qty.as_decimal(),
        exec_fee: Decimal::new(1, 2),
        fee_rate: Decimal::ZERO,
        is_maker: true,
        closed_size: Qty::ZERO,
        exec_time_ms: 0,
    }
}

#[test]
fn a_neutral_grid_rests_buys_on_the_long_leg_below_and_sells_on_the_short_leg_above() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    let cmds = run(&mut g, 0, &market("2000"));
    assert_eq!(cmds.len(), 6);
    let state = g.classic_state().unwrap().clone();
    assert_eq!(state.generation, 1);
    for w in g.working() {
        let level = state.plan.levels()[w.tag.level as usize];
        assert_eq!(w.price, Some(level.price));
        assert_eq!(w.qty, q("0.1"));
        if w.side == Side::Buy {
            assert!(level.price < p("2000"));
            assert_eq!(w.tag.leg, Leg::Long);
        } else {
            assert!(level.price > p("2000"));
            assert_eq!(w.tag.leg, Leg::Short);
        }
    }
    let Command::Place { request, .. } = &cmds[0] else { panic!() };
    assert!(!request.reduce_only && request.time_in_force == TimeInForce::PostOnly);
    assert!(run(&mut g, 1, &market("2000")).is_empty());
}

#[test]
fn a_filled_buy_turns_into_a_sell_one_level_up_and_back() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    let buy = at_level(&g, 2); // the highest buy, just below the centre (level 3)
    assert_eq!(buy.side, Side::Buy);
    g.apply(GridEvent::Execution(&fill(&buy, 1)), 1);
    let cmds = run(&mut g, 2, &market("1985"));
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    let sell = at_level(&g, 3);
    assert_eq!((sell.side, sell.tag.leg, sell.qty), (Side::Sell, Leg::Long, q("0.1")));
    let Command::Place { request, .. } = &cmds[0] else { panic!() };
    assert!(request.reduce_only);
    assert_eq!(g.state().long.size, q("0.1"));

    g.apply(GridEvent::Execution(&fill(&sell, 2)), 3);
    run(&mut g, 4, &market("2010"));
    let again = at_level(&g, 2);
    assert_eq!((again.side, again.tag.leg), (Side::Buy, Leg::Long));
    assert_eq!(g.state().long.size, Qty::ZERO);
    assert_eq!(g.stats().cycles, 1);
    let s = g.classic_state().unwrap();
    assert_eq!(
        s.realised_pnl,
        (sell.price.unwrap().as_decimal() - buy.price.unwrap().as_decimal()) * Decimal::new(1, 1)
    );
    assert_eq!(s.fees, Decimal::new(2, 2));
}

#[test]
fn a_long_grid_buys_its_backing_position_first() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Long), 0);
    let cmds = run(&mut g, 0, &market("2000"));
    assert_eq!(cmds.len(), 1);
    let Command::Place { request, .. } = &cmds[0] else { panic!() };
    assert_eq!((request.order_type, request.side, request.qty), (OrderType::Market, Side::Buy, q("0.3")));
    let backing = g.working()[0].clone();
    g.apply(GridEvent::Execution(&fill(&backing, 1)), 1);
    let cmds = run(&mut g, 2, &market("2000"));
    assert_eq!(cmds.len(), 6);
    assert!(g.working().iter().all(|w| w.tag.leg == Leg::Long));
    assert!(run(&mut g, 3, &market("2000")).is_empty(), "the backing is bought once");
}

#[test]
fn leaving_the_range_recentres_closing_the_inventory() {
    let mut s = settings(Bias::Neutral);
    s.recentre.max_deviation = Some(0.01);
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), s, 0);
    run(&mut g, 0, &market("2000"));
    let lowest = at_level(&g, 0);
    g.apply(GridEvent::Execution(&fill(&lowest, 1)), 1);
    // Far below the grid: cancel everything, then close the long inventory, then rebuild.
    let cmds = run(&mut g, 2, &market("1900"));
    assert!(cmds.iter().all(|c| matches!(c, Command::Cancel { .. })), "{cmds:?}");
    let cmds = run(&mut g, 3, &market("1900"));
    let Command::Place { request, .. } = &cmds[0] else { panic!("{cmds:?}") };
    assert_eq!((request.order_type, request.side, request.reduce_only), (OrderType::Market, Side::Sell, true));
    let close = g.working()[0].clone();
    let mut e = fill(&close, 2);
    e.exec_price = p("1900");
    g.apply(GridEvent::Execution(&e), 4);
    let (_, notes) = run_noting(&mut g, 5, &market("1900"));
    let state = g.classic_state().unwrap();
    assert_eq!(state.generation, 2);
    assert_eq!(state.plan.reference_price(), p("1900"));
    assert_eq!(g.stats().recentres, 1);
    assert!(matches!(notes.last(), Some(Note::Recentred { generation: 2, .. })), "{notes:?}");
    assert_eq!(g.working().len(), 6);
}

#[test]
fn a_rebuild_interrupted_by_a_restart_is_finished_not_forgotten() {
    let mut s = settings(Bias::Neutral);
    s.recentre.max_deviation = Some(0.01);
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), s, 0);
    run(&mut g, 0, &market("2000"));
    let lowest = at_level(&g, 0);
    g.apply(GridEvent::Execution(&fill(&lowest, 1)), 1);
    let (cmds, notes) = run_noting(&mut g, 2, &market("1900"));
    assert!(cmds.iter().all(|c| matches!(c, Command::Cancel { .. })), "{cmds:?}");
    assert!(matches!(notes.first(), Some(Note::RebuildStarted { generation: 1, .. })), "{notes:?}");
    // Killed here: the saved state says a rebuild is under way, and why.
    let saved = g.state();
    let rebuilding = saved.classic.as_ref().and_then(|c| c.rebuilding.clone()).expect("saved as under way");
    assert!(rebuilding.reason.contains("left the range") && !rebuilding.stops_the_grid, "{rebuilding:?}");
    // The restart finds the cancelled orders gone and the inventory still there: it closes it
    // and builds generation 2, as the grid would have without the crash.
    let mut h = ClassicGrid::new("acc1", bybit_ethusdt(), s, 0);
    let mut restored = saved.clone();
    restored.orders.clear();
    h.restore(&restored);
    let cmds = run(&mut h, 3, &market("1900"));
    let Some(Command::Place { request, .. }) = cmds.first() else { panic!("{cmds:?}") };
    assert_eq!((request.order_type, request.side, request.reduce_only), (OrderType::Market, Side::Sell, true));
    let close = h.working()[0].clone();
    let mut e = fill(&close, 2);
    e.exec_price = p("1900");
    h.apply(GridEvent::Execution(&e), 4);
    let (_, notes) = run_noting(&mut h, 5, &market("1900"));
    assert!(
        matches!(notes.last(), Some(Note::Recentred { generation: 2, reason: RecentreReason::Interrupted { .. }, .. })),
        "{notes:?}"
    );
    assert_eq!(h.classic_state().unwrap().rebuilding, None);
    assert_eq!(h.state().classic.unwrap().rebuilding, None, "nothing under way any more");
}

#[test]
fn an_operator_recentre_with_a_profile_rebuilds_around_the_market_with_its_layout() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    assert_eq!(g.working().len(), 6, "3 levels a side");
    g.operator_recentre(Some(gridbot_grid::Profile::Aggressive)).unwrap();
    assert!(g.operator_recentre(None).unwrap_err().to_string().contains("under way"), "one rebuild at a time");
    // Nothing held: cancel, then build generation 2 around the mid with the profile's layout.
    let cmds = run(&mut g, 1, &market("2010"));
    assert!(cmds.iter().all(|c| matches!(c, Command::Cancel { .. })), "{cmds:?}");
    let (_, notes) = run_noting(&mut g, 2, &market("2010"));
    assert!(
        matches!(
            notes.last(),
            Some(Note::Recentred {
                generation: 2,
                reason: RecentreReason::Operator { profile: Some(gridbot_grid::Profile::Aggressive) },
                ..
            })
        ),
        "{notes:?}"
    );
    let state = g.classic_state().unwrap();
    assert_eq!(state.plan.reference_price(), p("2010"));
    let levels = state.plan.levels();
    assert_eq!(levels.len(), 17, "8 a side and the centre");
    let ratio = levels[9].price.to_f64() / levels[8].price.to_f64();
    assert!((ratio - 1.0015).abs() < 0.0002, "geometric 0.15% spacing: {ratio}");
    assert_eq!(state.plan.take_profit(), Some(0.0015));
    assert_eq!(g.working().len(), 16);
}

#[test]
fn the_stop_loss_closes_and_stops_the_grid() {
    let mut s = settings(Bias::Neutral);
    s.stop_loss = Some(0.01);
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), s, 0);
    run(&mut g, 0, &market("2000"));
    for level in [2, 1, 0] {
        let w = at_level(&g, level);
        g.apply(GridEvent::Execution(&fill(&w, level)), 1);
    }
    run(&mut g, 2, &market("1500")); // cancels
    let cmds = run(&mut g, 3, &market("1500")); // close
    let close = g.working()[0].clone();
    assert_eq!(close.tag.role, OrderRole::Close);
    assert_eq!(cmds.len(), 1);
    let mut e = fill(&close, 9);
    e.exec_price = p("1500");
    g.apply(GridEvent::Execution(&e), 4);
    assert!(run(&mut g, 5, &market("1500")).is_empty());
    assert!(g.classic_state().unwrap().stopped.as_deref().unwrap().starts_with("stop-loss"));
    assert!(run(&mut g, 6, &market("2000")).is_empty(), "a stopped grid stays stopped");
    assert!(
        g.operator_recentre(None).unwrap_err().to_string().contains("resume"),
        "an operator's recentre is refused: resume it"
    );
}

#[test]
fn recentre_reasons() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    let state = g.classic_state().unwrap().clone();
    let none = VecDeque::new();
    let age = RecentrePolicy { max_age_ms: Some(1_000), ..RecentrePolicy::default() };
    assert!(recentre_reason(&age, &state, 999, p("2000"), &none).is_none());
    assert!(recentre_reason(&age, &state, 1_000, p("2000"), &none).is_some());
    let sided = RecentrePolicy { one_sided: true, ..RecentrePolicy::default() };
    assert!(recentre_reason(&sided, &state, 0, p("2000"), &none).is_none());
    let mut all_sells = state.clone();
    all_sells.slots.retain(|s| s.side == Side::Sell);
    assert!(recentre_reason(&sided, &all_sells, 0, p("2000"), &none).is_some());
    let pd = RecentrePolicy {
        pump_dump: Some(PumpDump { window_ms: 60_000, move_fraction: 0.02 }),
        ..RecentrePolicy::default()
    };
    let mids: VecDeque<(i64, Price)> = [(0, p("2000")), (30_000, p("2010"))].into();
    assert!(recentre_reason(&pd, &state, 50_000, p("2039"), &mids).is_none());
    assert!(recentre_reason(&pd, &state, 50_000, p("2040"), &mids).is_some());
}

#[test]
fn state_round_trips_through_restore() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    let w = at_level(&g, 2);
    g.apply(GridEvent::Execution(&fill(&w, 1)), 1);
    run(&mut g, 2, &market("1985"));
    let s = g.state();
    let mut h = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    h.restore(&s);
    assert_eq!(h.state(), s);
    assert!(run(&mut h, 3, &market("1985")).is_empty());
}

/// The exchange's report that a PostOnly order of `w` was cancelled as crossing.
fn refused(w: &WorkingOrder) -> Order {
    crate::test_orders::report(
        w.link_id.as_str(),
        bybit_ethusdt().symbol().clone(),
        (w.tag.leg, w.side),
        (w.price, w.qty),
        OrderStatus::Cancelled,
        RejectReason::PostOnlyWillTakeLiquidity,
    )
}

#[test]
fn a_level_refused_as_crossing_waits_until_the_market_moves() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    let at = |mid: &str, ts: i64| MarketView { ts_ms: ts, ..market(mid) };
    run(&mut g, 0, &at("2000", 1));
    let sell = at_level(&g, 4); // the lowest sell
    // The exchange's market had crossed it: cancelled as PostOnlyWillTakeLiquidity.
    g.apply(GridEvent::Order(&refused(&sell)), 1);
    // Bybit re-sends an unchanged depth-1 book every 3 s: newer frames, the same top — the
    // refused level is not re-placed again and again (it was 36 times in a row).
    for ts in 2..40 {
        let cmds = run(&mut g, ts, &at("2000", ts));
        assert!(places_at(&cmds, 4).is_empty(), "re-placed against the same top at {ts}: {cmds:?}");
    }
    // The market moves: one new attempt.
    let cmds = run(&mut g, 41, &at("1999", 41));
    assert_eq!(places_at(&cmds, 4).len(), 1, "{cmds:?}");
}

fn places_at(cmds: &[Command], level: u32) -> Vec<&OrderRequest> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Place { request, tag, .. } if tag.level == level => Some(request),
            _ => None,
        })
        .collect()
}

fn with_options(options: ClassicOptions) -> ClassicSettings {
    ClassicSettings { options, ..settings(Bias::Neutral) }
}

#[test]
fn an_entry_trigger_waits_for_the_cross_and_survives_a_restart() {
    let options = ClassicOptions { trigger_price: Some(p("1950")), ..ClassicOptions::default() };
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), with_options(options), 0);
    let (cmds, notes) = run_noting(&mut g, 0, &market("2000"));
    assert!(cmds.is_empty() && g.classic_state().is_none(), "nothing before the cross");
    assert!(matches!(notes[..], [Note::TriggerArmed { from_above: true, .. }]), "{notes:?}");
    assert!(run(&mut g, 1, &market("1960")).is_empty(), "above the trigger: still waiting");
    // A restart keeps waiting for the same cross, even if the market went up meanwhile.
    let saved = g.state();
    assert_eq!(saved.classic_trigger.map(|t| t.from_above), Some(true));
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), with_options(options), 2);
    g.restore(&saved);
    assert!(run(&mut g, 3, &market("2100")).is_empty());
    let (cmds, notes) = run_noting(&mut g, 4, &market("1949"));
    assert!(!cmds.is_empty(), "crossed: the grid is built");
    assert!(
        notes.iter().any(|n| matches!(n, Note::Recentred { reason: RecentreReason::Triggered { .. }, .. })),
        "{notes:?}"
    );
    assert!(g.state().classic_trigger.is_none(), "no longer waiting");
}

#[test]
fn take_profit_and_stop_loss_by_price_close_and_stop_the_grid() {
    for (tp, sl, mid, stops) in [("2100", "1900", "2101", "take-profit"), ("2100", "1900", "1899", "stop-loss")] {
        let options = ClassicOptions {
            take_profit_price: Some(p(tp)),
            stop_loss_price: Some(p(sl)),
            ..ClassicOptions::default()
        };
        let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), with_options(options), 0);
        run(&mut g, 0, &market("2000"));
        assert!(run(&mut g, 1, &market("2099")).is_empty(), "inside: nothing");
        let (cmds, notes) = run_noting(&mut g, 2, &market(mid));
        assert!(cmds.iter().all(|c| matches!(c, Command::Cancel { .. })) && !cmds.is_empty(), "{cmds:?}");
        let Some(Note::RebuildStarted { reason, .. }) = notes.first() else { panic!("{notes:?}") };
        assert!(reason.stops_the_grid() && reason.to_string().starts_with(stops), "{reason}");
        // The cancels answered and nothing to close: the grid stops, nothing more is placed.
        run(&mut g, 3, &market(mid));
        assert!(g.classic_state().is_some_and(|s| s.stopped.is_some()));
        assert!(run(&mut g, 4, &market("2000")).is_empty(), "stopped until resumed");
    }
}

proptest::proptest! {
    /// Along any path of mids, the grid is never built before the path has crossed the
    /// trigger from where it started, and is built at the first mid that has.
    #[test]
    fn a_trigger_never_places_before_the_cross(
        start in 1800u32..2200,
        steps in proptest::collection::vec(-40i32..40, 1..60),
        trigger in 1900u32..2100,
    ) {
        let options = ClassicOptions { trigger_price: Some(p(&trigger.to_string())), ..ClassicOptions::default() };
        let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), with_options(options), 0);
        let from_above = start > trigger;
        let mut mid = i64::from(start);
        let mut crossed = start == trigger;
        for (t, step) in (0i64..).zip(std::iter::once(0).chain(steps)) {
            mid = (mid + i64::from(step)).max(1);
            let trigger = i64::from(trigger);
            crossed |= if from_above { mid <= trigger } else { mid >= trigger };
            let cmds = run(&mut g, t, &market(&mid.to_string()));
            proptest::prop_assert_eq!(g.classic_state().is_some(), crossed, "mid {} at step {}", mid, t);
            if !crossed {
                proptest::prop_assert!(cmds.is_empty());
            }
        }
    }
}

#[test]
fn a_bollinger_range_takes_its_bounds_from_the_bands_and_refreshes_them_on_recentre() {
    let layout = LayoutSpec::Bollinger { period: 4, k: 2.0, interval: gridbot_core::Interval::M1, levels: 5 };
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), ClassicSettings { layout, ..settings(Bias::Neutral) }, 0);
    g.band_samples_mut().unwrap().seed(vec![
        (-240_000, 1990.0),
        (-180_000, 2010.0),
        (-120_000, 1990.0),
        (-60_000, 2010.0),
    ]);
    // mean 2000, σ 10: the band is 1980..2020 (the grid's own first sample joins at minute 0).
    run(&mut g, 0, &market("2000"));
    let bounds = |g: &ClassicGrid| {
        let levels = g.classic_state().unwrap().plan.levels().to_vec();
        (levels[0].price, levels[levels.len() - 1].price, levels.len())
    };
    let (low, high, n) = bounds(&g);
    assert_eq!(n, 5);
    let band = gridbot_grid::volatility::bollinger(&[2010.0, 1990.0, 2010.0, 2000.0], 4, 2.0).unwrap();
    assert!((low.to_f64() - band.0).abs() <= 0.01 && (high.to_f64() - band.2).abs() <= 0.01, "{low} {high} {band:?}");
    // The market moves up over the next minutes; the running grid keeps its levels …
    for (minute, mid) in [(1, "2050"), (2, "2100"), (3, "2150")] {
        run(&mut g, minute * 60_000, &market(mid));
    }
    assert_eq!(bounds(&g), (low, high, 5));
    // … and a recentre takes the band of now.
    g.operator_recentre(None).unwrap();
    for t in 0..5 {
        run(&mut g, 4 * 60_000 + t, &market("2150"));
    }
    let (new_low, new_high, _) = bounds(&g);
    assert!(new_low > low && new_high > high, "{new_low} {new_high}");
}

#[test]
fn a_bollinger_grids_calm_ends_at_the_next_sample() {
    let layout = LayoutSpec::Bollinger { period: 2, k: 2.0, interval: gridbot_core::Interval::H1, levels: 5 };
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), ClassicSettings { layout, ..settings(Bias::Neutral) }, 0);
    g.band_samples_mut().unwrap().seed(vec![(-3_600_000, 1990.0)]);
    let m = market("2000");
    run(&mut g, 1_000, &m);
    run(&mut g, 2_000, &m);
    let d = RiskDecision::default();
    let calm = g.calm(&DecisionContext { now_ms: 2_000, market: &m, decision: &d });
    assert_eq!(calm.until_ms, 3_600_000);
}

fn trailing(up: Option<&str>, down: Option<&str>) -> ClassicSettings {
    with_options(ClassicOptions {
        trailing_up_limit: up.map(p),
        trailing_down_limit: down.map(p),
        ..ClassicOptions::default()
    })
}

/// Runs the grid at `mid` until it asks for nothing (cancels answered, shift made, orders in).
fn settle(g: &mut ClassicGrid, t: &mut i64, mid: &str) -> (Vec<Command>, Vec<Note>) {
    let (mut all, mut notes) = (Vec::new(), Vec::new());
    for _ in 0..6 {
        *t += 1;
        let (cmds, n) = run_noting(g, *t, &market(mid));
        notes.extend(n);
        if cmds.is_empty() {
            break;
        }
        all.extend(cmds);
    }
    (all, notes)
}

#[test]
fn a_trailing_grid_moves_up_by_whole_levels_keeping_its_inventory() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), trailing(Some("2300"), None), 0);
    let mut t = 0;
    settle(&mut g, &mut t, "2000");
    let before = g.classic_state().unwrap().clone();
    let spacing = before.plan.levels()[1].price.to_f64() - before.plan.levels()[0].price.to_f64();
    // The short leg sells fill as the market rises through them.
    for level in 4..=6 {
        let w = at_level(&g, level);
        g.apply(GridEvent::Execution(&fill(&w, level)), t);
        t += 1;
        run(&mut g, t, &market("2000"));
    }
    let short = g.leg_sizes().short;
    assert_eq!(short, q("0.3"));
    // Above the top level (2060): the grid moves up two levels (to 2100) instead of recentring.
    let (cmds, notes) = settle(&mut g, &mut t, "2095");
    assert!(
        cmds.iter().all(|c| !matches!(c, Command::Place { request, .. } if request.order_type == OrderType::Market))
    );
    assert!(
        notes.iter().any(|n| matches!(n, Note::Recentred { reason: RecentreReason::Trail { by: 2, .. }, .. })),
        "{notes:?}"
    );
    let after = g.classic_state().unwrap().clone();
    assert_eq!(after.generation, before.generation + 1);
    assert_eq!(g.leg_sizes().short, short, "the inventory is kept");
    let old: Vec<Price> = before.plan.levels().iter().map(|l| l.price).collect();
    let new: Vec<Price> = after.plan.levels().iter().map(|l| l.price).collect();
    assert_eq!(new[..new.len() - 2], old[2..], "the staying levels keep their prices");
    let top = new[new.len() - 1].to_f64();
    assert!((top - new[new.len() - 2].to_f64() - spacing).abs() < 0.02, "spacing kept: {new:?}");
    // The short leg's closing buys moved with their levels.
    let closing: Vec<_> = after.slots.iter().filter(|s| s.leg == Leg::Short && s.side == Side::Buy).collect();
    assert_eq!(closing.len(), 3, "{:?}", after.slots);
}

#[test]
fn a_trailing_grid_stops_at_its_limit_and_a_restart_never_closes_the_inventory() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), trailing(Some("2080"), None), 0);
    let mut t = 0;
    settle(&mut g, &mut t, "2000");
    let w = at_level(&g, 6);
    g.apply(GridEvent::Execution(&fill(&w, 6)), t);
    // Far above: the limit lets the top level go to 2080 at most (one level), not to 2200.
    let (_, notes) = run_noting(&mut g, t + 1, &market("2200"));
    let Some(Note::RebuildStarted { reason: RecentreReason::Trail { by, .. }, .. }) = notes.first() else {
        panic!("{notes:?}")
    };
    assert_eq!(*by, 1);
    // Killed while cancelling: the restart finishes the move and sends no market order.
    let saved = g.state();
    assert!(saved.classic.as_ref().unwrap().rebuilding.as_ref().is_some_and(|r| r.keeps_inventory));
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), trailing(Some("2080"), None), t + 2);
    g.restore(&saved);
    g.apply_sync(&ClassicSync::Agrees { orders: 0 });
    let mut t = t + 2;
    let (cmds, notes) = settle(&mut g, &mut t, "2200");
    assert!(
        cmds.iter().all(|c| !matches!(c, Command::Place { request, .. } if request.order_type == OrderType::Market))
    );
    assert!(notes.iter().any(|n| matches!(n, Note::Recentred { .. })), "{notes:?}");
    assert_eq!(g.leg_sizes().short, q("0.1"), "kept");
    let top = g.classic_state().unwrap().plan.levels().last().unwrap().price;
    assert!(top <= p("2080"), "{top}");
}

#[test]
fn a_band_the_market_has_left_is_stretched_to_hold_it() {
    let layout = LayoutSpec::Bollinger { period: 4, k: 2.0, interval: gridbot_core::Interval::M1, levels: 5 };
    let settings = ClassicSettings {
        layout,
        recentre: RecentrePolicy { max_deviation: Some(0.01), ..RecentrePolicy::default() },
        ..settings(Bias::Neutral)
    };
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings, 0);
    g.band_samples_mut().unwrap().seed(vec![
        (-240_000, 1990.0),
        (-180_000, 2010.0),
        (-120_000, 1990.0),
        (-60_000, 2010.0),
    ]);
    // A fast move far above a 2000 ± 20 band: the grid is built up to the market, once.
    let (_, notes) = run_noting(&mut g, 0, &market("2300"));
    assert!(matches!(notes.as_slice(), [Note::Recentred { generation: 1, .. }]), "{notes:?}");
    let top = g.classic_state().unwrap().plan.levels().last().unwrap().price;
    assert!(top >= p("2299.99"), "{top}");
    let (_, notes) = run_noting(&mut g, 1, &market("2300"));
    assert!(notes.is_empty(), "not rebuilt again at once: {notes:?}");
}

/// A snapshot that missed the buy (a kill before it was saved): the sell that closes it is an
/// exit the grid's inventory cannot price — journaled without a PnL for a start to price from
/// the exchange's fills, never as a made-up zero, and nothing is added to the grid's PnL.
#[test]
fn an_exit_the_inventory_does_not_explain_has_no_pnl_rather_than_zero() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    let buy = at_level(&g, 2);
    let before_buy = g.state();
    let applied = g.apply(GridEvent::Execution(&fill(&buy, 1)), 1);
    assert_eq!(applied.realised_pnl, None, "an entry realises nothing");
    run(&mut g, 2, &market("1985"));
    let sell = at_level(&g, 3);
    // Restored from the snapshot before the buy, yet tracking the sell (as a catch-up would).
    let mut h = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    let mut saved = g.state();
    saved.long = before_buy.long;
    h.restore(&saved);
    let applied = h.apply(GridEvent::Execution(&fill(&sell, 2)), 3);
    assert!(applied.filled);
    assert_eq!(applied.realised_pnl, None);
    assert_eq!(h.classic_state().unwrap().realised_pnl, Decimal::ZERO);
    assert_eq!(h.state().long.size, Qty::ZERO);
    // With the inventory the grid knows, the same exit is priced.
    let applied = g.apply(GridEvent::Execution(&fill(&sell, 2)), 3);
    assert_eq!(
        applied.realised_pnl,
        Some((sell.price.unwrap().as_decimal() - buy.price.unwrap().as_decimal()) * Decimal::new(1, 1))
    );
}

/// A fill of an order of ours the grid does not track (placed just before a kill, not yet in
/// the snapshot) moves the inventory at once — the next exit is priced against the average the
/// exchange holds, even while the reconciliation it asks for waits (under the emergency stop,
/// as the chaos runner found) — and a duplicate of it moves nothing.
#[test]
fn a_fill_of_an_untracked_order_of_ours_moves_the_inventory_and_asks_for_a_reconciliation() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    let buy = at_level(&g, 2);
    g.apply(GridEvent::Execution(&fill(&buy, 1)), 1);
    run(&mut g, 2, &market("1985"));
    let sell = at_level(&g, 3);
    let level1 = g.classic_state().unwrap().plan.levels()[1].price;
    let tag = LinkTag {
        account: "acc1".into(),
        leg: Leg::Long,
        cycle: 1,
        role: OrderRole::ClassicLevel,
        level: 1,
        nonce: 999,
    };
    let untracked = Execution {
        exec_id: "untracked-1".into(),
        order_link_id: tag.encode().unwrap().as_str().to_owned(),
        exec_price: level1,
        ..fill(&buy, 9)
    };
    let applied = g.apply(GridEvent::Execution(&untracked), 3);
    assert!(applied.filled && !applied.duplicate);
    assert!(matches!(applied.reconcile, Some(ReconcileReason::UntrackedFill { .. })), "{applied:?}");
    assert_eq!(g.state().long.size, q("0.2"));
    let again = g.apply(GridEvent::Execution(&untracked), 4);
    assert!(again.duplicate && !again.filled);
    assert_eq!(g.state().long.size, q("0.2"), "a duplicate moves nothing");
    let applied = g.apply(GridEvent::Execution(&fill(&sell, 2)), 5);
    let avg = (buy.price.unwrap().as_decimal() + level1.as_decimal()) / Decimal::TWO;
    assert_eq!(
        applied.realised_pnl,
        Some(gridbot_core::usdt((sell.price.unwrap().as_decimal() - avg) * Decimal::new(1, 1)))
    );
    assert_eq!(g.state().long.size, q("0.1"));
}

/// The chaos runner's case: a reconciliation after a reconnect takes the exchange's inventory,
/// which holds a fill whose event comes only later (delayed past the reconnect). That fill is
/// counted once — it does not move the inventory taken, even across a later reconciliation —
/// while a fill after the exchange's last change moves it as usual.
#[test]
fn a_fill_heard_after_the_inventory_was_taken_from_the_exchange_is_counted_once() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    let buy = at_level(&g, 2);
    let lower = at_level(&g, 1);
    g.apply(GridEvent::Execution(&fill(&buy, 1)), 1);
    // The exchange holds both buys (the second's event not heard yet), last changed at 50.
    let avg = (buy.price.unwrap().as_decimal() + lower.price.unwrap().as_decimal()) / Decimal::TWO;
    let exchange = (q("0.2"), Some(Price::new(avg).unwrap()));
    assert!(g.keep_inventory(exchange, (Qty::ZERO, None), [50, i64::MIN]).is_some());
    let own = g.state();
    g.restore(&own); // as a later reconciliation does
    let late = Execution { exec_time_ms: 50, ..fill(&lower, 2) };
    let applied = g.apply(GridEvent::Execution(&late), 60);
    assert!(applied.filled);
    assert_eq!(applied.realised_pnl, None);
    assert_eq!(g.state().long.size, q("0.2"), "already in the inventory taken");
    assert_eq!(g.state().long.avg_entry, Some(Price::new(avg.round_dp(8)).unwrap()));
    run(&mut g, 61, &market("1975"));
    let sell = at_level(&g, 2);
    assert_eq!(sell.side, Side::Sell);
    let after = Execution { exec_time_ms: 70, ..fill(&sell, 3) };
    let applied = g.apply(GridEvent::Execution(&after), 70);
    assert_eq!(
        applied.realised_pnl,
        Some(gridbot_core::usdt((sell.price.unwrap().as_decimal() - avg) * Decimal::new(1, 1)))
    );
    assert_eq!(g.state().long.size, q("0.1"), "a later fill moves it");
}

/// An untracked order's buy and sell (placed just before a kill, filled while the bot was
/// down) leave the size as it was but move the average: the exchange's average is taken, or
/// every later exit would be priced against the old one (the chaos runner, seed 4242).
#[test]
fn an_inventory_of_the_same_size_at_another_average_is_taken_from_the_exchange() {
    let mut g = ClassicGrid::new("acc1", bybit_ethusdt(), settings(Bias::Neutral), 0);
    run(&mut g, 0, &market("2000"));
    let buy = at_level(&g, 2);
    g.apply(GridEvent::Execution(&fill(&buy, 1)), 1);
    let ours = buy.price.unwrap();
    // Within a millionth of the exchange's: the same inventory.
    let close = Price::new(ours.as_decimal() + Decimal::new(1, 4)).unwrap();
    assert_eq!(g.keep_inventory((q("0.1"), Some(close)), (Qty::ZERO, None), [1, i64::MIN]), None);
    let other = p("1990.5");
    let text = g.keep_inventory((q("0.1"), Some(other)), (Qty::ZERO, None), [1, i64::MIN]).unwrap();
    assert!(
        text.contains(&format!("long 0.1 at {ours} short 0 differs from the exchange's long 0.1 at 1990.5")),
        "{text}"
    );
    assert_eq!(g.state().long.avg_entry, Some(other));
}
