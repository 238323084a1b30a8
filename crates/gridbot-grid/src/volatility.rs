//! True range, ATR% and the moving averages that smooth it.
//!
//! Decisions:
//! - Inputs are the `f64` columns of an `OhlcSeries` (statistics are `f64`, ARCHITECTURE §3); the
//!   functions are pure and allocate only their output.
//! - The first true range has no previous close and is `high - low`, as pandas'
//!   `max(axis=1)` over `[h-l, |h-pc|, |l-pc|]` gives when `pc` is NaN.
//! - `ema_adjusted` is pandas' `ewm(span=N, adjust=True).mean()` and `ema_recursive` is
//!   `adjust=False`, written as pandas' own loop (`pandas/_libs/window/aggregations.pyx`,
//!   `ewm`) so results agree to the last few bits, not just mathematically: the golden test
//!   holds them to 1e-12 relative against pandas on real candles. No NaN handling: candles are
//!   validated on load and contain none.
//! - Wilder's ATR(N) starts with the simple mean of the first N true ranges, then
//!   `(prev·(N−1) + tr) / N`. Its output is shorter than its input: element `i` belongs to
//!   candle `i + N − 1`.

use gridbot_core::OhlcSeries;

use crate::GridError;

/// `max(high − low, |high − prev_close|, |low − prev_close|)`; without a previous close,
/// `high − low`.
#[must_use]
pub fn true_range(high: f64, low: f64, prev_close: Option<f64>) -> f64 {
    let range = high - low;
    match prev_close {
        Some(pc) => range.max((high - pc).abs()).max((low - pc).abs()),
        None => range,
    }
}

/// True range of every candle.
#[must_use]
pub fn true_range_series(series: &OhlcSeries) -> Vec<f64> {
    let mut out = Vec::with_capacity(series.len());
    let mut prev_close = None;
    for ((&h, &l), &c) in series.high.iter().zip(&series.low).zip(&series.close) {
        out.push(true_range(h, l, prev_close));
        prev_close = Some(c);
    }
    out
}

/// `true_range / close` of every candle: volatility as a fraction of price.
#[must_use]
pub fn atr_pct_series(series: &OhlcSeries) -> Vec<f64> {
    let mut out = Vec::with_capacity(series.len());
    let mut prev_close = None;
    for ((&h, &l), &c) in series.high.iter().zip(&series.low).zip(&series.close) {
        out.push(true_range(h, l, prev_close) / c);
        prev_close = Some(c);
    }
    out
}

/// `alpha = 2 / (span + 1)`, pandas' `span` parameterisation.
fn alpha_for_span(span: usize) -> Result<f64, GridError> {
    if span < 1 {
        return Err(GridError::InvalidParameter { name: "ema_span", reason: "must be at least 1".into() });
    }
    // Spans are small integers; the conversion is exact below 2^53.
    #[allow(clippy::cast_precision_loss)]
    let span = span as f64;
    Ok(2.0 / (span + 1.0))
}

fn pandas_ewm(values: &[f64], span: usize, adjust: bool) -> Result<Vec<f64>, GridError> {
    let alpha = alpha_for_span(span)?;
    let old_wt_factor = 1.0 - alpha;
    let new_wt = if adjust { 1.0 } else { alpha };
    let mut out = Vec::with_capacity(values.len());
    let Some(&first) = values.first() else {
        return Ok(out);
    };
    let mut weighted = first;
    let mut old_wt = 1.0;
    out.push(weighted);
    for &cur in &values[1..] {
        old_wt *= old_wt_factor;
        if weighted != cur {
            weighted = (old_wt * weighted + new_wt * cur) / (old_wt + new_wt);
        }
        if adjust {
            old_wt += new_wt;
        } else {
            old_wt = 1.0;
        }
        out.push(weighted);
    }
    Ok(out)
}

/// pandas `Series.ewm(span=span, adjust=True).mean()`: the weighted mean of all values so far
/// with weights `(1−α)^i`, newest first. Same length as the input.
pub fn ema_adjusted(values: &[f64], span: usize) -> Result<Vec<f64>, GridError> {
    pandas_ewm(values, span, true)
}

