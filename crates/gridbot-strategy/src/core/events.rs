//! How the core reacts to each event.

use gridbot_core::{
    ErrorAction, ExecType, Execution, Leg, Order, OrderStatus, Position, PositionIdx, Qty, RejectReason, Symbol, Wallet,
};
use gridbot_risk::AccountView;
use gridbot_risk::{RiskLevel, calm_until, evaluate};

use super::{ALERT_REPEAT_MS, AccountCore, CoreEvent, DRIFT_GRACE_MS, EQUITY_EVERY_MS, Effect, Effects, MAX_ROUNDS};
use crate::command::Outcome;
use crate::grid::{Applied, Calm, DecisionContext, Grid, GridEvent, Note};
use crate::market::MarketView;
use crate::reasons::{RecentreReason, ReconcileReason};
use crate::reconcile::{ClassicSync, JobWork, ReconcileJob, ReconcileOutcome, Reconciled, positions_by_leg};
use crate::records::{Alert, AlertKind, EventKind, GridChange, JournalRecord};

/// The snapshot an [`Effect::SaveNow`] makes durable reflects this whole event (it is taken
/// when the effect is carried out, after `on_event` returned), so every journal row of the
/// event goes before it: a fill whose row came after (rows follow the orders a fill calls for)
/// could otherwise be on disk in the legs but not in the journal, and a kill right then left
/// the next start to journal it against legs that already reflect it — a classic rebuild's
/// closing fill with realised PnL 0 (found by the chaos runner). Rows keep their order.
fn journal_rows_before_durable(out: &mut Effects) {
    let Some(at) = out.iter().position(|e| matches!(e, Effect::SaveNow)) else { return };
    let (rows, rest): (Vec<Effect>, Vec<Effect>) = out.drain(at..).partition(|e| matches!(e, Effect::Record(_)));
    out.extend(rows);
    out.extend(rest);
}

/// An alert and the journal's event row, with the same words.
fn said(out: &mut Effects, alert_kind: AlertKind, kind: EventKind, symbol: Symbol, text: String, now: i64) {
    alert(out, alert_kind, Some(&symbol), text.clone());
    out.push(Effect::Record(JournalRecord::Event { at_ms: now, kind, symbol: Some(symbol), message: text }));
}

fn alert(out: &mut Effects, kind: AlertKind, symbol: Option<&Symbol>, text: String) {
    out.push(Effect::Alert(Alert { kind, symbol: symbol.cloned(), text }));
}

impl AccountCore {
    /// Folds one event in and returns what is due, in order.
    pub fn on_event(&mut self, event: CoreEvent, now_ms: i64) -> Effects {
        let mut out = Effects::new();
        // Anything but market data and time may change a decision: decide again.
        match &event {
            CoreEvent::Book { .. } | CoreEvent::Tick | CoreEvent::Funding { .. } => {}
            CoreEvent::Outcomes { symbol, .. } => self.unsettle(Some(symbol)),
            CoreEvent::Reconciled(r) => self.unsettle(Some(&r.symbol)),
            _ => self.unsettle(None),
        }
        match event {
            CoreEvent::Start => {
                for i in 0..self.symbols.len() {
                    if let Some(sync) = self.symbols[i].catch_up.take() {
                        self.catch_up(i, sync, now_ms, &mut out);
                    }
                    self.act(i, 1, now_ms, &mut out);
                }
            }
            CoreEvent::Executions(list) => self.on_executions(list, now_ms, &mut out),
            CoreEvent::Orders(list) => self.on_orders(list, now_ms, &mut out),
            CoreEvent::Positions(list) => self.on_positions(list, now_ms, &mut out),
            CoreEvent::Wallet(w) => self.on_wallet(w, now_ms, &mut out),
            CoreEvent::Book { symbol, bid, ask, ts_ms } => {
                if let Some(i) = self.slot_of(&symbol) {
                    let market = MarketView { bid, ask, ts_ms };
                    self.symbols[i].market = market;
                    let calm = self.symbols[i].calm.is_some_and(|c| now_ms < c.until_ms && c.holds_for(&market));
                    if calm {
                        self.work.skipped += 1;
                    } else {
                        self.act(i, 1, now_ms, &mut out);
                    }
                }
            }
            CoreEvent::Funding { symbol, rate, next_funding_ms } => {
                let view = crate::progressive::FundingView { rate, next_ms: next_funding_ms };
                if let Some(i) = self.slot_of(&symbol)
                    && self.symbols[i].grid.set_funding(view)
                {
                    self.unsettle(Some(&symbol));
                    self.act(i, 1, now_ms, &mut out);
                }
            }
            CoreEvent::Outcomes { symbol, round, outcomes } => {
                if let Some(i) = self.slot_of(&symbol) {
                    self.on_outcomes(i, round, &outcomes, now_ms, &mut out);
                }
            }
            CoreEvent::Reconciled(r) => self.on_reconciled(*r, now_ms, &mut out),
            CoreEvent::Tick => self.on_tick(now_ms, &mut out),
            CoreEvent::EmergencyStop { on, reason } => self.on_emergency_stop(on, reason.as_deref(), now_ms, &mut out),
            CoreEvent::Resume => self.on_resume(now_ms, &mut out),
            CoreEvent::Recentre { symbol, profile } => self.on_recentre(&symbol, profile, now_ms, &mut out),
            CoreEvent::ReconcileAll(reason) => {
                for i in 0..self.symbols.len() {
                    self.request_reconcile(i, reason.clone(), false, &mut out);
                }
            }
        }
        journal_rows_before_durable(&mut out);
        out
    }

