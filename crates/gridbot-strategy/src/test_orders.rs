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
