//! Blocking WebSocket connections on their own threads (ARCHITECTURE §6: readers only parse and
//! hand over; they never touch strategy state).
//!
//! A connection thread: connects, authenticates (private stream), subscribes, then reads with a
//! short timeout so it can send the JSON ping every 20 s and notice a stop request. Control
//! pings are answered by tungstenite (queued on read, flushed on the next write or flush).
//! Any read error, a close frame, or silence for longer than three ping intervals drops the
//! connection; it reconnects with capped exponential backoff, authenticates and resubscribes,
//! and reports `Reconnected` so the engine reconciles over REST (events may have been missed).
//! Malformed or unknown frames are reported as `Skipped` and the stream goes on.
//!
//! The public side is a hub: one connection per environment and symbol set, serving every
//! subscriber of a topic (accounts trading the same symbol share it). It keeps each order book
//! and ticker, resubscribes a book topic after a gap to get a fresh snapshot, and fans out
//! ready-to-use events.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gridbot_core::{BookLevel, Candle, Clock, Execution, Order, Position, PublicTrade, Ticker, Wallet};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

use super::book::{BookUpdate, OrderBook};
use super::frames::{Frame, TickerFields, UpdateKind, parse_message};
use crate::credentials::Credentials;
use crate::wire::DecodeError;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// `ws://` or `wss://` URL of the stream.
    pub url: String,
    /// JSON ping interval (Bybit recommends 20 s).
    pub ping_interval: Duration,
    /// How long one blocking read waits before the loop checks pings and stop requests.
    pub read_timeout: Duration,
    /// First reconnect delay.
    pub reconnect_min: Duration,
    /// Reconnect delay cap.
    pub reconnect_max: Duration,
}

impl StreamConfig {
    /// Bybit's recommended timings for `url`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ping_interval: Duration::from_secs(20),
            read_timeout: Duration::from_millis(250),
            reconnect_min: Duration::from_millis(250),
            reconnect_max: Duration::from_secs(30),
        }
    }
}

/// Connection-level happenings, shared by both streams.
#[derive(Debug, Clone, PartialEq)]
pub enum Lifecycle {
    /// The first connection is up and subscribed.
    Connected,
    /// A later connection is up and resubscribed: reconcile over REST.
    Reconnected,
    /// The connection dropped (it will reconnect).
    Disconnected(String),
    /// A frame could not be decoded and was skipped.
    Skipped(DecodeError),
    /// The server refused `auth` or `subscribe`.
    Refused {
        /// The op.
        op: String,
        /// The server's reason.
        reason: String,
    },
}

impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connected => f.write_str("connected"),
            Self::Reconnected => f.write_str("reconnected and resubscribed"),
            Self::Disconnected(why) => write!(f, "disconnected ({why}); reconnecting"),
            Self::Skipped(e) => write!(f, "skipped an undecodable frame: {e}"),
            Self::Refused { op, reason } => write!(f, "the server refused {op}: {reason}"),
        }
    }
}

/// Stops a stream thread.
#[derive(Debug)]
pub struct StreamHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StreamHandle {
    /// Asks the thread to stop and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn set_read_timeout(socket: &Socket, timeout: Duration) {
    let result = match socket.get_ref() {
        MaybeTlsStream::Plain(s) => s.set_read_timeout(Some(timeout)),
        MaybeTlsStream::Rustls(s) => s.get_ref().set_read_timeout(Some(timeout)),
        _ => Ok(()),
    };
    drop(result);
}

fn send_text(socket: &mut Socket, text: String) -> Result<(), tungstenite::Error> {
    socket.send(WsMessage::text(text))
}

fn subscribe_frames(op: &str, topics: &[String], req_id: &str) -> Vec<String> {
    topics
        .chunks(10)
        .map(|chunk| serde_json::json!({ "op": op, "args": chunk, "req_id": req_id }).to_string())
        .collect()
}

/// What a connection does with each decoded message; returns topics to resubscribe.
trait Handler: Send + 'static {
    fn on_message(&mut self, read_at: Instant, topic: Option<String>, frame: Frame) -> Vec<String>;
    fn on_lifecycle(&mut self, event: Lifecycle);
}

struct Connection<H: Handler> {
    config: StreamConfig,
    topics: Vec<String>,
    credentials: Option<Credentials>,
    clock: Arc<dyn Clock>,
    handler: H,
    stop: Arc<AtomicBool>,
}

