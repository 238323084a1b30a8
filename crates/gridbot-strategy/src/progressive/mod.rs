//! The progressive grid: per leg, flat → balance (entry) order at the touch → level 0:
//! take-profit + the protective order of level 1 → each protective fill: one level deeper, the
//! take-profit moves to the new average (cancel, then place) and the next protective goes out →
//! take-profit filled: flat, the leg's cycle number increments, and the cycle's remaining
//! orders are cancelled.
//!
//! Decisions:
//! - The plan (`GridPlan`) is locked: prices and sizes come from it and the cycle's anchor, the
//!   average fill price of the balance order (as the level analyzer computes it, so a recovery
//!   finds the same orders in place). Which orders a leg needs is gridbot-grid's
//!   `desired_orders`, the same answer recovery uses.
//! - The balance order rests at the best bid (long) or ask (short), PostOnly, and follows the
//!   market only when it is more than `balance_reprice` away, to spare the rate limit.
//! - A partial fill freezes the leg: nothing of the leg changes until the order completes, the
//!   exchange ends it, or `partial_fill_timeout_ms` passes — then the rest is cancelled and the
//!   leg moves on with what filled.
//! - Risk: a halt sends nothing (the kill switch cancels everything first); a risk close cancels
//!   the leg's orders and closes it at market, reduce-only; blocked actions are not placed, and
//!   resting orders of a blocked action are cancelled — except balance orders under L1, which
//!   the decision re-prices to 0.01% from the market instead.
//! - An event the grid cannot explain (a fill of an order it does not track, an exit larger
//!   than the leg) asks the core to reconcile the symbol with the exchange instead of guessing.

mod funding;
mod leg;

use gridbot_core::{
    Decimal, ExecType, Execution, Instrument, Leg, Order, OrderLinkId, OrderRequest, OrderRole, OrderStatus, Price,
    Qty, RejectReason, TimeInForce,
};
use gridbot_grid::{DesiredOrder, GridPlan, desired_orders};
use gridbot_recovery::{LinkTag, NonceSource};
use gridbot_risk::{LegPair, OrderView, RiskLevel};
use gridbot_state::SymbolState;

pub use self::funding::{FundingGuard, FundingView};
use self::leg::LegCycle;
use crate::command::{Command, Outcome};
use crate::grid::{Applied, Calm, DecisionContext, GridEvent, Note, StrategyStats};
use crate::lifecycle::{OrderEvent, OrderState};
use crate::market::MarketView;
use crate::reasons::ReconcileReason;
use crate::working::{WorkingOrder, WorkingOrders, may_exist};

/// Knobs of the progressive workflow that are not part of the locked plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressiveSettings {
    /// Re-place a resting balance order when the touch is more than this fraction away.
    pub balance_reprice: Decimal,
    /// How long a partial fill may freeze a leg, ms.
    pub partial_fill_timeout_ms: i64,
    /// The funding guard (off by default).
    pub funding_guard: FundingGuard,
    /// The take-profit in tranches instead of one order (off by default).
    pub take_profit_ladder: Option<gridbot_grid::TakeProfitLadder>,
    /// With a ladder: once a tranche has filled, the rest closes at market when the touch
    /// comes back to the average entry (a stop at break-even).
    pub break_even_stop: bool,
}

impl Default for ProgressiveSettings {
    fn default() -> Self {
        Self {
            balance_reprice: Decimal::new(1, 3),
            partial_fill_timeout_ms: 60_000,
            funding_guard: FundingGuard::default(),
            take_profit_ladder: None,
            break_even_stop: false,
        }
    }
}

/// An order a leg wants resting, with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WantedOrder {
    role: OrderRole,
    level: u32,
    request: OrderRequest,
    tag: LinkTag,
}

