//! The working orders of one symbol, as a strategy tracks them, and the nonces of new ids.

use std::collections::{HashSet, VecDeque};

use gridbot_core::{ErrorAction, Leg, OrderLinkId, OrderRole, Price, Qty, Side, Symbol};
use gridbot_recovery::LinkTag;
use gridbot_risk::OrderView;
use gridbot_state::TrackedOrder;

/// An order the strategy placed and has not seen end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Working {
    /// Handle for risk re-prices.
    pub key: u64,
    /// Its id's fields.
    pub tag: LinkTag,
    /// Its orderLinkId.
    pub link_id: OrderLinkId,
    /// The exchange's id, once acknowledged.
    pub order_id: Option<String>,
    /// Side.
    pub side: Side,
    /// Limit price (`None`: market).
    pub price: Option<Price>,
    /// Size.
    pub qty: Qty,
    /// Filled so far (from executions).
    pub filled: Qty,
    /// A cancel was sent and not yet answered.
    pub cancel_sent: bool,
    /// The exchange ended the order with this much filled; waiting for those fills.
    pub ended_with: Option<Qty>,
    /// The place failed in a way that may not have reached the exchange: since which timer
    /// tick (ticks are wall-clock seconds, so accelerated replays do not shorten them).
    pub uncertain_since: Option<i64>,
    /// A cancel failed (the order filled or vanished): since which timer tick.
    pub cancel_failed_since: Option<i64>,
    /// Partly filled: since when.
    pub partial_since: Option<i64>,
}

impl Working {
    /// A new, unsent order.
    #[must_use]
    pub fn new(request: &gridbot_core::OrderRequest, tag: LinkTag) -> Self {
        Self {
            key: 0,
            tag,
            link_id: request.order_link_id.clone(),
            order_id: None,
            side: request.side,
            price: request.price,
            qty: request.qty,
            filled: Qty::ZERO,
            cancel_sent: false,
            ended_with: None,
            uncertain_since: None,
            cancel_failed_since: None,
            partial_since: None,
        }
    }

    /// An order from a snapshot's record (`None` when its id is not ours).
    #[must_use]
    pub fn from_tracked(t: &TrackedOrder) -> Option<Self> {
        let tag = LinkTag::decode(&t.link_id).ok()?;
        let link_id = OrderLinkId::new(t.link_id.clone()).ok()?;
        Some(Self {
            key: 0,
            tag,
            link_id,
            order_id: t.order_id.clone(),
            side: t.side,
            price: t.price,
            qty: t.qty,
            filled: Qty::ZERO,
            cancel_sent: false,
            ended_with: None,
            uncertain_since: None,
            cancel_failed_since: None,
            partial_since: None,
        })
    }
}

impl Working {
    /// True when it is fully filled.
    #[must_use]
    pub fn is_filled(&self) -> bool {
        self.filled >= self.qty
    }

    /// The risk engine's view (limit orders only).
    #[must_use]
    pub fn view(&self) -> Option<OrderView> {
        Some(OrderView {
            key: self.key,
            role: self.tag.role,
            side: self.side,
            price: self.price?,
            qty: self.qty.checked_sub(self.filled).unwrap_or(Qty::ZERO).to_f64(),
        })
    }

    /// The snapshot's record.
    #[must_use]
    pub fn tracked(&self) -> TrackedOrder {
        TrackedOrder {
            link_id: self.link_id.as_str().to_owned(),
            order_id: self.order_id.clone(),
            leg: self.tag.leg,
            role: self.tag.role,
            level: self.tag.level,
            side: self.side,
            price: self.price,
            qty: self.qty,
        }
    }
}

/// The order book of one strategy: working orders, finished ids, seen executions.
#[derive(Debug, Default)]
pub(crate) struct OrderBook {
    pub(crate) working: Vec<Working>,
    /// Recently finished orders (late fills still count): (link id, leg, role).
    finished: VecDeque<(String, Leg, OrderRole)>,
    seen_execs: HashSet<String>,
    seen_order: VecDeque<String>,
    next_key: u64,
    /// Timer ticks seen (one per wall-clock second).
    pub(crate) ticks: i64,
}

const REMEMBER: usize = 4096;

/// Ticks a place or cancel may stay unexplained (no order update, no fill) before the strategy
/// asks for a reconciliation.
pub(crate) const UNEXPLAINED_TICKS: i64 = 10;

impl OrderBook {
    /// False when `exec_id` was seen before (a duplicate).
    pub(crate) fn first_sight(&mut self, exec_id: &str) -> bool {
        if !self.seen_execs.insert(exec_id.to_owned()) {
            return false;
        }
        self.seen_order.push_back(exec_id.to_owned());
        if self.seen_order.len() > REMEMBER
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen_execs.remove(&old);
        }
        true
    }

    pub(crate) fn index(&self, link_id: &str) -> Option<usize> {
        self.working.iter().position(|w| w.link_id.as_str() == link_id)
    }

    pub(crate) fn finished_role(&self, link_id: &str) -> Option<(Leg, OrderRole)> {
        self.finished.iter().find(|(id, _, _)| id == link_id).map(|(_, leg, role)| (*leg, *role))
    }

    pub(crate) fn add(&mut self, mut w: Working) -> &Working {
        self.next_key += 1;
        w.key = self.next_key;
        self.working.push(w);
        let last = self.working.len() - 1;
        &self.working[last]
    }

    pub(crate) fn finish(&mut self, i: usize) -> Working {
        let w = self.working.remove(i);
        self.finished.push_back((w.link_id.as_str().to_owned(), w.tag.leg, w.tag.role));
        if self.finished.len() > 256 {
            self.finished.pop_front();
        }
        w
    }

    pub(crate) fn leg(&self, leg: Leg) -> impl Iterator<Item = &Working> {
        self.working.iter().filter(move |w| w.tag.leg == leg)
    }

    pub(crate) fn clear(&mut self) {
        self.working.clear();
    }

    /// Counts a timer tick; returns an order unexplained for too long, if any.
    pub(crate) fn tick(&mut self) -> Option<&Working> {
        self.ticks += 1;
        let ticks = self.ticks;
        let late = |since: Option<i64>| since.is_some_and(|t| ticks - t >= UNEXPLAINED_TICKS);
        self.working.iter().find(|w| late(w.uncertain_since) || late(w.cancel_failed_since))
    }
}

/// Nonces for new orderLinkIds: unique across the symbols of an account and across runs
/// (FNV-1a of the symbol, mixed with the start time, then counting).
#[derive(Debug, Clone)]
pub struct NonceSource {
    next: u32,
}

impl NonceSource {
    /// A source for `symbol` started at `now_ms`.
    #[must_use]
    pub fn new(symbol: &Symbol, now_ms: i64) -> Self {
        let mut h: u32 = 0x811c_9dc5;
        for b in symbol.as_str().bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        let ms = u32::try_from(now_ms.rem_euclid(1 << 32)).unwrap_or(0);
        // A different odd multiplier than recovery's, so the two sequences do not line up.
        Self { next: h.wrapping_add(ms.wrapping_mul(0x85EB_CA6B)) }
    }

    /// The next nonce.
    pub fn take(&mut self) -> u32 {
        self.next = self.next.wrapping_add(1);
        self.next
    }
}

/// Whether a failed place may still have reached the exchange (and so might exist).
#[must_use]
pub(crate) fn may_exist(action: ErrorAction) -> bool {
    matches!(action, ErrorAction::Retry | ErrorAction::BackOffUntil(_) | ErrorAction::ResyncClock)
}
