//! The web surfaces over real HTTP on 127.0.0.1, against an account's real files: status and
//! metrics read the snapshot and the journal; stop and resume need the token and write the
//! same flag files as `gridbot stop`/`resume`; off loopback every read needs the token too.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use gridbot_core::{Symbol, Wallet};
use gridbot_engine::config::{BotConfig, load_bot};
use gridbot_state::{AccountSnapshot, Journal, LegState, SnapshotStore, SymbolState};
use gridbot_web::{WebError, WebServer};

const TOKEN: &str = "web-test-token-5f0c2a9e";

fn account_yaml(id: &str) -> String {
    format!(
        "account_id: {id}\nenvironment: sim\nbase_url: http://127.0.0.1:9\napi_key: key\napi_secret: secret\nsymbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.002\"\n      max_levels: 5\n      step_scale_factor: 0.1\n      take_profit: 0.002\n"
    )
}

/// A bot file of one account `acca` with `web` as its web section, and files for the account.
fn setup(tag: &str, web: &str) -> BotConfig {
    let dir = std::env::temp_dir().join(format!("gridbot-web-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), account_yaml("acca")).unwrap();
    std::fs::write(dir.join("bot.yaml"), format!("data_dir: var\naccounts: [a.yaml]\n{web}")).unwrap();
    let env = HashMap::from([("WEB_TOKEN".to_owned(), TOKEN.to_owned())]);
    let config = load_bot(&dir.join("bot.yaml"), &env).unwrap();
    let account_dir = config.account_dir("acca");
    std::fs::create_dir_all(&account_dir).unwrap();
    let mut snapshot = AccountSnapshot::new("acca", 1);
    let long = LegState {
        cycle: 4,
        level: Some(2),
        anchor: Some("60000".parse().unwrap()),
        avg_entry: Some("59000.5".parse().unwrap()),
        size: "0.014".parse().unwrap(),
        ..LegState::default()
    };
    let short = LegState { cycle: 1, ..LegState::default() };
    snapshot.symbols.insert(
        Symbol::new("BTCUSDT").unwrap(),
        SymbolState {
            plan: None,
            long,
            short,
            risk: Default::default(),
            orders: vec![],
            classic: None,
            classic_trigger: None,
        },
    );
    SnapshotStore::new(&account_dir, "acca").save(&snapshot).unwrap();
    let journal = Journal::open(&account_dir.join("journal.sqlite")).unwrap();
    let wallet = Wallet {
        total_equity: "100123.45".parse().unwrap(),
        total_wallet_balance: "100000".parse().unwrap(),
        total_margin_balance: "100123.45".parse().unwrap(),
        total_available_balance: "99000".parse().unwrap(),
        total_perp_upl: "123.45".parse().unwrap(),
        total_initial_margin: "1000".parse().unwrap(),
        total_maintenance_margin: "50".parse().unwrap(),
        account_im_rate: "0.01".parse().unwrap(),
        account_mm_rate: "0.0005".parse().unwrap(),
        coins: vec![],
    };
    journal.record_equity(&wallet, 1_750_000_000_000).unwrap();
    config
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// (status, content type, body).
fn get(url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = agent().get(url);
    if let Some(t) = token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    let mut response = request.call().unwrap();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status().as_u16(), content_type, response.body_mut().read_to_string().unwrap())
}

fn post(url: &str, token: Option<&str>, body: &str) -> (u16, String, bool) {
    let mut request = agent().post(url);
    if let Some(t) = token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    let mut response = request.send(body).unwrap();
    let challenged = response.headers().contains_key("www-authenticate");
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap(), challenged)
}

fn flag(config: &BotConfig) -> PathBuf {
    config.account_dir("acca").join("EMERGENCY_STOP")
}

#[test]
fn status_metrics_and_token_guarded_stop_and_resume() {
    let config = Arc::new(setup("main", "web:\n  bind: 127.0.0.1:0\n  token: ${WEB_TOKEN}\n"));
    let server = WebServer::start(Arc::clone(&config), config.web.as_ref().unwrap()).unwrap();
    let base = format!("http://{}", server.addr());
    assert_ne!(server.addr().port(), 0, "the real port is reported");

    assert_eq!(get(&format!("{base}/healthz"), None).2, "ok\n");
    let (code, content_type, metrics) = get(&format!("{base}/metrics"), None);
    assert_eq!((code, content_type.as_str()), (200, gridbot_web::metrics::CONTENT_TYPE));
    for line in [
        "gridbot_account_running{account=\"acca\"} 0",
        "gridbot_account_emergency_stop{account=\"acca\"} 0",
        "gridbot_executions_total{account=\"acca\"} 0",
        "gridbot_equity_usdt{account=\"acca\"} 100123.45",
        "gridbot_leg_level{account=\"acca\",symbol=\"BTCUSDT\",leg=\"long\"} 2",
        "gridbot_leg_size{account=\"acca\",symbol=\"BTCUSDT\",leg=\"long\"} 0.014",
        "gridbot_leg_cycle{account=\"acca\",symbol=\"BTCUSDT\",leg=\"long\"} 4",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line}:\n{metrics}");
    }
    let (code, content_type, body) = get(&format!("{base}/api/status"), None);
    assert_eq!((code, content_type.as_str()), (200, "application/json"));
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status[0]["account"], "acca");
    assert_eq!(status[0]["symbols"][0]["long"]["level"], 2);
    assert_eq!(status[0]["symbols"][0]["long"]["avg_entry"], "59000.5");
    let (code, _, body) = get(&format!("{base}/api/accounts/acca"), None);
    assert_eq!(code, 200);
    let account: serde_json::Value = serde_json::from_str(&body).unwrap();
    // Named fields, not positional lists; times also as ISO-8601 UTC.
    assert_eq!(account["equity"]["usdt"], "100123.45");
    assert!(account["equity"]["at"].as_str().unwrap().ends_with('Z'), "{account}");
    assert!(account["realised_pnl"]["total"].is_string() && account["realised_pnl"]["day"].is_string(), "{account}");
    assert_eq!(get(&format!("{base}/api/accounts/nobody"), None).0, 404);
    // A page whose name was re-bound to 127.0.0.1 reads nothing (DNS rebinding).
    let rebound = agent().get(&format!("{base}/api/status")).header("Host", "evil.example").call().unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    let by_name = format!("http://localhost:{}/metrics", server.addr().port());
    assert_eq!(agent().get(&by_name).call().unwrap().status().as_u16(), 200);
    assert_eq!(get(&format!("{base}/nothing/here"), None).0, 404);
    assert_eq!(agent().get(&format!("{base}/api/accounts/acca/stop")).call().unwrap().status().as_u16(), 405);

    // Stop: no token, a wrong one, a truncated one — refused, nothing written.
    let stop = format!("{base}/api/accounts/acca/stop");
    for token in [None, Some("wrong-token-0000000000"), Some(&TOKEN[..TOKEN.len() - 1])] {
        let (code, body, challenged) = post(&stop, token, "");
        assert_eq!((code, challenged), (401, true), "{body}");
        assert!(!body.contains(TOKEN), "the token is never echoed");
        assert!(!flag(&config).exists());
    }
    assert_eq!(post(&format!("{base}/api/accounts/nobody/stop"), Some(TOKEN), "").0, 404);
    assert_eq!(post(&stop, Some(TOKEN), "{not json").0, 400);
    assert!(!flag(&config).exists());
    let (code, body, _) = post(&stop, Some(TOKEN), r#"{"reason": "CPI print"}"#);
    assert_eq!(code, 200, "{body}");
    let text = std::fs::read_to_string(flag(&config)).unwrap();
    assert!(text.contains("web API: CPI print"), "{text}");
    assert!(get(&format!("{base}/metrics"), None).2.contains("gridbot_account_emergency_stop{account=\"acca\"} 1"));

    // Resume lifts the flag and leaves the request a running bot consumes.
    let resume = format!("{base}/api/accounts/acca/resume");
    assert_eq!(post(&resume, None, "").0, 401);
    assert!(flag(&config).exists());
    let (code, body, _) = post(&resume, Some(TOKEN), "");
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["was_on"], true);
    assert!(!flag(&config).exists());
    assert!(config.account_dir("acca").join("RESUME").exists());
    server.stop();
}