/// The progressive grid on one symbol, both legs.
#[derive(Debug, Clone)]
pub struct ProgressiveGrid {
    account_tag: String,
    instrument: Instrument,
    plan: GridPlan,
    settings: ProgressiveSettings,
    legs: [LegCycle; 2],
    orders: WorkingOrders,
    nonces: NonceSource,
    /// The kill switch's cancel-all went out for the current halt.
    halted_cancel_sent: bool,
    /// The predicted funding rate and next settlement, once heard.
    funding: Option<FundingView>,
    /// What deciding found worth saying (drained with the commands).
    notes: Vec<Note>,
    stats: StrategyStats,
}

const fn li(leg: Leg) -> usize {
    match leg {
        Leg::Long => 0,
        Leg::Short => 1,
    }
}

impl ProgressiveGrid {
    /// A fresh grid (both legs flat, cycle 1) with a locked `plan`; its orderLinkId nonces
    /// start from the symbol and `now_ms`.
    #[must_use]
    pub fn new(
        account_tag: &str,
        instrument: Instrument,
        plan: GridPlan,
        settings: ProgressiveSettings,
        now_ms: i64,
    ) -> Self {
        let nonces = NonceSource::new(instrument.symbol(), now_ms);
        Self {
            account_tag: account_tag.to_owned(),
            instrument,
            plan,
            settings,
            legs: [LegCycle::new(Leg::Long), LegCycle::new(Leg::Short)],
            orders: WorkingOrders::default(),
            nonces,
            halted_cancel_sent: false,
            funding: None,
            notes: Vec::new(),
            stats: StrategyStats::default(),
        }
    }

    /// Takes the predicted funding rate and the next settlement; true when the grid's
    /// decisions depend on them (a funding guard is on) and they changed.
    pub fn set_funding(&mut self, view: FundingView) -> bool {
        let changed = self.funding != Some(view);
        self.funding = Some(view);
        changed && self.settings.funding_guard.is_on()
    }

    /// The instrument it trades.
    #[must_use]
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// The locked plan.
    #[must_use]
    pub fn plan(&self) -> &GridPlan {
        &self.plan
    }

    /// Its settings.
    #[must_use]
    pub fn settings(&self) -> &ProgressiveSettings {
        &self.settings
    }

    /// The account tag its orders carry.
    #[must_use]
    pub fn account_tag(&self) -> &str {
        &self.account_tag
    }

    /// The orders it believes are working.
    #[must_use]
    pub fn working(&self) -> &[WorkingOrder] {
        &self.orders.list
    }

    /// Its orderLinkId nonces (a recovery it asks for takes its ids from here too).
    pub fn nonces_mut(&mut self) -> &mut NonceSource {
        &mut self.nonces
    }

    fn leg(&self, leg: Leg) -> &LegCycle {
        &self.legs[li(leg)]
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: GridEvent<'_>, now_ms: i64) -> Applied {
        match event {
            GridEvent::Execution(e) => self.on_execution(e, now_ms),
            GridEvent::Order(o) => self.on_order(o, now_ms),
            GridEvent::Outcome(o) => self.on_outcome(o, now_ms),
            GridEvent::Timer => Applied {
                reconcile: self.orders.unexplained(now_ms).map(|w| ReconcileReason::Unexplained {
                    link_id: w.link_id.clone(),
                    for_ms: w.state.unexplained_since().map_or(0, |t| now_ms - t),
                }),
                ..Applied::default()
            },
        }
    }

