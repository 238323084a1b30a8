//! `TradingAccount`: one account's event worker (DESIGN §6). It owns every strategy of the
//! account, its risk memory, its executor and its persister, and is the only thread that
//! touches them — strategy state needs no locks.
//!
//! The loop: pop the most urgent event → fold it into the strategies → for each symbol it
//! touched, evaluate risk on the new state and send the strategy's commands → persist after
//! every fill. A one-second tick drives timeouts, the emergency-stop flag, operator requests,
//! drift checks between the exchange's positions and the strategies, and equity snapshots.
//!
//! Decisions:
//! - Isolation: every account has its own directory (`{data_dir}/{account_id}/`: `state.json`,
//!   `journal.sqlite`, `EMERGENCY_STOP`, `logs/`), client, streams and thread; an account that
//!   fails stops alone.
//! - The emergency stop is a file: while `EMERGENCY_STOP` exists nothing is sent (risk L10 halts
//!   the strategies and the executor checks the file before every request). Removing it, or
//!   `gridbot resume`, resumes.
//! - Operator requests (`gridbot resume`) arrive as a `RESUME` file the tick consumes: it lifts
//!   the kill switch's latch and a classic grid's stop-loss stop, and is journaled.
//! - What the strategies cannot explain (a fill of an unknown order, a position that disagrees
//!   with them for 5 s, a private-stream reconnect) is reconciled over REST: the progressive
//!   grid through gridbot-recovery's idempotent recovery, the classic grid by resynchronising
//!   its inventory and rebuilding if its orders disagree.

mod reconcile;
mod risk_view;
mod startup;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridbot_core::{Clock, Exchange, Execution, Leg, Order, Position, Symbol, Wallet};
use gridbot_risk::{AccountMemory, LegMemory, LegPair, RiskLevel, RiskParams, evaluate};
use gridbot_state::{AccountSnapshot, SymbolState};

use crate::alerts::{AlertKind, Alerts};
use crate::command::Outcome;
use crate::config::AccountConfig;
use crate::executor::{Executor, LatencyLog, Stamp};
use crate::persist::{Persister, Record};
use crate::queue::{Envelope, Event, EventQueue, Popped};
use crate::strategy::{Applied, Ctx, MarketView, Note, Strategy, StrategyEvent, StrategyStats};

pub use startup::{AccountError, OpenOptions, SymbolRecovery};

/// File names inside an account's directory.
pub mod files {
    /// The emergency-stop flag.
    pub const EMERGENCY_STOP: &str = "EMERGENCY_STOP";
    /// An operator's resume request.
    pub const RESUME: &str = "RESUME";
    /// The journal.
    pub const JOURNAL: &str = "journal.sqlite";
    /// The lock a running bot holds.
    pub const LOCK: &str = "lock";
    /// Log files.
    pub const LOGS: &str = "logs";
}

/// What a bot hands an account.
pub struct AccountParts {
    /// The account's configuration.
    pub config: AccountConfig,
    /// Its directory.
    pub dir: PathBuf,
    /// Its exchange client.
    pub exchange: Arc<dyn Exchange + Send + Sync>,
    /// The engine's clock (the market's, against the simulator).
    pub clock: Arc<dyn Clock>,
    /// Its event queue (streams push into it).
    pub queue: Arc<EventQueue>,
    /// Its alerts.
    pub alerts: Alerts,
    /// Where event-to-order latencies go.
    pub latency: Arc<LatencyLog>,
}

impl std::fmt::Debug for AccountParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountParts")
            .field("account", &self.config.account_id)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Counters of one account, for progress lines and summaries.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AccountSummary {
    /// Account id.
    pub account: String,
    /// Summed strategy counters.
    pub strategy: StrategyStats,
    /// Risk alerts raised.
    pub risk_events: u64,
    /// Reconciliations run after start.
    pub reconciliations: u64,
    /// Events processed.
    pub events: u64,
    /// Latest equity seen (USDT).
    pub equity: Option<String>,
}

