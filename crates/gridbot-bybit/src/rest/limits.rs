//! Client-side rate limiting and the retry policy.
//!
//! - One token bucket per endpoint class and account (orders 10/s, queries 50/s, public market
//!   data 120/s ≈ the 600 per 5 s IP limit), configurable. The exchange's own view wins: when a
//!   reply says `X-Bapi-Limit-Status: 0`, or a request is answered 10006/429/403, the class is
//!   closed until the reset timestamp the exchange gave.
//! - Retries use capped exponential backoff with jitter drawn from an injectable generator, so
//!   tests are deterministic.

use std::sync::Mutex;

/// Which per-UID limit an endpoint counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointClass {
    /// create / amend / cancel / cancel-all / set-leverage / switch-mode / trading-stop.
    Orders,
    /// realtime / history / execution list / position list / wallet.
    Queries,
    /// Public market data (IP limit only).
    Public,
}

impl EndpointClass {
    const fn index(self) -> usize {
        match self {
            Self::Orders => 0,
            Self::Queries => 1,
            Self::Public => 2,
        }
    }
}

/// Requests per second per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Order endpoints (Bybit: 10/s).
    pub orders_per_sec: u32,
    /// Query endpoints (Bybit: 50/s).
    pub queries_per_sec: u32,
    /// Public endpoints (Bybit: 600 per 5 s per IP).
    pub public_per_sec: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { orders_per_sec: 10, queries_per_sec: 50, public_per_sec: 120 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_ms: f64,
    last_ms: i64,
    closed_until_ms: i64,
}

impl Bucket {
    fn new(per_sec: u32) -> Self {
        let capacity = f64::from(per_sec.max(1));
        Self { capacity, tokens: capacity, per_ms: capacity / 1000.0, last_ms: i64::MIN, closed_until_ms: i64::MIN }
    }
}

/// Token buckets per endpoint class, plus the exchange's reset times.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<[Bucket; 3]>,
}

impl RateLimiter {
    /// Buckets for `limits`, full.
    #[must_use]
    pub fn new(limits: RateLimits) -> Self {
        Self {
            buckets: Mutex::new([
                Bucket::new(limits.orders_per_sec),
                Bucket::new(limits.queries_per_sec),
                Bucket::new(limits.public_per_sec),
            ]),
        }
    }

    fn with<R>(&self, class: EndpointClass, f: impl FnOnce(&mut Bucket) -> R) -> R {
        // A poisoned lock only means another thread panicked mid-update of plain numbers.
        let mut guard = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard[class.index()])
    }

    /// Takes a token if one is available now and returns 0; otherwise returns how many ms to
    /// wait before asking again.
    pub fn try_acquire(&self, class: EndpointClass, now_ms: i64) -> i64 {
        self.with(class, |b| {
            if now_ms < b.closed_until_ms {
                return b.closed_until_ms - now_ms;
            }
            if b.last_ms != i64::MIN {
                #[allow(clippy::cast_precision_loss)]
                let elapsed = (now_ms - b.last_ms).max(0) as f64;
                b.tokens = (b.tokens + elapsed * b.per_ms).min(b.capacity);
            }
            b.last_ms = now_ms;
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                0
            } else {
                #[allow(clippy::cast_possible_truncation)]
                let wait = ((1.0 - b.tokens) / b.per_ms).ceil() as i64;
                wait.max(1)
            }
        })
    }

    /// Closes `class` until `until_ms` (10006, 429, 403, or `X-Bapi-Limit-Status: 0`).
    pub fn close_until(&self, class: EndpointClass, until_ms: i64) {
        self.with(class, |b| b.closed_until_ms = b.closed_until_ms.max(until_ms));
    }
}

/// A source of jitter. Injectable so retry timing is reproducible in tests.
pub trait Jitter: Send {
    /// A uniformly distributed `u64`.
    fn next_u64(&mut self) -> u64;
}

/// xorshift64*: small, fast, good enough for jitter (not for anything secret).
#[derive(Debug, Clone)]
pub struct XorShift64(u64);

impl XorShift64 {
    /// A generator from `seed` (0 is replaced by a fixed odd constant).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }
}

impl Jitter for XorShift64 {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt, ms.
    pub base_delay_ms: u64,
    /// Backoff cap, ms.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base_delay_ms: 200, max_delay_ms: 5_000 }
    }
}

impl RetryPolicy {
    /// Backoff after failed attempt number `attempt` (0-based): `base · 2^attempt`, capped, with
    /// "equal jitter" — half fixed, half random — so retries never bunch up at zero.
    pub fn backoff_ms(&self, attempt: u32, jitter: &mut dyn Jitter) -> u64 {
        let exp = self.base_delay_ms.saturating_mul(1u64 << attempt.min(30)).min(self.max_delay_ms);
        let half = exp / 2;
        half + if half == 0 { 0 } else { jitter.next_u64() % (half + 1) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_their_rate() {
        let l = RateLimiter::new(RateLimits { orders_per_sec: 10, ..RateLimits::default() });
        for _ in 0..10 {
            assert_eq!(l.try_acquire(EndpointClass::Orders, 1_000), 0);
        }
        assert_eq!(l.try_acquire(EndpointClass::Orders, 1_000), 100);
        assert_eq!(l.try_acquire(EndpointClass::Orders, 1_050), 50);
        assert_eq!(l.try_acquire(EndpointClass::Orders, 1_100), 0);
        // classes are independent
        assert_eq!(l.try_acquire(EndpointClass::Queries, 1_100), 0);
    }

    #[test]
    fn the_exchange_can_close_a_class() {
        let l = RateLimiter::new(RateLimits::default());
        l.close_until(EndpointClass::Queries, 5_000);
        assert_eq!(l.try_acquire(EndpointClass::Queries, 4_000), 1_000);
        assert_eq!(l.try_acquire(EndpointClass::Queries, 5_000), 0);
        assert_eq!(l.try_acquire(EndpointClass::Orders, 4_000), 0);
    }

    #[test]
    fn backoff_is_capped_exponential_with_jitter() {
        let p = RetryPolicy { max_attempts: 10, base_delay_ms: 100, max_delay_ms: 1_000 };
        let mut j = XorShift64::new(7);
        for attempt in 0..10 {
            let exp = (100u64 << attempt).min(1_000);
            let d = p.backoff_ms(attempt, &mut j);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d}");
        }
        let (mut a, mut b) = (XorShift64::new(42), XorShift64::new(42));
        assert_eq!(p.backoff_ms(3, &mut a), p.backoff_ms(3, &mut b), "seeded jitter is reproducible");
    }
}
