//! The grid strategies as deterministic state machines, one per symbol, both legs, and the
//! closed set of them ([`Grid`]).
//!
//! A grid is driven in two phases by its account's core:
//!
//! 1. [`Grid::apply`] folds one event — a fill, an order update, the outcome of a command, or
//!    a timer tick — into its state and reports what happened ([`Applied`]).
//! 2. [`Grid::commands`] compares the orders the legs need now with the orders working and
//!    returns the difference as [`Command`]s, given the market and the risk decision the core
//!    computed from the state after step 1. The risk decision is consulted before every
//!    command: nothing the decision blocks is placed, and a halt sends nothing.
//!
//! Decisions:
//! - **Desired state, not scripts.** After every event the grid recomputes the full set of
//!   orders each leg should have (balance, take-profit, next protective; or a classic grid's
//!   levels) and emits only the difference. Lost or duplicated events therefore cannot leave a
//!   leg without its take-profit, and the same state always yields the same commands.
//! - **Fills drive the legs**, order updates only end orders (cancelled, rejected); an order
//!   ended by the exchange with fills we have not seen yet waits for those fills.
//! - **A closed set.** Grids are an enum, not trait objects: the core matches on the kind where
//!   the two differ (reconciliation, an operator's resume) instead of asking and downcasting.
//! - **Pure**: no I/O, no clock but the `now_ms` passed in.

use gridbot_core::{Execution, Instrument, Leg, Order, Price, Qty, Symbol};
use gridbot_risk::{LegPair, OrderView, RiskDecision};
use gridbot_state::SymbolState;

use crate::classic::ClassicGrid;
use crate::command::{Command, Outcome};
use crate::market::MarketView;
use crate::progressive::ProgressiveGrid;
use crate::reasons::{RecentreReason, ReconcileReason};

/// One input of [`Grid::apply`].
#[derive(Debug, Clone, Copy)]
pub enum GridEvent<'a> {
    /// A fill (or funding, which grids ignore).
    Execution(&'a Execution),
    /// An order update from the exchange.
    Order(&'a Order),
    /// What came of one of the grid's commands.
    Outcome(&'a Outcome),
    /// Time passed (timeouts).
    Timer,
}

/// Something worth telling the operator or the risk memory.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// A leg's entry filled: level 0 of a new cycle.
    Opened {
        /// Leg.
        leg: Leg,
        /// Cycle.
        cycle: u32,
    },
    /// A protective order filled: the leg is one level deeper.
    LevelUp {
        /// Leg.
        leg: Leg,
        /// The new level.
        level: u32,
    },
    /// The leg is flat again: its take-profit (or a risk close) filled.
    CycleClosed {
        /// Leg.
        leg: Leg,
        /// The cycle that ended.
        cycle: u32,
        /// True when a take-profit closed it, false for a risk close.
        take_profit: bool,
    },
    /// A classic grid starts a rebuild of generation `generation` (cancel, close, then build
    /// or stop): saved before its first order goes out, so a restart finishes it.
    RebuildStarted {
        /// The generation being replaced.
        generation: u32,
        /// Why.
        reason: RecentreReason,
    },
    /// The funding guard closes a leg in profit before a settlement it would pay too much at.
    FundingClose {
        /// Leg.
        leg: Leg,
        /// The predicted rate.
        rate: gridbot_core::Decimal,
        /// The settlement, UTC ms.
        next_ms: i64,
    },
    /// A leg whose take-profit ladder had begun filling came back to its average entry: the
    /// rest is closed at market (the stop at break-even).
    BreakEvenStop {
        /// Leg.
        leg: Leg,
    },
    /// A classic grid waits for the mid to cross its entry trigger price.
    TriggerArmed {
        /// The trigger price.
        price: Price,
        /// The mid is above it now (the grid is built when it comes down to it).
        from_above: bool,
    },
    /// A classic grid was (re)built around a price.
    Recentred {
        /// The new generation.
        generation: u32,
        /// Around this mid.
        mid: Price,
        /// Why.
        reason: RecentreReason,
    },
}

/// What [`Grid::apply`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// A fill changed a leg (persist the state).
    pub filled: bool,
    /// Happenings worth an alert or a risk-memory entry.
    pub notes: Vec<Note>,
    /// The grid cannot explain what it saw; reconcile the symbol with the exchange.
    pub reconcile: Option<ReconcileReason>,
    /// PnL realised by an exit fill (before fees), for the journal.
    pub realised_pnl: Option<gridbot_core::Decimal>,
    /// The fill was applied before (a duplicated event): nothing to journal.
    pub duplicate: bool,
}

/// What [`Grid::commands`] looks at besides the grid's own state.
#[derive(Debug, Clone, Copy)]
pub struct DecisionContext<'a> {
    /// Now, UTC ms.
    pub now_ms: i64,
    /// The top of the book.
    pub market: &'a MarketView,
    /// The risk decision for this symbol, computed from the state after the last `apply`.
    pub decision: &'a RiskDecision,
}

