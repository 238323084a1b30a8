//! The REST client: one per account. `send` is the one place a request is signed (again on
//! every attempt), rate-limited, sent, classified and retried.
//!
//! Retry rules (by error variant, ARCHITECTURE §6):
//! - transient (network, 5xx, 10000, 10016, 110079): capped exponential backoff with jitter;
//! - 10006 / 429 / 403: the class is closed until the exchange's reset time, then retried;
//! - 10002: the clock offset is resynchronised from `/v5/market/time` once, then retried;
//! - everything else is returned to the caller at once.
//!
//! A retried create carries the same `orderLinkId`, so if the first attempt did reach the
//! exchange the retry is answered 110072 (duplicate) — a `Reconcile`, never a second order.

pub mod endpoints;
mod exchange;
pub mod limits;
pub mod stats;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gridbot_core::{Clock, ErrorAction, ErrorDetail, ExchangeError, SystemClock};

use crate::credentials::Credentials;
use crate::wire::{self, DecodeError};
use crate::{classify_http_status, classify_ret_code};
use gridbot_core::Environment;
use limits::{EndpointClass, RateLimiter, RateLimits, RetryPolicy, XorShift64};

/// Everything that can go wrong in a client call.
#[derive(Debug, thiserror::Error)]
pub enum BybitError {
    /// The exchange or the network said no; the variant says what to do.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// The reply could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A private endpoint was called on a client without credentials.
    #[error("{endpoint} needs API credentials, and this client has none")]
    NoCredentials {
        /// The endpoint.
        endpoint: &'static str,
    },
    /// A list endpoint kept returning pages past the safety limit (a cursor loop).
    #[error("{endpoint}: more than {pages} pages; stopping (repeating cursor?)")]
    TooManyPages {
        /// The endpoint.
        endpoint: &'static str,
        /// Pages fetched.
        pages: usize,
    },
    /// A windowed read got a page that does not move back in time (the server ignores the
    /// window, or repeats itself): stopped rather than asking the same thing forever.
    #[error("{endpoint}: a page did not move the window ({detail}); stopping")]
    NoProgress {
        /// The endpoint.
        endpoint: &'static str,
        /// What was asked and what came back.
        detail: String,
    },
}

impl From<BybitError> for ExchangeError {
    /// For the `Exchange` trait: an unreadable reply means the request's effect is unknown, so
    /// the caller must reconcile before acting again.
    fn from(e: BybitError) -> Self {
        match e {
            BybitError::Exchange(e) => e,
            BybitError::Decode(d) => ExchangeError::Reconcile(ErrorDetail {
                endpoint: d.endpoint,
                ret_code: None,
                http_status: Some(200),
                message: format!("undecodable reply: {}", d.reason),
            }),
            BybitError::NoCredentials { endpoint } => ExchangeError::Fatal(ErrorDetail {
                endpoint: endpoint.to_owned(),
                message: "no API credentials configured".to_owned(),
                ..ErrorDetail::default()
            }),
            BybitError::TooManyPages { endpoint, pages } => ExchangeError::Reconcile(ErrorDetail {
                endpoint: endpoint.to_owned(),
                message: format!("more than {pages} pages"),
                ..ErrorDetail::default()
            }),
            BybitError::NoProgress { endpoint, detail } => ExchangeError::Reconcile(ErrorDetail {
                endpoint: endpoint.to_owned(),
                message: format!("a page did not move the window: {detail}"),
                ..ErrorDetail::default()
            }),
        }
    }
}

/// Waits; injectable so tests can advance a `ManualClock` instead of sleeping.
pub trait Pause: Send + Sync {
    /// Waits `ms` milliseconds.
    fn pause(&self, ms: u64);
}

/// `std::thread::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadSleep;

