//! The progressive grid (DESIGN §4): per leg, flat → balance (entry) order at the touch →
//! level 0: take-profit + the protective order of level 1 → each protective fill: one level
//! deeper, the take-profit moves to the new average (cancel, then place) and the next
//! protective goes out → take-profit filled: flat, the leg's cycle number increments, and the
//! cycle's remaining orders are cancelled.
//!
//! Decisions:
//! - The plan (`GridPlan`) is locked: prices and sizes come from it and the cycle's anchor, the
//!   average fill price of the balance order (as the level analyzer computes it, so a recovery
//!   finds the same orders in place).
//! - The balance order rests at the best bid (long) or ask (short), PostOnly, and follows the
//!   market only when it is more than `balance_reprice` away, to spare the rate limit.
//! - A partial fill freezes the leg: nothing of the leg changes until the order completes, the
//!   exchange ends it, or `partial_fill_timeout_ms` passes — then the rest is cancelled and the
//!   leg moves on with what filled.
//! - Risk: a halt sends nothing (the kill switch cancels everything first); a risk close cancels
//!   the leg's orders and closes it at market, reduce-only; blocked actions are not placed, and
//!   resting orders of a blocked action are cancelled — except balance orders under L1, which
//!   the decision re-prices to 0.01% from the market instead.
//! - An event the strategy cannot explain (a fill of an order it does not track, an exit larger
//!   than the leg) asks the account to reconcile the symbol with the exchange instead of
//!   guessing.

use gridbot_core::{
    Decimal, ExecType, Instrument, Leg, Order, OrderLinkId, OrderRequest, OrderRole, OrderStatus, Price, Qty, Symbol,
    TimeInForce,
};
use gridbot_grid::GridPlan;
use gridbot_recovery::LinkTag;
use gridbot_risk::{LegPair, OrderView, RiskLevel};
use gridbot_state::{LegState, SymbolState};

use super::orders::{NonceSource, OrderBook, UNEXPLAINED_TICKS, Working, may_exist};
use super::{Applied, Ctx, MarketView, Note, Strategy, StrategyEvent, StrategyStats};
use crate::command::{Command, Outcome};

/// Knobs of the progressive workflow that are not part of the locked plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressiveSettings {
    /// Re-place a resting balance order when the touch is more than this fraction away.
    pub balance_reprice: Decimal,
    /// How long a partial fill may freeze a leg, ms.
    pub partial_fill_timeout_ms: i64,
}

impl Default for ProgressiveSettings {
    fn default() -> Self {
        Self { balance_reprice: Decimal::new(1, 3), partial_fill_timeout_ms: 60_000 }
    }
}

/// One leg's cycle.
#[derive(Debug, Clone, PartialEq)]
struct LegRt {
    leg: Leg,
    cycle: u32,
    level: Option<u32>,
    anchor: Option<Price>,
    size: Qty,
    /// Average entry, exact to 16 places.
    avg: Option<Decimal>,
    level0_qty: Decimal,
    level0_value: Decimal,
    frozen_since: Option<i64>,
    closing: Option<RiskLevel>,
}

impl LegRt {
    fn new(leg: Leg) -> Self {
        Self {
            leg,
            cycle: 1,
            level: None,
            anchor: None,
            size: Qty::ZERO,
            avg: None,
            level0_qty: Decimal::ZERO,
            level0_value: Decimal::ZERO,
            frozen_since: None,
            closing: None,
        }
    }

    fn from_state(leg: Leg, s: &LegState) -> Self {
        Self {
            leg,
            cycle: s.cycle.max(1),
            level: s.level.filter(|_| !s.size.is_zero()),
            anchor: s.anchor,
            size: s.size,
            avg: s.avg_entry.map(Price::as_decimal).filter(|_| !s.size.is_zero()),
            level0_qty: Decimal::ZERO,
            level0_value: Decimal::ZERO,
            frozen_since: None,
            closing: None,
        }
    }

    fn state(&self) -> LegState {
        LegState {
            cycle: self.cycle,
            level: self.level,
            anchor: self.anchor,
            avg_entry: self.avg_price(),
            size: self.size,
        }
    }

    fn avg_price(&self) -> Option<Price> {
        self.avg.and_then(|a| Price::new(a.round_dp(8)).ok())
    }

    fn is_open(&self) -> bool {
        !self.size.is_zero()
    }

