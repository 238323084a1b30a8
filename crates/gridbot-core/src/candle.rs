//! Candles and intervals.
//!
//! A `Candle` keeps exact decimal prices (the simulator fills limit orders against them);
//! statistics work on the `f64` columns of an [`OhlcSeries`], converted once by
//! [`OhlcSeries::from_candles`], the named decimal → float boundary for market data.

use std::fmt;
use std::str::FromStr;

use crate::enums::UnknownEnumValue;
use crate::num::{Price, Qty};
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS, utc_day_start, utc_month_start, utc_week_start};

/// One OHLCV candle; `open_time_ms` is the UTC start of its interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candle {
    /// Interval start, UTC ms.
    pub open_time_ms: i64,
    /// First trade price.
    pub open: Price,
    /// Highest trade price.
    pub high: Price,
    /// Lowest trade price.
    pub low: Price,
    /// Last trade price.
    pub close: Price,
    /// Base-currency volume.
    pub volume: Qty,
}

/// Kline intervals, with Bybit's wire text (`1 3 5 15 30 60 120 240 360 720 D W M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    /// 1 minute.
    M1,
    /// 3 minutes.
    M3,
    /// 5 minutes.
    M5,
    /// 15 minutes.
    M15,
    /// 30 minutes.
    M30,
    /// 1 hour.
    H1,
    /// 2 hours.
    H2,
    /// 4 hours.
    H4,
    /// 6 hours.
    H6,
    /// 12 hours.
    H12,
    /// 1 UTC day.
    D1,
    /// 1 week, starting Monday 00:00 UTC.
    W1,
    /// 1 calendar month, UTC.
    Month1,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 13] = [
        Self::M1,
        Self::M3,
        Self::M5,
        Self::M15,
        Self::M30,
        Self::H1,
        Self::H2,
        Self::H4,
        Self::H6,
        Self::H12,
        Self::D1,
        Self::W1,
        Self::Month1,
    ];

    /// Bybit's wire text.
    #[must_use]
    pub const fn as_bybit(self) -> &'static str {
        match self {
            Self::M1 => "1",
            Self::M3 => "3",
            Self::M5 => "5",
            Self::M15 => "15",
            Self::M30 => "30",
            Self::H1 => "60",
            Self::H2 => "120",
            Self::H4 => "240",
            Self::H6 => "360",
            Self::H12 => "720",
            Self::D1 => "D",
            Self::W1 => "W",
            Self::Month1 => "M",
        }
    }

    /// The short human form used in data file names (`1m`, `1h`, `1d`, `1w`, `1M`).
    #[must_use]
    pub const fn as_short(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M3 => "3m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H2 => "2h",
            Self::H4 => "4h",
            Self::H6 => "6h",
            Self::H12 => "12h",
            Self::D1 => "1d",
            Self::W1 => "1w",
            Self::Month1 => "1M",
        }
    }

    /// Length in ms, for every interval but the calendar month.
    #[must_use]
    pub const fn fixed_ms(self) -> Option<i64> {
        Some(match self {
            Self::M1 => MINUTE_MS,
            Self::M3 => 3 * MINUTE_MS,
            Self::M5 => 5 * MINUTE_MS,
            Self::M15 => 15 * MINUTE_MS,
            Self::M30 => 30 * MINUTE_MS,
            Self::H1 => HOUR_MS,
            Self::H2 => 2 * HOUR_MS,
            Self::H4 => 4 * HOUR_MS,
            Self::H6 => 6 * HOUR_MS,
            Self::H12 => 12 * HOUR_MS,
            Self::D1 => DAY_MS,
            Self::W1 => 7 * DAY_MS,
            Self::Month1 => return None,
        })
    }

    /// UTC start of the interval containing `t_ms` (days at 00:00 UTC, weeks on Monday,
    /// months on the 1st).
    #[must_use]
    pub fn bucket_start(self, t_ms: i64) -> i64 {
        match self {
            Self::D1 => utc_day_start(t_ms),
            Self::W1 => utc_week_start(t_ms),
            Self::Month1 => utc_month_start(t_ms),
            other => {
                // Sub-day intervals divide a day, so epoch alignment is UTC alignment.
                let len = other.fixed_ms().unwrap_or(MINUTE_MS);
                t_ms.div_euclid(len) * len
            }
        }
    }
}

impl FromStr for Interval {
    type Err = UnknownEnumValue;

    /// Accepts Bybit's text (`60`, `D`) and the short form (`1h`, `1d`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_bybit() == text || i.as_short() == text)
            .ok_or_else(|| UnknownEnumValue { kind: "interval", text: text.chars().take(64).collect() })
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_short())
    }
}

impl serde::Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_short())
    }
}

impl<'de> serde::Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Column-wise `f64` view of candles, for statistics (ATR, EMA, volatility).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OhlcSeries {
    /// Interval starts, UTC ms.
    pub open_time_ms: Vec<i64>,
    /// Opens.
    pub open: Vec<f64>,
    /// Highs.
    pub high: Vec<f64>,
    /// Lows.
    pub low: Vec<f64>,
    /// Closes.
    pub close: Vec<f64>,
}

impl OhlcSeries {
    /// Converts decimal candles to floats, once.
    #[must_use]
    pub fn from_candles(candles: &[Candle]) -> Self {
        let mut s = Self {
            open_time_ms: Vec::with_capacity(candles.len()),
            open: Vec::with_capacity(candles.len()),
            high: Vec::with_capacity(candles.len()),
            low: Vec::with_capacity(candles.len()),
            close: Vec::with_capacity(candles.len()),
        };
        for c in candles {
            s.open_time_ms.push(c.open_time_ms);
            s.open.push(c.open.to_f64());
            s.high.push(c.high.to_f64());
            s.low.push(c.low.to_f64());
            s.close.push(c.close.to_f64());
        }
        s
    }

    /// Number of candles.
    #[must_use]
    pub fn len(&self) -> usize {
        self.close.len()
    }

    /// True when there are no candles.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }

    /// The candles `range` (clamped to the series), as a new series.
    #[must_use]
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        Self {
            open_time_ms: self.open_time_ms[start..end].to_vec(),
            open: self.open[start..end].to_vec(),
            high: self.high[start..end].to_vec(),
            low: self.low[start..end].to_vec(),
            close: self.close[start..end].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::days_from_civil;

    #[test]
    fn interval_text_forms() {
        for i in Interval::ALL {
            assert_eq!(i.as_bybit().parse::<Interval>().unwrap(), i);
            assert_eq!(i.as_short().parse::<Interval>().unwrap(), i);
        }
        assert_eq!("60".parse::<Interval>().unwrap(), Interval::H1);
        assert!("7".parse::<Interval>().is_err());
        assert_eq!(serde_json::to_string(&Interval::D1).unwrap(), "\"1d\"");
    }

    #[test]
    fn buckets_are_utc_aligned() {
        let day = days_from_civil(2025, 5, 20) * DAY_MS;
        let t = day + 13 * HOUR_MS + 47 * MINUTE_MS + 999;
        assert_eq!(Interval::D1.bucket_start(t), day);
        assert_eq!(Interval::H4.bucket_start(t), day + 12 * HOUR_MS);
        assert_eq!(Interval::M15.bucket_start(t), day + 13 * HOUR_MS + 45 * MINUTE_MS);
        assert_eq!(Interval::Month1.bucket_start(t), days_from_civil(2025, 5, 1) * DAY_MS);
        // 2025-05-20 is a Tuesday.
        assert_eq!(Interval::W1.bucket_start(t), day - DAY_MS);
    }
}
