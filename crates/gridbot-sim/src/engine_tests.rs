//! Matching-engine unit tests against Bybit's BTCUSDT filters.

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    CancelType, Decimal, ExecType, OrderLinkId, OrderRef, OrderRequest, OrderStatus, PositionIdx, PositionMode, Price,
    Qty, RejectReason, Side, Symbol, TimeInForce,
};

use crate::{MatchingEngine, SimConfig};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}
fn p(s: &str) -> Price {
    s.parse().unwrap()
}
fn q(s: &str) -> Qty {
    s.parse().unwrap()
}
fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn engine() -> (MatchingEngine, usize) {
    let mut e = MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]);
    let a = e.add_account(d("10000"));
    e.move_price(&btc(), p("30000"));
    (e, a)
}

fn limit(side: Side, qty: &str, price: &str, tif: TimeInForce, idx: PositionIdx, link: &str) -> OrderRequest {
    OrderRequest::limit(btc(), side, q(qty), p(price), tif, idx, OrderLinkId::new(link).unwrap())
}

fn status(e: &MatchingEngine, a: usize, link: &str) -> (OrderStatus, Qty, RejectReason) {
    let o = e.order_history(a, &btc(), 0, i64::MAX).into_iter().find(|o| o.order_link_id == link).unwrap();
    (o.status, o.cum_exec_qty, o.reject_reason)
}

#[test]
fn post_only_that_would_cross_is_cancelled_not_filled() {
    let (mut e, a) = engine();
    // book: bid 30000, ask 30000.1
    assert_eq!(e.best_bid_ask(&btc()), Some((p("30000"), p("30000.1"))));
    e.place(a, &limit(Side::Buy, "0.001", "30000.1", TimeInForce::PostOnly, PositionIdx::OneWay, "po1")).unwrap();
    assert_eq!(status(&e, a, "po1"), (OrderStatus::Cancelled, q("0"), RejectReason::PostOnlyWillTakeLiquidity));
    e.place(a, &limit(Side::Buy, "0.001", "30000", TimeInForce::PostOnly, PositionIdx::OneWay, "po2")).unwrap();
    assert_eq!(status(&e, a, "po2").0, OrderStatus::New);
    assert!(e.executions(a, &btc(), 0, i64::MAX).is_empty());
}

#[test]
fn resting_orders_fill_only_when_the_path_reaches_them() {
    let (mut e, a) = engine();
    e.place(a, &limit(Side::Buy, "0.010", "29900", TimeInForce::Gtc, PositionIdx::OneWay, "b1")).unwrap();
    e.move_price(&btc(), p("29900.1"));
    assert_eq!(status(&e, a, "b1").0, OrderStatus::New, "not reached");
    e.move_price(&btc(), p("29900"));
    assert_eq!(
        status(&e, a, "b1"),
        (OrderStatus::PartiallyFilled, q("0.005"), RejectReason::NoError),
        "a touch fills half"
    );
    e.move_price(&btc(), p("29950"));
    e.move_price(&btc(), p("29899.9"));
    assert_eq!(
        status(&e, a, "b1"),
        (OrderStatus::Filled, q("0.010"), RejectReason::NoError),
        "trading through fills the rest"
    );
    let fills = e.executions(a, &btc(), 0, i64::MAX);
    assert!(fills.iter().all(|f| f.is_maker && f.exec_price == p("29900")));
    let fee: Decimal = fills.iter().map(|f| f.exec_fee).sum();
    assert_eq!(fee, d("0.010") * d("29900") * d("0.0002"));
}