    fn on_execution(&mut self, e: &Execution, now_ms: i64) -> Applied {
        let mut applied = Applied::default();
        if e.exec_type != ExecType::Trade {
            return applied;
        }
        if self.orders.remembered(&e.exec_id) {
            applied.duplicate = true;
            return applied;
        }
        let Some(i) = self.orders.index(&e.order_link_id) else {
            return self.untracked_fill(e);
        };
        self.orders.remember(&e.exec_id);
        self.stats.fills += 1;
        applied.filled = true;
        let tag = self.orders.list[i].tag.clone();
        let (leg, role) = (tag.leg, tag.role);
        applied.realised_pnl = self.realised(leg, role, e.exec_price, e.exec_qty);
        if !self.apply_qty(leg, role, e.exec_price, e.exec_qty) {
            applied.reconcile =
                Some(ReconcileReason::ExitExceedsLeg { link_id: e.order_link_id.clone(), qty: e.exec_qty, leg });
        }
        // A tranche of the take-profit ladder (its index is the id's level) has filled.
        if role == OrderRole::TakeProfit
            && self.settings.take_profit_ladder.is_some()
            && tag.cycle == self.leg(leg).cycle
            && self.leg(leg).is_open()
        {
            self.legs[li(leg)].tranches_filled |= 1u32.checked_shl(tag.level).unwrap_or(0);
        }
        if tag.cycle != self.leg(leg).cycle {
            // An order of a cycle that already ended filled before its cancel: the position
            // no longer matches any workflow state; the exchange's history tells what it is.
            applied.reconcile = Some(ReconcileReason::EndedCycleFilled {
                link_id: self.orders.list[i].link_id.clone(),
                cycle: tag.cycle,
            });
        }
        match self.orders.on(i, OrderEvent::Filled { qty: e.exec_qty }, now_ms) {
            Some(w) => self.complete(&w, &mut applied),
            None => {
                self.legs[li(leg)].frozen_since.get_or_insert(now_ms);
            }
        }
        applied
    }

    /// A fill of an order we no longer (or never) tracked.
    fn untracked_fill(&mut self, e: &Execution) -> Applied {
        let mut applied = Applied::default();
        let Ok(tag) = LinkTag::decode(&e.order_link_id) else { return applied };
        if tag.account != self.account_tag {
            return applied;
        }
        applied.filled = true;
        self.stats.fills += 1;
        match self.orders.finished_role(&e.order_link_id) {
            // A late fill of an order we ended: its size still counts.
            Some((leg, role)) => {
                self.orders.remember(&e.exec_id);
                applied.realised_pnl = self.realised(leg, role, e.exec_price, e.exec_qty);
                if !self.apply_qty(leg, role, e.exec_price, e.exec_qty) {
                    applied.reconcile = Some(ReconcileReason::LateFillExceedsLeg { link_id: e.order_link_id.clone() });
                }
            }
            None => applied.reconcile = Some(ReconcileReason::UntrackedFill { link_id: e.order_link_id.clone() }),
        }
        applied
    }

    /// The PnL an exit fill realises against the leg's average entry.
    fn realised(&self, leg: Leg, role: OrderRole, price: Price, qty: Qty) -> Option<Decimal> {
        if role.opens() {
            return None;
        }
        let avg = self.leg(leg).avg?;
        let (p, q) = (price.as_decimal(), qty.as_decimal());
        Some(gridbot_core::usdt(match leg {
            Leg::Long => (p - avg) * q,
            Leg::Short => (avg - p) * q,
        }))
    }

    /// Adds a fill to its leg; false when an exit exceeded the leg.
    fn apply_qty(&mut self, leg: Leg, role: OrderRole, price: Price, qty: Qty) -> bool {
        let l = &mut self.legs[li(leg)];
        if role.opens() {
            l.add_entry(price, qty, role == OrderRole::Balance);
            true
        } else {
            l.add_exit(qty)
        }
    }

