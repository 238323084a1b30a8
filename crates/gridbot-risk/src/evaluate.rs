//! The decision function. See the crate documentation for each level's trigger, response and
//! interpretation, and for the precedence this function implements:
//!
//! 1. memory is brought up to date (day peak, PnL peaks, time at max level, the 48 h window,
//!    TP-safety hysteresis) — always, even while halted, so nothing is stale on resume;
//! 2. a halt (emergency stop, then the latched kill switch) blocks every action and stops;
//! 3. closes (L5, L6, L2, L3 in that order) — a closed leg has every action blocked by the close;
//! 4. blocks (L1, L4, exposure cap, L8, L9 in that order; the first recorded wins attribution);
//! 5. re-prices (L1) for legs that are not closing.

use gridbot_core::time::utc_day_start;
use gridbot_core::{Decimal, Leg, OrderRole, Price, Side};

use crate::decision::{Action, Alert, LegDecision, Reprice, RiskDecision, RiskLevel};
use crate::params::RiskParams;
use crate::snapshot::{AccountMemory, KillSwitchTrip, LegMemory, LegSnapshot, RiskSnapshot};

/// Evaluates every rule over `snapshot`. Pure: the same snapshot gives the same decision.
#[must_use]
pub fn evaluate(params: &RiskParams, snapshot: &RiskSnapshot) -> RiskDecision {
    let mut decision = RiskDecision { memory: snapshot.memory.clone(), ..RiskDecision::default() };
    let now = snapshot.now_ms;

    // 1. Memory.
    let tripped = update_account_memory(params, snapshot, &mut decision.memory.account);
    for leg in Leg::BOTH {
        let entered = update_leg_memory(params, snapshot, leg, decision.memory.legs.get_mut(leg));
        if let Some(coverage) = entered {
            decision.alerts.push(Alert {
                level: RiskLevel::TpSafety,
                leg: Some(leg),
                message: format!(
                    "{leg:?} leg: margin after the take-profit would cover {coverage:.3}x of reopening (enter below {}x); protective orders blocked",
                    params.tp_safety_enter
                ),
            });
        }
    }

    // 2. Halt.
    let any_orders = Leg::BOTH.iter().any(|&l| !snapshot.legs.get(l).orders.is_empty());
    if let Some(trip) = decision.memory.account.kill_switch {
        decision.cancel_all = any_orders;
        if tripped {
            decision.alerts.push(Alert {
                level: RiskLevel::DailyKillSwitch,
                leg: None,
                message: format!(
                    "equity {:.2} is {:.2}% below the UTC day's peak {:.2} (limit {:.2}%): cancelling all orders and stopping until reset",
                    trip.equity,
                    (1.0 - trip.equity / trip.peak_equity) * 100.0,
                    trip.peak_equity,
                    params.daily_drawdown_kill * 100.0
                ),
            });
        }
    }
    let halt = if snapshot.emergency_stop {
        Some(RiskLevel::EmergencyStop)
    } else {
        decision.memory.account.kill_switch.map(|_| RiskLevel::DailyKillSwitch)
    };
    if let Some(level) = halt {
        decision.halt = Some(level);
        for leg in Leg::BOTH {
            block_all(decision.legs.get_mut(leg), level);
        }
        if level == RiskLevel::EmergencyStop {
            decision.alerts.push(Alert {
                level,
                leg: None,
                message: "emergency-stop flag is set: trading halted until it is removed".to_owned(),
            });
        }
        return decision;
    }

    // 3. Closes.
    let account = &snapshot.account;
    let both_in_profit = Leg::BOTH.iter().all(|&l| {
        let s = snapshot.legs.get(l);
        s.is_open() && s.unrealised_pnl > params.both_in_profit_min_pnl
    });
    for leg in Leg::BOTH {
        let s = snapshot.legs.get(leg);
        if !s.is_open() {
            continue;
        }
        let memory = decision.memory.legs.get(leg);
        let close = if memory.at_max_level_since_ms.is_some_and(|since| now - since >= params.max_level_timeout_ms) {
            Some((
                RiskLevel::StuckAtMaxLevel,
                format!(
                    "{leg:?} leg has been at max level {} for {} ms",
                    snapshot.max_level,
                    now - memory.at_max_level_since_ms.unwrap_or(now)
                ),
            ))
        } else if both_in_profit {
            Some((
                RiskLevel::BothLegsInProfit,
                format!("both legs in profit ({leg:?} {:.4}): closing together", s.unrealised_pnl),
            ))
        } else if account.im_rate >= params.im_rate_close_in_profit && s.unrealised_pnl > 0.0 {
            Some((
                RiskLevel::HighImInProfit,
                format!(
                    "account IM rate {:.4} ≥ {} with {leg:?} leg in profit {:.4}: closing",
                    account.im_rate, params.im_rate_close_in_profit, s.unrealised_pnl
                ),
            ))
        } else if trailing_stop_fires(params, s, memory) {
            Some((
                RiskLevel::TrailingStop,
                format!(
                    "{leg:?} leg PnL {:.4} fell {}% from its peak {:.4}: closing",
                    s.unrealised_pnl,
                    params.trailing_pullback * 100.0,
                    memory.peak_pnl.unwrap_or(0.0)
                ),
            ))
        } else {
            None
        };
        if let Some((level, message)) = close {
            let d = decision.legs.get_mut(leg);
            d.close = Some(level);
            block_all(d, level);
            decision.alerts.push(Alert { level, leg: Some(leg), message });
        }
    }

    // 4. Blocks.
    let im_blocked = account.im_rate >= params.im_rate_block;
    if im_blocked {
        decision.alerts.push(Alert {
            level: RiskLevel::ImRateBlock,
            leg: None,
            message: format!(
                "account IM rate {:.4} ≥ {}: workflow blocked, balance orders moved near the market",
                account.im_rate, params.im_rate_block
            ),
        });
    }
    let exposure = if account.equity > 0.0 { account.total_position_value / account.equity } else { f64::INFINITY };
    let exposure_blocked = exposure > params.max_exposure;
    if exposure_blocked {
        decision.alerts.push(Alert {
            level: RiskLevel::ExposureCap,
            leg: None,
            message: format!(
                "exposure {exposure:.3}x equity exceeds the cap {}x: new orders blocked",
                params.max_exposure
            ),
        });
    }
    let budget = params.level_up_budget(snapshot.max_level);
    for leg in Leg::BOTH {
        let s = snapshot.legs.get(leg);
        let memory = decision.memory.legs.get(leg);
        let d = decision.legs.get_mut(leg);
        if im_blocked {
            block_opening(d, RiskLevel::ImRateBlock);
        }
        if s.position_value > params.position_value_limit * snapshot.risk_limit {
            block_opening(d, RiskLevel::PositionValueLimit);
            decision.alerts.push(Alert {
                level: RiskLevel::PositionValueLimit,
                leg: Some(leg),
                message: format!(
                    "{leg:?} position value {:.2} exceeds {}% of the risk limit {:.2}: new orders blocked",
                    s.position_value,
                    params.position_value_limit * 100.0,
                    snapshot.risk_limit
                ),
            });
        }
        if exposure_blocked {
            block_opening(d, RiskLevel::ExposureCap);
        }
        if memory.tp_safety {
            d.blocked.block(Action::Protective, RiskLevel::TpSafetyBlock);
        }
        if memory.level_ups_ms.len() >= budget {
            d.blocked.block(Action::Protective, RiskLevel::LevelUpBudget);
            decision.alerts.push(Alert {
                level: RiskLevel::LevelUpBudget,
                leg: Some(leg),
                message: format!(
                    "{leg:?} leg used its {budget} level-ups of the last {} ms: deeper levels blocked",
                    params.level_up_window_ms
                ),
            });
        }
    }

    // 5. Re-prices.
    if im_blocked {
        for leg in Leg::BOTH {
            if decision.legs.get(leg).close.is_some() {
                continue;
            }
            for order in snapshot.legs.get(leg).orders.iter().filter(|o| o.role == OrderRole::Balance) {
                if let Some(to) = near_market(params, order.side, snapshot.best_bid, snapshot.best_ask)
                    && farther_from_market(order.side, order.price, to)
                {
                    decision.reprices.push(Reprice {
                        key: order.key,
                        leg,
                        side: order.side,
                        from: order.price,
                        to,
                        level: RiskLevel::ImRateBlock,
                    });
                }
            }
        }
    }
    decision
}

