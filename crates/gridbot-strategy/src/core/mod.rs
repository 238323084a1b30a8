//! [`AccountCore`]: everything one account decides — its grids, their risk, what to send,
//! what to journal and alert, when to reconcile — with no threads, files, sockets or clocks.
//!
//! `on_event(event, now_ms) -> Effects`. The caller feeds every event with the time it
//! happened; the core answers with [`Effect`]s in the order they are due: command batches to
//! send (their outcomes come back as [`CoreEvent::Outcomes`]), reconciliation jobs to run
//! (their results come back as [`CoreEvent::Reconciled`]), journal records, alerts, and when
//! the state is worth saving. [`crate::driver`] is the loop that does this over the `Exchange`
//! trait; live trading, paper trading and backtests all run it.
//!
//! Decisions:
//! - **Risk before every batch.** Each time a symbol acts, the risk snapshot is built from the
//!   grid's legs, the exchange's positions and wallet and the risk memory, `evaluate`d, and the
//!   grid's commands are asked for under that decision. After a batch's outcomes the symbol
//!   acts again (outcomes change the picture: a skipped replacement, a failed cancel), at most
//!   three rounds per event.
//! - **Event time only.** Every timeout — a partial fill's freeze, an unexplained order, the
//!   hourly repeat of a lasting risk alert, the grace before disagreeing positions are
//!   reconciled — counts in the `now_ms` given, so a replay at any speed behaves like real time.
//! - **Fills first.** Orders a batch of fills calls for are due before the alerts and journal
//!   rows about those fills.
//! - **Quiet data is cheap.** After a decision that asked for nothing, the grid and the risk
//!   engine say how far the book and the clock may move before deciding again could change
//!   anything ([`Calm`]); book updates and ticks inside that are skipped.
//!   Any other event decides again. Skipping changes no command (a test runs backtests both
//!   ways and compares the bytes of their results).
//! - **Halted is an input.** The emergency stop reaches the core as an event; the executor's
//!   gate still checks it before every request.

mod events;
mod heard;
mod risk_view;

pub use heard::{HEARD_KEEP_MS, HeardExecutions};

use std::collections::{BTreeMap, HashMap, HashSet};

use gridbot_core::{Execution, Leg, Order, Position, Price, Symbol, Wallet};
use gridbot_risk::{AccountMemory, AccountView, LegMemory, LegPair, LegSnapshot, RiskLevel, RiskParams};
use gridbot_state::{AccountSnapshot, SymbolState};

use crate::command::{Command, Outcome};
use crate::grid::{Calm, Grid, StrategyStats};
use crate::market::MarketView;
use crate::reasons::ReconcileReason;
use crate::reconcile::{ReconcileJob, Reconciled};
use crate::records::{Alert, JournalRecord};

/// A lasting risk condition is alerted when it starts, and again if it still holds this much
/// (event time) later.
pub const ALERT_REPEAT_MS: i64 = 3_600_000;
/// How long the exchange's positions may disagree with the grid (events in flight) before the
/// symbol is reconciled, in event time.
pub const DRIFT_GRACE_MS: i64 = 5_000;
/// An equity sample goes to the journal at most this often (event time).
pub const EQUITY_EVERY_MS: i64 = 60_000;
/// Command rounds per symbol and event.
pub const MAX_ROUNDS: u8 = 3;

