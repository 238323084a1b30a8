//! [`LiveBoard`]: what a running bot can show that is in no file — each symbol's best bid and
//! ask as the account's worker last saw them, and its counters — for the dashboard.
//!
//! Decisions:
//! - **Read-mostly, never in the way.** A worker writes a symbol's prices in place (no
//!   allocation) under a mutex no one holds for longer than a copy; the web server copies them
//!   out. Everything else the dashboard shows comes from the account's files, as after a
//!   restart.
//! - Prices are the book the worker decided on, not a separate feed: what the page shows is what
//!   the bot knew.

use std::sync::{Arc, Mutex};

pub use gridbot_bybit::{ClassReading, LATENCY_BUCKETS_S, RequestStats};
use gridbot_core::{Price, Symbol};

use crate::account::AccountSummary;

/// A symbol's top of book as the worker last saw it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LivePrice {
    /// Symbol.
    pub symbol: Symbol,
    /// Best bid.
    pub bid: Option<Price>,
    /// Best ask.
    pub ask: Option<Price>,
    /// The book's time, UTC ms (the market's clock against the simulator); 0 before the first.
    pub ts_ms: i64,
}

/// The prices of one account's symbols, shared between its worker and readers.
#[derive(Debug, Clone, Default)]
pub struct SharedPrices(Arc<Mutex<Vec<LivePrice>>>);

impl SharedPrices {
    /// One empty entry per symbol.
    #[must_use]
    pub fn new(symbols: impl IntoIterator<Item = Symbol>) -> Self {
        let prices = symbols.into_iter().map(|symbol| LivePrice { symbol, bid: None, ask: None, ts_ms: 0 }).collect();
        Self(Arc::new(Mutex::new(prices)))
    }

    /// Stores a book update (a symbol not traded is ignored).
    pub fn set(&self, symbol: &Symbol, bid: Option<Price>, ask: Option<Price>, ts_ms: i64) {
        if let Ok(mut prices) = self.0.lock()
            && let Some(p) = prices.iter_mut().find(|p| &p.symbol == symbol)
        {
            p.bid = bid;
            p.ask = ask;
            p.ts_ms = ts_ms;
        }
    }

    /// A copy of every symbol's.
    #[must_use]
    pub fn read(&self) -> Vec<LivePrice> {
        self.0.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// One account of a running bot.
#[derive(Debug, Clone)]
pub struct LiveAccount {
    /// Account id.
    pub id: String,
    pub(crate) summary: Arc<Mutex<AccountSummary>>,
    pub(crate) prices: SharedPrices,
    /// Its REST client's request counts and latencies (live trading over Bybit's API).
    pub(crate) requests: Option<Arc<RequestStats>>,
}

/// What one account looks like now.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LiveReading {
    /// Account id.
    pub account: String,
    /// The worker's counters.
    pub summary: AccountSummary,
    /// Each symbol's top of book.
    pub prices: Vec<LivePrice>,
    /// Its REST requests by endpoint class (orders, queries, public), when it trades over the API.
    #[serde(skip)]
    pub requests: Option<[ClassReading; 3]>,
}

/// Every account of a running bot; cheap to clone, safe to read from any thread.
#[derive(Debug, Clone, Default)]
pub struct LiveBoard {
    accounts: Vec<LiveAccount>,
}

impl LiveBoard {
    pub(crate) fn new(accounts: Vec<LiveAccount>) -> Self {
        Self { accounts }
    }

    /// The account's reading now, if the bot trades it.
    #[must_use]
    pub fn account(&self, id: &str) -> Option<LiveReading> {
        self.accounts.iter().find(|a| a.id == id).map(|a| LiveReading {
            account: a.id.clone(),
            summary: a.summary.lock().map(|s| s.clone()).unwrap_or_default(),
            prices: a.prices.read(),
            requests: a.requests.as_ref().map(|r| r.read()),
        })
    }

    /// Every account's reading now.
    #[must_use]
    pub fn all(&self) -> Vec<LiveReading> {
        self.accounts.iter().filter_map(|a| self.account(&a.id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_set_in_place_and_unknown_symbols_ignored() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let prices = SharedPrices::new([btc.clone()]);
        prices.set(&btc, Some("100.5".parse().unwrap()), None, 7);
        prices.set(&Symbol::new("ETHUSDT").unwrap(), Some("1".parse().unwrap()), None, 8);
        let read = prices.read();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].bid, Some("100.5".parse().unwrap()));
        assert_eq!(read[0].ts_ms, 7);
    }
}
