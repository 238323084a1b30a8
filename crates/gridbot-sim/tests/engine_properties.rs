//! Property tests of the matching engine over random order flows and random price paths:
//! - the wallet balances to the smallest unit: initial + Σ realised − Σ fees − Σ funding;
//! - nothing fills unless the path reached its price (maker fills lie within the visited range);
//! - PostOnly orders never take;
//! - reduce-only orders never grow a position.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    Decimal, ExecType, OrderLinkId, OrderRequest, OrderType, PositionIdx, PositionMode, Price, Qty, Side, Symbol,
    TimeInForce,
};
use gridbot_sim::{MatchingEngine, SimConfig};
use proptest::prelude::*;

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

#[derive(Debug, Clone)]
enum Step {
    Move(i64),
    Limit { side: Side, leg: bool, offset: i64, qty: u32, post_only: bool, reduce_only: bool },
    Market { side: Side, leg: bool, qty: u32, reduce_only: bool },
    CancelAll,
    Funding(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    prop_oneof![
        4 => (-3_000i64..3_000).prop_map(Step::Move),
        4 => (side.clone(), any::<bool>(), -400i64..400, 1u32..50, any::<bool>(), any::<bool>())
            .prop_map(|(side, leg, offset, qty, post_only, reduce_only)| Step::Limit { side, leg, offset, qty, post_only, reduce_only }),
        1 => (side, any::<bool>(), 1u32..30, any::<bool>()).prop_map(|(side, leg, qty, reduce_only)| Step::Market { side, leg, qty, reduce_only }),
        1 => Just(Step::CancelAll),
        1 => (-5i64..5).prop_map(Step::Funding),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            "tests/proptest-regressions/engine_properties.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_over_random_flows(hedge in any::<bool>(), steps in prop::collection::vec(step(), 1..80)) {
        let mut e = MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]);
        let a = e.add_account(Decimal::from(1_000_000));
        if hedge {
            e.switch_mode(a, &btc(), PositionMode::Hedge).unwrap();
        }
        let mut price = 300_000i64; // tenths: 30,000.0
        e.move_price(&btc(), Price::new(Decimal::new(price, 1)).unwrap());
        let (mut low, mut high) = (price, price);
        let mut n = 0u32;
        let mut funding_paid = Decimal::ZERO;
        for s in steps {
            n += 1;
            let link = OrderLinkId::new(format!("o{n}")).unwrap();
            let idx = |side: Side, leg: bool| match (hedge, leg, side) {
                (false, _, _) => PositionIdx::OneWay,
                (true, true, _) => PositionIdx::Long,
                (true, false, _) => PositionIdx::Short,
            };
            match s {
                Step::Move(d) => {
                    price = (price + d).max(10);
                    low = low.min(price);
                    high = high.max(price);
                    e.move_price(&btc(), Price::new(Decimal::new(price, 1)).unwrap());
                }
                Step::Limit { side, leg, offset, qty, post_only, reduce_only } => {
                    let px = Price::new(Decimal::new((price + offset).max(10), 1)).unwrap();
                    let tif = if post_only { TimeInForce::PostOnly } else { TimeInForce::Gtc };
                    let mut req = OrderRequest::limit(btc(), side, Qty::new(Decimal::new(i64::from(qty), 3)).unwrap(), px, tif, idx(side, leg), link);
                    req.reduce_only = reduce_only;
                    let _ = e.place(a, &req);
                }
                Step::Market { side, leg, qty, reduce_only } => {
                    let mut req = OrderRequest::market(btc(), side, Qty::new(Decimal::new(i64::from(qty), 3)).unwrap(), idx(side, leg), link);
                    req.reduce_only = reduce_only;
                    let _ = e.place(a, &req);
                }
                Step::CancelAll => {
                    e.cancel_all(a, &btc()).unwrap();
                }
                Step::Funding(r) => {
                    let before = e.wallet(a).unwrap().total_wallet_balance;
                    e.settle_funding(&btc(), Decimal::new(r, 4));
                    funding_paid += before - e.wallet(a).unwrap().total_wallet_balance;
                }
            }
            e.drain_events();
        }
        let executions = e.executions(a, &btc(), 0, i64::MAX);
        let history = e.order_history(a, &btc(), 0, i64::MAX);
        let fees: Decimal = executions.iter().filter(|x| x.exec_type != ExecType::Funding).map(|x| x.exec_fee).sum();
        let funding: Decimal = executions.iter().filter(|x| x.exec_type == ExecType::Funding).map(|x| x.exec_fee).sum();
        prop_assert_eq!(funding, funding_paid);
        let realised: Decimal = e.account(a).unwrap().symbols.values().flat_map(|s| s.legs.values()).map(|l| l.cum_realised_pnl).sum();
        let wallet = e.wallet(a).unwrap().total_wallet_balance;
        // cum_realised_pnl already nets fees and funding, as Bybit's does
        prop_assert_eq!(wallet, Decimal::from(1_000_000) + realised);
        let gross_realised = realised + fees + funding;
        prop_assert_eq!(wallet, Decimal::from(1_000_000) + gross_realised - fees - funding);
        for x in executions.iter().filter(|x| x.exec_type == ExecType::Trade) {
            let order = history.iter().find(|o| o.order_id == x.order_id).unwrap();
            if x.is_maker {
                let px = x.exec_price.as_decimal();
                prop_assert!(px >= Decimal::new(low, 1) && px <= Decimal::new(high, 1), "maker fill at {px} outside the visited range [{low}, {high}]");
            }
            if order.time_in_force == TimeInForce::PostOnly {
                prop_assert!(x.is_maker, "PostOnly took liquidity");
            }
            if order.reduce_only {
                // reduce-only never grows a position: every unit it filled closed a unit
                prop_assert_eq!(x.closed_size, x.exec_qty, "reduce-only fill opened size");
            }
            if order.order_type == OrderType::Market {
                prop_assert!(!x.is_maker);
            }
        }
    }
}
