//! End-to-end: the gridbot-bybit client against the gridbot-sim server over 127.0.0.1, on the
//! bundled real 1-minute candles — every REST endpoint the bot uses, and the negative cases.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use gridbot_bybit::{BybitClient, BybitError, ClientConfig, Credentials, Environment};
use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    Decimal, ErrorAction, Exchange, Interval, KlineQuery, OrderLinkId, OrderRef, OrderRequest, OrderStatus,
    PositionIdx, PositionMode, Price, Side, Symbol, SystemClock, TimeInForce, TimeWindow,
};
use gridbot_sim::server::{ServerAccount, ServerConfig, ServerHandle, start};
use gridbot_sim::{CandleReplay, MatchingEngine, SimConfig};

const KEY: &str = "simKey1";
const SECRET: &str = "simSecret1";

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn server() -> ServerHandle {
    server_with(3, |_| {})
}

/// The simulator over `days` of bundled minutes, one account, its settings changed by `tweak`.
fn server_with(days: usize, tweak: impl FnOnce(&mut ServerConfig)) -> ServerHandle {
    let path = format!("{}/../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz", env!("CARGO_MANIFEST_DIR"));
    let candles = gridbot_data::load_candles(path).unwrap()[..days * 1440].to_vec();
    let replay = CandleReplay::new(60_000, BTreeMap::from([(btc(), candles)]));
    let engine = MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]);
    let accounts =
        vec![ServerAccount { api_key: KEY.into(), api_secret: SECRET.into(), wallet: Decimal::from(100_000) }];
    let mut config = ServerConfig::loopback(accounts);
    tweak(&mut config);
    let s = start(config, engine, replay, Arc::new(SystemClock)).unwrap();
    s.step().unwrap();
    s
}

fn client(s: &ServerHandle, secret: &str) -> BybitClient {
    let mut config =
        ClientConfig::new(Environment::custom(&s.base_url()), Some(Credentials::new(KEY, secret).unwrap()));
    config.retry.max_attempts = 2;
    BybitClient::new(config)
}

fn link(s: &str) -> OrderLinkId {
    OrderLinkId::new(s).unwrap()
}

#[test]
fn market_data_endpoints() {
    let s = server();
    for _ in 0..120 {
        s.step();
    }
    let c = client(&s, SECRET);
    let t = c.server_time().unwrap();
    assert!(
        (t - gridbot_core::Clock::now_ms(&SystemClock)).abs() < 5_000,
        "market/time is the wall clock clients sign with"
    );
    let instruments = Exchange::instruments(&c).unwrap();
    assert_eq!(instruments, vec![bybit_btcusdt()], "instruments-info round-trips Bybit's filters exactly");
    let ticker = Exchange::ticker(&c, &btc()).unwrap();
    let top = Exchange::orderbook_top(&c, &btc()).unwrap();
    assert!(top.bid.unwrap().price <= ticker.last_price && top.ask.unwrap().price > ticker.last_price);
    let now = s.with_engine(|e| e.now_ms());
    let candles = c.klines_page(&btc(), Interval::M1, now - 10 * 60_000, now, 5).unwrap();
    assert_eq!(candles.len(), 5);
    assert!(candles.windows(2).all(|w| w[1].open_time_ms == w[0].open_time_ms + 60_000));
    let all = Exchange::klines(
        &c,
        &KlineQuery { symbol: btc(), interval: Interval::M15, window: TimeWindow { start_ms: 0, end_ms: now } },
    )
    .unwrap();
    assert_eq!(all.len(), 9, "121 minutes replayed = 9 quarter hours (the last partial)");
    let funding = Exchange::funding_history(&c, &btc(), TimeWindow { start_ms: 0, end_ms: now }).unwrap();
    assert!(funding.iter().all(|f| f.time_ms % (8 * 3_600_000) == 0));
    let trades = c.recent_trades(&btc(), 10).unwrap();
    assert!(trades.is_empty(), "no fills yet");
    s.stop();
}

