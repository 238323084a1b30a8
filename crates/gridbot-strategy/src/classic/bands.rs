//! The prices a Bollinger-range grid takes its bounds from: one sample per interval — the first
//! mid the grid sees in it (its opening price) — seeded at start with the exchange's candles'
//! opens of the same interval.
//!
//! Decisions:
//! - **Opening prices, not closes.** The core decides on events, not on a clock, and a backtest
//!   skips quiet points; the first mid at or after an interval's start is seen alike live, on
//!   paper and in a backtest (the grid's calm ends at each interval boundary), where the last
//!   mid before its end is not.
//! - The bounds are refreshed when the grid is (re)built — the start, and every recentre — and
//!   never move a running generation.

use std::collections::VecDeque;

use gridbot_core::{Decimal, Interval, Price};

/// The last `period` opening prices of `interval`.
#[derive(Debug, Clone, PartialEq)]
pub struct BandSamples {
    interval_ms: i64,
    period: usize,
    samples: VecDeque<(i64, f64)>,
}

impl BandSamples {
    /// No samples yet.
    #[must_use]
    pub fn new(interval: Interval, period: u32) -> Self {
        Self {
            interval_ms: interval.fixed_ms().unwrap_or(gridbot_core::time::DAY_MS).max(1),
            period: period as usize,
            samples: VecDeque::new(),
        }
    }

    fn start_of(&self, t_ms: i64) -> i64 {
        t_ms.div_euclid(self.interval_ms) * self.interval_ms
    }

    /// Takes `mid` at `now_ms` as its interval's opening price if it has none yet.
    pub fn observe(&mut self, now_ms: i64, mid: f64) {
        let start = self.start_of(now_ms);
        if self.samples.back().is_none_or(|(t, _)| *t < start) {
            self.samples.push_back((start, mid));
        }
        while self.samples.len() > self.period {
            self.samples.pop_front();
        }
    }

    /// The opening prices of earlier intervals (`(interval start, open)`, any order): the ones
    /// before the first sample the grid took itself.
    pub fn seed(&mut self, mut opens: Vec<(i64, f64)>) {
        opens.sort_by_key(|(t, _)| *t);
        let first = self.samples.front().map_or(i64::MAX, |(t, _)| *t);
        for (t, open) in opens.into_iter().rev().filter(|(t, _)| *t < first) {
            if self.samples.len() >= self.period {
                break;
            }
            self.samples.push_front((self.start_of(t), open));
        }
    }

    /// How many samples it holds (at most the period).
    #[must_use]
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when it holds none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// When the next sample is due (the start of the next interval), UTC ms.
    #[must_use]
    pub fn next_sample_ms(&self, now_ms: i64) -> i64 {
        self.start_of(now_ms) + self.interval_ms
    }

    /// The band `k` standard deviations either side of the mean, as prices; `None` until
    /// `period` samples are in, or when the band is empty or reaches zero.
    #[must_use]
    pub fn bounds(&self, k: f64) -> Option<(Price, Price)> {
        let values: Vec<f64> = self.samples.iter().map(|(_, v)| *v).collect();
        let (lower, _, upper) = gridbot_grid::volatility::bollinger(&values, self.period, k)?;
        let price = |v: f64| Decimal::from_f64_retain(v).and_then(|d| Price::new(d.round_dp(8)).ok());
        match (price(lower), price(upper)) {
            (Some(l), Some(u)) if !l.is_zero() && l < u => Some((l, u)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_interval_the_first_mid_seen_and_seeds_before_them() {
        let mut b = BandSamples::new(Interval::H1, 3);
        b.observe(3_600_000 + 5, 10.0);
        b.observe(3_600_000 + 9, 99.0); // same hour: not a new sample
        b.observe(2 * 3_600_000, 12.0);
        assert_eq!(b.len(), 2);
        b.seed(vec![(0, 8.0), (-3_600_000, 1.0), (3_600_000, 50.0)]); // the hour already sampled is ignored
        assert_eq!(b.samples.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![8.0, 10.0, 12.0]);
        let (l, u) = b.bounds(2.0).unwrap();
        assert!(l < "10".parse().unwrap() && u > "10".parse().unwrap(), "{l} {u}");
        assert_eq!(b.next_sample_ms(2 * 3_600_000 + 1), 3 * 3_600_000);
        b.observe(3 * 3_600_000, 14.0);
        assert_eq!(b.samples.front().map(|(_, v)| *v), Some(10.0), "the oldest falls out");
    }

    #[test]
    fn no_band_until_the_period_is_in_or_when_it_is_flat() {
        let mut b = BandSamples::new(Interval::M15, 4);
        for (i, v) in [1.0, 2.0, 3.0].into_iter().enumerate() {
            b.observe(i64::try_from(i).unwrap() * 900_000, v);
        }
        assert!(b.bounds(2.0).is_none());
        let mut flat = BandSamples::new(Interval::M15, 2);
        flat.seed(vec![(0, 5.0), (900_000, 5.0)]);
        assert!(flat.bounds(2.0).is_none(), "a zero-width band builds nothing");
    }
}