    /// Fills first change the grids (and the risk memory's level-ups), then the orders they
    /// call for are due, and only then alerts and journal rows.
    fn on_executions(&mut self, list: Vec<Execution>, now: i64, out: &mut Effects) {
        let mut touched: Vec<usize> = Vec::new();
        let mut later: Vec<(usize, Applied)> = Vec::new();
        let mut rows = Vec::new();
        let mut filled = false;
        for e in list {
            let Some(i) = self.slot_of(&e.symbol) else { continue };
            let applied = self.symbols[i].grid.apply(GridEvent::Execution(&e), now);
            // A duplicated event of a fill already applied: the first one was journaled (or,
            // untracked, left for a reconciliation to journal with its PnL) — never a second
            // row without PnL that would also mark it heard.
            if applied.duplicate {
                continue;
            }
            // A fill of an order a progressive grid does not track has no PnL the grid could
            // tell: it stays unheard (and does not move the newest execution the legs reflect),
            // and the reconciliation it asks for (or, if that never runs, the next start)
            // journals it as a fill missed live — with its PnL. (A classic grid's catch-up
            // replays missed fills through this very path, so its fills keep being journaled.)
            let untracked = matches!(self.symbols[i].grid, Grid::Progressive(_))
                && matches!(applied.reconcile, Some(ReconcileReason::UntrackedFill { .. }));
            if !untracked {
                self.heard.note(&e);
            }
            filled |= applied.filled;
            if applied.filled && !untracked && self.last_execution.as_ref().is_none_or(|(_, t)| e.exec_time_ms >= *t) {
                self.last_execution = Some((e.exec_id.clone(), e.exec_time_ms));
            }
            self.remember_level_ups(i, &applied.notes, now);
            if !untracked {
                rows.push(JournalRecord::Execution { execution: Box::new(e), realised_pnl: applied.realised_pnl });
            }
            if !touched.contains(&i) {
                touched.push(i);
            }
            later.push((i, applied));
        }
        for &i in &touched {
            // A symbol about to be reconciled gets its orders from the reconciliation.
            if !later.iter().any(|(j, a)| *j == i && a.reconcile.is_some()) {
                self.act(i, 1, now, out);
            }
        }
        for (i, applied) in later {
            self.after_apply(i, applied, false, now, out);
        }
        out.extend(rows.into_iter().map(Effect::Record));
        if filled {
            out.push(Effect::Save);
        }
    }

