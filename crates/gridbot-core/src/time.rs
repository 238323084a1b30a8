//! Time: UTC milliseconds (`i64`) everywhere, an injected `Clock`, and calendar helpers.
//!
//! Decisions:
//! - Nothing outside `SystemClock` reads the wall clock. Strategy, risk and the simulator take
//!   a `&dyn Clock` (or a timestamp) so backtests are bit-for-bit reproducible and tests can
//!   stand at any instant, including a UTC day boundary.
//! - Calendar arithmetic is Howard Hinnant's days-from-civil algorithm, proleptic Gregorian,
//!   valid for every `i64` millisecond we can meet; no time-zone database is needed because
//!   every boundary we use (day, week, month) is a UTC boundary.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds in a minute.
pub const MINUTE_MS: i64 = 60_000;
/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// Milliseconds in a UTC day.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Milliseconds in a week.
pub const WEEK_MS: i64 = 7 * DAY_MS;

/// A source of "now", in UTC milliseconds.
pub trait Clock: Send + Sync {
    /// Current time, UTC ms since the Unix epoch.
    fn now_ms(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

/// The wall clock. The only place in the workspace that reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            // A clock set before 1970: report how far before.
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock that moves only when told to; for tests and replays. Shareable across threads.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `now_ms`.
    #[must_use]
    pub fn new(now_ms: i64) -> Self {
        Self { now_ms: AtomicI64::new(now_ms) }
    }

    /// Jumps to `now_ms` (backwards too: tests of clock skew need it).
    pub fn set(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }

    /// Moves forward by `delta_ms` and returns the new time.
    pub fn advance(&self, delta_ms: i64) -> i64 {
        self.now_ms.fetch_add(delta_ms, Ordering::SeqCst).saturating_add(delta_ms)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

/// Start of the UTC day containing `t_ms`.
#[must_use]
pub fn utc_day_start(t_ms: i64) -> i64 {
    t_ms.div_euclid(DAY_MS) * DAY_MS
}

/// Start of the ISO week (Monday 00:00 UTC) containing `t_ms`.
#[must_use]
pub fn utc_week_start(t_ms: i64) -> i64 {
    // 1970-01-01 was a Thursday; the first Monday is 1970-01-05, four days later.
    const MONDAY_OFFSET: i64 = 4 * DAY_MS;
    (t_ms - MONDAY_OFFSET).div_euclid(WEEK_MS) * WEEK_MS + MONDAY_OFFSET
}

/// Start of the UTC calendar month containing `t_ms`.
#[must_use]
pub fn utc_month_start(t_ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(t_ms.div_euclid(DAY_MS));
    days_from_civil(year, month, 1) * DAY_MS
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1–12, `day` 1–31).
#[must_use]
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number since 1970-01-01.
#[must_use]
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction.
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

/// `t_ms` as ISO-8601 UTC: `2025-05-17T06:30:00Z` (milliseconds shown when not zero).
#[must_use]
pub fn format_iso8601(t_ms: i64) -> String {
    let (y, mo, d) = civil_from_days(t_ms.div_euclid(DAY_MS));
    let ms_of_day = t_ms.rem_euclid(DAY_MS);
    let (h, mi, s, ms) =
        (ms_of_day / HOUR_MS, ms_of_day % HOUR_MS / MINUTE_MS, ms_of_day % MINUTE_MS / 1_000, ms_of_day % 1_000);
    if ms == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

/// A UTC date or date-time as written on a command line: `2025-01-31`, `2025-01-31T12:00`,
/// `2025-01-31T12:00:30` (a trailing `Z` is allowed); `None` when it is not one.
#[must_use]
pub fn parse_utc(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, ""));
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) {
        return None; // 2025-02-30
    }
    let mut ms = days * DAY_MS;
    if !time.is_empty() {
        let mut t = time.split(':');
        let h: i64 = t.next()?.parse().ok()?;
        let m: i64 = t.next()?.parse().ok()?;
        let s: i64 = t.next().map_or(Some(0), |s| s.parse().ok())?;
        if t.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&s) {
            return None;
        }
        ms += h * HOUR_MS + m * MINUTE_MS + s * 1_000;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_8601_round_trips_dates_and_refuses_nonsense() {
        let t = parse_utc("2025-05-17T06:30").unwrap();
        assert_eq!(format_iso8601(t), "2025-05-17T06:30:00Z");
        assert_eq!(format_iso8601(t + 5), "2025-05-17T06:30:00.005Z");
        assert_eq!(parse_utc("2025-05-17"), Some(t - 6 * HOUR_MS - 30 * MINUTE_MS));
        assert_eq!(parse_utc("2025-05-17T06:30:00Z"), Some(t));
        for bad in ["2025-02-30", "2025-13-01", "yesterday", "2025-05-17T25:00", "2025-05"] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        // 2024-02-29 12:34 UTC -> month start 2024-02-01
        let t = days_from_civil(2024, 2, 29) * DAY_MS + 12 * HOUR_MS + 34 * MINUTE_MS;
        assert_eq!(utc_month_start(t), days_from_civil(2024, 2, 1) * DAY_MS);
        assert_eq!(utc_day_start(t), days_from_civil(2024, 2, 29) * DAY_MS);
        // 2024-02-29 was a Thursday; its week began Monday 2024-02-26.
        assert_eq!(utc_week_start(t), days_from_civil(2024, 2, 26) * DAY_MS);
        // Before the epoch too.
        assert_eq!(utc_day_start(-1), -DAY_MS);
        assert_eq!(utc_week_start(0), days_from_civil(1969, 12, 29) * DAY_MS);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1_000);
        assert_eq!(c.now_ms(), 1_000);
        assert_eq!(c.advance(500), 1_500);
        c.set(10);
        let by_ref: &dyn Clock = &&c;
        assert_eq!(by_ref.now_ms(), 10);
        assert!(SystemClock.now_ms() > 1_600_000_000_000);
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn boundaries_contain_the_instant(t in -10_000_000_000_000i64..10_000_000_000_000) {
            for (start, len) in [(utc_day_start(t), DAY_MS), (utc_week_start(t), WEEK_MS)] {
                prop_assert!(start <= t && t < start + len);
            }
            let m = utc_month_start(t);
            prop_assert!(m <= t && t < m + 31 * DAY_MS);
            prop_assert_eq!(civil_from_days(m / DAY_MS).2, 1);
        }
    }
}