#[test]
fn trading_endpoints_and_negative_cases() {
    let s = server();
    let c = client(&s, SECRET);
    c.set_leverage(&btc(), Decimal::from(5), Decimal::from(5)).unwrap();
    c.set_leverage(&btc(), Decimal::from(5), Decimal::from(5)).unwrap(); // 110043 = success
    c.switch_mode(&btc(), PositionMode::Hedge).unwrap();
    c.switch_mode(&btc(), PositionMode::Hedge).unwrap(); // 110025 = success
    let last = Exchange::ticker(&c, &btc()).unwrap().last_price;
    let below = bybit_btcusdt().round_buy_price(Price::new(last.as_decimal() * Decimal::new(95, 2)).unwrap());
    let po = OrderRequest::limit(
        btc(),
        Side::Buy,
        "0.001".parse().unwrap(),
        below,
        TimeInForce::PostOnly,
        PositionIdx::Long,
        link("po-1"),
    );
    let ack = c.create_order(&po).unwrap();
    let open = c.open_orders(&btc()).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].order_id.as_str(), open[0].status), (ack.order_id.as_str(), OrderStatus::New));
    // duplicate orderLinkId → 110072 (reconcile)
    let dup = c.create_order(&po).unwrap_err();
    let BybitError::Exchange(dup) = dup else { panic!() };
    assert_eq!((dup.detail().ret_code, dup.action()), (Some(110_072), ErrorAction::Reconcile));
    // amend keeps the ids (the bot never amends, but the client can)
    let lower = Price::new(below.as_decimal() - Decimal::from(10)).unwrap();
    let amended = c.amend_order(&btc(), &OrderRef::LinkId(link("po-1")), Some(lower), None).unwrap();
    assert_eq!(amended.order_id, ack.order_id);
    assert_eq!(c.open_orders(&btc()).unwrap()[0].price, Some(lower));
    c.cancel_order(&btc(), &OrderRef::LinkId(link("po-1"))).unwrap();
    // trading-stop: TP/SL are not simulated; the reply is Bybit's "not modified", a success
    c.trading_stop(&btc(), PositionIdx::Long, None, None).unwrap();
    // unknown order → 110001
    let BybitError::Exchange(gone) = c.cancel_order(&btc(), &OrderRef::LinkId(link("po-1"))).unwrap_err() else {
        panic!()
    };
    assert_eq!(gone.detail().ret_code, Some(110_001));
    let now = s.with_engine(|e| e.now_ms());
    let history = c.order_history(&btc(), TimeWindow { start_ms: now - 86_400_000, end_ms: now }).unwrap();
    assert_eq!(history[0].status, OrderStatus::Cancelled);
    // a marketable order opens a position
    c.create_order(&OrderRequest::market(btc(), Side::Buy, "0.01".parse().unwrap(), PositionIdx::Long, link("mkt-1")))
        .unwrap();
    let positions = c.positions(&btc()).unwrap();
    assert_eq!(positions.len(), 2);
    assert_eq!((positions[0].position_idx, positions[0].size.to_string()), (PositionIdx::Long, "0.01".to_owned()));
    let fills = c.executions(&btc(), TimeWindow { start_ms: now - 86_400_000, end_ms: now }).unwrap();
    assert!(!fills.is_empty() && fills.iter().all(|f| !f.is_maker));
    let wallet = c.wallet_balance().unwrap();
    assert!(wallet.total_initial_margin > Decimal::ZERO);
    assert!(wallet.total_wallet_balance < Decimal::from(100_000), "taker fees were charged");
    // pagination: 60 resting orders come back over two pages of 50
    for i in 0..60 {
        let px = Price::new(below.as_decimal() - Decimal::from(i)).unwrap();
        c.create_order(&OrderRequest::limit(
            btc(),
            Side::Buy,
            "0.001".parse().unwrap(),
            px,
            TimeInForce::PostOnly,
            PositionIdx::Long,
            link(&format!("g{i}")),
        ))
        .unwrap();
    }
    assert_eq!(c.open_orders(&btc()).unwrap().len(), 60);
    assert_eq!(c.cancel_all_orders(&btc()).unwrap().len(), 60);
    // a wrong secret is a fatal 10004
    let bad = client(&s, "wrongSecret");
    let BybitError::Exchange(e) = bad.wallet_balance().unwrap_err() else { panic!() };
    assert_eq!((e.detail().ret_code, e.action()), (Some(10_004), ErrorAction::Fatal));
    assert!(!e.to_string().contains("wrongSecret"));
    s.stop();
}

