//! WebSocket frames (`docs/BYBIT.md` §4): parsing text frames into typed events.
//!
//! A frame is one of: an op reply (`subscribe`, `auth`, `unsubscribe`, `pong`), a public topic
//! (`orderbook.{depth}.{symbol}`, `publicTrade.{symbol}`, `tickers.{symbol}`,
//! `kline.{interval}.{symbol}`), or a private topic (`order`, `execution`, `position`, `wallet`,
//! with or without `.linear`). Anything else — malformed JSON, an unknown topic, a missing
//! field — is a `DecodeError` the reader logs and skips; it never stops the stream.

use gridbot_core::{Candle, Execution, Order, Position, PublicTrade, Side, Wallet};
use serde::Deserialize;

use crate::convert::Fields;
use crate::wire::{self, DecodeError};

/// Snapshot or delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// A full state (first frame after subscribing; a later one means "reset").
    Snapshot,
    /// Changes only.
    Delta,
}

/// One side's levels in a book frame: `(price, size)` as text, size `"0"` deletes.
pub type RawLevels = Vec<[String; 2]>;

/// An `orderbook.{depth}.{symbol}` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookFrame {
    /// Depth of the subscription (1, 50, 200, 1000).
    pub depth: u32,
    /// Symbol.
    pub symbol: String,
    /// Snapshot or delta.
    pub kind: UpdateKind,
    /// Update id; steps by one per push; 1 in a snapshot means a service restart.
    pub update_id: i64,
    /// Cross sequence.
    pub seq: i64,
    /// Bids.
    pub bids: RawLevels,
    /// Asks.
    pub asks: RawLevels,
    /// Push time, ms.
    pub ts: i64,
}

/// A `tickers.{symbol}` frame: a snapshot, or a delta carrying only the changed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickerFrame {
    /// Snapshot or delta.
    pub kind: UpdateKind,
    /// The fields present in the frame.
    pub fields: TickerFields,
    /// Push time, ms.
    pub ts: i64,
}

/// Ticker fields; `None` = not in this frame (unchanged, for a delta).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickerFields {
    /// Symbol.
    pub symbol: Option<String>,
    /// Last price.
    pub last_price: Option<String>,
    /// Mark price.
    pub mark_price: Option<String>,
    /// Index price.
    pub index_price: Option<String>,
    /// Best bid.
    pub bid1_price: Option<String>,
    /// Best bid size.
    pub bid1_size: Option<String>,
    /// Best ask.
    pub ask1_price: Option<String>,
    /// Best ask size.
    pub ask1_size: Option<String>,
    /// Funding rate.
    pub funding_rate: Option<String>,
    /// Next funding time.
    pub next_funding_time: Option<String>,
}

impl TickerFields {
    /// Applies a delta: every field present in `delta` replaces ours.
    pub fn merge(&mut self, delta: TickerFields) {
        macro_rules! take {
            ($($f:ident),*) => { $(if delta.$f.is_some() { self.$f = delta.$f; })* };
        }
        take!(
            symbol,
            last_price,
            mark_price,
            index_price,
            bid1_price,
            bid1_size,
            ask1_price,
            ask1_size,
            funding_rate,
            next_funding_time
        );
    }

    /// The merged state as a wire ticker (absent fields as `""`).
    #[must_use]
    pub fn to_wire(&self) -> wire::market::Ticker {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        wire::market::Ticker {
            symbol: s(&self.symbol),
            last_price: s(&self.last_price),
            index_price: s(&self.index_price),
            mark_price: s(&self.mark_price),
            bid1_price: s(&self.bid1_price),
            bid1_size: s(&self.bid1_size),
            ask1_price: s(&self.ask1_price),
            ask1_size: s(&self.ask1_size),
            funding_rate: s(&self.funding_rate),
            next_funding_time: s(&self.next_funding_time),
        }
    }
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A reply to `subscribe` / `unsubscribe` / `auth`.
    OpReply {
        /// The op.
        op: String,
        /// Whether it succeeded.
        success: bool,
        /// Reason on failure.
        ret_msg: String,
        /// Echoed `req_id`, as text.
        req_id: Option<String>,
    },
    /// A reply to a JSON ping.
    Pong,
    /// Order book.
    Book(BookFrame),
    /// Public trades, ascending.
    Trades(Vec<PublicTrade>),
    /// Ticker.
    Ticker(TickerFrame),
    /// Candles of a kline topic, with their `confirm` flag.
    Klines(Vec<(Candle, bool)>),
    /// Private orders.
    Orders(Vec<Order>),
    /// Private executions.
    Executions(Vec<Execution>),
    /// Private positions (`entryPrice` mapped to the average price).
    Positions(Vec<Position>),
    /// Private wallet.
    Wallets(Vec<Wallet>),
}