#[test]
fn without_a_token_nothing_can_be_changed() {
    let config = Arc::new(setup("notoken", "web:\n  bind: 127.0.0.1:0\n"));
    let server = WebServer::start(Arc::clone(&config), config.web.as_ref().unwrap()).unwrap();
    let base = format!("http://{}", server.addr());
    assert_eq!(get(&format!("{base}/metrics"), None).0, 200);
    let (code, body, _) = post(&format!("{base}/api/accounts/acca/stop"), Some(TOKEN), "");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("web.token"), "{body}");
    assert!(!flag(&config).exists());
}

#[test]
fn off_loopback_every_read_needs_the_token() {
    let config = Arc::new(setup("open", "web:\n  bind: 0.0.0.0:0\n  token: ${WEB_TOKEN}\n"));
    let server = WebServer::start(Arc::clone(&config), config.web.as_ref().unwrap()).unwrap();
    let base = format!("http://127.0.0.1:{}", server.addr().port());
    assert_eq!(get(&format!("{base}/healthz"), None).0, 200);
    for path in ["/metrics", "/api/status", "/api/accounts/acca"] {
        assert_eq!(get(&format!("{base}{path}"), None).0, 401, "{path}");
        assert_eq!(get(&format!("{base}{path}"), Some(TOKEN)).0, 200, "{path}");
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = Arc::new(setup("taken", &format!("web:\n  bind: 127.0.0.1:{port}\n  token: ${{WEB_TOKEN}}\n")));
    let err = WebServer::start(Arc::clone(&config), config.web.as_ref().unwrap()).unwrap_err();
    assert!(matches!(err, WebError::Bind { .. }));
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")) && !text.contains(TOKEN), "{text}");
    assert!(!format!("{config:?}").contains(TOKEN), "Debug output hides the token");
}

#[test]
fn the_pages_json_follows_the_files_and_recentre_is_guarded() {
    let config = Arc::new(setup("pages", "web:\n  bind: 127.0.0.1:0\n  token: ${WEB_TOKEN}\n"));
    let server = WebServer::start(Arc::clone(&config), config.web.as_ref().unwrap()).unwrap();
    let base = format!("http://{}", server.addr());
    let json = |path: &str| -> serde_json::Value {
        let (code, _, body) = get(&format!("{base}{path}"), None);
        assert_eq!(code, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let status = json("/api/accounts/acca");
    assert_eq!(status["executions"], 0);
    assert_eq!(status["wallet"]["im_rate"], "0.01");
    // A fill written while the server runs shows on the next read (the journal read from where
    // it stopped), in the status, the history and its CSV.
    let journal = Journal::open(&config.account_dir("acca").join("journal.sqlite")).unwrap();
    let fill = gridbot_core::Execution {
        exec_id: "e1".into(),
        order_id: "o1".into(),
        order_link_id: "l,1".into(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: gridbot_core::Side::Sell,
        exec_type: gridbot_core::ExecType::Trade,
        order_type: gridbot_core::OrderType::Limit,
        exec_price: "60000".parse().unwrap(),
        exec_qty: "0.002".parse().unwrap(),
        exec_value: "120".parse().unwrap(),
        exec_fee: "0.024".parse().unwrap(),
        fee_rate: "0.0002".parse().unwrap(),
        is_maker: true,
        closed_size: "0.002".parse().unwrap(),
        exec_time_ms: 1_750_000_060_000,
    };
    journal.record_execution(&fill, Some("1.5".parse().unwrap())).unwrap();
    let status = json("/api/accounts/acca");
    assert_eq!(status["executions"], 1);
    assert_eq!(status["realised_pnl"]["total"], "1.476");
    assert_eq!(status["last_fill"]["side"], "Sell");
    let page = json("/api/accounts/acca/trades?symbol=BTCUSDT&side=Sell&day=2025-06-15");
    assert_eq!(page["total"], 1);
    assert_eq!(page["rows"][0]["realised_pnl"], "1.5");
    assert_eq!(json("/api/accounts/acca/trades?side=Buy")["total"], 0);
    assert_eq!(get(&format!("{base}/api/accounts/acca/trades?side=long"), None).0, 400);
    let (code, content_type, csv) = get(&format!("{base}/api/accounts/acca/trades.csv"), None);
    assert_eq!((code, content_type.as_str()), (200, "text/csv; charset=utf-8"));
    assert!(csv.lines().nth(1).unwrap().contains(",BTCUSDT,Sell,Trade,60000,0.002,0.024,true,1.5,\"l,1\",e1"), "{csv}");
    // The ladder of a progressive leg without a plan: its legs and no levels; equity; risk.
    let ladder = json("/api/accounts/acca/symbols/BTCUSDT");
    assert_eq!(ladder["legs"][0]["avg_entry"], "59000.5");
    assert_eq!(get(&format!("{base}/api/accounts/acca/symbols/ETHUSDT"), None).0, 404);
    assert_eq!(json("/api/accounts/acca/equity")["rows"], 1);
    assert_eq!(json("/api/accounts/acca/risk")["params"]["im_rate_block"], 0.9);
    let settings = get(&format!("{base}/api/accounts/acca/settings"), None).2;
    assert!(settings.contains("BTCUSDT") && !settings.contains("secret") && !settings.contains(TOKEN), "{settings}");
    let (_, _, html) = get(&format!("{base}/"), None);
    assert!(html.contains("<main id=\"main\">"));

    // Recentre: the token, a classic grid, a known profile.
    let recentre = format!("{base}/api/accounts/acca/symbols/BTCUSDT/recentre");
    assert_eq!(post(&recentre, None, "").0, 401);
    let (code, body, _) = post(&recentre, Some(TOKEN), "");
    assert_eq!(code, 409, "a progressive grid does not recentre: {body}");
    assert!(body.contains("progressive"), "{body}");
    assert_eq!(post(&recentre, Some(TOKEN), r#"{"profile": "wild"}"#).0, 400);
    assert!(
        std::fs::read_dir(config.account_dir("acca"))
            .unwrap()
            .all(|e| { !e.unwrap().file_name().to_string_lossy().starts_with("RECENTRE.") })
    );
    server.stop();
}

#[test]
fn the_change_stream_says_hello_then_what_changed() {
    use std::io::{BufRead, BufReader, Write};
    let config = Arc::new(setup("stream", "web:\n  bind: 127.0.0.1:0\n"));
    let server = WebServer::start(Arc::clone(&config), config.web.as_ref().unwrap()).unwrap();
    let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(tcp, "GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let mut lines = BufReader::new(tcp).lines();
    let mut seen = Vec::new();
    let mut wait_for = |needle: &str, seen: &mut Vec<String>| {
        for line in lines.by_ref() {
            let line = line.unwrap_or_else(|e| panic!("{e} after {seen:?}"));
            seen.push(line.clone());
            if line.contains(needle) {
                return;
            }
        }
        panic!("no {needle}: {seen:?}");
    };
    wait_for("text/event-stream", &mut seen);
    wait_for("event: hello", &mut seen);
    wait_for("acca", &mut seen);
    // The emergency flag appears: the stream names the account.
    std::fs::write(flag(&config), "test\n").unwrap();
    wait_for("event: change", &mut seen);
    wait_for("acca", &mut seen);
    server.stop();
}