    fn on_orders(&mut self, list: Vec<Order>, now: i64, out: &mut Effects) {
        let mut touched: Vec<usize> = Vec::new();
        let mut reconciling: Vec<usize> = Vec::new();
        for o in list {
            let Some(i) = self.slot_of(&o.symbol) else { continue };
            // Every refusal is said, with Bybit's reason (the journal keeps it with the order).
            let ended = matches!(o.status, OrderStatus::Cancelled | OrderStatus::Rejected);
            if ended && o.reject_reason != RejectReason::NoError {
                tracing::warn!(
                    account = %self.account_id,
                    symbol = %o.symbol,
                    order_link_id = %o.order_link_id,
                    side = o.side.as_str(),
                    price = %o.price.map_or_else(|| "market".to_owned(), |p| p.to_string()),
                    status = o.status.as_str(),
                    reject_reason = o.reject_reason.as_str(),
                    cancel_type = o.cancel_type.as_str(),
                    "the exchange refused an order"
                );
            }
            let applied = self.symbols[i].grid.apply(GridEvent::Order(&o), now);
            if applied.reconcile.is_some() {
                reconciling.push(i);
            }
            // A symbol reconciled here acts once the result is in.
            self.after_apply(i, applied, true, now, out);
            out.push(Effect::Record(JournalRecord::Order(Box::new(o))));
            if !touched.contains(&i) {
                touched.push(i);
            }
        }
        for i in touched {
            if !reconciling.contains(&i) {
                self.act(i, 1, now, out);
            }
        }
    }

    fn on_positions(&mut self, list: Vec<Position>, now: i64, out: &mut Effects) {
        let mut touched: Vec<usize> = Vec::new();
        for p in list {
            let Some(i) = self.slot_of(&p.symbol) else { continue };
            let leg = match p.position_idx {
                PositionIdx::Long => Leg::Long,
                PositionIdx::Short => Leg::Short,
                PositionIdx::OneWay => continue,
            };
            let changed = self.symbols[i].positions.get(leg).as_ref().is_none_or(|old| old.size != p.size);
            if changed {
                out.push(Effect::Record(JournalRecord::Position { position: Box::new(p.clone()), at_ms: now }));
            }
            self.symbols[i].set_position(leg, p);
            if !touched.contains(&i) {
                touched.push(i);
            }
        }
        for i in touched {
            self.check_drift(i, now);
            self.act(i, 1, now, out);
        }
    }

    fn on_wallet(&mut self, w: Wallet, now: i64, out: &mut Effects) {
        self.wallet_figures = Some(AccountView::from_wallet(&w, 0.0));
        self.wallet = Some(w);
        for i in 0..self.symbols.len() {
            self.act(i, 1, now, out);
        }
    }

    /// Applies a batch's outcomes; acts again (the next round) unless a reconciliation is due.
    fn on_outcomes(&mut self, i: usize, round: u8, outcomes: &[Outcome], now: i64, out: &mut Effects) {
        let symbol = self.symbols[i].symbol().clone();
        let mut reconcile = None;
        let mut notes = Vec::new();
        for outcome in outcomes {
            let applied = self.symbols[i].grid.apply(GridEvent::Outcome(outcome), now);
            reconcile = reconcile.or(applied.reconcile);
            notes.extend(applied.notes);
            if let Outcome::PlaceFailed { error, .. } = outcome
                && error.action() == ErrorAction::Fatal
            {
                alert(out, AlertKind::Error, Some(&symbol), format!("the exchange refused: {error}"));
            }
        }
        self.remember_level_ups(i, &notes, now);
        for note in notes {
            self.note(i, note, now, out);
        }
        if let Some(reason) = reconcile {
            self.request_reconcile(i, reason, false, out);
        } else if round < MAX_ROUNDS {
            self.act(i, round + 1, now, out);
        }
    }

    /// Once a second (live) or per simulated second (backtest): timeouts, drift, equity.
    fn on_tick(&mut self, now: i64, out: &mut Effects) {
        for i in 0..self.symbols.len() {
            let applied = self.symbols[i].grid.apply(GridEvent::Timer, now);
            let mut reason = applied.reconcile.clone();
            self.after_apply(i, Applied { reconcile: None, ..applied }, false, now, out);
            self.check_drift(i, now);
            let slot = &self.symbols[i];
            let stale = slot.drift_since.is_some_and(|t| now - t >= DRIFT_GRACE_MS);
            if reason.is_none() && stale && !slot.grid.settling() {
                reason = Some(ReconcileReason::PositionsDisagree);
            }
            match reason {
                Some(reason) => self.request_reconcile(i, reason, true, out),
                None if self.symbols[i].calm.is_some_and(|c| now < c.until_ms) => self.work.skipped += 1,
                None => self.act(i, 1, now, out),
            }
        }
        if now - self.last_equity_ms >= EQUITY_EVERY_MS
            && let Some(w) = &self.wallet
        {
            self.last_equity_ms = now;
            out.push(Effect::Record(JournalRecord::Equity { wallet: Box::new(w.clone()), at_ms: now }));
        }
    }

