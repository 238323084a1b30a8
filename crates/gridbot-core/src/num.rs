//! Exact prices and quantities.
//!
//! `Price` and `Qty` are `Copy` newtypes over [`rust_decimal::Decimal`]: never an `f64` on an
//! order's price or size. Both are non-negative by construction (a short position is a side and
//! a size, not a negative size; a PnL or a price distance is a plain signed `Decimal`).
//!
//! Decisions:
//! - Only the arithmetic that makes sense exists, and it is checked: a price moves by a signed
//!   `Decimal` distance (`checked_add`, `checked_sub`), two prices give a distance (`diff`), a
//!   price times a quantity is a notional (`notional`). Quantities add and subtract as
//!   quantities. Every operation that can overflow or go negative returns `Option`.
//! - Text is Bybit's: plain decimal strings without exponent (`"30000.1"`). `Display` prints the
//!   normalised value (no trailing zeros), which Bybit accepts; parsing accepts trailing zeros.
//! - Serde uses the same strings; a YAML or JSON number is also accepted and read through its
//!   shortest decimal text, so `0.001` in a config file is exactly 0.001.
//! - The one conversion to `f64` (for statistics) is the named `to_f64`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Why a number could not become a [`Price`] or a [`Qty`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The value was below zero.
    #[error("{kind} must not be negative, got {value}")]
    Negative {
        /// "price" or "quantity".
        kind: &'static str,
        /// The rejected value.
        value: Decimal,
    },
    /// The text was not a plain decimal number.
    #[error("{kind} is not a decimal number: {text:?}")]
    Parse {
        /// "price" or "quantity".
        kind: &'static str,
        /// The rejected text (truncated to 64 chars).
        text: String,
    },
}

macro_rules! non_negative_decimal {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name(Decimal);

        // Value order and equality, as `Decimal`'s; see `cmp_decimals`.
        impl PartialEq for $name {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                cmp_decimals(self.0, other.0).is_eq()
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            #[inline]
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            #[inline]
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                cmp_decimals(self.0, other.0)
            }
        }

        // Equal values hash alike (Decimal hashes the normalised value).
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(Decimal::ZERO);
            /// The largest value (an open upper bound).
            pub const MAX: Self = Self(Decimal::MAX);

            /// Checked constructor: rejects negative values.
            pub fn new(value: Decimal) -> Result<Self, ValueError> {
                if value.is_sign_negative() && !value.is_zero() {
                    return Err(ValueError::Negative { kind: $kind, value });
                }
                Ok(Self(value))
            }

            /// The exact value.
            #[must_use]
            pub const fn as_decimal(self) -> Decimal {
                self.0
            }

            /// True when the value is zero.
            #[must_use]
            pub fn is_zero(self) -> bool {
                self.0.is_zero()
            }

            /// The value as `f64`, for statistics only (never for an order).
            #[must_use]
            pub fn to_f64(self) -> f64 {
                decimal_to_f64(self.0)
            }

            /// Multiplies by a non-negative factor; `None` on overflow or a negative result.
            #[must_use]
            pub fn checked_mul(self, factor: Decimal) -> Option<Self> {
                self.0.checked_mul(factor).and_then(|v| Self::new(v).ok())
            }

            /// Divides by a factor; `None` on division by zero or a negative result.
            #[must_use]
            pub fn checked_div(self, divisor: Decimal) -> Option<Self> {
                self.0.checked_div(divisor).and_then(|v| Self::new(v).ok())
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let value = parse_plain_decimal(text).ok_or_else(|| ValueError::Parse {
                    kind: $kind,
                    text: text.chars().take(64).collect(),
                })?;
                Self::new(value)
            }
        }

        impl TryFrom<Decimal> for $name {
            type Error = ValueError;

            fn try_from(value: Decimal) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for Decimal {
            fn from(value: $name) -> Decimal {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.normalize(), f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(DecimalVisitor($kind)).and_then(|value| {
                    Self::new(value).map_err(serde::de::Error::custom)
                })
            }
        }
    };
}

non_negative_decimal!(
    /// A price in quote currency (USDT for linear perpetuals). Non-negative.
    Price,
    "price"
);

non_negative_decimal!(
    /// An order or position size in base currency (BTC for BTCUSDT). Non-negative.
    Qty,
    "quantity"
);

impl Price {
    /// Moves the price by a signed distance; `None` on overflow or a negative result.
    #[must_use]
    pub fn checked_add(self, distance: Decimal) -> Option<Self> {
        self.0.checked_add(distance).and_then(|v| Self::new(v).ok())
    }

    /// Moves the price down by a signed distance; `None` on overflow or a negative result.
    #[must_use]
    pub fn checked_sub(self, distance: Decimal) -> Option<Self> {
        self.0.checked_sub(distance).and_then(|v| Self::new(v).ok())
    }

