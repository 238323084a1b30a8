//! Opening an account: its directory and lock, the snapshot and journal, then each symbol
//! through gridbot-strategy's `open_symbol` (instrument, leverage, locked plan, recovery from the
//! exchange) before the first event is processed.
//!
//! Order of work, so nothing is missed: the bot starts the private stream *before* calling
//! `open` (events queue up), recovery reads the exchange, and the worker then processes the
//! queued events against the recovered state (duplicates are idempotent).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gridbot_core::{ErrorAction, ExchangeError, Symbol};
use gridbot_state::{Journal, Loaded, SnapshotStore};
use gridbot_strategy::{
    AccountCore, CoreStart, CoreTape, EventKind, HeardExecutions, JournalRecord, OpenError, SymbolRecovery, open_symbol,
};

use super::{AccountParts, AccountSummary, TradingAccount, files};
use crate::alerts::AlertKind;
use crate::live::SharedPrices;
use crate::persist::{Persister, Record};

/// How far before the snapshot's newest execution a restart looks for executions the journal
/// lacks (an unheard fill of one symbol can be older than a heard one of another).
const MISSED_MARGIN_MS: i64 = 3_600_000;

/// How far back a restart reads the exchange's fills at least, to price exits from them.
const REPLAY_MS: i64 = 3 * 86_400_000;

/// Why an account could not start.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A file or directory.
    #[error("{account}: {what}: {source}")]
    Io {
        /// Account.
        account: String,
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// Another process runs this account.
    #[error("{account}: another gridbot is running this account (it holds {path})")]
    Locked {
        /// Account.
        account: String,
        /// The lock file.
        path: String,
    },
    /// The exchange failed or refused.
    #[error("{account}: {what}: {source}")]
    Exchange {
        /// Account.
        account: String,
        /// What was being done.
        what: String,
        /// The error.
        source: Box<ExchangeError>,
    },
    /// The configuration does not fit the exchange (leverage bounds, history too short, ...).
    #[error("{account}: {message}")]
    Setup {
        /// Account.
        account: String,
        /// What is wrong.
        message: String,
    },
    /// The journal.
    #[error("{account}: {source}")]
    Journal {
        /// Account.
        account: String,
        /// The error.
        source: gridbot_state::JournalError,
    },
}

impl AccountError {
    /// True when the exchange refused the credentials or their permissions.
    #[must_use]
    pub fn is_credentials(&self) -> bool {
        matches!(self, Self::Exchange { source, .. } if source.action() == ErrorAction::Fatal)
    }
}

impl AccountError {
    pub(crate) fn from_open(account: &str, e: OpenError) -> Self {
        match e {
            OpenError::Exchange { what, source } => Self::Exchange { account: account.to_owned(), what, source },
            OpenError::Setup(message) => Self::Setup { account: account.to_owned(), message },
        }
    }
}

/// How to open an account.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Recovery reports what it would do and sends nothing.
    pub dry_run: bool,
}

fn lock(dir: &Path, id: &str) -> Result<std::fs::File, AccountError> {
    let path = dir.join(files::LOCK);
    let io = |what: &str, source| AccountError::Io { account: id.to_owned(), what: what.to_owned(), source };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io("opening the lock file", e))?;
    // `gridbot status` and the dashboard probe the lock for an instant to tell whether a bot
    // runs; a start that meets such a probe tries again for a second (a bot holds it for good).
    let patience = Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < patience => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(AccountError::Locked { account: id.to_owned(), path: path.display().to_string() });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("locking", e)),
        }
    }
}