impl<H: Handler> Connection<H> {
    fn run(mut self) {
        let mut attempt: u32 = 0;
        let mut connected_before = false;
        while !self.stop.load(Ordering::SeqCst) {
            match tungstenite::connect(self.config.url.as_str()) {
                Ok((mut socket, _)) => {
                    set_read_timeout(&socket, self.config.read_timeout);
                    match self.open(&mut socket) {
                        Ok(()) => {
                            self.handler.on_lifecycle(if connected_before {
                                Lifecycle::Reconnected
                            } else {
                                Lifecycle::Connected
                            });
                            connected_before = true;
                            attempt = 0;
                            let reason = self.read_loop(&mut socket);
                            let _ = socket.close(None);
                            if self.stop.load(Ordering::SeqCst) {
                                return;
                            }
                            self.handler.on_lifecycle(Lifecycle::Disconnected(reason));
                        }
                        Err(e) => self.handler.on_lifecycle(Lifecycle::Disconnected(format!("while subscribing: {e}"))),
                    }
                }
                Err(e) => self.handler.on_lifecycle(Lifecycle::Disconnected(format!("connect: {e}"))),
            }
            let delay =
                self.config.reconnect_min.saturating_mul(1u32 << attempt.min(16)).min(self.config.reconnect_max);
            attempt = attempt.saturating_add(1);
            self.sleep_unless_stopped(delay);
        }
    }

    fn sleep_unless_stopped(&self, total: Duration) {
        let start = Instant::now();
        while start.elapsed() < total && !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20).min(total));
        }
    }

    fn open(&self, socket: &mut Socket) -> Result<(), tungstenite::Error> {
        if let Some(credentials) = &self.credentials {
            let expires = self.clock.now_ms() + 10_000;
            let auth = serde_json::json!({
                "op": "auth",
                "args": [credentials.api_key(), expires, credentials.sign_ws_auth(expires)],
                "req_id": "auth",
            });
            send_text(socket, auth.to_string())?;
        }
        for frame in subscribe_frames("subscribe", &self.topics, "subscribe") {
            send_text(socket, frame)?;
        }
        Ok(())
    }

    fn read_loop(&mut self, socket: &mut Socket) -> String {
        let mut last_ping = Instant::now();
        let mut last_data = Instant::now();
        let mut ping_id: u64 = 0;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return "stopped".to_owned();
            }
            if last_ping.elapsed() >= self.config.ping_interval {
                ping_id += 1;
                if let Err(e) =
                    send_text(socket, serde_json::json!({"op": "ping", "req_id": ping_id.to_string()}).to_string())
                {
                    return format!("ping: {e}");
                }
                last_ping = Instant::now();
            }
            if last_data.elapsed() >= self.config.ping_interval.saturating_mul(3) {
                return "no data or pong for three ping intervals".to_owned();
            }
            match socket.read() {
                Ok(WsMessage::Text(text)) => {
                    let read_at = Instant::now();
                    last_data = read_at;
                    match parse_message(text.as_str()) {
                        Ok(m) => {
                            if let Frame::OpReply { op, success: false, ret_msg, .. } = &m.frame {
                                self.handler
                                    .on_lifecycle(Lifecycle::Refused { op: op.clone(), reason: ret_msg.clone() });
                            }
                            let resubscribe = self.handler.on_message(read_at, m.topic, m.frame);
                            if !resubscribe.is_empty() {
                                let frames = subscribe_frames("unsubscribe", &resubscribe, "resync")
                                    .into_iter()
                                    .chain(subscribe_frames("subscribe", &resubscribe, "resync"));
                                for frame in frames {
                                    if let Err(e) = send_text(socket, frame) {
                                        return format!("resubscribe: {e}");
                                    }
                                }
                            }
                        }
                        Err(e) => self.handler.on_lifecycle(Lifecycle::Skipped(e)),
                    }
                }
                Ok(WsMessage::Close(_)) => return "closed by the server".to_owned(),
                Ok(_) => {
                    // Ping/pong/binary: tungstenite queued any pong; push it out now.
                    last_data = Instant::now();
                    if let Err(e) = socket.flush() {
                        return format!("flush: {e}");
                    }
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    if let Err(e) = socket.flush()
                        && !matches!(&e, tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock)
                    {
                        return format!("flush: {e}");
                    }
                }
                Err(e) => return e.to_string(),
            }
        }
    }
}

fn spawn<H: Handler>(
    config: StreamConfig,
    topics: Vec<String>,
    credentials: Option<Credentials>,
    clock: Arc<dyn Clock>,
    handler: H,
    name: &str,
) -> std::io::Result<StreamHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let connection = Connection { config, topics, credentials, clock, handler, stop: stop.clone() };
    let thread = std::thread::Builder::new().name(name.to_owned()).spawn(move || connection.run())?;
    Ok(StreamHandle { stop, thread: Some(thread) })
}

// ---- public hub -------------------------------------------------------------------------------

