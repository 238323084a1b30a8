//! Shared helpers for the workspace's examples (`examples/*.rs`, run with
//! `cargo run --example NAME` from the repository root).
//!
//! The instrument filters here are Bybit's published linear filters for the symbols whose
//! candles ship in `data/`, so the examples round exactly as the exchange would without
//! needing the network.

use gridbot_core::{Decimal, Instrument, InstrumentSpec, InvalidId, Symbol};

/// Bybit's linear filters for BTCUSDT and ETHUSDT (`../shared/BYBIT-V5.md` §3.1); `None` for
/// other symbols.
pub fn bybit_linear_instrument(symbol: &str) -> Result<Option<Instrument>, InvalidId> {
    let symbol = Symbol::new(symbol)?;
    let (tick, min_price, max_price, step, max_qty, max_mkt) = match symbol.as_str() {
        "BTCUSDT" => {
            (Decimal::new(1, 1), Decimal::new(1, 1), Decimal::new(19_999_998, 1), Decimal::new(1, 3), 1190, 500)
        }
        "ETHUSDT" => {
            (Decimal::new(1, 2), Decimal::new(1, 2), Decimal::new(19_999_998, 2), Decimal::new(1, 2), 7240, 3620)
        }
        _ => return Ok(None),
    };
    let spec = InstrumentSpec {
        symbol,
        tick_size: tick,
        min_price: gridbot_core::Price::new(min_price).unwrap_or_default(),
        max_price: gridbot_core::Price::new(max_price).unwrap_or_default(),
        qty_step: step,
        min_order_qty: gridbot_core::Qty::new(step).unwrap_or_default(),
        max_order_qty: gridbot_core::Qty::new(Decimal::from(max_qty)).unwrap_or_default(),
        max_market_qty: gridbot_core::Qty::new(Decimal::from(max_mkt)).unwrap_or_default(),
        min_notional: Decimal::from(5),
        min_leverage: Decimal::ONE,
        max_leverage: Decimal::from(100),
        leverage_step: Decimal::new(1, 2),
        funding_interval_minutes: 480,
    };
    Ok(Instrument::try_from(spec).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_symbols_have_bybit_filters() {
        let btc = bybit_linear_instrument("BTCUSDT").unwrap().unwrap();
        assert_eq!(btc.tick_size().to_string(), "0.1");
        assert_eq!(btc.min_order_qty().to_string(), "0.001");
        let eth = bybit_linear_instrument("ETHUSDT").unwrap().unwrap();
        assert_eq!(eth.qty_step().to_string(), "0.01");
        assert!(bybit_linear_instrument("DOGEUSDT").unwrap().is_none());
        assert!(bybit_linear_instrument("btc").is_err());
    }
}