/// One symbol's slot: its strategy and what the account knows around it.
pub(crate) struct Slot {
    pub(crate) strategy: Box<dyn Strategy>,
    pub(crate) market: MarketView,
    pub(crate) positions: LegPair<Option<Position>>,
    pub(crate) risk: LegPair<LegMemory>,
    pub(crate) risk_limit: f64,
    /// Since when (wall clock) the exchange's positions disagree with the strategy.
    pub(crate) drift_since: Option<Instant>,
    /// The risk conditions of the last decision (alerts go out when one starts).
    pub(crate) risk_active: std::collections::HashSet<(RiskLevel, Option<Leg>)>,
}

impl Slot {
    fn symbol(&self) -> &Symbol {
        self.strategy.symbol()
    }
}

/// The event worker of one account.
pub struct TradingAccount {
    id: String,
    tag: String,
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    queue: Arc<EventQueue>,
    slots: Vec<Slot>,
    wallet: Option<Wallet>,
    account_memory: AccountMemory,
    risk_params: RiskParams,
    executor: Executor,
    persister: Persister,
    alerts: Alerts,
    /// When each risk condition (level, leg, symbol) was last alerted.
    alerted: HashMap<(RiskLevel, Option<Leg>, usize), Instant>,
    flag_on: bool,
    last_execution: Option<(String, i64)>,
    last_tick: Instant,
    last_equity_ms: i64,
    last_save: Instant,
    dirty: bool,
    summary: AccountSummary,
    shared: Arc<Mutex<AccountSummary>>,
    _lock: std::fs::File,
}

impl std::fmt::Debug for TradingAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingAccount")
            .field("id", &self.id)
            .field("symbols", &self.slots.len())
            .finish_non_exhaustive()
    }
}

const TICK: Duration = Duration::from_secs(1);
/// A risk condition is alerted when it starts, and again if it still holds this much later.
const ALERT_REPEAT: Duration = Duration::from_secs(3_600);
/// How long positions may disagree with the strategy (events in flight) before reconciling;
/// wall-clock, so an accelerated replay does not shorten it.
const DRIFT_GRACE: Duration = Duration::from_secs(5);

impl TradingAccount {
    /// Live counters, shared with the bot.
    #[must_use]
    pub fn summary_handle(&self) -> Arc<Mutex<AccountSummary>> {
        Arc::clone(&self.shared)
    }

    /// The account id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stops without trading: waits for the persister (after a recovery-only open).
    pub fn close(self) {
        self.persister.stop();
    }