#[test]
fn market_orders_walk_the_synthetic_book_and_ioc_fok_do_not_rest() {
    let config = SimConfig { level_qty: q("0.01"), book_levels: 3, ..SimConfig::default() };
    let mut e = MatchingEngine::new(config, vec![bybit_btcusdt()]);
    let a = e.add_account(d("100000"));
    e.move_price(&btc(), p("30000"));
    e.place(
        a,
        &OrderRequest::market(btc(), Side::Buy, q("0.025"), PositionIdx::OneWay, OrderLinkId::new("m1").unwrap()),
    )
    .unwrap();
    let fills = e.executions(a, &btc(), 0, i64::MAX);
    let prices: Vec<_> = fills.iter().rev().map(|f| (f.exec_price.to_string(), f.exec_qty.to_string())).collect();
    assert_eq!(
        prices,
        [("30000.1".into(), "0.01".into()), ("30000.2".into(), "0.01".into()), ("30000.3".into(), "0.005".into())]
    );
    assert!(fills.iter().all(|f| !f.is_maker));
    // more than the book holds: the rest is cancelled
    e.place(
        a,
        &OrderRequest::market(btc(), Side::Sell, q("0.05"), PositionIdx::OneWay, OrderLinkId::new("m2").unwrap()),
    )
    .unwrap();
    assert_eq!(status(&e, a, "m2").0, OrderStatus::Cancelled);
    assert_eq!(status(&e, a, "m2").1, q("0.030"));
    // FOK that cannot fill completely within its limit: nothing
    e.place(a, &limit(Side::Buy, "0.02", "30000.1", TimeInForce::Fok, PositionIdx::OneWay, "f1")).unwrap();
    assert_eq!(status(&e, a, "f1"), (OrderStatus::Cancelled, q("0"), RejectReason::NoImmediateQtyToFill));
    // IOC: fills what it can within the limit, cancels the rest
    e.place(a, &limit(Side::Buy, "0.02", "30000.1", TimeInForce::Ioc, PositionIdx::OneWay, "i1")).unwrap();
    assert_eq!(status(&e, a, "i1").0, OrderStatus::Cancelled);
    assert_eq!(status(&e, a, "i1").1, q("0.010"));
}

#[test]
fn hedge_mode_legs_and_reduce_only() {
    let (mut e, a) = engine();
    assert_eq!(
        e.place(a, &limit(Side::Buy, "0.001", "29000", TimeInForce::Gtc, PositionIdx::Long, "x")).unwrap_err().code,
        10_001,
        "positionIdx 1 in one-way mode"
    );
    e.switch_mode(a, &btc(), PositionMode::Hedge).unwrap();
    assert_eq!(e.switch_mode(a, &btc(), PositionMode::Hedge).unwrap_err().code, 110_025);
    let err = e
        .place(a, &limit(Side::Sell, "0.001", "31000", TimeInForce::Gtc, PositionIdx::Long, "r0").reduce_only())
        .unwrap_err();
    assert_eq!(err.code, 110_017, "nothing to reduce");
    e.place(a, &OrderRequest::market(btc(), Side::Buy, q("0.002"), PositionIdx::Long, OrderLinkId::new("l1").unwrap()))
        .unwrap();
    e.place(
        a,
        &OrderRequest::market(btc(), Side::Sell, q("0.003"), PositionIdx::Short, OrderLinkId::new("s1").unwrap()),
    )
    .unwrap();
    let pos = e.positions(a, &btc()).unwrap();
    assert_eq!((pos[0].position_idx, pos[0].size, pos[0].side), (PositionIdx::Long, q("0.002"), Some(Side::Buy)));
    assert_eq!((pos[1].position_idx, pos[1].size, pos[1].side), (PositionIdx::Short, q("0.003"), Some(Side::Sell)));
    assert_eq!(e.switch_mode(a, &btc(), PositionMode::OneWay).unwrap_err().code, 110_024);
    // a reduce-only sell of 0.005 on the long leg fills only 0.002 and never opens a short
    e.place(a, &limit(Side::Sell, "0.005", "30100", TimeInForce::Gtc, PositionIdx::Long, "tp").reduce_only()).unwrap();
    e.move_price(&btc(), p("30200"));
    let pos = e.positions(a, &btc()).unwrap();
    assert!(pos[0].size.is_zero());
    assert_eq!(pos[1].size, q("0.003"), "the short leg is untouched");
    let tp = e.order_history(a, &btc(), 0, i64::MAX).into_iter().find(|o| o.order_link_id == "tp").unwrap();
    assert_eq!((tp.status, tp.cum_exec_qty), (OrderStatus::Cancelled, q("0.002")), "partly filled then cancelled");
    assert_eq!(tp.cancel_type, CancelType::CancelByReduceOnly);
}

#[test]
fn switch_mode_is_refused_with_open_orders() {
    let (mut e, a) = engine();
    e.place(a, &limit(Side::Buy, "0.001", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "o")).unwrap();
    assert_eq!(e.switch_mode(a, &btc(), PositionMode::Hedge).unwrap_err().code, 110_028);
}