    fn on_emergency_stop(&mut self, on: bool, reason: Option<&str>, now: i64, out: &mut Effects) {
        if on == self.halted {
            return;
        }
        self.halted = on;
        let said = reason.map(str::trim).filter(|r| !r.is_empty()).map_or_else(String::new, |r| format!(" ({r})"));
        let text = if on {
            format!("emergency stop ON{said}: nothing will be sent until the flag is removed (gridbot resume)")
        } else {
            "emergency stop lifted: trading resumes".to_owned()
        };
        alert(out, AlertKind::EmergencyStop, None, text.clone());
        out.push(Effect::Record(JournalRecord::Event {
            at_ms: now,
            kind: EventKind::Operator,
            symbol: None,
            message: text,
        }));
        if !on {
            // Fills and cancels may have happened while nothing was sent: look again.
            for i in 0..self.symbols.len() {
                self.request_reconcile(i, ReconcileReason::EmergencyStopLifted, false, out);
            }
        }
    }

    fn on_resume(&mut self, now: i64, out: &mut Effects) {
        self.account_memory.kill_switch = None;
        for slot in &mut self.symbols {
            slot.grid.resume();
        }
        let text = "resumed by the operator: kill switch re-armed, stopped grids restarted";
        alert(out, AlertKind::Info, None, text.into());
        out.push(Effect::Record(JournalRecord::Event {
            at_ms: now,
            kind: EventKind::Operator,
            symbol: None,
            message: text.into(),
        }));
        out.push(Effect::Save);
    }

    /// An operator's recentre: the grid rebuilds now (or, under the emergency stop, once
    /// resumed); a refusal is said and journaled.
    fn on_recentre(&mut self, symbol: &Symbol, profile: Option<gridbot_grid::Profile>, now: i64, out: &mut Effects) {
        let Some(i) = self.slot_of(symbol) else {
            alert(out, AlertKind::Info, None, format!("recentre of {symbol} refused: the account does not trade it"));
            return;
        };
        let (kind, text) = match self.symbols[i].grid.operator_recentre(profile) {
            Ok(()) => (AlertKind::Info, RecentreReason::Operator { profile }.to_string()),
            Err(why) => (AlertKind::Info, format!("recentre refused: {why}")),
        };
        alert(out, kind, Some(symbol), text.clone());
        out.push(Effect::Record(JournalRecord::Event {
            at_ms: now,
            kind: EventKind::Operator,
            symbol: Some(symbol.clone()),
            message: text,
        }));
        self.act(i, 1, now, out);
        out.push(Effect::Save);
    }

    /// The level-ups of a fill go into the risk memory's 48 h window at once.
    fn remember_level_ups(&mut self, i: usize, notes: &[Note], now: i64) {
        for note in notes {
            if let Note::LevelUp { leg, .. } = note {
                let ups = &mut self.symbols[i].risk.get_mut(*leg).level_ups_ms;
                let at = ups.partition_point(|&t| t <= now);
                ups.insert(at, now);
            }
        }
    }

    /// Compares the exchange's positions with the grid's legs.
    fn check_drift(&mut self, i: usize, now: i64) {
        let slot = &mut self.symbols[i];
        let sizes = slot.grid.leg_sizes();
        let agrees = Leg::BOTH.iter().all(|leg| {
            let exchange = slot.positions.get(*leg).as_ref().map_or(Qty::ZERO, |p| p.size);
            exchange == *sizes.get(*leg)
        });
        if agrees {
            slot.drift_since = None;
        } else {
            slot.drift_since.get_or_insert(now);
        }
    }

    /// Alerts, risk memory and reconciliation requests from one `apply`.
    fn after_apply(&mut self, i: usize, applied: Applied, then_act: bool, now: i64, out: &mut Effects) {
        for note in applied.notes {
            self.note(i, note, now, out);
        }
        if let Some(reason) = applied.reconcile {
            self.request_reconcile(i, reason, then_act, out);
        }
    }

