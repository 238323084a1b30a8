//! The orders a strategy placed and has not seen end (`WorkingOrders`), each with its
//! lifecycle state ([`OrderState`]), and what it remembers of finished ones.
//!
//! Decisions:
//! - A finished order is remembered (its id, leg and role; the last 256) so that a late fill —
//!   one that arrives after the cancel was confirmed — still counts on its leg.
//! - Executions are de-duplicated by `exec_id` over the last 4,096 (a reconnect replays some).

use std::collections::{HashSet, VecDeque};

use gridbot_core::{ErrorAction, Leg, OrderLinkId, OrderRequest, OrderRole, Price, Qty, Side};
use gridbot_recovery::LinkTag;
use gridbot_risk::OrderView;
use gridbot_state::TrackedOrder;

use crate::lifecycle::{OrderEvent, OrderState, Step};
use crate::market::MarketView;

/// How long an order may stay unexplained (a place that may exist, a failed cancel) before
/// the strategy asks for a reconciliation, in event time.
pub const UNEXPLAINED_MS: i64 = 10_000;

/// An order the strategy placed and has not seen end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingOrder {
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
    /// Where it stands.
    pub state: OrderState,
}

impl WorkingOrder {
    /// A new, unsent order.
    #[must_use]
    pub fn new(request: &OrderRequest, tag: LinkTag) -> Self {
        Self {
            key: 0,
            tag,
            link_id: request.order_link_id.clone(),
            order_id: None,
            side: request.side,
            price: request.price,
            qty: request.qty,
            filled: Qty::ZERO,
            state: OrderState::PendingNew,
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
            state: OrderState::Working,
        })
    }

    /// Moves the order on by `event` (a fill's quantity is added); `Ended` when it is over.
    pub fn on(&mut self, event: OrderEvent, now_ms: i64) -> Step {
        let step = self.state.next(event, self.filled, self.qty, now_ms);
        if let OrderEvent::Filled { qty } = event {
            self.filled = self.filled.checked_add(qty).unwrap_or(self.filled);
        }
        if let Step::Live(state) = step {
            self.state = state;
        }
        step
    }

    /// True when it is fully filled.
    #[must_use]
    pub fn is_filled(&self) -> bool {
        self.filled >= self.qty
    }

    /// True while a partial fill, a cancel in flight or an unconfirmed place leaves the leg's
    /// size in doubt.
    #[must_use]
    pub fn unsettled(&self) -> bool {
        !self.filled.is_zero() || self.state.cancel_sent() || matches!(self.state, OrderState::Unconfirmed { .. })
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

/// The book a PostOnly order was refused against (`EC_PostOnlyWillTakeLiquidity`): the top of
/// the book the grid decided on was already stale, or the exchange's market had crossed the
/// price. Nothing PostOnly goes out on that side again until the market has moved: a top of
/// the book that is both newer and different from the refused one. A newer frame with the same
/// top (Bybit re-sends an unchanged depth-1 book every 3 s) lets nothing out — otherwise the
/// same doomed order is re-placed at every event. (Against a changed top, the risk engine's
/// maker check keeps crossing orders back.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StaleBook {
    /// The book the last commands were decided on.
    decided_on: BookSeen,
    /// Per side (buy, sell): the book a PostOnly order was refused against.
    refused_at: [Option<BookSeen>; 2],
}

/// A top of the book as decided on: (time, bid, ask).
type BookSeen = (i64, Option<Price>, Option<Price>);

const fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// True while `market` is not a move away from the refused book `at`.
fn unmoved(at: BookSeen, market: &MarketView) -> bool {
    market.ts_ms <= at.0 || (market.bid, market.ask) == (at.1, at.2)
}

impl StaleBook {
    /// Commands are being decided on `market`.
    pub(crate) fn deciding(&mut self, market: &MarketView) {
        self.decided_on = (market.ts_ms, market.bid, market.ask);
    }

    /// A PostOnly `side` order was refused as crossing.
    pub(crate) fn refused(&mut self, side: Side) {
        self.refused_at[side_index(side)] = Some(self.decided_on);
    }

