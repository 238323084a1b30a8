//! Orders: what we ask for (`OrderRequest`), what the exchange says it is (`Order`), and the
//! create/cancel acknowledgement (`OrderAck`).
//!
//! Decisions:
//! - Every request carries an `OrderLinkId` (ARCHITECTURE §3): recovery reads state back from it and
//!   a retried create reuses it, which makes creates idempotent.
//! - A request is only built through `limit` / `market` so a limit order always has a price.
//!   Whether it fits the instrument (tick, step, minimums) is `Instrument::validate`'s job,
//!   the one place those rules live.
//! - `Order.order_link_id` is a plain `String`: orders placed by other tools may carry any id,
//!   or none (`""`), and must still decode.

use rust_decimal::Decimal;

use crate::enums::{CancelType, OrderStatus, OrderType, PositionIdx, RejectReason, Side, TimeInForce};
use crate::ids::{OrderLinkId, Symbol};
use crate::num::{Price, Qty};

/// An order we want placed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderRequest {
    /// Instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Size in base currency.
    pub qty: Qty,
    /// Limit price; `None` for market orders.
    pub price: Option<Price>,
    /// Time in force (market orders are IOC).
    pub time_in_force: TimeInForce,
    /// Position the order belongs to (hedge mode: `Long` / `Short`).
    pub position_idx: PositionIdx,
    /// Client order id.
    pub order_link_id: OrderLinkId,
    /// May only shrink the position.
    pub reduce_only: bool,
}

impl OrderRequest {
    /// A limit order.
    #[must_use]
    pub fn limit(
        symbol: Symbol,
        side: Side,
        qty: Qty,
        price: Price,
        time_in_force: TimeInForce,
        position_idx: PositionIdx,
        order_link_id: OrderLinkId,
    ) -> Self {
        Self {
            symbol,
            side,
            order_type: OrderType::Limit,
            qty,
            price: Some(price),
            time_in_force,
            position_idx,
            order_link_id,
            reduce_only: false,
        }
    }

    /// A market order (IOC).
    #[must_use]
    pub fn market(symbol: Symbol, side: Side, qty: Qty, position_idx: PositionIdx, order_link_id: OrderLinkId) -> Self {
        Self {
            symbol,
            side,
            order_type: OrderType::Market,
            qty,
            price: None,
            time_in_force: TimeInForce::Ioc,
            position_idx,
            order_link_id,
            reduce_only: false,
        }
    }

    /// The same order, reduce-only.
    #[must_use]
    pub fn reduce_only(mut self) -> Self {
        self.reduce_only = true;
        self
    }
}

/// How to name an existing order: by exchange id or by client id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderRef {
    /// The exchange's `orderId`.
    OrderId(String),
    /// Our `orderLinkId`.
    LinkId(OrderLinkId),
}

/// The exchange's acknowledgement of a create or cancel (asynchronous: fills and PostOnly
/// cancellations are reported later through order events).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderAck {
    /// Exchange order id.
    pub order_id: String,
    /// Client order id (may be empty for foreign orders).
    pub order_link_id: String,
}

/// An order as the exchange reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    /// Exchange order id.
    pub order_id: String,
    /// Client order id (`""` when none was given).
    pub order_link_id: String,
    /// Instrument.
    pub symbol: Symbol,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Limit price (`None` for market orders).
    pub price: Option<Price>,
    /// Ordered size.
    pub qty: Qty,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Position index.
    pub position_idx: PositionIdx,
    /// Status.
    pub status: OrderStatus,
    /// Why it was cancelled (`Unknown` when not cancelled).
    pub cancel_type: CancelType,
    /// Why it was rejected (`NoError` normally).
    pub reject_reason: RejectReason,
    /// Average fill price (`None` when nothing filled).
    pub avg_price: Option<Price>,
    /// Size still resting.
    pub leaves_qty: Qty,
    /// Size filled so far.
    pub cum_exec_qty: Qty,
    /// Quote value filled so far.
    pub cum_exec_value: Decimal,
    /// Fees paid so far (negative for rebates).
    pub cum_exec_fee: Decimal,
    /// Reduce-only flag.
    pub reduce_only: bool,
    /// Creation time, UTC ms.
    pub created_time_ms: i64,
    /// Last update time, UTC ms.
    pub updated_time_ms: i64,
}

impl Order {
    /// True when the order can still fill.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }
}