#[test]
fn duplicate_link_ids_unknown_cancels_and_limits() {
    let mut e = MatchingEngine::new(SimConfig { max_active_orders: 2, ..SimConfig::default() }, vec![bybit_btcusdt()]);
    let a = e.add_account(d("10000"));
    e.move_price(&btc(), p("30000"));
    e.place(a, &limit(Side::Buy, "0.001", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "dup")).unwrap();
    assert_eq!(
        e.place(a, &limit(Side::Buy, "0.001", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "dup")).unwrap_err().code,
        110_072
    );
    e.place(a, &limit(Side::Buy, "0.001", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "two")).unwrap();
    assert_eq!(
        e.place(a, &limit(Side::Buy, "0.001", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "three"))
            .unwrap_err()
            .code,
        110_020
    );
    assert_eq!(e.cancel(a, &btc(), &OrderRef::LinkId(OrderLinkId::new("nope").unwrap())).unwrap_err().code, 110_001);
    e.cancel(a, &btc(), &OrderRef::LinkId(OrderLinkId::new("dup").unwrap())).unwrap();
    assert_eq!(
        e.cancel(a, &btc(), &OrderRef::LinkId(OrderLinkId::new("dup").unwrap())).unwrap_err().code,
        110_001,
        "already cancelled"
    );
    assert_eq!(
        e.place(a, &limit(Side::Buy, "0.0001", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "small"))
            .unwrap_err()
            .code,
        10_001
    );
    assert_eq!(
        e.place(a, &limit(Side::Buy, "0.001", "4000", TimeInForce::Gtc, PositionIdx::OneWay, "cheap"))
            .unwrap_err()
            .code,
        110_094
    );
    assert_eq!(
        e.place(a, &limit(Side::Buy, "4", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "big")).unwrap_err().code,
        110_007
    );
}

#[test]
fn wallet_balances_to_the_smallest_unit_after_a_round_trip() {
    let (mut e, a) = engine();
    e.place(a, &limit(Side::Buy, "0.1", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "buy")).unwrap();
    e.move_price(&btc(), p("28000"));
    e.place(a, &limit(Side::Sell, "0.1", "31000", TimeInForce::Gtc, PositionIdx::OneWay, "sell")).unwrap();
    e.move_price(&btc(), p("32000"));
    let fees = d("0.1") * d("29000") * d("0.0002") + d("0.1") * d("31000") * d("0.0002");
    let expected = d("10000") + d("0.1") * (d("31000") - d("29000")) - fees;
    let wallet = e.wallet(a).unwrap();
    assert_eq!(wallet.total_wallet_balance, expected);
    assert_eq!(wallet.total_equity, expected, "flat: no unrealised PnL");
    assert!(e.positions(a, &btc()).unwrap()[0].size.is_zero());
}

#[test]
fn funding_charges_longs_and_pays_shorts() {
    let (mut e, a) = engine();
    let b = e.add_account(d("10000"));
    e.switch_mode(b, &btc(), PositionMode::Hedge).unwrap();
    e.place(a, &OrderRequest::market(btc(), Side::Buy, q("0.1"), PositionIdx::OneWay, OrderLinkId::new("l").unwrap()))
        .unwrap();
    e.place(b, &OrderRequest::market(btc(), Side::Sell, q("0.1"), PositionIdx::Short, OrderLinkId::new("s").unwrap()))
        .unwrap();
    let (wa, wb) = (e.wallet(a).unwrap().total_wallet_balance, e.wallet(b).unwrap().total_wallet_balance);
    e.settle_funding(&btc(), d("0.0001"));
    let paid = d("0.1") * d("30000") * d("0.0001");
    assert_eq!(e.wallet(a).unwrap().total_wallet_balance, wa - paid);
    assert_eq!(e.wallet(b).unwrap().total_wallet_balance, wb + paid);
    let f = e.executions(a, &btc(), 0, i64::MAX).into_iter().find(|x| x.exec_type == ExecType::Funding).unwrap();
    assert_eq!(f.exec_fee, paid);
}