#[derive(Deserialize)]
struct RawFrame {
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    ret_msg: Option<String>,
    #[serde(default)]
    req_id: Option<serde_json::Value>,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct BookData {
    #[serde(default)]
    s: String,
    #[serde(default)]
    b: RawLevels,
    #[serde(default)]
    a: RawLevels,
    u: i64,
    #[serde(default)]
    seq: i64,
}

#[derive(Deserialize)]
struct TradeData {
    #[serde(rename = "T")]
    time: i64,
    s: String,
    #[serde(rename = "S")]
    side: String,
    v: String,
    p: String,
    #[serde(default)]
    i: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KlineData {
    start: i64,
    open: String,
    close: String,
    high: String,
    low: String,
    volume: String,
    #[serde(default)]
    confirm: bool,
}

fn data<T: serde::de::DeserializeOwned>(topic: &str, value: Option<serde_json::Value>) -> Result<T, DecodeError> {
    let value = value.ok_or_else(|| DecodeError::new(topic, "frame has no data"))?;
    serde_json::from_value(value).map_err(|e| DecodeError::new(topic, e.to_string()))
}

fn kind(topic: &str, k: Option<&str>) -> Result<UpdateKind, DecodeError> {
    match k {
        Some("snapshot") => Ok(UpdateKind::Snapshot),
        Some("delta") => Ok(UpdateKind::Delta),
        other => Err(DecodeError::new(topic, format!("type must be snapshot or delta, got {other:?}"))),
    }
}

/// A parsed frame with the topic it arrived on (`None` for op replies and pongs).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The topic, e.g. `orderbook.50.BTCUSDT`.
    pub topic: Option<String>,
    /// The frame.
    pub frame: Frame,
}

/// Parses one text frame.
pub fn parse_frame(text: &str) -> Result<Frame, DecodeError> {
    parse_message(text).map(|m| m.frame)
}

/// Parses one text frame, keeping its topic for routing.
pub fn parse_message(text: &str) -> Result<Message, DecodeError> {
    let env: RawFrame = serde_json::from_str(text).map_err(|e| DecodeError::new("websocket", e.to_string()))?;
    if let Some(op) = env.op.as_deref()
        && env.topic.is_none()
    {
        if op == "pong" || env.ret_msg.as_deref() == Some("pong") {
            return Ok(Message { topic: None, frame: Frame::Pong });
        }
        let req_id = env.req_id.map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        return Ok(Message {
            topic: None,
            frame: Frame::OpReply {
                op: op.to_owned(),
                success: env.success.unwrap_or(false),
                ret_msg: env.ret_msg.unwrap_or_default(),
                req_id,
            },
        });
    }
    let topic = env.topic.ok_or_else(|| DecodeError::new("websocket", "frame has neither op nor topic"))?;
    let ts = env.ts.unwrap_or(0);
    let mut parts = topic.split('.');
    let head = parts.next().unwrap_or_default();
    let f = Fields::new(&topic);
    let frame = match head {
        "orderbook" => {
            let depth: u32 =
                parts.next().and_then(|d| d.parse().ok()).ok_or_else(|| DecodeError::new(&topic, "bad depth"))?;
            let d: BookData = data(&topic, env.data)?;
            Ok(Frame::Book(BookFrame {
                depth,
                symbol: d.s,
                kind: kind(&topic, env.kind.as_deref())?,
                update_id: d.u,
                seq: d.seq,
                bids: d.b,
                asks: d.a,
                ts,
            }))
        }
        "publicTrade" => {
            let rows: Vec<TradeData> = data(&topic, env.data)?;
            let trades = rows
                .into_iter()
                .map(|t| {
                    Ok(PublicTrade {
                        symbol: gridbot_core::Symbol::new(&t.s).map_err(|e| DecodeError::new(&topic, e.to_string()))?,
                        trade_id: t.i,
                        price: t.p.parse().map_err(|_| DecodeError::new(&topic, format!("price {:?}", t.p)))?,
                        qty: t.v.parse().map_err(|_| DecodeError::new(&topic, format!("size {:?}", t.v)))?,
                        taker_side: t.side.parse::<Side>().map_err(|e| DecodeError::new(&topic, e.to_string()))?,
                        time_ms: t.time,
                    })
                })
                .collect::<Result<_, DecodeError>>()?;
            Ok(Frame::Trades(trades))
        }
        "tickers" => Ok(Frame::Ticker(TickerFrame {
            kind: kind(&topic, env.kind.as_deref())?,
            fields: data(&topic, env.data)?,
            ts,
        })),
        "kline" => {
            let rows: Vec<KlineData> = data(&topic, env.data)?;
            let candles = rows
                .into_iter()
                .map(|k| {
                    let row = [k.start.to_string(), k.open, k.high, k.low, k.close, k.volume];
                    f.kline(&row).map(|c| (c, k.confirm))
                })
                .collect::<Result<_, _>>()?;
            Ok(Frame::Klines(candles))
        }
        "order" => {
            let rows: Vec<wire::trade::Order> = data(&topic, env.data)?;
            Ok(Frame::Orders(rows.iter().map(|o| f.order(o)).collect::<Result<_, _>>()?))
        }
        "execution" => {
            let rows: Vec<wire::trade::Execution> = data(&topic, env.data)?;
            Ok(Frame::Executions(rows.iter().map(|e| f.execution(e)).collect::<Result<_, _>>()?))
        }
        "position" => {
            let rows: Vec<wire::account::Position> = data(&topic, env.data)?;
            Ok(Frame::Positions(rows.iter().map(|p| f.position(p)).collect::<Result<_, _>>()?))
        }
        "wallet" => {
            let rows: Vec<wire::account::WalletAccount> = data(&topic, env.data)?;
            Ok(Frame::Wallets(rows.iter().map(|w| f.wallet(w)).collect::<Result<_, _>>()?))
        }
        _ => Err(DecodeError::new(&topic, "unknown topic")),
    }?;
    Ok(Message { topic: Some(topic), frame })
}