    /// True while the market has not moved since a `side` PostOnly order was refused (the
    /// refusal is forgotten once it has).
    pub(crate) fn holds(&mut self, side: Side, market: &MarketView) -> bool {
        let slot = &mut self.refused_at[side_index(side)];
        match *slot {
            Some(at) if unmoved(at, market) => true,
            Some(_) => {
                *slot = None;
                false
            }
            None => false,
        }
    }

    /// [`Self::holds`] without forgetting.
    pub(crate) fn would_hold(&self, side: Side, market: &MarketView) -> bool {
        self.refused_at[side_index(side)].is_some_and(|at| unmoved(at, market))
    }
}

/// The working orders of one strategy, finished ids, seen executions.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkingOrders {
    pub(crate) list: Vec<WorkingOrder>,
    /// PostOnly refusals against a stale book.
    pub(crate) stale_book: StaleBook,
    /// Recently finished orders (late fills still count): (link id, leg, role).
    finished: VecDeque<(String, Leg, OrderRole)>,
    seen_execs: HashSet<String>,
    seen_order: VecDeque<String>,
    next_key: u64,
}

const REMEMBER_EXECUTIONS: usize = 4096;
const REMEMBER_FINISHED: usize = 256;

impl WorkingOrders {
    /// True when the fill `exec_id` is remembered (another event of it is a duplicate).
    pub(crate) fn remembered(&self, exec_id: &str) -> bool {
        self.seen_execs.contains(exec_id)
    }

    /// Remembers the fill `exec_id`; false when it was remembered already. A progressive grid
    /// remembers only the fills it applied (one of an order it does not track counts when it
    /// comes again); a classic grid every fill of its own (it applies them all to its
    /// inventory, tracked or not).
    pub(crate) fn remember(&mut self, exec_id: &str) -> bool {
        if !self.seen_execs.insert(exec_id.to_owned()) {
            return false;
        }
        self.seen_order.push_back(exec_id.to_owned());
        if self.seen_order.len() > REMEMBER_EXECUTIONS
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen_execs.remove(&old);
        }
        true
    }

    pub(crate) fn index(&self, link_id: &str) -> Option<usize> {
        self.list.iter().position(|w| w.link_id.as_str() == link_id)
    }

    pub(crate) fn finished_role(&self, link_id: &str) -> Option<(Leg, OrderRole)> {
        self.finished.iter().find(|(id, _, _)| id == link_id).map(|(_, leg, role)| (*leg, *role))
    }

    pub(crate) fn add(&mut self, mut w: WorkingOrder) {
        self.next_key += 1;
        w.key = self.next_key;
        self.list.push(w);
    }

    /// Removes order `i`, remembering it as finished.
    pub(crate) fn finish(&mut self, i: usize) -> WorkingOrder {
        let w = self.list.remove(i);
        self.finished.push_back((w.link_id.as_str().to_owned(), w.tag.leg, w.tag.role));
        if self.finished.len() > REMEMBER_FINISHED {
            self.finished.pop_front();
        }
        w
    }

    /// Moves order `i` on by `event`; returns it when it ended (and left the list).
    pub(crate) fn on(&mut self, i: usize, event: OrderEvent, now_ms: i64) -> Option<WorkingOrder> {
        match self.list[i].on(event, now_ms) {
            Step::Ended => Some(self.finish(i)),
            Step::Live(_) => None,
        }
    }

    pub(crate) fn leg(&self, leg: Leg) -> impl Iterator<Item = &WorkingOrder> {
        self.list.iter().filter(move |w| w.tag.leg == leg)
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    /// True while a `side` PostOnly refusal against a stale book holds (without consuming it).
    pub(crate) fn stale_book_holds(&self, side: Side, market: &MarketView) -> bool {
        self.stale_book.would_hold(side, market)
    }

    /// An order unexplained for longer than [`UNEXPLAINED_MS`] at `now_ms`, if any.
    pub(crate) fn unexplained(&self, now_ms: i64) -> Option<&WorkingOrder> {
        self.list.iter().find(|w| w.state.unexplained_since().is_some_and(|t| now_ms - t >= UNEXPLAINED_MS))
    }
}

/// Whether a failed place may still have reached the exchange (and so might exist).
#[must_use]
pub(crate) fn may_exist(action: ErrorAction) -> bool {
    matches!(action, ErrorAction::Retry | ErrorAction::BackOffUntil(_) | ErrorAction::ResyncClock)
}