impl Pause for ThreadSleep {
    fn pause(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Client settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// Where to send requests.
    pub environment: Environment,
    /// Credentials for private endpoints (`None`: public data only).
    pub credentials: Option<Credentials>,
    /// `X-BAPI-RECV-WINDOW`, ms.
    pub recv_window_ms: u64,
    /// Per-class request rates.
    pub rate_limits: RateLimits,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Connect + read timeout of one HTTP call.
    pub timeout: Duration,
    /// The clock requests are stamped with (plus the resynchronised offset).
    pub clock: Arc<dyn Clock>,
    /// How the client waits.
    pub pause: Arc<dyn Pause>,
    /// Seed of the jitter generator.
    pub jitter_seed: u64,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("environment", &self.environment)
            .field("credentials", &self.credentials)
            .field("recv_window_ms", &self.recv_window_ms)
            .field("rate_limits", &self.rate_limits)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Defaults for `environment`: recv window 5000 ms, Bybit's rate limits, 5 attempts,
    /// 10 s timeout, the system clock.
    #[must_use]
    pub fn new(environment: Environment, credentials: Option<Credentials>) -> Self {
        Self {
            environment,
            credentials,
            recv_window_ms: 5_000,
            rate_limits: RateLimits::default(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
            pause: Arc::new(ThreadSleep),
            jitter_seed: 0x5EED,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// One request, before signing.
struct Call {
    method: Method,
    path: &'static str,
    /// Raw query (no leading `?`), exactly as sent and signed.
    query: String,
    /// Raw JSON body, exactly as sent and signed.
    body: String,
    signed: bool,
    class: EndpointClass,
}

impl Call {
    fn get(path: &'static str, query: String, signed: bool, class: EndpointClass) -> Self {
        Self { method: Method::Get, path, query, body: String::new(), signed, class }
    }

    fn post(path: &'static str, body: String, class: EndpointClass) -> Self {
        Self { method: Method::Post, path, query: String::new(), body, signed: true, class }
    }
}

/// A Bybit v5 REST client for one account.
pub struct BybitClient {
    agent: ureq::Agent,
    config: ClientConfig,
    limiter: RateLimiter,
    clock_offset_ms: AtomicI64,
    jitter: Mutex<XorShift64>,
    stats: Arc<stats::RequestStats>,
}

impl std::fmt::Debug for BybitClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BybitClient")
            .field("config", &self.config)
            .field("clock_offset_ms", &self.clock_offset_ms.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Adds the `X-BAPI-*` headers of a signed request.
fn with_auth<B>(
    request: ureq::RequestBuilder<B>,
    auth: Option<&(String, String)>,
    timestamp: i64,
    recv_window: u64,
) -> ureq::RequestBuilder<B> {
    match auth {
        Some((key, sign)) => request
            .header("X-BAPI-API-KEY", key)
            .header("X-BAPI-TIMESTAMP", timestamp.to_string())
            .header("X-BAPI-RECV-WINDOW", recv_window.to_string())
            .header("X-BAPI-SIGN", sign),
        None => request,
    }
}

fn header_i64(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<i64> {
    response.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

impl BybitClient {
    /// A client with `config`.
    #[must_use]
    pub fn new(config: ClientConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("gridbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            limiter: RateLimiter::new(config.rate_limits),
            clock_offset_ms: AtomicI64::new(0),
            jitter: Mutex::new(XorShift64::new(config.jitter_seed)),
            stats: Arc::default(),
            config,
        }
    }

    /// What its requests did so far (shared: readers see it grow).
    #[must_use]
    pub fn stats(&self) -> Arc<stats::RequestStats> {
        Arc::clone(&self.stats)
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Exchange time minus local time, as last measured (0 until a 10002 forces a resync).
    #[must_use]
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    fn wait_for_slot(&self, class: EndpointClass) {
        loop {
            let wait = self.limiter.try_acquire(class, self.now_ms());
            if wait <= 0 {
                return;
            }
            self.config.pause.pause(u64::try_from(wait).unwrap_or(0));
        }
    }

    /// Sends `call` with signing, rate limiting and retries; returns the raw body of a
    /// successful (retCode 0 or "not modified") reply.
    fn send(&self, call: &Call) -> Result<String, BybitError> {
        let mut attempt: u32 = 0;
        let mut resynced = false;
        loop {
            self.wait_for_slot(call.class);
            let started = std::time::Instant::now();
            let sent = self.send_once(call);
            self.stats.record(call.class, started.elapsed(), sent.is_ok());
            let error = match sent {
                Ok(body) => {
                    tracing::trace!(path = call.path, ms = started.elapsed().as_millis(), attempt, "rest ok");
                    return Ok(body);
                }
                Err(BybitError::Exchange(e)) => e,
                Err(other) => return Err(other),
            };
            tracing::debug!(path = call.path, ms = started.elapsed().as_millis(), attempt, error = %error, "rest request failed");
            let last_attempt = attempt + 1 >= self.config.retry.max_attempts;
            match error.action() {
                ErrorAction::ResyncClock if !resynced => {
                    resynced = true;
                    self.resync_clock()?;
                }
                ErrorAction::Retry if !last_attempt => {
                    let delay = {
                        let mut jitter = self.jitter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        self.config.retry.backoff_ms(attempt, &mut *jitter)
                    };
                    self.config.pause.pause(delay);
                    attempt += 1;
                }
                ErrorAction::BackOffUntil(until) if !last_attempt => {
                    self.limiter.close_until(call.class, until);
                    attempt += 1;
                }
                _ => return Err(error.into()),
            }
        }
    }

    fn send_once(&self, call: &Call) -> Result<String, BybitError> {
        let base = self.config.environment.rest_base();
        let url = if call.query.is_empty() {
            format!("{base}{}", call.path)
        } else {
            format!("{base}{}?{}", call.path, call.query)
        };
        let timestamp = self.now_ms() + self.clock_offset_ms();
        let recv_window = self.config.recv_window_ms;
        let auth = if call.signed {
            let credentials =
                self.config.credentials.as_ref().ok_or(BybitError::NoCredentials { endpoint: call.path })?;
            let payload = if call.method == Method::Get { &call.query } else { &call.body };
            Some((credentials.api_key().to_owned(), credentials.sign_rest(timestamp, recv_window, payload)))
        } else {
            None
        };
        let result = match call.method {
            Method::Get => with_auth(self.agent.get(&url), auth.as_ref(), timestamp, recv_window).call(),
            Method::Post => with_auth(self.agent.post(&url), auth.as_ref(), timestamp, recv_window)
                .header("Content-Type", "application/json")
                .send(call.body.as_str()),
        };
        let now = self.now_ms();
        let mut response = result.map_err(|e| {
            ExchangeError::RetryLater(ErrorDetail {
                endpoint: call.path.to_owned(),
                ret_code: None,
                http_status: None,
                message: format!("transport: {e}"),
            })
        })?;
        let reset_ms = header_i64(&response, "X-Bapi-Limit-Reset-Timestamp");
        if header_i64(&response, "X-Bapi-Limit-Status") == Some(0)
            && let Some(reset) = reset_ms
        {
            self.limiter.close_until(call.class, reset);
        }
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(|e| {
            ExchangeError::RetryLater(ErrorDetail {
                endpoint: call.path.to_owned(),
                ret_code: None,
                http_status: Some(status),
                message: format!("reading the body: {e}"),
            })
        })?;
        if status != 200 {
            return Err(classify_http_status(call.path, status, &body, reset_ms, now).into());
        }
        let reply: wire::RestReply<serde::de::IgnoredAny> = wire::decode_reply(call.path, &body)?;
        classify_ret_code(call.path, reply.ret_code, &reply.ret_msg, reset_ms, now)?;
        Ok(body)
    }

    /// Measures the exchange clock from `/v5/market/time` and stores the offset used to stamp
    /// signed requests.
    pub fn resync_clock(&self) -> Result<i64, BybitError> {
        let before = self.now_ms();
        let server = self.server_time_raw()?;
        let after = self.now_ms();
        let offset = server - (before + after) / 2;
        self.clock_offset_ms.store(offset, Ordering::Relaxed);
        Ok(offset)
    }
}
