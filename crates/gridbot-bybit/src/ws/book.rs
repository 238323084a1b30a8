//! A local order book built from `orderbook.{depth}` snapshots and deltas.
//!
//! Rules (docs/BYBIT.md §4.3): a snapshot replaces the book; a delta's levels with size `0` are
//! deleted, others inserted or replaced; `u` steps by one per push. A delta whose `u` is not
//! the previous `u + 1` is a gap: the book is cleared and marked stale until the next
//! snapshot (the connection resubscribes to get one). A snapshot with `u == 1` means the
//! service restarted and is applied as a reset.

use std::collections::BTreeMap;

use gridbot_core::{BookLevel, Price, Qty};

use super::frames::{BookFrame, RawLevels, UpdateKind};

/// What applying a frame did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookUpdate {
    /// Applied; the book is consistent.
    Applied,
    /// A snapshot replaced the book (first one, a service restart `u == 1`, or after a gap).
    Reset,
    /// A delta did not follow the last update id: the book is cleared and stale until the
    /// next snapshot.
    Gap {
        /// The id we expected.
        expected: i64,
        /// The id that came.
        got: i64,
    },
    /// A delta arrived while stale (before any snapshot): ignored.
    Ignored,
    /// A level could not be parsed; the book is cleared and stale.
    Malformed,
}

/// Bids and asks of one symbol.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
    last_update_id: Option<i64>,
    ts: i64,
}

fn parse_level(level: &[String; 2]) -> Option<(Price, Qty)> {
    Some((level[0].parse().ok()?, level[1].parse().ok()?))
}

fn apply_side(side: &mut BTreeMap<Price, Qty>, levels: &RawLevels) -> bool {
    for level in levels {
        let Some((price, qty)) = parse_level(level) else { return false };
        if qty.is_zero() {
            side.remove(&price);
        } else {
            side.insert(price, qty);
        }
    }
    true
}

impl OrderBook {
    /// Applies one frame of this book's topic.
    pub fn apply(&mut self, frame: &BookFrame) -> BookUpdate {
        match frame.kind {
            UpdateKind::Snapshot => {
                self.bids.clear();
                self.asks.clear();
                if !(apply_side(&mut self.bids, &frame.bids) && apply_side(&mut self.asks, &frame.asks)) {
                    self.clear();
                    return BookUpdate::Malformed;
                }
                let was_consistent = self.last_update_id.is_some();
                let same = self.last_update_id == Some(frame.update_id);
                self.last_update_id = Some(frame.update_id);
                self.ts = frame.ts;
                if was_consistent && frame.update_id != 1 && (same || frame.depth == 1) {
                    BookUpdate::Applied
                } else {
                    BookUpdate::Reset
                }
            }
            UpdateKind::Delta => {
                let Some(last) = self.last_update_id else { return BookUpdate::Ignored };
                if frame.update_id != last + 1 {
                    self.clear();
                    return BookUpdate::Gap { expected: last + 1, got: frame.update_id };
                }
                if !(apply_side(&mut self.bids, &frame.bids) && apply_side(&mut self.asks, &frame.asks)) {
                    self.clear();
                    return BookUpdate::Malformed;
                }
                self.last_update_id = Some(frame.update_id);
                self.ts = frame.ts;
                BookUpdate::Applied
            }
        }
    }

    fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.last_update_id = None;
    }

    /// False until a snapshot arrives, and again after a gap.
    #[must_use]
    pub fn is_consistent(&self) -> bool {
        self.last_update_id.is_some()
    }

    /// Best bid.
    #[must_use]
    pub fn best_bid(&self) -> Option<BookLevel> {
        self.bids.iter().next_back().map(|(&price, &qty)| BookLevel { price, qty })
    }

    /// Best ask.
    #[must_use]
    pub fn best_ask(&self) -> Option<BookLevel> {
        self.asks.iter().next().map(|(&price, &qty)| BookLevel { price, qty })
    }

    /// Number of (bid, ask) levels.
    #[must_use]
    pub fn depth(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// Last applied update id.
    #[must_use]
    pub fn update_id(&self) -> Option<i64> {
        self.last_update_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: UpdateKind, u: i64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> BookFrame {
        let levels = |l: &[(&str, &str)]| l.iter().map(|(p, q)| [(*p).to_owned(), (*q).to_owned()]).collect();
        BookFrame {
            depth: 50,
            symbol: "BTCUSDT".into(),
            kind,
            update_id: u,
            seq: u,
            bids: levels(bids),
            asks: levels(asks),
            ts: u,
        }
    }

    #[test]
    fn snapshot_then_deltas() {
        let mut b = OrderBook::default();
        assert_eq!(b.apply(&frame(UpdateKind::Delta, 5, &[("1", "1")], &[])), BookUpdate::Ignored);
        assert_eq!(
            b.apply(&frame(UpdateKind::Snapshot, 10, &[("100", "1"), ("99", "2")], &[("101", "1")])),
            BookUpdate::Reset
        );
        assert_eq!(
            b.apply(&frame(UpdateKind::Delta, 11, &[("100", "0"), ("99.5", "3")], &[("100.5", "1")])),
            BookUpdate::Applied
        );
        assert_eq!(b.best_bid().unwrap().price.to_string(), "99.5");
        assert_eq!(b.best_ask().unwrap().price.to_string(), "100.5");
        assert_eq!(b.depth(), (2, 2));
    }

    #[test]
    fn a_gap_clears_the_book_until_the_next_snapshot() {
        let mut b = OrderBook::default();
        b.apply(&frame(UpdateKind::Snapshot, 10, &[("100", "1")], &[("101", "1")]));
        assert_eq!(
            b.apply(&frame(UpdateKind::Delta, 12, &[("100", "2")], &[])),
            BookUpdate::Gap { expected: 11, got: 12 }
        );
        assert!(!b.is_consistent());
        assert_eq!(b.best_bid(), None);
        assert_eq!(b.apply(&frame(UpdateKind::Delta, 13, &[("100", "2")], &[])), BookUpdate::Ignored);
        assert_eq!(b.apply(&frame(UpdateKind::Snapshot, 20, &[("100", "5")], &[])), BookUpdate::Reset);
        assert!(b.is_consistent());
    }

    #[test]
    fn service_restart_and_depth_one_snapshots() {
        let mut b = OrderBook::default();
        b.apply(&frame(UpdateKind::Snapshot, 500, &[("100", "1")], &[]));
        assert_eq!(b.apply(&frame(UpdateKind::Snapshot, 1, &[("90", "1")], &[])), BookUpdate::Reset);
        assert_eq!(b.best_bid().unwrap().price.to_string(), "90");
        let mut top = OrderBook::default();
        let mut f = frame(UpdateKind::Snapshot, 7, &[("100", "1")], &[("101", "1")]);
        f.depth = 1;
        assert_eq!(top.apply(&f), BookUpdate::Reset);
        f.update_id = 8;
        assert_eq!(top.apply(&f), BookUpdate::Applied, "depth 1 is snapshot-only");
    }

    #[test]
    fn malformed_levels_clear_the_book() {
        let mut b = OrderBook::default();
        b.apply(&frame(UpdateKind::Snapshot, 10, &[("100", "1")], &[]));
        assert_eq!(b.apply(&frame(UpdateKind::Delta, 11, &[("x", "1")], &[])), BookUpdate::Malformed);
        assert!(!b.is_consistent());
    }
}
