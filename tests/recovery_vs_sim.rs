//! Recovery against the in-process simulator: for none / long / short / both and every level
//! from 0 to the plan's max, recovery restores the take-profit and protective orders at the
//! right prices and sizes — with the snapshot deleted, corrupted, or the orders carrying the
//! older id version — and a second run changes nothing; a dry run sends nothing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    Decimal, Exchange, Leg, OrderLinkId, OrderRequest, OrderRole, PositionMode, Price, Qty, Symbol, TimeInForce,
    TimeWindow,
};
use gridbot_grid::{GridPlan, ProgressiveParams};
use gridbot_recovery::codec::encode_v1;
use gridbot_recovery::{Classification, LinkTag, RecoveryInput, recover};
use gridbot_sim::{CandleReplay, MatchingEngine, SimAccount, SimConfig, SimExchange};
use gridbot_state::{Loaded, SnapshotStore};

const MAX_LEVEL: u32 = 4;
const TAG: &str = "acc1";

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn plan() -> GridPlan {
    let params =
        ProgressiveParams { max_levels: MAX_LEVEL, ..ProgressiveParams::with_base_qty("0.001".parse().unwrap()) };
    GridPlan::from_atr_pct_ema(&params, 0.01, &bybit_btcusdt(), 0).unwrap()
}

fn sim() -> (Arc<SimExchange>, SimAccount) {
    let sim = SimExchange::new(
        MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]),
        CandleReplay::new(60_000, BTreeMap::new()),
    );
    let id = sim.add_account(Decimal::from(1_000_000));
    sim.with_engine(|e| {
        e.set_time(1_700_000_000_000);
        e.move_price(&btc(), "30000".parse().unwrap());
    });
    let ex = sim.account(id);
    ex.set_position_mode(&btc(), PositionMode::Hedge).unwrap();
    (sim, ex)
}

fn link(tag: &LinkTag, v1: bool) -> OrderLinkId {
    if v1 { OrderLinkId::new(encode_v1(tag)).unwrap() } else { tag.encode().unwrap() }
}

/// Opens `leg` up to `level` the way the bot does: a balance order at the market (level 0),
/// then protective orders at the plan's prices, each filled by moving the market through it.
/// Returns the anchor (the level-0 fill price).
fn open_leg(sim: &SimExchange, ex: &SimAccount, leg: Leg, level: u32, v1: bool) -> Price {
    let plan = plan();
    let cycle = 3;
    let tag = |role, level, nonce| LinkTag { account: TAG.into(), leg, cycle, role, level, nonce };
    let qty0 = plan.quantities()[0];
    ex.place(&OrderRequest::market(
        btc(),
        leg.entry_side(),
        qty0,
        leg.position_idx(),
        link(&tag(OrderRole::Balance, 0, 1), v1),
    ))
    .unwrap();
    let anchor = ex
        .executions(&btc(), TimeWindow { start_ms: 0, end_ms: i64::MAX })
        .unwrap()
        .into_iter()
        .find(|e| e.side == leg.entry_side())
        .unwrap()
        .exec_price;
    for k in 1..=level {
        let price = plan.level_price(leg, anchor, k, &bybit_btcusdt()).unwrap();
        let req = OrderRequest::limit(
            btc(),
            leg.entry_side(),
            plan.quantities()[k as usize],
            price,
            TimeInForce::PostOnly,
            leg.position_idx(),
            link(&tag(OrderRole::Protective, k, 10 + k), v1),
        );
        ex.place(&req).unwrap();
        let through = match leg {
            Leg::Long => price.checked_sub(Decimal::ONE).unwrap(),
            Leg::Short => price.checked_add(Decimal::ONE).unwrap(),
        };
        sim.with_engine(|e| e.move_price(&btc(), through));
    }
    // the market stays just beyond the deepest level filled, as after a real level-up
    anchor
}

fn nonces(symbol: &Symbol, now_ms: i64) -> gridbot_recovery::NonceSource {
    gridbot_recovery::NonceSource::new(symbol, now_ms)
}

