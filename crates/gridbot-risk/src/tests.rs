//! Table tests: every level fires exactly at its threshold and not one tick (or one
//! millisecond) before; precedence for every pair where it matters.

use gridbot_core::time::{DAY_MS, HOUR_MS};
use gridbot_core::{Leg, OrderRole, Price, Side};

use crate::*;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

const DAY: i64 = 20_000 * DAY_MS;
const NOW: i64 = DAY + 12 * HOUR_MS;

/// A quiet snapshot: long leg open at level 2 slightly in loss, short leg flat with a resting
/// balance order. Nothing fires.
fn quiet() -> RiskSnapshot {
    let mut memory = RiskMemory::default();
    memory.account.day_start_ms = Some(DAY);
    memory.account.day_peak_equity = 10_000.0;
    RiskSnapshot {
        now_ms: NOW,
        emergency_stop: false,
        account: AccountView {
            equity: 10_000.0,
            im_rate: 0.1,
            available_balance: 8_000.0,
            total_position_value: 1_000.0,
        },
        risk_limit: 2_000_000.0,
        max_level: 8,
        best_bid: Some(p("50000")),
        best_ask: Some(p("50000.1")),
        legs: LegPair {
            long: LegSnapshot {
                level: Some(2),
                size: 0.5,
                avg_price: 50_500.0,
                mark_price: 50_000.0,
                position_value: 25_250.0,
                unrealised_pnl: -250.0,
                position_im: 2_525.0,
                leverage: 10.0,
                orders: vec![
                    OrderView { key: 1, role: OrderRole::TakeProfit, side: Side::Sell, price: p("51000"), qty: 0.5 },
                    OrderView { key: 2, role: OrderRole::Protective, side: Side::Buy, price: p("48000"), qty: 1.0 },
                ],
            },
            short: LegSnapshot {
                orders: vec![OrderView {
                    key: 3,
                    role: OrderRole::Balance,
                    side: Side::Sell,
                    price: p("50200"),
                    qty: 0.01,
                }],
                ..LegSnapshot::default()
            },
        },
        memory,
    }
}

fn params() -> RiskParams {
    RiskParams::default()
}

fn run(s: &RiskSnapshot) -> RiskDecision {
    evaluate(&params(), s)
}

