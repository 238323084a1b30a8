//! Order reports as the exchange sends them, for the grids' unit tests.

use gridbot_core::{
    CancelType, Decimal, Leg, Order, OrderStatus, OrderType, Price, Qty, RejectReason, Side, Symbol, TimeInForce,
};

/// A PostOnly limit order of ours, `status` with `reject_reason`, nothing filled.
pub(crate) fn report(
    link_id: &str,
    symbol: Symbol,
    (leg, side): (Leg, Side),
    (price, qty): (Option<Price>, Qty),
    status: OrderStatus,
    reject_reason: RejectReason,
) -> Order {
    Order {
        order_id: format!("x-{link_id}"),
        order_link_id: link_id.to_owned(),
        symbol,
        side,
        order_type: OrderType::Limit,
        price,
        qty,
        time_in_force: TimeInForce::PostOnly,
        position_idx: leg.position_idx(),
        status,
        cancel_type: CancelType::Unknown,
        reject_reason,
        avg_price: None,
        leaves_qty: Qty::ZERO,
        cum_exec_qty: Qty::ZERO,
        cum_exec_value: Decimal::ZERO,
        cum_exec_fee: Decimal::ZERO,
        reduce_only: false,
        created_time_ms: 0,
        updated_time_ms: 0,
    }
}

/// A fill of 0.001 BTCUSDT at 50,000 with id `exec_id` at `exec_time_ms` (no order of ours).
pub(crate) fn execution_at(exec_id: &str, exec_time_ms: i64) -> gridbot_core::Execution {
    let price = Price::new(Decimal::new(50_000, 0)).unwrap_or(Price::ZERO);
    let qty = Qty::new(Decimal::new(1, 3)).unwrap_or(Qty::ZERO);
    gridbot_core::Execution {
        exec_id: exec_id.to_owned(),
        order_id: String::new(),
        order_link_id: String::new(),
        symbol: Symbol::new("BTCUSDT").unwrap_or_else(|_| unreachable!("a valid symbol")),
        side: Side::Buy,
        exec_type: gridbot_core::ExecType::Trade,
        order_type: OrderType::Limit,
        exec_price: price,
        exec_qty: qty,
        exec_value: price.as_decimal() * qty.as_decimal(),
        exec_fee: Decimal::ZERO,
        fee_rate: Decimal::ZERO,
        is_maker: true,
        closed_size: Qty::ZERO,
        exec_time_ms,
    }
}