    fn note(&mut self, i: usize, note: Note, now: i64, out: &mut Effects) {
        let symbol = self.symbols[i].symbol().clone();
        match note {
            Note::Opened { leg, cycle } => {
                tracing::info!(account = %self.account_id, %symbol, ?leg, cycle, "leg opened at level 0");
            }
            Note::LevelUp { leg, level } => {
                // (the level-up itself went into the risk memory when the fill was applied)
                alert(out, AlertKind::LevelUp, Some(&symbol), format!("{leg:?} leg reached level {level}"));
            }
            Note::CycleClosed { leg, cycle, take_profit } => {
                let (kind, how) =
                    if take_profit { (AlertKind::TakeProfit, "take-profit") } else { (AlertKind::Risk, "risk close") };
                alert(out, kind, Some(&symbol), format!("{leg:?} leg cycle {cycle} closed by its {how}"));
            }
            Note::RebuildStarted { generation, reason } => {
                alert(out, AlertKind::Info, Some(&symbol), format!("rebuilding generation {generation}: {reason}"));
                out.push(Effect::Record(JournalRecord::Grid {
                    at_ms: now,
                    symbol,
                    change: GridChange::RebuildStarted { generation, reason },
                }));
            }
            Note::FundingClose { leg, rate, next_ms } => {
                let text = format!(
                    "funding guard: closing the {leg:?} leg in profit before the settlement at {} (predicted rate {rate})",
                    gridbot_core::time::format_iso8601(next_ms)
                );
                said(out, AlertKind::Risk, EventKind::Risk, symbol, text, now);
            }
            Note::BreakEvenStop { leg } => {
                let text = format!(
                    "stop at break-even: the {leg:?} leg's take-profit tranches had begun filling and the market came back to its average entry; closing the rest"
                );
                said(out, AlertKind::Risk, EventKind::Risk, symbol, text, now);
            }
            Note::TriggerArmed { price, from_above } => {
                let way = if from_above { "down" } else { "up" };
                let text =
                    format!("waiting for the entry trigger: the grid is built when the mid comes {way} to {price}");
                said(out, AlertKind::Info, EventKind::Grid, symbol, text, now);
                out.push(Effect::Save);
            }
            Note::Recentred { generation, mid, reason } => {
                alert(
                    out,
                    AlertKind::Info,
                    Some(&symbol),
                    format!("grid rebuilt: generation {generation} at {mid}: {reason}"),
                );
                out.push(Effect::Record(JournalRecord::Grid {
                    at_ms: now,
                    symbol,
                    change: GridChange::Recentre { generation, mid, reason },
                }));
            }
        }
    }

    /// Decide again on the next event: for symbol `symbol`, or every symbol.
    fn unsettle(&mut self, symbol: Option<&Symbol>) {
        for s in &mut self.symbols {
            if symbol.is_none_or(|x| s.symbol() == x) {
                s.calm = None;
            }
        }
    }

    /// Risk, then the grid's commands: a batch to send (and the state to save after it).
    pub(super) fn act(&mut self, i: usize, round: u8, now: i64, out: &mut Effects) {
        self.work.decisions += 1;
        let snapshot = self.risk_snapshot(i, now);
        let decision = evaluate(&self.risk_params, &snapshot);
        self.account_memory.clone_from(&decision.memory.account);
        self.symbols[i].risk.clone_from(&decision.memory.legs);
        self.risk_alerts(i, &decision.alerts, now, out);
        let market = self.symbols[i].market;
        let (commands, notes, grid_calm) =
            self.symbols[i].grid.commands_calm(&DecisionContext { now_ms: now, market: &market, decision: &decision });
        let quiet = commands.is_empty() && notes.is_empty();
        // A new generation, or the start of a rebuild, is on disk before the orders it causes.
        let built = notes.iter().any(|n| matches!(n, Note::Recentred { .. } | Note::RebuildStarted { .. }));
        for note in notes {
            self.note(i, note, now, out);
        }
        self.symbols[i].calm =
            (quiet && self.skip_when_calm).then(|| self.calm(i, &snapshot, &decision, grid_calm)).flatten();
        if commands.is_empty() {
            return;
        }
        if built {
            out.push(Effect::SaveNow);
        }
        out.push(Effect::Send { symbol: self.symbols[i].symbol().clone(), round, commands });
        // The orders change: the snapshot's list of them is saved after this batch.
        out.push(Effect::Save);
    }