/// pandas `Series.ewm(span=span, adjust=False).mean()`: `y₀ = x₀`, `yₜ = (1−α)·yₜ₋₁ + α·xₜ`.
pub fn ema_recursive(values: &[f64], span: usize) -> Result<Vec<f64>, GridError> {
    pandas_ewm(values, span, false)
}

/// Which exponential moving average smooths the daily ATR% a progressive plan starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmaKind {
    /// pandas `ewm(span, adjust=True)` ([`ema_adjusted`]): the reference system's choice and
    /// the default — early values weigh what little history there is exactly.
    #[default]
    Adjusted,
    /// pandas `ewm(span, adjust=False)` ([`ema_recursive`]): the textbook recursion seeded
    /// with the first value (what most charting tools show).
    Recursive,
}

/// The last value of the chosen EMA of `atr_pct_series(series)` over `span`.
pub fn atr_pct_ema_last_of(series: &OhlcSeries, span: usize, kind: EmaKind) -> Result<f64, GridError> {
    match kind {
        EmaKind::Adjusted => atr_pct_ema_last(series, span),
        EmaKind::Recursive => ema_recursive(&atr_pct_series(series), span)?
            .last()
            .copied()
            .ok_or(GridError::NotEnoughCandles { needed: 1, got: 0 }),
    }
}

/// The last value of `ema_adjusted(atr_pct_series(series), span)`, computed without keeping
/// the intermediate series: the volatility figure a progressive plan's `base_step` starts from.
pub fn atr_pct_ema_last(series: &OhlcSeries, span: usize) -> Result<f64, GridError> {
    let alpha = alpha_for_span(span)?;
    let old_wt_factor = 1.0 - alpha;
    let mut prev_close = None;
    let mut weighted = f64::NAN;
    let mut old_wt = 1.0;
    for ((&h, &l), &c) in series.high.iter().zip(&series.low).zip(&series.close) {
        let cur = true_range(h, l, prev_close) / c;
        if prev_close.is_none() {
            weighted = cur;
        } else {
            old_wt *= old_wt_factor;
            if weighted != cur {
                weighted = (old_wt * weighted + cur) / (old_wt + 1.0);
            }
            old_wt += 1.0;
        }
        prev_close = Some(c);
    }
    if prev_close.is_none() {
        return Err(GridError::NotEnoughCandles { needed: 1, got: 0 });
    }
    Ok(weighted)
}

/// Wilder's ATR over `period` candles. Element `i` belongs to candle `i + period − 1`; the
/// output is empty when there are fewer than `period` candles.
pub fn wilder_atr(series: &OhlcSeries, period: usize) -> Result<Vec<f64>, GridError> {
    if period < 1 {
        return Err(GridError::InvalidParameter { name: "atr_period", reason: "must be at least 1".into() });
    }
    let tr = true_range_series(series);
    if tr.len() < period {
        return Ok(Vec::new());
    }
    #[allow(clippy::cast_precision_loss)]
    let n = period as f64;
    let mut out = Vec::with_capacity(tr.len() - period + 1);
    let mut atr = tr[..period].iter().sum::<f64>() / n;
    out.push(atr);
    for &x in &tr[period..] {
        atr = (atr * (n - 1.0) + x) / n;
        out.push(atr);
    }
    Ok(out)
}

/// Bollinger bands of the last `period` values: `(mean − k·σ, mean, mean + k·σ)` with the
/// population standard deviation (as TradingView and most charting tools compute them).
/// `None` with fewer values than `period`, a zero period, or values that are not finite.
#[must_use]
pub fn bollinger(values: &[f64], period: usize, k: f64) -> Option<(f64, f64, f64)> {
    if period == 0 || values.len() < period {
        return None;
    }
    let window = &values[values.len() - period..];
    #[allow(clippy::cast_precision_loss, reason = "periods are small")]
    let n = period as f64;
    let mean = window.iter().sum::<f64>() / n;
    let variance = window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let sd = variance.sqrt();
    (mean.is_finite() && sd.is_finite()).then_some((mean - k * sd, mean, mean + k * sd))
}