    /// Runs until the queue is closed; persists and returns the summary.
    pub fn run(mut self) -> AccountSummary {
        // Act once on the recovered state, before any event.
        for i in 0..self.slots.len() {
            self.act(i, None);
        }
        loop {
            match self.queue.pop(TICK.saturating_sub(self.last_tick.elapsed())) {
                Popped::Event(envelope) => self.handle(envelope),
                Popped::TimedOut => {}
                Popped::Closed => break,
            }
            if self.last_tick.elapsed() >= TICK {
                self.tick();
            }
        }
        self.save();
        self.publish();
        let summary = self.summary.clone();
        self.persister.stop();
        tracing::info!(account = %self.id, "stopped");
        summary
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn slot_of(&self, symbol: &Symbol) -> Option<usize> {
        self.slots.iter().position(|s| s.symbol() == symbol)
    }

    fn handle(&mut self, envelope: Envelope) {
        self.summary.events += 1;
        let stamp = Some((envelope.read_at, Instant::now(), envelope.found_idle));
        match envelope.event {
            Event::Executions(list) => self.on_executions(list, stamp),
            Event::Orders(list) => self.on_orders(list, stamp),
            Event::Positions(list) => self.on_positions(list, stamp),
            Event::Wallet(w) => self.on_wallet(w, stamp),
            Event::Book { symbol, bid, ask, ts_ms } => {
                if let Some(i) = self.slot_of(&symbol) {
                    self.slots[i].market = MarketView { bid: bid.map(|l| l.price), ask: ask.map(|l| l.price), ts_ms };
                    self.act(i, stamp);
                }
            }
            Event::Reconcile(reason) => {
                tracing::info!(account = %self.id, %reason, "reconciling every symbol");
                for i in 0..self.slots.len() {
                    self.reconcile(i, &reason);
                }
            }
            Event::StreamNews(news) => tracing::info!(account = %self.id, "{news}"),
        }
        self.publish();
    }

    /// Fills first change the strategies (and the risk memory's level-ups), then the orders
    /// they call for go out, and only then come alerts, log lines and journal rows — nothing
    /// slow sits between a fill and its orders.
    fn on_executions(&mut self, list: Vec<Execution>, stamp: Stamp) {
        let mut touched: Vec<usize> = Vec::new();
        let mut later: Vec<(usize, Applied)> = Vec::new();
        let mut rows = Vec::new();
        let mut filled = false;
        let now = self.now();
        for e in list {
            let Some(i) = self.slot_of(&e.symbol) else { continue };
            let applied = self.slots[i].strategy.apply(StrategyEvent::Execution(&e), now);
            filled |= applied.filled;
            if applied.filled && self.last_execution.as_ref().is_none_or(|(_, t)| e.exec_time_ms >= *t) {
                self.last_execution = Some((e.exec_id.clone(), e.exec_time_ms));
            }
            for note in &applied.notes {
                if let Note::LevelUp { leg, .. } = note {
                    let ups = &mut self.slots[i].risk.get_mut(*leg).level_ups_ms;
                    let at = ups.partition_point(|&t| t <= now);
                    ups.insert(at, now);
                }
            }
            rows.push(Record::Execution(Box::new(e), applied.realised_pnl));
            if !touched.contains(&i) {
                touched.push(i);
            }
            later.push((i, applied));
        }
        for i in touched {
            // A symbol about to be reconciled gets its orders from the reconciliation.
            if !later.iter().any(|(j, a)| *j == i && a.reconcile.is_some()) {
                self.act(i, stamp);
            }
        }
        for (i, applied) in later {
            self.after_apply(i, applied);
        }
        for row in rows {
            self.persister.send(row);
        }
        if filled {
            self.save();
        }
    }

    fn on_orders(&mut self, list: Vec<Order>, stamp: Stamp) {
        let mut touched: Vec<usize> = Vec::new();
        for o in list {
            let Some(i) = self.slot_of(&o.symbol) else { continue };
            let now = self.now();
            let applied = self.slots[i].strategy.apply(StrategyEvent::Order(&o), now);
            self.after_apply(i, applied);
            self.persister.send(Record::Order(Box::new(o)));
            if !touched.contains(&i) {
                touched.push(i);
            }
        }
        for i in touched {
            self.act(i, stamp);
        }
    }

    fn on_positions(&mut self, list: Vec<Position>, stamp: Stamp) {
        let now = self.now();
        let mut touched: Vec<usize> = Vec::new();
        for p in list {
            let Some(i) = self.slot_of(&p.symbol) else { continue };
            let leg = match p.position_idx {
                gridbot_core::PositionIdx::Long => Leg::Long,
                gridbot_core::PositionIdx::Short => Leg::Short,
                gridbot_core::PositionIdx::OneWay => continue,
            };
            let changed = self.slots[i].positions.get(leg).as_ref().is_none_or(|old| old.size != p.size);
            if changed {
                self.persister.send(Record::Position(Box::new(p.clone()), now));
            }
            *self.slots[i].positions.get_mut(leg) = Some(p);
            if !touched.contains(&i) {
                touched.push(i);
            }
        }
        for i in touched {
            self.check_drift(i);
            self.act(i, stamp);
        }
    }

    fn on_wallet(&mut self, w: Wallet, stamp: Stamp) {
        self.summary.equity = Some(w.total_equity.to_string());
        self.wallet = Some(w);
        for i in 0..self.slots.len() {
            self.act(i, stamp);
        }
    }

    /// Compares the exchange's positions with the strategy's legs.
    fn check_drift(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        let sizes = slot.strategy.leg_sizes();
        let agrees = Leg::BOTH.iter().all(|leg| {
            let exchange = slot.positions.get(*leg).as_ref().map_or(gridbot_core::Qty::ZERO, |p| p.size);
            exchange == *sizes.get(*leg)
        });
        if agrees {
            slot.drift_since = None;
        } else {
            slot.drift_since.get_or_insert_with(Instant::now);
        }
    }

    /// Alerts, risk memory and reconciliation requests from one `apply`.
    fn after_apply(&mut self, i: usize, applied: Applied) {
        let now = self.now();
        let symbol = self.slots[i].symbol().as_str().to_owned();
        for note in applied.notes {
            self.note(&symbol, note, now);
        }
        if let Some(reason) = applied.reconcile {
            self.reconcile(i, &reason);
        }
    }

    fn note(&mut self, symbol: &str, note: Note, now: i64) {
        match note {
            Note::Opened { leg, cycle } => {
                tracing::info!(account = %self.id, symbol, ?leg, cycle, "leg opened at level 0");
            }
            Note::LevelUp { leg, level } => {
                // (the level-up itself went into the risk memory when the fill was applied)
                self.alerts.raise(AlertKind::LevelUp, Some(symbol), &format!("{leg:?} leg reached level {level}"));
            }
            Note::CycleClosed { leg, cycle, take_profit } => {
                let (kind, how) =
                    if take_profit { (AlertKind::TakeProfit, "take-profit") } else { (AlertKind::Risk, "risk close") };
                self.alerts.raise(kind, Some(symbol), &format!("{leg:?} leg cycle {cycle} closed by its {how}"));
            }
            Note::Recentred { reason } => {
                self.alerts.raise(AlertKind::Info, Some(symbol), &format!("grid rebuilt: {reason}"));
                let details = serde_json::json!({ "reason": reason }).to_string();
                self.persister.send(Record::Grid(now, symbol.to_owned(), "recentre".into(), details));
            }
        }
    }

    /// Risk, then the strategy's commands, sent; the snapshot follows when orders changed.
    fn act(&mut self, i: usize, stamp: Stamp) {
        self.act_rounds(i, stamp);
        if self.dirty {
            self.save();
        }
    }

    /// Risk, then the strategy's commands, sent; repeated while outcomes change the picture.
    fn act_rounds(&mut self, i: usize, stamp: Stamp) {
        let now = self.now();
        let flag = self.executor.stopped();
        let mut stamp = stamp;
        for _round in 0..3 {
            let snapshot = self.risk_snapshot(i, now, flag);
            let decision = evaluate(&self.risk_params, &snapshot);
            self.account_memory = decision.memory.account.clone();
            self.slots[i].risk = decision.memory.legs.clone();
            self.risk_alerts(i, &decision.alerts, now);
            let market = self.slots[i].market;
            let commands = self.slots[i].strategy.commands(&Ctx { now_ms: now, market: &market, decision: &decision });
            let symbol = self.slots[i].symbol().as_str().to_owned();
            for note in self.slots[i].strategy.take_notes() {
                self.note(&symbol, note, now);
            }
            if commands.is_empty() {
                return;
            }
            // The orders change: the snapshot's list of them is saved after this batch.
            self.dirty = true;
            let outcomes = self.executor.run(&commands, stamp.take());
            let mut reconcile = None;
            for outcome in &outcomes {
                let applied = self.slots[i].strategy.apply(StrategyEvent::Outcome(outcome), now);
                reconcile = reconcile.or(applied.reconcile);
                if let Outcome::PlaceFailed { error, .. } = outcome
                    && error.action() == gridbot_core::ErrorAction::Fatal
                {
                    self.alerts.raise(AlertKind::Error, Some(&symbol), &format!("the exchange refused: {error}"));
                }
            }
            if let Some(reason) = reconcile {
                self.reconcile(i, &reason);
                return;
            }
        }
    }

    /// Alerts risk conditions as they start (and hourly while they last), not on every
    /// decision: a level-up budget that stays used up is one alert, not thousands.
    fn risk_alerts(&mut self, i: usize, alerts: &[gridbot_risk::Alert], now: i64) {
        let previous = std::mem::take(&mut self.slots[i].risk_active);
        for alert in alerts {
            let condition = (alert.level, alert.leg);
            self.slots[i].risk_active.insert(condition);
            let key = (alert.level, alert.leg, i);
            let repeat_due = self.alerted.get(&key).is_none_or(|t| t.elapsed() >= ALERT_REPEAT);
            if previous.contains(&condition) && !repeat_due {
                continue;
            }
            self.alerted.insert(key, Instant::now());
            self.summary.risk_events += 1;
            let symbol = self.slots[i].symbol().as_str().to_owned();
            let kind = if alert.level == RiskLevel::EmergencyStop { AlertKind::EmergencyStop } else { AlertKind::Risk };
            self.alerts.raise(kind, Some(&symbol), &format!("{}: {}", alert.level, alert.message));
            self.persister.send(Record::Event(
                now,
                "risk".into(),
                Some(symbol),
                format!("{}: {}", alert.level, alert.message),
            ));
        }
    }

    /// Once a second: timeouts, flag and operator files, drift, equity, periodic saves.
    fn tick(&mut self) {
        self.last_tick = Instant::now();
        let now = self.now();
        self.check_flag(now);
        self.check_resume(now);
        for i in 0..self.slots.len() {
            let applied = self.slots[i].strategy.apply(StrategyEvent::Timer, now);
            self.after_apply(i, applied);
            let stale = self.slots[i].drift_since.is_some_and(|t| t.elapsed() >= DRIFT_GRACE);
            if stale && !self.slots[i].strategy.settling() {
                self.reconcile(i, "positions disagree with the strategy");
            }
            self.act(i, None);
        }
        if now - self.last_equity_ms >= 60_000
            && let Some(w) = &self.wallet
        {
            self.last_equity_ms = now;
            self.persister.send(Record::Equity(Box::new(w.clone()), now));
        }
        if self.dirty || self.last_save.elapsed() >= Duration::from_secs(30) {
            self.save();
        }
    }

    fn check_flag(&mut self, now: i64) {
        let on = self.executor.stopped();
        if on != self.flag_on {
            self.flag_on = on;
            let text = if on {
                "emergency stop ON: nothing will be sent until the flag is removed (gridbot resume)"
            } else {
                "emergency stop lifted: trading resumes"
            };
            self.alerts.raise(AlertKind::EmergencyStop, None, text);
            self.persister.send(Record::Event(now, "operator".into(), None, text.into()));
            if !on {
                // Fills and cancels may have happened while nothing was sent: look again.
                for i in 0..self.slots.len() {
                    self.reconcile(i, "emergency stop lifted");
                }
            }
        }
    }

    fn check_resume(&mut self, now: i64) {
        let path = self.dir.join(files::RESUME);
        if !path.exists() {
            return;
        }
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(account = %self.id, error = %e, "cannot consume the resume request");
            return;
        }
        self.account_memory.kill_switch = None;
        for slot in &mut self.slots {
            slot.strategy.resume();
        }
        let text = "resumed by the operator: kill switch re-armed, stopped grids restarted";
        self.alerts.raise(AlertKind::Info, None, text);
        self.persister.send(Record::Event(now, "operator".into(), None, text.into()));
        self.dirty = true;
    }

