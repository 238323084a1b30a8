//! Property tests of the risk engine: a decision never both closes and reopens a leg; blocking
//! is monotone in the account IM rate; the decision is a pure function of its snapshot.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gridbot_core::time::{DAY_MS, HOUR_MS};
use gridbot_core::{Decimal, Leg, OrderRole, Price, Side};
use gridbot_risk::{
    AccountView, Action, LegPair, LegSnapshot, OrderView, RiskMemory, RiskParams, RiskSnapshot, evaluate,
};
use proptest::prelude::*;

fn price(units: i64) -> Price {
    Price::new(Decimal::new(units, 1)).unwrap()
}

fn order_strategy(side: Side) -> impl Strategy<Value = OrderView> {
    (0u64..1000, prop::sample::select(OrderRole::ALL.to_vec()), 400_000i64..600_000, 0.001f64..2.0)
        .prop_map(move |(key, role, px, qty)| OrderView { key, role, side, price: price(px), qty })
}

fn leg_strategy(side: Side) -> impl Strategy<Value = LegSnapshot> {
    (
        prop::option::of(0u32..=8),
        prop_oneof![Just(0.0), 0.001f64..5.0],
        45_000.0f64..55_000.0,
        45_000.0f64..55_000.0,
        -2_000.0f64..2_000.0,
        1.0f64..20.0,
        prop::collection::vec(order_strategy(side), 0..10),
    )
        .prop_map(|(level, size, avg, mark, pnl, leverage, orders)| LegSnapshot {
            level: if size > 0.0 { level } else { None },
            size,
            avg_price: avg,
            mark_price: mark,
            position_value: size * avg,
            unrealised_pnl: if size > 0.0 { pnl } else { 0.0 },
            position_im: size * avg / leverage,
            leverage,
            orders,
        })
}

fn memory_strategy(now: i64) -> impl Strategy<Value = RiskMemory> {
    (
        prop::option::of(-500.0f64..3_000.0),
        any::<bool>(),
        prop::option::of(0i64..200 * HOUR_MS),
        prop::collection::vec(0i64..100 * HOUR_MS, 0..8),
        5_000.0f64..15_000.0,
        any::<bool>(),
    )
        .prop_map(move |(peak, tp_safety, since_ago, ups_ago, day_peak, tripped)| {
            let mut m = RiskMemory::default();
            m.account.day_start_ms = Some(now - now.rem_euclid(DAY_MS));
            m.account.day_peak_equity = day_peak;
            if tripped {
                m.account.kill_switch = Some(gridbot_risk::KillSwitchTrip {
                    at_ms: now - 1,
                    peak_equity: day_peak,
                    equity: day_peak * 0.8,
                });
            }
            m.legs.long.peak_pnl = peak;
            m.legs.long.tp_safety = tp_safety;
            m.legs.long.at_max_level_since_ms = since_ago.map(|a| now - a);
            for a in ups_ago {
                m.record_level_up(Leg::Long, now - a);
            }
            m
        })
}

fn snapshot_strategy() -> impl Strategy<Value = RiskSnapshot> {
    let now = 20_000 * DAY_MS + 13 * HOUR_MS;
    (
        prop::bool::weighted(0.1), // emergency stop: rare, so most cases exercise the live rules
        (5_000.0f64..15_000.0, 0.0f64..1.5, 0.0f64..10_000.0, 0.0f64..80_000.0),
        100_000.0f64..3_000_000.0,
        leg_strategy(Side::Buy),
        leg_strategy(Side::Sell),
        memory_strategy(now),
    )
        .prop_map(
            move |(emergency_stop, (equity, im_rate, available, total_pv), risk_limit, long, short, memory)| {
                RiskSnapshot {
                    now_ms: now,
                    emergency_stop,
                    account: AccountView {
                        equity,
                        im_rate,
                        available_balance: available,
                        total_position_value: total_pv,
                    },
                    risk_limit,
                    max_level: 8,
                    best_bid: Some(price(500_000)),
                    best_ask: Some(price(500_001)),
                    legs: LegPair { long, short },
                    memory,
                }
            },
        )
}

const OPENING: [OrderRole; 3] = [OrderRole::Balance, OrderRole::Protective, OrderRole::ClassicLevel];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn never_closes_and_reopens_a_leg(s in snapshot_strategy()) {
        let d = evaluate(&RiskParams::default(), &s);
        for leg in Leg::BOTH {
            if d.legs.get(leg).close.is_some() {
                for role in OPENING {
                    prop_assert!(d.permits(leg, role).is_err(), "{leg:?} closes but permits {role:?}");
                }
                prop_assert!(d.reprices.iter().all(|r| r.leg != leg));
            }
        }
    }

    #[test]
    fn blocking_is_monotone_in_im_rate(s in snapshot_strategy(), a in 0.0f64..1.5, b in 0.0f64..1.5) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let params = RiskParams::default();
        let mut s_lo = s.clone();
        s_lo.account.im_rate = lo;
        let mut s_hi = s;
        s_hi.account.im_rate = hi;
        let (d_lo, d_hi) = (evaluate(&params, &s_lo), evaluate(&params, &s_hi));
        for leg in Leg::BOTH {
            for action in [Action::Balance, Action::Protective, Action::TakeProfit] {
                let blocked_lo = d_lo.halt.is_some() || d_lo.legs.get(leg).blocked.get(action).is_some();
                let blocked_hi = d_hi.halt.is_some() || d_hi.legs.get(leg).blocked.get(action).is_some();
                prop_assert!(!blocked_lo || blocked_hi, "{leg:?} {action:?} blocked at IM {lo} but not at {hi}");
            }
            prop_assert!(d_lo.legs.get(leg).close.is_none() || d_hi.legs.get(leg).close.is_some() || d_hi.halt.is_some());
        }
    }

    #[test]
    fn the_decision_is_a_pure_function_of_the_snapshot(s in snapshot_strategy()) {
        let params = RiskParams::default();
        let first = evaluate(&params, &s);
        let copy: RiskSnapshot = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        prop_assert_eq!(&first, &evaluate(&params, &s));
        prop_assert_eq!(&first, &evaluate(&params, &copy));
        // and its memory is a fixed point for the same instant: evaluating again with it changes
        // nothing but one-time alerts
        let mut again = s.clone();
        again.memory = first.memory.clone();
        let second = evaluate(&params, &again);
        prop_assert_eq!(&second.memory, &first.memory);
        prop_assert_eq!(second.legs, first.legs);
    }
}
