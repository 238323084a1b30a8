//! Opening an account: its directory and lock, the snapshot and journal, each symbol's
//! instrument, position mode, leverage and locked plan, then recovery from the exchange
//! (DESIGN §7) before the first event is processed.
//!
//! Order of work, so nothing is missed: the bot starts the private stream *before* calling
//! `open` (events queue up), recovery reads the exchange, and the worker then processes the
//! queued events against the recovered state (duplicates are idempotent).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gridbot_core::time::DAY_MS;
use gridbot_core::{
    ErrorAction, Exchange, ExchangeError, Instrument, Interval, KlineQuery, OhlcSeries, PositionIdx, PositionMode,
    Symbol, TimeWindow, decimal_to_f64,
};
use gridbot_grid::GridPlan;
use gridbot_recovery::{RecoveryInput, RecoveryReport, recover};
use gridbot_risk::LegPair;
use gridbot_state::{Journal, Loaded, SnapshotStore, SymbolState};

use super::{AccountParts, AccountSummary, Slot, TradingAccount, files};
use crate::alerts::AlertKind;
use crate::config::{ClassicConfig, ProgressiveConfig, StrategyConfig, SymbolConfig};
use crate::executor::Executor;
use crate::persist::{Persister, Record};
use crate::strategy::{ClassicGrid, LayoutSpec, MarketView, ProgressiveGrid, Strategy};

/// How far back recovery reads order and execution history.
pub(crate) const HISTORY_MS: i64 = 30 * DAY_MS;

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

/// How to open an account.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Recovery reports what it would do and sends nothing.
    pub dry_run: bool,
}

/// What recovery did for one symbol.
#[derive(Debug, Clone)]
pub enum SymbolRecovery {
    /// Progressive: gridbot-recovery's report.
    Progressive(Box<RecoveryReport>),
    /// Classic: a sentence.
    Classic(String),
}

struct Opening<'a> {
    id: &'a str,
    exchange: &'a Arc<dyn Exchange + Send + Sync>,
}

impl Opening<'_> {
    fn ex<T>(&self, what: impl FnOnce() -> String, r: Result<T, ExchangeError>) -> Result<T, AccountError> {
        r.map_err(|source| AccountError::Exchange {
            account: self.id.to_owned(),
            what: what(),
            source: Box::new(source),
        })
    }

    fn setup(&self, message: String) -> AccountError {
        AccountError::Setup { account: self.id.to_owned(), message }
    }

    /// EMA(ATR%) of the last complete daily candles.
    fn atr_pct(&self, symbol: &Symbol, span: usize, now: i64) -> Result<f64, AccountError> {
        let days = i64::try_from(span).unwrap_or(365) + 3;
        let query = KlineQuery {
            symbol: symbol.clone(),
            interval: Interval::D1,
            window: TimeWindow { start_ms: now - days * DAY_MS, end_ms: now },
        };
        let mut candles = self.ex(|| format!("{symbol}: daily candles"), self.exchange.klines(&query))?;
        candles.retain(|c| c.open_time_ms + DAY_MS <= now);
        let series = OhlcSeries::from_candles(&candles);
        if series.len() < span {
            return Err(self.setup(format!(
                "{symbol}: the exchange has {} complete daily candles, EMA span {span} needs {span} (or set atr_pct)",
                series.len()
            )));
        }
        gridbot_grid::volatility::atr_pct_ema_last(&series, span).map_err(|e| self.setup(format!("{symbol}: ATR: {e}")))
    }

    fn plan(
        &self,
        cfg: &ProgressiveConfig,
        instrument: &Instrument,
        locked: Option<&GridPlan>,
        now: i64,
    ) -> Result<(GridPlan, bool), AccountError> {
        let symbol = instrument.symbol();
        if let Some(plan) = locked.filter(|p| p.symbol() == symbol) {
            match plan.check_instrument(instrument) {
                Ok(()) => {
                    if plan.params() != &cfg.params {
                        tracing::warn!(account = %self.id, %symbol, "the configured grid differs from the locked plan; the locked plan stays (delete the state file to rebuild it)");
                    }
                    return Ok((plan.clone(), false));
                }
                Err(e) => {
                    tracing::warn!(account = %self.id, %symbol, error = %e, "the locked plan no longer fits the instrument; building a new one")
                }
            }
        }
        let atr = match cfg.atr_pct {
            Some(a) => a,
            None => self.atr_pct(symbol, cfg.params.ema_span, now)?,
        };
        let plan = GridPlan::from_atr_pct_ema(&cfg.params, atr, instrument, now)
            .map_err(|e| self.setup(format!("{symbol}: grid plan: {e}")))?;
        Ok((plan, true))
    }

    fn classic_settings(
        &self,
        cfg: &ClassicConfig,
        symbol: &Symbol,
        now: i64,
    ) -> Result<crate::strategy::ClassicSettings, AccountError> {
        let mut settings = cfg.settings;
        if let Some(m) = cfg.atr_spacing {
            let spacing = gridbot_grid::atr_spacing(self.atr_pct(symbol, 14, now)?, m)
                .map_err(|e| self.setup(format!("{symbol}: ATR spacing: {e}")))?;
            settings.layout = match settings.layout {
                LayoutSpec::AroundMarket { levels_per_side, .. } => {
                    LayoutSpec::AroundMarket { spacing, levels_per_side }
                }
                other => other,
            };
        }
        Ok(settings)
    }
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
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(AccountError::Locked { account: id.to_owned(), path: path.display().to_string() })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io("locking", e)),
    }
}

