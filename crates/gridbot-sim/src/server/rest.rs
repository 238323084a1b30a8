//! REST routes: every endpoint of `docs/BYBIT.md` §3 plus the §8.5 checklist's
//! account/asset endpoints. Handlers parse with `Params`, call the engine under its lock (never
//! across an await), and answer with Bybit's envelope.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gridbot_core::{
    Decimal, Interval, OrderLinkId, OrderRef, OrderRequest, OrderType, PositionIdx, PositionMode, Price, Qty, Side,
    Symbol, TimeInForce,
};
use serde_json::{Value, json};

use super::faults::RestFault;
use super::json::{self, Params};
use super::{Shared, auth, page};
use crate::engine::AccountId;
use crate::error::SimError;

type SharedServer = Arc<Shared>;

struct Reply {
    result: Result<Value, SimError>,
    limit: Option<(u32, u32, i64)>,
    now: i64,
    /// HTTP 503 instead of an envelope (fault injection).
    unavailable: bool,
    /// The HTTP status of the envelope (200 for every business error, as Bybit).
    status: StatusCode,
}

impl Reply {
    fn new(result: Result<Value, SimError>, limit: Option<(u32, u32, i64)>, now: i64) -> Self {
        Self { result, limit, now, unavailable: false, status: StatusCode::OK }
    }

    /// A body the server could not read (too large, cut short): Bybit's envelope with the
    /// HTTP status that says why, not a plain-text page.
    fn unreadable(rejection: &axum::extract::rejection::BytesRejection, now: i64) -> Self {
        let message = format!("params error: {}", rejection.body_text());
        Self { status: rejection.status(), ..Self::new(Err(SimError::new(10_001, message)), None, now) }
    }