    /// The grid's calm, bounded by the risk engine's and the core's own clocks (a lasting risk
    /// alert's hourly repeat, disagreeing positions' grace); `None` when the book matters to
    /// the risk decision.
    fn calm(
        &self,
        i: usize,
        snapshot: &gridbot_risk::RiskSnapshot,
        decision: &gridbot_risk::RiskDecision,
        grid: Calm,
    ) -> Option<Calm> {
        let mut calm = grid;
        calm.until(calm_until(&self.risk_params, snapshot, decision)?);
        for (level, leg) in &self.symbols[i].risk_active {
            if let Some(t) = self.alerted.get(&(*level, *leg, i)) {
                calm.until(t.saturating_add(ALERT_REPEAT_MS));
            }
        }
        if let Some(since) = self.symbols[i].drift_since {
            calm.until(since.saturating_add(DRIFT_GRACE_MS));
        }
        Some(calm)
    }

    /// Alerts risk conditions as they start (and hourly while they last), not on every
    /// decision: a level-up budget that stays used up is one alert, not thousands.
    fn risk_alerts(&mut self, i: usize, alerts: &[gridbot_risk::Alert], now: i64, out: &mut Effects) {
        let previous = std::mem::take(&mut self.symbols[i].risk_active);
        for a in alerts {
            let condition = (a.level, a.leg);
            self.symbols[i].risk_active.insert(condition);
            let key = (a.level, a.leg, i);
            let repeat_due = self.alerted.get(&key).is_none_or(|t| now - t >= ALERT_REPEAT_MS);
            if previous.contains(&condition) && !repeat_due {
                continue;
            }
            self.alerted.insert(key, now);
            self.risk_events += 1;
            *self.risk_by_level.entry(a.level).or_default() += 1;
            let symbol = self.symbols[i].symbol().clone();
            let kind = if a.level == RiskLevel::EmergencyStop { AlertKind::EmergencyStop } else { AlertKind::Risk };
            let text = format!("{}: {}", a.level, a.message);
            alert(out, kind, Some(&symbol), text.clone());
            out.push(Effect::Record(JournalRecord::Event {
                at_ms: now,
                kind: EventKind::Risk,
                symbol: Some(symbol),
                message: text,
            }));
        }
    }

    /// A reconciliation job for symbol `i` — none while the emergency stop is on (it is asked
    /// for again when the stop is lifted).
    pub(super) fn request_reconcile(&mut self, i: usize, reason: ReconcileReason, then_act: bool, out: &mut Effects) {
        let slot = &mut self.symbols[i];
        let symbol = slot.symbol().clone();
        if self.halted {
            tracing::warn!(account = %self.account_id, %symbol, %reason, "reconciliation deferred: the emergency stop is on");
            return;
        }
        self.reconciliations += 1;
        tracing::info!(account = %self.account_id, %symbol, %reason, "reconciling with the exchange");
        let mut state = slot.grid.state();
        state.risk = slot.risk.clone();
        let work = match &mut slot.grid {
            Grid::Progressive(g) => JobWork::Progressive {
                tag: g.account_tag().to_owned(),
                state: Box::new(state),
                nonces: g.nonces_mut().clone(),
                executions_from: self.heard.read_from_ms(),
                ladder: g.settings().take_profit_ladder.map(Box::new),
            },
            Grid::Classic(g) => JobWork::Classic {
                tag: g.account_tag().to_owned(),
                state: Box::new(state),
                executions_from: self.heard.read_from_ms(),
            },
        };
        out.push(Effect::Reconcile(ReconcileJob { symbol, reason, then_act, work }));
    }

