//! What the risk engine looks at (`RiskSnapshot`) and what it remembers between decisions
//! (`RiskMemory`, persisted in the account's state file).
//!
//! Amounts are `f64` (risk is statistics, ARCHITECTURE §3); order prices stay `Price` because a
//! re-price and the maker check produce or compare order prices. `from_position` and
//! `AccountView::from_wallet` are the named decimal → float boundary.

use gridbot_core::{Leg, OrderRole, Position, Price, Side, Wallet};

/// A value per leg.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LegPair<T> {
    /// The long leg's.
    pub long: T,
    /// The short leg's.
    pub short: T,
}

impl<T> LegPair<T> {
    /// The value of `leg`.
    pub fn get(&self, leg: Leg) -> &T {
        match leg {
            Leg::Long => &self.long,
            Leg::Short => &self.short,
        }
    }

    /// The value of `leg`, mutably.
    pub fn get_mut(&mut self, leg: Leg) -> &mut T {
        match leg {
            Leg::Long => &mut self.long,
            Leg::Short => &mut self.short,
        }
    }
}

/// The account-wide inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccountView {
    /// Total equity (USDT).
    pub equity: f64,
    /// Account initial-margin rate (IM / margin balance), `0.9` = 90%.
    pub im_rate: f64,
    /// Available balance (USDT).
    pub available_balance: f64,
    /// Σ position value over every symbol of the account (USDT).
    pub total_position_value: f64,
}

impl AccountView {
    /// From the exchange's wallet and the account's summed position value.
    #[must_use]
    pub fn from_wallet(wallet: &Wallet, total_position_value: f64) -> Self {
        let f = gridbot_core::decimal_to_f64;
        Self {
            equity: f(wallet.total_equity),
            im_rate: f(wallet.account_im_rate),
            available_balance: f(wallet.total_available_balance),
            total_position_value,
        }
    }
}

/// One open order, as risk sees it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderView {
    /// The engine's handle for the order (echoed in re-prices).
    pub key: u64,
    /// Why it was placed.
    pub role: OrderRole,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: Price,
    /// Remaining size.
    pub qty: f64,
}

/// One leg of a symbol.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LegSnapshot {
    /// Current level of the cycle (0 = entry filled), `None` when the leg is flat.
    pub level: Option<u32>,
    /// Position size (base currency, ≥ 0).
    pub size: f64,
    /// Average entry price.
    pub avg_price: f64,
    /// Mark price.
    pub mark_price: f64,
    /// Position value (USDT).
    pub position_value: f64,
    /// Unrealised PnL (USDT).
    pub unrealised_pnl: f64,
    /// Initial margin held by the position (USDT) — what a take-profit fill frees.
    pub position_im: f64,
    /// Leverage.
    pub leverage: f64,
    /// The leg's open orders.
    pub orders: Vec<OrderView>,
}

impl LegSnapshot {
    /// Position fields from the exchange's position row; `level` and `orders` come from the
    /// strategy.
    #[must_use]
    pub fn from_position(position: &Position, level: Option<u32>, orders: Vec<OrderView>) -> Self {
        let f = gridbot_core::decimal_to_f64;
        Self {
            level,
            size: position.size.to_f64(),
            avg_price: position.avg_price.map_or(0.0, Price::to_f64),
            mark_price: position.mark_price.map_or(0.0, Price::to_f64),
            position_value: f(position.position_value),
            unrealised_pnl: f(position.unrealised_pnl),
            position_im: f(position.position_im),
            leverage: f(position.leverage),
            orders,
        }
    }

    /// True when the leg holds a position.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.size > 0.0
    }

    /// The price of the leg's live take-profit order, if any.
    #[must_use]
    pub fn take_profit_price(&self) -> Option<f64> {
        self.orders.iter().find(|o| o.role == OrderRole::TakeProfit).map(|o| o.price.to_f64())
    }
}

/// Everything one decision looks at, for one account and symbol.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RiskSnapshot {
    /// Now, UTC ms (from the injected clock).
    pub now_ms: i64,
    /// L10: the account's emergency-stop flag file exists.
    pub emergency_stop: bool,
    /// Wallet and account-wide exposure.
    pub account: AccountView,
    /// The symbol's risk limit (USDT of position value).
    pub risk_limit: f64,
    /// The plan's deepest level.
    pub max_level: u32,
    /// Best bid.
    pub best_bid: Option<Price>,
    /// Best ask.
    pub best_ask: Option<Price>,
    /// Both legs.
    pub legs: LegPair<LegSnapshot>,
    /// What risk remembered from the previous decision.
    pub memory: RiskMemory,
}

/// The kill switch, once tripped. Latched until an operator resets it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KillSwitchTrip {
    /// When it tripped, UTC ms.
    pub at_ms: i64,
    /// The UTC day's peak equity then.
    pub peak_equity: f64,
    /// Equity at the trip.
    pub equity: f64,
}

/// Account-wide memory (one per account; the engine threads it through each symbol's decision).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccountMemory {
    /// Start of the UTC day the peak belongs to.
    pub day_start_ms: Option<i64>,
    /// Highest equity seen since then.
    pub day_peak_equity: f64,
    /// Set when the daily drawdown kill switch trips.
    pub kill_switch: Option<KillSwitchTrip>,
}

/// Per-leg memory.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LegMemory {
    /// Highest unrealised PnL of the open position (L3).
    pub peak_pnl: Option<f64>,
    /// TP-safety mode (L7/L8).
    pub tp_safety: bool,
    /// Since when the leg has been at its max level (L5).
    pub at_max_level_since_ms: Option<i64>,
    /// Times of recent level-ups, ascending (L9).
    pub level_ups_ms: Vec<i64>,
}

/// Everything risk remembers; part of the account's state file.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RiskMemory {
    /// Account-wide.
    pub account: AccountMemory,
    /// Per leg.
    pub legs: LegPair<LegMemory>,
}

impl RiskMemory {
    /// Records a level-up (a protective fill) of `leg` at `t_ms`.
    pub fn record_level_up(&mut self, leg: Leg, t_ms: i64) {
        let ups = &mut self.legs.get_mut(leg).level_ups_ms;
        let at = ups.partition_point(|&t| t <= t_ms);
        ups.insert(at, t_ms);
    }

    /// Operator action: re-arm trading after the kill switch tripped.
    pub fn reset_kill_switch(&mut self) {
        self.account.kill_switch = None;
    }
}
