//! What the risk engine decides: which actions are blocked and why, which legs to close, which
//! orders to re-price, which alerts to raise, and the memory to persist.

use gridbot_core::{Leg, OrderRole, Price, Side};

use crate::maker::{MakerViolation, maker_check};
use crate::snapshot::{LegPair, RiskMemory};

/// Every rule the engine enforces. The numbers are ARCHITECTURE §5's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// 1: account IM rate at or above the block threshold.
    ImRateBlock,
    /// 2: high account IM rate while the leg is in profit.
    HighImInProfit,
    /// 3: trailing stop on unrealised PnL.
    TrailingStop,
    /// 4: position value above its share of the risk limit.
    PositionValueLimit,
    /// 5: a leg stuck at its max level too long.
    StuckAtMaxLevel,
    /// 6: both legs in profit.
    BothLegsInProfit,
    /// 7: TP-safety mode entered (margin would not reopen the leg after its TP).
    TpSafety,
    /// 8: protective orders blocked while in TP-safety mode.
    TpSafetyBlock,
    /// 9: level-up budget of the sliding window used up.
    LevelUpBudget,
    /// 10: the emergency-stop flag exists.
    EmergencyStop,
    /// The daily equity drawdown kill switch.
    DailyKillSwitch,
    /// Σ position value / equity above the cap.
    ExposureCap,
    /// A PostOnly order that would cross the book.
    MakerCheck,
}

impl RiskLevel {
    /// ARCHITECTURE §5's level number, for the ten numbered levels.
    #[must_use]
    pub const fn number(self) -> Option<u8> {
        Some(match self {
            Self::ImRateBlock => 1,
            Self::HighImInProfit => 2,
            Self::TrailingStop => 3,
            Self::PositionValueLimit => 4,
            Self::StuckAtMaxLevel => 5,
            Self::BothLegsInProfit => 6,
            Self::TpSafety => 7,
            Self::TpSafetyBlock => 8,
            Self::LevelUpBudget => 9,
            Self::EmergencyStop => 10,
            Self::DailyKillSwitch | Self::ExposureCap | Self::MakerCheck => return None,
        })
    }
}

impl std::fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::ImRateBlock => "IM-rate block",
            Self::HighImInProfit => "high IM rate in profit",
            Self::TrailingStop => "trailing stop",
            Self::PositionValueLimit => "position value limit",
            Self::StuckAtMaxLevel => "stuck at max level",
            Self::BothLegsInProfit => "both legs in profit",
            Self::TpSafety => "TP safety",
            Self::TpSafetyBlock => "TP-safety block",
            Self::LevelUpBudget => "level-up budget",
            Self::EmergencyStop => "emergency stop",
            Self::DailyKillSwitch => "daily drawdown kill switch",
            Self::ExposureCap => "exposure cap",
            Self::MakerCheck => "maker check",
        };
        match self.number() {
            Some(n) => write!(f, "L{n} {name}"),
            None => f.write_str(name),
        }
    }
}

/// What a strategy may want to do on a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Place an entry (balance) order.
    Balance,
    /// Place an averaging (protective) order.
    Protective,
    /// Place or replace the take-profit.
    TakeProfit,
}

impl Action {
    /// The action an order role stands for; `None` for risk's own closes, which only a halt
    /// stops.
    #[must_use]
    pub const fn of_role(role: OrderRole) -> Option<Self> {
        match role {
            OrderRole::Balance | OrderRole::ClassicLevel => Some(Self::Balance),
            OrderRole::Protective => Some(Self::Protective),
            OrderRole::TakeProfit => Some(Self::TakeProfit),
            OrderRole::Close => None,
        }
    }
}

/// Which actions are blocked on a leg, each with the level that blocked it first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Blocks {
    /// Entry orders.
    pub balance: Option<RiskLevel>,
    /// Averaging orders.
    pub protective: Option<RiskLevel>,
    /// Take-profit orders.
    pub take_profit: Option<RiskLevel>,
}

impl Blocks {
    /// The level blocking `action`, if any.
    #[must_use]
    pub const fn get(&self, action: Action) -> Option<RiskLevel> {
        match action {
            Action::Balance => self.balance,
            Action::Protective => self.protective,
            Action::TakeProfit => self.take_profit,
        }
    }

    /// Blocks `action` with `level` unless something of higher precedence already did.
    pub fn block(&mut self, action: Action, level: RiskLevel) {
        let slot = match action {
            Action::Balance => &mut self.balance,
            Action::Protective => &mut self.protective,
            Action::TakeProfit => &mut self.take_profit,
        };
        slot.get_or_insert(level);
    }
}

/// The decision for one leg.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LegDecision {
    /// Close the position, for this reason.
    pub close: Option<RiskLevel>,
    /// Blocked actions.
    pub blocked: Blocks,
}

/// Move a resting order to a new price (cancel + place: orders are never amended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reprice {
    /// The engine's order handle.
    pub key: u64,
    /// The order's leg.
    pub leg: Leg,
    /// Its side.
    pub side: Side,
    /// Current price.
    pub from: Price,
    /// Target price, unrounded: the engine rounds it through the instrument for `side`.
    pub to: Price,
    /// Why.
    pub level: RiskLevel,
}

/// Something an operator should hear about.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// The rule that fired.
    pub level: RiskLevel,
    /// The leg, when it concerns one.
    pub leg: Option<Leg>,
    /// A sentence with the numbers.
    pub message: String,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RiskDecision {
    /// Send nothing at all (emergency stop or kill switch), and why.
    pub halt: Option<RiskLevel>,
    /// Cancel every open order of the symbol (the kill switch).
    pub cancel_all: bool,
    /// Per leg.
    pub legs: LegPair<LegDecision>,
    /// Orders to move.
    pub reprices: Vec<Reprice>,
    /// Alerts, naming the level.
    pub alerts: Vec<Alert>,
    /// Memory to persist and pass to the next decision.
    pub memory: RiskMemory,
}

impl RiskDecision {
    /// Whether an order of `role` may be placed on `leg`; `Err` names the level that forbids it.
    pub fn permits(&self, leg: Leg, role: OrderRole) -> Result<(), RiskLevel> {
        if let Some(level) = self.halt {
            return Err(level);
        }
        match Action::of_role(role) {
            Some(action) => self.legs.get(leg).blocked.get(action).map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    /// `permits`, plus the maker check for a PostOnly order at `price` against the book.
    pub fn permits_post_only(
        &self,
        leg: Leg,
        role: OrderRole,
        side: Side,
        price: Price,
        best_bid: Option<Price>,
        best_ask: Option<Price>,
    ) -> Result<(), RiskLevel> {
        self.permits(leg, role)?;
        maker_check(side, price, best_bid, best_ask).map_err(|MakerViolation { .. }| RiskLevel::MakerCheck)
    }
}