#[test]
fn rate_limit_10006_is_obeyed_by_the_client() {
    let s = server();
    let c = client(&s, SECRET);
    // 60 queries against a 50/s limit: the client's own bucket spaces them; none fails
    for _ in 0..60 {
        c.wallet_balance().unwrap();
    }
    s.stop();
}

#[test]
fn streams_public_books_and_tickers_and_private_order_events() {
    use std::time::Duration;

    use gridbot_bybit::ws::stream::{Lifecycle, PrivateEvent, PublicEvent, PublicHub, StreamConfig, start_private};

    let s = server();
    let env = Environment::custom(&s.base_url());
    let mut hub = PublicHub::new(StreamConfig::new(env.ws_public_linear()));
    let book = hub.subscribe(&["orderbook.50.BTCUSDT"]);
    let ticker = hub.subscribe(&["tickers.BTCUSDT"]);
    let kline = hub.subscribe(&["kline.1.BTCUSDT"]);
    let trades = hub.subscribe(&["publicTrade.BTCUSDT"]);
    let public = hub.start(Arc::new(SystemClock)).unwrap();
    let (private, events) = start_private(
        StreamConfig::new(env.ws_private()),
        Credentials::new(KEY, SECRET).unwrap(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let wait = Duration::from_secs(10);
    assert_eq!(book.recv_timeout(wait).unwrap(), PublicEvent::Lifecycle(Lifecycle::Connected));
    let first = match book.recv_timeout(wait).unwrap() {
        PublicEvent::BookTop { bid, ask, .. } => (bid.unwrap().price, ask.unwrap().price),
        other => panic!("{other:?}"),
    };
    assert!(first.0 < first.1);
    // the market moves: deltas keep the local book equal to the server's
    for _ in 0..30 {
        s.step();
    }
    let mut last = None;
    while let Ok(e) = book.recv_timeout(Duration::from_millis(500)) {
        if let PublicEvent::BookTop { bid, ask, .. } = e {
            last = Some((bid.unwrap().price, ask.unwrap().price));
        }
    }
    let server_top = s.with_engine(|e| e.best_bid_ask(&btc()).unwrap());
    assert_eq!(last.unwrap(), server_top, "book after deltas matches the server");
    let mut saw_ticker = false;
    while let Ok(e) = ticker.recv_timeout(Duration::from_millis(200)) {
        if let PublicEvent::Ticker(t) = e {
            assert_eq!(t.symbol, btc());
            saw_ticker = true;
        }
    }
    assert!(saw_ticker);
    let mut klines = 0;
    while let Ok(e) = kline.recv_timeout(Duration::from_millis(200)) {
        if let PublicEvent::Kline { candle, .. } = e {
            assert!(candle.high >= candle.low);
            klines += 1;
        }
    }
    assert!(klines > 0);
    // private: authenticated, then an order placed over REST arrives as an event within 5 s
    assert_eq!(events.recv_timeout(wait).unwrap(), PrivateEvent::Lifecycle(Lifecycle::Connected));
    assert_eq!(events.recv_timeout(wait).unwrap(), PrivateEvent::Authenticated);
    std::thread::sleep(Duration::from_millis(100)); // let the subscribe frame land
    let c = client(&s, SECRET);
    let px = bybit_btcusdt().round_buy_price(Price::new(server_top.0.as_decimal() * Decimal::new(9, 1)).unwrap());
    let placed = std::time::Instant::now();
    c.create_order(&OrderRequest::limit(
        btc(),
        Side::Buy,
        "0.001".parse().unwrap(),
        px,
        TimeInForce::PostOnly,
        PositionIdx::OneWay,
        link("ws-1"),
    ))
    .unwrap();
    loop {
        match events.recv_timeout(Duration::from_secs(5)).expect("an order event within 5 s") {
            PrivateEvent::Orders(o) if o[0].order_link_id == "ws-1" => break,
            _ => continue,
        }
    }
    assert!(placed.elapsed() < Duration::from_secs(5));
    // a market order is a public trade
    c.create_order(&OrderRequest::market(
        btc(),
        Side::Sell,
        "0.002".parse().unwrap(),
        PositionIdx::OneWay,
        link("ws-mkt"),
    ))
    .unwrap();
    let trade = loop {
        match trades.recv_timeout(Duration::from_secs(5)).expect("a public trade") {
            PublicEvent::Trades(t) => break t,
            _ => continue,
        }
    };
    assert_eq!(trade[0].taker_side, Side::Sell);
    public.stop();
    private.stop();
    s.stop();
}

#[test]
fn the_client_rides_out_injected_faults() {
    use std::time::Duration;

    use gridbot_bybit::ws::stream::{Lifecycle, PrivateEvent, PublicEvent, PublicHub, StreamConfig, start_private};
    use gridbot_sim::server::FaultConfig;

    let faults = FaultConfig {
        seed: 42,
        latency_ms: 2,
        error_rate: 0.25,
        rate_limit_every: 7,
        ws_drop_every_s: 1,
        duplicate_rate: 0.5,
        reorder_rate: 0.3,
    };
    let s = server_with(1, |c| c.faults = faults);
    let mut cc = ClientConfig::new(Environment::custom(&s.base_url()), Some(Credentials::new(KEY, SECRET).unwrap()));
    cc.retry = gridbot_bybit::rest::limits::RetryPolicy { max_attempts: 8, base_delay_ms: 5, max_delay_ms: 50 };
    let c = BybitClient::new(cc);
    // REST: every call succeeds through 503s, 10016s and 10006 bursts
    for _ in 0..30 {
        c.wallet_balance().unwrap();
    }
    let env = Environment::custom(&s.base_url());
    let (private, events) = start_private(
        StreamConfig::new(env.ws_private()),
        Credentials::new(KEY, SECRET).unwrap(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let mut hub = PublicHub::new(StreamConfig::new(env.ws_public_linear()));
    let book = hub.subscribe(&["orderbook.50.BTCUSDT"]);
    let public = hub.start(Arc::new(SystemClock)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let bid = s.with_engine(|e| e.best_bid_ask(&btc()).unwrap().0);
    let px = bybit_btcusdt().round_buy_price(Price::new(bid.as_decimal() * Decimal::new(9, 1)).unwrap());
    for i in 0..10 {
        c.create_order(&OrderRequest::limit(
            btc(),
            Side::Buy,
            "0.001".parse().unwrap(),
            px,
            TimeInForce::PostOnly,
            PositionIdx::OneWay,
            link(&format!("f{i}")),
        ))
        .unwrap();
    }
    assert_eq!(c.open_orders(&btc()).unwrap().len(), 10, "every create landed exactly once");
    // streams: dropped every second, reconnected; private events duplicated and reordered
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    let (mut reconnects, mut order_events) = (0, 0);
    while std::time::Instant::now() < deadline {
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(PrivateEvent::Lifecycle(Lifecycle::Reconnected)) => reconnects += 1,
            Ok(PrivateEvent::Orders(o)) => order_events += o.len(),
            _ => {}
        }
    }
    assert!(reconnects >= 2, "private stream reconnected {reconnects} times");
    assert!(order_events > 0);
    let mut public_reconnects = 0;
    while let Ok(e) = book.recv_timeout(Duration::from_millis(100)) {
        if e == PublicEvent::Lifecycle(Lifecycle::Reconnected) {
            public_reconnects += 1;
        }
    }
    assert!(public_reconnects >= 1);
    assert!(s.faults_injected() > 10, "{} faults injected", s.faults_injected());
    public.stop();
    private.stop();
    s.stop();
}

/// One raw HTTP/1.1 request; returns (status, body).
fn raw(addr: &str, method: &str, target: &str, headers: &[(&str, String)], body: &str) -> (u16, String) {
    raw_bytes(addr, method, target, headers, body.as_bytes())
}

fn raw_bytes(addr: &str, method: &str, target: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body: a write error is not the test's.
    let _ = s.write_all(body);
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let out = String::from_utf8_lossy(&bytes).into_owned();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

fn signed_headers(payload: &str) -> Vec<(&'static str, String)> {
    let ts = gridbot_core::Clock::now_ms(&SystemClock);
    vec![
        ("X-BAPI-API-KEY", KEY.to_owned()),
        ("X-BAPI-TIMESTAMP", ts.to_string()),
        ("X-BAPI-RECV-WINDOW", "5000".to_owned()),
        ("X-BAPI-SIGN", gridbot_bybit::sign::sign_rest(SECRET, ts, KEY, 5000, payload)),
        ("Content-Type", "application/json".to_owned()),
    ]
}

#[test]
fn malformed_requests_get_bybit_errors_and_the_server_keeps_serving() {
    let s = server();
    let addr = s.addr().to_string();
    let code = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap()["retCode"].as_i64().unwrap();
    let bad_json = r#"{"category":"linear","#;
    let (status, body) = raw(&addr, "POST", "/v5/order/create", &signed_headers(bad_json), bad_json);
    assert_eq!((status, code(&body)), (200, 10_001), "{body}");
    let bad_qty =
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"abc","price":"30000"}"#;
    let (_, body) = raw(&addr, "POST", "/v5/order/create", &signed_headers(bad_qty), bad_qty);
    assert_eq!(code(&body), 10_001);
    assert!(body.contains("qty"), "{body}");
    let no_side = r#"{"category":"linear","symbol":"BTCUSDT","orderType":"Limit","qty":"0.001","price":"30000"}"#;
    let (_, body) = raw(&addr, "POST", "/v5/order/create", &signed_headers(no_side), no_side);
    assert!(code(&body) == 10_001 && body.contains("side is required"), "{body}");
    let (_, body) = raw(&addr, "GET", "/v5/market/kline?category=linear&interval=1", &[], "");
    assert!(code(&body) == 10_001 && body.contains("symbol is required"), "{body}");
    let (_, body) = raw(&addr, "GET", "/v5/market/orderbook?category=linear&symbol=NOPEUSDT", &[], "");
    assert!(code(&body) == 10_001 && body.contains("symbol invalid"), "{body}");
    let (_, body) = raw(&addr, "GET", "/v5/market/kline?category=linear&symbol=BTCUSDT&interval=7", &[], "");
    assert_eq!(code(&body), 10_001);
    let (status, body) = raw(&addr, "GET", "/v5/no/such/route", &[], "");
    assert_eq!((status, code(&body)), (404, 10_017), "Bybit's envelope on a 404 too: {body}");
    // A body that is not UTF-8 is a malformed request (10001), not a signature error (10004).
    let latin1: &[u8] = b"{\"category\":\"linear\",\"symbol\":\"BTC\xe9USDT\"}";
    let (status, body) = raw_bytes(&addr, "POST", "/v5/order/create", &signed_headers("x"), latin1);
    assert_eq!((status, code(&body)), (200, 10_001), "{body}");
    // Too large: HTTP 413, still in Bybit's envelope.
    let huge = vec![b' '; 3 << 20];
    let (status, body) = raw_bytes(&addr, "POST", "/v5/order/create", &signed_headers("x"), &huge);
    assert_eq!((status, code(&body)), (413, 10_001), "{body}");
    let (_, body) = raw(
        &addr,
        "GET",
        "/v5/account/wallet-balance?accountType=UNIFIED",
        &[("X-BAPI-API-KEY", "unknown".to_owned())],
        "",
    );
    assert_eq!(code(&body), 10_003);
    // still serving
    let (status, body) = raw(&addr, "GET", "/v5/market/time", &[], "");
    assert_eq!((status, code(&body)), (200, 0));
    s.stop();
}

#[test]
fn websocket_mistakes_get_answers_not_silence() {
    use tungstenite::Message;
    let s = server();
    let (mut ws, _) = tungstenite::connect(format!("ws://{}/v5/public/linear", s.addr())).unwrap();
    let mut answer = |msg: Message| -> serde_json::Value {
        ws.send(msg).unwrap();
        loop {
            if let Message::Text(t) = ws.read().unwrap() {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    };
    let binary = answer(Message::Binary(vec![1, 2, 3].into()));
    assert_eq!(binary["success"], false, "{binary}");
    assert!(binary["ret_msg"].as_str().unwrap().contains("binary"), "{binary}");
    for bad in [
        r#"{"op":"subscribe"}"#,
        r#"{"op":"subscribe","args":[]}"#,
        r#"{"op":"subscribe","args":[1]}"#,
        r#"{"op":"subscribe","args":"orderbook.1.BTCUSDT"}"#,
    ] {
        let reply = answer(Message::Text(bad.into()));
        assert_eq!(
            (reply["success"].clone(), reply["op"].clone()),
            (false.into(), "subscribe".into()),
            "{bad}: {reply}"
        );
    }
    let unknown = answer(Message::Text(r#"{"op":"subscribe","args":["orderbook.1.NOPE!"]}"#.into()));
    assert_eq!(unknown["success"], false, "{unknown}");
    // Still serving.
    let pong = answer(Message::Text(r#"{"op":"ping","req_id":"7"}"#.into()));
    assert_eq!((pong["ret_msg"].clone(), pong["req_id"].clone()), ("pong".into(), "7".into()), "{pong}");
    s.stop();
}

#[test]
fn the_filters_clients_send_are_honoured() {
    let s = server();
    let addr = s.addr().to_string();
    let json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap();
    let count = |body: &str| json(body)["result"]["list"].as_array().map_or(0, Vec::len);
    let get = |path: &str, query: &str| raw(&addr, "GET", &format!("{path}?{query}"), &signed_headers(query), "");
    let (_, body) = get("/v5/market/instruments-info", "category=linear&status=Trading");
    assert_eq!(count(&body), 1, "{body}");
    let (_, body) = get("/v5/market/instruments-info", "category=linear&status=PreLaunch");
    assert_eq!(count(&body), 0, "{body}");
    let (_, body) = get("/v5/market/instruments-info", "category=linear&baseCoin=ETH");
    assert_eq!(count(&body), 0, "{body}");
    // Orders: one filled, one resting.
    let c = client(&s, SECRET);
    c.switch_mode(&btc(), PositionMode::Hedge).unwrap();
    let mid = c.orderbook_top(&btc()).unwrap().bid.unwrap().price;
    let buy = |id: &str, price| {
        OrderRequest::limit(
            btc(),
            Side::Buy,
            "0.001".parse().unwrap(),
            price,
            TimeInForce::Gtc,
            PositionIdx::Long,
            link(id),
        )
    };
    c.create_order(&buy("filt-rest", mid.checked_sub(Decimal::from(500)).unwrap())).unwrap();
    c.create_order(&OrderRequest::market(
        btc(),
        Side::Buy,
        "0.001".parse().unwrap(),
        PositionIdx::Long,
        link("filt-fill"),
    ))
    .unwrap();
    let (_, body) = get("/v5/order/history", "category=linear&symbol=BTCUSDT&orderStatus=Filled");
    let list = json(&body)["result"]["list"].as_array().cloned().unwrap_or_default();
    assert!(!list.is_empty() && list.iter().all(|o| o["orderStatus"] == "Filled"), "{body}");
    let (_, body) = get("/v5/order/history", "category=linear&symbol=BTCUSDT&orderStatus=New,Filled");
    assert_eq!(count(&body), 2, "{body}");
    let (_, body) = get("/v5/order/realtime", "category=linear&symbol=BTCUSDT&orderFilter=StopOrder");
    assert_eq!(count(&body), 0, "no conditional orders here: {body}");
    let (_, body) = get("/v5/execution/list", "category=linear&symbol=BTCUSDT&orderLinkId=filt-rest");
    assert_eq!(count(&body), 0, "{body}");
    let (_, body) = get("/v5/execution/list", "category=linear&symbol=BTCUSDT&orderLinkId=filt-fill");
    assert_eq!(count(&body), 1, "{body}");
    s.stop();
}

#[test]
fn a_silent_connection_is_closed_and_a_talking_one_is_not() {
    use std::io::{Read, Write};
    let s = server_with(1, |c| c.idle_timeout = std::time::Duration::from_millis(600));
    // Half-open: connects, never sends a request.
    let mut silent = std::net::TcpStream::connect(s.addr()).unwrap();
    silent.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let n = silent.read(&mut byte).unwrap_or(0);
    assert_eq!(n, 0, "closed by the server, not answered");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "closed after the idle timeout: {:?}",
        started.elapsed()
    );
    // A client that keeps talking keeps its connection (keep-alive requests 300 ms apart).
    let mut talking = std::net::TcpStream::connect(s.addr()).unwrap();
    for _ in 0..4 {
        talking.write_all(format!("GET /v5/market/time HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr()).as_bytes()).unwrap();
        let mut reply = [0u8; 512];
        let n = talking.read(&mut reply).unwrap();
        assert!(String::from_utf8_lossy(&reply[..n]).starts_with("HTTP/1.1 200"));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    s.stop();
}
