//! The order executor: sends a strategy's commands over REST, in order, and reports each
//! outcome. Retries of transient errors happen inside the client (same orderLinkId, re-signed).
//!
//! Decisions:
//! - Nothing is sent while the account's emergency-stop flag exists: the flag is checked right
//!   before every request, not only when the risk decision was made.
//! - A place that depends on a cancel (`after_cancel`) is skipped unless that cancel went through
//!   in the same batch: the order it replaces may have filled meanwhile.
//! - The event-to-order latency — from the moment the WebSocket frame that caused a batch was
//!   read to the moment its first REST request is handed to the client — is recorded.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gridbot_core::{ErrorDetail, Exchange, ExchangeError, OrderLinkId, OrderRef};

use crate::command::{Command, Outcome};

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

/// Sends commands for one account.
pub struct Executor {
    exchange: Arc<dyn Exchange + Send + Sync>,
    emergency_flag: PathBuf,
    latency: Arc<LatencyLog>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").field("emergency_flag", &self.emergency_flag).finish_non_exhaustive()
    }
}

fn halted(endpoint: &str) -> ExchangeError {
    ExchangeError::Rejected(ErrorDetail {
        endpoint: endpoint.to_owned(),
        ret_code: None,
        http_status: None,
        message: "not sent: the emergency stop is on".to_owned(),
    })
}

impl Executor {
    /// An executor over `exchange` that refuses to send while `emergency_flag` exists.
    #[must_use]
    pub fn new(exchange: Arc<dyn Exchange + Send + Sync>, emergency_flag: PathBuf, latency: Arc<LatencyLog>) -> Self {
        Self { exchange, emergency_flag, latency }
    }

    /// The exchange.
    #[must_use]
    pub fn exchange(&self) -> &Arc<dyn Exchange + Send + Sync> {
        &self.exchange
    }

    /// True while the emergency-stop flag exists.
    #[must_use]
    pub fn stopped(&self) -> bool {
        self.emergency_flag.exists()
    }

    /// Sends `commands` in order; `stamp`: when the triggering frame was read and when the
    /// worker took its event up.
    pub fn run(&self, commands: &[Command], stamp: Stamp) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(commands.len());
        let mut cancelled: Vec<&OrderLinkId> = Vec::new();
        let mut first = stamp;
        let mark = |first: &mut Stamp| {
            if let Some((read, popped, found_idle)) = first.take() {
                let ns = |t: Instant| u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.latency.record(LatencySample { total_ns: ns(read), in_worker_ns: ns(popped), found_idle });
            }
        };
        for command in commands {
            let stopped = self.stopped();
            let outcome = match command {
                Command::Place { request, after_cancel, .. } => {
                    let link_id = request.order_link_id.clone();
                    if stopped || after_cancel.as_ref().is_some_and(|id| !cancelled.contains(&id)) {
                        Outcome::PlaceSkipped { link_id }
                    } else {
                        mark(&mut first);
                        match self.exchange.place(request) {
                            Ok(ack) => Outcome::Placed { link_id, order_id: ack.order_id },
                            Err(error) => Outcome::PlaceFailed { link_id, error },
                        }
                    }
                }
                Command::Cancel { symbol, link_id } => {
                    if stopped {
                        Outcome::CancelFailed { link_id: link_id.clone(), error: halted("/v5/order/cancel") }
                    } else {
                        mark(&mut first);
                        match self.exchange.cancel(symbol, &OrderRef::LinkId(link_id.clone())) {
                            Ok(_) => {
                                cancelled.push(link_id);
                                Outcome::Cancelled { link_id: link_id.clone() }
                            }
                            Err(error) => Outcome::CancelFailed { link_id: link_id.clone(), error },
                        }
                    }
                }
                Command::CancelAll { symbol } => {
                    if stopped {
                        Outcome::CancelAllFailed { symbol: symbol.clone(), error: halted("/v5/order/cancel-all") }
                    } else {
                        mark(&mut first);
                        match self.exchange.cancel_all(symbol) {
                            Ok(acks) => Outcome::CancelledAll { symbol: symbol.clone(), count: acks.len() },
                            Err(error) => Outcome::CancelAllFailed { symbol: symbol.clone(), error },
                        }
                    }
                }
            };
            match &outcome {
                // The order filled or was cancelled meanwhile: its own events will say which.
                Outcome::CancelFailed { link_id, error } if error.action() == gridbot_core::ErrorAction::Reconcile => {
                    tracing::info!(link_id = %link_id, "cancel: the order is already gone (filled or cancelled)");
                }
                Outcome::PlaceFailed { link_id, error } | Outcome::CancelFailed { link_id, error } => {
                    tracing::warn!(link_id = %link_id, error = %error, "command failed");
                }
                _ => {}
            }
            outcomes.push(outcome);
        }
        outcomes
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use gridbot_core::reference::bybit_btcusdt;
    use gridbot_core::{Decimal, OrderRole, PositionIdx, Side, TimeInForce};
    use gridbot_recovery::LinkTag;
    use gridbot_sim::{CandleReplay, Engine, SimConfig, SimExchange};