/// What the core reacts to.
#[derive(Debug, Clone)]
pub enum CoreEvent {
    /// Act once on every symbol (after recovery, before the first event).
    Start,
    /// Fills and funding.
    Executions(Vec<Execution>),
    /// Order updates.
    Orders(Vec<Order>),
    /// Position updates.
    Positions(Vec<Position>),
    /// A wallet update.
    Wallet(Wallet),
    /// The top of a symbol's book.
    Book {
        /// Symbol.
        symbol: Symbol,
        /// Best bid.
        bid: Option<Price>,
        /// Best ask.
        ask: Option<Price>,
        /// Exchange time, UTC ms.
        ts_ms: i64,
    },
    /// The predicted funding rate of a symbol and its next settlement (the ticker stream live;
    /// the funding source in a backtest).
    Funding {
        /// Symbol.
        symbol: Symbol,
        /// Predicted rate (positive: longs pay).
        rate: gridbot_core::Decimal,
        /// The next settlement, UTC ms.
        next_funding_ms: i64,
    },
    /// What came of a batch of [`Effect::Send`].
    Outcomes {
        /// The batch's symbol.
        symbol: Symbol,
        /// The batch's round.
        round: u8,
        /// One outcome per command, in order.
        outcomes: Vec<Outcome>,
    },
    /// What came of an [`Effect::Reconcile`].
    Reconciled(Box<Reconciled>),
    /// Time passed: timeouts, drift, equity samples (the live shell ticks every second).
    Tick,
    /// The emergency stop went on or off.
    EmergencyStop {
        /// On.
        on: bool,
        /// What the flag says (who set it and why), for the alert and the journal.
        reason: Option<String>,
    },
    /// An operator resumed the account: re-arm the kill switch, restart stopped grids.
    Resume,
    /// An operator asked a classic grid to recentre now, with a new profile if given.
    Recentre {
        /// Symbol.
        symbol: Symbol,
        /// The profile to take.
        profile: Option<gridbot_grid::Profile>,
    },
    /// Reconcile every symbol (e.g. the private stream reconnected and events may be lost).
    ReconcileAll(ReconcileReason),
}

/// One thing the core wants done, in the order it is due.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Send these commands (with the executor); feed the outcomes back.
    Send {
        /// Symbol.
        symbol: Symbol,
        /// Round of this event (1..=3).
        round: u8,
        /// The commands, in order.
        commands: Vec<Command>,
    },
    /// Run this reconciliation; feed the result back.
    Reconcile(ReconcileJob),
    /// Journal this.
    Record(JournalRecord),
    /// Alert this.
    Alert(Alert),
    /// The state changed in a way worth saving (after this event).
    Save,
    /// Make the state durable *now*, before the next batch goes out: a classic grid built a new
    /// generation, and a crash after its first orders must find it (else the next start would
    /// not know the orders and fills as its own).
    SaveNow,
}

/// Effects in order.
pub type Effects = Vec<Effect>;

/// Counters of the core, for summaries and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CoreStats {
    /// The grids' counters, summed.
    pub strategy: StrategyStats,
    /// Risk alerts raised.
    pub risk_events: u64,
    /// Risk alerts raised, by level.
    pub risk_by_level: BTreeMap<RiskLevel, u64>,
    /// Reconciliations asked for.
    pub reconciliations: u64,
}

/// One symbol: its grid and what the core knows around it.
#[derive(Debug, Clone)]
pub struct SymbolCore {
    pub(crate) grid: Grid,
    pub(crate) market: MarketView,
    pub(crate) positions: LegPair<Option<Position>>,
    /// Each position as risk reads it (its amounts in `f64`), converted once when the
    /// position is reported rather than at every decision; kept by `set_position`.
    pub(crate) position_figures: LegPair<Option<LegSnapshot>>,
    pub(crate) risk: LegPair<LegMemory>,
    pub(crate) risk_limit: f64,
    /// Since when (event time) the exchange's positions disagree with the grid.
    pub(crate) drift_since: Option<i64>,
    /// The risk conditions of the last decision (alerts go out when one starts).
    pub(crate) risk_active: HashSet<(RiskLevel, Option<Leg>)>,
    /// After a decision that asked for nothing: how far the book and the clock may move before
    /// deciding again could change anything (`None`: decide on the next event).
    pub(crate) calm: Option<Calm>,
    /// What a classic grid found to catch up with when it opened, applied on `Start`.
    pub(crate) catch_up: Option<crate::reconcile::ClassicSync>,
}

