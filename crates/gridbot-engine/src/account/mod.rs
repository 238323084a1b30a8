//! `TradingAccount`: the live shell around one account's [`AccountCore`]. It owns the core, the
//! account's files and threads, and is the only thread that touches the core — which needs no
//! locks.
//!
//! The loop: pop the most urgent event from the queue → feed it to the core through
//! gridbot-strategy's `drive` (commands go out through the one executor, over the Bybit client,
//! with the emergency-stop flag checked before every request) → carry out what is left: alerts
//! to the log and Telegram, records to the persister, the snapshot when the state changed. A
//! one-second tick feeds the core's `Tick` and picks up the emergency-stop flag and operator
//! requests; it waits until the queue is empty (at most five seconds), so an event already
//! queued explains itself before a timeout counts it missing — which matters when the market
//! clock runs faster than real time (an accelerated paper-trading replay).
//!
//! Decisions:
//! - Isolation: every account has its own directory (`{data_dir}/{account_id}/`: `state.json`,
//!   `journal.sqlite`, `EMERGENCY_STOP`, `logs/`), client, streams and thread; an account that
//!   fails stops alone.
//! - The emergency stop is a file: while `EMERGENCY_STOP` exists nothing is sent (the gate
//!   checks it before every request) and the core knows it is halted (the flag is looked at
//!   before every event). Removing it, or `gridbot resume`, resumes.
//! - Operator requests (`gridbot resume`) arrive as a `RESUME` file the tick consumes: the core
//!   lifts the kill switch's latch and a classic grid's stop-loss stop, and journals it.
//! - Nothing here decides a trade: the shell has no path to an order but the core's effects.

mod startup;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridbot_core::{Clock, Exchange};
use gridbot_strategy::{AccountCore, Carried, CoreEvent, CoreTape, StrategyStats, Venue, checked_snapshot, drive};

use crate::alerts::Alerts;
use crate::config::AccountConfig;
use crate::latency::{LatencyLog, Stamp};
use crate::live::{LiveAccount, SharedPrices};
use crate::persist::{Persister, Record};
use crate::queue::{Event, EventQueue, Popped, QueuedEvent};

pub use startup::{AccountError, OpenOptions};

/// File names inside an account's directory.
pub mod files {
    /// The emergency-stop flag.
    pub const EMERGENCY_STOP: &str = "EMERGENCY_STOP";
    /// An operator's resume request.
    pub const RESUME: &str = "RESUME";
    /// An operator's recentre request for a symbol: `RECENTRE.{SYMBOL}`, holding `profile:
    /// NAME` or nothing.
    pub const RECENTRE_PREFIX: &str = "RECENTRE.";
    /// The journal.
    pub const JOURNAL: &str = "journal.sqlite";
    /// The lock a running bot holds.
    pub const LOCK: &str = "lock";
    /// Log files.
    pub const LOGS: &str = "logs";
}

/// Where a recording of an account's core goes (tests: live and core decide the same).
pub type TapeSlot = Arc<Mutex<Option<CoreTape>>>;

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
    /// Record the core's inputs and sends here.
    pub tape: Option<TapeSlot>,
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

/// The event worker of one account.
pub struct TradingAccount {
    id: String,
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    queue: Arc<EventQueue>,
    core: AccountCore,
    exchange: Arc<dyn Exchange + Send + Sync>,
    emergency_flag: PathBuf,
    latency: Arc<LatencyLog>,
    persister: Persister,
    alerts: Alerts,
    last_tick: Instant,
    last_save: Instant,
    summary: AccountSummary,
    shared: Arc<Mutex<AccountSummary>>,
    prices: SharedPrices,
    tape: Option<TapeSlot>,
    /// The account's lock (none in a dry run, which only reads).
    _lock: Option<std::fs::File>,
}

impl std::fmt::Debug for TradingAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingAccount")
            .field("id", &self.id)
            .field("symbols", &self.core.symbols().len())
            .finish_non_exhaustive()
    }
}

const TICK: Duration = Duration::from_secs(1);
/// A tick is due once the queue is empty, or after this long whatever is queued.
const TICK_AT_THE_LATEST: Duration = Duration::from_secs(5);
/// The snapshot is saved at least this often (wall clock), changed or not.
const SAVE_EVERY: Duration = Duration::from_secs(30);