/// How far the book and the clock may move before a grid's decision could change — the
/// answer that lets the core skip deciding again on quiet market data (most candles of a
/// backtest change nothing). Conservative by construction: inside the bands and before
/// `until_ms`, deciding again would ask for no command and change no state; a property test
/// and a backtest run with and without skipping hold it to that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calm {
    /// Best bids that change nothing (`None`: any).
    pub bid: Option<(Price, Price)>,
    /// Best asks that change nothing (`None`: any).
    pub ask: Option<(Price, Price)>,
    /// Mids that change nothing (`None`: any).
    pub mid: Option<(f64, f64)>,
    /// Before this time nothing times out, UTC ms.
    pub until_ms: i64,
    /// Any change of the book may matter (orders wait to be placed against it).
    pub book_matters: bool,
}

impl Calm {
    /// Nothing constrains it yet.
    #[must_use]
    pub const fn unbounded() -> Self {
        Self { bid: None, ask: None, mid: None, until_ms: i64::MAX, book_matters: false }
    }

    /// Not calm at all: decide again on anything.
    #[must_use]
    pub const fn none() -> Self {
        Self { bid: None, ask: None, mid: None, until_ms: i64::MIN, book_matters: true }
    }

    /// Any book change may matter.
    pub fn book_matters(&mut self) {
        self.book_matters = true;
    }

    /// Something times out at `t_ms`.
    pub fn until(&mut self, t_ms: i64) {
        self.until_ms = self.until_ms.min(t_ms);
    }

    /// The touch of `leg` (bid for long, ask for short) must stay in `band`.
    pub fn narrow_touch(&mut self, leg: Leg, band: (Price, Price)) {
        match leg {
            Leg::Long => self.narrow_bid(band),
            Leg::Short => self.narrow_ask(band),
        }
    }

    /// The best bid must stay in `band`.
    pub fn narrow_bid(&mut self, band: (Price, Price)) {
        self.bid = Some(match self.bid {
            Some((lo, hi)) => (lo.max(band.0), hi.min(band.1)),
            None => band,
        });
    }

    /// The best ask must stay in `band`.
    pub fn narrow_ask(&mut self, band: (Price, Price)) {
        self.ask = Some(match self.ask {
            Some((lo, hi)) => (lo.max(band.0), hi.min(band.1)),
            None => band,
        });
    }

    /// A PostOnly `side` order at `price` is held back by the maker check: nothing changes
    /// while it would still cross (a buy at or above the ask, a sell at or below the bid).
    pub fn while_crossing(&mut self, side: gridbot_core::Side, price: Price) {
        match side {
            gridbot_core::Side::Buy => self.narrow_ask((Price::ZERO, price)),
            gridbot_core::Side::Sell => self.narrow_bid((price, Price::MAX)),
        }
    }

    /// The mid must stay in `band`.
    pub fn narrow_mid(&mut self, band: (f64, f64)) {
        self.mid = Some(match self.mid {
            Some((lo, hi)) => (lo.max(band.0), hi.min(band.1)),
            None => band,
        });
    }

    /// Both constraints at once.
    #[must_use]
    pub fn meet(mut self, other: &Self) -> Self {
        if let Some(b) = other.bid {
            self.narrow_touch(Leg::Long, b);
        }
        if let Some(a) = other.ask {
            self.narrow_touch(Leg::Short, a);
        }
        if let Some(m) = other.mid {
            self.narrow_mid(m);
        }
        self.until(other.until_ms);
        self.book_matters |= other.book_matters;
        self
    }

    /// Nothing changes for this book.
    #[must_use]
    pub fn holds_for(&self, market: &MarketView) -> bool {
        if self.book_matters {
            return false;
        }
        let within = |band: Option<(Price, Price)>, p: Option<Price>| match (band, p) {
            (None, _) => true,
            (Some((lo, hi)), Some(p)) => lo <= p && p <= hi,
            (Some(_), None) => false,
        };
        let mid_ok = match self.mid {
            None => true,
            Some((lo, hi)) => market.mid().is_some_and(|m| {
                let m = m.to_f64();
                lo <= m && m <= hi
            }),
        };
        within(self.bid, market.bid) && within(self.ask, market.ask) && mid_ok
    }
}

/// Counters for summaries and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StrategyStats {
    /// Fills of our orders.
    pub fills: u64,
    /// Cycles closed by a take-profit (progressive) or round trips (classic).
    pub cycles: u64,
    /// Cycles closed by a risk close.
    pub risk_closes: u64,
    /// Deepest level reached by any leg.
    pub max_level: u32,
    /// Orders placed.
    pub orders_placed: u64,
    /// Recentres (classic).
    pub recentres: u64,
}

impl StrategyStats {
    /// Sums counters (the deepest level is the deeper of the two).
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            fills: self.fills + other.fills,
            cycles: self.cycles + other.cycles,
            risk_closes: self.risk_closes + other.risk_closes,
            max_level: self.max_level.max(other.max_level),
            orders_placed: self.orders_placed + other.orders_placed,
            recentres: self.recentres + other.recentres,
        }
    }
}

