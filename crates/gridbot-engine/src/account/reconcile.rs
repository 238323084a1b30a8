//! Reconciliation with the exchange while running (after a private-stream reconnect, an
//! unexplained fill or a drifting position) and the classic grid's start-up sync.

use std::sync::Arc;

use gridbot_core::{Exchange, ExchangeError, Leg, OrderRef, Position, PositionIdx, Qty, TimeWindow};
use gridbot_recovery::{LinkTag, RecoveryInput, recover};
use gridbot_risk::LegPair;
use gridbot_state::SymbolState;

use super::TradingAccount;
use super::startup::HISTORY_MS;
use crate::alerts::AlertKind;
use crate::persist::Record;
use crate::strategy::{ClassicGrid, Strategy};

fn ours(tag: &str, link_id: &str) -> bool {
    LinkTag::decode(link_id).is_ok_and(|t| t.account == tag)
}

fn position_of(positions: &LegPair<Option<Position>>, leg: Leg) -> (Qty, Option<gridbot_core::Price>) {
    positions.get(leg).as_ref().map_or((Qty::ZERO, None), |p| (p.size, p.avg_price))
}

/// The classic grid at start: resume from the snapshot when the exchange agrees with it,
/// otherwise cancel our orders, take the inventory from the positions and rebuild.
pub(super) fn classic_startup(
    ex: &Arc<dyn Exchange + Send + Sync>,
    grid: &mut ClassicGrid,
    state: Option<&SymbolState>,
    positions: &LegPair<Option<Position>>,
    dry_run: bool,
    now_ms: i64,
) -> Result<String, ExchangeError> {
    let symbol = grid.symbol().clone();
    let tag = grid.account_tag().to_owned();
    let open = ex.open_orders(&symbol)?;
    let agrees = match state.filter(|s| s.classic.is_some()) {
        Some(s) => {
            grid.restore(s);
            // Tracked orders belong to the current generation: read history from its start.
            let since = s.classic.as_ref().map_or(now_ms - HISTORY_MS, |c| c.built_at_ms.max(now_ms - HISTORY_MS));
            let history = ex.order_history(&symbol, TimeWindow { start_ms: since - 60_000, end_ms: now_ms })?;
            let rc = gridbot_recovery::reconcile(&s.orders, &open, &history);
            let our_orphans = rc.orphans.iter().filter(|o| ours(&tag, &o.order_link_id)).count();
            let sizes = grid.leg_sizes();
            let inventory_agrees = Leg::BOTH.iter().all(|leg| position_of(positions, *leg).0 == *sizes.get(*leg));
            rc.filled_while_down.is_empty()
                && rc.cancelled.is_empty()
                && rc.ghosts.is_empty()
                && our_orphans == 0
                && inventory_agrees
        }
        None => false,
    };
    if agrees {
        return Ok(format!("classic grid resumed from the snapshot: {} orders in place", grid.working().len()));
    }
    let mut cancelled = 0;
    if !dry_run {
        for o in open.iter().filter(|o| ours(&tag, &o.order_link_id)) {
            ex.cancel(&symbol, &OrderRef::OrderId(o.order_id.clone()))?;
            cancelled += 1;
        }
    }
    let long = position_of(positions, Leg::Long);
    let short = position_of(positions, Leg::Short);
    grid.resync(long, short);
    let inventory = !long.0.is_zero() || !short.0.is_zero();
    if inventory {
        grid.request_rebuild("start: the exchange disagrees with the snapshot (or there is none)");
    }
    Ok(format!(
        "classic grid {}: cancelled {cancelled} of our orders; inventory long {} short {}{}",
        if state.is_some() { "rebuilt" } else { "started" },
        long.0,
        short.0,
        if inventory { "; closing it before the grid is built" } else { "" }
    ))
}