impl TradingAccount {
    /// Live counters, shared with the bot.
    #[must_use]
    pub fn summary_handle(&self) -> Arc<Mutex<AccountSummary>> {
        Arc::clone(&self.shared)
    }

    /// What the dashboard reads of this account while it runs.
    #[must_use]
    pub fn live_handle(&self) -> LiveAccount {
        LiveAccount {
            id: self.id.clone(),
            summary: Arc::clone(&self.shared),
            prices: self.prices.clone(),
            requests: None,
        }
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
        self.process(CoreEvent::Start, None);
        loop {
            match self.queue.pop(TICK.saturating_sub(self.last_tick.elapsed())) {
                Popped::Event(envelope) => self.handle(envelope),
                Popped::TimedOut => {}
                Popped::Closed => break,
            }
            // Timeouts are looked at once the account has caught up with what arrived: an event
            // still queued (a fill behind its cancel's answer) explains itself first. Under a
            // flood the tick still runs, late.
            let since = self.last_tick.elapsed();
            if since >= TICK && (self.queue.is_empty() || since >= TICK_AT_THE_LATEST) {
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

    fn handle(&mut self, envelope: QueuedEvent) {
        self.summary.events += 1;
        let stamp = Some((envelope.read_at, Instant::now(), envelope.found_idle));
        self.sync_emergency_flag();
        let waited_us = envelope.read_at.elapsed().as_micros();
        let event = match envelope.event {
            Event::Executions(list) => {
                for e in &list {
                    tracing::debug!(account = %self.id, symbol = %e.symbol, order_link_id = %e.order_link_id,
                        side = e.side.as_str(), price = %e.exec_price, qty = %e.exec_qty, exec_type = e.exec_type.as_str(), waited_us, "execution");
                }
                CoreEvent::Executions(list)
            }
            Event::Orders(list) => {
                for o in &list {
                    tracing::debug!(account = %self.id, symbol = %o.symbol, order_link_id = %o.order_link_id,
                        status = o.status.as_str(), waited_us, "order update");
                }
                CoreEvent::Orders(list)
            }
            Event::Positions(list) => {
                for p in &list {
                    tracing::debug!(account = %self.id, symbol = %p.symbol, idx = ?p.position_idx, size = %p.size, waited_us, "position");
                }
                CoreEvent::Positions(list)
            }
            Event::Wallet(w) => {
                self.summary.equity = Some(w.total_equity.to_string());
                CoreEvent::Wallet(w)
            }
            Event::Book { symbol, bid, ask, ts_ms } => {
                tracing::trace!(account = %self.id, %symbol, bid = ?bid.map(|l| l.price.to_string()), ask = ?ask.map(|l| l.price.to_string()), ts_ms, waited_us, "book");
                self.prices.set(&symbol, bid.map(|l| l.price), ask.map(|l| l.price), ts_ms);
                CoreEvent::Book { symbol, bid: bid.map(|l| l.price), ask: ask.map(|l| l.price), ts_ms }
            }
            Event::Funding { symbol, rate, next_funding_ms } => {
                tracing::debug!(account = %self.id, %symbol, %rate, next_funding_ms, "funding rate");
                CoreEvent::Funding { symbol, rate, next_funding_ms }
            }
            Event::Reconcile(reason) => {
                tracing::info!(account = %self.id, %reason, "reconciling every symbol");
                CoreEvent::ReconcileAll(reason)
            }
            Event::StreamNews(news) => {
                tracing::info!(account = %self.id, "{news}");
                return;
            }
        };
        self.process(event, stamp);
        self.publish();
    }

    /// Feeds one event to the core and carries out its effects; the latency sample is taken
    /// at the first request it sends.
    fn process(&mut self, event: CoreEvent, stamp: Stamp) {
        let now = self.clock.now_ms();
        let record = self.tape.is_some();
        let flag = &self.emergency_flag;
        let latency = &self.latency;
        let mut first = stamp;
        let mut gate = || {
            if flag.exists() {
                return false;
            }
            if let Some(s) = first.take() {
                latency.record_stamp(s);
            }
            true
        };
        // A new classic generation, and the journal's record of why, are on disk before its
        // first orders go out.
        let persister = &self.persister;
        let mut durable = |core: &AccountCore, rows: &[gridbot_strategy::JournalRecord]| {
            for row in rows {
                persister.send(Record::Journal(row.clone()));
            }
            let snapshot = core.snapshot(now);
            if snapshot.validate().is_ok() && !persister.save_now(snapshot, Duration::from_secs(5)) {
                tracing::warn!("the state was not on disk within 5 s before a new grid's first orders");
            }
        };
        let mut venue = Venue { exchange: &*self.exchange, may_send: &mut gate, durable: &mut durable };
        let carried = drive(&mut self.core, &mut venue, event, now, record);
        self.carry_out(carried);
    }

    /// Alerts, journal rows, the recording — and the snapshot when the state changed.
    fn carry_out(&mut self, mut carried: Carried) {
        for alert in &carried.alerts {
            self.alerts.send(alert);
        }
        let already = carried.durable_records;
        for row in std::mem::take(&mut carried.records).into_iter().skip(already) {
            self.persister.send(Record::Journal(row));
        }
        if let Some(slot) = &self.tape
            && let Ok(mut tape) = slot.lock()
            && let Some(tape) = tape.as_mut()
        {
            tape.append(&mut carried);
        }
        if carried.save {
            self.save();
        }
    }

    /// The flag file is the truth; the core is told when it changes.
    fn sync_emergency_flag(&mut self) {
        let on = self.emergency_flag.exists();
        if on != self.core.halted() {
            // The flag's text says who set it and why (`gridbot stop`, the dashboard): at most
            // one line of it, bounded.
            let reason = on.then(|| std::fs::read_to_string(&self.emergency_flag).ok()).flatten().map(|t| {
                let line = t.lines().next().unwrap_or_default();
                let line = line.split_once(" UTC ms: ").map_or(line, |(_, why)| why);
                line.chars().take(240).collect::<String>()
            });
            self.process(CoreEvent::EmergencyStop { on, reason }, None);
        }
    }

    /// Once a second: the flag and operator files, the core's timeouts, periodic saves.
    fn tick(&mut self) {
        self.last_tick = Instant::now();
        self.sync_emergency_flag();
        self.check_resume();
        self.check_recentre();
        self.process(CoreEvent::Tick, None);
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save();
        }
        self.publish();
    }

    fn check_resume(&mut self) {
        let path = self.dir.join(files::RESUME);
        if !path.exists() {
            return;
        }
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(account = %self.id, error = %e, "cannot consume the resume request");
            return;
        }
        self.process(CoreEvent::Resume, None);
    }

    /// Recentre requests (`gridbot recentre`, the dashboard): one file per symbol, consumed.
    fn check_recentre(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let mut requests = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(symbol) = name.strip_prefix(files::RECENTRE_PREFIX) else { continue };
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(account = %self.id, error = %e, "cannot consume the recentre request");
                continue;
            }
            requests.push((symbol.to_owned(), text));
        }
        for (symbol, text) in requests {
            let profile = text.trim().strip_prefix("profile:").map(str::trim);
            let parsed = profile.map(gridbot_strategy::Profile::from_name);
            match (gridbot_core::Symbol::new(symbol.clone()), parsed) {
                (Ok(symbol), None) => self.process(CoreEvent::Recentre { symbol, profile: None }, None),
                (Ok(symbol), Some(Some(p))) => self.process(CoreEvent::Recentre { symbol, profile: Some(p) }, None),
                _ => {
                    tracing::warn!(account = %self.id, %symbol, request = %text.trim(), "ignored a malformed recentre request")
                }
            }
        }
    }

    /// The snapshot of every symbol, sent to the persister; one a restart would refuse is
    /// never written (the core reconciles first).
    fn save(&mut self) {
        let now = self.clock.now_ms();
        let record = self.tape.is_some();
        let flag = &self.emergency_flag;
        let mut gate = || !flag.exists();
        let mut venue = Venue { exchange: &*self.exchange, may_send: &mut gate, durable: &mut |_, _| {} };
        let (snapshot, mut carried) = checked_snapshot(&mut self.core, &mut venue, now, record);
        carried.save = false;
        self.carry_out(carried);
        if let Some(snapshot) = snapshot {
            self.persister.send(Record::Snapshot(Box::new(snapshot)));
            self.last_save = Instant::now();
        }
    }

    fn publish(&mut self) {
        let stats = self.core.stats();
        self.summary.strategy = stats.strategy;
        self.summary.risk_events = stats.risk_events;
        self.summary.reconciliations = stats.reconciliations;
        if let Ok(mut shared) = self.shared.lock() {
            shared.clone_from(&self.summary);
        }
    }
}
