//! The top of the book as a strategy sees it.

use gridbot_core::{Decimal, Price};

/// Best bid and ask of a symbol, and when the exchange sent them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarketView {
    /// Best bid.
    pub bid: Option<Price>,
    /// Best ask.
    pub ask: Option<Price>,
    /// Exchange time of the update, UTC ms.
    pub ts_ms: i64,
}

impl MarketView {
    /// The mid price, or the one side there is.
    #[must_use]
    pub fn mid(&self) -> Option<Price> {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => Price::new((b.as_decimal() + a.as_decimal()) / Decimal::TWO).ok(),
            (b, a) => b.or(a),
        }
    }
}