    /// The signed distance `self - other`.
    #[must_use]
    pub fn diff(self, other: Price) -> Decimal {
        // Both are within Decimal's range and non-negative, so the difference cannot overflow.
        self.0 - other.0
    }

    /// `price × qty` in quote currency; `None` on overflow.
    #[must_use]
    pub fn notional(self, qty: Qty) -> Option<Decimal> {
        self.0.checked_mul(qty.0)
    }
}

impl Qty {
    /// Sum of two quantities; `None` on overflow.
    #[must_use]
    pub fn checked_add(self, other: Qty) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Difference of two quantities; `None` when `other > self`.
    #[must_use]
    pub fn checked_sub(self, other: Qty) -> Option<Self> {
        self.0.checked_sub(other.0).and_then(|v| Self::new(v).ok())
    }
}

/// Parses `[+-]digits[.digits]` exactly; no exponent, no separators, no whitespace.
fn parse_plain_decimal(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    // The common case, fast: up to 18 digits fit a u64 mantissa (Decimal's own parser takes
    // several times longer, and a candle file has millions of numbers).
    let negative = text.starts_with('-');
    if int.len() + frac.len() <= 18 {
        let mantissa = int.bytes().chain(frac.bytes()).fold(0u64, |m, b| m * 10 + u64::from(b - b'0'));
        if !(negative && mantissa == 0) {
            let signed = if negative { -i128::from(mantissa) } else { i128::from(mantissa) };
            let scale = u32::try_from(frac.len()).ok()?;
            return Decimal::try_from_i128_with_scale(signed, scale).ok();
        }
    }
    Decimal::from_str(text).ok()
}

/// `Decimal`'s value order, comparing the integer mantissas directly when both sides have
/// the same scale — the common case for prices and sizes of one instrument (the replay aligns
/// a series' scales once), where rust_decimal's general comparison rescales first and costs
/// several times more. Proptested against `Decimal::cmp`.
#[inline]
#[must_use]
pub(crate) fn cmp_decimals(a: Decimal, b: Decimal) -> std::cmp::Ordering {
    if a.scale() == b.scale() { a.mantissa().cmp(&b.mantissa()) } else { a.cmp(&b) }
}

/// Decimal places of a USDT amount (PnL, fees, balances), as Bybit shows them: amounts are
/// rounded (half to even) to this where they are computed, so no 28-digit remainder of a
/// division reaches a journal, a status or an alert.
pub const USDT_DP: u32 = 8;

/// A USDT amount rounded to [`USDT_DP`] places.
#[must_use]
pub fn usdt(amount: Decimal) -> Decimal {
    amount.round_dp(USDT_DP)
}

/// A decimal amount as `f64`, for statistics and risk (never for an order): the one
/// conversion used for money amounts that are not prices or sizes (PnL, equity, rates).
#[must_use]
pub fn decimal_to_f64(value: Decimal) -> f64 {
    // rust_decimal's `as_f64` divides the 96-bit mantissa in u128; amounts nearly always fit
    // 64 bits, where the same steps in u64 give the bit-identical result several times faster
    // (the risk view converts a few dozen amounts per decision). Proptested against it below.
    let scale = value.scale();
    let unpacked = value.unpack();
    if scale == 0 || scale > 19 || unpacked.hi != 0 {
        return value.to_f64().unwrap_or(f64::NAN);
    }
    let mantissa = (u64::from(unpacked.mid) << 32) | u64::from(unpacked.lo);
    let precision = 10_u64.pow(scale);
    #[allow(clippy::cast_precision_loss, reason = "the same conversions as rust_decimal's as_f64")]
    let (integral, fraction) = ((mantissa / precision) as f64, (mantissa % precision) as f64 / precision as f64);
    let magnitude = if fraction == 0.0 {
        integral
    } else {
        let round_to = 10f64.powi(i32::try_from(scale).unwrap_or(0));
        ((integral + fraction) * round_to).round() / round_to
    };
    if unpacked.negative { -magnitude } else { magnitude }
}

