//! The funding guard of a progressive grid: the predicted funding rate and the next settlement
//! time (from the exchange's ticker stream live and on paper, from the funding source in a
//! backtest) keep a leg from opening a cycle that would pay too much, and close a leg in profit
//! just before a settlement it would pay too much at.
//!
//! Decisions:
//! - Who pays: a positive rate is paid by longs to shorts, a negative one by shorts to longs;
//!   the guard only ever looks at the paying side.
//! - "Opening" is the balance (entry) order of a flat leg: an open leg keeps its protective
//!   orders (refusing to average down would leave the cycle stuck, which the risk levels, not
//!   the funding guard, decide).
//! - The close is a market order of the whole leg (reduce-only), like a risk close; "in profit"
//!   means the touch the close would take (bid for a long, ask for a short) is beyond the
//!   average entry. It is only sent inside the window before the settlement.

use gridbot_core::{Decimal, Leg, Price};

/// The guard's settings (each part off unless set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FundingGuard {
    /// A flat leg opens no cycle while it would pay more than this rate per settlement.
    pub max_open_rate: Option<Decimal>,
    /// How long before a settlement a leg in profit is closed, ms (with `close_rate`).
    pub close_before_ms: Option<i64>,
    /// The rate (paid per settlement) from which that close happens.
    pub close_rate: Option<Decimal>,
}

impl FundingGuard {
    /// True when any part is on.
    #[must_use]
    pub const fn is_on(&self) -> bool {
        self.max_open_rate.is_some() || (self.close_before_ms.is_some() && self.close_rate.is_some())
    }
}

/// The predicted funding rate and the next settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingView {
    /// Predicted rate of the next settlement (positive: longs pay).
    pub rate: Decimal,
    /// The next settlement, UTC ms.
    pub next_ms: i64,
}

/// The rate `leg` would pay at the settlement (zero when it would receive).
#[must_use]
pub(super) fn paid_rate(leg: Leg, rate: Decimal) -> Decimal {
    match leg {
        Leg::Long => rate.max(Decimal::ZERO),
        Leg::Short => (-rate).max(Decimal::ZERO),
    }
}

/// True when a flat `leg` must not open a cycle.
#[must_use]
pub(super) fn blocks_opening(guard: &FundingGuard, view: Option<&FundingView>, leg: Leg) -> bool {
    match (guard.max_open_rate, view) {
        (Some(max), Some(v)) => paid_rate(leg, v.rate) > max,
        _ => false,
    }
}

/// True inside the window before a settlement that `leg` would pay at least the close rate at.
#[must_use]
pub(super) fn in_close_window(guard: &FundingGuard, view: Option<&FundingView>, leg: Leg, now_ms: i64) -> bool {
    match (guard.close_before_ms, guard.close_rate, view) {
        (Some(before), Some(rate), Some(v)) => {
            now_ms >= v.next_ms - before && now_ms < v.next_ms && paid_rate(leg, v.rate) >= rate
        }
        _ => false,
    }
}

/// When the close window of an adverse settlement opens (for the grid's calm): `None` when
/// there is none ahead.
#[must_use]
pub(super) fn close_window_opens(
    guard: &FundingGuard,
    view: Option<&FundingView>,
    leg: Leg,
    now_ms: i64,
) -> Option<i64> {
    let (before, rate, v) = (guard.close_before_ms?, guard.close_rate?, view?);
    (paid_rate(leg, v.rate) >= rate && now_ms < v.next_ms).then_some(v.next_ms - before)
}

/// True when closing `leg` at its touch realises a profit against `avg`.
#[must_use]
pub(super) fn in_profit(leg: Leg, avg: Price, bid: Option<Price>, ask: Option<Price>) -> bool {
    match leg {
        Leg::Long => bid.is_some_and(|b| b > avg),
        Leg::Short => ask.is_some_and(|a| a < avg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn the_paying_side_is_guarded_and_only_inside_its_window() {
        let guard = FundingGuard {
            max_open_rate: Some(d("0.0005")),
            close_before_ms: Some(600_000),
            close_rate: Some(d("0.001")),
        };
        let view = FundingView { rate: d("0.0012"), next_ms: 28_800_000 };
        assert!(blocks_opening(&guard, Some(&view), Leg::Long));
        assert!(!blocks_opening(&guard, Some(&view), Leg::Short), "shorts receive");
        assert!(!blocks_opening(&guard, None, Leg::Long), "no rate known: nothing blocked");
        assert!(!in_close_window(&guard, Some(&view), Leg::Long, 28_800_000 - 600_001));
        assert!(in_close_window(&guard, Some(&view), Leg::Long, 28_800_000 - 600_000));
        assert!(!in_close_window(&guard, Some(&view), Leg::Long, 28_800_000), "settled");
        assert!(!in_close_window(&guard, Some(&view), Leg::Short, 28_800_000 - 1));
        assert_eq!(close_window_opens(&guard, Some(&view), Leg::Long, 0), Some(28_200_000));
        let negative = FundingView { rate: d("-0.0012"), next_ms: 28_800_000 };
        assert!(blocks_opening(&guard, Some(&negative), Leg::Short));
        assert!(in_close_window(&guard, Some(&negative), Leg::Short, 28_799_999));
    }
}