/// What subscribers of the public stream receive.
#[derive(Debug, Clone, PartialEq)]
pub enum PublicEvent {
    /// Best bid and ask after an order-book update (`None`: that side is empty).
    BookTop {
        /// Symbol.
        symbol: String,
        /// Best bid.
        bid: Option<BookLevel>,
        /// Best ask.
        ask: Option<BookLevel>,
        /// Exchange time, ms.
        ts: i64,
    },
    /// The book had a gap or restarted and was reset; a fresh snapshot has been requested.
    BookReset {
        /// Symbol.
        symbol: String,
    },
    /// Trades.
    Trades(Vec<PublicTrade>),
    /// The merged ticker.
    Ticker(Ticker),
    /// A kline update; `confirmed` when the candle is closed.
    Kline {
        /// The topic (`kline.{interval}.{symbol}`).
        topic: String,
        /// The candle.
        candle: Candle,
        /// Closed.
        confirmed: bool,
    },
    /// Connection news.
    Lifecycle(Lifecycle),
}

/// Where the public hub delivers the events of a subscription: a channel, or a consumer's own
/// queue (the engine fans market data straight into its accounts' queues, saving a thread and a
/// hop).
pub trait PublicSink: Send + Sync + 'static {
    /// Hands over `event`, carried by a frame read at `read_at` (lifecycle news: when it
    /// happened). Returns `false` once the subscriber is gone, which unsubscribes it.
    fn deliver(&self, read_at: Instant, event: &PublicEvent) -> bool;
}

impl PublicSink for Mutex<Sender<PublicEvent>> {
    fn deliver(&self, _read_at: Instant, event: &PublicEvent) -> bool {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner).send(event.clone()).is_ok()
    }
}

#[derive(Default)]
struct Routes {
    by_topic: HashMap<String, Vec<Arc<dyn PublicSink>>>,
}

struct PublicHandler {
    routes: Arc<Mutex<Routes>>,
    books: HashMap<String, OrderBook>,
    tickers: HashMap<String, TickerFields>,
}

impl PublicHandler {
    fn send(&self, read_at: Instant, topic: &str, event: &PublicEvent) {
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(subscribers) = routes.by_topic.get_mut(topic) {
            subscribers.retain(|s| s.deliver(read_at, event));
        }
    }

    /// Lifecycle news reaches every subscriber once, however many topics it holds.
    fn broadcast(&self, event: &PublicEvent) {
        let now = Instant::now();
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut told: Vec<*const ()> = Vec::new();
        for subscribers in routes.by_topic.values_mut() {
            subscribers.retain(|s| {
                let id = Arc::as_ptr(s).cast::<()>();
                if told.contains(&id) {
                    return true;
                }
                told.push(id);
                s.deliver(now, event)
            });
        }
    }
}

