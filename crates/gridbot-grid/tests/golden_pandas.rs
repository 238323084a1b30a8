//! Golden test: our volatility math against pandas on the bundled real daily candles.
//!
//! `tests/golden/volatility.json` was produced by `tests/golden/make_golden.py` (pandas);
//! every value must agree to 1e-12 relative: 2 symbols × 3 windows × spans 10 and 14, for the
//! true range, ATR%, `ewm(adjust=True)`, `ewm(adjust=False)`, Wilder's ATR and `base_step`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gridbot_core::OhlcSeries;
use gridbot_data::load_candles;
use gridbot_grid::volatility::{
    atr_pct_ema_last, atr_pct_series, ema_adjusted, ema_recursive, true_range_series, wilder_atr,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    symbol: String,
    file: String,
    start: usize,
    end: usize,
    first_open_time_ms: i64,
    true_range: Vec<f64>,
    atr_pct: Vec<f64>,
    spans: Vec<SpanCase>,
}

#[derive(Deserialize)]
struct SpanCase {
    span: usize,
    ema_adjust_true: Vec<f64>,
    ema_adjust_false: Vec<f64>,
    wilder_atr: Vec<f64>,
    base_step: f64,
}

const REL_TOL: f64 = 1e-12;

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let scale = w.abs().max(f64::MIN_POSITIVE);
        assert!((g - w).abs() / scale <= REL_TOL, "{what}[{i}]: got {g}, pandas {w}");
    }
}

#[test]
fn volatility_matches_pandas() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let text = std::fs::read_to_string(format!("{}/tests/golden/volatility.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let golden: Golden = serde_json::from_str(&text).unwrap();
    assert!(golden.cases.len() >= 6, "2 symbols × 3 windows");
    let mut symbols: Vec<&str> = golden.cases.iter().map(|c| c.symbol.as_str()).collect();
    symbols.dedup();
    assert!(symbols.len() >= 2);
    let mut compared = 0usize;
    for case in &golden.cases {
        let candles = load_candles(format!("{root}/{}", case.file)).unwrap();
        let window = &candles[case.start..case.end];
        assert_eq!(window[0].open_time_ms, case.first_open_time_ms, "{} window start", case.symbol);
        let series = OhlcSeries::from_candles(window);
        let label = format!("{} [{}..{})", case.symbol, case.start, case.end);
        assert_close(&format!("{label} true_range"), &true_range_series(&series), &case.true_range);
        let atr_pct = atr_pct_series(&series);
        assert_close(&format!("{label} atr_pct"), &atr_pct, &case.atr_pct);
        let spans: Vec<usize> = case.spans.iter().map(|s| s.span).collect();
        assert_eq!(spans, [10, 14]);
        for s in &case.spans {
            let l = format!("{label} span {}", s.span);
            assert_close(&format!("{l} ema adjust=True"), &ema_adjusted(&atr_pct, s.span).unwrap(), &s.ema_adjust_true);
            assert_close(
                &format!("{l} ema adjust=False"),
                &ema_recursive(&atr_pct, s.span).unwrap(),
                &s.ema_adjust_false,
            );
            assert_close(&format!("{l} wilder"), &wilder_atr(&series, s.span).unwrap(), &s.wilder_atr);
            assert_close(&format!("{l} base_step"), &[atr_pct_ema_last(&series, s.span).unwrap()], &[s.base_step]);
            compared += s.ema_adjust_true.len() + s.ema_adjust_false.len() + s.wilder_atr.len() + 1;
        }
        compared += case.true_range.len() + case.atr_pct.len();
    }
    assert!(compared > 10_000, "compared {compared} values");
}
