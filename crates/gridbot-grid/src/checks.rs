//! The checks every grid level passes, shared by the progressive and classic plans, and the
//! one float → decimal conversion of grid math.

use gridbot_core::{Decimal, Instrument, Price, Qty};

use crate::GridError;

/// Decimal places kept when a float fraction (a step, a distance) becomes a decimal. 1e-12 of
/// a price is far below any tick, and a fixed precision makes the locked plan reproducible.
pub const FRACTION_DP: u32 = 12;

/// Converts a finite float fraction to a decimal with [`FRACTION_DP`] places.
pub(crate) fn fraction_to_decimal(name: &'static str, value: f64) -> Result<Decimal, GridError> {
    if !value.is_finite() {
        return Err(GridError::InvalidParameter { name, reason: format!("must be finite, got {value}") });
    }
    // Fractions are small: scale to an integer count of 1e-12 units, which f64 holds exactly
    // below 2^53, and round half away from zero. Deterministic (IEEE) and ~10x cheaper than a
    // general float → decimal conversion.
    const UNITS: f64 = 1e12;
    let scaled = (value * UNITS).round();
    if scaled.abs() < 9.0e15 {
        // |scaled| < 2^53, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        return Ok(Decimal::new(scaled as i64, FRACTION_DP));
    }
    Decimal::from_f64_retain(value)
        .map(|d| d.round_dp(FRACTION_DP))
        .ok_or_else(|| GridError::InvalidParameter { name, reason: format!("{value} is out of decimal range") })
}

/// Positive and inside the instrument's price band.
pub(crate) fn check_price(level: u32, price: Price, instrument: &Instrument) -> Result<(), GridError> {
    let spec = instrument.spec();
    if price.is_zero() {
        return Err(GridError::LevelCrossesZero { level, distance: Decimal::ONE });
    }
    if price < spec.min_price || price > spec.max_price {
        return Err(GridError::PriceOutOfBounds { level, price, min: spec.min_price, max: spec.max_price });
    }
    Ok(())
}

/// Rounds a quantity down to the step and checks `[minOrderQty, maxOrderQty]`.
pub(crate) fn rounded_qty(level: u32, qty: Qty, instrument: &Instrument) -> Result<Qty, GridError> {
    let spec = instrument.spec();
    let rounded = instrument.round_qty(qty);
    if rounded < spec.min_order_qty || rounded.is_zero() {
        return Err(GridError::QtyBelowMinimum { level, qty: rounded, min: spec.min_order_qty });
    }
    if rounded > spec.max_order_qty {
        return Err(GridError::QtyAboveMaximum { level, qty: rounded, max: spec.max_order_qty });
    }
    Ok(rounded)
}

/// `price × qty ≥ minNotionalValue`; returns the notional.
pub(crate) fn checked_notional(
    level: u32,
    price: Price,
    qty: Qty,
    instrument: &Instrument,
) -> Result<Decimal, GridError> {
    let notional = price.notional(qty).ok_or(GridError::Overflow { what: "notional", level })?;
    if notional < instrument.min_notional() {
        return Err(GridError::NotionalBelowMinimum { level, notional, min: instrument.min_notional() });
    }
    Ok(notional)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_convert_to_twelve_places() {
        assert_eq!(fraction_to_decimal("x", 0.022407).unwrap().to_string(), "0.022407000000");
        assert_eq!(fraction_to_decimal("x", 1.0 / 3.0).unwrap().to_string(), "0.333333333333");
        assert_eq!(fraction_to_decimal("x", 2.0 / 3.0).unwrap().to_string(), "0.666666666667");
        assert_eq!(fraction_to_decimal("x", -0.5).unwrap().to_string(), "-0.500000000000");
        assert_eq!(fraction_to_decimal("x", 12345.678).unwrap().to_string(), "12345.678000000000");
        assert!(fraction_to_decimal("x", f64::INFINITY).is_err());
        assert!(fraction_to_decimal("x", f64::NAN).is_err());
        assert_eq!(crate::progressive::ONE_AT_FRACTION_SCALE.to_string(), "1.000000000000");
    }
}