impl SymbolCore {
    /// A symbol with its (recovered) grid, the book, the positions and the risk memory.
    #[must_use]
    pub fn new(
        grid: Grid,
        market: MarketView,
        positions: LegPair<Option<Position>>,
        risk: LegPair<LegMemory>,
        risk_limit: f64,
    ) -> Self {
        let figures = |leg: Leg| positions.get(leg).as_ref().map(|p| LegSnapshot::from_position(p, None, Vec::new()));
        let position_figures = LegPair { long: figures(Leg::Long), short: figures(Leg::Short) };
        Self {
            grid,
            market,
            positions,
            position_figures,
            risk,
            risk_limit,
            drift_since: None,
            risk_active: HashSet::new(),
            calm: None,
            catch_up: None,
        }
    }

    /// Stores the exchange's report of `leg`'s position.
    pub(crate) fn set_position(&mut self, leg: Leg, position: Position) {
        *self.position_figures.get_mut(leg) = Some(LegSnapshot::from_position(&position, None, Vec::new()));
        *self.positions.get_mut(leg) = Some(position);
    }

    /// Its symbol.
    #[must_use]
    pub fn symbol(&self) -> &Symbol {
        self.grid.symbol()
    }

    /// Its grid.
    #[must_use]
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The positions as last reported.
    #[must_use]
    pub fn positions(&self) -> &LegPair<Option<Position>> {
        &self.positions
    }

    /// How far the book and the clock may move before deciding again could change anything
    /// (`None`: the next event is decided on).
    #[must_use]
    pub fn calm(&self) -> Option<Calm> {
        self.calm
    }
}

/// What an account starts from besides its symbols.
#[derive(Debug, Clone, Default)]
pub struct CoreStart {
    /// The wallet, when read.
    pub wallet: Option<Wallet>,
    /// The account's risk memory (kill switch, day peak).
    pub account_memory: AccountMemory,
    /// The newest execution seen before (id, time).
    pub last_execution: Option<(String, i64)>,
    /// The emergency stop is on.
    pub halted: bool,
    /// Risk conditions that held at the last save, with when each was last alerted.
    pub risk_alerts: Vec<gridbot_state::RiskAlertMemory>,
    /// The executions the start read from the exchange (journaled, reflected in the recovered
    /// legs): a later reconciliation does not count them as missed.
    pub heard: HeardExecutions,
}

/// The sans-IO core of one account.
#[derive(Debug, Clone)]
pub struct AccountCore {
    account_id: String,
    risk_params: RiskParams,
    pub(crate) symbols: Vec<SymbolCore>,
    wallet: Option<Wallet>,
    /// The wallet as risk reads it (converted once per report, not per decision).
    wallet_figures: Option<AccountView>,
    account_memory: AccountMemory,
    /// When each risk condition (level, leg, symbol) was last alerted, event time.
    alerted: HashMap<(RiskLevel, Option<Leg>, usize), i64>,
    halted: bool,
    last_execution: Option<(String, i64)>,
    /// Executions heard lately: a reconciliation journals the fills it finds that are not.
    heard: HeardExecutions,
    last_equity_ms: i64,
    risk_events: u64,
    risk_by_level: BTreeMap<RiskLevel, u64>,
    reconciliations: u64,
    /// Skip deciding again on book updates and ticks that cannot change the decision.
    skip_when_calm: bool,
    /// Decisions made and skipped (work counters, not results).
    pub(crate) work: Work,
}

/// How much deciding the core did: decisions made, and book updates or ticks skipped as calm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Risk evaluated and the grid asked for commands.
    pub decisions: u64,
    /// Book updates and ticks that could change nothing, skipped.
    pub skipped: u64,
}

