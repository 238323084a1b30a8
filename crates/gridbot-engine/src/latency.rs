//! Event-to-order latencies: from the moment the WebSocket frame behind an event was read to the
//! moment the first REST request it caused is handed to the client (taken at the executor's
//! gate, so events that send nothing are not measured).

use std::sync::Mutex;
use std::time::Instant;

/// One event that caused requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencySample {
    /// Frame read → first request handed to the client, ns.
    pub total_ns: u64,
    /// The worker took the event up → first request, ns.
    pub in_worker_ns: u64,
    /// The worker was idle when the event arrived (so `total` is not time spent queued behind
    /// earlier events' network round trips).
    pub found_idle: bool,
}

/// Event-to-order latencies (bounded: the first million samples).
#[derive(Debug, Default)]
pub struct LatencyLog {
    samples: Mutex<Vec<LatencySample>>,
}

/// When the frame behind an event was read, when the worker took it up, and whether the
/// worker was idle when it arrived.
pub type Stamp = Option<(Instant, Instant, bool)>;

const MAX_SAMPLES: usize = 1_000_000;

impl LatencyLog {
    /// Records one event.
    pub fn record(&self, sample: LatencySample) {
        let mut s = self.samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.len() < MAX_SAMPLES {
            s.push(sample);
        }
    }

    /// Records the sample of `stamp`, taken now.
    pub fn record_stamp(&self, stamp: (Instant, Instant, bool)) {
        let (read, popped, found_idle) = stamp;
        let ns = |t: Instant| u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.record(LatencySample { total_ns: ns(read), in_worker_ns: ns(popped), found_idle });
    }

    /// A copy of the samples.
    #[must_use]
    pub fn samples(&self) -> Vec<LatencySample> {
        self.samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Forgets the samples (after a warm-up).
    pub fn clear(&self) {
        self.samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}
