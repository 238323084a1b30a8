//! The nonces of new orderLinkIds.
//!
//! Bybit refuses an orderLinkId already used in the account (110072), and the same (leg, cycle,
//! role, level) recurs across symbols, restarts and reconciliations, so the nonce is what keeps
//! ids apart. One [`NonceSource`] per symbol serves both the strategy and the recoveries it
//! asks for: a recovery takes its ids from the strategy's sequence, so the two can never line
//! up on the same id. A new run starts the sequence from the symbol's FNV-1a hash mixed with
//! the start time, so runs do not repeat each other's ids either.

use gridbot_core::Symbol;

/// Nonces for new orderLinkIds of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceSource {
    next: u32,
}

impl NonceSource {
    /// A source for `symbol` started at `now_ms`.
    #[must_use]
    pub fn new(symbol: &Symbol, now_ms: i64) -> Self {
        let mut h: u32 = 0x811c_9dc5;
        for b in symbol.as_str().bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        let ms = u32::try_from(now_ms.rem_euclid(1 << 32)).unwrap_or(0);
        Self { next: h.wrapping_add(ms.wrapping_mul(0x85EB_CA6B)) }
    }

    /// The next nonce.
    pub fn take(&mut self) -> u32 {
        self.next = self.next.wrapping_add(1);
        self.next
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn symbols_and_start_times_give_different_sequences_that_never_repeat_soon() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let eth = Symbol::new("ETHUSDT").unwrap();
        let mut a = NonceSource::new(&btc, 1_700_000_000_000);
        let mut b = NonceSource::new(&eth, 1_700_000_000_000);
        let mut c = NonceSource::new(&btc, 1_700_000_000_001);
        let first: Vec<u32> = (0..1000).map(|_| a.take()).collect();
        let mut seen: std::collections::HashSet<u32> = first.iter().copied().collect();
        assert_eq!(seen.len(), 1000);
        assert!((0..1000).map(|_| b.take()).all(|n| seen.insert(n)), "another symbol, same time");
        assert!((0..1000).map(|_| c.take()).all(|n| seen.insert(n)), "same symbol, a ms later");
    }
}