impl AccountCore {
    /// The core of `account_id` over its symbols.
    #[must_use]
    pub fn new(account_id: &str, risk_params: RiskParams, mut symbols: Vec<SymbolCore>, start: CoreStart) -> Self {
        // What was already alerted before a restart is not alerted again.
        let mut alerted = HashMap::new();
        for m in start.risk_alerts {
            if let Some(i) = symbols.iter().position(|s| s.symbol() == &m.symbol) {
                alerted.insert((m.level, m.leg, i), m.at_ms);
                symbols[i].risk_active.insert((m.level, m.leg));
            }
        }
        Self {
            account_id: account_id.to_owned(),
            risk_params,
            symbols,
            wallet_figures: start.wallet.as_ref().map(|w| AccountView::from_wallet(w, 0.0)),
            wallet: start.wallet,
            account_memory: start.account_memory,
            alerted,
            halted: start.halted,
            last_execution: start.last_execution,
            heard: start.heard,
            last_equity_ms: 0,
            risk_events: 0,
            risk_by_level: BTreeMap::new(),
            reconciliations: 0,
            skip_when_calm: true,
            work: Work::default(),
        }
    }

    /// Decisions made and skipped so far.
    #[must_use]
    pub fn work(&self) -> Work {
        self.work
    }

    /// Whether book updates and ticks that cannot change the decision are skipped (on by
    /// default; off, every one is decided on — the same commands, more work). Tests compare.
    pub fn set_skip_when_calm(&mut self, on: bool) {
        self.skip_when_calm = on;
        if !on {
            for s in &mut self.symbols {
                s.calm = None;
            }
        }
    }

    /// The account id.
    #[must_use]
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Its symbols.
    #[must_use]
    pub fn symbols(&self) -> &[SymbolCore] {
        &self.symbols
    }

    /// The wallet as last reported.
    #[must_use]
    pub fn wallet(&self) -> Option<&Wallet> {
        self.wallet.as_ref()
    }

    /// The emergency stop is on (as last told).
    #[must_use]
    pub fn halted(&self) -> bool {
        self.halted
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> CoreStats {
        CoreStats {
            strategy: self.symbols.iter().fold(StrategyStats::default(), |acc, s| acc.plus(s.grid.stats())),
            risk_events: self.risk_events,
            risk_by_level: self.risk_by_level.clone(),
            reconciliations: self.reconciliations,
        }
    }

    /// The snapshot of every symbol (with its risk memory) at `now_ms`.
    #[must_use]
    pub fn snapshot(&self, now_ms: i64) -> AccountSnapshot {
        let mut snapshot = AccountSnapshot::new(self.account_id.clone(), now_ms);
        for slot in &self.symbols {
            let mut state: SymbolState = slot.grid.state();
            state.risk = slot.risk.clone();
            snapshot.symbols.insert(slot.symbol().clone(), state);
        }
        snapshot.account_risk = self.account_memory.clone();
        if let Some((id, t)) = &self.last_execution {
            snapshot.last_execution_id = Some(id.clone());
            snapshot.last_execution_ms = Some(*t);
        }
        let mut alerts: Vec<gridbot_state::RiskAlertMemory> = self
            .alerted
            .iter()
            .filter(|((level, leg, i), _)| {
                self.symbols.get(*i).is_some_and(|s| s.risk_active.contains(&(*level, *leg)))
            })
            .map(|((level, leg, i), at)| gridbot_state::RiskAlertMemory {
                symbol: self.symbols[*i].symbol().clone(),
                level: *level,
                leg: *leg,
                at_ms: *at,
            })
            .collect();
        alerts.sort_by(|a, b| (&a.symbol, a.level, a.leg, a.at_ms).cmp(&(&b.symbol, b.level, b.leg, b.at_ms)));
        snapshot.risk_alerts = alerts;
        snapshot
    }

    fn slot_of(&self, symbol: &Symbol) -> Option<usize> {
        self.symbols.iter().position(|s| s.symbol() == symbol)
    }
}
