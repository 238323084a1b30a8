//! Criterion: one risk decision over a two-leg snapshot with 20 orders
//! (`cargo bench -p gridbot-risk`). Target ≤ 2 µs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridbot_core::time::{DAY_MS, HOUR_MS};
use gridbot_core::{Leg, OrderRole, Price, Side};
use gridbot_risk::{AccountView, LegPair, LegSnapshot, OrderView, RiskMemory, RiskParams, RiskSnapshot, evaluate};

fn orders(first_key: u64, side: Side, base: f64) -> Vec<OrderView> {
    let mut v = vec![OrderView {
        key: first_key,
        role: OrderRole::TakeProfit,
        side: side.opposite(),
        price: Price::new(gridbot_core::Decimal::from(51_000)).unwrap(),
        qty: 0.5,
    }];
    v.push(OrderView {
        key: first_key + 1,
        role: OrderRole::Balance,
        side,
        price: "50010".parse().unwrap(),
        qty: 0.001,
    });
    for i in 0..8u32 {
        let px = base - f64::from(i) * 500.0;
        v.push(OrderView {
            key: first_key + 2 + u64::from(i),
            role: OrderRole::Protective,
            side,
            price: format!("{px}").parse().unwrap(),
            qty: 0.001 * f64::from(1 << i),
        });
    }
    v
}

fn snapshot(im_rate: f64) -> RiskSnapshot {
    let day = 20_000 * DAY_MS;
    let mut memory = RiskMemory::default();
    memory.account.day_start_ms = Some(day);
    memory.account.day_peak_equity = 10_000.0;
    for t in 0..3 {
        memory.record_level_up(Leg::Long, day + t * HOUR_MS);
    }
    let leg = |orders| LegSnapshot {
        level: Some(2),
        size: 0.5,
        avg_price: 50_500.0,
        mark_price: 50_000.0,
        position_value: 25_250.0,
        unrealised_pnl: -250.0,
        position_im: 2_525.0,
        leverage: 10.0,
        orders,
    };
    RiskSnapshot {
        now_ms: day + 12 * HOUR_MS,
        emergency_stop: false,
        account: AccountView { equity: 10_000.0, im_rate, available_balance: 8_000.0, total_position_value: 50_500.0 },
        risk_limit: 2_000_000.0,
        max_level: 8,
        best_bid: Some("50000".parse().unwrap()),
        best_ask: Some("50000.1".parse().unwrap()),
        legs: LegPair { long: leg(orders(0, Side::Buy, 49_000.0)), short: leg(orders(100, Side::Sell, 51_000.0)) },
        memory,
    }
}

fn bench(c: &mut Criterion) {
    let params = RiskParams::default();
    let mut g = c.benchmark_group("risk_decision");
    g.throughput(Throughput::Elements(1));
    let quiet = snapshot(0.1);
    assert_eq!(quiet.legs.long.orders.len() + quiet.legs.short.orders.len(), 20);
    g.bench_function("two_legs_20_orders_quiet", |b| b.iter(|| evaluate(&params, black_box(&quiet))));
    let busy = snapshot(0.95);
    g.bench_function("two_legs_20_orders_im_block_with_reprices", |b| b.iter(|| evaluate(&params, black_box(&busy))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
