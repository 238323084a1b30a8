//! Gaps in a candle series: reported, never filled (an exchange outage is a fact of the data).

use gridbot_core::Candle;

/// Candles missing from a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// Open time of the last candle before the gap.
    pub after_ms: i64,
    /// Open time of the first candle after it.
    pub until_ms: i64,
    /// Candles missing.
    pub missing: i64,
}

impl Gap {
    /// The gap between consecutive candles opening at `after_ms` and `until_ms`, if any.
    #[must_use]
    pub fn between(after_ms: i64, until_ms: i64, interval_ms: i64) -> Option<Self> {
        (interval_ms > 0 && until_ms - after_ms > interval_ms).then(|| Self {
            after_ms,
            until_ms,
            missing: (until_ms - after_ms) / interval_ms - 1,
        })
    }
}

/// The series' interval: the smallest step between consecutive candles (`None` for fewer than
/// two candles).
#[must_use]
pub fn interval_of(candles: &[Candle]) -> Option<i64> {
    candles.windows(2).map(|w| w[1].open_time_ms - w[0].open_time_ms).filter(|d| *d > 0).min()
}

/// Every gap of an ascending series with candles `interval_ms` apart.
#[must_use]
pub fn gaps_of(candles: &[Candle], interval_ms: i64) -> Vec<Gap> {
    candles.windows(2).filter_map(|w| Gap::between(w[0].open_time_ms, w[1].open_time_ms, interval_ms)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_counts_the_candles_missing() {
        assert_eq!(
            Gap::between(60_000, 300_000, 60_000),
            Some(Gap { after_ms: 60_000, until_ms: 300_000, missing: 3 })
        );
        assert_eq!(Gap::between(60_000, 120_000, 60_000), None);
        assert_eq!(Gap::between(0, 120_000, 0), None);
    }
}