    /// An order is over with `w.filled` filled: move the leg on.
    fn complete(&mut self, w: &WorkingOrder, applied: &mut Applied) {
        let still_partial = self.orders.leg(w.tag.leg).any(|o| !o.filled.is_zero());
        let l = &mut self.legs[li(w.tag.leg)];
        if l.frozen_since.is_some() && !still_partial {
            l.frozen_since = None;
        }
        if w.filled.is_zero() || w.tag.cycle != l.cycle {
            return; // nothing filled, or an ended cycle's order (reconciled by the caller)
        }
        match w.tag.role {
            OrderRole::Balance => {
                if l.level.is_none() {
                    l.level = Some(0);
                    applied.notes.push(Note::Opened { leg: l.leg, cycle: l.cycle });
                }
                if let Some(a) = l.balance_average() {
                    l.anchor = Price::new(a.round_dp(8)).ok().or(l.anchor);
                }
            }
            OrderRole::Protective => {
                if l.anchor.is_none() {
                    applied.reconcile = Some(ReconcileReason::NoAnchor { link_id: w.link_id.clone() });
                } else if l.level.is_none_or(|lv| w.tag.level > lv) {
                    l.level = Some(w.tag.level);
                    self.stats.max_level = self.stats.max_level.max(w.tag.level);
                    applied.notes.push(Note::LevelUp { leg: l.leg, level: w.tag.level });
                }
            }
            OrderRole::TakeProfit | OrderRole::Close => {
                if !l.is_open() {
                    let take_profit = w.tag.role == OrderRole::TakeProfit;
                    let cycle = l.close_cycle();
                    if take_profit {
                        self.stats.cycles += 1;
                    } else {
                        self.stats.risk_closes += 1;
                    }
                    applied.notes.push(Note::CycleClosed { leg: w.tag.leg, cycle, take_profit });
                } else if w.tag.role == OrderRole::Close {
                    l.closing = false;
                }
            }
            OrderRole::ClassicLevel => {}
        }
    }

    fn on_order(&mut self, o: &Order, now_ms: i64) -> Applied {
        let mut applied = Applied::default();
        let Some(i) = self.orders.index(&o.order_link_id) else { return applied };
        if o.reject_reason == RejectReason::PostOnlyWillTakeLiquidity {
            self.orders.stale_book.refused(o.side);
        }
        if !o.order_id.is_empty() {
            self.orders.list[i].order_id = Some(o.order_id.clone());
        }
        let ended = matches!(o.status, OrderStatus::Cancelled | OrderStatus::Rejected | OrderStatus::Deactivated);
        let event = OrderEvent::Updated { ended_with: ended.then_some(o.cum_exec_qty) };
        if let Some(w) = self.orders.on(i, event, now_ms) {
            self.complete(&w, &mut applied);
        }
        applied
    }

    /// A place that did not go out, or failed for good: a risk close is no longer in flight.
    fn dropped(&mut self, w: &WorkingOrder) {
        if w.tag.role == OrderRole::Close {
            self.legs[li(w.tag.leg)].closing = false;
        }
    }

    fn on_outcome(&mut self, outcome: &Outcome, now_ms: i64) -> Applied {
        let mut applied = Applied::default();
        match outcome {
            Outcome::Placed { link_id, order_id } => {
                if let Some(i) = self.orders.index(link_id.as_str()) {
                    self.orders.list[i].order_id = Some(order_id.clone());
                    self.orders.on(i, OrderEvent::Acknowledged, now_ms);
                }
            }
            Outcome::PlaceFailed { link_id, error } => {
                if let Some(i) = self.orders.index(link_id.as_str()) {
                    let event = OrderEvent::PlaceFailed { may_exist: may_exist(error.action()) };
                    if let Some(w) = self.orders.on(i, event, now_ms) {
                        self.dropped(&w);
                        if error.action() == gridbot_core::ErrorAction::Reconcile {
                            applied.reconcile = Some(ReconcileReason::PlaceRefused {
                                link_id: link_id.clone(),
                                error: Box::new(error.clone()),
                            });
                        }
                    }
                }
            }
            Outcome::PlaceSkipped { link_id } => {
                if let Some(i) = self.orders.index(link_id.as_str())
                    && let Some(w) = self.orders.on(i, OrderEvent::PlaceSkipped, now_ms)
                {
                    self.dropped(&w);
                }
            }
            Outcome::Cancelled { link_id } => {
                if let Some(i) = self.orders.index(link_id.as_str())
                    && let Some(w) = self.orders.on(i, OrderEvent::Cancelled, now_ms)
                {
                    self.complete(&w, &mut applied);
                }
            }
            Outcome::CancelFailed { link_id, .. } => {
                if let Some(i) = self.orders.index(link_id.as_str()) {
                    self.orders.on(i, OrderEvent::CancelFailed, now_ms);
                }
            }
            Outcome::CancelledAll { .. } => {
                while !self.orders.list.is_empty() {
                    let w = self.orders.finish(0);
                    self.complete(&w, &mut applied);
                }
            }
            Outcome::CancelAllFailed { error, .. } => {
                applied.reconcile = Some(ReconcileReason::CancelAllFailed { error: Box::new(error.clone()) });
            }
        }
        applied
    }