    fn on_reconciled(&mut self, r: Reconciled, now: i64, out: &mut Effects) {
        let Some(i) = self.slot_of(&r.symbol) else { return };
        let symbol = r.symbol.clone();
        let mut caught_up = None;
        let changed = match (r.outcome, &mut self.symbols[i].grid) {
            (ReconcileOutcome::Recovered { state, nonces, changed, executions }, Grid::Progressive(g)) => {
                // Fills missed live: journaled with the PnL each realised against the legs as
                // the grid knew them; the recovered state reflects them all.
                let all = executions.unwrap_or_default();
                let unheard: Vec<Execution> = all.iter().filter(|e| !self.heard.knows(e)).cloned().collect();
                if !unheard.is_empty() {
                    // Priced by the exchange's own fills where they explain the position the
                    // recovery found (the window's every fill), else against the grid's legs.
                    let now_legs = [(state.long.size, state.long.avg_entry), (state.short.size, state.short.avg_entry)];
                    let replayed = crate::replay::exchange_realised(g.account_tag(), &all, now_legs);
                    let rows = crate::open::missed_fills(g.account_tag(), &g.state(), unheard, &|_| false, &replayed);
                    tracing::warn!(
                        account = %self.account_id, %symbol, fills = rows.len(),
                        "executions missed live, found by the reconciliation: journaled"
                    );
                    for (e, realised_pnl) in rows {
                        self.heard.note(&e);
                        if e.exec_type == ExecType::Trade
                            && self.last_execution.as_ref().is_none_or(|(_, t)| e.exec_time_ms >= *t)
                        {
                            self.last_execution = Some((e.exec_id.clone(), e.exec_time_ms));
                        }
                        out.push(Effect::Record(JournalRecord::Execution { execution: Box::new(e), realised_pnl }));
                    }
                }
                g.restore(&state);
                *g.nonces_mut() = nonces;
                Ok(changed)
            }
            (ReconcileOutcome::Classic(mut sync), Grid::Classic(g)) => {
                // Only the fills not heard are caught up with (the job offers every one since
                // the heard window's floor).
                if let ClassicSync::CatchUp { executions, .. } = &mut sync {
                    executions.retain(|e| !self.heard.knows(e));
                }
                let text = g.apply_sync(&sync);
                if matches!(sync, ClassicSync::CatchUp { .. }) {
                    caught_up = Some(sync);
                }
                Ok(Some(text))
            }
            (ReconcileOutcome::Failed { error }, _) => Err(error),
            (_, _) => Err("the result does not fit the grid's kind".to_owned()),
        };
        match changed {
            Ok(Some(text)) => {
                alert(out, AlertKind::Info, Some(&symbol), format!("reconciled ({}): {text}", r.reason));
                out.push(Effect::Record(JournalRecord::Event {
                    at_ms: now,
                    kind: EventKind::Reconcile,
                    symbol: Some(symbol.clone()),
                    message: text,
                }));
                out.push(Effect::Save);
            }
            Ok(None) => tracing::info!(account = %self.account_id, %symbol, "reconciled: nothing to change"),
            Err(error) => {
                alert(out, AlertKind::Error, Some(&symbol), format!("reconciliation failed: {error}"));
                out.push(Effect::Record(JournalRecord::Event {
                    at_ms: now,
                    kind: EventKind::Error,
                    symbol: Some(symbol.clone()),
                    message: error,
                }));
            }
        }
        if let Some(list) = r.positions {
            let by_leg = positions_by_leg(&list);
            let slot = &mut self.symbols[i];
            for leg in Leg::BOTH {
                if let Some(p) = by_leg.get(leg) {
                    slot.set_position(leg, p.clone());
                }
            }
        }
        if let Some(sync) = caught_up {
            self.catch_up(i, sync, now, out);
        }
        self.symbols[i].drift_since = None;
        if r.then_act {
            self.act(i, 1, now, out);
        }
    }

    /// A classic grid catching up with the exchange ([`ClassicSync::CatchUp`], already
    /// applied to the grid): the missed fills go through the same path as fills heard live
    /// (journaled, levels turned around), then an inventory they do not explain is taken from
    /// the exchange as it is, with a warning — never closed.
    pub(super) fn catch_up(&mut self, i: usize, sync: ClassicSync, now: i64, out: &mut Effects) {
        let ClassicSync::CatchUp { executions, long, short, updated_ms, .. } = sync else { return };
        if !executions.is_empty() {
            self.on_executions(executions, now, out);
        }
        let symbol = self.symbols[i].symbol().clone();
        let Grid::Classic(g) = &mut self.symbols[i].grid else { return };
        if let Some(text) = g.keep_inventory(long, short, updated_ms) {
            alert(out, AlertKind::Risk, Some(&symbol), text.clone());
            out.push(Effect::Record(JournalRecord::Event {
                at_ms: now,
                kind: EventKind::Reconcile,
                symbol: Some(symbol),
                message: text,
            }));
            out.push(Effect::Save);
        }
    }
}