    use super::*;

    fn setup(tag: &str) -> (Executor, Arc<SimExchange>, PathBuf) {
        let sim = SimExchange::new(
            Engine::new(SimConfig::default(), vec![bybit_btcusdt()]),
            CandleReplay::new(60_000, BTreeMap::new()),
        );
        sim.with_engine(|e| e.move_price(bybit_btcusdt().symbol(), "30000".parse().unwrap()));
        let id = sim.add_account(Decimal::from(100_000));
        let account = sim.account(id);
        account.set_position_mode(bybit_btcusdt().symbol(), gridbot_core::PositionMode::Hedge).unwrap();
        let account: Arc<dyn Exchange + Send + Sync> = Arc::new(account);
        let dir = std::env::temp_dir().join(format!("gridbot-executor-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let flag = dir.join("EMERGENCY_STOP");
        let _ = std::fs::remove_file(&flag);
        (Executor::new(account, flag.clone(), Arc::new(LatencyLog::default())), sim, flag)
    }

    fn place(nonce: u32, price: &str) -> Command {
        let tag = LinkTag {
            account: "t".into(),
            leg: gridbot_core::Leg::Long,
            cycle: 1,
            role: OrderRole::Balance,
            level: 0,
            nonce,
        };
        let request = gridbot_core::OrderRequest::limit(
            bybit_btcusdt().symbol().clone(),
            Side::Buy,
            "0.001".parse().unwrap(),
            price.parse().unwrap(),
            TimeInForce::PostOnly,
            PositionIdx::Long,
            tag.encode().unwrap(),
        );
        Command::Place { request, tag, after_cancel: None }
    }

    #[test]
    fn a_place_waits_for_the_cancel_it_depends_on() {
        let (ex, _sim, _) = setup("dep");
        let first = place(1, "29000");
        let Command::Place { request, .. } = &first else { unreachable!() };
        let old = request.order_link_id.clone();
        let out = ex.run(std::slice::from_ref(&first), None);
        assert!(matches!(out[0], Outcome::Placed { .. }), "{out:?}");
        let symbol = bybit_btcusdt().symbol().clone();
        // The cancel of an order that does not exist fails: the dependent place is skipped.
        let ghost = place(99, "29000");
        let Command::Place { request: ghost_req, .. } = &ghost else { unreachable!() };
        let mut replacement = place(2, "29100");
        if let Command::Place { after_cancel, .. } = &mut replacement {
            *after_cancel = Some(ghost_req.order_link_id.clone());
        }
        let out = ex.run(
            &[Command::Cancel { symbol: symbol.clone(), link_id: ghost_req.order_link_id.clone() }, replacement],
            None,
        );
        assert!(matches!(out[0], Outcome::CancelFailed { .. }), "{out:?}");
        assert!(matches!(out[1], Outcome::PlaceSkipped { .. }), "{out:?}");
        // A cancel that goes through lets its replacement out.
        let mut replacement = place(3, "29100");
        if let Command::Place { after_cancel, .. } = &mut replacement {
            *after_cancel = Some(old.clone());
        }
        let out = ex.run(&[Command::Cancel { symbol, link_id: old }, replacement], None);
        assert!(matches!(out[0], Outcome::Cancelled { .. }) && matches!(out[1], Outcome::Placed { .. }), "{out:?}");
    }

    #[test]
    fn nothing_is_sent_while_the_emergency_flag_exists() {
        let (ex, sim, flag) = setup("flag");
        std::fs::write(&flag, "stop").unwrap();
        let before = sim.with_engine(|e| e.next_order_number());
        let symbol = bybit_btcusdt().symbol().clone();
        let out =
            ex.run(&[place(1, "29000"), Command::CancelAll { symbol }], Some((Instant::now(), Instant::now(), false)));
        assert!(matches!(out[0], Outcome::PlaceSkipped { .. }) && matches!(out[1], Outcome::CancelAllFailed { .. }));
        assert_eq!(sim.with_engine(|e| e.next_order_number()), before);
        assert!(ex.latency.samples().is_empty(), "nothing sent, nothing measured");
        std::fs::remove_file(&flag).unwrap();
        assert!(matches!(
            ex.run(&[place(2, "29000")], Some((Instant::now(), Instant::now(), true)))[0],
            Outcome::Placed { .. }
        ));
        assert_eq!(ex.latency.samples().len(), 1);
    }
}
