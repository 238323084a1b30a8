//! Fault injection, seeded and off by default: added latency, REST errors (HTTP 503 or
//! retCode 10016, answered *before* the request has any effect, so a retry is always safe),
//! 10006 bursts, WebSocket connections dropped every N seconds, and private events duplicated
//! or held back behind the next one (reordered).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What to break, and how often.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the fault generator (same seed, same faults for the same request sequence).
    pub seed: u64,
    /// Added to every REST reply, ms.
    pub latency_ms: u64,
    /// Share of REST requests answered with HTTP 503 or retCode 10016.
    pub error_rate: f64,
    /// Every Nth signed request is answered 10006 (0: never).
    pub rate_limit_every: u64,
    /// Every WebSocket connection is closed after this many seconds (0: never).
    pub ws_drop_every_s: u64,
    /// Share of private events sent twice.
    pub duplicate_rate: f64,
    /// Share of private events held back and sent after the next one.
    pub reorder_rate: f64,
}

impl FaultConfig {
    /// True when nothing is injected.
    #[must_use]
    pub fn is_off(&self) -> bool {
        *self == Self { seed: self.seed, ..Self::default() }
    }

    /// Checks the rates are shares.
    pub fn validate(&self) -> Result<(), InvalidFault> {
        for (field, value) in [
            ("error_rate", self.error_rate),
            ("duplicate_rate", self.duplicate_rate),
            ("reorder_rate", self.reorder_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(InvalidFault { field, value });
            }
        }
        Ok(())
    }
}

/// A fault rate that is not a share.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("faults.{field}: expected a share between 0 and 1, got {value}")]
pub struct InvalidFault {
    /// The field.
    pub field: &'static str,
    /// What it said.
    pub value: f64,
}

/// A REST fault to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestFault {
    /// HTTP 503.
    Unavailable,
    /// retCode 10016.
    ServerError,
    /// retCode 10006.
    RateLimited,
}

/// The live fault generator.
#[derive(Debug)]
pub(crate) struct Faults {
    config: FaultConfig,
    /// Faults are injected while on (a test switches them per round).
    on: std::sync::atomic::AtomicBool,
    rng: Mutex<u64>,
    signed: AtomicU64,
    injected: AtomicU64,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let seed = if config.seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { config.seed };
        Self {
            config,
            on: std::sync::atomic::AtomicBool::new(true),
            rng: Mutex::new(seed),
            signed: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
    }

    /// A uniform draw in [0, 1).
    fn roll(&self) -> f64 {
        let mut state = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        // 53 random bits → [0, 1)
        #[allow(clippy::cast_precision_loss)]
        let r = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        r
    }

    fn hit(&self, rate: f64) -> bool {
        rate > 0.0 && self.roll() < rate
    }

    fn count(&self) {
        self.injected.fetch_add(1, Ordering::Relaxed);
    }

    /// Switches injection on or off (the configuration stays).
    pub(crate) fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    fn active(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// How many faults were injected so far.
    pub(crate) fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Added latency per REST reply.
    pub(crate) fn latency(&self) -> Option<Duration> {
        (self.active() && self.config.latency_ms > 0).then(|| Duration::from_millis(self.config.latency_ms))
    }

    /// The fault, if any, for the next REST request.
    pub(crate) fn rest(&self, signed: bool) -> Option<RestFault> {
        if !self.active() {
            return None;
        }
        if signed && self.config.rate_limit_every > 0 {
            let n = self.signed.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(self.config.rate_limit_every) {
                self.count();
                return Some(RestFault::RateLimited);
            }
        }
        if self.hit(self.config.error_rate) {
            self.count();
            return Some(if self.roll() < 0.5 { RestFault::Unavailable } else { RestFault::ServerError });
        }
        None
    }

    /// How long a WebSocket connection lives.
    pub(crate) fn ws_lifetime(&self) -> Option<Duration> {
        (self.active() && self.config.ws_drop_every_s > 0).then(|| Duration::from_secs(self.config.ws_drop_every_s))
    }

    /// Whether to send this private event twice.
    pub(crate) fn duplicate(&self) -> bool {
        let hit = self.active() && self.hit(self.config.duplicate_rate);
        if hit {
            self.count();
        }
        hit
    }

    /// Whether to hold this private event back behind the next one.
    pub(crate) fn reorder(&self) -> bool {
        let hit = self.active() && self.hit(self.config.reorder_rate);
        if hit {
            self.count();
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_seeded() {
        let f = Faults::new(FaultConfig::default());
        assert!(FaultConfig::default().is_off());
        assert!((0..1000).all(|_| f.rest(true).is_none() && !f.duplicate() && !f.reorder()));
        assert_eq!(f.injected(), 0);
        let config = FaultConfig { seed: 7, error_rate: 0.3, rate_limit_every: 10, ..FaultConfig::default() };
        let (a, b) = (Faults::new(config.clone()), Faults::new(config));
        let run = |f: &Faults| (0..200).map(|_| f.rest(true)).collect::<Vec<_>>();
        let ra = run(&a);
        assert_eq!(ra, run(&b), "same seed, same faults");
        assert_eq!(ra.iter().filter(|f| **f == Some(RestFault::RateLimited)).count(), 20);
        let errors = ra.iter().filter(|f| matches!(f, Some(RestFault::Unavailable | RestFault::ServerError))).count();
        assert!((25..=75).contains(&errors), "{errors} errors in 180 draws at 30%");
        assert!(FaultConfig { error_rate: 1.5, ..FaultConfig::default() }.validate().is_err());
    }
}
