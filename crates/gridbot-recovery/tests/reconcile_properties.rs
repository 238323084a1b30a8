//! Property tests of reconciliation: shuffled, duplicated and dropped exchange reports.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use gridbot_core::{
    CancelType, Decimal, Leg, Order, OrderRole, OrderStatus, OrderType, PositionIdx, Qty, RejectReason, Side, Symbol,
    TimeInForce,
};
use gridbot_recovery::reconcile::reconcile;
use gridbot_state::TrackedOrder;
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truth {
    Open,
    PartlyOpen,
    Filled,
    PartlyFilledCancelled,
    Cancelled,
    Unknown,
}

fn order(link: &str, id: u32, truth: Truth, updated: i64) -> Order {
    let (status, cum) = match truth {
        Truth::Open => (OrderStatus::New, "0"),
        Truth::PartlyOpen => (OrderStatus::PartiallyFilled, "0.001"),
        Truth::Filled => (OrderStatus::Filled, "0.002"),
        Truth::PartlyFilledCancelled => (OrderStatus::Cancelled, "0.001"),
        Truth::Cancelled | Truth::Unknown => (OrderStatus::Cancelled, "0"),
    };
    Order {
        order_id: id.to_string(),
        order_link_id: link.into(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Some("30000".parse().unwrap()),
        qty: "0.002".parse().unwrap(),
        time_in_force: TimeInForce::PostOnly,
        position_idx: PositionIdx::Long,
        status,
        cancel_type: CancelType::Unknown,
        reject_reason: RejectReason::NoError,
        avg_price: None,
        leaves_qty: Qty::ZERO,
        cum_exec_qty: cum.parse().unwrap(),
        cum_exec_value: Decimal::ZERO,
        cum_exec_fee: Decimal::ZERO,
        reduce_only: false,
        created_time_ms: 1,
        updated_time_ms: updated,
    }
}

fn tracked(link: &str, id: u32) -> TrackedOrder {
    TrackedOrder {
        link_id: link.into(),
        order_id: Some(id.to_string()),
        leg: Leg::Long,
        role: OrderRole::Protective,
        level: 1,
        side: Side::Buy,
        price: Some("30000".parse().unwrap()),
        qty: "0.002".parse().unwrap(),
    }
}

fn truth() -> impl Strategy<Value = Truth> {
    prop::sample::select(vec![
        Truth::Open,
        Truth::PartlyOpen,
        Truth::Filled,
        Truth::PartlyFilledCancelled,
        Truth::Cancelled,
        Truth::Unknown,
    ])
}

/// (tracked orders with their truth, orphan count)
fn world() -> impl Strategy<Value = (Vec<Truth>, usize)> {
    (prop::collection::vec(truth(), 0..25), 0usize..5)
}

/// The exchange's reports for a world: open orders in `open`; every order also in history once
/// closed (an open order sometimes appears in history too, as Bybit's history lists open ones).
fn reports(truths: &[Truth], orphans: usize) -> (Vec<TrackedOrder>, Vec<Order>, Vec<Order>) {
    let mut t = Vec::new();
    let (mut open, mut history) = (Vec::new(), Vec::new());
    for (i, truth) in truths.iter().enumerate() {
        let i = u32::try_from(i).unwrap();
        let link = format!("g2acc-L1-P1-{i}");
        t.push(tracked(&link, i));
        match truth {
            Truth::Open | Truth::PartlyOpen => {
                open.push(order(&link, i, *truth, 5));
                if i % 2 == 0 {
                    history.push(order(&link, i, *truth, 5));
                }
            }
            Truth::Unknown => {}
            closed => history.push(order(&link, i, *closed, 9)),
        }
    }
    for k in 0..orphans {
        let k = u32::try_from(k).unwrap();
        open.push(order(&format!("manual-{k}"), 10_000 + k, Truth::Open, 5));
    }
    (t, open, history)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 500,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            "tests/proptest-regressions/reconcile_properties.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn classifies_each_order_once_and_never_adopts_orphans((truths, orphans) in world()) {
        let (t, open, history) = reports(&truths, orphans);
        let r = reconcile(&t, &open, &history);
        prop_assert_eq!(r.working.len() + r.filled_while_down.len() + r.cancelled.len() + r.ghosts.len(), t.len());
        for (i, truth) in truths.iter().enumerate() {
            let link = format!("g2acc-L1-P1-{i}");
            let in_bucket = |b: &[(TrackedOrder, Order)]| b.iter().any(|(x, _)| x.link_id == link);
            let expected = match truth {
                Truth::Open | Truth::PartlyOpen => in_bucket(&r.working),
                Truth::Filled | Truth::PartlyFilledCancelled => in_bucket(&r.filled_while_down),
                Truth::Cancelled => in_bucket(&r.cancelled),
                Truth::Unknown => r.ghosts.iter().any(|g| g.link_id == link),
            };
            prop_assert!(expected, "{link} ({truth:?}) misclassified: {r:?}");
        }
        prop_assert_eq!(r.orphans.len(), orphans);
        prop_assert!(r.orphans.iter().all(|o| o.order_link_id.starts_with("manual-")));
    }

    #[test]
    fn report_order_and_duplicates_do_not_matter((truths, orphans) in world(), seed in any::<u64>(), dup in 0usize..10) {
        let (t, open, history) = reports(&truths, orphans);
        let baseline = reconcile(&t, &open, &history);
        let mut rng = seed | 1;
        let mut shuffle = |v: &mut Vec<Order>| {
            for i in (1..v.len()).rev() {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                v.swap(i, usize::try_from(rng % (i as u64 + 1)).unwrap());
            }
        };
        let (mut open2, mut history2) = (open.clone(), history.clone());
        open2.extend(open.iter().take(dup).cloned());
        history2.extend(history.iter().take(dup).cloned());
        shuffle(&mut open2);
        shuffle(&mut history2);
        let mut t2 = t.clone();
        t2.reverse();
        if let Some(first) = t.first() { t2.push(first.clone()); }
        prop_assert_eq!(reconcile(&t2, &open2, &history2), baseline);
    }

    #[test]
    fn dropped_reports_keep_the_partition(truths in prop::collection::vec(truth(), 1..25), drop_mask in any::<u32>()) {
        let (t, open, history) = reports(&truths, 2);
        let history: Vec<Order> = history.into_iter().enumerate().filter(|(i, _)| drop_mask & (1 << (i % 32)) == 0).map(|(_, o)| o).collect();
        let r = reconcile(&t, &open, &history);
        let mut seen = BTreeSet::new();
        for link in r.working.iter().map(|(x, _)| &x.link_id).chain(r.filled_while_down.iter().map(|(x, _)| &x.link_id)).chain(r.cancelled.iter().map(|(x, _)| &x.link_id)).chain(r.ghosts.iter().map(|x| &x.link_id)) {
            prop_assert!(seen.insert(link.clone()), "{link} in two buckets");
        }
        prop_assert_eq!(seen.len(), t.len());
        // a dropped closed report can only turn an order into a ghost, never into "working"
        prop_assert!(r.working.iter().all(|(_, o)| o.is_open()));
    }
}

#[test]
fn an_order_reported_open_and_closed_is_closed() {
    let t = vec![tracked("a", 1)];
    let open = vec![order("a", 1, Truth::Open, 5)];
    let history = vec![order("a", 1, Truth::Filled, 9)];
    let r = reconcile(&t, &open, &history);
    assert_eq!(r.filled_while_down.len(), 1);
    assert!(r.working.is_empty() && r.orphans.is_empty());
}
