//! The Bybit-v5 server on 127.0.0.1: REST (and, in `ws`, WebSocket) over axum on a tokio
//! runtime of its own thread, in front of the engine.
//!
//! Decisions:
//! - Two clocks. Authentication (`X-BAPI-TIMESTAMP`, `/v5/market/time`, WebSocket `expires`)
//!   uses the wall clock, because clients sign with theirs. Everything the exchange records
//!   (order and execution times, funding) uses the replay's time.
//! - Business errors are HTTP 200 with Bybit's envelope; unknown routes are 404; a malformed
//!   request (bad JSON, missing or mistyped parameter, unknown symbol) is 10001 with a message,
//!   and the server keeps serving.
//! - Rate limits per API key and endpoint, 1 s rolling windows (orders 10/s, queries 50/s),
//!   with `X-Bapi-Limit`, `X-Bapi-Limit-Status` and `X-Bapi-Limit-Reset-Timestamp` on every
//!   reply and 10006 beyond the limit.

mod activity;
mod auth;
mod faults;
mod idle;
mod json;
mod rest;
mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use gridbot_core::{Clock, Decimal, Symbol};
use serde_json::{Value, json};

use crate::engine::{AccountId, MatchingEngine, SimEvent};
use crate::replay::CandleReplay;

pub use auth::hmac_hex;
pub use faults::FaultConfig;

/// One account the server knows.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerAccount {
    /// API key.
    pub api_key: String,
    /// API secret.
    pub api_secret: String,
    /// Starting USDT balance.
    pub wallet: Decimal,
}

impl std::fmt::Debug for ServerAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerAccount")
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .field("wallet", &self.wallet)
            .finish()
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen (port 0: any free port).
    pub bind: SocketAddr,
    /// Accounts by API key.
    pub accounts: Vec<ServerAccount>,
    /// Order endpoints per second per key.
    pub orders_per_sec: u32,
    /// Query endpoints per second per key.
    pub queries_per_sec: u32,
    /// Fault injection (off by default).
    pub faults: FaultConfig,
    /// A connection silent this long (no byte received) is closed.
    pub idle_timeout: std::time::Duration,
}

impl ServerConfig {
    /// Loopback on any free port, Bybit's default limits.
    #[must_use]
    pub fn loopback(accounts: Vec<ServerAccount>) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            accounts,
            orders_per_sec: 10,
            queries_per_sec: 50,
            faults: FaultConfig::default(),
            idle_timeout: idle::IDLE,
        }
    }
}

