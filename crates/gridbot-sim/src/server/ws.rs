//! WebSocket streams (`docs/BYBIT.md` §4): `/v5/public/linear` and `/v5/private`.
//!
//! Decisions:
//! - Each connection keeps its own view of every subscribed topic and sends a snapshot first,
//!   then deltas against what *it* was sent: book levels disappear (`size "0"`) only if this
//!   connection was sent them (pybit crashes otherwise), and `u` steps by one per push per book.
//! - Subscribe replies wait a few milliseconds: pybit registers a subscription only after its
//!   frame is sent, so an instant reply would race it.
//! - Frames are processed in order per connection (pybit sends `auth` and `subscribe` without
//!   waiting), `req_id` of any JSON type is echoed, and both JSON pings and control pings are
//!   answered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use gridbot_core::{Interval, Price, Qty, Symbol};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::auth::hmac_hex;
use super::{Shared, Update};
use crate::engine::AccountId;

type SharedServer = Arc<Shared>;

const SUBSCRIBE_REPLY_DELAY: Duration = Duration::from_millis(5);

fn conn_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("sim-conn-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What one connection last sent on a topic.
enum TopicState {
    Book { symbol: Symbol, depth: usize, u: i64, bids: BTreeMap<Price, Qty>, asks: BTreeMap<Price, Qty>, sent: bool },
    Ticker { symbol: Symbol, last: BTreeMap<&'static str, String> },
    Trades { symbol: Symbol },
    Kline { symbol: Symbol, interval: Interval },
}

fn parse_topic(topic: &str) -> Option<TopicState> {
    let parts: Vec<&str> = topic.split('.').collect();
    let sym = |s: &str| Symbol::new(s).ok();
    match parts.as_slice() {
        ["orderbook", depth, s] => {
            let depth: usize = depth.parse().ok().filter(|d| [1, 50, 200, 1000].contains(d))?;
            Some(TopicState::Book {
                symbol: sym(s)?,
                depth,
                u: 0,
                bids: BTreeMap::new(),
                asks: BTreeMap::new(),
                sent: false,
            })
        }
        ["tickers", s] => Some(TopicState::Ticker { symbol: sym(s)?, last: BTreeMap::new() }),
        ["publicTrade", s] => Some(TopicState::Trades { symbol: sym(s)? }),
        ["kline", i, s] => Some(TopicState::Kline { symbol: sym(s)?, interval: i.parse().ok()? }),
        _ => None,
    }
}

fn levels_json(levels: &[(Price, Qty)]) -> Vec<Value> {
    levels.iter().map(|(p, q)| json!([p.to_string(), q.to_string()])).collect()
}

/// The frames a topic needs now (none if nothing changed).
/// Market-data frames carry the market's (replay) time, like every REST reply and execution.
fn topic_frames(ctx: &SharedServer, topic: &str, state: &mut TopicState) -> Vec<String> {
    let m = ctx.market();
    let now = m.engine.now_ms();
    match state {
        TopicState::Book { symbol, depth, u, bids, asks, sent } => {
            let (new_bids, new_asks) = m.engine.book_levels(symbol, *depth);
            if new_bids.is_empty() && new_asks.is_empty() {
                return Vec::new();
            }
            let new_b: BTreeMap<Price, Qty> = new_bids.iter().copied().collect();
            let new_a: BTreeMap<Price, Qty> = new_asks.iter().copied().collect();
            let snapshot = !*sent || *depth == 1;
            let (b, a) = if snapshot {
                (levels_json(&new_bids), levels_json(&new_asks))
            } else {
                let diff = |old: &BTreeMap<Price, Qty>, new: &BTreeMap<Price, Qty>| {
                    let mut out: Vec<Value> =
                        old.keys().filter(|p| !new.contains_key(p)).map(|p| json!([p.to_string(), "0"])).collect();
                    out.extend(
                        new.iter()
                            .filter(|(p, q)| old.get(p) != Some(q))
                            .map(|(p, q)| json!([p.to_string(), q.to_string()])),
                    );
                    out
                };
                (diff(bids, &new_b), diff(asks, &new_a))
            };
            if !snapshot && b.is_empty() && a.is_empty() {
                return Vec::new();
            }
            *u += 1;
            *sent = true;
            *bids = new_b;
            *asks = new_a;
            let kind = if snapshot { "snapshot" } else { "delta" };
            let seq = m.engine.book_update_id(symbol);
            vec![json!({"topic": topic, "type": kind, "ts": now, "data": {"s": symbol.as_str(), "b": b, "a": a, "u": *u, "seq": seq}, "cts": now}).to_string()]
        }
        TopicState::Ticker { symbol, last } => {
            let Some(price) = m.engine.mark(symbol) else { return Vec::new() };
            let (bid, ask) = m.engine.best_bid_ask(symbol).unwrap_or((price, price));
            let level = m.engine.config().level_qty.to_string();
            let fields: BTreeMap<&'static str, String> = [
                ("lastPrice", price.to_string()),
                ("markPrice", price.to_string()),
                ("indexPrice", price.to_string()),
                ("bid1Price", bid.to_string()),
                ("bid1Size", level.clone()),
                ("ask1Price", ask.to_string()),
                ("ask1Size", level),
                ("fundingRate", m.engine.config().funding_rate_at(symbol, m.engine.now_ms()).to_string()),
            ]
            .into_iter()
            .collect();
            let snapshot = last.is_empty();
            let changed: serde_json::Map<String, Value> = fields
                .iter()
                .filter(|(k, v)| snapshot || last.get(*k) != Some(*v))
                .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
                .collect();
            if changed.is_empty() {
                return Vec::new();
            }
            *last = fields;
            let mut data = changed;
            data.insert("symbol".into(), Value::String(symbol.as_str().to_owned()));
            let kind = if snapshot { "snapshot" } else { "delta" };
            vec![json!({"topic": topic, "type": kind, "data": data, "cs": now, "ts": now}).to_string()]
        }
        TopicState::Trades { .. } => Vec::new(),
        TopicState::Kline { symbol, interval } => {
            let Ok(candles) = gridbot_data::resample(m.replay.replayed(symbol), *interval) else { return Vec::new() };
            let Some(c) = candles.last() else { return Vec::new() };
            let len = interval.fixed_ms().unwrap_or(m.replay.interval_ms());
            let end = c.open_time_ms + len - 1;
            let confirm = m.engine.now_ms() >= end;
            vec![json!({"topic": topic, "type": "snapshot", "ts": now, "data": [{"start": c.open_time_ms, "end": end, "interval": interval.as_bybit(),
                "open": c.open.to_string(), "close": c.close.to_string(), "high": c.high.to_string(), "low": c.low.to_string(),
                "volume": c.volume.to_string(), "turnover": (c.close.as_decimal() * c.volume.as_decimal()).round_dp(4).to_string(),
                "confirm": confirm, "timestamp": now}]})
            .to_string()]
        }
    }
}

fn req_id(v: &Value) -> Value {
    v.get("req_id").cloned().unwrap_or(Value::String(String::new()))
}

/// Answers one client frame on the public stream.
async fn public_frame(
    ctx: &SharedServer,
    id: &str,
    topics: &mut BTreeMap<String, TopicState>,
    text: &str,
) -> Vec<String> {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return vec![
            json!({"success": false, "ret_msg": "invalid request: not JSON", "conn_id": id, "op": ""}).to_string(),
        ];
    };
    let op = frame.get("op").and_then(Value::as_str).unwrap_or_default().to_owned();
    let raw_args = frame.get("args").and_then(Value::as_array);
    let args: Vec<String> =
        raw_args.map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default();
    let well_formed = raw_args.is_some_and(|a| !a.is_empty() && a.len() == args.len());
    if matches!(op.as_str(), "subscribe" | "unsubscribe") && !well_formed {
        return vec![json!({"success": false, "ret_msg": format!("invalid request: {op} needs \"args\": a non-empty list of topic strings"),
            "conn_id": id, "req_id": req_id(&frame), "op": op}).to_string()];
    }
    match op.as_str() {
        "ping" => vec![json!({"success": true, "ret_msg": "pong", "conn_id": id, "req_id": req_id(&frame), "op": "ping"}).to_string()],
        "subscribe" => {
            tokio::time::sleep(SUBSCRIBE_REPLY_DELAY).await;
            if let Some(bad) = args.iter().find(|t| parse_topic(t).is_none()) {
                return vec![json!({"success": false, "ret_msg": format!("error:handler not found,topic:{bad}"), "conn_id": id, "req_id": req_id(&frame), "op": "subscribe"}).to_string()];
            }
            let mut out = vec![json!({"success": true, "ret_msg": "", "conn_id": id, "req_id": req_id(&frame), "op": "subscribe"}).to_string()];
            for t in args {
                if let Some(mut state) = parse_topic(&t) {
                    out.extend(topic_frames(ctx, &t, &mut state));
                    topics.insert(t, state);
                }
            }
            out
        }
        "unsubscribe" => {
            for t in &args {
                topics.remove(t);
            }
            vec![json!({"success": true, "ret_msg": "", "conn_id": id, "req_id": req_id(&frame), "op": "unsubscribe"}).to_string()]
        }
        _ => vec![json!({"success": false, "ret_msg": format!("invalid op {op:?}"), "conn_id": id, "req_id": req_id(&frame), "op": op}).to_string()],
    }
}