impl TradingAccount {
    /// Opens the account and recovers every symbol from the exchange.
    pub fn open(
        parts: AccountParts,
        options: OpenOptions,
    ) -> Result<(Self, Vec<(Symbol, SymbolRecovery)>), AccountError> {
        let AccountParts { config, dir, exchange, clock, queue, alerts, latency } = parts;
        let id = config.account_id.clone();
        let io = |what: &str, source| AccountError::Io { account: id.clone(), what: what.to_owned(), source };
        std::fs::create_dir_all(dir.join(files::LOGS)).map_err(|e| io("creating the account directory", e))?;
        let lock = lock(&dir, &id)?;
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
        let o = Opening { id: &id, exchange: &exchange };
        let wallet = o.ex(|| "wallet".into(), exchange.wallet())?;
        let mut slots = Vec::new();
        let mut reports = Vec::new();
        let mut grid_rows = Vec::new();
        for sc in &config.symbols {
            let state = snapshot.as_ref().and_then(|s| s.symbols.get(&sc.symbol));
            let (slot, report, new_plan) = open_symbol(&o, &config.tag, sc, state, now, dry_run)?;
            if let Some(details) = new_plan {
                grid_rows.push(Record::Grid(now, sc.symbol.as_str().to_owned(), "plan".into(), details));
            }
            reports.push((sc.symbol.clone(), report));
            slots.push(slot);
        }
        let persister = Persister::start(store, journal, &id).map_err(|e| io("starting the persister", e))?;
        if !options.dry_run {
            for row in grid_rows {
                persister.send(row);
            }
        }
        let executor = Executor::new(Arc::clone(&exchange), flag.clone(), latency);
        let summary = AccountSummary {
            account: id.clone(),
            equity: Some(wallet.total_equity.to_string()),
            ..AccountSummary::default()
        };
        let mut account = Self {
            id: id.clone(),
            tag: config.tag.clone(),
            dir,
            clock,
            queue,
            slots,
            wallet: Some(wallet),
            account_memory: snapshot.as_ref().map(|s| s.account_risk.clone()).unwrap_or_default(),
            risk_params: config.risk.clone(),
            executor,
            persister,
            alerts,
            alerted: std::collections::HashMap::new(),
            flag_on: flag.exists(),
            last_execution: snapshot.as_ref().and_then(|s| s.last_execution_id.clone().zip(s.last_execution_ms)),
            last_tick: Instant::now(),
            last_equity_ms: 0,
            last_save: Instant::now(),
            dirty: false,
            shared: Arc::new(Mutex::new(summary.clone())),
            summary,
            _lock: lock,
        };
        for (symbol, report) in &reports {
            account.announce(symbol, report, dry_run);
        }
        if !options.dry_run {
            account.save();
        }
        Ok((account, reports))
    }

    fn announce(&self, symbol: &Symbol, report: &SymbolRecovery, dry_run: bool) {
        let now = self.clock.now_ms();
        let text = match report {
            SymbolRecovery::Progressive(r) => {
                let leg = |l: &gridbot_recovery::LegAnalysis| match l.level {
                    Some(level) => format!("level {level} (cycle {}, size {})", l.cycle, l.size),
                    None if l.size.is_zero() => format!("flat (cycle {})", l.cycle),
                    None => format!("size {} at an unknown level", l.size),
                };
                let mut text =
                    format!("recovered {:?}: long {}, short {}; ", r.classification, leg(&r.legs[0]), leg(&r.legs[1]));
                if r.unchanged {
                    text.push_str("every order already in place");
                } else if dry_run {
                    text.push_str(&format!("would cancel the open orders and place {} (dry run)", r.desired.len()));
                } else {
                    text.push_str(&format!("cancelled {}, placed {}", r.cancelled, r.placed));
                }
                for l in &r.legs {
                    for f in &l.findings {
                        tracing::warn!(account = %self.id, %symbol, leg = ?l.leg, finding = ?f, "recovery finding");
                    }
                }
                if let Some(rc) = &r.reconciliation {
                    for o in &rc.orphans {
                        tracing::warn!(account = %self.id, %symbol, order_link_id = %o.order_link_id, order_id = %o.order_id, "orphan order on the exchange: left alone, never adopted");
                    }
                    if !rc.filled_while_down.is_empty() {
                        text.push_str(&format!("; {} order(s) filled while down", rc.filled_while_down.len()));
                    }
                }
                text
            }
            SymbolRecovery::Classic(s) => s.clone(),
        };
        self.alerts.raise(AlertKind::Info, Some(symbol.as_str()), &text);
        self.persister.send(Record::Event(now, "recovery".into(), Some(symbol.as_str().to_owned()), text));
    }
}