#[cfg(test)]
mod tests {
    use super::bollinger;

    #[test]
    fn bollinger_bands_by_hand() {
        // mean 5, population variance ((−3)²+(−1)²+1²+3²)/4 = 5
        let (lo, mid, hi) = bollinger(&[100.0, 2.0, 4.0, 6.0, 8.0], 4, 2.0).unwrap();
        assert!((mid - 5.0).abs() < 1e-12);
        assert!((hi - (5.0 + 2.0 * 5f64.sqrt())).abs() < 1e-12 && (lo - (5.0 - 2.0 * 5f64.sqrt())).abs() < 1e-12);
        assert!(bollinger(&[1.0, 2.0], 3, 2.0).is_none());
    }

    use super::*;

    fn series(rows: &[(f64, f64, f64)]) -> OhlcSeries {
        OhlcSeries {
            open_time_ms: (0..).take(rows.len()).collect(),
            open: rows.iter().map(|r| r.2).collect(),
            high: rows.iter().map(|r| r.0).collect(),
            low: rows.iter().map(|r| r.1).collect(),
            close: rows.iter().map(|r| r.2).collect(),
        }
    }

    #[test]
    fn true_range_uses_the_previous_close_for_gaps() {
        assert_eq!(true_range(11.0, 9.0, None), 2.0);
        assert_eq!(true_range(11.0, 9.0, Some(5.0)), 6.0); // gap up
        assert_eq!(true_range(11.0, 9.0, Some(15.0)), 6.0); // gap down
        let s = series(&[(11.0, 9.0, 10.0), (12.0, 10.5, 11.0), (10.0, 8.0, 8.0)]);
        assert_eq!(true_range_series(&s), [2.0, 2.0, 3.0]);
        assert_eq!(atr_pct_series(&s), [0.2, 2.0 / 11.0, 3.0 / 8.0]);
    }

    #[test]
    fn ema_small_cases_by_hand() {
        // span 3: alpha 0.5. adjust=True: [1, (0.5*1+2)/1.5, (0.25*1+0.5*2+4)/1.75]
        let a = ema_adjusted(&[1.0, 2.0, 4.0], 3).unwrap();
        assert!((a[1] - 2.5 / 1.5).abs() < 1e-15);
        assert!((a[2] - 5.25 / 1.75).abs() < 1e-15);
        let r = ema_recursive(&[1.0, 2.0, 4.0], 3).unwrap();
        assert_eq!(r, [1.0, 1.5, 2.75]);
        assert!(ema_adjusted(&[], 3).unwrap().is_empty());
        assert!(ema_adjusted(&[1.0], 0).is_err());
        // span 1 is the identity.
        assert_eq!(ema_adjusted(&[3.0, 5.0], 1).unwrap(), [3.0, 5.0]);
    }

    #[test]
    fn streaming_last_value_matches_the_series() {
        let s = series(&[(11.0, 9.0, 10.0), (12.0, 10.5, 11.0), (10.0, 8.0, 8.0), (9.0, 8.5, 9.0)]);
        let full = ema_adjusted(&atr_pct_series(&s), 2).unwrap();
        assert_eq!(atr_pct_ema_last(&s, 2).unwrap(), *full.last().unwrap());
        assert!(matches!(atr_pct_ema_last(&OhlcSeries::default(), 2), Err(GridError::NotEnoughCandles { .. })));
    }

    #[test]
    fn wilder_starts_with_a_simple_mean() {
        let s = series(&[(11.0, 9.0, 10.0), (12.0, 10.5, 11.0), (10.0, 8.0, 8.0), (9.0, 8.5, 9.0)]);
        // TR = [2, 2, 3, 1]
        let w = wilder_atr(&s, 2).unwrap();
        assert_eq!(w, [2.0, 2.5, 1.75]);
        assert!(wilder_atr(&s, 5).unwrap().is_empty());
    }
}