    fn add_entry(&mut self, price: Price, qty: Qty, balance: bool) {
        let (p, q, s) = (price.as_decimal(), qty.as_decimal(), self.size.as_decimal());
        let total = s + q;
        if !total.is_zero() {
            let value = self.avg.unwrap_or(Decimal::ZERO) * s + p * q;
            self.avg = value.checked_div(total).map(|a| a.round_dp(16));
        }
        self.size = Qty::new(total).unwrap_or(self.size);
        if balance {
            self.level0_qty += q;
            self.level0_value += p * q;
        }
    }

    /// Returns false when the exit is larger than the leg.
    fn add_exit(&mut self, qty: Qty) -> bool {
        match self.size.checked_sub(qty) {
            Some(rest) => {
                self.size = rest;
                true
            }
            None => {
                self.size = Qty::ZERO;
                false
            }
        }
    }

    fn close_cycle(&mut self) -> u32 {
        let ended = self.cycle;
        *self = Self { cycle: self.cycle.saturating_add(1), ..Self::new(self.leg) };
        ended
    }
}

/// What a leg wants resting.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Want {
    role: OrderRole,
    level: u32,
    request: OrderRequest,
    tag: LinkTag,
}

/// The progressive grid on one symbol, both legs.
#[derive(Debug)]
pub struct ProgressiveGrid {
    account_tag: String,
    instrument: Instrument,
    plan: GridPlan,
    settings: ProgressiveSettings,
    legs: [LegRt; 2],
    book: OrderBook,
    nonces: NonceSource,
    /// The kill switch's cancel-all went out for the current halt.
    halted_cancel_sent: bool,
    stats: StrategyStats,
}

const fn li(leg: Leg) -> usize {
    match leg {
        Leg::Long => 0,
        Leg::Short => 1,
    }
}