    /// An injected fault, if the fault generator draws one for this request.
    fn fault(ctx: &SharedServer, signed: bool, now: i64) -> Option<Self> {
        match ctx.faults.rest(signed)? {
            RestFault::Unavailable => Some(Self { unavailable: true, ..Self::new(Ok(Value::Null), None, now) }),
            RestFault::ServerError => {
                Some(Self::new(Err(SimError::new(10_016, "Server error, please retry (injected)")), None, now))
            }
            RestFault::RateLimited => {
                Some(Self::new(Err(SimError::new(10_006, "Too many visits!")), Some((1, 0, now + 200)), now))
            }
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        if self.unavailable {
            return (StatusCode::SERVICE_UNAVAILABLE, "service unavailable (injected)").into_response();
        }
        let body = match self.result {
            Ok(result) => json!({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": self.now}),
            Err(e) => json!({"retCode": e.code, "retMsg": e.message, "result": {}, "retExtInfo": {}, "time": self.now}),
        };
        let mut response = (self.status, [("content-type", "application/json")], body.to_string()).into_response();
        let (limit, remaining, reset) = self.limit.unwrap_or((600, 599, self.now));
        let headers = response.headers_mut();
        for (name, value) in [
            ("X-Bapi-Limit", limit.to_string()),
            ("X-Bapi-Limit-Status", remaining.to_string()),
            ("X-Bapi-Limit-Reset-Timestamp", reset.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        response
    }
}

/// A public GET: parameters from the query.
fn public(ctx: &SharedServer, uri: &Uri, f: impl FnOnce(&SharedServer, &Params) -> Result<Value, SimError>) -> Reply {
    let now = ctx.clock.now_ms();
    if let Some(fault) = Reply::fault(ctx, false, now) {
        return fault;
    }
    let params = Params::from_query(uri.query().unwrap_or(""));
    Reply::new(f(ctx, &params), None, now)
}

/// A signed request: verify on the raw bytes, count against the key's limit, then run.
/// The parts of a request that authentication and parameters are read from.
struct Raw<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

fn signed(
    ctx: &SharedServer,
    raw: &Raw<'_>,
    endpoint: &'static str,
    orders: bool,
    f: impl FnOnce(&SharedServer, AccountId, &Params) -> Result<Value, SimError>,
) -> Reply {
    let Raw { method, uri, headers, body } = *raw;
    let now = ctx.clock.now_ms();
    if let Some(fault) = Reply::fault(ctx, true, now) {
        return fault;
    }
    let raw_query = uri.query().unwrap_or("");
    let Ok(raw_body) = std::str::from_utf8(body) else {
        // Not a signature problem: the request itself is malformed.
        return Reply::new(Err(SimError::new(10_001, "params error: the body is not UTF-8 JSON")), None, now);
    };
    let payload = if *method == Method::GET { raw_query } else { raw_body };
    let key = match auth::verify(headers, payload, now, |k| ctx.secret_of(k)) {
        Ok(k) => k,
        Err(e) => return Reply::new(Err(e), None, now),
    };
    let limit = match ctx.count(&key, endpoint, orders, now) {
        Ok(l) => l,
        Err((limit, reset)) => {
            return Reply::new(Err(SimError::new(10_006, "Too many visits!")), Some((limit, 0, reset)), now);
        }
    };
    let Some(account) = ctx.account_of(&key) else {
        return Reply::new(Err(SimError::new(10_003, "API key is invalid.")), Some(limit), now);
    };
    let params = if *method == Method::GET { Ok(Params::from_query(raw_query)) } else { Params::from_body(raw_body) };
    let result = params.and_then(|p| f(ctx, account, &p));
    if orders {
        // Order events (acks, fills, cancels) go out on the private stream.
        let mut m = ctx.market();
        ctx.publish(&mut m, &[]);
    }
    Reply::new(result, Some(limit), now)
}

fn linear(p: &Params) -> Result<(), SimError> {
    match p.text("category").as_deref() {
        Some("linear") | None => Ok(()),
        Some(other) => Err(SimError::params(format!("params error: category {other} is not supported; use linear"))),
    }
}

fn symbol(p: &Params) -> Result<Symbol, SimError> {
    let text = p.required("symbol")?;
    Symbol::new(text.clone()).map_err(|_| SimError::params(format!("params error: symbol invalid: {text}")))
}

fn list(items: Vec<Value>, cursor: &str) -> Value {
    json!({"category": "linear", "list": items, "nextPageCursor": cursor})
}

macro_rules! signed_route {
    ($name:ident, $endpoint:literal, $orders:expr, $f:expr) => {
        async fn $name(
            State(ctx): State<SharedServer>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            body: Result<Bytes, axum::extract::rejection::BytesRejection>,
        ) -> Reply {
            let body = match body {
                Ok(b) => b,
                Err(rejection) => return Reply::unreadable(&rejection, ctx.clock.now_ms()),
            };
            if let Some(d) = ctx.faults.latency() {
                tokio::time::sleep(d).await;
            }
            signed(&ctx, &Raw { method: &method, uri: &uri, headers: &headers, body: &body }, $endpoint, $orders, $f)
        }
    };
}

macro_rules! public_route {
    ($name:ident, $f:expr) => {
        async fn $name(State(ctx): State<SharedServer>, uri: Uri) -> Reply {
            if let Some(d) = ctx.faults.latency() {
                tokio::time::sleep(d).await;
            }
            public(&ctx, &uri, $f)
        }
    };
}

// ---- market -------------------------------------------------------------------------------------

async fn time(State(ctx): State<SharedServer>) -> Reply {
    let now = ctx.clock.now_ms();
    let nanos = i128::from(now) * 1_000_000;
    Reply::new(Ok(json!({"timeSecond": (now / 1000).to_string(), "timeNano": nanos.to_string()})), None, now)
}

public_route!(instruments_info, |ctx, p| {
    if p.text("category").is_some_and(|c| c != "linear") {
        return Ok(json!({"category": p.text("category"), "list": [], "nextPageCursor": ""}));
    }
    let m = ctx.market();
    let wanted = p.text("symbol");
    // Every simulated instrument trades: `status=Trading` (Bybit's default) lists them, any other
    // status (PreLaunch, Delivering, Closed) none.
    let status_ok = p.text("status").is_none_or(|st| st == "Trading");
    let items: Vec<Value> = m
        .engine
        .instruments()
        .filter(|i| status_ok && wanted.as_deref().is_none_or(|w| i.symbol().as_str() == w))
        .filter(|i| coin_matches(p, i.symbol()))
        .map(json::instrument)
        .collect();
    let limit: usize = p.parsed("limit")?.unwrap_or(500).clamp(1, 1000);
    let (items, next) = page(&items, p.text("cursor").as_deref(), limit);
    Ok(list(items, &next))
});

/// `baseCoin` / `settleCoin` filters: the base is the symbol without its `USDT`; every linear
/// instrument here settles in USDT.
fn coin_matches(p: &Params, symbol: &Symbol) -> bool {
    let s = symbol.as_str();
    let base = s.strip_suffix("USDT").unwrap_or(s);
    p.text("baseCoin").is_none_or(|b| b == base) && p.text("settleCoin").is_none_or(|c| c == "USDT")
}

public_route!(tickers, |ctx, p| {
    linear(p)?;
    let m = ctx.market();
    let wanted = p.text("symbol");
    let mut items = Vec::new();
    for i in m.engine.instruments() {
        let s = i.symbol();
        if wanted.as_deref().is_some_and(|w| w != s.as_str()) || !coin_matches(p, s) {
            continue;
        }
        let Some(last) = m.engine.mark(s) else { continue };
        let (bid, ask) = m.engine.best_bid_ask(s).unwrap_or((last, last));
        let interval = m.engine.config().funding_interval_ms.max(1);
        let next_funding = (m.engine.now_ms().div_euclid(interval) + 1) * interval;
        let level = m.engine.config().level_qty.to_string();
        items.push(json!({"symbol": s.as_str(), "lastPrice": last.to_string(), "indexPrice": last.to_string(), "markPrice": last.to_string(),
            "prevPrice24h": last.to_string(), "price24hPcnt": "0", "highPrice24h": last.to_string(), "lowPrice24h": last.to_string(),
            "prevPrice1h": last.to_string(), "openInterest": "0", "openInterestValue": "0", "turnover24h": "0", "volume24h": "0",
            "fundingRate": m.engine.config().funding_rate_at(s, m.engine.now_ms()).to_string(), "nextFundingTime": next_funding.to_string(),
            "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "", "deliveryTime": "0",
            "ask1Size": level, "bid1Price": bid.to_string(), "ask1Price": ask.to_string(), "bid1Size": m.engine.config().level_qty.to_string(),
            "basis": "", "preOpenPrice": "", "preQty": "", "curPreListingPhase": "", "fundingIntervalHour": "8", "fundingCap": "0.005", "basisRateYear": ""}));
    }
    if wanted.is_some() && items.is_empty() {
        return Err(SimError::params("params error: symbol invalid or no price yet"));
    }
    Ok(list(items, ""))
});

public_route!(kline, |ctx, p| {
    linear(p)?;
    let s = symbol(p)?;
    let interval: Interval =
        p.required("interval")?.parse().map_err(|_| SimError::params("params error: interval invalid"))?;
    let limit: usize = p.parsed("limit")?.unwrap_or(200).clamp(1, 1000);
    let start: i64 = p.parsed("start")?.unwrap_or(i64::MIN);
    let end: i64 = p.parsed("end")?.unwrap_or(i64::MAX);
    let m = ctx.market();
    m.engine.instrument(&s)?;
    let candles =
        gridbot_data::resample(m.replay.replayed(&s), interval).map_err(|e| SimError::new(10_016, e.to_string()))?;
    let rows: Vec<Value> = candles
        .iter()
        .rev()
        .filter(|c| c.open_time_ms >= start && c.open_time_ms <= end)
        .take(limit)
        .map(|c| {
            let turnover = (c.close.as_decimal() * c.volume.as_decimal()).round_dp(4);
            json!([
                c.open_time_ms.to_string(),
                c.open.to_string(),
                c.high.to_string(),
                c.low.to_string(),
                c.close.to_string(),
                c.volume.to_string(),
                turnover.to_string()
            ])
        })
        .collect();
    Ok(json!({"category": "linear", "symbol": s.as_str(), "list": rows}))
});

public_route!(orderbook, |ctx, p| {
    linear(p)?;
    let s = symbol(p)?;
    let limit: usize = p.parsed("limit")?.unwrap_or(25).clamp(1, 1000);
    let m = ctx.market();
    m.engine.instrument(&s)?;
    let (bids, asks) = m.engine.book_levels(&s, limit);
    let side = |levels: Vec<(Price, Qty)>| {
        levels.into_iter().map(|(p, q)| json!([p.to_string(), q.to_string()])).collect::<Vec<_>>()
    };
    let now = m.engine.now_ms();
    Ok(
        json!({"s": s.as_str(), "b": side(bids), "a": side(asks), "ts": now, "u": m.engine.book_update_id(&s), "seq": m.engine.book_update_id(&s), "cts": now}),
    )
});

public_route!(recent_trade, |ctx, p| {
    linear(p)?;
    let s = symbol(p)?;
    let limit: usize = p.parsed("limit")?.unwrap_or(500).clamp(1, 1000);
    let m = ctx.market();
    m.engine.instrument(&s)?;
    let items: Vec<Value> = m
        .engine
        .recent_trades(&s, limit)
        .into_iter()
        .map(|t| json!({"execId": t.trade_id, "symbol": s.as_str(), "price": t.price.to_string(), "size": t.qty.to_string(),
            "side": t.taker_side.as_str(), "time": t.time_ms.to_string(), "isBlockTrade": false, "isRPITrade": false, "seq": "0"}))
        .collect();
    Ok(list(items, ""))
});

public_route!(funding_history, |ctx, p| {
    linear(p)?;
    let s = symbol(p)?;
    let m = ctx.market();
    m.engine.instrument(&s)?;
    if p.text("startTime").is_some() && p.text("endTime").is_none() {
        return Err(SimError::params("params error: endTime is required with startTime"));
    }
    let interval = m.engine.config().funding_interval_ms.max(1);
    let end: i64 = p.parsed("endTime")?.unwrap_or(m.engine.now_ms()).min(m.engine.now_ms());
    let start: i64 = p.parsed("startTime")?.unwrap_or(i64::MIN);
    let limit: usize = p.parsed("limit")?.unwrap_or(200).clamp(1, 200);
    let first = m.replay.replayed(&s).first().map_or(end, |c| c.open_time_ms);
    let mut t = end.div_euclid(interval) * interval;
    let mut items = Vec::new();
    while t >= start.max(first) && items.len() < limit {
        items.push(json!({"symbol": s.as_str(), "fundingRate": m.engine.config().funding_rate_at(&s, t).to_string(), "fundingRateTimestamp": t.to_string()}));
        t -= interval;
    }
    Ok(list(items, ""))
});

// ---- orders -------------------------------------------------------------------------------------

fn order_request(p: &Params, fallback_link: impl FnOnce() -> String) -> Result<OrderRequest, SimError> {
    linear(p)?;
    let symbol = symbol(p)?;
    let side: Side = p.required("side")?.parse().map_err(|_| SimError::params("params error: side invalid"))?;
    let order_type: OrderType =
        p.required("orderType")?.parse().map_err(|_| SimError::params("params error: orderType invalid"))?;
    let qty: Qty = p.required("qty")?.parse().map_err(|_| SimError::params("params error: qty invalid"))?;
    let idx = PositionIdx::try_from(p.parsed::<i64>("positionIdx")?.unwrap_or(0))
        .map_err(|_| SimError::params("params error: positionIdx invalid"))?;
    // Bybit makes the id optional; the engine indexes by it, so a missing one gets a unique
    // internal id that is not reported back.
    let link = p.text("orderLinkId").unwrap_or_else(fallback_link);
    let link = OrderLinkId::new(link).map_err(|e| SimError::params(format!("params error: {e}")))?;
    let tif: TimeInForce = match p.text("timeInForce") {
        Some(t) => t.parse().map_err(|_| SimError::params("params error: timeInForce invalid"))?,
        None => TimeInForce::Gtc,
    };
    let mut req = match order_type {
        OrderType::Limit => {
            let price: Price =
                p.required("price")?.parse().map_err(|_| SimError::params("params error: price invalid"))?;
            OrderRequest::limit(symbol, side, qty, price, tif, idx, link)
        }
        OrderType::Market => OrderRequest::market(symbol, side, qty, idx, link),
        OrderType::Unknown => return Err(SimError::params("params error: orderType invalid")),
    };
    req.reduce_only = p.flag("reduceOnly")?;
    Ok(req)
}

fn order_ref(p: &Params) -> Result<OrderRef, SimError> {
    if let Some(id) = p.text("orderId") {
        return Ok(OrderRef::OrderId(id));
    }
    let link =
        p.text("orderLinkId").ok_or_else(|| SimError::params("params error: orderId or orderLinkId is required"))?;
    OrderLinkId::new(link).map(OrderRef::LinkId).map_err(|e| SimError::params(format!("params error: {e}")))
}

signed_route!(create_order, "/v5/order/create", true, |ctx, id, p| {
    let mut m = ctx.market();
    let next = m.engine.next_order_number();
    let req = order_request(p, || format!("sim-auto-{next}"))?;
    let ack = m.engine.place(id, &req)?;
    let link = if p.text("orderLinkId").is_none() { String::new() } else { ack.order_link_id };
    Ok(json!({"orderId": ack.order_id, "orderLinkId": link}))
});

signed_route!(amend_order, "/v5/order/amend", true, |ctx, id, p| {
    linear(p)?;
    let s = symbol(p)?;
    let r = order_ref(p)?;
    let price: Option<Price> = p.parsed("price")?;
    let qty: Option<Qty> = p.parsed("qty")?;
    let ack = ctx.market().engine.amend(id, &s, &r, price, qty)?;
    Ok(json!({"orderId": ack.order_id, "orderLinkId": ack.order_link_id}))
});

signed_route!(cancel_order, "/v5/order/cancel", true, |ctx, id, p| {
    linear(p)?;
    let s = symbol(p)?;
    let r = order_ref(p)?;
    let ack = ctx.market().engine.cancel(id, &s, &r)?;
    Ok(json!({"orderId": ack.order_id, "orderLinkId": ack.order_link_id}))
});

signed_route!(cancel_all, "/v5/order/cancel-all", true, |ctx, id, p| {
    linear(p)?;
    let mut m = ctx.market();
    let symbols: Vec<Symbol> = match p.text("symbol") {
        Some(_) => vec![symbol(p)?],
        None if p.text("settleCoin").is_some() || p.text("baseCoin").is_some() => {
            m.engine.instruments().map(|i| i.symbol().clone()).collect()
        }
        None => return Err(SimError::params("params error: symbol, baseCoin or settleCoin is required")),
    };
    let mut items = Vec::new();
    for s in symbols {
        for ack in m.engine.cancel_all(id, &s)? {
            items.push(json!({"orderId": ack.order_id, "orderLinkId": ack.order_link_id}));
        }
    }
    Ok(json!({"list": items, "success": "1"}))
});

fn order_list(ctx: &SharedServer, id: AccountId, p: &Params, history: bool) -> Result<Value, SimError> {
    linear(p)?;
    let m = ctx.market();
    let symbols: Vec<Symbol> = match p.text("symbol") {
        Some(_) => vec![symbol(p)?],
        None if history || p.text("settleCoin").is_some() || p.text("baseCoin").is_some() => {
            m.engine.instruments().map(|i| i.symbol().clone()).collect()
        }
        None => return Err(SimError::params("params error: symbol, baseCoin or settleCoin is required")),
    };
    let mut orders = Vec::new();
    for s in symbols.iter().filter(|s| coin_matches(p, s)) {
        m.engine.instrument(s)?;
        if history {
            let end: i64 = p.parsed("endTime")?.unwrap_or(i64::MAX);
            let start: i64 = p.parsed("startTime")?.unwrap_or(i64::MIN);
            orders.extend(m.engine.order_history(id, s, start, end));
        } else {
            orders.extend(m.engine.open_orders(id, s));
        }
    }
    if let Some(oid) = p.text("orderId") {
        orders.retain(|o| o.order_id == oid);
    }
    if let Some(link) = p.text("orderLinkId") {
        orders.retain(|o| o.order_link_id == link);
    }
    if let Some(statuses) = p.text("orderStatus") {
        // One status or a comma-separated list, as clients send it.
        let wanted: Vec<&str> = statuses.split(',').map(str::trim).collect();
        orders.retain(|o| wanted.contains(&o.status.as_str()));
    }
    // The simulator has no conditional orders: `StopOrder` and `tpslOrder` filters find none.
    if p.text("orderFilter").is_some_and(|f| f != "Order") {
        orders.clear();
    }
    let limit: usize = p.parsed("limit")?.unwrap_or(20).clamp(1, 50);
    let (items, next) = page(&orders, p.text("cursor").as_deref(), limit);
    Ok(list(items.iter().map(json::order).collect(), &next))
}

signed_route!(realtime, "/v5/order/realtime", false, |ctx, id, p| order_list(ctx, id, p, false));
signed_route!(history, "/v5/order/history", false, |ctx, id, p| order_list(ctx, id, p, true));

signed_route!(executions, "/v5/execution/list", false, |ctx, id, p| {
    linear(p)?;
    let m = ctx.market();
    let symbols: Vec<Symbol> = match p.text("symbol") {
        Some(_) => vec![symbol(p)?],
        None => m.engine.instruments().map(|i| i.symbol().clone()).collect(),
    };
    let end: i64 = p.parsed("endTime")?.unwrap_or(i64::MAX);
    let start: i64 = p.parsed("startTime")?.unwrap_or(i64::MIN);
    let mut rows = Vec::new();
    for s in &symbols {
        m.engine.instrument(s)?;
        rows.extend(m.engine.executions(id, s, start, end));
    }
    if let Some(t) = p.text("execType") {
        rows.retain(|e| e.exec_type.as_str() == t);
    }
    if let Some(oid) = p.text("orderId") {
        rows.retain(|e| e.order_id == oid);
    }
    if let Some(link) = p.text("orderLinkId") {
        rows.retain(|e| e.order_link_id == link);
    }
    rows.retain(|e| coin_matches(p, &e.symbol));
    let limit: usize = p.parsed("limit")?.unwrap_or(50).clamp(1, 100);
    let (items, next) = page(&rows, p.text("cursor").as_deref(), limit);
    Ok(list(items.iter().map(json::execution).collect(), &next))
});

// ---- positions and account ----------------------------------------------------------------------

signed_route!(position_list, "/v5/position/list", false, |ctx, id, p| {
    linear(p)?;
    let mut m = ctx.market();
    let by_symbol = p.text("symbol").is_some();
    let symbols: Vec<Symbol> = match p.text("symbol") {
        Some(_) => vec![symbol(p)?],
        None if p.text("settleCoin").is_some() => m.engine.instruments().map(|i| i.symbol().clone()).collect(),
        None => return Err(SimError::params("params error: symbol or settleCoin is required")),
    };
    let mut rows = Vec::new();
    for s in symbols.iter().filter(|s| coin_matches(p, s)) {
        rows.extend(m.engine.positions(id, s)?.into_iter().filter(|p| by_symbol || !p.size.is_zero()));
    }
    let limit: usize = p.parsed("limit")?.unwrap_or(20).clamp(1, 200);
    let (items, next) = page(&rows, p.text("cursor").as_deref(), limit);
    Ok(list(items.iter().map(|p| json::position(p, false)).collect(), &next))
});

signed_route!(set_leverage, "/v5/position/set-leverage", true, |ctx, id, p| {
    linear(p)?;
    let s = symbol(p)?;
    let buy: Decimal =
        p.parsed("buyLeverage")?.ok_or_else(|| SimError::params("params error: buyLeverage is required"))?;
    let sell: Decimal =
        p.parsed("sellLeverage")?.ok_or_else(|| SimError::params("params error: sellLeverage is required"))?;
    ctx.market().engine.set_leverage(id, &s, buy, sell)?;
    Ok(json!({}))
});

signed_route!(switch_mode, "/v5/position/switch-mode", true, |ctx, id, p| {
    linear(p)?;
    let s = symbol(p)?;
    let mode = PositionMode::try_from(
        p.parsed::<i64>("mode")?.ok_or_else(|| SimError::params("params error: mode is required"))?,
    )
    .map_err(|_| SimError::params("params error: mode must be 0 or 3"))?;
    ctx.market().engine.switch_mode(id, &s, mode)?;
    Ok(json!({}))
});

signed_route!(trading_stop, "/v5/position/trading-stop", true, |ctx, _id, p| {
    linear(p)?;
    let s = symbol(p)?;
    p.required("positionIdx")?;
    p.required("tpslMode")?;
    ctx.market().engine.instrument(&s)?;
    // TP/SL attached to positions are not simulated; the bot places its own reduce-only orders.
    Err(SimError::new(34_040, "Not modified"))
});

signed_route!(wallet_balance, "/v5/account/wallet-balance", false, |ctx, id, p| {
    match p.text("accountType").as_deref() {
        Some("UNIFIED") | None => {}
        Some(other) => return Err(SimError::params(format!("params error: accountType {other} is not supported"))),
    }
    let w = ctx.market().engine.wallet(id)?;
    Ok(json!({"list": [json::wallet(&w)]}))
});

signed_route!(query_api, "/v5/user/query-api", false, |_ctx, _id, _p| {
    Ok(
        json!({"id": "1", "note": "gridbot-sim", "apiKey": "", "readOnly": 0, "secret": "", "permissions": {"ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer"]},
        "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "", "createdAt": "", "unified": 0, "uta": 1, "userID": 1, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0}),
    )
});

signed_route!(account_info, "/v5/account/info", false, |_ctx, _id, _p| {
    Ok(
        json!({"unifiedMarginStatus": 4, "marginMode": "REGULAR_MARGIN", "isMasterTrader": false, "spotHedgingStatus": "OFF", "updatedTime": "0", "dcpStatus": "OFF", "timeWindow": 10, "smpGroup": 0}),
    )
});

signed_route!(coin_info, "/v5/asset/coin/query-info", false, |_ctx, _id, _p| { Ok(json!({"rows": []})) });

async fn not_found(uri: Uri) -> Response {
    let body = json!({"retCode": 10_017, "retMsg": format!("route not found: {}", uri.path()), "result": {}, "retExtInfo": {}, "time": 0});
    (StatusCode::NOT_FOUND, [("content-type", "application/json")], body.to_string()).into_response()
}

/// The REST router.
pub(super) fn router(ctx: SharedServer) -> Router {
    Router::new()
        .route("/v5/market/time", get(time))
        .route("/v5/market/instruments-info", get(instruments_info))
        .route("/v5/market/tickers", get(tickers))
        .route("/v5/market/kline", get(kline))
        .route("/v5/market/orderbook", get(orderbook))
        .route("/v5/market/recent-trade", get(recent_trade))
        .route("/v5/market/funding/history", get(funding_history))
        .route("/v5/order/create", post(create_order))
        .route("/v5/order/amend", post(amend_order))
        .route("/v5/order/cancel", post(cancel_order))
        .route("/v5/order/cancel-all", post(cancel_all))
        .route("/v5/order/realtime", get(realtime))
        .route("/v5/order/history", get(history))
        .route("/v5/execution/list", get(executions))
        .route("/v5/position/list", get(position_list))
        .route("/v5/position/set-leverage", post(set_leverage))
        .route("/v5/position/switch-mode", post(switch_mode))
        .route("/v5/position/trading-stop", post(trading_stop))
        .route("/v5/account/wallet-balance", get(wallet_balance))
        .route("/v5/account/info", get(account_info))
        .route("/v5/user/query-api", get(query_api))
        .route("/v5/asset/coin/query-info", get(coin_info))
        .route("/v5/public/linear", get(super::ws::public))
        .route("/v5/private", get(super::ws::private))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&ctx), track_activity))
        .with_state(ctx)
}

/// Counts the request in flight while it is handled (the lockstep replay waits for none).
async fn track_activity(
    State(ctx): State<SharedServer>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    /// Ends the request even when its future is dropped (the client hung up mid-request).
    struct InFlight(SharedServer);
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.activity.request_done();
        }
    }
    ctx.activity.request_started();
    let _in_flight = InFlight(ctx);
    next.run(request).await
}