/// How long `decision` (made on `snapshot`) stays what `evaluate` would decide if nothing but
/// time and the top of the book moved: the earliest time a time-based rule could change it (a
/// new UTC day for the kill switch's peak, a level-up leaving the 48 h window, a leg's time at
/// the max level running out). `None` when the book itself matters (L1 re-prices balance
/// orders relative to it). Callers that skip `evaluate` on quiet market data rely on this.
#[must_use]
pub fn calm_until(params: &RiskParams, snapshot: &RiskSnapshot, decision: &RiskDecision) -> Option<i64> {
    if snapshot.account.im_rate >= params.im_rate_block || !decision.reprices.is_empty() {
        return None;
    }
    let mut until = utc_day_start(snapshot.now_ms) + gridbot_core::time::DAY_MS;
    for leg in Leg::BOTH {
        let memory = decision.memory.legs.get(leg);
        if let Some(&oldest) = memory.level_ups_ms.first() {
            until = until.min(oldest.saturating_add(params.level_up_window_ms));
        }
        if snapshot.legs.get(leg).is_open()
            && let Some(since) = memory.at_max_level_since_ms
        {
            until = until.min(since.saturating_add(params.max_level_timeout_ms));
        }
    }
    Some(until)
}

fn block_all(d: &mut LegDecision, level: RiskLevel) {
    for action in [Action::Balance, Action::Protective, Action::TakeProfit] {
        d.blocked.block(action, level);
    }
}