impl TradingAccount {
    /// Opens the account and recovers every symbol from the exchange.
    pub fn open(
        parts: AccountParts,
        options: OpenOptions,
    ) -> Result<(Self, Vec<(Symbol, SymbolRecovery)>), AccountError> {
        let AccountParts { config, dir, exchange, clock, queue, alerts, latency, tape } = parts;
        let id = config.account_id.clone();
        let io = |what: &str, source| AccountError::Io { account: id.clone(), what: what.to_owned(), source };
        std::fs::create_dir_all(dir.join(files::LOGS)).map_err(|e| io("creating the account directory", e))?;
        // A dry run only reads: it runs beside a bot that holds the lock, and writes nothing.
        let lock = if options.dry_run { None } else { Some(lock(&dir, &id)?) };
        let journal = Journal::open(&dir.join(files::JOURNAL))
            .map_err(|source| AccountError::Journal { account: id.clone(), source })?;
        let store = SnapshotStore::new(&dir, &id);
        let now = clock.now_ms();
        let snapshot = match store.load(now).map_err(|e| io("reading the snapshot", e.source))? {
            Loaded::Snapshot { snapshot, migrated_from } => {
                if let Some(v) = migrated_from {
                    tracing::info!(account = %id, from = v, "snapshot migrated");
                }
                Some(snapshot)
            }
            Loaded::Missing => {
                tracing::info!(account = %id, "no snapshot: state comes from the exchange");
                None
            }
            Loaded::Corrupt { moved_to, reason } => {
                alerts.raise(
                    AlertKind::Error,
                    None,
                    &format!(
                        "snapshot unreadable ({reason}); kept as {}; rebuilding from the exchange",
                        moved_to.display()
                    ),
                );
                None
            }
        };
        let flag = dir.join(files::EMERGENCY_STOP);
        let dry_run = options.dry_run || flag.exists();
        let wallet = exchange.wallet().map_err(|source| AccountError::Exchange {
            account: id.clone(),
            what: "wallet".into(),
            source: Box::new(source),
        })?;
        let mut symbols = Vec::new();
        let mut reports = Vec::new();
        let mut plan_rows = Vec::new();
        let mut changes = Vec::new();
        let mut missed = Vec::new();
        let mut repriced = Vec::new();
        // The executions read here are heard: a later reconciliation does not count them again.
        let mut heard_floor = None;
        let mut heard = Vec::new();
        for sc in &config.symbols {
            let state = snapshot.as_ref().and_then(|s| s.symbols.get(&sc.symbol));
            let heard_until = snapshot.as_ref().and_then(|s| s.last_execution_ms);
            let opened = open_symbol(&*exchange, &config.tag, sc, state, heard_until, now, dry_run)
                .map_err(|e| AccountError::from_open(&id, e))?;
            if let Some(change) = opened.new_plan {
                plan_rows.push(JournalRecord::Grid { at_ms: now, symbol: sc.symbol.clone(), change });
            }
            changes.extend(opened.config_changes.into_iter().map(|c| (sc.symbol.clone(), c)));
            // What the exchange executed that the journal does not hold (the bot was away):
            // fills with the PnL they realised, and funding — from a little before the newest
            // execution the snapshot knows, so nothing unheard on another symbol slips through.
            // The saved legs reflect every fill up to the snapshot's newest execution; without
            // one (killed before any fill was saved) the journal says from when to read.
            let reflected_until = snapshot.as_ref().and_then(|s| s.last_execution_ms);
            let read_from = reflected_until
                .or_else(|| journal.last_execution().ok().flatten().map(|(_, t)| t))
                .or_else(|| journal.first_order_ms().ok().flatten())
                .unwrap_or(now - gridbot_strategy::reconcile::HISTORY_MS + MISSED_MARGIN_MS);
            if let Some(state) = state {
                // At least a few days back, so the exchange's own fills reach the moment each leg
                // was last flat and price the exits from there.
                let mut start_ms = (read_from - MISSED_MARGIN_MS).min(now - REPLAY_MS);
                // An exit journaled without its PnL: read far enough back to price it.
                if let Ok(Some(t)) = journal.oldest_exit_lacking_pnl(sc.symbol.as_str()) {
                    start_ms = start_ms.min(t - REPLAY_MS).max(now - gridbot_strategy::reconcile::HISTORY_MS);
                }
                let window = gridbot_core::TimeWindow { start_ms, end_ms: now };
                // The exchange's position now, read with the fills: exits are priced by the
                // exchange's own fills where they explain it.
                let now_legs = exchange.positions(&sc.symbol).map(|rows| {
                    let legs = gridbot_strategy::reconcile::positions_by_leg(&rows);
                    let leg = |p: Option<&gridbot_core::Position>| {
                        p.map_or((gridbot_core::Qty::ZERO, None), |p| {
                            (p.size, p.avg_price.filter(|_| !p.size.is_zero()))
                        })
                    };
                    [leg(legs.long.as_ref()), leg(legs.short.as_ref())]
                });
                match exchange.executions(&sc.symbol, window) {
                    Ok(list) => {
                        let replayed = now_legs
                            .as_ref()
                            .map(|now| gridbot_strategy::replay::exchange_realised(&config.tag, &list, *now))
                            .unwrap_or_default();
                        // Exits the journal holds without their PnL get it now.
                        for e in &list {
                            if let Some(pnl) = replayed.get(&e.exec_id)
                                && journal.lacks_pnl(&e.exec_id).unwrap_or(false)
                            {
                                repriced.push((e.clone(), *pnl));
                            }
                        }
                        heard_floor = Some(window.start_ms);
                        heard.extend(list.iter().map(|e| (e.exec_id.clone(), e.exec_time_ms)));
                        let journaled = |exec_id: &str| journal.has_execution(exec_id).unwrap_or(true);
                        // The legs as saved reflect every fill up to the snapshot's newest; later
                        // ones, and any the journal lacks, move them.
                        let unreflected: Vec<_> = list
                            .into_iter()
                            .filter(|e| reflected_until.is_none_or(|t| e.exec_time_ms > t) || !journaled(&e.exec_id))
                            .collect();
                        let rows =
                            gridbot_strategy::missed_fills(&config.tag, state, unreflected, &journaled, &replayed);
                        // A classic grid's catch-up applies its fills on the first event and
                        // moves the newest heard execution then; only the rest moves it now.
                        let moves = state.classic.is_none();
                        missed.extend(rows.into_iter().map(|(e, pnl)| (e, pnl, moves)));
                    }
                    Err(e) => {
                        tracing::warn!(account = %id, symbol = %sc.symbol, error = %e, "executions while away: not read")
                    }
                }
            }
            reports.push((sc.symbol.clone(), opened.recovery));
            symbols.push(opened.core);
        }
        let persister = Persister::start(store, journal, &id).map_err(|e| io("starting the persister", e))?;
        if !options.dry_run {
            for row in plan_rows {
                persister.send(Record::Journal(row));
            }
        }
        // Executions made while the bot was away: journaled, so the journal holds every one the
        // exchange does (idempotent on exec_id), and the newest is remembered.
        let mut last_execution = snapshot.as_ref().and_then(|s| s.last_execution_id.clone().zip(s.last_execution_ms));
        if !options.dry_run && !missed.is_empty() {
            tracing::info!(account = %id, executions = missed.len(), "journaling the executions made while away");
            for (execution, realised_pnl, moves) in missed {
                if moves && last_execution.as_ref().is_none_or(|(_, t)| execution.exec_time_ms >= *t) {
                    last_execution = Some((execution.exec_id.clone(), execution.exec_time_ms));
                }
                persister
                    .send(Record::Journal(JournalRecord::Execution { execution: Box::new(execution), realised_pnl }));
            }
        }
        if !options.dry_run && !repriced.is_empty() {
            tracing::info!(account = %id, executions = repriced.len(), "journaled exits without their PnL: priced from the exchange's fills");
            for (execution, pnl) in repriced {
                persister.send(Record::Journal(JournalRecord::Execution {
                    execution: Box::new(execution),
                    realised_pnl: Some(pnl),
                }));
            }
        }
        let summary = AccountSummary {
            account: id.clone(),
            equity: Some(wallet.total_equity.to_string()),
            ..AccountSummary::default()
        };
        let start = CoreStart {
            wallet: Some(wallet),
            account_memory: snapshot.as_ref().map(|s| s.account_risk.clone()).unwrap_or_default(),
            last_execution,
            halted: flag.exists(),
            risk_alerts: snapshot.as_ref().map(|s| s.risk_alerts.clone()).unwrap_or_default(),
            heard: HeardExecutions::seeded(heard_floor, heard),
        };
        let core = AccountCore::new(&id, config.risk.clone(), symbols, start);
        if let Some(slot) = &tape
            && let Ok(mut t) = slot.lock()
        {
            *t = Some(CoreTape::new(core.clone()));
        }
        let mut account = Self {
            id: id.clone(),
            dir,
            clock,
            queue,
            core,
            exchange,
            emergency_flag: flag,
            latency,
            persister,
            alerts,
            last_tick: Instant::now(),
            last_save: Instant::now(),
            shared: Arc::new(Mutex::new(summary.clone())),
            prices: SharedPrices::new(config.symbols.iter().map(|s| s.symbol.clone())),
            summary,
            tape,
            _lock: lock,
        };
        let journal = !options.dry_run;
        for (symbol, report) in &reports {
            account.announce(symbol, report, dry_run, journal);
        }
        for (symbol, change) in changes {
            let text = format!("the configuration differs from the running grid: {change}");
            account.alerts.raise(AlertKind::Risk, Some(symbol.as_str()), &text);
            if journal {
                account.persister.send(Record::Journal(JournalRecord::Event {
                    at_ms: now,
                    kind: EventKind::Recovery,
                    symbol: Some(symbol),
                    message: text,
                }));
            }
        }
        if !options.dry_run {
            account.save();
        }
        Ok((account, reports))
    }

    fn announce(&self, symbol: &Symbol, report: &SymbolRecovery, dry_run: bool, journal: bool) {
        let now = self.clock.now_ms();
        let text = report.describe(dry_run);
        if let SymbolRecovery::Progressive(r) = report {
            for l in &r.legs {
                for f in &l.findings {
                    tracing::warn!(account = %self.id, %symbol, leg = ?l.leg, finding = ?f, "recovery finding");
                }
            }
            if let Some(rc) = &r.reconciliation {
                for o in &rc.orphans {
                    tracing::warn!(account = %self.id, %symbol, order_link_id = %o.order_link_id, order_id = %o.order_id, "orphan order on the exchange: left alone, never adopted");
                }
            }
        }
        self.alerts.raise(AlertKind::Info, Some(symbol.as_str()), &text);
        if journal {
            self.persister.send(Record::Journal(JournalRecord::Event {
                at_ms: now,
                kind: EventKind::Recovery,
                symbol: Some(symbol.clone()),
                message: text,
            }));
        }
    }
}
