//! The risk snapshot of one symbol, from the grid's legs, the exchange's positions and
//! wallet, and the account's memory.

use gridbot_core::Leg;
use gridbot_risk::{AccountView, LegPair, LegSnapshot, RiskMemory, RiskSnapshot};

use super::AccountCore;

impl AccountCore {
    pub(super) fn risk_snapshot(&self, i: usize, now_ms: i64) -> RiskSnapshot {
        let slot = &self.symbols[i];
        // Positions and the wallet are converted once per report (see `set_position`).
        let total_position_value: f64 = self
            .symbols
            .iter()
            .flat_map(|s| Leg::BOTH.map(|leg| s.position_figures.get(leg).as_ref().map_or(0.0, |f| f.position_value)))
            .sum();
        let account = AccountView { total_position_value, ..self.wallet_figures.unwrap_or_default() };
        let views = slot.grid.risk_legs();
        let sizes = slot.grid.leg_sizes();
        // A leg the grid knows is flat is flat, even while the exchange's position report lags
        // behind the fill that closed it (risk must not close it again).
        let leg = |leg: Leg| {
            let (level, orders) = views.get(leg).clone();
            match (slot.positions.get(leg), slot.position_figures.get(leg)) {
                (Some(p), Some(figures)) if !p.size.is_zero() && !sizes.get(leg).is_zero() => {
                    LegSnapshot { level, orders, ..figures.clone() }
                }
                _ => LegSnapshot { level: None, orders, ..LegSnapshot::default() },
            }
        };
        RiskSnapshot {
            now_ms,
            emergency_stop: self.halted,
            account,
            risk_limit: slot.risk_limit,
            max_level: slot.grid.max_level(),
            best_bid: slot.market.bid,
            best_ask: slot.market.ask,
            legs: LegPair { long: leg(Leg::Long), short: leg(Leg::Short) },
            memory: RiskMemory { account: self.account_memory.clone(), legs: slot.risk.clone() },
        }
    }
}
