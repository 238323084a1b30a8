//! The engine's order requests after placing — amend, cancel, cancel-all — and the reads of
//! orders and executions (Bybit's open orders, order history and execution list).

use gridbot_core::{
    CancelType, Execution, Order, OrderAck, OrderLinkId, OrderRef, OrderRequest, OrderStatus, Price, Qty, RejectReason,
    Side, Symbol, TimeInForce,
};

use super::{AccountId, MatchingEngine, rejection_to_error};
use crate::error::SimError;

impl MatchingEngine {
    /// Amends an open order's price and/or quantity, keeping its ids (Bybit `/v5/order/amend`).
    pub fn amend(
        &mut self,
        id: AccountId,
        symbol: &Symbol,
        order: &OrderRef,
        price: Option<Price>,
        qty: Option<Qty>,
    ) -> Result<OrderAck, SimError> {
        let instrument = self.instrument(symbol)?.clone();
        let seq = self
            .find(id, symbol, order)
            .filter(|seq| self.orders.get(seq).is_some_and(|o| o.order.is_open()))
            .ok_or_else(|| SimError::new(110_001, "order not exists or too late to replace"))?;
        let current = self.orders[&seq].order.clone();
        if price.is_none() && qty.is_none() {
            return Err(SimError::params("params error: nothing to amend"));
        }
        let mut req = OrderRequest {
            symbol: current.symbol.clone(),
            side: current.side,
            order_type: current.order_type,
            qty: qty.unwrap_or(current.qty),
            price: price.or(current.price),
            time_in_force: current.time_in_force,
            position_idx: current.position_idx,
            order_link_id: OrderLinkId::new(if current.order_link_id.is_empty() {
                "x"
            } else {
                &current.order_link_id
            })
            .map_err(|e| SimError::params(e.to_string()))?,
            reduce_only: current.reduce_only,
        };
        req.reduce_only = current.reduce_only;
        instrument.validate(&req).map_err(|e| rejection_to_error(&e))?;
        if req.qty <= current.cum_exec_qty {
            return Err(SimError::params("params error: qty must exceed the filled quantity"));
        }
        if current.time_in_force == TimeInForce::PostOnly
            && let (Some((bid, ask)), Some(p)) = (self.best_bid_ask(symbol), req.price)
            && (if current.side == Side::Buy { p >= ask } else { p <= bid })
        {
            return Err(SimError::params("params error: PostOnly amend would take liquidity"));
        }
        self.unindex(seq);
        let now = self.now_ms;
        if let Some(o) = self.orders.get_mut(&seq) {
            o.order.price = req.price;
            o.order.qty = req.qty;
            o.order.leaves_qty =
                Qty::new(req.qty.as_decimal() - current.cum_exec_qty.as_decimal()).unwrap_or(Qty::ZERO);
            o.order.updated_time_ms = now;
        }
        if let (Some(p), Some(market)) = (req.price, self.markets.get_mut(symbol)) {
            match current.side {
                Side::Buy => market.buys.insert((p, seq)),
                Side::Sell => market.sells.insert((p, seq)),
            };
        }
        self.emit_order(seq);
        Ok(OrderAck { order_id: current.order_id, order_link_id: current.order_link_id })
    }

    pub(super) fn find(&self, id: AccountId, symbol: &Symbol, order: &OrderRef) -> Option<u64> {
        let seq = match order {
            OrderRef::OrderId(oid) => oid.parse::<u64>().ok()?,
            OrderRef::LinkId(l) => *self.by_link.get(id)?.get(l.as_str())?,
        };
        let o = self.orders.get(&seq)?;
        let same_order = match order {
            OrderRef::OrderId(oid) => o.order.order_id == *oid,
            OrderRef::LinkId(_) => true,
        };
        (o.account == id && o.order.symbol == *symbol && same_order).then_some(seq)
    }

    /// Cancels one open order (Bybit `/v5/order/cancel`).
    pub fn cancel(&mut self, id: AccountId, symbol: &Symbol, order: &OrderRef) -> Result<OrderAck, SimError> {
        self.account(id)?;
        self.instrument(symbol)?;
        let seq = self
            .find(id, symbol, order)
            .filter(|seq| self.orders.get(seq).is_some_and(|o| o.order.is_open()))
            .ok_or_else(|| SimError::new(110_001, "order not exists or too late to cancel"))?;
        self.finish(seq, OrderStatus::Cancelled, CancelType::CancelByUser, RejectReason::NoError);
        let o = &self.orders[&seq].order;
        Ok(OrderAck { order_id: o.order_id.clone(), order_link_id: o.order_link_id.clone() })
    }

    /// Cancels every open order of the symbol (Bybit `/v5/order/cancel-all`).
    pub fn cancel_all(&mut self, id: AccountId, symbol: &Symbol) -> Result<Vec<OrderAck>, SimError> {
        self.account(id)?;
        self.instrument(symbol)?;
        let open: Vec<u64> = self.open_orders_in(id, symbol).map(|(seq, _)| seq).collect();
        let mut acks = Vec::with_capacity(open.len());
        for seq in open {
            self.finish(seq, OrderStatus::Cancelled, CancelType::CancelByUser, RejectReason::NoError);
            let o = &self.orders[&seq].order;
            acks.push(OrderAck { order_id: o.order_id.clone(), order_link_id: o.order_link_id.clone() });
        }
        Ok(acks)
    }

    /// Open orders of the symbol, newest first (as Bybit sorts them).
    pub fn open_orders(&self, id: AccountId, symbol: &Symbol) -> Vec<Order> {
        self.open_orders_in(id, symbol).rev().map(|(_, o)| o.clone()).collect()
    }

    /// Every order of the symbol created in `[start, end]`, newest first.
    pub fn order_history(&self, id: AccountId, symbol: &Symbol, start_ms: i64, end_ms: i64) -> Vec<Order> {
        self.orders
            .values()
            .rev()
            .filter(|o| {
                o.account == id && o.order.symbol == *symbol && (start_ms..=end_ms).contains(&o.order.created_time_ms)
            })
            .map(|o| o.order.clone())
            .collect()
    }

    /// Executions of the symbol in `[start, end]`, newest first.
    pub fn executions(&self, id: AccountId, symbol: &Symbol, start_ms: i64, end_ms: i64) -> Vec<Execution> {
        self.executions
            .iter()
            .rev()
            .filter(|(a, e)| *a == id && e.symbol == *symbol && (start_ms..=end_ms).contains(&e.exec_time_ms))
            .map(|(_, e)| e.clone())
            .collect()
    }
}