/// `/v5/public/linear`.
pub(super) async fn public(State(ctx): State<SharedServer>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| run_public(ctx, socket))
}

/// Resolves when an injected connection drop is due (never, when drops are off).
async fn drop_due(lifetime: Option<Duration>) {
    match lifetime {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

async fn run_public(ctx: SharedServer, mut socket: WebSocket) {
    let id = conn_id();
    let mut rx = ctx.updates.subscribe();
    let mut topics: BTreeMap<String, TopicState> = BTreeMap::new();
    let drop_at = drop_due(ctx.faults.ws_lifetime());
    tokio::pin!(drop_at);
    loop {
        let outgoing: Vec<String> = tokio::select! {
            () = &mut drop_at => return,
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return };
                let text = match inbound(&mut socket, &id, msg).await {
                    Inbound::Text(text) => text,
                    Inbound::Skip => continue,
                    Inbound::Close => return,
                };
                ctx.activity.touch();
                public_frame(&ctx, &id, &mut topics, text.as_str()).await
            }
            update = rx.recv() => {
                match update {
                    Ok(u) => match &*u {
                        Update::Market(symbol) => topics.iter_mut().filter(|(_, s)| topic_symbol(s) == symbol).flat_map(|(t, s)| topic_frames(&ctx, t, s)).collect(),
                        Update::Trades(symbol, trades) => {
                            let topic = format!("publicTrade.{}", symbol.as_str());
                            if topics.contains_key(&topic) {
                                let ts = ctx.market().engine.now_ms();
                                vec![json!({"topic": topic, "type": "snapshot", "ts": ts, "data": trades}).to_string()]
                            } else {
                                Vec::new()
                            }
                        }
                        Update::Private(..) => Vec::new(),
                    },
                    Err(RecvError::Lagged(_)) => {
                        // Missed updates: start every book over from a snapshot.
                        for state in topics.values_mut() {
                            if let TopicState::Book { sent, .. } = state {
                                *sent = false;
                            }
                        }
                        Vec::new()
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        };
        for text in outgoing {
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            ctx.activity.touch();
        }
    }
}

fn topic_symbol(state: &TopicState) -> &Symbol {
    match state {
        TopicState::Book { symbol, .. }
        | TopicState::Ticker { symbol, .. }
        | TopicState::Trades { symbol }
        | TopicState::Kline { symbol, .. } => symbol,
    }
}

/// A private stream with subscriptions, counted while it lives (the lockstep replay starts
/// once a bot listens).
struct Subscriber(SharedServer);

impl Subscriber {
    fn new(ctx: &SharedServer) -> Self {
        ctx.activity.private_subscriber(true);
        Self(Arc::clone(ctx))
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.0.activity.private_subscriber(false);
    }
}

/// `/v5/private`.
pub(super) async fn private(State(ctx): State<SharedServer>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| run_private(ctx, socket))
}

fn check_auth(ctx: &SharedServer, args: &[Value]) -> Result<AccountId, String> {
    let key = args.first().and_then(Value::as_str).ok_or("error:USVC1111")?;
    let expires_text = match args.get(1) {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => return Err("error:USVC1111".into()),
    };
    let expires: i64 = expires_text.parse().map_err(|_| "error:USVC1111")?;
    if expires <= ctx.clock.now_ms() {
        return Err("Params Error:expires is expired".into());
    }
    let sign = args.get(2).and_then(Value::as_str).ok_or("error:USVC1111")?;
    let secret = ctx.secret_of(key).ok_or("error:USVC1111")?;
    if hmac_hex(&secret, &format!("GET/realtime{expires_text}")) != sign.to_ascii_lowercase() {
        return Err("error:USVC1111".into());
    }
    ctx.account_of(key).ok_or_else(|| "error:USVC1111".into())
}

async fn run_private(ctx: SharedServer, mut socket: WebSocket) {
    let id = conn_id();
    let mut rx = ctx.updates.subscribe();
    let mut account: Option<AccountId> = None;
    let mut topics: BTreeSet<String> = BTreeSet::new();
    let mut msg_id: u64 = 0;
    // An event held back by reorder injection; it goes out after the next one.
    let mut held: Option<String> = None;
    let mut listening: Option<Subscriber> = None;
    let drop_at = drop_due(ctx.faults.ws_lifetime());
    tokio::pin!(drop_at);
    loop {
        let outgoing: Vec<String> = tokio::select! {
            () = &mut drop_at => return,
            () = tokio::time::sleep(Duration::from_millis(50)), if held.is_some() => held.take().into_iter().collect(),
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return };
                let text = match inbound(&mut socket, &id, msg).await {
                    Inbound::Text(text) => text,
                    Inbound::Skip => continue,
                    Inbound::Close => return,
                };
                ctx.activity.touch();
                let frame = serde_json::from_str::<Value>(text.as_str()).unwrap_or(Value::Null);
                let op = frame.get("op").and_then(Value::as_str).unwrap_or_default().to_owned();
                let args: Vec<Value> = frame.get("args").and_then(Value::as_array).cloned().unwrap_or_default();
                match op.as_str() {
                    "auth" => match check_auth(&ctx, &args) {
                        Ok(a) => {
                            account = Some(a);
                            vec![json!({"success": true, "ret_msg": "", "op": "auth", "conn_id": id, "req_id": req_id(&frame)}).to_string()]
                        }
                        Err(reason) => vec![json!({"success": false, "ret_msg": reason, "op": "auth", "conn_id": id, "req_id": req_id(&frame), "request": {"op": "auth", "args": args}}).to_string()],
                    },
                    "ping" => vec![json!({"req_id": req_id(&frame), "op": "pong", "args": [ctx.clock.now_ms().to_string()], "conn_id": id}).to_string()],
                    "subscribe" | "unsubscribe" if account.is_none() => {
                        vec![json!({"success": false, "ret_msg": "Request not authorized", "op": op, "conn_id": id, "req_id": req_id(&frame)}).to_string()]
                    }
                    "subscribe" | "unsubscribe" => {
                        tokio::time::sleep(SUBSCRIBE_REPLY_DELAY).await;
                        for t in args.iter().filter_map(Value::as_str) {
                            let base = t.strip_suffix(".linear").unwrap_or(t).to_owned();
                            if op == "subscribe" { topics.insert(base); } else { topics.remove(&base); }
                        }
                        if listening.is_none() && !topics.is_empty() {
                            listening = Some(Subscriber::new(&ctx));
                        }
                        vec![json!({"success": true, "ret_msg": "", "op": op, "conn_id": id, "req_id": req_id(&frame)}).to_string()]
                    }
                    _ => vec![json!({"success": false, "ret_msg": format!("invalid op {op:?}"), "op": op, "conn_id": id}).to_string()],
                }
            }
            update = rx.recv() => match update {
                Ok(u) => match (&*u, account) {
                    (Update::Private(a, topic, data), Some(mine)) if *a == mine && topics.contains(*topic) => {
                        msg_id += 1;
                        let frame = json!({"id": format!("{id}-{msg_id}"), "topic": topic, "creationTime": ctx.clock.now_ms(), "data": data}).to_string();
                        let mut out = Vec::with_capacity(3);
                        if held.is_none() && ctx.faults.reorder() {
                            held = Some(frame);
                        } else {
                            if ctx.faults.duplicate() {
                                out.push(frame.clone());
                            }
                            out.push(frame);
                            out.extend(held.take());
                        }
                        out
                    }
                    _ => Vec::new(),
                },
                Err(RecvError::Lagged(_)) => Vec::new(),
                Err(RecvError::Closed) => return,
            }
        };
        for text in outgoing {
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            ctx.activity.touch();
        }
    }
}

/// What an inbound frame means to a stream's loop.
enum Inbound {
    /// A text frame to handle.
    Text(axum::extract::ws::Utf8Bytes),
    /// Nothing to handle (a control frame, or a binary frame already answered).
    Skip,
    /// The client closed.
    Close,
}

/// Sorts an inbound frame; a binary frame is answered (the protocol is JSON text).
async fn inbound(socket: &mut WebSocket, id: &str, msg: Message) -> Inbound {
    match msg {
        Message::Text(text) => Inbound::Text(text),
        Message::Binary(_) => {
            let _ = socket.send(Message::Text(binary_refused(id).into())).await;
            Inbound::Skip
        }
        Message::Close(_) => Inbound::Close,
        _ => Inbound::Skip,
    }
}

/// The answer to a binary frame: the protocol is JSON text.
fn binary_refused(id: &str) -> String {
    json!({"success": false, "ret_msg": "invalid request: binary frames are not supported; send JSON text", "conn_id": id, "op": ""})
        .to_string()
}
