//! [`RequestStats`]: what a client's REST requests did — counts by endpoint class and outcome,
//! and a latency histogram per class with Prometheus' cumulative buckets — in atomics only, so
//! counting never waits and costs a few nanoseconds per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::limits::EndpointClass;

/// Upper bounds of the latency buckets, seconds (the last bucket, `+Inf`, is the count).
pub const LATENCY_BUCKETS_S: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// One endpoint class's figures.
#[derive(Debug, Default)]
pub struct ClassStats {
    ok: AtomicU64,
    failed: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

/// A copy of one class's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassReading {
    /// Requests answered with success (each attempt counts).
    pub ok: u64,
    /// Attempts that failed (transport, HTTP status or Bybit's retCode).
    pub failed: u64,
    /// Cumulative counts per [`LATENCY_BUCKETS_S`] bound.
    pub buckets: [u64; LATENCY_BUCKETS_S.len()],
    /// Attempts timed.
    pub count: u64,
    /// Their total duration, µs.
    pub sum_us: u64,
}

/// Every class's figures of one client.
#[derive(Debug, Default)]
pub struct RequestStats {
    classes: [ClassStats; 3],
}

/// The classes in the order [`RequestStats::read`] returns them.
pub const CLASSES: [EndpointClass; 3] = [EndpointClass::Orders, EndpointClass::Queries, EndpointClass::Public];

fn slot(class: EndpointClass) -> usize {
    match class {
        EndpointClass::Orders => 0,
        EndpointClass::Queries => 1,
        EndpointClass::Public => 2,
    }
}

impl RequestStats {
    /// Counts one attempt of `class` that took `took`.
    pub fn record(&self, class: EndpointClass, took: Duration, ok: bool) {
        let c = &self.classes[slot(class)];
        if ok { &c.ok } else { &c.failed }.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(&c.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        c.count.fetch_add(1, Ordering::Relaxed);
        c.sum_us.fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// A copy of every class's figures, in [`CLASSES`] order.
    #[must_use]
    pub fn read(&self) -> [ClassReading; 3] {
        std::array::from_fn(|i| {
            let c = &self.classes[i];
            ClassReading {
                ok: c.ok.load(Ordering::Relaxed),
                failed: c.failed.load(Ordering::Relaxed),
                buckets: std::array::from_fn(|b| c.buckets[b].load(Ordering::Relaxed)),
                count: c.count.load(Ordering::Relaxed),
                sum_us: c.sum_us.load(Ordering::Relaxed),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_outcomes_counted() {
        let s = RequestStats::default();
        s.record(EndpointClass::Orders, Duration::from_millis(3), true);
        s.record(EndpointClass::Orders, Duration::from_millis(30), true);
        s.record(EndpointClass::Orders, Duration::from_secs(20), false);
        s.record(EndpointClass::Queries, Duration::from_millis(7), true);
        let [orders, queries, public] = s.read();
        assert_eq!((orders.ok, orders.failed, orders.count), (2, 1, 3));
        assert_eq!(orders.buckets[0], 1, "≤ 5 ms");
        assert_eq!(orders.buckets[3], 2, "≤ 50 ms holds both fast ones");
        assert_eq!(orders.buckets[10], 2, "the 20 s one only in +Inf (the count)");
        assert_eq!(orders.sum_us, 3_000 + 30_000 + 20_000_000);
        assert_eq!(queries.buckets[1], 1);
        assert_eq!(public, ClassReading::default());
    }
}