    fn new_tag(&mut self, leg: Leg, role: OrderRole, level: u32) -> LinkTag {
        LinkTag {
            account: self.account_tag.clone(),
            leg,
            cycle: self.legs[li(leg)].cycle,
            role,
            level,
            nonce: self.nonces.take(),
        }
    }

    /// The orders `leg` needs now (ignoring risk).
    fn wants(&self, leg: Leg, market: &MarketView) -> Vec<DesiredOrder> {
        let touch = match leg {
            Leg::Long => market.bid,
            Leg::Short => market.ask,
        };
        let position = self.leg(leg).position();
        let mut out = Vec::with_capacity(2);
        let ladder = self.settings.take_profit_ladder.as_ref();
        for wanted in desired_orders(&self.plan, leg, &position, touch, &self.instrument, ladder) {
            match wanted {
                Ok(w) => out.push(w),
                Err(e) => {
                    tracing::warn!(symbol = %self.instrument.symbol(), ?leg, error = %e, "an order the leg needs does not fit the instrument");
                }
            }
        }
        out
    }

    /// The order that carries out `want`, with a new id.
    fn wanted(&mut self, leg: Leg, want: &DesiredOrder) -> Option<WantedOrder> {
        let tag = self.new_tag(leg, want.role, want.level);
        let id = tag.encode().ok()?;
        let mut request = OrderRequest::limit(
            self.instrument.symbol().clone(),
            want.side,
            want.qty,
            want.price,
            want.time_in_force,
            leg.position_idx(),
            id,
        );
        if want.reduce_only {
            request = request.reduce_only();
        }
        Some(WantedOrder { role: want.role, level: want.level, request, tag })
    }

    /// Does resting order `w` already do what `want` asks?
    fn satisfies(&self, w: &WorkingOrder, want: &DesiredOrder) -> bool {
        let cycle = self.leg(w.tag.leg).cycle;
        if w.tag.role != want.role || w.tag.level != want.level || w.tag.cycle != cycle || w.qty != want.qty {
            return false;
        }
        match w.price {
            Some(have) if want.role == OrderRole::Balance => {
                let gap = have.diff(want.price).abs();
                gap.checked_div(want.price.as_decimal()).is_some_and(|g| g <= self.settings.balance_reprice)
            }
            have => have == Some(want.price),
        }
    }

    /// The touches at which a resting balance order at `have` still satisfies the leg: one tick
    /// inside `[have / (1 + r), have / (1 − r)]`, where `r` is `balance_reprice`.
    fn balance_band(&self, have: Price) -> (Price, Price) {
        let r = self.settings.balance_reprice;
        let tick = self.instrument.tick_size();
        let h = have.as_decimal();
        let lo = h.checked_div(Decimal::ONE + r).map_or(h, |x| x + tick);
        let hi = h.checked_div(Decimal::ONE - r).map_or(h, |x| x - tick);
        let price = |d: Decimal| Price::new(d.max(Decimal::ZERO)).unwrap_or(have);
        (price(lo.min(h)), price(hi.max(h)))
    }

    fn place(&mut self, want: WantedOrder, after_cancel: Option<OrderLinkId>, out: &mut Vec<Command>) {
        self.orders.add(WorkingOrder::new(&want.request, want.tag.clone()));
        self.stats.orders_placed += 1;
        out.push(Command::Place { request: want.request, tag: want.tag, after_cancel });
    }

