//! What the clients are doing, for the lockstep replay: it moves the market one path point at a
//! time and waits, after each, until every client has gone quiet — no REST request in flight,
//! none and no WebSocket frame in or out for a while — so a bot has heard the point and acted
//! on it before the market moves on, exactly as a backtest lets it. Paper trading at the pace
//! of the bot instead of the wall clock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Client activity, touched by the REST layer and the WebSocket tasks.
#[derive(Debug)]
pub(crate) struct Activity {
    last: Mutex<Instant>,
    requests_in_flight: AtomicUsize,
    private_subscribers: AtomicUsize,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            last: Mutex::new(Instant::now()),
            requests_in_flight: AtomicUsize::new(0),
            private_subscribers: AtomicUsize::new(0),
        }
    }
}

impl Activity {
    /// Something happened now.
    pub(crate) fn touch(&self) {
        *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    /// A REST request starts.
    pub(crate) fn request_started(&self) {
        self.requests_in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
    }

    /// A REST request was answered.
    pub(crate) fn request_done(&self) {
        self.requests_in_flight.fetch_sub(1, Ordering::SeqCst);
        self.touch();
    }

    /// A private stream subscribed (a bot listens) or closed.
    pub(crate) fn private_subscriber(&self, joined: bool) {
        if joined {
            self.private_subscribers.fetch_add(1, Ordering::SeqCst);
        } else {
            self.private_subscribers.fetch_sub(1, Ordering::SeqCst);
        }
        self.touch();
    }

    /// Private streams subscribed now.
    pub(crate) fn private_subscribers(&self) -> usize {
        self.private_subscribers.load(Ordering::SeqCst)
    }

    /// Blocks until nothing has happened for `quiet` and no request is in flight (or `stop`
    /// says so).
    pub(crate) fn wait_quiet(&self, quiet: Duration, stop: &dyn Fn() -> bool) {
        loop {
            if stop() {
                return;
            }
            let idle = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner).elapsed();
            if self.requests_in_flight.load(Ordering::SeqCst) == 0 && idle >= quiet {
                return;
            }
            std::thread::sleep(quiet.saturating_sub(idle).clamp(Duration::from_micros(200), Duration::from_millis(2)));
        }
    }
}
