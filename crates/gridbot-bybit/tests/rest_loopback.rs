//! The REST client against a small scripted HTTP server on 127.0.0.1: retries on 5xx, 10006
//! waits for the reset timestamp, 10002 resynchronises the clock, no retry on 110007,
//! pagination over three pages, 7-day windowing, undecodable bodies, and every request's
//! signature checked server-side on the raw bytes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gridbot_bybit::rest::limits::RetryPolicy;
use gridbot_bybit::sign::sign_rest;
use gridbot_bybit::{BybitClient, BybitError, ClientConfig, Credentials, Environment, Pause};
use gridbot_core::{Clock, ErrorAction, ManualClock, Symbol, TimeWindow};

const KEY: &str = "testApiKey123";
const SECRET: &str = "testSecret456";
const T0: i64 = 1_700_000_000_000;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Seen {
    fn param(&self, key: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned))
    }

    /// Recomputes the signature from the raw query/body bytes, as Bybit does.
    fn signature_valid(&self) -> bool {
        let (Some(ts), Some(rw), Some(sign)) = (
            self.headers.get("x-bapi-timestamp"),
            self.headers.get("x-bapi-recv-window"),
            self.headers.get("x-bapi-sign"),
        ) else {
            return false;
        };
        let payload = if self.method == "GET" { &self.query } else { &self.body };
        sign_rest(SECRET, ts.parse().unwrap(), KEY, rw.parse().unwrap(), payload) == *sign
    }
}

type Reply = (u16, Vec<(String, String)>, String);
type Script = Box<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _server: Arc<tiny_http::Server>,
}

fn serve(script: Script) -> Server {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let (s, log) = (server.clone(), seen.clone());
    std::thread::spawn(move || {
        for mut request in s.incoming_requests() {
            let (path, query) = match request.url().split_once('?') {
                Some((p, q)) => (p.to_owned(), q.to_owned()),
                None => (request.url().to_owned(), String::new()),
            };
            let headers = request
                .headers()
                .iter()
                .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
                .collect();
            let mut body = String::new();
            request.as_reader().read_to_string(&mut body).unwrap();
            let item = Seen { method: request.method().as_str().to_owned(), path, query, headers, body };
            let n = {
                let mut l = log.lock().unwrap();
                l.push(item.clone());
                l.len() - 1
            };
            let (status, extra, reply) = script(&item, n);
            let mut response = tiny_http::Response::from_string(reply).with_status_code(status);
            for (k, v) in extra {
                response = response.with_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap());
            }
            let _ = request.respond(response);
        }
    });
    Server { url, seen, _server: server }
}