    fn cancel(&mut self, i: usize, now_ms: i64, out: &mut Vec<Command>) -> OrderLinkId {
        self.orders.list[i].on(OrderEvent::CancelSent, now_ms);
        let link_id = self.orders.list[i].link_id.clone();
        out.push(Command::Cancel { symbol: self.instrument.symbol().clone(), link_id: link_id.clone() });
        link_id
    }

    fn leg_commands(&mut self, leg: Leg, ctx: &DecisionContext<'_>, calm: &mut Calm, out: &mut Vec<Command>) {
        let d = ctx.decision;
        let now = ctx.now_ms;
        let l = self.leg(leg).clone();
        // Orders in flight, partly filled or unexplained: their answers are due, not calm.
        if self.orders.leg(leg).any(|w| w.state != OrderState::Working) {
            calm.book_matters();
            calm.until(now);
        }
        // A partial fill freezes the leg until the order ends or the timeout passes.
        if let Some(since) = l.frozen_since {
            calm.until(since + self.settings.partial_fill_timeout_ms);
            if now - since >= self.settings.partial_fill_timeout_ms
                && let Some(i) =
                    self.orders.list.iter().position(|w| {
                        w.tag.leg == leg && !w.filled.is_zero() && !w.is_filled() && !w.state.cancel_sent()
                    })
            {
                self.cancel(i, now, out);
            }
            return;
        }
        if self.orders.leg(leg).any(|w| w.state.cancel_sent() || w.tag.role == OrderRole::Close) {
            return; // wait for cancels and closes to be answered
        }
        let guard = self.settings.funding_guard;
        let in_window = l.is_open() && funding::in_close_window(&guard, self.funding.as_ref(), leg, now);
        let funding_close =
            in_window && l.avg_price().is_some_and(|avg| funding::in_profit(leg, avg, ctx.market.bid, ctx.market.ask));
        if in_window {
            calm.book_matters(); // in the window, the close waits only for a profit
            calm.until(self.funding.map_or(now, |f| f.next_ms));
        } else if l.is_open()
            && let Some(opens) = funding::close_window_opens(&guard, self.funding.as_ref(), leg, now)
        {
            calm.until(opens);
        }
        if funding_close && let Some(view) = self.funding {
            self.notes.push(Note::FundingClose { leg, rate: view.rate, next_ms: view.next_ms });
        }
        // The stop at break-even of a leg on its way out (a tranche of its ladder filled).
        let stop_armed = self.settings.break_even_stop && l.is_open() && l.tranches_filled != 0;
        let break_even = stop_armed
            && !funding_close
            && l.avg_price().is_some_and(|avg| !funding::in_profit(leg, avg, ctx.market.bid, ctx.market.ask));
        if stop_armed && let Some(avg) = l.avg_price() {
            let tick = self.instrument.tick_size();
            let band = match leg {
                Leg::Long => (Price::new(avg.as_decimal() + tick).unwrap_or(avg), Price::MAX),
                Leg::Short => (Price::ZERO, Price::new((avg.as_decimal() - tick).max(Decimal::ZERO)).unwrap_or(avg)),
            };
            calm.narrow_touch(leg, band);
        }
        if break_even {
            self.notes.push(Note::BreakEvenStop { leg });
        }
        if (d.legs.get(leg).close.is_some() || funding_close || break_even) && l.is_open() {
            calm.until(now);
            for i in (0..self.orders.list.len()).rev() {
                if self.orders.list[i].tag.leg == leg {
                    self.cancel(i, now, out);
                }
            }
            let tag = self.new_tag(leg, OrderRole::Close, l.level.unwrap_or(0));
            if let Ok(id) = tag.encode() {
                let request = OrderRequest::market(
                    self.instrument.symbol().clone(),
                    leg.exit_side(),
                    l.size,
                    leg.position_idx(),
                    id,
                )
                .reduce_only();
                self.legs[li(leg)].closing = true;
                self.place(WantedOrder { role: OrderRole::Close, level: tag.level, request, tag }, None, out);
            }
            return;
        }
        let mut wants = self.wants(leg, ctx.market);
        // The funding guard: no new cycle on a leg that would pay more than allowed.
        if !l.is_open() && funding::blocks_opening(&guard, self.funding.as_ref(), leg) {
            wants.retain(|w| w.role != OrderRole::Balance);
        }
        // Blocked actions are not wanted: resting orders of theirs are cancelled below.
        wants.retain(|w| d.permits(leg, w.role).is_ok());
        // What the book may do before this leg's wants change: a flat leg's balance order
        // follows the touch; everything else rests at plan prices.
        if !l.is_open()
            && let Some(b) =
                self.orders.leg(leg).find(|w| w.tag.role == OrderRole::Balance && w.state == OrderState::Working)
            && let Some(have) = b.price
            && wants.iter().any(|w| self.satisfies(b, w))
        {
            let band = self.balance_band(have);
            calm.narrow_touch(leg, band);
        } else if !l.is_open() {
            calm.book_matters();
        }
        // A role whose cancel failed waits until its order's fate is known.
        let unresolved: Vec<OrderRole> =
            self.orders.leg(leg).filter(|w| w.state.cancel_rejected()).map(|w| w.tag.role).collect();
        wants.retain(|w| !unresolved.contains(&w.role));
        // Risk re-prices (L1) of resting balance orders: cancel, then place at the new price.
        let mut repriced: Vec<u64> = Vec::new();
        for r in d.reprices.iter().filter(|r| r.leg == leg) {
            let Some(i) = self.orders.list.iter().position(|w| w.key == r.key) else { continue };
            let w = self.orders.list[i].clone();
            let price = self.instrument.round_price(r.side, r.to);
            let tag = self.new_tag(leg, w.tag.role, w.tag.level);
            let Ok(id) = tag.encode() else { continue };
            let request = OrderRequest::limit(
                self.instrument.symbol().clone(),
                w.side,
                w.qty,
                price,
                TimeInForce::PostOnly,
                leg.position_idx(),
                id,
            );
            let cancelled = self.cancel(i, now, out);
            self.place(WantedOrder { role: w.tag.role, level: w.tag.level, request, tag }, Some(cancelled), out);
            repriced.push(w.key);
        }
        // Keep what is in place; cancel what is not wanted (unless L1 keeps and re-prices it).
        let mut replaced: Vec<(OrderRole, OrderLinkId)> = Vec::new();
        let mut i = 0;
        while i < self.orders.list.len() {
            let w = &self.orders.list[i];
            if w.tag.leg != leg || w.state.cancel_sent() || w.state.cancel_rejected() || repriced.contains(&w.key) {
                i += 1;
                continue;
            }
            if let Some(k) = wants.iter().position(|want| self.satisfies(w, want)) {
                wants.remove(k);
                i += 1;
                continue;
            }
            let keep_for_reprice = w.tag.role == OrderRole::Balance
                && d.legs.get(leg).blocked.balance == Some(RiskLevel::ImRateBlock)
                && d.halt.is_none();
            if keep_for_reprice {
                wants.retain(|want| want.role != OrderRole::Balance);
                i += 1;
                continue;
            }
            let role = w.tag.role;
            let id = self.cancel(i, now, out);
            replaced.push((role, id));
            i += 1;
        }
        for want in wants {
            let permitted = match want.time_in_force {
                TimeInForce::PostOnly if self.orders.stale_book.holds(want.side, ctx.market) => {
                    calm.book_matters(); // a newer top of the book lets it out
                    false
                }
                TimeInForce::PostOnly => {
                    let ok = d
                        .permits_post_only(leg, want.role, want.side, want.price, ctx.market.bid, ctx.market.ask)
                        .is_ok();
                    if !ok {
                        // Held back: nothing changes while it would still cross.
                        calm.while_crossing(want.side, want.price);
                    }
                    ok
                }
                _ => d.permits(leg, want.role).is_ok(),
            };
            if !permitted {
                continue;
            }
            let Some(wanted) = self.wanted(leg, &want) else { continue };
            // A replacement waits for the cancel of the order it replaces.
            let after = replaced.iter().find(|(role, _)| *role == want.role).map(|(_, id)| id.clone());
            self.place(wanted, after, out);
        }
    }

