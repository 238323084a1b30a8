//! One leg's cycle of the progressive grid: its cycle number, level, anchor, size and average
//! entry, and the two waits that hold its workflow (a partial fill, a risk close in flight).

use gridbot_core::{Decimal, Leg, Price, Qty};
use gridbot_grid::LegPosition;
use gridbot_state::LegState;

/// One leg's cycle.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LegCycle {
    pub(super) leg: Leg,
    pub(super) cycle: u32,
    pub(super) level: Option<u32>,
    pub(super) anchor: Option<Price>,
    pub(super) size: Qty,
    /// Average entry, exact to 16 places.
    pub(super) avg: Option<Decimal>,
    /// What the cycle opened in all (its entry fills).
    pub(super) opened: Qty,
    /// The take-profit ladder's tranches filled this cycle (bit `k`: tranche `k`).
    pub(super) tranches_filled: u32,
    /// The balance order's fills (quantity and value): the anchor is their average.
    level0_qty: Decimal,
    level0_value: Decimal,
    /// A partial fill froze the leg at this time.
    pub(super) frozen_since: Option<i64>,
    /// A close at market (a risk level's, or the funding guard's) is in flight.
    pub(super) closing: bool,
}

impl LegCycle {
    pub(super) fn new(leg: Leg) -> Self {
        Self {
            leg,
            cycle: 1,
            level: None,
            anchor: None,
            size: Qty::ZERO,
            avg: None,
            opened: Qty::ZERO,
            tranches_filled: 0,
            level0_qty: Decimal::ZERO,
            level0_value: Decimal::ZERO,
            frozen_since: None,
            closing: false,
        }
    }

    pub(super) fn from_state(leg: Leg, s: &LegState) -> Self {
        Self {
            cycle: s.cycle.max(1),
            level: s.level.filter(|_| !s.size.is_zero()),
            anchor: s.anchor,
            size: s.size,
            avg: s.avg_entry.map(Price::as_decimal).filter(|_| !s.size.is_zero()),
            opened: if s.opened.is_zero() { s.size } else { s.opened },
            tranches_filled: s.tranches_filled,
            ..Self::new(leg)
        }
    }

    pub(super) fn state(&self) -> LegState {
        LegState {
            cycle: self.cycle,
            level: self.level,
            anchor: self.anchor,
            avg_entry: self.avg_price(),
            size: self.size,
            opened: self.opened,
            tranches_filled: self.tranches_filled,
            taken_through_ms: None,
        }
    }

    /// What `desired_orders` needs to know of the leg.
    pub(super) fn position(&self) -> LegPosition {
        LegPosition {
            size: self.size,
            level: self.level,
            anchor: self.anchor,
            avg_entry: self.avg_price(),
            opened: self.opened,
            tranches_filled: self.tranches_filled,
        }
    }

    pub(super) fn avg_price(&self) -> Option<Price> {
        self.avg.and_then(|a| Price::new(a.round_dp(8)).ok())
    }

    pub(super) fn is_open(&self) -> bool {
        !self.size.is_zero()
    }

    pub(super) fn add_entry(&mut self, price: Price, qty: Qty, balance: bool) {
        let (p, q, s) = (price.as_decimal(), qty.as_decimal(), self.size.as_decimal());
        let total = s + q;
        if !total.is_zero() {
            let value = self.avg.unwrap_or(Decimal::ZERO) * s + p * q;
            self.avg = value.checked_div(total).map(|a| a.round_dp(16));
        }
        self.size = Qty::new(total).unwrap_or(self.size);
        self.opened = self.opened.checked_add(qty).unwrap_or(self.opened);
        if balance {
            self.level0_qty += q;
            self.level0_value += p * q;
        }
    }

    /// The anchor from the balance order's fills so far.
    pub(super) fn balance_average(&self) -> Option<Decimal> {
        self.level0_value.checked_div(self.level0_qty)
    }

    /// Returns false when the exit is larger than the leg.
    pub(super) fn add_exit(&mut self, qty: Qty) -> bool {
        match self.size.checked_sub(qty) {
            Some(rest) => {
                self.size = rest;
                true
            }
            None => {
                self.size = Qty::ZERO;
                false
            }
        }
    }

    /// The leg is flat: the next cycle starts. Returns the cycle that ended.
    pub(super) fn close_cycle(&mut self) -> u32 {
        let ended = self.cycle;
        *self = Self { cycle: self.cycle.saturating_add(1), ..Self::new(self.leg) };
        ended
    }
}