type OpenedSymbol = (Slot, SymbolRecovery, Option<String>);

fn open_symbol(
    o: &Opening<'_>,
    tag: &str,
    sc: &SymbolConfig,
    state: Option<&SymbolState>,
    now: i64,
    dry_run: bool,
) -> Result<OpenedSymbol, AccountError> {
    let symbol = &sc.symbol;
    let ex = o.exchange;
    let instrument = o.ex(|| format!("{symbol}: instrument"), ex.instrument(symbol))?;
    let spec = instrument.spec();
    if sc.leverage < spec.min_leverage || sc.leverage > spec.max_leverage {
        return Err(o.setup(format!(
            "{symbol}: leverage {} is outside the exchange's {}..{}",
            sc.leverage, spec.min_leverage, spec.max_leverage
        )));
    }
    if !dry_run {
        o.ex(|| format!("{symbol}: switching to hedge mode"), ex.set_position_mode(symbol, PositionMode::Hedge))?;
        o.ex(|| format!("{symbol}: setting leverage"), ex.set_leverage(symbol, sc.leverage, sc.leverage))?;
    }
    let top = o.ex(|| format!("{symbol}: order book"), ex.orderbook_top(symbol))?;
    let market = MarketView { bid: top.bid.map(|l| l.price), ask: top.ask.map(|l| l.price), ts_ms: top.time_ms };
    let mut slot_positions = LegPair::default();
    for p in o.ex(|| format!("{symbol}: positions"), ex.positions(symbol))? {
        match p.position_idx {
            PositionIdx::Long => slot_positions.long = Some(p),
            PositionIdx::Short => slot_positions.short = Some(p),
            PositionIdx::OneWay => {}
        }
    }
    let risk = state.map(|s| s.risk.clone()).unwrap_or_default();
    let (strategy, report, new_plan): (Box<dyn Strategy>, SymbolRecovery, Option<String>) = match &sc.strategy {
        StrategyConfig::Progressive(cfg) => {
            let (plan, fresh) = o.plan(cfg, &instrument, state.and_then(|s| s.plan.as_ref()), now)?;
            let input = RecoveryInput {
                account_tag: tag,
                symbol,
                plan: &plan,
                snapshot: state.filter(|s| s.classic.is_none()),
                history: TimeWindow { start_ms: now - HISTORY_MS, end_ms: now },
                now_ms: now,
                dry_run,
            };
            let report = recover(&**ex, &input).map_err(|e| match e {
                gridbot_recovery::RecoveryError::Exchange(source) => AccountError::Exchange {
                    account: o.id.to_owned(),
                    what: format!("{symbol}: recovery"),
                    source: Box::new(source),
                },
                other => o.setup(format!("{symbol}: recovery: {other}")),
            })?;
            let mut grid = ProgressiveGrid::new(tag, instrument.clone(), plan.clone(), cfg.settings, now);
            grid.restore(&report.state);
            let details = fresh.then(|| {
                serde_json::json!({
                    "base_step": plan.base_step().to_string(),
                    "atr_pct_ema": plan.atr_pct_ema(),
                    "max_level": plan.max_level(),
                    "quantities": plan.quantities().iter().map(ToString::to_string).collect::<Vec<_>>(),
                })
                .to_string()
            });
            (Box::new(grid), SymbolRecovery::Progressive(Box::new(report)), details)
        }
        StrategyConfig::Classic(cfg) => {
            let settings = o.classic_settings(cfg, symbol, now)?;
            let mut grid = ClassicGrid::new(tag, instrument.clone(), settings, now);
            let text = super::reconcile::classic_startup(o.exchange, &mut grid, state, &slot_positions, dry_run, now)
                .map_err(|source| AccountError::Exchange {
                account: o.id.to_owned(),
                what: format!("{symbol}: recovery"),
                source: Box::new(source),
            })?;
            (Box::new(grid), SymbolRecovery::Classic(text), None)
        }
    };
    // Positions may have changed while recovery acted; read them again.
    if !dry_run {
        for p in o.ex(|| format!("{symbol}: positions"), ex.positions(symbol))? {
            match p.position_idx {
                PositionIdx::Long => slot_positions.long = Some(p),
                PositionIdx::Short => slot_positions.short = Some(p),
                PositionIdx::OneWay => {}
            }
        }
    }
    let slot = Slot {
        strategy,
        market,
        positions: slot_positions,
        risk,
        risk_limit: decimal_to_f64(sc.risk_limit),
        drift_since: None,
        risk_active: std::collections::HashSet::new(),
    };
    Ok((slot, report, new_plan))
}
