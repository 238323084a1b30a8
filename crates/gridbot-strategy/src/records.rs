//! What the core hands its shell besides orders: journal records and alerts, as typed values.
//! The live shell writes records to the SQLite journal and sends alerts to the log and
//! Telegram; a backtest counts them. Neither decides anything about them.

use gridbot_core::{Decimal, Execution, Order, Position, Price, Symbol, Wallet};

use crate::reasons::RecentreReason;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A leg went one level deeper.
    LevelUp,
    /// A take-profit filled: a cycle closed.
    TakeProfit,
    /// A risk level fired.
    Risk,
    /// The emergency stop is on (or was lifted).
    EmergencyStop,
    /// Something failed.
    Error,
    /// Start, stop, recovery, recentre.
    Info,
}

/// One alert: for the log and, if configured, Telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// What it is about.
    pub kind: AlertKind,
    /// The symbol, when it concerns one.
    pub symbol: Option<Symbol>,
    /// The sentence.
    pub text: String,
}

/// The kind of a journal event row (the journal's `events.kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A risk condition started (or still holds an hour later).
    Risk,
    /// An operator's action: emergency stop, resume.
    Operator,
    /// What recovery found and did at start.
    Recovery,
    /// A reconciliation with the exchange while running.
    Reconcile,
    /// Something failed.
    Error,
    /// A grid's own step worth a line (an entry trigger armed).
    Grid,
}

impl EventKind {
    /// The journal's spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Risk => "risk",
            Self::Operator => "operator",
            Self::Recovery => "recovery",
            Self::Reconcile => "reconcile",
            Self::Error => "error",
            Self::Grid => "grid",
        }
    }
}

/// A change of a grid's layout (the journal's `grid_history`).
#[derive(Debug, Clone, PartialEq)]
pub enum GridChange {
    /// A progressive plan was locked.
    Plan {
        /// Its base step, fraction.
        base_step: Decimal,
        /// The EMA(ATR%) it was built from.
        atr_pct_ema: f64,
        /// Its deepest level.
        max_level: u32,
        /// The quantity of each level.
        quantities: Vec<gridbot_core::Qty>,
    },
    /// A classic grid starts replacing generation `generation` (its orders cancelled, its
    /// inventory closed, then a new grid or a stop).
    RebuildStarted {
        /// The generation being replaced.
        generation: u32,
        /// Why.
        reason: RecentreReason,
    },
    /// A classic grid was (re)built.
    Recentre {
        /// The new generation.
        generation: u32,
        /// Around this mid.
        mid: Price,
        /// Why.
        reason: RecentreReason,
    },
}

impl GridChange {
    /// The journal's `kind` column.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Plan { .. } => "plan",
            Self::Recentre { .. } => "recentre",
            Self::RebuildStarted { .. } => "rebuild",
        }
    }

    /// The journal's `details` column: JSON.
    #[must_use]
    pub fn details_json(&self) -> String {
        let value = match self {
            Self::Plan { base_step, atr_pct_ema, max_level, quantities } => serde_json::json!({
                "base_step": base_step.to_string(),
                "atr_pct_ema": atr_pct_ema,
                "max_level": max_level,
                "quantities": quantities.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
            Self::RebuildStarted { generation, reason } => serde_json::json!({
                "reason": format!("rebuilding generation {generation}: {reason}"),
                "generation": generation,
            }),
            Self::Recentre { generation, mid, reason } => serde_json::json!({
                "reason": format!("generation {generation} at {mid}: {reason}"),
                "generation": generation,
                "mid": mid.to_string(),
            }),
        };
        value.to_string()
    }
}

/// One row for the account's journal.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalRecord {
    /// An execution and the PnL it realised (exits), before fees.
    Execution {
        /// The execution.
        execution: Box<Execution>,
        /// Realised PnL.
        realised_pnl: Option<Decimal>,
    },
    /// An order's latest state.
    Order(Box<Order>),
    /// A position whose size changed.
    Position {
        /// The position.
        position: Box<Position>,
        /// When, UTC ms.
        at_ms: i64,
    },
    /// An equity sample.
    Equity {
        /// The wallet.
        wallet: Box<Wallet>,
        /// When, UTC ms.
        at_ms: i64,
    },
    /// A grid's layout changed.
    Grid {
        /// When, UTC ms.
        at_ms: i64,
        /// Symbol.
        symbol: Symbol,
        /// What changed.
        change: GridChange,
    },
    /// Something happened: risk, operator, recovery, reconciliation, error.
    Event {
        /// When, UTC ms.
        at_ms: i64,
        /// Which kind.
        kind: EventKind,
        /// Symbol, when it concerns one.
        symbol: Option<Symbol>,
        /// The sentence.
        message: String,
    },
}