    /// What deciding found worth saying since the last call.
    pub fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }

    /// The commands that bring the orders to what the legs need.
    pub fn commands(&mut self, ctx: &DecisionContext<'_>) -> Vec<Command> {
        self.commands_calm(ctx).0
    }

    /// The commands, and how far the book and the clock may move before they could change
    /// (meaningful when there are none).
    pub fn commands_calm(&mut self, ctx: &DecisionContext<'_>) -> (Vec<Command>, Calm) {
        let mut out = Vec::new();
        let mut calm = Calm::unbounded();
        if ctx.decision.halt.is_some() {
            if ctx.decision.cancel_all && !self.halted_cancel_sent {
                self.halted_cancel_sent = true;
                out.push(Command::CancelAll { symbol: self.instrument.symbol().clone() });
            }
            return (out, calm);
        }
        self.halted_cancel_sent = false;
        self.orders.stale_book.deciding(ctx.market);
        for leg in Leg::BOTH {
            self.leg_commands(leg, ctx, &mut calm, &mut out);
        }
        // A funding guard decides again at each settlement (a new predicted rate comes then).
        if self.settings.funding_guard.is_on()
            && let Some(f) = self.funding
            && f.next_ms > ctx.now_ms
        {
            calm.until(f.next_ms);
        }
        (out, calm)
    }

    /// Each leg's level and open orders, for the risk snapshot.
    #[must_use]
    pub fn risk_legs(&self) -> LegPair<(Option<u32>, Vec<OrderView>)> {
        let view = |leg: Leg| {
            let l = self.leg(leg);
            (l.level.filter(|_| l.is_open()), self.orders.leg(leg).filter_map(WorkingOrder::view).collect())
        };
        LegPair { long: view(Leg::Long), short: view(Leg::Short) }
    }

    /// The state to persist.
    #[must_use]
    pub fn state(&self) -> SymbolState {
        SymbolState {
            plan: Some(self.plan.clone()),
            long: self.legs[0].state(),
            short: self.legs[1].state(),
            risk: LegPair::default(),
            orders: self.orders.list.iter().map(WorkingOrder::tracked).collect(),
            classic: None,
            classic_trigger: None,
        }
    }

    /// Replaces the state with a recovered one.
    pub fn restore(&mut self, state: &SymbolState) {
        self.legs = [LegCycle::from_state(Leg::Long, &state.long), LegCycle::from_state(Leg::Short, &state.short)];
        self.orders.clear();
        for w in state.orders.iter().filter_map(WorkingOrder::from_tracked) {
            self.orders.add(w);
        }
        for l in &self.legs {
            if let Some(level) = l.level {
                self.stats.max_level = self.stats.max_level.max(level);
            }
        }
    }

    /// Each leg's size as the grid believes it.
    #[must_use]
    pub fn leg_sizes(&self) -> LegPair<Qty> {
        LegPair { long: self.legs[0].size, short: self.legs[1].size }
    }

    /// Each leg's level while it is open.
    #[must_use]
    pub fn leg_levels(&self) -> LegPair<Option<u32>> {
        let level = |l: &LegCycle| l.level.filter(|_| l.is_open());
        LegPair { long: level(&self.legs[0]), short: level(&self.legs[1]) }
    }

    /// True while a leg waits on a partial fill, a close, a cancel or an unconfirmed place.
    #[must_use]
    pub fn settling(&self) -> bool {
        self.legs.iter().any(|l| l.frozen_since.is_some() || l.closing)
            || self.orders.list.iter().any(WorkingOrder::unsettled)
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> StrategyStats {
        self.stats
    }
}

#[cfg(test)]
mod tests;