/// A grid strategy for one symbol: the progressive grid or the classic range grid.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per symbol, made once and never moved in a hot path: boxing would only add a hop"
)]
pub enum Grid {
    /// The progressive grid (ARCHITECTURE §4's primary strategy).
    Progressive(ProgressiveGrid),
    /// The classic range grid.
    Classic(ClassicGrid),
}

impl Grid {
    /// Its symbol.
    #[must_use]
    pub fn symbol(&self) -> &Symbol {
        self.instrument().symbol()
    }

    /// The instrument it trades.
    #[must_use]
    pub fn instrument(&self) -> &Instrument {
        match self {
            Self::Progressive(g) => g.instrument(),
            Self::Classic(g) => g.instrument(),
        }
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: GridEvent<'_>, now_ms: i64) -> Applied {
        match self {
            Self::Progressive(g) => g.apply(event, now_ms),
            Self::Classic(g) => g.apply(event, now_ms),
        }
    }

    /// The commands that bring the orders to what the legs need, and the happenings of
    /// deciding them (a classic grid's recentre).
    pub fn commands(&mut self, ctx: &DecisionContext<'_>) -> (Vec<Command>, Vec<Note>) {
        let (commands, notes, _) = self.commands_calm(ctx);
        (commands, notes)
    }

    /// Takes the predicted funding rate and next settlement; true when the grid's decisions
    /// depend on them and they changed (a progressive grid's funding guard).
    pub fn set_funding(&mut self, view: crate::progressive::FundingView) -> bool {
        match self {
            Self::Progressive(g) => g.set_funding(view),
            Self::Classic(_) => false,
        }
    }

    /// The same, and how far the book and the clock may move before the decision could change.
    pub fn commands_calm(&mut self, ctx: &DecisionContext<'_>) -> (Vec<Command>, Vec<Note>, Calm) {
        match self {
            Self::Progressive(g) => {
                let (commands, calm) = g.commands_calm(ctx);
                (commands, g.take_notes(), calm)
            }
            Self::Classic(g) => {
                let (commands, notes) = g.commands(ctx);
                let calm = g.calm(ctx);
                (commands, notes, calm)
            }
        }
    }

    /// Each leg's level and open orders, for the risk snapshot.
    #[must_use]
    pub fn risk_legs(&self) -> LegPair<(Option<u32>, Vec<OrderView>)> {
        match self {
            Self::Progressive(g) => g.risk_legs(),
            Self::Classic(g) => g.risk_legs(),
        }
    }

    /// The deepest level of the plan (risk L5/L9).
    #[must_use]
    pub fn max_level(&self) -> u32 {
        match self {
            Self::Progressive(g) => g.plan().max_level(),
            Self::Classic(g) => g.max_level(),
        }
    }

    /// The state to persist (risk memory is the core's to fill in).
    #[must_use]
    pub fn state(&self) -> SymbolState {
        match self {
            Self::Progressive(g) => g.state(),
            Self::Classic(g) => g.state(),
        }
    }

    /// Replaces the state with a recovered one.
    pub fn restore(&mut self, state: &SymbolState) {
        match self {
            Self::Progressive(g) => g.restore(state),
            Self::Classic(g) => g.restore(state),
        }
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> StrategyStats {
        match self {
            Self::Progressive(g) => g.stats(),
            Self::Classic(g) => g.stats(),
        }
    }

    /// Each leg's size as the grid believes it (compared with the exchange's positions).
    #[must_use]
    pub fn leg_sizes(&self) -> LegPair<Qty> {
        match self {
            Self::Progressive(g) => g.leg_sizes(),
            Self::Classic(g) => g.leg_sizes(),
        }
    }

    /// Each leg's level while it is open (progressive grids; a classic grid has no levels).
    #[must_use]
    pub fn leg_levels(&self) -> LegPair<Option<u32>> {
        match self {
            Self::Progressive(g) => g.leg_levels(),
            Self::Classic(_) => LegPair::default(),
        }
    }

    /// True while a leg waits on a partial fill or a cancel (sizes may lag the exchange).
    #[must_use]
    pub fn settling(&self) -> bool {
        match self {
            Self::Progressive(g) => g.settling(),
            Self::Classic(g) => g.settling(),
        }
    }

    /// An operator resumed the account: lift what the grid stopped by itself (a classic
    /// grid's stop-loss stop).
    pub fn resume(&mut self) {
        match self {
            Self::Progressive(_) => {}
            Self::Classic(g) => g.resume(),
        }
    }

    /// An operator's recentre (classic grids only; a progressive plan stays locked).
    pub fn operator_recentre(
        &mut self,
        profile: Option<gridbot_grid::Profile>,
    ) -> Result<(), crate::reasons::RecentreRefused> {
        match self {
            Self::Progressive(_) => Err(crate::reasons::RecentreRefused::Progressive),
            Self::Classic(g) => g.operator_recentre(profile),
        }
    }
}