fn ok(result: &str) -> String {
    format!(r#"{{"retCode":0,"retMsg":"OK","result":{result},"retExtInfo":{{}},"time":{T0}}}"#)
}

fn err(code: i64, msg: &str) -> String {
    format!(r#"{{"retCode":{code},"retMsg":"{msg}","result":{{}},"retExtInfo":{{}},"time":{T0}}}"#)
}

/// A pause that advances the manual clock instead of sleeping, and records the total.
struct AdvanceClock {
    clock: Arc<ManualClock>,
    paused: AtomicU64,
}

impl Pause for AdvanceClock {
    fn pause(&self, ms: u64) {
        self.paused.fetch_add(ms, Ordering::SeqCst);
        self.clock.advance(i64::try_from(ms).unwrap());
    }
}

fn client(url: &str) -> (BybitClient, Arc<ManualClock>, Arc<AdvanceClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let pause = Arc::new(AdvanceClock { clock: clock.clone(), paused: AtomicU64::new(0) });
    let mut config = ClientConfig::new(Environment::custom(url), Some(Credentials::new(KEY, SECRET).unwrap()));
    config.clock = clock.clone();
    config.pause = pause.clone();
    config.retry = RetryPolicy { max_attempts: 4, base_delay_ms: 100, max_delay_ms: 1_000 };
    (BybitClient::new(config), clock, pause)
}

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

const WALLET: &str = r#"{"list":[{"accountType":"UNIFIED","totalEquity":"100","totalWalletBalance":"100","totalMarginBalance":"100","totalAvailableBalance":"100","totalPerpUPL":"0","totalInitialMargin":"0","totalMaintenanceMargin":"0","accountIMRate":"0","accountMMRate":"0","coin":[]}]}"#;

#[test]
fn retries_5xx_with_backoff_and_re_signs_every_attempt() {
    let server =
        serve(Box::new(|_, n| if n < 2 { (502, vec![], "bad gateway".into()) } else { (200, vec![], ok(WALLET)) }));
    let (c, _, pause) = client(&server.url);
    let wallet = c.wallet_balance().unwrap();
    assert_eq!(wallet.total_equity.to_string(), "100");
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(Seen::signature_valid), "each attempt is signed over its own timestamp");
    let stamps: Vec<_> = seen.iter().map(|s| s.headers["x-bapi-timestamp"].clone()).collect();
    assert!(stamps[0] < stamps[1] && stamps[1] < stamps[2], "{stamps:?}");
    // backoff: 100·2⁰ and 100·2¹, each at least half, jittered
    let paused = pause.paused.load(Ordering::SeqCst);
    assert!((50 + 100..=100 + 200).contains(&paused), "{paused}");
}

#[test]
fn gives_up_after_max_attempts_with_the_last_status() {
    let server = serve(Box::new(|_, _| (503, vec![], "unavailable".into())));
    let (c, _, _) = client(&server.url);
    let e: gridbot_core::ExchangeError = c.wallet_balance().unwrap_err().into();
    assert_eq!(e.action(), ErrorAction::Retry);
    assert_eq!(e.detail().http_status, Some(503));
    assert_eq!(server.seen.lock().unwrap().len(), 4);
}

#[test]
fn rate_limit_10006_waits_for_the_reset_timestamp() {
    let reset = T0 + 750;
    let server = serve(Box::new(move |_, n| {
        if n == 0 {
            (
                200,
                vec![
                    ("X-Bapi-Limit-Status".into(), "0".into()),
                    ("X-Bapi-Limit-Reset-Timestamp".into(), reset.to_string()),
                ],
                err(10006, "Too many visits!"),
            )
        } else {
            (200, vec![], ok(WALLET))
        }
    }));
    let (c, clock, _) = client(&server.url);
    c.wallet_balance().unwrap();
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let second: i64 = seen[1].headers["x-bapi-timestamp"].parse().unwrap();
    assert!(second >= reset, "retried at {second}, before the reset {reset}");
    assert!(clock.now_ms() >= reset);
}

#[test]
fn timestamp_error_10002_resyncs_the_clock_and_retries() {
    let server_ahead = 20_000;
    let server = serve(Box::new(move |seen, _| {
        if seen.path == "/v5/market/time" {
            let now = T0 + server_ahead;
            return (
                200,
                vec![],
                ok(&format!(r#"{{"timeSecond":"{}","timeNano":"{}"}}"#, now / 1000, i128::from(now) * 1_000_000)),
            );
        }
        let ts: i64 = seen.headers["x-bapi-timestamp"].parse().unwrap();
        let now = T0 + server_ahead;
        if now - 5_000 <= ts && ts < now + 1_000 {
            (200, vec![], ok(WALLET))
        } else {
            (200, vec![], err(10002, "invalid request, please check your server timestamp"))
        }
    }));
    let (c, _, _) = client(&server.url);
    c.wallet_balance().unwrap();
    assert_eq!(c.clock_offset_ms(), server_ahead);
    let paths: Vec<_> = server.seen.lock().unwrap().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/v5/account/wallet-balance", "/v5/market/time", "/v5/account/wallet-balance"]);
}

#[test]
fn deterministic_rejections_are_not_retried() {
    let server = serve(Box::new(|_, _| (200, vec![], err(110_007, "ab not enough for new order"))));
    let (c, _, _) = client(&server.url);
    let order = gridbot_core::OrderRequest::limit(
        btc(),
        gridbot_core::Side::Buy,
        "0.001".parse().unwrap(),
        "30000".parse().unwrap(),
        gridbot_core::TimeInForce::PostOnly,
        gridbot_core::PositionIdx::Long,
        gridbot_core::OrderLinkId::new("grid-1").unwrap(),
    );
    let e = c.create_order(&order).unwrap_err();
    let BybitError::Exchange(e) = e else { panic!("{e:?}") };
    assert_eq!(e.action(), ErrorAction::FixRequest);
    assert_eq!(e.detail().ret_code, Some(110_007));
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].signature_valid());
    assert_eq!(
        seen[0].body,
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","timeInForce":"PostOnly","positionIdx":1,"orderLinkId":"grid-1","reduceOnly":false}"#
    );
    assert!(!format!("{e}").contains(SECRET));
}

#[test]
fn not_modified_counts_as_success() {
    let server = serve(Box::new(|_, _| (200, vec![], err(110_043, "Set leverage has not been modified."))));
    let (c, _, _) = client(&server.url);
    c.set_leverage(&btc(), 5.into(), 5.into()).unwrap();
    assert_eq!(
        server.seen.lock().unwrap()[0].body,
        r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"5","sellLeverage":"5"}"#
    );
}

