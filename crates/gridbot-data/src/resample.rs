//! Resampling candles to a longer interval.
//!
//! Decisions: each candle goes into the UTC bucket of the target interval; buckets with no
//! source candle are absent (a gap stays a gap), and the first and last bucket may be partial
//! (callers that need whole buckets drop them).

use gridbot_core::{Candle, Interval};

/// Why candles could not be resampled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// Input times must be strictly ascending.
    #[error("candle {index} (open_time_ms {found_ms}) is not after the previous one ({previous_ms})")]
    NotAscending {
        /// Index in the input.
        index: usize,
        /// Previous time.
        previous_ms: i64,
        /// This time.
        found_ms: i64,
    },
    /// Volume overflowed (impossible with real data).
    #[error("volume overflow in the bucket starting at {bucket_ms}")]
    VolumeOverflow {
        /// The bucket.
        bucket_ms: i64,
    },
}

/// Aggregates ascending candles into `target` buckets (UTC-aligned): first open, max high,
/// min low, last close, summed volume.
pub fn resample(candles: &[Candle], target: Interval) -> Result<Vec<Candle>, ResampleError> {
    let mut out: Vec<Candle> = Vec::new();
    let mut previous: Option<i64> = None;
    for (index, c) in candles.iter().enumerate() {
        if let Some(prev) = previous
            && c.open_time_ms <= prev
        {
            return Err(ResampleError::NotAscending { index, previous_ms: prev, found_ms: c.open_time_ms });
        }
        previous = Some(c.open_time_ms);
        let bucket = target.bucket_start(c.open_time_ms);
        match out.last_mut() {
            Some(acc) if acc.open_time_ms == bucket => {
                acc.high = acc.high.max(c.high);
                acc.low = acc.low.min(c.low);
                acc.close = c.close;
                acc.volume =
                    acc.volume.checked_add(c.volume).ok_or(ResampleError::VolumeOverflow { bucket_ms: bucket })?;
            }
            _ => out.push(Candle { open_time_ms: bucket, ..*c }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use gridbot_core::time::{DAY_MS, HOUR_MS, MINUTE_MS};

    use super::*;

    fn candle(t: i64, o: &str, h: &str, l: &str, c: &str, v: &str) -> Candle {
        Candle {
            open_time_ms: t,
            open: o.parse().unwrap(),
            high: h.parse().unwrap(),
            low: l.parse().unwrap(),
            close: c.parse().unwrap(),
            volume: v.parse().unwrap(),
        }
    }

    #[test]
    fn resamples_to_utc_days_and_hours_across_gaps() {
        let day = 20_000 * DAY_MS;
        let rows = [
            candle(day - MINUTE_MS, "9", "9", "9", "9", "1"), // previous day
            candle(day, "10", "12", "9", "11", "1"),
            candle(day + MINUTE_MS, "11", "15", "11", "14", "2"),
            candle(day + 5 * HOUR_MS, "14", "14", "8", "13", "0.5"), // after a gap
            candle(day + DAY_MS, "13", "13", "13", "13", "1"),       // next day
        ];
        let d = resample(&rows, Interval::D1).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[1], candle(day, "10", "15", "8", "13", "3.5"));
        let h = resample(&rows, Interval::H1).unwrap();
        assert_eq!(
            h.iter().map(|c| c.open_time_ms).collect::<Vec<_>>(),
            [day - HOUR_MS, day, day + 5 * HOUR_MS, day + DAY_MS]
        );
        let swapped = [rows[1], rows[0]];
        assert!(matches!(resample(&swapped, Interval::D1), Err(ResampleError::NotAscending { index: 1, .. })));
    }
}
