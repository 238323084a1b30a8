//! Risk parameters, as written in an account's YAML `risk:` block. Every field has a default
//! (DESIGN §5 where it gives one); `validate` names the field and what was expected.

use gridbot_core::time::HOUR_MS;

/// Thresholds of every risk level. Fractions are fractions (`0.9` = 90%).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskParams {
    /// L1: account IM rate at or above which the workflow is blocked (DESIGN: 90%).
    pub im_rate_block: f64,
    /// L1: balance orders are moved to this fraction from the market (DESIGN: 0.01%).
    pub balance_reprice_offset: f64,
    /// L2: account IM rate at or above which a leg in profit is closed ("high IM rate").
    pub im_rate_close_in_profit: f64,
    /// L3: the trailing stop arms once unrealised PnL reaches this fraction of position value.
    pub trailing_activation: f64,
    /// L3: once armed, a fall of this fraction from the peak PnL closes the leg.
    pub trailing_pullback: f64,
    /// L4: new orders are blocked while position value exceeds this fraction of the risk limit
    /// (DESIGN: 40%).
    pub position_value_limit: f64,
    /// L5: a leg at its max level for this long is force-closed.
    pub max_level_timeout_ms: i64,
    /// L6: both legs are closed together when each has more than this unrealised PnL (USDT).
    pub both_in_profit_min_pnl: f64,
    /// L7: enter TP-safety mode when coverage falls below this (DESIGN: 1.05, a 5% buffer).
    pub tp_safety_enter: f64,
    /// L7: leave TP-safety mode only when coverage rises above this (DESIGN: 1.10).
    pub tp_safety_leave: f64,
    /// L9: level-ups allowed per window, as a fraction of max levels, rounded up (DESIGN: 0.5).
    pub level_up_budget_fraction: f64,
    /// L9: the sliding window (DESIGN: 48 h).
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
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), InvalidRiskParam> {
        let fraction = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 && v < 1.0 {
                Ok(())
            } else {
                Err(InvalidRiskParam { field, expected: format!("a fraction in (0, 1), got {v}") })
            }
        };
        let positive = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(InvalidRiskParam { field, expected: format!("a positive number, got {v}") })
            }
        };
        let duration = |field: &'static str, v: i64| {
            if v > 0 {
                Ok(())
            } else {
                Err(InvalidRiskParam { field, expected: format!("a positive duration in ms, got {v}") })
            }
        };
        positive("im_rate_block", self.im_rate_block)?;
        fraction("balance_reprice_offset", self.balance_reprice_offset)?;
        positive("im_rate_close_in_profit", self.im_rate_close_in_profit)?;
        fraction("trailing_activation", self.trailing_activation)?;
        fraction("trailing_pullback", self.trailing_pullback)?;
        fraction("position_value_limit", self.position_value_limit)?;
        duration("max_level_timeout_ms", self.max_level_timeout_ms)?;
        if !self.both_in_profit_min_pnl.is_finite() || self.both_in_profit_min_pnl < 0.0 {
            return Err(InvalidRiskParam {
                field: "both_in_profit_min_pnl",
                expected: format!("a non-negative amount, got {}", self.both_in_profit_min_pnl),
            });
        }
        positive("tp_safety_enter", self.tp_safety_enter)?;
        if !(self.tp_safety_leave.is_finite() && self.tp_safety_leave >= self.tp_safety_enter) {
            return Err(InvalidRiskParam {
                field: "tp_safety_leave",
                expected: format!("at least tp_safety_enter {}, got {}", self.tp_safety_enter, self.tp_safety_leave),
            });
        }
        if !(self.level_up_budget_fraction.is_finite() && self.level_up_budget_fraction > 0.0) {
            return Err(InvalidRiskParam {
                field: "level_up_budget_fraction",
                expected: format!("a positive fraction, got {}", self.level_up_budget_fraction),
            });
        }
        duration("level_up_window_ms", self.level_up_window_ms)?;
        fraction("daily_drawdown_kill", self.daily_drawdown_kill)?;
        positive("max_exposure", self.max_exposure)?;
        Ok(())
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