impl TradingAccount {
    /// Brings symbol `i` back in line with the exchange.
    pub(super) fn reconcile(&mut self, i: usize, reason: &str) {
        let symbol = self.slots[i].symbol().clone();
        if self.executor.stopped() {
            tracing::warn!(account = %self.id, %symbol, reason, "reconciliation deferred: the emergency stop is on");
            return;
        }
        self.summary.reconciliations += 1;
        let now = self.now();
        let ex = Arc::clone(self.executor.exchange());
        tracing::info!(account = %self.id, %symbol, reason, "reconciling with the exchange");
        let result = if self.slots[i].strategy.is_progressive() {
            self.reconcile_progressive(i, &ex, now)
        } else {
            self.reconcile_classic(i, &ex, now)
        };
        match result {
            Ok(Some(text)) => {
                self.alerts.raise(AlertKind::Info, Some(symbol.as_str()), &format!("reconciled ({reason}): {text}"));
                self.persister.send(Record::Event(now, "reconcile".into(), Some(symbol.as_str().to_owned()), text));
                self.dirty = true;
            }
            Ok(None) => tracing::info!(account = %self.id, %symbol, "reconciled: nothing to change"),
            Err(e) => {
                self.alerts.raise(AlertKind::Error, Some(symbol.as_str()), &format!("reconciliation failed: {e}"));
                self.persister.send(Record::Event(
                    now,
                    "error".into(),
                    Some(symbol.as_str().to_owned()),
                    e.to_string(),
                ));
            }
        }
        match ex.positions(&symbol) {
            Ok(list) => {
                for p in list {
                    match p.position_idx {
                        PositionIdx::Long => self.slots[i].positions.long = Some(p),
                        PositionIdx::Short => self.slots[i].positions.short = Some(p),
                        PositionIdx::OneWay => {}
                    }
                }
            }
            Err(e) => tracing::warn!(account = %self.id, %symbol, error = %e, "reading positions after reconciling"),
        }
        self.slots[i].drift_since = None;
    }

    fn reconcile_progressive(
        &mut self,
        i: usize,
        ex: &Arc<dyn Exchange + Send + Sync>,
        now: i64,
    ) -> Result<Option<String>, String> {
        let slot = &mut self.slots[i];
        let mut state = slot.strategy.state();
        state.risk = slot.risk.clone();
        let Some(plan) = state.plan.clone() else { return Err("no locked plan".into()) };
        let symbol = slot.strategy.symbol().clone();
        let input = RecoveryInput {
            account_tag: &self.tag,
            symbol: &symbol,
            plan: &plan,
            snapshot: Some(&state),
            history: TimeWindow { start_ms: now - HISTORY_MS, end_ms: now },
            now_ms: now,
            dry_run: false,
        };
        let report = recover(&**ex, &input).map_err(|e| e.to_string())?;
        slot.strategy.restore(&report.state);
        Ok((!report.unchanged).then(|| format!("cancelled {}, placed {}", report.cancelled, report.placed)))
    }

    fn reconcile_classic(
        &mut self,
        i: usize,
        ex: &Arc<dyn Exchange + Send + Sync>,
        now: i64,
    ) -> Result<Option<String>, String> {
        let slot = &mut self.slots[i];
        let symbol = slot.strategy.symbol().clone();
        let positions = {
            let mut pair: LegPair<Option<Position>> = LegPair::default();
            for p in ex.positions(&symbol).map_err(|e| e.to_string())? {
                match p.position_idx {
                    PositionIdx::Long => pair.long = Some(p),
                    PositionIdx::Short => pair.short = Some(p),
                    PositionIdx::OneWay => {}
                }
            }
            pair
        };
        let Some(grid) = slot.strategy.as_classic_mut() else { return Err("not a classic grid".into()) };
        let mut state = grid.state();
        state.risk = slot.risk.clone();
        let text = classic_startup(ex, grid, Some(&state), &positions, false, now).map_err(|e| e.to_string())?;
        Ok(Some(text))
    }
}
