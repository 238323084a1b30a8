//! Order and execution results (`/v5/order/*`, `/v5/execution/list`), shared with the private
//! `order` and `execution` WebSocket topics.

/// `{orderId, orderLinkId}`: the reply of create, cancel and amend, and an item of cancel-all.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderIds {
    /// Exchange id.
    pub order_id: String,
    /// Client id.
    pub order_link_id: String,
}

/// `/v5/order/cancel-all`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct CancelAll {
    /// What was cancelled.
    pub list: Vec<OrderIds>,
}

/// An order (`/v5/order/realtime`, `/v5/order/history`, the `order` topic).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Order {
    /// Exchange id.
    pub order_id: String,
    /// Client id.
    pub order_link_id: String,
    /// Symbol.
    pub symbol: String,
    /// Limit price (`"0"` or `""` for market orders).
    pub price: String,
    /// Ordered size.
    pub qty: String,
    /// `Buy` / `Sell`.
    pub side: String,
    /// 0, 1 or 2 (a JSON number).
    pub position_idx: i64,
    /// Status.
    pub order_status: String,
    /// Cancel reason.
    pub cancel_type: String,
    /// Reject reason.
    pub reject_reason: String,
    /// Average fill price (`""` when nothing filled).
    pub avg_price: String,
    /// Unfilled size.
    pub leaves_qty: String,
    /// Filled size.
    pub cum_exec_qty: String,
    /// Filled value.
    pub cum_exec_value: String,
    /// Fees (deprecated for linear but still sent).
    pub cum_exec_fee: String,
    /// Time in force.
    pub time_in_force: String,
    /// `Limit` / `Market`.
    pub order_type: String,
    /// Reduce-only flag (a JSON boolean).
    pub reduce_only: bool,
    /// Creation time, ms (a string).
    pub created_time: String,
    /// Update time, ms (a string).
    pub updated_time: String,
}

/// An execution (`/v5/execution/list`, the `execution` topic).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Execution {
    /// Symbol.
    pub symbol: String,
    /// Exchange order id.
    pub order_id: String,
    /// Client order id.
    pub order_link_id: String,
    /// Side.
    pub side: String,
    /// Execution id.
    pub exec_id: String,
    /// Price.
    pub exec_price: String,
    /// Size.
    pub exec_qty: String,
    /// Value.
    pub exec_value: String,
    /// Fee.
    pub exec_fee: String,
    /// Fee rate.
    pub fee_rate: String,
    /// `Trade`, `Funding`, ...
    pub exec_type: String,
    /// `Limit`, `Market`, `UNKNOWN`.
    pub order_type: String,
    /// Time, ms (a string).
    pub exec_time: String,
    /// Maker flag (a JSON boolean).
    pub is_maker: bool,
    /// Closed size.
    pub closed_size: String,
}
