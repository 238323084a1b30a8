//! Which executions the core has heard: so a reconciliation can tell a fill missed live (a
//! dropped socket, a lost frame) from one already applied and journaled, and journal exactly
//! the missed ones.
//!
//! Decisions:
//! - **By execution id, over a window of exchange time.** The set keeps the ids heard within
//!   [`HEARD_KEEP_MS`] of the newest one heard (execution times are the exchange's clock, which
//!   in a replay is the market's, not the core's `now_ms`). Below the window's floor the set
//!   no longer answers, and nothing older is called missed.
//! - **Seeded at start.** A restart journals what the exchange executed while the bot was away
//!   and recovers the legs from the exchange; the executions it read are added as heard, from
//!   the floor it read from, so a later reconciliation does not count them again.
//! - Bounded: a few hours of fills is at most a few thousand ids.

use std::collections::{HashSet, VecDeque};

use gridbot_core::Execution;

/// How much exchange time of heard executions is kept (6 h): a fill missed live is found by a
/// reconciliation within this long of the newest fill heard.
pub const HEARD_KEEP_MS: i64 = 6 * 3_600_000;

/// The executions heard (applied or already journaled), by id, over the last [`HEARD_KEEP_MS`].
#[derive(Debug, Clone, Default)]
pub struct HeardExecutions {
    /// Every execution after this time (exchange time) that is not in `ids` is unheard
    /// (`None`: every one not in `ids`).
    floor_ms: Option<i64>,
    ids: HashSet<String>,
    by_time: VecDeque<(i64, String)>,
    newest_ms: Option<i64>,
}

impl HeardExecutions {
    /// Heard everything after `floor_ms` that `known` lists, and nothing else.
    #[must_use]
    pub fn seeded(floor_ms: Option<i64>, known: impl IntoIterator<Item = (String, i64)>) -> Self {
        let mut heard = Self { floor_ms, ..Self::default() };
        for (id, t) in known {
            heard.note_id(id, t);
        }
        heard
    }

    /// Notes `e` as heard.
    pub fn note(&mut self, e: &Execution) {
        if !self.ids.contains(&e.exec_id) {
            self.note_id(e.exec_id.clone(), e.exec_time_ms);
        }
    }

    fn note_id(&mut self, id: String, t: i64) {
        if self.floor_ms.is_some_and(|f| t <= f) || !self.ids.insert(id.clone()) {
            return;
        }
        // Kept sorted by time; fills arrive nearly in order, so this is a short walk.
        let at = self.by_time.iter().rposition(|(u, _)| *u <= t).map_or(0, |k| k + 1);
        self.by_time.insert(at, (t, id));
        let newest = self.newest_ms.map_or(t, |n| n.max(t));
        self.newest_ms = Some(newest);
        let floor = newest - HEARD_KEEP_MS;
        while self.by_time.front().is_some_and(|(u, _)| *u <= floor) {
            if let Some((_, old)) = self.by_time.pop_front() {
                self.ids.remove(&old);
            }
            self.floor_ms = Some(self.floor_ms.map_or(floor, |f| f.max(floor)));
        }
    }

    /// Whether `e` was heard, or is too old to tell (at or below the floor).
    #[must_use]
    pub fn knows(&self, e: &Execution) -> bool {
        self.floor_ms.is_some_and(|f| e.exec_time_ms <= f) || self.ids.contains(&e.exec_id)
    }

    /// From when a reconciliation should read executions to find the unheard ones (exchange
    /// time; `None`: no fill heard and no floor — from the start of the history it reads).
    #[must_use]
    pub fn read_from_ms(&self) -> Option<i64> {
        self.floor_ms.or_else(|| self.newest_ms.map(|n| n - HEARD_KEEP_MS))
    }

    /// How many ids are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when none is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_orders::execution_at;

    #[test]
    fn heard_ids_are_known_and_others_are_not() {
        let mut heard = HeardExecutions::default();
        heard.note(&execution_at("a", 1_000));
        assert!(heard.knows(&execution_at("a", 1_000)));
        assert!(!heard.knows(&execution_at("b", 500)), "without a floor an older unheard fill is unheard");
        assert_eq!(heard.read_from_ms(), Some(1_000 - HEARD_KEEP_MS));
    }

    #[test]
    fn a_seed_sets_the_floor_below_which_nothing_is_called_missed() {
        let heard = HeardExecutions::seeded(Some(10_000), [("a".to_owned(), 12_000)]);
        assert!(heard.knows(&execution_at("old", 9_000)));
        assert!(heard.knows(&execution_at("a", 12_000)));
        assert!(!heard.knows(&execution_at("new", 11_000)));
        assert_eq!(heard.read_from_ms(), Some(10_000));
    }

    #[test]
    fn the_window_follows_the_newest_fill_and_stays_bounded() {
        let mut heard = HeardExecutions::default();
        for k in 0..10_000i64 {
            heard.note(&execution_at(&format!("e{k}"), k * 60_000));
        }
        assert_eq!(heard.len(), 360, "six hours of one fill a minute");
        let newest = 9_999 * 60_000;
        assert_eq!(heard.read_from_ms(), Some(newest - HEARD_KEEP_MS));
        assert!(heard.knows(&execution_at("e0", 0)), "below the floor: too old to call missed");
        assert!(!heard.knows(&execution_at("unheard", newest - 1)));
    }

    #[test]
    fn duplicates_and_out_of_order_fills_are_held_once_in_time_order() {
        let mut heard = HeardExecutions::default();
        for (id, t) in [("b", 2_000), ("a", 1_000), ("b", 2_000), ("c", 3_000)] {
            heard.note(&execution_at(id, t));
        }
        assert_eq!(heard.len(), 3);
        let times: Vec<i64> = heard.by_time.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![1_000, 2_000, 3_000]);
    }
}
