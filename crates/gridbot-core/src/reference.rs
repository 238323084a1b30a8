//! Bybit's published linear filters for the symbols whose candles ship in `data/`, for tests,
//! examples, benchmarks and the simulator's defaults.
//!
//! Live trading never uses these: it reads `/v5/market/instruments-info`, because Bybit changes
//! filters. Values from `docs/BYBIT.md` §3.1 (BTCUSDT) and Bybit's ETHUSDT listing
//! (tick 0.01, step 0.01).

use rust_decimal::Decimal;

use crate::ids::Symbol;
use crate::instrument::{Instrument, InstrumentSpec};
use crate::num::{Price, Qty};

struct Filters {
    symbol: &'static str,
    tick: (i64, u32),
    max_price: (i64, u32),
    step: (i64, u32),
    max_qty: i64,
    max_market_qty: i64,
}

const KNOWN: [Filters; 2] = [
    Filters {
        symbol: "BTCUSDT",
        tick: (10, 2),
        max_price: (199_999_980, 2),
        step: (1, 3),
        max_qty: 1190,
        max_market_qty: 500,
    },
    Filters {
        symbol: "ETHUSDT",
        tick: (1, 2),
        max_price: (19_999_998, 2),
        step: (1, 2),
        max_qty: 7240,
        max_market_qty: 3620,
    },
];

/// The symbols [`bybit_linear`] knows.
pub const REFERENCE_SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

/// Bybit's linear filters for `symbol`, if it is one of [`REFERENCE_SYMBOLS`].
#[must_use]
pub fn bybit_linear(symbol: &str) -> Option<Instrument> {
    let f = KNOWN.iter().find(|f| f.symbol == symbol)?;
    let dec = |(m, s): (i64, u32)| Decimal::new(m, s);
    let spec = InstrumentSpec {
        symbol: Symbol::new(f.symbol).ok()?,
        tick_size: dec(f.tick),
        min_price: Price::new(dec(f.tick)).ok()?,
        max_price: Price::new(dec(f.max_price)).ok()?,
        qty_step: dec(f.step),
        min_order_qty: Qty::new(dec(f.step)).ok()?,
        max_order_qty: Qty::new(Decimal::from(f.max_qty)).ok()?,
        max_market_qty: Qty::new(Decimal::from(f.max_market_qty)).ok()?,
        min_notional: Decimal::from(5),
        min_leverage: Decimal::ONE,
        max_leverage: Decimal::from(100),
        leverage_step: Decimal::new(1, 2),
        funding_interval_minutes: 480,
    };
    Instrument::try_from(spec).ok()
}

/// BTCUSDT: tick 0.10, step 0.001, min qty 0.001, min notional 5 USDT.
#[must_use]
pub fn bybit_btcusdt() -> Instrument {
    // KNOWN holds valid filters; the unit test below proves both build.
    bybit_linear("BTCUSDT").unwrap_or_else(unreachable_filters)
}

/// ETHUSDT: tick 0.01, step 0.01, min qty 0.01, min notional 5 USDT.
#[must_use]
pub fn bybit_ethusdt() -> Instrument {
    bybit_linear("ETHUSDT").unwrap_or_else(unreachable_filters)
}

#[allow(clippy::panic)]
fn unreachable_filters() -> Instrument {
    panic!("reference filters are constants and always valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_filters_build() {
        let btc = bybit_btcusdt();
        assert_eq!(btc.tick_size().to_string(), "0.10");
        assert_eq!(btc.min_order_qty().to_string(), "0.001");
        assert_eq!(btc.spec().max_price.to_string(), "1999999.8");
        let eth = bybit_ethusdt();
        assert_eq!(eth.qty_step().to_string(), "0.01");
        for s in REFERENCE_SYMBOLS {
            assert!(bybit_linear(s).is_some());
        }
        assert!(bybit_linear("DOGEUSDT").is_none());
    }
}