fn block_opening(d: &mut LegDecision, level: RiskLevel) {
    d.blocked.block(Action::Balance, level);
    d.blocked.block(Action::Protective, level);
}

/// Day peak and kill switch; returns true when the switch trips in this decision.
fn update_account_memory(params: &RiskParams, snapshot: &RiskSnapshot, memory: &mut AccountMemory) -> bool {
    let day = utc_day_start(snapshot.now_ms);
    let equity = snapshot.account.equity;
    if memory.day_start_ms != Some(day) {
        memory.day_start_ms = Some(day);
        memory.day_peak_equity = equity;
    } else if equity > memory.day_peak_equity {
        memory.day_peak_equity = equity;
    }
    let peak = memory.day_peak_equity;
    if memory.kill_switch.is_none() && peak > 0.0 && equity <= peak * (1.0 - params.daily_drawdown_kill) {
        memory.kill_switch = Some(KillSwitchTrip { at_ms: snapshot.now_ms, peak_equity: peak, equity });
        return true;
    }
    false
}

/// PnL peak, time at max level, the level-up window and TP-safety hysteresis. Returns the
/// coverage when TP-safety mode is entered in this decision.
fn update_leg_memory(params: &RiskParams, snapshot: &RiskSnapshot, leg: Leg, memory: &mut LegMemory) -> Option<f64> {
    let now = snapshot.now_ms;
    let s = snapshot.legs.get(leg);
    // L9: keep level-ups inside the window (now − window, now].
    let cutoff = now.saturating_sub(params.level_up_window_ms);
    let expired = memory.level_ups_ms.partition_point(|&t| t <= cutoff);
    if expired > 0 {
        memory.level_ups_ms.drain(..expired);
    }
    if !s.is_open() {
        memory.peak_pnl = None;
        memory.at_max_level_since_ms = None;
        memory.tp_safety = false;
        return None;
    }
    memory.peak_pnl = Some(memory.peak_pnl.map_or(s.unrealised_pnl, |p| p.max(s.unrealised_pnl)));
    if s.level == Some(snapshot.max_level) {
        memory.at_max_level_since_ms.get_or_insert(now);
    } else {
        memory.at_max_level_since_ms = None;
    }
    let coverage = tp_coverage(snapshot.account.available_balance, s)?;
    if memory.tp_safety {
        if coverage > params.tp_safety_leave {
            memory.tp_safety = false;
        }
        None
    } else if coverage < params.tp_safety_enter {
        memory.tp_safety = true;
        Some(coverage)
    } else {
        None
    }
}

/// L7: (available balance + margin the TP frees + profit it realises) / margin to reopen the
/// same size at the TP price. `None` when nothing would need reopening.
fn tp_coverage(available_balance: f64, s: &LegSnapshot) -> Option<f64> {
    let tp_price = s.take_profit_price().unwrap_or(s.mark_price);
    if s.leverage <= 0.0 || tp_price <= 0.0 {
        return None;
    }
    let needed = s.size * tp_price / s.leverage;
    if needed <= 0.0 {
        return None;
    }
    let realised = s.size * (tp_price - s.avg_price).abs();
    Some((available_balance + s.position_im + realised) / needed)
}

/// L3: armed once the peak reached the activation share of position value; fires when PnL is
/// at or below `peak × (1 − pullback)`.
fn trailing_stop_fires(params: &RiskParams, s: &LegSnapshot, memory: &LegMemory) -> bool {
    let Some(peak) = memory.peak_pnl else { return false };
    let armed = s.position_value > 0.0 && peak >= params.trailing_activation * s.position_value;
    armed && s.unrealised_pnl <= peak * (1.0 - params.trailing_pullback)
}

/// L1's target: `balance_reprice_offset` from the market on the order's passive side.
fn near_market(params: &RiskParams, side: Side, best_bid: Option<Price>, best_ask: Option<Price>) -> Option<Price> {
    let offset = Decimal::from_f64_retain(params.balance_reprice_offset)?.round_dp(8);
    match side {
        Side::Buy => best_bid?.checked_mul(Decimal::ONE - offset),
        Side::Sell => best_ask?.checked_mul(Decimal::ONE + offset),
    }
}

fn farther_from_market(side: Side, current: Price, target: Price) -> bool {
    match side {
        Side::Buy => current < target,
        Side::Sell => current > target,
    }
}