impl ProgressiveGrid {
    /// A fresh strategy (both legs flat, cycle 1) with a locked `plan`.
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
            legs: [LegRt::new(Leg::Long), LegRt::new(Leg::Short)],
            book: OrderBook::default(),
            nonces,
            halted_cancel_sent: false,
            stats: StrategyStats::default(),
        }
    }

    /// The locked plan.
    #[must_use]
    pub fn plan(&self) -> &GridPlan {
        &self.plan
    }

    /// The orders it believes are working.
    #[must_use]
    pub fn working(&self) -> &[Working] {
        &self.book.working
    }

    fn leg(&self, leg: Leg) -> &LegRt {
        &self.legs[li(leg)]
    }

    fn on_execution(&mut self, e: &gridbot_core::Execution, now_ms: i64) -> Applied {
        let mut applied = Applied::default();
        if e.exec_type != ExecType::Trade || !self.book.first_sight(&e.exec_id) {
            return applied;
        }
        let Some(i) = self.book.index(&e.order_link_id) else {
            return self.untracked_fill(e);
        };
        self.stats.fills += 1;
        applied.filled = true;
        let (leg, role) = (self.book.working[i].tag.leg, self.book.working[i].tag.role);
        self.book.working[i].filled = self.book.working[i].filled.checked_add(e.exec_qty).unwrap_or(e.exec_qty);
        applied.realised_pnl = self.realised(leg, role, e.exec_price, e.exec_qty);
        let exceeded = !self.apply_qty(leg, role, e.exec_price, e.exec_qty);
        if exceeded {
            applied.reconcile = Some(format!("{}: exit {} larger than the {leg:?} leg", e.order_link_id, e.exec_qty));
        }
        let cycle = self.book.working[i].tag.cycle;
        if cycle != self.leg(leg).cycle {
            // An order of a cycle that already ended filled before its cancel: the position
            // no longer matches any workflow state; the exchange's history tells what it is.
            applied.reconcile = Some(format!("{} of the ended cycle {cycle} filled", e.order_link_id));
        }
        let w = &self.book.working[i];
        let done = w.is_filled() || w.ended_with.is_some_and(|q| w.filled >= q);
        if done {
            let w = self.book.finish(i);
            self.complete(&w, &mut applied);
        } else {
            self.legs[li(leg)].frozen_since.get_or_insert(now_ms);
        }
        applied
    }

    /// A fill of an order we no longer (or never) tracked.
    fn untracked_fill(&mut self, e: &gridbot_core::Execution) -> Applied {
        let mut applied = Applied::default();
        let Ok(tag) = LinkTag::decode(&e.order_link_id) else { return applied };
        if tag.account != self.account_tag {
            return applied;
        }
        applied.filled = true;
        self.stats.fills += 1;
        match self.book.finished_role(&e.order_link_id) {
            // A late fill of an order we ended: its size still counts.
            Some((leg, role)) => {
                applied.realised_pnl = self.realised(leg, role, e.exec_price, e.exec_qty);
                if !self.apply_qty(leg, role, e.exec_price, e.exec_qty) {
                    applied.reconcile = Some(format!("late fill of {} exceeds the leg", e.order_link_id));
                }
            }
            None => applied.reconcile = Some(format!("fill of untracked order {}", e.order_link_id)),
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
        Some(match leg {
            Leg::Long => (p - avg) * q,
            Leg::Short => (avg - p) * q,
        })
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
    fn complete(&mut self, w: &Working, applied: &mut Applied) {
        let l = &mut self.legs[li(w.tag.leg)];
        if l.frozen_since.is_some() && !self.book.leg(w.tag.leg).any(|o| !o.filled.is_zero()) {
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
                if let Some(a) = l.level0_value.checked_div(l.level0_qty) {
                    l.anchor = Price::new(a.round_dp(8)).ok().or(l.anchor);
                }
            }
            OrderRole::Protective => {
                if l.anchor.is_none() {
                    applied.reconcile = Some(format!("{} filled on a leg without an anchor", w.link_id));
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
                    l.closing = None;
                }
            }
            OrderRole::ClassicLevel => {}
        }
    }

    fn on_order(&mut self, o: &Order) -> Applied {
        let mut applied = Applied::default();
        let Some(i) = self.book.index(&o.order_link_id) else { return applied };
        let w = &mut self.book.working[i];
        if !o.order_id.is_empty() {
            w.order_id = Some(o.order_id.clone());
        }
        w.uncertain_since = None;
        let ended = matches!(o.status, OrderStatus::Cancelled | OrderStatus::Rejected | OrderStatus::Deactivated);
        if ended {
            w.ended_with = Some(o.cum_exec_qty);
            if w.filled >= o.cum_exec_qty {
                let w = self.book.finish(i);
                self.complete(&w, &mut applied);
            }
        }
        applied
    }

    fn on_outcome(&mut self, outcome: &Outcome) -> Applied {
        let mut applied = Applied::default();
        match outcome {
            Outcome::Placed { link_id, order_id } => {
                if let Some(i) = self.book.index(link_id.as_str()) {
                    let w = &mut self.book.working[i];
                    w.order_id = Some(order_id.clone());
                    w.uncertain_since = None;
                }
            }
            Outcome::PlaceFailed { link_id, error } => {
                if let Some(i) = self.book.index(link_id.as_str()) {
                    if may_exist(error.action()) {
                        self.book.working[i].uncertain_since = Some(self.book.ticks);
                    } else {
                        let w = self.book.finish(i);
                        if w.tag.role == OrderRole::Close {
                            self.legs[li(w.tag.leg)].closing = None;
                        }
                        if error.action() == gridbot_core::ErrorAction::Reconcile {
                            applied.reconcile = Some(format!("placing {link_id}: {error}"));
                        }
                    }
                }
            }
            Outcome::PlaceSkipped { link_id } => {
                if let Some(i) = self.book.index(link_id.as_str()) {
                    let w = self.book.finish(i);
                    if w.tag.role == OrderRole::Close {
                        self.legs[li(w.tag.leg)].closing = None;
                    }
                }
            }
            Outcome::Cancelled { link_id } => {
                if let Some(i) = self.book.index(link_id.as_str()) {
                    let w = self.book.finish(i);
                    self.complete(&w, &mut applied);
                }
            }
            Outcome::CancelFailed { link_id, .. } => {
                if let Some(i) = self.book.index(link_id.as_str()) {
                    let w = &mut self.book.working[i];
                    w.cancel_sent = false;
                    w.cancel_failed_since.get_or_insert(self.book.ticks);
                }
            }
            Outcome::CancelledAll { .. } => {
                while !self.book.working.is_empty() {
                    let w = self.book.finish(0);
                    self.complete(&w, &mut applied);
                }
            }
            Outcome::CancelAllFailed { symbol, error } => {
                applied.reconcile = Some(format!("cancel-all on {symbol}: {error}"));
            }
        }
        applied
    }

    fn on_timer(&mut self) -> Applied {
        let stuck = self.book.tick().map(|w| format!("{} unexplained for {UNEXPLAINED_TICKS} s", w.link_id));
        Applied { reconcile: stuck, ..Applied::default() }
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
    fn wants(&mut self, leg: Leg, market: &MarketView) -> Vec<Want> {
        let l = self.leg(leg).clone();
        let symbol = self.instrument.symbol().clone();
        let mut out = Vec::new();
        let idx = leg.position_idx();
        if !l.is_open() {
            let touch = match leg {
                Leg::Long => market.bid,
                Leg::Short => market.ask,
            };
            let qty = self.plan.quantities().first().copied().unwrap_or(Qty::ZERO);
            if let Some(price) = touch {
                let tag = self.new_tag(leg, OrderRole::Balance, 0);
                if let Ok(id) = tag.encode() {
                    let request =
                        OrderRequest::limit(symbol, leg.entry_side(), qty, price, TimeInForce::PostOnly, idx, id);
                    out.push(Want { role: OrderRole::Balance, level: 0, request, tag });
                }
            }
            return out;
        }
        let level = l.level.unwrap_or(0);
        if let Some(avg) = l.avg_price()
            && let Ok(tp) = self.plan.take_profit_price(leg, avg, &self.instrument)
        {
            let tag = self.new_tag(leg, OrderRole::TakeProfit, level);
            if let Ok(id) = tag.encode() {
                let request =
                    OrderRequest::limit(symbol.clone(), leg.exit_side(), l.size, tp, TimeInForce::Gtc, idx, id)
                        .reduce_only();
                out.push(Want { role: OrderRole::TakeProfit, level, request, tag });
            }
        }
        if let (Some(level), Some(anchor)) = (l.level, l.anchor)
            && level < self.plan.max_level()
        {
            let next = level + 1;
            let qty = self.plan.quantities().get(next as usize).copied();
            if let (Ok(price), Some(qty)) = (self.plan.level_price(leg, anchor, next, &self.instrument), qty) {
                let tag = self.new_tag(leg, OrderRole::Protective, next);
                if let Ok(id) = tag.encode() {
                    let request =
                        OrderRequest::limit(symbol, leg.entry_side(), qty, price, TimeInForce::PostOnly, idx, id);
                    out.push(Want { role: OrderRole::Protective, level: next, request, tag });
                }
            }
        }
        out
    }

    /// Does resting order `w` already do what `want` asks?
    fn satisfies(&self, w: &Working, want: &Want) -> bool {
        let cycle = self.leg(w.tag.leg).cycle;
        if w.tag.role != want.role || w.tag.level != want.level || w.tag.cycle != cycle || w.qty != want.request.qty {
            return false;
        }
        match (w.price, want.request.price) {
            (Some(have), Some(target)) if want.role == OrderRole::Balance => {
                let gap = have.diff(target).abs();
                gap.checked_div(target.as_decimal()).is_some_and(|g| g <= self.settings.balance_reprice)
            }
            (have, target) => have == target,
        }
    }

    fn place(&mut self, want: Want, after_cancel: Option<OrderLinkId>, out: &mut Vec<Command>) {
        self.book.add(Working::new(&want.request, want.tag.clone()));
        self.stats.orders_placed += 1;
        out.push(Command::Place { request: want.request, tag: want.tag, after_cancel });
    }

    fn cancel(&mut self, i: usize, out: &mut Vec<Command>) -> OrderLinkId {
        let w = &mut self.book.working[i];
        w.cancel_sent = true;
        out.push(Command::Cancel { symbol: self.instrument.symbol().clone(), link_id: w.link_id.clone() });
        w.link_id.clone()
    }

    fn leg_commands(&mut self, leg: Leg, ctx: &Ctx<'_>, out: &mut Vec<Command>) {
        let d = ctx.decision;
        let l = self.leg(leg).clone();
        // A partial fill freezes the leg until the order ends or the timeout passes.
        if let Some(since) = l.frozen_since {
            if ctx.now_ms - since >= self.settings.partial_fill_timeout_ms
                && let Some(i) = self
                    .book
                    .working
                    .iter()
                    .position(|w| w.tag.leg == leg && !w.filled.is_zero() && !w.is_filled() && !w.cancel_sent)
            {
                self.cancel(i, out);
            }
            return;
        }
        if self.book.leg(leg).any(|w| w.cancel_sent || w.tag.role == OrderRole::Close) {
            return; // wait for cancels and closes to be answered
        }
        if let Some(level) = d.legs.get(leg).close
            && l.is_open()
        {
            for i in (0..self.book.working.len()).rev() {
                if self.book.working[i].tag.leg == leg {
                    self.cancel(i, out);
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
                self.legs[li(leg)].closing = Some(level);
                self.place(Want { role: OrderRole::Close, level: tag.level, request, tag }, None, out);
            }
            return;
        }
        let mut wants = self.wants(leg, ctx.market);
        // Blocked actions are not wanted: resting orders of theirs are cancelled below.
        wants.retain(|w| d.permits(leg, w.role).is_ok());
        // A role whose cancel failed waits until its order's fate is known.
        let unresolved: Vec<OrderRole> =
            self.book.leg(leg).filter(|w| w.cancel_failed_since.is_some()).map(|w| w.tag.role).collect();
        wants.retain(|w| !unresolved.contains(&w.role));
        // Risk re-prices (L1) of resting balance orders: cancel, then place at the new price.
        let mut repriced: Vec<u64> = Vec::new();
        for r in d.reprices.iter().filter(|r| r.leg == leg) {
            let Some(i) = self.book.working.iter().position(|w| w.key == r.key) else { continue };
            let w = self.book.working[i].clone();
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
            let cancelled = self.cancel(i, out);
            self.place(Want { role: w.tag.role, level: w.tag.level, request, tag }, Some(cancelled), out);
            repriced.push(w.key);
        }
        // Keep what is in place; cancel what is not wanted (unless L1 keeps and re-prices it).
        let mut replaced: Vec<(OrderRole, OrderLinkId)> = Vec::new();
        let mut i = 0;
        while i < self.book.working.len() {
            let w = &self.book.working[i];
            if w.tag.leg != leg || w.cancel_sent || w.cancel_failed_since.is_some() || repriced.contains(&w.key) {
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
            let id = self.cancel(i, out);
            replaced.push((role, id));
            i += 1;
        }
        for want in wants {
            let permitted = match want.request.time_in_force {
                TimeInForce::PostOnly => d
                    .permits_post_only(
                        leg,
                        want.role,
                        want.request.side,
                        want.request.price.unwrap_or(Price::ZERO),
                        ctx.market.bid,
                        ctx.market.ask,
                    )
                    .is_ok(),
                _ => d.permits(leg, want.role).is_ok(),
            };
            if !permitted {
                continue;
            }
            // A replacement waits for the cancel of the order it replaces.
            let after = replaced.iter().find(|(role, _)| *role == want.role).map(|(_, id)| id.clone());
            self.place(want, after, out);
        }
    }
}

impl Strategy for ProgressiveGrid {
    fn symbol(&self) -> &Symbol {
        self.instrument.symbol()
    }

    fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    fn apply(&mut self, event: StrategyEvent<'_>, now_ms: i64) -> Applied {
        match event {
            StrategyEvent::Execution(e) => self.on_execution(e, now_ms),
            StrategyEvent::Order(o) => self.on_order(o),
            StrategyEvent::Outcome(o) => self.on_outcome(o),
            StrategyEvent::Timer => self.on_timer(),
        }
    }

    fn commands(&mut self, ctx: &Ctx<'_>) -> Vec<Command> {
        let mut out = Vec::new();
        if ctx.decision.halt.is_some() {
            if ctx.decision.cancel_all && !self.halted_cancel_sent {
                self.halted_cancel_sent = true;
                out.push(Command::CancelAll { symbol: self.instrument.symbol().clone() });
            }
            return out;
        }
        self.halted_cancel_sent = false;
        for leg in Leg::BOTH {
            self.leg_commands(leg, ctx, &mut out);
        }
        out
    }

    fn risk_legs(&self) -> LegPair<(Option<u32>, Vec<OrderView>)> {
        let view = |leg: Leg| {
            let l = self.leg(leg);
            (l.level.filter(|_| l.is_open()), self.book.leg(leg).filter_map(Working::view).collect())
        };
        LegPair { long: view(Leg::Long), short: view(Leg::Short) }
    }

    fn max_level(&self) -> u32 {
        self.plan.max_level()
    }

    fn state(&self) -> SymbolState {
        SymbolState {
            plan: Some(self.plan.clone()),
            long: self.legs[0].state(),
            short: self.legs[1].state(),
            risk: LegPair::default(),
            orders: self.book.working.iter().map(Working::tracked).collect(),
            classic: None,
        }
    }

    fn restore(&mut self, state: &SymbolState) {
        self.legs = [LegRt::from_state(Leg::Long, &state.long), LegRt::from_state(Leg::Short, &state.short)];
        self.book.clear();
        for w in state.orders.iter().filter_map(Working::from_tracked) {
            self.book.add(w);
        }
        for l in &self.legs {
            if let Some(level) = l.level {
                self.stats.max_level = self.stats.max_level.max(level);
            }
        }
    }

    fn is_progressive(&self) -> bool {
        true
    }

    fn leg_sizes(&self) -> LegPair<Qty> {
        LegPair { long: self.legs[0].size, short: self.legs[1].size }
    }

    fn settling(&self) -> bool {
        self.legs.iter().any(|l| l.frozen_since.is_some() || l.closing.is_some())
            || self.book.working.iter().any(|w| !w.filled.is_zero() || w.cancel_sent || w.uncertain_since.is_some())
    }

    fn stats(&self) -> StrategyStats {
        self.stats
    }
}

#[cfg(test)]
#[path = "progressive_tests.rs"]
mod tests;
