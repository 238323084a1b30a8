//! Risk parameters, as written in an account's YAML `risk:` block. Every field has a default
//! (ARCHITECTURE §5 where it gives one); `validate` names the field and what was expected.

use gridbot_core::time::HOUR_MS;

/// Thresholds of every risk level. Fractions are fractions (`0.9` = 90%).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskParams {
    /// L1: account IM rate at or above which the workflow is blocked (default: 90%).
    pub im_rate_block: f64,
    /// L1: balance orders are moved to this fraction from the market (default: 0.01%).
    pub balance_reprice_offset: f64,
    /// L2: account IM rate at or above which a leg in profit is closed ("high IM rate").
    pub im_rate_close_in_profit: f64,
    /// L3: the trailing stop arms once unrealised PnL reaches this fraction of position value.
    pub trailing_activation: f64,
    /// L3: once armed, a fall of this fraction from the peak PnL closes the leg.
    pub trailing_pullback: f64,
    /// L4: new orders are blocked while position value exceeds this fraction of the risk limit
    /// (default: 40%).
    pub position_value_limit: f64,
    /// L5: a leg at its max level for this long is force-closed.
    pub max_level_timeout_ms: i64,
    /// L6: both legs are closed together when each has more than this unrealised PnL (USDT).
    pub both_in_profit_min_pnl: f64,
    /// L7: enter TP-safety mode when coverage falls below this (default: 1.05, a 5% buffer).
    pub tp_safety_enter: f64,
    /// L7: leave TP-safety mode only when coverage rises above this (default: 1.10).
    pub tp_safety_leave: f64,
    /// L9: level-ups allowed per window, as a fraction of max levels, rounded up (default: 0.5).
    pub level_up_budget_fraction: f64,
    /// L9: the sliding window (default: 48 h).
    pub level_up_window_ms: i64,
    /// Kill switch: equity this fraction below the UTC day's peak cancels everything and stops.
    pub daily_drawdown_kill: f64,
    /// Exposure cap: new orders are blocked while Σ position value / equity exceeds this.
    pub max_exposure: f64,
}

impl Default for RiskParams {
    fn default() -> Self {
        Self {
            im_rate_block: 0.90,
            balance_reprice_offset: 0.0001,
            im_rate_close_in_profit: 0.80,
            trailing_activation: 0.005,
            trailing_pullback: 0.30,
            position_value_limit: 0.40,
            max_level_timeout_ms: 72 * HOUR_MS,
            both_in_profit_min_pnl: 0.0,
            tp_safety_enter: 1.05,
            tp_safety_leave: 1.10,
            level_up_budget_fraction: 0.5,
            level_up_window_ms: 48 * HOUR_MS,
            daily_drawdown_kill: 0.10,
            max_exposure: 5.0,
        }
    }
}

/// A parameter outside its domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("risk.{field}: {expected}")]
pub struct InvalidRiskParam {
    /// The YAML field.
    pub field: &'static str,
    /// What was expected, with the value found.
    pub expected: String,
}

impl RiskParams {
    /// Checks every field; the error names the first bad one ([`Self::problems`] lists all).
    pub fn validate(&self) -> Result<(), InvalidRiskParam> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every field that is out of range, in declaration order — including thresholds that
    /// could never fire (an IM rate above 100%, L2 above L1).
    #[must_use]
    pub fn problems(&self) -> Vec<InvalidRiskParam> {
        let mut out = Vec::new();
        let mut bad = |field: &'static str, expected: String| out.push(InvalidRiskParam { field, expected });
        let fraction = |v: f64| v.is_finite() && v > 0.0 && v < 1.0;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        for (field, v) in [
            ("balance_reprice_offset", self.balance_reprice_offset),
            ("trailing_activation", self.trailing_activation),
            ("trailing_pullback", self.trailing_pullback),
            ("position_value_limit", self.position_value_limit),
        ] {
            if !fraction(v) {
                bad(field, format!("a fraction in (0, 1), got {v}"));
            }
        }
        // An IM rate is initial margin over margin balance: 1.0 is all of it.
        if !(self.im_rate_block.is_finite() && self.im_rate_block > 0.0 && self.im_rate_block <= 1.0) {
            bad("im_rate_block", format!("an IM rate in (0, 1] (0.9 is 90%), got {}", self.im_rate_block));
        }
        if !(self.im_rate_close_in_profit.is_finite()
            && self.im_rate_close_in_profit > 0.0
            && self.im_rate_close_in_profit <= self.im_rate_block.clamp(0.0, 1.0))
        {
            bad(
                "im_rate_close_in_profit",
                format!(
                    "an IM rate in (0, im_rate_block {}] (L2 acts before L1 blocks), got {}",
                    self.im_rate_block, self.im_rate_close_in_profit
                ),
            );
        }
        for (field, v) in
            [("max_level_timeout_ms", self.max_level_timeout_ms), ("level_up_window_ms", self.level_up_window_ms)]
        {
            if v <= 0 {
                bad(field, format!("a positive duration in ms, got {v}"));
            }
        }
        if !self.both_in_profit_min_pnl.is_finite() || self.both_in_profit_min_pnl < 0.0 {
            bad("both_in_profit_min_pnl", format!("a non-negative amount, got {}", self.both_in_profit_min_pnl));
        }
        if !positive(self.tp_safety_enter) {
            bad("tp_safety_enter", format!("a positive number, got {}", self.tp_safety_enter));
        }
        if !(self.tp_safety_leave.is_finite() && self.tp_safety_leave >= self.tp_safety_enter) {
            bad(
                "tp_safety_leave",
                format!("at least tp_safety_enter {}, got {}", self.tp_safety_enter, self.tp_safety_leave),
            );
        }
        if !positive(self.level_up_budget_fraction) {
            bad("level_up_budget_fraction", format!("a positive fraction, got {}", self.level_up_budget_fraction));
        }
        if !fraction(self.daily_drawdown_kill) {
            bad("daily_drawdown_kill", format!("a fraction in (0, 1), got {}", self.daily_drawdown_kill));
        }
        if !positive(self.max_exposure) {
            bad("max_exposure", format!("a positive number, got {}", self.max_exposure));
        }
        out
    }

    /// L9's budget for a plan with `max_level` levels: `ceil(max_level × fraction)`, at least 1.
    #[must_use]
    pub fn level_up_budget(&self, max_level: u32) -> usize {
        let budget = (f64::from(max_level) * self.level_up_budget_fraction).ceil();
        // A budget is a small count; saturate absurd values rather than wrap.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let budget = if budget >= 1.0 { budget.min(1e9) as usize } else { 1 };
        budget
    }
}