#[test]
fn liquidation_happens_at_the_liquidation_price() {
    let mut e = MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]);
    let a = e.add_account(d("400"));
    e.move_price(&btc(), p("30000"));
    e.set_leverage(a, &btc(), d("50"), d("50")).unwrap();
    e.place(a, &OrderRequest::market(btc(), Side::Buy, q("0.1"), PositionIdx::OneWay, OrderLinkId::new("l").unwrap()))
        .unwrap();
    e.place(a, &limit(Side::Buy, "0.001", "20000", TimeInForce::Gtc, PositionIdx::OneWay, "deep")).unwrap();
    let liq = e.positions(a, &btc()).unwrap()[0].liq_price.unwrap();
    assert!(liq > p("26000") && liq < p("30000"), "{liq}");
    // a candle that gaps straight through: the bust trade happens at the liquidation price
    e.move_price(&btc(), p("25000"));
    let bust = e.executions(a, &btc(), 0, i64::MAX).into_iter().find(|x| x.exec_type == ExecType::BustTrade).unwrap();
    assert_eq!(bust.exec_price, liq);
    assert!(e.positions(a, &btc()).unwrap()[0].size.is_zero());
    let deep = e.order_history(a, &btc(), 0, i64::MAX).into_iter().find(|o| o.order_link_id == "deep").unwrap();
    assert_eq!((deep.status, deep.cancel_type), (OrderStatus::Cancelled, CancelType::CancelAllBeforeLiq));
    // margin balance at the liquidation price equals maintenance margin (up to rounding)
    assert!(e.wallet(a).unwrap().total_wallet_balance >= Decimal::ZERO);
}

#[test]
fn leverage_rules() {
    let (mut e, a) = engine();
    assert_eq!(e.set_leverage(a, &btc(), d("10"), d("10")).unwrap_err().code, 110_043);
    assert_eq!(e.set_leverage(a, &btc(), d("101"), d("101")).unwrap_err().code, 10_001);
    e.set_leverage(a, &btc(), d("5"), d("5")).unwrap();
    assert_eq!(e.positions(a, &btc()).unwrap()[0].leverage, d("5"));
    assert_eq!(
        e.place(a, &limit(Side::Buy, "0.001", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "x")).map(|_| ()),
        Ok(())
    );
    assert!(e.instrument(&Symbol::new("ETHUSDT").unwrap()).is_err());
}

#[test]
fn funding_follows_a_history_when_one_is_given() {
    let mut config = SimConfig::default();
    config.funding_history.insert(
        btc(),
        vec![
            crate::FundingPoint { time_ms: 1_000, rate: d("-0.0003") },
            crate::FundingPoint { time_ms: 5_000, rate: d("0.0005") },
        ],
    );
    assert_eq!(config.funding_rate_at(&btc(), 999), d("0.0001"), "before the history: the configured rate");
    assert_eq!(config.funding_rate_at(&btc(), 1_000), d("-0.0003"));
    assert_eq!(config.funding_rate_at(&btc(), 4_999), d("-0.0003"));
    assert_eq!(config.funding_rate_at(&btc(), 9_000), d("0.0005"));
    assert_eq!(config.funding_rate_at(&Symbol::new("ETHUSDT").unwrap(), 9_000), d("0.0001"));
}

/// Every open order of `a` by scanning the whole history (what the index replaces).
fn open_by_scan(e: &MatchingEngine, a: usize) -> Vec<String> {
    let mut open: Vec<String> = e
        .order_history(a, &btc(), 0, i64::MAX)
        .into_iter()
        .filter(gridbot_core::Order::is_open)
        .map(|o| o.order_id)
        .collect();
    open.sort();
    open
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// The open-order index agrees with a scan of every order ever placed after any mix of
    /// places, cancels, amends, fills, cancel-alls and a saved-and-restored engine.
    #[test]
    fn open_order_index_matches_a_full_scan(ops in proptest::collection::vec((0u8..6, 0i64..40), 1..80)) {
        let (mut e, a) = engine();
        let mut n = 0;
        let mut now_leverage = Decimal::from(10);
        for (op, x) in ops {
            let price = Decimal::from(30_000 - 20 + x);
            match op {
                0 | 1 => {
                    n += 1;
                    let side = if op == 0 { Side::Buy } else { Side::Sell };
                    let _ = e.place(a, &limit(side, "0.002", &price.to_string(), TimeInForce::Gtc,
                        PositionIdx::OneWay, &format!("o{n}")));
                }
                2 => {
                    let _ = e.cancel(a, &btc(), &OrderRef::LinkId(OrderLinkId::new(format!("o{}", x % (n + 1))).unwrap()));
                }
                3 => {
                    let id = format!("o{}", x % (n + 1));
                    let _ = e.amend(a, &btc(), &OrderRef::LinkId(OrderLinkId::new(id).unwrap()), Some(p(&price.to_string())), None);
                }
                4 => e.move_price(&btc(), p(&price.to_string())),
                _ => {
                    if x % 7 == 0 {
                        let _ = e.cancel_all(a, &btc());
                    } else if x % 7 == 1 {
                        let mut restored: MatchingEngine = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
                        restored.after_restore();
                        e = restored;
                    }
                }
            }
            let mut indexed: Vec<String> = e.open_orders(a, &btc()).into_iter().map(|o| o.order_id).collect();
            indexed.sort();
            proptest::prop_assert_eq!(indexed, open_by_scan(&e, a));
            // The margin orders hold, summed from the kept per-order figures, is what dividing
            // afresh gives (oldest first, as the engine sums).
            let leverage = if x % 2 == 0 { Decimal::from(10) } else { Decimal::from(7) };
            if op == 5 && x % 7 == 2 && e.set_leverage(a, &btc(), leverage, leverage).is_ok() {
                now_leverage = leverage;
            }
            let fresh: Decimal = e
                .open_orders(a, &btc())
                .iter()
                .rev()
                .filter(|o| !o.reduce_only)
                .map(|o| o.leaves_qty.as_decimal() * o.price.unwrap().as_decimal() / now_leverage)
                .sum();
            proptest::prop_assert_eq!(e.margin(a).unwrap().order_im, fresh);
        }
    }
}