/// Reads a decimal from a string (Bybit, state files) or a number (YAML/JSON configs).
struct DecimalVisitor(&'static str);

impl DecimalVisitor {
    fn parse<E: serde::de::Error>(&self, text: &str) -> Result<Decimal, E> {
        parse_plain_decimal(text.trim())
            .ok_or_else(|| E::custom(format!("{} is not a decimal number: {text:?}", self.0)))
    }
}

impl serde::de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} as a decimal string or number", self.0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
        self.parse(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("{} must be finite, got {v}", self.0)));
        }
        // `{}` prints the shortest text that round-trips, so 0.001 reads as exactly 0.001.
        self.parse(&format!("{v}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    proptest::proptest! {
        /// The fast path reads exactly what `Decimal::from_str` reads: value and scale.
        #[test]
        fn the_fast_decimal_parse_agrees_with_rust_decimal(int in "[0-9]{0,12}", frac in "[0-9]{0,9}", minus in proptest::bool::ANY, dot in proptest::bool::ANY) {
            let text = format!("{}{int}{}{frac}", if minus { "-" } else { "" }, if dot || int.is_empty() { "." } else { "" });
            let expected = Decimal::from_str(&text).ok();
            let got = parse_plain_decimal(&text);
            proptest::prop_assert_eq!(got, expected, "{}", text);
            if let (Some(g), Some(e)) = (got, expected) {
                proptest::prop_assert_eq!(g.scale(), e.scale(), "{}", text);
            }
        }

        /// `cmp_decimals` orders as `Decimal::cmp`, same scale or not, zero signs included.
        #[test]
        fn the_fast_comparison_is_decimal_order(a in proptest::num::i64::ANY, b in proptest::num::i64::ANY, sa in 0u32..12, same in proptest::bool::ANY, sb in 0u32..12) {
            let x = Decimal::new(a % 1_000_000_000, sa);
            let y = Decimal::new(b % 1_000_000_000, if same { sa } else { sb });
            proptest::prop_assert_eq!(cmp_decimals(x, y), x.cmp(&y));
            proptest::prop_assert_eq!(cmp_decimals(x, x), std::cmp::Ordering::Equal);
            proptest::prop_assert_eq!(cmp_decimals(-Decimal::ZERO, Decimal::ZERO), std::cmp::Ordering::Equal);
            if let (Ok(p), Ok(q)) = (Price::new(x), Price::new(y)) {
                proptest::prop_assert_eq!(p.cmp(&q), x.cmp(&y));
                proptest::prop_assert_eq!(p == q, x == y);
            }
        }

        /// The u64 path of `decimal_to_f64` gives rust_decimal's `as_f64`, bit for bit.
        #[test]
        fn the_fast_f64_conversion_is_bit_identical(lo in proptest::num::u32::ANY, mid in proptest::num::u32::ANY, hi in proptest::prop_oneof![3 => proptest::strategy::Just(0u32), 1 => 0u32..3], negative in proptest::bool::ANY, scale in 0u32..=28) {
            let value = Decimal::from_parts(lo, mid, hi, negative, scale);
            proptest::prop_assert_eq!(decimal_to_f64(value).to_bits(), value.to_f64().unwrap_or(f64::NAN).to_bits(), "{}", value);
        }
    }

    #[test]
    fn parses_bybit_strings_and_prints_normalised() {
        let p: Price = "30000.10".parse().unwrap();
        assert_eq!(p.as_decimal(), d("30000.1"));
        assert_eq!(p.to_string(), "30000.1");
        let q: Qty = "0.001".parse().unwrap();
        assert_eq!(q.to_string(), "0.001");
        assert_eq!("93530".parse::<Price>().unwrap().to_string(), "93530");
    }

    #[test]
    fn rejects_negative_and_garbage() {
        assert!(matches!("-1".parse::<Price>(), Err(ValueError::Negative { kind: "price", .. })));
        assert!(matches!("".parse::<Qty>(), Err(ValueError::Parse { .. })));
        assert!(matches!("1e5".parse::<Qty>(), Err(ValueError::Parse { .. })));
        assert!(matches!("NaN".parse::<Price>(), Err(ValueError::Parse { .. })));
        assert!("1_000".parse::<Qty>().is_err());
        assert!(".".parse::<Qty>().is_err());
        assert!(" 1".parse::<Qty>().is_err());
        assert_eq!(".5".parse::<Qty>().unwrap().to_string(), "0.5");
        assert!("-0".parse::<Qty>().is_ok());
    }

    #[test]
    fn checked_arithmetic_never_goes_negative_or_overflows() {
        let p = Price::new(d("100")).unwrap();
        assert_eq!(p.checked_sub(d("100.5")), None);
        assert_eq!(p.checked_add(d("-0.5")).unwrap().as_decimal(), d("99.5"));
        assert_eq!(Price::new(Decimal::MAX).unwrap().checked_add(d("1")), None);
        let q = Qty::new(d("0.002")).unwrap();
        assert_eq!(q.checked_sub(Qty::new(d("0.003")).unwrap()), None);
        assert_eq!(p.notional(q), Some(d("0.2")));
        assert_eq!(p.diff(Price::new(d("101")).unwrap()), d("-1"));
    }

    #[test]
    fn serde_uses_strings_and_accepts_numbers() {
        let p = Price::new(d("30000.10")).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"30000.1\"");
        let back: Price = serde_json::from_str("\"30000.10\"").unwrap();
        assert_eq!(back, p);
        let q: Qty = serde_json::from_str("0.001").unwrap();
        assert_eq!(q.as_decimal(), d("0.001"));
        let i: Qty = serde_json::from_str("3").unwrap();
        assert_eq!(i.as_decimal(), d("3"));
        assert!(serde_json::from_str::<Qty>("\"-3\"").is_err());
        assert!(serde_json::from_str::<Qty>("\"abc\"").is_err());
    }
}