    fn snapshot(&self) -> AccountSnapshot {
        let mut snapshot = AccountSnapshot::new(self.id.clone(), self.now());
        for slot in &self.slots {
            let mut state: SymbolState = slot.strategy.state();
            state.risk = slot.risk.clone();
            snapshot.symbols.insert(slot.symbol().clone(), state);
        }
        snapshot.account_risk = self.account_memory.clone();
        if let Some((id, t)) = &self.last_execution {
            snapshot.last_execution_id = Some(id.clone());
            snapshot.last_execution_ms = Some(*t);
        }
        snapshot
    }

    /// The snapshot of every symbol, sent to the persister. A snapshot a restart would refuse
    /// is never written: the symbols are reconciled with the exchange first.
    fn save(&mut self) {
        let mut snapshot = self.snapshot();
        if let Err(problem) = snapshot.validate() {
            tracing::error!(account = %self.id, %problem, "state inconsistent; reconciling with the exchange before saving");
            for i in 0..self.slots.len() {
                self.reconcile(i, &problem);
            }
            snapshot = self.snapshot();
            if let Err(problem) = snapshot.validate() {
                tracing::error!(account = %self.id, %problem, "state still inconsistent: not saved");
                return;
            }
        }
        self.persister.send(Record::Snapshot(Box::new(snapshot)));
        self.dirty = false;
        self.last_save = Instant::now();
    }

    fn publish(&mut self) {
        let mut total = StrategyStats::default();
        for slot in &self.slots {
            let s = slot.strategy.stats();
            total.fills += s.fills;
            total.cycles += s.cycles;
            total.risk_closes += s.risk_closes;
            total.max_level = total.max_level.max(s.max_level);
            total.orders_placed += s.orders_placed;
            total.recentres += s.recentres;
        }
        self.summary.strategy = total;
        if let Ok(mut shared) = self.shared.lock() {
            shared.clone_from(&self.summary);
        }
    }
}