fn fired(d: &RiskDecision) -> Vec<RiskLevel> {
    let mut v: Vec<RiskLevel> = d.alerts.iter().map(|a| a.level).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn quiet_snapshot_fires_nothing() {
    let d = run(&quiet());
    assert_eq!(d.halt, None);
    assert!(d.alerts.is_empty(), "{:?}", d.alerts);
    assert!(d.reprices.is_empty());
    assert_eq!(d.legs, LegPair::default());
    assert!(d.permits(Leg::Long, OrderRole::Protective).is_ok());
    assert!(params().validate().is_ok());
}

#[test]
fn l1_im_rate_block_at_threshold() {
    let mut s = quiet();
    s.account.im_rate = 0.9f64.next_down();
    assert!(run(&s).permits(Leg::Short, OrderRole::Balance).is_ok());
    s.account.im_rate = 0.9;
    let d = run(&s);
    for leg in Leg::BOTH {
        assert_eq!(d.permits(leg, OrderRole::Balance), Err(RiskLevel::ImRateBlock));
        assert_eq!(d.permits(leg, OrderRole::Protective), Err(RiskLevel::ImRateBlock));
        assert_eq!(d.permits(leg, OrderRole::TakeProfit), Ok(()));
        assert_eq!(d.permits(leg, OrderRole::Close), Ok(()));
    }
    // the resting sell balance order at 50200 is farther than ask + 0.01% = 50005.10001
    assert_eq!(d.reprices.len(), 1);
    let r = d.reprices[0];
    assert_eq!((r.key, r.leg, r.side, r.level), (3, Leg::Short, Side::Sell, RiskLevel::ImRateBlock));
    assert_eq!(r.to, p("50005.10001"));
    // a balance order already within the offset is left alone
    s.legs.short.orders[0].price = p("50005.1");
    assert!(run(&s).reprices.is_empty());
}

#[test]
fn l2_high_im_in_profit_at_threshold() {
    let mut s = quiet();
    s.legs.long.unrealised_pnl = 10.0;
    s.account.im_rate = 0.8f64.next_down();
    assert_eq!(run(&s).legs.long.close, None);
    s.account.im_rate = 0.8;
    let d = run(&s);
    assert_eq!(d.legs.long.close, Some(RiskLevel::HighImInProfit));
    // not in profit: no close
    s.legs.long.unrealised_pnl = 0.0;
    assert_eq!(run(&s).legs.long.close, None);
}

#[test]
fn l3_trailing_stop_at_threshold() {
    let mut s = quiet();
    s.memory.legs.long.peak_pnl = Some(200.0); // ≥ 0.5% × 25250 = 126.25: armed
    let threshold: f64 = 200.0 * (1.0 - 0.3);
    s.legs.long.unrealised_pnl = threshold.next_up();
    assert_eq!(run(&s).legs.long.close, None);
    s.legs.long.unrealised_pnl = threshold;
    assert_eq!(run(&s).legs.long.close, Some(RiskLevel::TrailingStop));
    // not armed: the peak never reached the activation level
    s.memory.legs.long.peak_pnl = Some(126.25f64.next_down());
    s.legs.long.unrealised_pnl = 0.0;
    assert_eq!(run(&s).legs.long.close, None);
    // the peak is remembered and rises with PnL
    s.memory.legs.long.peak_pnl = Some(100.0);
    s.legs.long.unrealised_pnl = 150.0;
    assert_eq!(run(&s).memory.legs.long.peak_pnl, Some(150.0));
}

#[test]
fn l4_position_value_limit_is_strict() {
    let mut s = quiet();
    s.legs.long.position_value = 0.4 * s.risk_limit;
    assert!(run(&s).permits(Leg::Long, OrderRole::Protective).is_ok());
    s.legs.long.position_value = (0.4 * s.risk_limit).next_up();
    let d = run(&s);
    assert_eq!(d.permits(Leg::Long, OrderRole::Protective), Err(RiskLevel::PositionValueLimit));
    assert_eq!(d.permits(Leg::Long, OrderRole::Balance), Err(RiskLevel::PositionValueLimit));
    assert_eq!(d.permits(Leg::Long, OrderRole::TakeProfit), Ok(()));
    assert_eq!(d.permits(Leg::Short, OrderRole::Balance), Ok(()));
}

#[test]
fn l5_stuck_at_max_level_to_the_millisecond() {
    let mut s = quiet();
    s.legs.long.level = Some(8);
    let timeout = params().max_level_timeout_ms;
    s.memory.legs.long.at_max_level_since_ms = Some(NOW - timeout + 1);
    assert_eq!(run(&s).legs.long.close, None);
    s.memory.legs.long.at_max_level_since_ms = Some(NOW - timeout);
    assert_eq!(run(&s).legs.long.close, Some(RiskLevel::StuckAtMaxLevel));
    // reaching max level starts the clock; leaving it stops it
    s.memory.legs.long.at_max_level_since_ms = None;
    assert_eq!(run(&s).memory.legs.long.at_max_level_since_ms, Some(NOW));
    s.legs.long.level = Some(7);
    s.memory.legs.long.at_max_level_since_ms = Some(NOW - 5);
    assert_eq!(run(&s).memory.legs.long.at_max_level_since_ms, None);
}

#[test]
fn l6_both_in_profit_closes_both() {
    let mut s = quiet();
    s.legs.long.unrealised_pnl = 1.0;
    s.legs.short = LegSnapshot {
        level: Some(0),
        size: 0.01,
        avg_price: 50_100.0,
        mark_price: 50_000.0,
        position_value: 501.0,
        unrealised_pnl: 0.0,
        position_im: 50.1,
        leverage: 10.0,
        orders: vec![],
    };
    assert_eq!(run(&s).legs.long.close, None);
    s.legs.short.unrealised_pnl = f64::MIN_POSITIVE;
    let d = run(&s);
    assert_eq!(d.legs.long.close, Some(RiskLevel::BothLegsInProfit));
    assert_eq!(d.legs.short.close, Some(RiskLevel::BothLegsInProfit));
}

/// Long leg sized so that coverage = (available + 2000) / 2500 exactly.
fn tp_safety_snapshot(available: f64) -> RiskSnapshot {
    let mut s = quiet();
    s.account.available_balance = available;
    s.legs.long.size = 0.5;
    s.legs.long.avg_price = 50_000.0;
    s.legs.long.position_im = 2_000.0;
    s.legs.long.orders[0].price = p("50000");
    s
}

#[test]
fn l7_l8_tp_safety_hysteresis() {
    // coverage exactly 1.05: not below, stays out
    let d = run(&tp_safety_snapshot(625.0));
    assert!(!d.memory.legs.long.tp_safety);
    // just below (a float step of 1e-13 would vanish in the sum; 1e-3 USDT is the smallest
    // amount that matters): enters, alerts once, blocks protective, keeps the TP
    let mut s = tp_safety_snapshot(624.999);
    let d = run(&s);
    assert!(d.memory.legs.long.tp_safety);
    assert_eq!(fired(&d), [RiskLevel::TpSafety]);
    assert_eq!(d.permits(Leg::Long, OrderRole::Protective), Err(RiskLevel::TpSafetyBlock));
    assert_eq!(d.permits(Leg::Long, OrderRole::TakeProfit), Ok(()));
    assert_eq!(d.permits(Leg::Long, OrderRole::Balance), Ok(()));
    // in the mode: coverage 1.08 and exactly 1.10 keep it, just above 1.10 leaves
    s.memory = d.memory;
    for available in [700.0, 750.0] {
        s.account.available_balance = available;
        let d = run(&s);
        assert!(d.memory.legs.long.tp_safety, "{available}");
        assert!(d.alerts.is_empty(), "no repeated alert");
    }
    s.account.available_balance = 750.001;
    assert!(!run(&s).memory.legs.long.tp_safety);
    // a flat leg is never in TP-safety mode
    s.legs.long.size = 0.0;
    assert!(!run(&s).memory.legs.long.tp_safety);
}

#[test]
fn l9_level_up_budget_slides_by_the_millisecond() {
    let mut s = quiet();
    let window = params().level_up_window_ms;
    assert_eq!(params().level_up_budget(8), 4);
    assert_eq!(params().level_up_budget(7), 4);
    let t0 = NOW - window;
    for t in [t0 + 1, t0 + 2, t0 + 3] {
        s.memory.record_level_up(Leg::Long, t);
    }
    assert!(run(&s).permits(Leg::Long, OrderRole::Protective).is_ok());
    s.memory.record_level_up(Leg::Long, t0 + 4);
    assert_eq!(run(&s).permits(Leg::Long, OrderRole::Protective), Err(RiskLevel::LevelUpBudget));
    assert_eq!(run(&s).permits(Leg::Short, OrderRole::Protective), Ok(()));
    // one millisecond later the oldest level-up leaves the window
    s.now_ms = NOW + 1;
    let d = run(&s);
    assert!(d.permits(Leg::Long, OrderRole::Protective).is_ok());
    assert_eq!(d.memory.legs.long.level_ups_ms, [t0 + 2, t0 + 3, t0 + 4]);
}

#[test]
fn l10_emergency_stop_halts_until_removed() {
    let mut s = quiet();
    s.emergency_stop = true;
    let d = run(&s);
    assert_eq!(d.halt, Some(RiskLevel::EmergencyStop));
    assert!(!d.cancel_all);
    for role in OrderRole::ALL {
        assert_eq!(d.permits(Leg::Long, role), Err(RiskLevel::EmergencyStop));
    }
    assert_eq!(fired(&d), [RiskLevel::EmergencyStop]);
    s.emergency_stop = false;
    s.memory = d.memory;
    assert_eq!(run(&s).halt, None);
}

#[test]
fn kill_switch_at_threshold_latches_and_cancels() {
    let mut s = quiet();
    s.account.equity = 9_000.0f64.next_up();
    assert_eq!(run(&s).halt, None);
    s.account.equity = 9_000.0;
    let d = run(&s);
    assert_eq!(d.halt, Some(RiskLevel::DailyKillSwitch));
    assert!(d.cancel_all);
    assert_eq!(fired(&d), [RiskLevel::DailyKillSwitch]);
    // latched: equity recovering, even a new day, does not re-arm
    s.memory = d.memory.clone();
    s.account.equity = 12_000.0;
    s.now_ms = NOW + DAY_MS;
    let d2 = run(&s);
    assert_eq!(d2.halt, Some(RiskLevel::DailyKillSwitch));
    assert!(d2.alerts.is_empty(), "alert only when it trips");
    // operator reset
    s.memory.reset_kill_switch();
    assert_eq!(run(&s).halt, None);
}

#[test]
fn kill_switch_measures_the_utc_day_not_a_local_one() {
    // An operator at UTC+3 sees midnight at 21:00 UTC. The peak of the UTC day must survive it.
    let mut s = quiet();
    s.now_ms = DAY + 20 * HOUR_MS;
    s.account.equity = 10_000.0;
    let d = run(&s);
    s.memory = d.memory;
    s.now_ms = DAY + 21 * HOUR_MS + 30 * 60_000; // 00:30 at UTC+3, same UTC day
    s.account.equity = 9_000.0;
    assert_eq!(run(&s).halt, Some(RiskLevel::DailyKillSwitch));
    // 00:00:00.000 UTC the next day: a new day, the peak restarts at the current equity
    s.now_ms = DAY + DAY_MS;
    let d = run(&s);
    assert_eq!(d.halt, None);
    assert_eq!(d.memory.account.day_peak_equity, 9_000.0);
    assert_eq!(d.memory.account.day_start_ms, Some(DAY + DAY_MS));
}

#[test]
fn exposure_cap_is_strict() {
    let mut s = quiet();
    s.account.total_position_value = 5.0 * s.account.equity;
    assert!(run(&s).permits(Leg::Short, OrderRole::Balance).is_ok());
    s.account.total_position_value = (5.0 * s.account.equity).next_up();
    assert_eq!(run(&s).permits(Leg::Short, OrderRole::Balance), Err(RiskLevel::ExposureCap));
    s.account.total_position_value = 1.0;
    s.account.equity = 0.0;
    s.memory.account.day_peak_equity = 0.0;
    assert_eq!(run(&s).permits(Leg::Short, OrderRole::Balance), Err(RiskLevel::ExposureCap));
}

#[test]
fn maker_check_at_the_opposite_best() {
    let (bid, ask) = (Some(p("100")), Some(p("100.1")));
    assert!(maker_check(Side::Buy, p("100"), bid, ask).is_ok());
    assert!(maker_check(Side::Buy, p("100.1"), bid, ask).is_err());
    assert!(maker_check(Side::Sell, p("100.1"), bid, ask).is_ok());
    assert!(maker_check(Side::Sell, p("100"), bid, ask).is_err());
    assert!(maker_check(Side::Buy, p("1000"), bid, None).is_ok());
    let d = run(&quiet());
    assert_eq!(
        d.permits_post_only(
            Leg::Long,
            OrderRole::Protective,
            Side::Buy,
            p("50000.1"),
            Some(p("50000")),
            Some(p("50000.1"))
        ),
        Err(RiskLevel::MakerCheck)
    );
}

// ---- precedence -------------------------------------------------------------------------------

#[test]
fn emergency_stop_beats_the_kill_switch_and_every_close() {
    let mut s = quiet();
    s.emergency_stop = true;
    s.account.equity = 5_000.0; // kill switch
    s.account.im_rate = 0.95; // L1 and L2
    s.legs.long.unrealised_pnl = 10.0;
    let d = run(&s);
    assert_eq!(d.halt, Some(RiskLevel::EmergencyStop));
    assert!(d.cancel_all, "the kill switch still latches and cancels");
    assert_eq!(d.legs.long.close, None);
    assert!(d.reprices.is_empty());
}

#[test]
fn kill_switch_beats_closes() {
    let mut s = quiet();
    s.account.equity = 5_000.0;
    s.account.im_rate = 0.85;
    s.legs.long.unrealised_pnl = 10.0;
    let d = run(&s);
    assert_eq!(d.halt, Some(RiskLevel::DailyKillSwitch));
    assert_eq!(d.legs.long.close, None);
}

#[test]
fn a_close_blocks_its_leg_and_suppresses_its_reprices() {
    let mut s = quiet();
    s.account.im_rate = 0.95; // L1 and L2
    s.legs.long.unrealised_pnl = 10.0;
    s.legs.long.orders.push(OrderView {
        key: 9,
        role: OrderRole::Balance,
        side: Side::Buy,
        price: p("40000"),
        qty: 0.01,
    });
    let d = run(&s);
    assert_eq!(d.legs.long.close, Some(RiskLevel::HighImInProfit));
    for role in [OrderRole::Balance, OrderRole::Protective, OrderRole::TakeProfit] {
        assert_eq!(d.permits(Leg::Long, role), Err(RiskLevel::HighImInProfit));
    }
    assert_eq!(d.permits(Leg::Short, OrderRole::Balance), Err(RiskLevel::ImRateBlock));
    assert!(d.reprices.iter().all(|r| r.leg == Leg::Short));
    assert!(!d.reprices.is_empty());
}

#[test]
fn close_reasons_in_order() {
    // L5 over L3
    let mut s = quiet();
    s.legs.long.level = Some(8);
    s.memory.legs.long.at_max_level_since_ms = Some(0);
    s.memory.legs.long.peak_pnl = Some(1_000.0);
    s.legs.long.unrealised_pnl = 1.0;
    assert_eq!(run(&s).legs.long.close, Some(RiskLevel::StuckAtMaxLevel));
    // L6 over L2
    let mut s = quiet();
    s.account.im_rate = 0.85;
    s.legs.long.unrealised_pnl = 1.0;
    s.legs.short = LegSnapshot {
        level: Some(0),
        size: 0.01,
        avg_price: 50_100.0,
        mark_price: 50_000.0,
        position_value: 501.0,
        unrealised_pnl: 1.0,
        position_im: 50.1,
        leverage: 10.0,
        orders: vec![],
    };
    assert_eq!(run(&s).legs.long.close, Some(RiskLevel::BothLegsInProfit));
    // L2 over L3
    let mut s = quiet();
    s.account.im_rate = 0.85;
    s.memory.legs.long.peak_pnl = Some(1_000.0);
    s.legs.long.unrealised_pnl = 1.0;
    assert_eq!(run(&s).legs.long.close, Some(RiskLevel::HighImInProfit));
}

#[test]
fn block_attribution_in_order() {
    // L1 over L4
    let mut s = quiet();
    s.account.im_rate = 0.9;
    s.legs.long.position_value = s.risk_limit;
    let d = run(&s);
    assert_eq!(d.permits(Leg::Long, OrderRole::Protective), Err(RiskLevel::ImRateBlock));
    assert_eq!(fired(&d), [RiskLevel::ImRateBlock, RiskLevel::PositionValueLimit]);
    // L4 over the exposure cap
    let mut s = quiet();
    s.legs.long.position_value = s.risk_limit;
    s.account.total_position_value = 1e9;
    assert_eq!(run(&s).permits(Leg::Long, OrderRole::Balance), Err(RiskLevel::PositionValueLimit));
    // L8 over L9
    let mut s = tp_safety_snapshot(0.0);
    for t in 0..4 {
        s.memory.record_level_up(Leg::Long, NOW - t);
    }
    let d = run(&s);
    assert_eq!(d.permits(Leg::Long, OrderRole::Protective), Err(RiskLevel::TpSafetyBlock));
    assert!(fired(&d).contains(&RiskLevel::LevelUpBudget));
}

#[test]
fn params_validation_names_the_field() {
    let bad = RiskParams { tp_safety_leave: 1.0, ..RiskParams::default() };
    assert_eq!(bad.validate().unwrap_err().field, "tp_safety_leave");
    let bad = RiskParams { im_rate_block: f64::NAN, ..RiskParams::default() };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "risk.im_rate_block: an IM rate in (0, 1] (0.9 is 90%), got NaN"
    );
    // Thresholds that could never fire are refused, and every problem is listed at once.
    let never =
        RiskParams { im_rate_block: 5.0, im_rate_close_in_profit: 0.95, max_exposure: 0.0, ..RiskParams::default() };
    let fields: Vec<&str> = never.problems().iter().map(|p| p.field).collect();
    assert_eq!(fields, ["im_rate_block", "max_exposure"]);
    let l2_above_l1 = RiskParams { im_rate_close_in_profit: 0.95, ..RiskParams::default() };
    assert_eq!(l2_above_l1.validate().unwrap_err().field, "im_rate_close_in_profit");
    let from_yaml_like: RiskParams = serde_json::from_str(r#"{"im_rate_block": 0.85}"#).unwrap();
    assert_eq!(from_yaml_like.im_rate_block, 0.85);
    assert_eq!(from_yaml_like.level_up_window_ms, 48 * HOUR_MS);
    assert!(serde_json::from_str::<RiskParams>(r#"{"im_rate_blok": 0.85}"#).is_err());
}

#[test]
fn level_numbers_and_names() {
    assert_eq!(RiskLevel::EmergencyStop.number(), Some(10));
    assert_eq!(RiskLevel::TpSafetyBlock.to_string(), "L8 TP-safety block");
    assert_eq!(RiskLevel::DailyKillSwitch.to_string(), "daily drawdown kill switch");
}
