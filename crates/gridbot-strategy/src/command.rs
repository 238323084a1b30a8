//! What a strategy asks the executor to do, and what came of it.
//!
//! Orders are never amended (ARCHITECTURE §4): a move is a `Cancel` followed by a `Place` that names
//! the cancel it depends on, and the executor skips that place when the cancel did not go
//! through (the order filled or vanished meanwhile, and the strategy must look again).

use gridbot_core::{ExchangeError, OrderLinkId, OrderRequest, Symbol};
use gridbot_recovery::LinkTag;

/// One instruction to the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Place an order.
    Place {
        /// The request (its `order_link_id` encodes `tag`).
        request: OrderRequest,
        /// Who and why.
        tag: LinkTag,
        /// Skip this place unless the cancel of this order succeeded first.
        after_cancel: Option<OrderLinkId>,
    },
    /// Cancel one order by its orderLinkId.
    Cancel {
        /// Symbol.
        symbol: Symbol,
        /// The order.
        link_id: OrderLinkId,
    },
    /// Cancel every open order of a symbol.
    CancelAll {
        /// Symbol.
        symbol: Symbol,
    },
}

/// What the executor reports back for each command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The exchange accepted the order.
    Placed {
        /// Our id.
        link_id: OrderLinkId,
        /// The exchange's id.
        order_id: String,
    },
    /// The exchange refused or the request failed after its retries.
    PlaceFailed {
        /// Our id.
        link_id: OrderLinkId,
        /// Why.
        error: ExchangeError,
    },
    /// Not sent: its cancel did not go through, or sending is halted.
    PlaceSkipped {
        /// Our id.
        link_id: OrderLinkId,
    },
    /// The cancel went through.
    Cancelled {
        /// Our id.
        link_id: OrderLinkId,
    },
    /// The cancel failed (most often: the order already filled or is gone).
    CancelFailed {
        /// Our id.
        link_id: OrderLinkId,
        /// Why.
        error: ExchangeError,
    },
    /// Every open order of the symbol was cancelled.
    CancelledAll {
        /// Symbol.
        symbol: Symbol,
        /// How many.
        count: usize,
    },
    /// Cancel-all failed.
    CancelAllFailed {
        /// Symbol.
        symbol: Symbol,
        /// Why.
        error: ExchangeError,
    },
}
