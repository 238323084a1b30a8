//! The engine's sense of "now" when trading against the simulator.
//!
//! gridbot-sim replays history: its orders, fills and market data carry the replay's time, which
//! may run hundreds of times faster than the wall clock. Everything the engine times (partial
//! fill timeouts, risk windows, the UTC day of the kill switch) must follow that time, so against
//! the simulator the engine reads a `MarketClock`: the latest exchange time it has seen.
//! Against Bybit it reads the system clock. (Request signing always uses the wall clock.)

use std::sync::atomic::{AtomicI64, Ordering};

use gridbot_core::{Clock, SystemClock};

/// The latest exchange time seen; the system clock until the first one.
#[derive(Debug, Default)]
pub struct MarketClock {
    latest_ms: AtomicI64,
}

impl MarketClock {
    /// A clock that has seen nothing yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock to `ts_ms` if that is later than what it shows.
    pub fn observe(&self, ts_ms: i64) {
        self.latest_ms.fetch_max(ts_ms, Ordering::AcqRel);
    }
}

impl Clock for MarketClock {
    fn now_ms(&self) -> i64 {
        match self.latest_ms.load(Ordering::Acquire) {
            0 => SystemClock.now_ms(),
            t => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_latest_exchange_time_and_never_goes_back() {
        let c = MarketClock::new();
        assert!(c.now_ms() > 1_600_000_000_000);
        c.observe(1_000);
        c.observe(5_000);
        c.observe(3_000);
        assert_eq!(c.now_ms(), 5_000);
    }
}