#[test]
fn closed_history_older_than_the_retention_is_dropped_and_open_orders_stay() {
    let day = 24 * 60 * 60 * 1000;
    let config = SimConfig { history_retention_ms: 2 * day, ..SimConfig::default() };
    let mut e = MatchingEngine::new(config, vec![bybit_btcusdt()]);
    let a = e.add_account(d("10000"));
    e.set_time(day);
    e.move_price(&btc(), p("30000"));
    e.place(a, &limit(Side::Buy, "0.002", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "resting")).unwrap();
    e.place(a, &limit(Side::Buy, "0.002", "29990", TimeInForce::Gtc, PositionIdx::OneWay, "filled")).unwrap();
    e.place(a, &limit(Side::Buy, "0.002", "29980", TimeInForce::Gtc, PositionIdx::OneWay, "cancelled")).unwrap();
    e.cancel(a, &btc(), &OrderRef::LinkId(OrderLinkId::new("cancelled").unwrap())).unwrap();
    e.move_price(&btc(), p("29989"));
    assert_eq!(e.executions(a, &btc(), 0, i64::MAX).len(), 1);
    e.set_time(2 * day);
    assert_eq!(e.order_history(a, &btc(), 0, i64::MAX).len(), 3, "inside the retention: all kept");
    e.set_time(4 * day);
    let left: Vec<String> = e.order_history(a, &btc(), 0, i64::MAX).into_iter().map(|o| o.order_link_id).collect();
    assert_eq!(left, vec!["resting".to_owned()], "closed orders older than 2 days are gone, the open one stays");
    assert!(e.executions(a, &btc(), 0, i64::MAX).is_empty());
    // The link id of a dropped order stays taken (Bybit never reuses one), and the open order
    // can still be cancelled by it.
    let again = e.place(a, &limit(Side::Buy, "0.002", "29000", TimeInForce::Gtc, PositionIdx::OneWay, "filled"));
    assert_eq!(again.unwrap_err().code, 110_072);
    e.cancel(a, &btc(), &OrderRef::LinkId(OrderLinkId::new("resting").unwrap())).unwrap();
}

#[test]
fn positions_show_money_and_average_prices_to_eight_places() {
    let mut e = MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]);
    let a = e.add_account(d("100000"));
    e.switch_mode(a, &btc(), PositionMode::Hedge).unwrap();
    for (i, price) in ["95411.7", "95411.8", "95411.8"].into_iter().enumerate() {
        e.move_price(&btc(), p(price));
        let link = OrderLinkId::new(format!("avg{i}")).unwrap();
        e.place(a, &OrderRequest::market(btc(), Side::Buy, q("0.001"), PositionIdx::Long, link)).unwrap();
    }
    let long = e.positions(a, &btc()).unwrap().into_iter().find(|x| x.position_idx == PositionIdx::Long).unwrap();
    let avg = long.avg_price.unwrap().as_decimal();
    assert!(avg.scale() <= 8, "{avg}");
    assert!(long.position_value.scale() <= 8 && long.unrealised_pnl.scale() <= 8, "{long:?}");
}
