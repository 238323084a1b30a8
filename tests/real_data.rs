//! Cross-crate tests on the real candles bundled in `data/`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gridbot_core::{Candle, Interval, OhlcSeries};
use gridbot_data::{load_candles, resample};

fn data(name: &str) -> String {
    format!("{}/../data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn one_minute_candles_resample_to_the_exchange_daily_candles() {
    // Both files are Binance spot BTCUSDT; every complete UTC day of the 1m file must equal the
    // exchange's own daily candle exactly (prices are decimals, so equality is exact).
    let minutes = load_candles(data("binance_BTCUSDT_1m_2021-08_2021-09.csv.gz")).unwrap();
    assert_eq!(minutes.len(), 67_710);
    let daily = load_candles(data("binance_BTCUSDT_1d_2017-08_2026-01.csv.gz")).unwrap();
    let resampled = resample(&minutes, Interval::D1).unwrap();
    let complete: Vec<&Candle> = resampled
        .iter()
        .filter(|d| {
            let n = minutes.iter().filter(|m| Interval::D1.bucket_start(m.open_time_ms) == d.open_time_ms).count();
            n == 1440
        })
        .collect();
    assert!(complete.len() >= 45, "complete days: {}", complete.len());
    for day in complete {
        let reference = daily.iter().find(|c| c.open_time_ms == day.open_time_ms).expect("day in the daily file");
        assert_eq!(
            (day.open, day.high, day.low, day.close),
            (reference.open, reference.high, reference.low, reference.close),
            "day {}",
            day.open_time_ms
        );
        let dv = (day.volume.as_decimal() - reference.volume.as_decimal()).abs();
        assert!(
            dv <= reference.volume.as_decimal() * gridbot_core::Decimal::new(1, 9),
            "volume of day {}",
            day.open_time_ms
        );
    }
}

#[test]
fn hourly_resampling_is_utc_aligned_and_loses_nothing() {
    let minutes = load_candles(data("binance_BTCUSDT_1m_2021-08_2021-09.csv.gz")).unwrap();
    let hours = resample(&minutes, Interval::H1).unwrap();
    assert!(hours.iter().all(|h| h.open_time_ms % 3_600_000 == 0));
    let volume_in: gridbot_core::Decimal = minutes.iter().map(|c| c.volume.as_decimal()).sum();
    let volume_out: gridbot_core::Decimal = hours.iter().map(|c| c.volume.as_decimal()).sum();
    assert_eq!(volume_in, volume_out);
    let hi = minutes.iter().map(|c| c.high).max().unwrap();
    assert_eq!(hours.iter().map(|c| c.high).max().unwrap(), hi);
}

#[test]
fn plans_for_both_bundled_symbols_are_valid_for_both_legs() {
    use gridbot_core::{Leg, Qty};
    use gridbot_grid::{GridPlan, ProgressiveParams};
    for (file, symbol) in [
        ("binance_BTCUSDT_1d_2017-08_2026-01.csv.gz", "BTCUSDT"),
        ("binance_ETHUSDT_1d_2020-09_2026-01.csv.gz", "ETHUSDT"),
    ] {
        let candles = load_candles(data(file)).unwrap();
        let series = OhlcSeries::from_candles(&candles);
        let instrument = gridbot_core::reference::bybit_linear(symbol).unwrap();
        let base_qty: Qty = if symbol == "BTCUSDT" { "0.001" } else { "0.01" }.parse().unwrap();
        let plan = GridPlan::build(&ProgressiveParams::with_base_qty(base_qty), &series, &instrument, 0).unwrap();
        // Daily ATR% of BTC and ETH lives between 1% and 10%.
        assert!(plan.atr_pct_ema() > 0.01 && plan.atr_pct_ema() < 0.10, "{symbol}: {}", plan.atr_pct_ema());
        let last_close = candles.last().unwrap().close;
        for leg in Leg::BOTH {
            let ladder = plan.ladder(leg, last_close, &instrument).unwrap();
            assert_eq!(ladder.len(), 9);
            for o in &ladder {
                instrument
                    .validate(&gridbot_core::OrderRequest::limit(
                        instrument.symbol().clone(),
                        leg.entry_side(),
                        o.qty,
                        o.price,
                        gridbot_core::TimeInForce::PostOnly,
                        leg.position_idx(),
                        gridbot_core::OrderLinkId::new(format!("t{}", o.level)).unwrap(),
                    ))
                    .unwrap();
            }
        }
    }
}
