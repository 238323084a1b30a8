//! Trailing: a classic grid that the market left moves by whole levels after it — the levels
//! that stay keep their prices and slots, the inventory and the generation's PnL stay, nothing
//! is sent at market — instead of a recentre that closes the inventory.

use gridbot_core::Price;
use gridbot_state::{ClassicSlot, ClassicState};

use super::{ClassicGrid, Note};
use crate::reasons::RecentreReason;

impl ClassicGrid {
    /// How many whole levels a trailing grid moves to hold `mid` again (up when positive):
    /// `None` when the mid is inside the range, trailing is off on that side, or the limit
    /// price or a level that closes inventory allows no move.
    pub(super) fn trail_by(&self, mid: Price) -> Option<i32> {
        let state = self.state.as_ref()?;
        let levels = state.plan.levels();
        let (first, last) = (levels.first()?.price.to_f64(), levels.last()?.price.to_f64());
        let n = levels.len();
        let up = mid.to_f64() > last;
        let limit = if up {
            self.settings.options.trailing_up_limit?
        } else if mid.to_f64() < first {
            self.settings.options.trailing_down_limit?
        } else {
            return None;
        };
        #[allow(clippy::cast_precision_loss, reason = "level counts are small")]
        let gaps = (n - 1) as f64;
        let geometric = self.settings.progression == gridbot_grid::Progression::Geometric;
        // Where the edge level lands after moving `by` levels.
        let edge = |by: f64| match (geometric, up) {
            (true, true) => last * (last / first).powf(by / gaps),
            (true, false) => first / (last / first).powf(by / gaps),
            (false, true) => last + by * (last - first) / gaps,
            (false, false) => first - by * (last - first) / gaps,
        };
        let m = mid.to_f64();
        let mut by = 1u32;
        while by < self.max_trail(up) && if up { edge(f64::from(by)) < m } else { edge(f64::from(by)) > m } {
            by += 1;
        }
        let within = |by: u32| {
            let e = edge(f64::from(by));
            if up { e <= limit.to_f64() } else { e >= limit.to_f64() }
        };
        while by > 0 && !within(by) {
            by -= 1;
        }
        let by = by.min(self.max_trail(up));
        let by = i32::try_from(by).ok().filter(|b| *b > 0)?;
        Some(if up { by } else { -by })
    }

    /// The most levels a move may take: fewer than the grid has, and never past a level whose
    /// slot closes inventory (it would leave a position without its closing order).
    pub(super) fn max_trail(&self, up: bool) -> u32 {
        let Some(state) = self.state.as_ref() else { return 0 };
        let n = u32::try_from(state.plan.levels().len()).unwrap_or(0);
        let closing = state.slots.iter().filter(|s| s.side == s.leg.exit_side()).map(|s| s.index);
        let bound = if up { closing.min() } else { closing.max().map(|i| n.saturating_sub(1) - i) };
        bound.unwrap_or(n.saturating_sub(1)).min(n.saturating_sub(1))
    }

    /// Moves the grid by `by` whole levels around `mid` as a new generation that keeps the
    /// inventory, the generation's PnL and the slots of the levels that stay; the levels that
    /// arrive get the orders a build would give them (buys below the mid, sells above).
    pub(super) fn shift(&mut self, by: i32, mid: Price, now_ms: i64, notes: &mut Vec<Note>, reason: &RecentreReason) {
        let Some(old) = self.state.clone() else { return };
        let by = by.clamp(
            -i32::try_from(self.max_trail(false)).unwrap_or(0),
            i32::try_from(self.max_trail(true)).unwrap_or(0),
        );
        let plan = match old.plan.shifted(by, self.settings.progression, mid, &self.instrument) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(symbol = %self.instrument.symbol(), error = %e, "classic grid: cannot move by {by} levels");
                old.plan.clone()
            }
        };
        let n = i64::try_from(plan.levels().len()).unwrap_or(0);
        let moved = i64::from(if plan == old.plan { 0 } else { by });
        let mut slots: Vec<ClassicSlot> = old
            .slots
            .iter()
            .filter_map(|s| {
                let j = i64::from(s.index) - moved;
                (0..n).contains(&j).then(|| ClassicSlot { index: u32::try_from(j).unwrap_or(0), ..*s })
            })
            .collect();
        let arriving = |i: i64| if moved > 0 { i >= n - moved } else { i < -moved };
        for level in plan.levels() {
            if let Some(side) = level.initial_side
                && arriving(i64::from(level.index))
            {
                slots.push(ClassicSlot { index: level.index, side, leg: self.leg_for(side), qty: level.qty });
            }
        }
        slots.sort_by_key(|s| s.index);
        let generation = old.generation.saturating_add(1);
        if self.backed_generation == Some(old.generation) {
            self.backed_generation = Some(generation);
        }
        self.state =
            Some(ClassicState { generation, plan, slots, built_at_ms: now_ms, stopped: None, rebuilding: None, ..old });
        self.stats.recentres += 1;
        notes.push(Note::Recentred { generation, mid, reason: reason.clone() });
    }
}
