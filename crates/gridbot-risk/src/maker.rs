//! The maker check: a PostOnly order at or through the opposite best price would be cancelled
//! by the exchange on arrival (`EC_PostOnlyWillTakeLiquidity`), so it is not sent.
//!
//! With no opposite price known (an empty or unknown book side) the check passes: the exchange
//! still protects a PostOnly order, and blocking on missing data would stall the grid.

use gridbot_core::{Price, Side};

/// A PostOnly price that would take liquidity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("PostOnly {side} at {price} would cross the book (opposite best {opposite})")]
pub struct MakerViolation {
    /// Order side.
    pub side: Side,
    /// Order price.
    pub price: Price,
    /// The opposite best price it meets.
    pub opposite: Price,
}

/// Passes when a PostOnly order at `price` would rest: a buy strictly below the best ask, a
/// sell strictly above the best bid.
pub fn maker_check(
    side: Side,
    price: Price,
    best_bid: Option<Price>,
    best_ask: Option<Price>,
) -> Result<(), MakerViolation> {
    let (crosses, opposite) = match side {
        Side::Buy => (best_ask.is_some_and(|ask| price >= ask), best_ask),
        Side::Sell => (best_bid.is_some_and(|bid| price <= bid), best_bid),
    };
    match (crosses, opposite) {
        (true, Some(opposite)) => Err(MakerViolation { side, price, opposite }),
        _ => Ok(()),
    }
}