fn input<'a>(symbol: &'a Symbol, plan: &'a GridPlan, dry_run: bool) -> RecoveryInput<'a> {
    RecoveryInput {
        account_tag: TAG,
        symbol,
        plan,
        snapshot: None,
        history: TimeWindow { start_ms: 1_699_000_000_000, end_ms: 1_701_000_000_000 },
        now_ms: 1_700_000_100_000,
        dry_run,
        take_profit_ladder: None,
    }
}

fn check_situation(long: Option<u32>, short: Option<u32>, v1: bool) {
    let (sim, ex) = sim();
    let anchors: BTreeMap<Leg, Price> = [(Leg::Long, long), (Leg::Short, short)]
        .into_iter()
        .filter_map(|(leg, level)| level.map(|l| (leg, open_leg(&sim, &ex, leg, l, v1))))
        .collect();
    let plan = plan();
    let symbol = btc();
    let before = ex.open_orders(&symbol).unwrap();
    let dry = recover(&ex, &input(&symbol, &plan, true), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    assert_eq!(ex.open_orders(&symbol).unwrap(), before, "a dry run sends nothing");
    let report = recover(&ex, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    assert_eq!(report.desired.len(), dry.desired.len());
    let expected_class = match (long.is_some(), short.is_some()) {
        (false, false) => Classification::None,
        (true, false) => Classification::LongOnly,
        (false, true) => Classification::ShortOnly,
        (true, true) => Classification::Both,
    };
    assert_eq!(report.classification, expected_class);
    let positions = ex.positions(&symbol).unwrap();
    let open = ex.open_orders(&symbol).unwrap();
    for (i, (leg, level)) in [(Leg::Long, long), (Leg::Short, short)].into_iter().enumerate() {
        let analysis = &report.legs[i];
        let mine = |role: OrderRole| {
            open.iter()
                .filter(|o| LinkTag::decode(&o.order_link_id).is_ok_and(|t| t.leg == leg && t.role == role))
                .collect::<Vec<_>>()
        };
        match level {
            None => {
                assert!(analysis.size.is_zero());
                assert_eq!(mine(OrderRole::Balance).len(), 1, "{leg:?}: a flat leg gets a balance order");
                assert_eq!(mine(OrderRole::Balance)[0].qty, plan.quantities()[0]);
            }
            Some(level) => {
                assert_eq!(analysis.level, Some(level), "{leg:?}");
                assert_eq!(analysis.anchor, Some(anchors[&leg]), "{leg:?}");
                assert_eq!(analysis.cycle, 3);
                assert!(analysis.findings.is_empty(), "{leg:?}: {:?}", analysis.findings);
                let position = positions.iter().find(|p| p.position_idx == leg.position_idx()).unwrap();
                let tp = mine(OrderRole::TakeProfit);
                assert_eq!(tp.len(), 1, "{leg:?}: one take-profit");
                assert_eq!(
                    tp[0].price,
                    Some(plan.take_profit_price(leg, position.avg_price.unwrap(), &bybit_btcusdt()).unwrap())
                );
                assert_eq!((tp[0].qty, tp[0].reduce_only), (position.size, true));
                let protective = mine(OrderRole::Protective);
                if level < MAX_LEVEL {
                    assert_eq!(protective.len(), 1, "{leg:?} level {level}: the next protective order");
                    assert_eq!(
                        protective[0].price,
                        Some(plan.level_price(leg, anchors[&leg], level + 1, &bybit_btcusdt()).unwrap())
                    );
                    assert_eq!(protective[0].qty, plan.quantities()[level as usize + 1]);
                } else {
                    assert!(protective.is_empty(), "{leg:?}: no level beyond the max");
                }
            }
        }
    }
    // idempotent: a second run finds everything in place
    let again = recover(&ex, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    assert!(again.unchanged, "second run: {:?}", again.desired);
    assert_eq!((again.cancelled, again.placed), (0, 0));
    assert_eq!(ex.open_orders(&symbol).unwrap().len(), open.len());
}

#[test]
fn every_situation_and_level_is_restored() {
    check_situation(None, None, false);
    for level in 0..=MAX_LEVEL {
        check_situation(Some(level), None, false);
        check_situation(None, Some(level), false);
    }
    // Both legs open: only at level 0 can both take-profits rest at one price. Deeper, one
    // leg's take-profit is always in the money (the short leg averaged above the long leg's
    // take-profit), so recovery's take-profit fills at once — a profit, not a failure.
    check_situation(Some(0), Some(0), false);
}

#[test]
fn both_legs_deep_one_take_profit_fills_on_placement() {
    let (sim, ex) = sim();
    open_leg(&sim, &ex, Leg::Long, 3, false);
    open_leg(&sim, &ex, Leg::Short, 2, false);
    let plan = plan();
    let symbol = btc();
    let report = recover(&ex, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    assert_eq!(report.classification, Classification::Both);
    assert_eq!(report.legs[0].level, Some(3));
    assert_eq!(report.legs[1].level, Some(2));
    let tps = report.desired.iter().filter(|d| d.tag.role == OrderRole::TakeProfit).count();
    assert_eq!(tps, 2, "both legs get their take-profit");
    let flat = ex.positions(&symbol).unwrap().iter().filter(|p| p.size.is_zero()).count();
    assert_eq!(flat, 1, "the in-the-money take-profit closed its leg");
}

#[test]
fn orders_with_the_older_id_version_are_understood() {
    check_situation(Some(2), Some(1), true);
}

#[test]
fn a_deleted_or_corrupted_snapshot_falls_back_to_the_exchange() {
    let dir = std::env::temp_dir().join(format!("gridbot-recovery-snap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SnapshotStore::new(&dir, TAG);
    assert_eq!(store.load(0).unwrap(), Loaded::Missing);
    std::fs::write(store.path(), b"{\"schema_version\": 2, \"account\": ").unwrap();
    assert!(matches!(store.load(1).unwrap(), Loaded::Corrupt { .. }));
    // either way recovery runs without a snapshot, from the exchange alone
    check_situation(Some(3), None, false);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_snapshot_is_reconciled_and_its_state_rebuilt() {
    let (sim, ex) = sim();
    open_leg(&sim, &ex, Leg::Long, 2, false);
    let plan = plan();
    let symbol = btc();
    let first = recover(&ex, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    let snapshot = first.state.clone();
    // while "down": the protective order fills, and someone places a foreign order
    let protective = snapshot.orders.iter().find(|o| o.role == OrderRole::Protective).unwrap().clone();
    let through = protective.price.unwrap().checked_sub(Decimal::ONE).unwrap();
    sim.with_engine(|e| e.move_price(&symbol, through));
    let foreign = OrderRequest::limit(
        symbol.clone(),
        gridbot_core::Side::Buy,
        "0.001".parse().unwrap(),
        "20000".parse().unwrap(),
        TimeInForce::Gtc,
        gridbot_core::PositionIdx::Long,
        OrderLinkId::new("manual-1").unwrap(),
    );
    ex.place(&foreign).unwrap();
    let later = RecoveryInput { snapshot: Some(&snapshot), now_ms: 1_700_000_200_000, ..input(&symbol, &plan, false) };
    let second = recover(&ex, &later, &mut nonces(&symbol, 1_700_000_200_000)).unwrap();
    let r = second.reconciliation.as_ref().unwrap();
    assert_eq!(r.filled_while_down.len(), 1, "{r:?}");
    assert_eq!(r.filled_while_down[0].0.link_id, protective.link_id);
    assert_eq!(r.working.len(), 2, "the take-profit and the short leg's balance order are still working");
    assert_eq!(r.orphans.len(), 1, "the foreign order is reported");
    assert_eq!(r.orphans[0].order_link_id, "manual-1");
    assert_eq!(second.legs[0].level, Some(3), "the fill while down moved the leg to level 3");
    assert_eq!(second.state.long.level, Some(3));
    assert!(second.state.orders.iter().all(|o| LinkTag::decode(&o.link_id).is_ok()), "the orphan is never adopted");
    let qty: Qty = second.legs[0].size;
    assert_eq!(qty.as_decimal(), plan.quantities()[..4].iter().map(|q| q.as_decimal()).sum::<Decimal>());
}

#[test]
fn fills_older_than_the_history_window_keep_the_snapshots_cycle_level_and_anchor() {
    let (sim, ex) = sim();
    let anchor = open_leg(&sim, &ex, Leg::Long, 2, false);
    let plan = plan();
    let symbol = btc();
    let first = recover(&ex, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    let mut snapshot = first.state.clone();
    assert_eq!((snapshot.long.cycle, snapshot.long.level, snapshot.long.anchor), (3, Some(2), Some(anchor)));
    snapshot.long.cycle = 27; // a long-running bot: many cycles since
    snapshot.short.cycle = 40;
    // Months later: the history window no longer holds the leg's fills.
    let months = 90 * 86_400_000;
    let window =
        TimeWindow { start_ms: 1_700_000_100_000 + months - 30 * 86_400_000, end_ms: 1_700_000_100_000 + months };
    let later = RecoveryInput {
        snapshot: Some(&snapshot),
        history: window,
        now_ms: window.end_ms,
        ..input(&symbol, &plan, false)
    };
    let report = recover(&ex, &later, &mut nonces(&symbol, window.end_ms)).unwrap();
    let long = &report.legs[0];
    assert_eq!((long.cycle, long.level, long.anchor), (27, Some(2), Some(anchor)), "{:?}", long.findings);
    assert!(long.findings.contains(&gridbot_recovery::Finding::KeptFromSnapshot), "{:?}", long.findings);
    assert_eq!(report.state.short.cycle, 40, "a flat leg's cycle never goes back either");
    assert!(
        report
            .state
            .orders
            .iter()
            .all(|o| LinkTag::decode(&o.link_id).is_ok_and(|t| t.cycle == if t.leg == Leg::Long { 27 } else { 40 })),
        "{:?}",
        report.state.orders
    );
    // Without the snapshot the plan is all there is: the level is inferred, the cycle unknown.
    let blind = RecoveryInput { snapshot: None, ..later };
    let report = recover(&ex, &blind, &mut nonces(&symbol, window.end_ms + 1)).unwrap();
    assert!(report.legs[0].findings.contains(&gridbot_recovery::Finding::InferredFromPlan));
}

#[test]
fn a_restart_keeps_every_order_that_is_already_right() {
    let (sim, ex) = sim();
    open_leg(&sim, &ex, Leg::Long, 2, false);
    let plan = plan();
    let symbol = btc();
    let first = recover(&ex, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    assert!(first.placed > 0);
    let resting: Vec<String> = ex.open_orders(&symbol).unwrap().into_iter().map(|o| o.order_id).collect();

    // Restart with nothing changed: nothing cancelled, nothing placed, the same orders tracked.
    let snapshot = first.state.clone();
    let again = RecoveryInput { snapshot: Some(&snapshot), now_ms: 1_700_000_200_000, ..input(&symbol, &plan, false) };
    let second = recover(&ex, &again, &mut nonces(&symbol, 1_700_000_200_000)).unwrap();
    assert!(second.unchanged, "{second:?}");
    assert_eq!((second.cancelled, second.placed), (0, 0));
    let kept: Vec<String> = ex.open_orders(&symbol).unwrap().into_iter().map(|o| o.order_id).collect();
    assert_eq!(kept, resting, "the same orders, their queue places kept");

    // One order cancelled while down (by hand): only it is placed again; the others stay.
    let victim = resting[0].clone();
    ex.cancel(&symbol, &gridbot_core::OrderRef::OrderId(victim.clone())).unwrap();
    let third = recover(&ex, &again, &mut nonces(&symbol, 1_700_000_300_000)).unwrap();
    assert_eq!((third.cancelled, third.placed), (0, 1), "{third:?}");
    let now: Vec<String> = ex.open_orders(&symbol).unwrap().into_iter().map(|o| o.order_id).collect();
    assert_eq!(now.len(), resting.len());
    assert!(resting.iter().filter(|id| **id != victim).all(|id| now.contains(id)), "the others were kept");
}

/// The simulator behind a client whose creates are all answered as a retry whose first attempt
/// reached the exchange: the order is placed, the answer is 110072 (duplicate orderLinkId).
struct RetriedCreates<'a>(&'a SimAccount);

impl Exchange for RetriedCreates<'_> {
    fn server_time(&self) -> Result<i64, gridbot_core::ExchangeError> {
        self.0.server_time()
    }
    fn instruments(&self) -> Result<Vec<gridbot_core::Instrument>, gridbot_core::ExchangeError> {
        self.0.instruments()
    }
    fn instrument(&self, s: &Symbol) -> Result<gridbot_core::Instrument, gridbot_core::ExchangeError> {
        self.0.instrument(s)
    }
    fn ticker(&self, s: &Symbol) -> Result<gridbot_core::Ticker, gridbot_core::ExchangeError> {
        self.0.ticker(s)
    }
    fn klines(&self, q: &gridbot_core::KlineQuery) -> Result<Vec<gridbot_core::Candle>, gridbot_core::ExchangeError> {
        self.0.klines(q)
    }
    fn orderbook_top(&self, s: &Symbol) -> Result<gridbot_core::OrderBookTop, gridbot_core::ExchangeError> {
        self.0.orderbook_top(s)
    }
    fn place(&self, order: &OrderRequest) -> Result<gridbot_core::OrderAck, gridbot_core::ExchangeError> {
        self.0.place(order)?;
        Err(gridbot_core::ExchangeError::Reconcile(gridbot_core::ErrorDetail {
            endpoint: "/v5/order/create".into(),
            ret_code: Some(110_072),
            http_status: Some(200),
            message: "OrderLinkedID is duplicate".into(),
        }))
    }
    fn cancel(
        &self,
        s: &Symbol,
        o: &gridbot_core::OrderRef,
    ) -> Result<gridbot_core::OrderAck, gridbot_core::ExchangeError> {
        self.0.cancel(s, o)
    }
    fn cancel_all(&self, s: &Symbol) -> Result<Vec<gridbot_core::OrderAck>, gridbot_core::ExchangeError> {
        self.0.cancel_all(s)
    }
    fn open_orders(&self, s: &Symbol) -> Result<Vec<gridbot_core::Order>, gridbot_core::ExchangeError> {
        self.0.open_orders(s)
    }
    fn order_history(
        &self,
        s: &Symbol,
        w: TimeWindow,
    ) -> Result<Vec<gridbot_core::Order>, gridbot_core::ExchangeError> {
        self.0.order_history(s, w)
    }
    fn executions(
        &self,
        s: &Symbol,
        w: TimeWindow,
    ) -> Result<Vec<gridbot_core::Execution>, gridbot_core::ExchangeError> {
        self.0.executions(s, w)
    }
    fn positions(&self, s: &Symbol) -> Result<Vec<gridbot_core::Position>, gridbot_core::ExchangeError> {
        self.0.positions(s)
    }
    fn wallet(&self) -> Result<gridbot_core::Wallet, gridbot_core::ExchangeError> {
        self.0.wallet()
    }
    fn set_leverage(&self, s: &Symbol, buy: Decimal, sell: Decimal) -> Result<(), gridbot_core::ExchangeError> {
        self.0.set_leverage(s, buy, sell)
    }
    fn set_position_mode(&self, s: &Symbol, m: PositionMode) -> Result<(), gridbot_core::ExchangeError> {
        self.0.set_position_mode(s, m)
    }
    fn funding_history(
        &self,
        s: &Symbol,
        w: TimeWindow,
    ) -> Result<Vec<gridbot_core::FundingRate>, gridbot_core::ExchangeError> {
        self.0.funding_history(s, w)
    }
}

#[test]
fn a_create_answered_duplicate_after_a_retry_is_taken_as_placed_not_as_a_failed_start() {
    // Found by the chaos runner: a start's recovery whose create was retried after its first
    // attempt reached the exchange got 110072 and the whole start failed (exit 1).
    let (sim, ex) = sim();
    open_leg(&sim, &ex, Leg::Long, 1, false);
    let plan = plan();
    let symbol = btc();
    let flaky = RetriedCreates(&ex);
    let report = recover(&flaky, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    let open = ex.open_orders(&symbol).unwrap();
    assert!(report.placed > 0 && report.placed == open.len(), "{report:?}");
    for o in &open {
        assert!(
            report
                .state
                .orders
                .iter()
                .any(|t| t.link_id == o.order_link_id && t.order_id.as_deref() == Some(&o.order_id)),
            "{} is tracked with its order id",
            o.order_link_id
        );
    }
    // Nothing doubled: the next recovery finds every order in place.
    let again = recover(&ex, &input(&symbol, &plan, false), &mut nonces(&symbol, 1_700_000_200_000)).unwrap();
    assert!(again.unchanged, "{again:?}");
}

/// A leg selling out in tranches, killed between two of them: recovery reads which tranches
/// filled from the exchange's history (their ids) and rests exactly the others — sized from what
/// the cycle opened, the last taking the rest — and no protective order.
#[test]
fn a_kill_between_take_profit_tranches_rebuilds_the_remaining_ones_from_the_exchange() {
    let (sim, ex) = sim();
    let anchor = open_leg(&sim, &ex, Leg::Long, 2, false);
    let plan = plan();
    let symbol = btc();
    let t = |share: &str, distance: &str| gridbot_grid::Tranche {
        share: share.parse().unwrap(),
        distance: distance.parse().unwrap(),
    };
    let ladder =
        gridbot_grid::TakeProfitLadder::new(vec![t("0.3", "0.002"), t("0.3", "0.01"), t("0.4", "0.05")]).unwrap();
    let with_ladder = |snapshot, now_ms| RecoveryInput {
        snapshot,
        now_ms,
        take_profit_ladder: Some(&ladder),
        ..input(&symbol, &plan, false)
    };
    let first = recover(&ex, &with_ladder(None, 1_700_000_100_000), &mut nonces(&symbol, 1_700_000_100_000)).unwrap();
    let tranches: Vec<_> = first.desired.iter().filter(|d| d.tag.role == OrderRole::TakeProfit).collect();
    assert_eq!(tranches.len(), 3, "{:?}", first.desired);
    assert!(first.desired.iter().any(|d| d.tag.role == OrderRole::Protective), "averaging until a tranche fills");
    let opened = first.legs[0].size;
    // The market rises through the first tranche only; then the bot is killed.
    let tranche0 = tranches[0].request.price.unwrap();
    sim.with_engine(|e| e.move_price(&symbol, tranche0.checked_add(Decimal::ONE).unwrap()));
    let filled = ex
        .executions(&symbol, TimeWindow { start_ms: 0, end_ms: i64::MAX })
        .unwrap()
        .into_iter()
        .filter(|e| LinkTag::decode(&e.order_link_id).is_ok_and(|t| t.role == OrderRole::TakeProfit))
        .count();
    assert_eq!(filled, 1, "one tranche filled");
    // The restart, with no snapshot at all: everything from the exchange.
    let second = recover(&ex, &with_ladder(None, 1_700_000_200_000), &mut nonces(&symbol, 1_700_000_200_000)).unwrap();
    let long = &second.legs[0];
    assert_eq!((long.tranches_filled, long.opened), (1, opened), "{:?}", long.findings);
    let rest: Vec<_> = second.desired.iter().filter(|d| d.tag.leg == Leg::Long).collect();
    assert!(rest.iter().all(|d| d.tag.role == OrderRole::TakeProfit), "no protective order: {rest:?}");
    assert_eq!(rest.iter().map(|d| d.tag.level).collect::<Vec<_>>(), vec![1, 2]);
    let sum: Decimal = rest.iter().map(|d| d.request.qty.as_decimal()).sum();
    assert_eq!(sum, long.size.as_decimal(), "the remaining tranches close the whole leg");
    assert_eq!(second.state.long.tranches_filled, 1);
    // On the exchange: exactly those rest (the first run's tranches 1 and 2 were kept).
    let resting: Vec<_> = ex
        .open_orders(&symbol)
        .unwrap()
        .into_iter()
        .filter_map(|o| {
            LinkTag::decode(&o.order_link_id).ok().filter(|t| t.leg == Leg::Long).map(|t| (t.role, t.level))
        })
        .collect();
    assert_eq!(resting.len(), 2, "{resting:?}");
    assert!(resting.iter().all(|(role, _)| *role == OrderRole::TakeProfit));
    let _ = anchor;
}
