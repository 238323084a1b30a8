//! Grid strategies as deterministic state machines, one per symbol, both legs (DESIGN §4).
//!
//! A strategy is driven in two phases by its account's event worker:
//!
//! 1. [`Strategy::apply`] folds one event — a fill, an order update, the outcome of a command,
//!    or a timer tick — into its state and reports what happened ([`Applied`]).
//! 2. [`Strategy::commands`] compares the orders the legs need now with the orders working and
//!    returns the difference as [`Command`]s, given the market and the risk decision the account
//!    computed from the state after step 1. The risk decision is consulted before every
//!    command: nothing the decision blocks is placed, and a halt sends nothing.
//!
//! Decisions:
//! - **Desired state, not scripts.** After every event the strategy recomputes the full set of
//!   orders each leg should have (balance, take-profit, next protective; or a classic grid's
//!   levels) and emits only the difference. Lost or duplicated events therefore cannot leave a
//!   leg without its take-profit, and the same state always yields the same commands.
//! - **Fills drive the legs**, order updates only end orders (cancelled, rejected); an order
//!   ended by the exchange with fills we have not seen yet waits for those fills.
//! - **Pure**: no I/O, no clock but the `now_ms` passed in. Unit tests drive them with events.

use gridbot_core::{Execution, Instrument, Leg, Order, Price, Symbol};
use gridbot_risk::{LegPair, OrderView, RiskDecision};
use gridbot_state::SymbolState;

use crate::command::{Command, Outcome};

pub mod classic;
mod classic_policy;
mod orders;
pub mod progressive;

pub use classic::{ClassicGrid, ClassicSettings, LayoutSpec, PumpDump, RecentrePolicy};
pub use orders::{NonceSource, Working};
pub use progressive::{ProgressiveGrid, ProgressiveSettings};

/// The top of the book as the strategy sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarketView {
    /// Best bid.
    pub bid: Option<Price>,
    /// Best ask.
    pub ask: Option<Price>,
    /// Exchange time of the update, UTC ms.
    pub ts_ms: i64,
}

impl MarketView {
    /// The mid price, or the one side there is.
    #[must_use]
    pub fn mid(&self) -> Option<Price> {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => {
                let two = gridbot_core::Decimal::TWO;
                Price::new((b.as_decimal() + a.as_decimal()) / two).ok()
            }
            (b, a) => b.or(a),
        }
    }
}

/// One input of [`Strategy::apply`].
#[derive(Debug, Clone, Copy)]
pub enum StrategyEvent<'a> {
    /// A fill (or funding, which strategies ignore).
    Execution(&'a Execution),
    /// An order update from the exchange.
    Order(&'a Order),
    /// What came of one of the strategy's commands.
    Outcome(&'a Outcome),
    /// Time passed (timeouts).
    Timer,
}

/// Something worth telling the operator or the risk memory.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A classic grid was (re)built around a price.
    Recentred {
        /// Why.
        reason: String,
    },
}

/// What [`Strategy::apply`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// A fill changed a leg (persist the state).
    pub filled: bool,
    /// Happenings worth an alert or a risk-memory entry.
    pub notes: Vec<Note>,
    /// The strategy cannot explain what it saw; reconcile the symbol with the exchange.
    pub reconcile: Option<String>,
    /// PnL realised by an exit fill (before fees), for the journal.
    pub realised_pnl: Option<gridbot_core::Decimal>,
}

/// What [`Strategy::commands`] looks at besides the strategy's own state.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Now, UTC ms.
    pub now_ms: i64,
    /// The top of the book.
    pub market: &'a MarketView,
    /// The risk decision for this symbol, computed from the state after the last `apply`.
    pub decision: &'a RiskDecision,
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

/// A grid strategy for one symbol.
pub trait Strategy: Send {
    /// Its symbol.
    fn symbol(&self) -> &Symbol;
    /// The instrument it trades.
    fn instrument(&self) -> &Instrument;
    /// Folds one event into the state.
    fn apply(&mut self, event: StrategyEvent<'_>, now_ms: i64) -> Applied;
    /// The commands that bring the orders to what the legs need.
    fn commands(&mut self, ctx: &Ctx<'_>) -> Vec<Command>;
    /// Each leg's level and open orders, for the risk snapshot.
    fn risk_legs(&self) -> LegPair<(Option<u32>, Vec<OrderView>)>;
    /// The deepest level of the plan (risk L5/L9).
    fn max_level(&self) -> u32;
    /// The state to persist (risk memory is the account's to fill in).
    fn state(&self) -> SymbolState;
    /// Replaces the state with a recovered one.
    fn restore(&mut self, state: &SymbolState);
    /// True when it trades with the progressive plan recovery understands.
    fn is_progressive(&self) -> bool;
    /// Counters.
    fn stats(&self) -> StrategyStats;
    /// Happenings of `commands` (a classic grid's recentre), for alerts and the journal.
    fn take_notes(&mut self) -> Vec<Note> {
        Vec::new()
    }
    /// Each leg's size as the strategy believes it (compared with the exchange's positions).
    fn leg_sizes(&self) -> LegPair<gridbot_core::Qty>;
    /// True while a leg waits on a partial fill or a cancel (sizes may lag the exchange).
    fn settling(&self) -> bool;
    /// An operator resumed the account: lift what the strategy stopped by itself.
    fn resume(&mut self) {}
    /// The classic grid behind the trait object, if it is one.
    fn as_classic_mut(&mut self) -> Option<&mut ClassicGrid> {
        None
    }
}