/// Per (API key, endpoint): the times of the requests of the last second (Bybit counts in a
/// rolling one-second window, not in fixed windows).
type RateWindows = HashMap<(String, &'static str), std::collections::VecDeque<i64>>;

/// A change the WebSocket connections may need to push.
pub(crate) enum Update {
    /// The market of a symbol moved (books, tickers, klines).
    Market(Symbol),
    /// Public trades of a symbol (`publicTrade` data items).
    Trades(Symbol, Value),
    /// A private topic item for one account: (account, topic, data array).
    Private(AccountId, &'static str, Value),
}

/// What the server shares between requests.
pub(crate) struct Shared {
    market: Mutex<Market>,
    keys: HashMap<String, (String, AccountId)>,
    clock: Arc<dyn Clock>,
    limits: Mutex<RateWindows>,
    orders_per_sec: u32,
    queries_per_sec: u32,
    updates: tokio::sync::broadcast::Sender<Arc<Update>>,
    faults: faults::Faults,
    activity: activity::Activity,
}

pub(crate) struct Market {
    pub(crate) engine: MatchingEngine,
    pub(crate) replay: CandleReplay,
}

impl Shared {
    pub(crate) fn market(&self) -> MutexGuard<'_, Market> {
        self.market.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Turns the engine's pending events into WebSocket updates, then announces the market
    /// moves of `moved`.
    pub(crate) fn publish(&self, market: &mut Market, moved: &[Symbol]) {
        for u in self.updates(market, moved) {
            self.send(u);
        }
    }

    /// Sends one update to every WebSocket task (none connected is fine).
    fn send(&self, update: Update) {
        let _ = self.updates.send(Arc::new(update));
    }

    /// The engine's pending events as WebSocket updates (private ones first, in the engine's
    /// order), then the market moves of `moved`.
    fn updates(&self, market: &mut Market, moved: &[Symbol]) -> Vec<Update> {
        let events = market.engine.drain_events();
        let mut trades: Vec<(Symbol, Vec<Value>)> = Vec::new();
        let mut out: Vec<Update> = Vec::new();
        for event in events {
            match event {
                SimEvent::Order(a, o) => {
                    let mut v = json::order(&o);
                    v["category"] = json!("linear");
                    out.push(Update::Private(a, "order", json!([v])));
                }
                SimEvent::Execution(a, e) => {
                    let mut v = json::execution(&e);
                    v["category"] = json!("linear");
                    out.push(Update::Private(a, "execution", json!([v])));
                }
                SimEvent::Position(a, symbol, idx) => {
                    if let Ok(rows) = market.engine.positions(a, &symbol) {
                        for p in rows.iter().filter(|p| p.position_idx == idx) {
                            let mut v = json::position(p, true);
                            v["category"] = json!("linear");
                            out.push(Update::Private(a, "position", json!([v])));
                        }
                    }
                }
                SimEvent::Wallet(a) => {
                    if let Ok(w) = market.engine.wallet(a) {
                        out.push(Update::Private(a, "wallet", json!([json::wallet(&w)])));
                    }
                }
                SimEvent::Trade { symbol, price, qty, taker_side, time_ms } => {
                    let item = json!({"T": time_ms, "s": symbol.as_str(), "S": taker_side.as_str(), "v": qty.to_string(), "p": price.to_string(),
                        "L": "ZeroPlusTick", "i": format!("sim-trade-{time_ms}-{}", trades.len()), "BT": false, "seq": 0});
                    match trades.iter_mut().find(|(s, _)| *s == symbol) {
                        Some((_, items)) => items.push(item),
                        None => trades.push((symbol, vec![item])),
                    }
                }
            }
        }
        for (symbol, items) in trades {
            out.push(Update::Trades(symbol, Value::Array(items)));
        }
        out.extend(moved.iter().cloned().map(Update::Market));
        out
    }

    fn secret_of(&self, key: &str) -> Option<String> {
        self.keys.get(key).map(|(secret, _)| secret.clone())
    }

    fn account_of(&self, key: &str) -> Option<AccountId> {
        self.keys.get(key).map(|(_, id)| *id)
    }

    /// Counts a request in the rolling second before `now`; returns (limit, remaining, reset
    /// ms) or the 10006 error with the time the oldest counted request leaves the window.
    fn count(&self, key: &str, endpoint: &'static str, orders: bool, now: i64) -> Result<(u32, u32, i64), (u32, i64)> {
        let limit = if orders { self.orders_per_sec } else { self.queries_per_sec }.max(1);
        let mut limits = self.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        count_in_window(limits.entry((key.to_owned(), endpoint)).or_default(), limit, now)
    }
}

/// One request at `now` against `limit` per rolling second, `recent` holding the times of the
/// requests counted in the last second: (limit, remaining, reset) or (limit, reset) when over.
fn count_in_window(
    recent: &mut std::collections::VecDeque<i64>,
    limit: u32,
    now: i64,
) -> Result<(u32, u32, i64), (u32, i64)> {
    while recent.front().is_some_and(|&t| t <= now - 1_000) {
        recent.pop_front();
    }
    let used = u32::try_from(recent.len()).unwrap_or(u32::MAX);
    if used >= limit {
        let reset = recent.front().map_or(now, |&t| t + 1_000);
        return Err((limit, reset));
    }
    recent.push_back(now);
    Ok((limit, limit - used - 1, now))
}

#[cfg(test)]
mod window_tests {
    #[test]
    fn the_limit_counts_a_rolling_second_not_fixed_windows() {
        let mut recent = std::collections::VecDeque::new();
        // 10 at t=900..909 fill the limit; a fixed window starting at 0 would allow 10 more at
        // t=1000, a rolling one not before t=1900.
        for t in 900..910 {
            assert!(super::count_in_window(&mut recent, 10, t).is_ok());
        }
        assert_eq!(super::count_in_window(&mut recent, 10, 1_000), Err((10, 1_900)));
        assert_eq!(super::count_in_window(&mut recent, 10, 1_899), Err((10, 1_900)));
        assert_eq!(super::count_in_window(&mut recent, 10, 1_900), Ok((10, 0, 1_900)), "only t=900 left");
        assert_eq!(
            super::count_in_window(&mut recent, 10, 2_000),
            Ok((10, 8, 2_000)),
            "901..909 left; 1900, 2000 counted"
        );
    }
}

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    driver_stop: Arc<std::sync::atomic::AtomicBool>,
    driver: Option<std::thread::JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The engine id of an API key's account.
    #[must_use]
    pub fn account_id(&self, api_key: &str) -> Option<AccountId> {
        self.shared.account_of(api_key)
    }

    /// Replays the next time step of the market and pushes what changed; returns its time.
    pub fn step(&self) -> Option<i64> {
        step_market(&self.shared)
    }

    /// Steps the replay every `every` on a thread of its own until the replay ends or the
    /// server stops (paper trading at a chosen speed).
    pub fn drive(&mut self, every: std::time::Duration) -> std::io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let stop = Arc::clone(&self.driver_stop);
        let thread = std::thread::Builder::new().name("gridbot-sim-replay".into()).spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && step_market(&shared).is_some() {
                std::thread::sleep(every);
            }
        })?;
        self.driver = Some(thread);
        Ok(())
    }

    /// Lockstep paper trading: once a client has subscribed to a private stream (a bot is
    /// listening), a second has passed and the clients have been quiet for 100 ms (the bot has
    /// opened its accounts), moves the market one path point at a time, each only after every client has
    /// been quiet for `quiet` (no REST request in flight, no request and no WebSocket frame in
    /// or out) — so the bot hears each point and acts on it before the next, as in a backtest.
    /// Within a point the market's frames go out first and, after another quiet, the private
    /// ones (fills, orders, positions, wallet).
    /// Runs on a thread of its own until the replay ends or the server stops.
    pub fn drive_lockstep(&mut self, quiet: std::time::Duration) -> std::io::Result<()> {
        self.drive_lockstep_until(quiet, i64::MAX)
    }

    /// [`Self::drive_lockstep`], stopping once the market reaches `until_ms` (a run that ends
    /// at the same point every time).
    pub fn drive_lockstep_until(&mut self, quiet: std::time::Duration, until_ms: i64) -> std::io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let stop = Arc::clone(&self.driver_stop);
        let thread = std::thread::Builder::new().name("gridbot-sim-lockstep".into()).spawn(move || {
            let stopped = || stop.load(std::sync::atomic::Ordering::SeqCst);
            while !stopped() && shared.activity.private_subscribers() == 0 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            // A bot subscribes before it opens its accounts (journal, recovery, first orders):
            // give it a second, then a longer quiet than between points, before the first move.
            // (Not a long quiet alone: a client polling every half second would hold it off.)
            std::thread::sleep(LOCKSTEP_START);
            shared.activity.wait_quiet(quiet.max(LOCKSTEP_START_QUIET), &stopped);
            loop {
                shared.activity.wait_quiet(quiet, &stopped);
                if stopped() || shared.market().engine.now_ms() >= until_ms {
                    break;
                }
                // The market first, then what it filled, each heard and acted on before the
                // next: the bot decides on a fill knowing the price that caused it, in one order
                // every run (two sockets would otherwise race) — the backtest's order.
                let Some(private) = step_market_point_public_first(&shared) else { break };
                // The quiet window counts from the move: its frames are still on their way.
                shared.activity.touch();
                if !private.is_empty() {
                    shared.activity.wait_quiet(quiet, &stopped);
                    for u in private {
                        shared.send(u);
                    }
                    shared.activity.touch();
                }
            }
        })?;
        self.driver = Some(thread);
        Ok(())
    }

    /// The market's time (the replay's), UTC ms.
    #[must_use]
    pub fn market_time_ms(&self) -> i64 {
        self.shared.market().engine.now_ms()
    }

    /// True once a replay driver has stopped on its own (the replay or a lockstep's end
    /// reached); false while it runs or when none was started.
    #[must_use]
    pub fn driver_finished(&self) -> bool {
        self.driver.as_ref().is_some_and(std::thread::JoinHandle::is_finished)
    }

    /// Candles not yet replayed.
    #[must_use]
    pub fn replay_remaining(&self) -> usize {
        self.shared.market().replay.remaining()
    }

    /// Stops the replay driver; the server keeps serving and `step` still works.
    pub fn stop_driving(&mut self) {
        self.driver_stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
        self.driver_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    }

    /// Saves the whole simulator to `path` (atomically).
    pub fn save(&self, path: &std::path::Path) -> Result<(), crate::state::StateError> {
        let m = self.shared.market();
        crate::state::save(path, &m.engine, &m.replay)
    }

    /// Switches fault injection on or off (its configuration stays): a test can run some rounds
    /// with faults and others without.
    pub fn set_faults_on(&self, on: bool) {
        self.shared.faults.set_on(on);
    }

    /// Faults injected so far.
    #[must_use]
    pub fn faults_injected(&self) -> u64 {
        self.shared.faults.injected()
    }

    /// Runs `f` with the engine (inspection in tests).
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut MatchingEngine) -> R) -> R {
        f(&mut self.shared.market().engine)
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        self.driver_stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding or the runtime failed.
    #[error("simulator server: {0}")]
    Io(#[from] std::io::Error),
    /// Two accounts share an API key.
    #[error("simulator server: API key {0} is configured twice")]
    DuplicateKey(String),
    /// A fault rate is not a share.
    #[error("simulator server: {0}")]
    Faults(#[from] faults::InvalidFault),
}

/// Starts the server on its own thread with a tokio runtime; returns once it listens.
pub fn start(
    config: ServerConfig,
    mut engine: MatchingEngine,
    replay: CandleReplay,
    clock: Arc<dyn Clock>,
) -> Result<ServerHandle, ServerError> {
    let mut keys = HashMap::new();
    config.faults.validate()?;
    // A restored engine already holds the accounts, in configuration order.
    for (i, a) in config.accounts.iter().enumerate() {
        if keys.contains_key(&a.api_key) {
            return Err(ServerError::DuplicateKey(a.api_key.clone()));
        }
        let id = if i < engine.account_count() { i } else { engine.add_account(a.wallet) };
        keys.insert(a.api_key.clone(), (a.api_secret.clone(), id));
    }
    let shared = Arc::new(Shared {
        market: Mutex::new(Market { engine, replay }),
        keys,
        clock,
        limits: Mutex::new(HashMap::new()),
        orders_per_sec: config.orders_per_sec,
        queries_per_sec: config.queries_per_sec,
        updates: tokio::sync::broadcast::channel(4096).0,
        faults: faults::Faults::new(config.faults.clone()),
        activity: activity::Activity::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(config.bind))?;
    let addr = listener.local_addr()?;
    let listener = idle::IdleListener { inner: listener, idle: config.idle_timeout };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = rest::router(Arc::clone(&shared));
    let thread = std::thread::Builder::new().name("gridbot-sim-server".into()).spawn(move || {
        runtime.block_on(async move {
            let _ = axum::serve(listener, app.into_make_service())
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
    })?;
    Ok(ServerHandle {
        addr,
        shared,
        driver_stop: Arc::default(),
        driver: None,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// One path point of every symbol (see `CandleReplay::step_point`), then its updates.
/// How long a lockstep replay lets a bot that just subscribed open its accounts.
const LOCKSTEP_START: std::time::Duration = std::time::Duration::from_secs(1);
/// The quiet before a lockstep replay's first point, after [`LOCKSTEP_START`].
const LOCKSTEP_START_QUIET: std::time::Duration = std::time::Duration::from_millis(100);

/// Steps one path point and sends its public updates (trades, books, tickers); returns its
/// private updates (orders, executions, positions, wallets) for the caller to send.
fn step_market_point_public_first(shared: &Shared) -> Option<Vec<Update>> {
    let mut m = shared.market();
    let Market { engine, replay } = &mut *m;
    replay.step_point(engine)?;
    let symbols: Vec<Symbol> = engine.instruments().map(|i| i.symbol().clone()).collect();
    let (private, public): (Vec<Update>, Vec<Update>) =
        shared.updates(&mut m, &symbols).into_iter().partition(|u| matches!(u, Update::Private(..)));
    for u in public {
        shared.send(u);
    }
    Some(private)
}

fn step_market(shared: &Shared) -> Option<i64> {
    let mut m = shared.market();
    let Market { engine, replay } = &mut *m;
    let t = replay.step(engine)?;
    let symbols: Vec<Symbol> = engine.instruments().map(|i| i.symbol().clone()).collect();
    shared.publish(&mut m, &symbols);
    Some(t)
}

/// Items of a list, newest first, in Bybit's cursor pages (`limit` per page): the cursor
/// is the offset as text, so it is made of `[0-9]` only (no encoding ambiguity).
pub(crate) fn page<T: Clone>(items: &[T], cursor: Option<&str>, limit: usize) -> (Vec<T>, String) {
    let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0).min(items.len());
    let end = (start + limit.max(1)).min(items.len());
    let next = if end < items.len() { end.to_string() } else { String::new() };
    (items[start..end].to_vec(), next)
}