fn order_json(id: usize) -> String {
    format!(
        r#"{{"orderId":"{id}","orderLinkId":"l{id}","symbol":"BTCUSDT","price":"30000","qty":"0.001","side":"Buy","positionIdx":1,"orderStatus":"New","cancelType":"UNKNOWN","rejectReason":"EC_NoError","avgPrice":"","leavesQty":"0.001","cumExecQty":"0","cumExecValue":"0","cumExecFee":"0","timeInForce":"GTC","orderType":"Limit","reduceOnly":false,"createdTime":"{T0}","updatedTime":"{T0}"}}"#
    )
}

#[test]
fn pagination_follows_the_cursor_over_three_pages() {
    let server = serve(Box::new(|seen, _| {
        let (ids, next) = match seen.param("cursor").as_deref() {
            None => ([1, 2], "page_args%3D2"),
            Some("page_args%3D2") => ([3, 4], "page_args%3D4"),
            Some("page_args%3D4") => ([5, 6], ""),
            Some(other) => panic!("unexpected cursor {other}"),
        };
        let list: Vec<String> = ids.iter().map(|&i| order_json(i)).collect();
        (200, vec![], ok(&format!(r#"{{"category":"linear","list":[{}],"nextPageCursor":"{next}"}}"#, list.join(","))))
    }));
    let (c, _, _) = client(&server.url);
    let orders = c.open_orders(&btc()).unwrap();
    assert_eq!(orders.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(), ["1", "2", "3", "4", "5", "6"]);
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(Seen::signature_valid), "the raw cursor is part of the signed query");
}

#[test]
fn history_is_queried_in_seven_day_windows() {
    let server = serve(Box::new(|_, _| (200, vec![], ok(r#"{"category":"linear","list":[],"nextPageCursor":""}"#))));
    let (c, _, _) = client(&server.url);
    let day = 86_400_000;
    c.executions(&btc(), TimeWindow { start_ms: T0, end_ms: T0 + 20 * day }).unwrap();
    let seen = server.seen.lock().unwrap();
    let windows: Vec<(i64, i64)> = seen
        .iter()
        .map(|s| (s.param("startTime").unwrap().parse().unwrap(), s.param("endTime").unwrap().parse().unwrap()))
        .collect();
    assert_eq!(windows, [(T0, T0 + 7 * day - 1), (T0 + 7 * day, T0 + 14 * day - 1), (T0 + 14 * day, T0 + 20 * day)]);
    assert!(seen.iter().all(|s| s.path == "/v5/execution/list"));
}

#[test]
fn an_undecodable_body_is_a_typed_error_naming_the_endpoint() {
    let server = serve(Box::new(|_, _| (200, vec![], "<html>oops</html>".into())));
    let (c, _, _) = client(&server.url);
    match c.positions(&btc()) {
        Err(BybitError::Decode(d)) => assert_eq!(d.endpoint, "/v5/position/list"),
        other => panic!("{other:?}"),
    }
    let e: gridbot_core::ExchangeError = c.positions(&btc()).unwrap_err().into();
    assert_eq!(e.action(), ErrorAction::Reconcile);
}

#[test]
fn public_endpoints_are_unsigned_and_private_ones_need_credentials() {
    let server =
        serve(Box::new(|_, _| (200, vec![], ok(r#"{"timeSecond":"1700000000","timeNano":"1700000000123456789"}"#))));
    let mut config = ClientConfig::new(Environment::custom(&server.url), None);
    config.retry = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
    let c = BybitClient::new(config);
    assert_eq!(c.server_time().unwrap(), 1_700_000_000_123);
    assert!(!server.seen.lock().unwrap()[0].headers.contains_key("x-bapi-sign"));
    assert!(matches!(c.wallet_balance(), Err(BybitError::NoCredentials { .. })));
    assert!(
        !format!("{:?}", ClientConfig::new(Environment::Mainnet, Some(Credentials::new(KEY, SECRET).unwrap())))
            .contains(SECRET)
    );
    let _ = ManualClock::new(0).now_ms();
}

/// A kline page as Bybit sends it: newest first, `[start, open, high, low, close, volume, turnover]`.
fn kline_page(newest_ms: i64, count: i64) -> String {
    let rows: Vec<String> =
        (0..count).map(|k| format!(r#"["{}","1","1","1","1","1","1"]"#, newest_ms - k * 60_000)).collect();
    ok(&format!(r#"{{"category":"linear","symbol":"BTCUSDT","list":[{}]}}"#, rows.join(",")))
}

#[test]
fn a_server_that_ignores_the_window_gets_a_clear_error_not_a_request_loop() {
    use gridbot_core::{Exchange, Interval, KlineQuery};
    // Always the same 1000 newest minutes, whatever start/end say.
    let server = serve(Box::new(|_, _| (200, vec![], kline_page(T0, 1000))));
    let (c, _, _) = client(&server.url);
    let query = KlineQuery {
        symbol: btc(),
        interval: Interval::M1,
        window: TimeWindow { start_ms: T0 - 30 * 86_400_000, end_ms: T0 },
    };
    let err = c.klines(&query).unwrap_err().to_string();
    assert!(err.contains("/v5/market/kline") && err.contains("did not move"), "{err}");
    assert_eq!(server.seen.lock().unwrap().len(), 2, "stopped at the first page that did not move back");
}

#[test]
fn a_cursor_loop_is_stopped() {
    let server = serve(Box::new(|seen, _| {
        let next = if seen.param("cursor").as_deref() == Some("a") { "b" } else { "a" };
        (200, vec![], ok(&format!(r#"{{"category":"linear","list":[{}],"nextPageCursor":"{next}"}}"#, order_json(1))))
    }));
    let (c, _, _) = client(&server.url);
    let err = c.open_orders(&btc()).unwrap_err().to_string();
    assert!(err.contains("came back"), "{err}");
    assert!(server.seen.lock().unwrap().len() <= 4);
}

#[test]
fn a_window_walk_is_bounded_by_what_the_window_can_hold() {
    use gridbot_core::{Exchange, Interval, KlineQuery};
    // Each page moves back a little, but never gets there: a full page of 1000 one-minute
    // candles ending just before the last page's oldest — more pages than 3 days can hold.
    let server = serve(Box::new(|seen, _| {
        let end: i64 = seen.param("end").unwrap().parse().unwrap();
        (200, vec![], kline_page(end - 1, 1000))
    }));
    let (c, _, _) = client(&server.url);
    let query = KlineQuery {
        symbol: btc(),
        interval: Interval::D1,
        window: TimeWindow { start_ms: T0 - 3 * 86_400_000, end_ms: T0 },
    };
    let err = c.klines(&query).unwrap_err().to_string();
    assert!(err.contains("pages"), "{err}");
    assert!(server.seen.lock().unwrap().len() <= 2);
}