impl Handler for PublicHandler {
    fn on_message(&mut self, read_at: Instant, topic: Option<String>, frame: Frame) -> Vec<String> {
        let Some(topic) = topic else { return Vec::new() };
        match frame {
            Frame::Book(b) => {
                let book = self.books.entry(topic.clone()).or_default();
                match book.apply(&b) {
                    BookUpdate::Applied | BookUpdate::Reset => {
                        let event = PublicEvent::BookTop {
                            symbol: b.symbol,
                            bid: book.best_bid(),
                            ask: book.best_ask(),
                            ts: b.ts,
                        };
                        self.send(read_at, &topic, &event);
                    }
                    BookUpdate::Gap { .. } | BookUpdate::Malformed => {
                        self.send(read_at, &topic, &PublicEvent::BookReset { symbol: b.symbol });
                        return vec![topic];
                    }
                    BookUpdate::Ignored => {}
                }
            }
            Frame::Trades(t) => self.send(read_at, &topic, &PublicEvent::Trades(t)),
            Frame::Ticker(t) => {
                let state = self.tickers.entry(topic.clone()).or_default();
                match t.kind {
                    UpdateKind::Snapshot => *state = t.fields,
                    UpdateKind::Delta => state.merge(t.fields),
                }
                match crate::Fields::new(&topic).ticker(&state.to_wire(), t.ts) {
                    Ok(ticker) => self.send(read_at, &topic, &PublicEvent::Ticker(ticker)),
                    Err(e) => self.broadcast(&PublicEvent::Lifecycle(Lifecycle::Skipped(e))),
                }
            }
            Frame::Klines(k) => {
                for (candle, confirmed) in k {
                    self.send(read_at, &topic, &PublicEvent::Kline { topic: topic.clone(), candle, confirmed });
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_lifecycle(&mut self, event: Lifecycle) {
        if matches!(event, Lifecycle::Reconnected | Lifecycle::Disconnected(_)) {
            // Books and tickers restart from the snapshots the resubscription brings.
            self.books.clear();
            self.tickers.clear();
        }
        self.broadcast(&PublicEvent::Lifecycle(event));
    }
}

/// One public linear connection shared by every subscriber of its topics.
pub struct PublicHub {
    config: StreamConfig,
    routes: Arc<Mutex<Routes>>,
}

impl PublicHub {
    /// A hub for the stream at `config.url`; add subscribers, then `start`.
    #[must_use]
    pub fn new(config: StreamConfig) -> Self {
        Self { config, routes: Arc::default() }
    }

    /// A receiver of every event of `topics` (e.g. `orderbook.50.BTCUSDT`, `tickers.BTCUSDT`),
    /// plus connection news.
    pub fn subscribe(&mut self, topics: &[&str]) -> Receiver<PublicEvent> {
        let (tx, rx) = channel();
        self.subscribe_with(topics, Arc::new(Mutex::new(tx)));
        rx
    }

    /// Delivers every event of `topics`, plus connection news (once per sink), to `sink`.
    pub fn subscribe_with(&mut self, topics: &[&str], sink: Arc<dyn PublicSink>) {
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for topic in topics {
            routes.by_topic.entry((*topic).to_owned()).or_default().push(Arc::clone(&sink));
        }
    }

    /// Connects on a new thread.
    pub fn start(self, clock: Arc<dyn Clock>) -> std::io::Result<StreamHandle> {
        let topics: Vec<String> = {
            let routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut t: Vec<String> = routes.by_topic.keys().cloned().collect();
            t.sort();
            t
        };
        let handler = PublicHandler { routes: self.routes, books: HashMap::new(), tickers: HashMap::new() };
        spawn(self.config, topics, None, clock, handler, "bybit-public-ws")
    }
}

// ---- private stream ---------------------------------------------------------------------------

/// What the private stream delivers to its account.
#[derive(Debug, Clone, PartialEq)]
pub enum PrivateEvent {
    /// Order updates.
    Orders(Vec<Order>),
    /// Fills and funding.
    Executions(Vec<Execution>),
    /// Position updates.
    Positions(Vec<Position>),
    /// Wallet updates.
    Wallets(Vec<Wallet>),
    /// `auth` succeeded.
    Authenticated,
    /// Connection news.
    Lifecycle(Lifecycle),
}

/// Where a private stream delivers its events: a channel, or the engine's queue directly.
pub trait PrivateSink: Send + 'static {
    /// Hands over `event`, carried by a frame read at `read_at` (lifecycle news: when it
    /// happened).
    fn deliver(&mut self, read_at: Instant, event: PrivateEvent);
}

impl PrivateSink for Sender<PrivateEvent> {
    fn deliver(&mut self, _read_at: Instant, event: PrivateEvent) {
        let _ = self.send(event);
    }
}

struct PrivateHandler<S: PrivateSink> {
    sink: S,
}

impl<S: PrivateSink> Handler for PrivateHandler<S> {
    fn on_message(&mut self, read_at: Instant, _topic: Option<String>, frame: Frame) -> Vec<String> {
        let event = match frame {
            Frame::Orders(o) => PrivateEvent::Orders(o),
            Frame::Executions(e) => PrivateEvent::Executions(e),
            Frame::Positions(p) => PrivateEvent::Positions(p),
            Frame::Wallets(w) => PrivateEvent::Wallets(w),
            Frame::OpReply { op, success: true, .. } if op == "auth" => PrivateEvent::Authenticated,
            _ => return Vec::new(),
        };
        self.sink.deliver(read_at, event);
        Vec::new()
    }

    fn on_lifecycle(&mut self, event: Lifecycle) {
        self.sink.deliver(Instant::now(), PrivateEvent::Lifecycle(event));
    }
}

/// Starts the private stream of one account: auth, then `order`, `execution`, `position`,
/// `wallet`.
pub fn start_private(
    config: StreamConfig,
    credentials: Credentials,
    clock: Arc<dyn Clock>,
) -> std::io::Result<(StreamHandle, Receiver<PrivateEvent>)> {
    let (tx, rx) = channel();
    let handle = start_private_with(config, credentials, clock, tx)?;
    Ok((handle, rx))
}

/// [`start_private`], delivering to `sink` instead of a channel.
pub fn start_private_with<S: PrivateSink>(
    config: StreamConfig,
    credentials: Credentials,
    clock: Arc<dyn Clock>,
    sink: S,
) -> std::io::Result<StreamHandle> {
    let topics = ["order", "execution", "position", "wallet"].map(str::to_owned).to_vec();
    spawn(config, topics, Some(credentials), clock, PrivateHandler { sink }, "bybit-private-ws")
}
