//! The deterministic intra-candle price path: open → the nearer extreme → the other extreme →
//! close. "Nearer" is measured from the open; on a tie the low comes first (a conservative
//! choice for a grid that buys dips: it sees the drop before the rally).

use gridbot_core::{Candle, Price};

/// The four points a candle's price visits, in order. Consecutive equal points are kept; the
/// matcher treats a repeated price as no movement.
#[inline]
#[must_use]
pub fn candle_path(c: &Candle) -> [Price; 4] {
    let (open, high, low) = (c.open.as_decimal(), c.high.as_decimal(), c.low.as_decimal());
    // On one scale (the replay aligns each series) the distances are integer differences.
    let low_first = if open.scale() == high.scale() && open.scale() == low.scale() {
        open.mantissa() - low.mantissa() <= high.mantissa() - open.mantissa()
    } else {
        c.open.diff(c.low) <= c.high.diff(c.open)
    };
    if low_first { [c.open, c.low, c.high, c.close] } else { [c.open, c.high, c.low, c.close] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(o: &str, h: &str, l: &str, c: &str) -> Candle {
        Candle {
            open_time_ms: 0,
            open: o.parse().unwrap(),
            high: h.parse().unwrap(),
            low: l.parse().unwrap(),
            close: c.parse().unwrap(),
            volume: "1".parse().unwrap(),
        }
    }

    #[test]
    fn nearer_extreme_first() {
        let p = |s: &str| s.parse::<Price>().unwrap();
        assert_eq!(candle_path(&candle("100", "110", "99", "105")), [p("100"), p("99"), p("110"), p("105")]);
        assert_eq!(candle_path(&candle("100", "101", "90", "95")), [p("100"), p("101"), p("90"), p("95")]);
        // tie: low first
        assert_eq!(candle_path(&candle("100", "105", "95", "100")), [p("100"), p("95"), p("105"), p("100")]);
        // mixed scales take the general path and agree
        assert_eq!(candle_path(&candle("100.0", "110", "99.50", "105")), [p("100"), p("99.5"), p("110"), p("105")]);
        assert_eq!(candle_path(&candle("100.0", "100.40", "99.5", "100")), [p("100"), p("100.4"), p("99.5"), p("100")]);
    }
}
