//! End to end: `gridbot sim` and `gridbot run` as processes on loopback, over real perpetual
//! candles. Two accounts × two symbols share one public WebSocket; grids cycle (take-profits
//! fill, legs level up); SIGTERM stops the bot cleanly; afterwards the exchange agrees with the
//! saved state. Secrets come from the environment and appear in no output, log, state or
//! journal; alerts reach a loopback Telegram API.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridbot_core::Symbol;
use support::{BTC_FILE, ETH_FILE, Proc, account_yaml, check_invariants_eventually, client, temp_dir, truncated};

const SECRET_A: &str = "e2e-secret-alpha-8c1f";
const SECRET_B: &str = "e2e-secret-bravo-41d7";
const TG_TOKEN: &str = "777:e2e-telegram-token-x9";
const WEB_TOKEN: &str = "e2e-web-token-2b8d7c41";

/// What the loopback Telegram API received: (path, body).
type Requests = Arc<Mutex<Vec<(String, String)>>>;

/// A loopback Telegram Bot API recording every request.
fn telegram() -> (String, Requests) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            record.lock().unwrap().push((request.url().to_owned(), body));
            let _ = request.respond(tiny_http::Response::from_string(r#"{"ok":true}"#));
        }
    });
    (url, seen)
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `http://127.0.0.1:PORT` from the bot's "web listening on" line (it was told port 0).
fn web_address(output: &str) -> String {
    let at = output.find("web listening on http://").expect("the web server's address is logged");
    let rest = &output[at + "web listening on ".len()..];
    rest.split_whitespace().next().unwrap().to_owned()
}

fn web(method: &str, url: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (method, auth) {
        ("GET", None) => agent.get(url).call(),
        ("GET", Some(a)) => agent.get(url).header("Authorization", a).call(),
        (_, None) => agent.post(url).send_empty(),
        (_, Some(a)) => agent.post(url).header("Authorization", a).send_empty(),
    }
    .unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

/// A sample's value in Prometheus text.
fn sample(metrics: &str, series: &str) -> f64 {
    let line = metrics.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("no {series}:\n{metrics}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The web surfaces of the running bot: metrics and status from its files, the emergency stop
/// through the API (token only) reaching the worker, and resume.
fn web_surfaces_follow_the_bot(base: &str, bot: &mut Proc) {
    let (code, metrics) = web("GET", &format!("{base}/metrics"), None);
    assert_eq!(code, 200);
    for account in ["acca", "accb"] {
        assert_eq!(sample(&metrics, &format!("gridbot_account_running{{account=\"{account}\"}}")), 1.0);
        assert!(sample(&metrics, &format!("gridbot_executions_total{{account=\"{account}\"}}")) > 0.0, "{metrics}");
        assert!(sample(&metrics, &format!("gridbot_equity_usdt{{account=\"{account}\"}}")) > 90_000.0);
    }
    assert!(metrics.contains("gridbot_leg_cycle{account=\"acca\",symbol=\"BTCUSDT\",leg=\"long\"}"), "{metrics}");
    let (code, status) = web("GET", &format!("{base}/api/status"), None);
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status.as_array().unwrap().len(), 2);
    assert_eq!(status[1]["symbols"].as_array().unwrap().len(), 2, "{status}");

    let stop = format!("{base}/api/accounts/accb/stop");
    assert_eq!(web("POST", &stop, None).0, 401);
    assert_eq!(web("POST", &stop, Some("not-the-token-at-all")).0, 401);
    assert_eq!(web("POST", &stop, Some(WEB_TOKEN)).0, 200);
    bot.wait_for("emergency stop ON", Duration::from_secs(10));
    let (_, metrics) = web("GET", &format!("{base}/metrics"), None);
    assert_eq!(sample(&metrics, "gridbot_account_emergency_stop{account=\"accb\"}"), 1.0);
    assert_eq!(sample(&metrics, "gridbot_account_emergency_stop{account=\"acca\"}"), 0.0);
    assert_eq!(web("POST", &format!("{base}/api/accounts/accb/resume"), Some(WEB_TOKEN)).0, 200);
    bot.wait_for("emergency stop lifted", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn two_accounts_two_symbols_over_days_of_real_candles() {
    let dir = temp_dir("replay");
    // 15 days of warm-up (daily ATR) and 3 days of trading, then the replay ends.
    let btc = truncated(&dir, BTC_FILE, 18);
    let eth = truncated(&dir, ETH_FILE, 18);
    let sim_yaml = format!(
        "warmup_days: 15\ncandles_per_second: 400\nmarkets:\n  - symbol: BTCUSDT\n    file: {}\n  - symbol: ETHUSDT\n    file: {}\naccounts:\n  - {{api_key: key-a, api_secret: {SECRET_A}, wallet: 100000}}\n  - {{api_key: key-b, api_secret: {SECRET_B}, wallet: 100000}}\n",
        btc.display(),
        eth.display()
    );
    std::fs::write(dir.join("sim.yaml"), sim_yaml).unwrap();
    let url = format!("http://127.0.0.1:{}", free_port());
    // The bot's files: secrets only through the environment.
    let (tg_url, tg_seen) = telegram();
    std::fs::write(dir.join("a.yaml"), account_yaml("acca", &url, "key-a", "${E2E_SECRET_A}", false)).unwrap();
    std::fs::write(dir.join("b.yaml"), account_yaml("accb", &url, "key-b", "${E2E_SECRET_B}", true)).unwrap();
    std::fs::write(
        dir.join("bot.yaml"),
        format!(
            "data_dir: var\naccounts: [a.yaml, b.yaml]\nlogging: {{level: info, terminal: pretty}}\nnotifications:\n  telegram:\n    bot_token: ${{E2E_TG_TOKEN}}\n    chat_id: 42\n    base_url: {tg_url}\n    max_per_minute: 60\nweb:\n  bind: 127.0.0.1:0\n  token: ${{E2E_WEB_TOKEN}}\n"
        ),
    )
    .unwrap();
    let env = [
        ("E2E_SECRET_A", SECRET_A),
        ("E2E_SECRET_B", SECRET_B),
        ("E2E_TG_TOKEN", TG_TOKEN),
        ("E2E_WEB_TOKEN", WEB_TOKEN),
    ];
    let sim_path = dir.join("sim.yaml");
    let bind = url.trim_start_matches("http://").to_owned();
    let mut sim = Proc::gridbot(&["sim", "--config", sim_path.to_str().unwrap(), "--bind", &bind], &[]);
    sim.wait_for("listening on http://", Duration::from_secs(60));
    let bot_yaml = dir.join("bot.yaml");
    let mut bot = Proc::gridbot(&["run", "--config", bot_yaml.to_str().unwrap()], &env);
    bot.wait_for("gridbot running", Duration::from_secs(60));
    let web = web_address(&bot.output());

    // Wait for the replay to end: the market's time stops moving.
    let a = client(&url, "key-a", SECRET_A);
    let btc_symbol = Symbol::new("BTCUSDT").unwrap();
    let mut last = 0;
    let mut still = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let t = a.orderbook_top(&btc_symbol).unwrap().time_ms;
        if t != last {
            last = t;
            still = Instant::now();
        } else if still.elapsed() > Duration::from_secs(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the replay did not end");
    }
    std::thread::sleep(Duration::from_secs(1));
    web_surfaces_follow_the_bot(&web, &mut bot);
    let output = bot.output();
    assert_eq!(bot.terminate(), Some(0), "SIGTERM is a clean stop");

    // One public stream for both accounts and both symbols.
    assert_eq!(output.matches("public stream shared").count(), 1, "{output}");
    let state = dir.join("var");
    check_invariants_eventually(&state, "acca", &a, &["BTCUSDT", "ETHUSDT"]);
    check_invariants_eventually(&state, "accb", &client(&url, "key-b", SECRET_B), &["BTCUSDT", "ETHUSDT"]);
    // Grids cycled: take-profits filled and legs levelled up (journals).
    let mut cycles = 0;
    let mut level_ups = 0;
    for account in ["acca", "accb"] {
        let journal = gridbot_state::Journal::open(&state.join(account).join("journal.sqlite")).unwrap();
        let trades = journal.trades_between(i64::MIN, i64::MAX).unwrap();
        for t in &trades {
            match gridbot_recovery::LinkTag::decode(&t.order_link_id).map(|tag| tag.role) {
                Ok(gridbot_core::OrderRole::TakeProfit) => cycles += 1,
                Ok(gridbot_core::OrderRole::Protective) => level_ups += 1,
                _ => {}
            }
        }
    }
    eprintln!("take-profit fills {cycles}, protective fills {level_ups}");
    assert!(cycles >= 5 && level_ups >= 1, "take-profits {cycles}, level-ups {level_ups}");

    // Alerts reached the loopback Telegram API, with the token only in its URL.
    // The bot also polls the chat for commands (`getUpdates`); the alerts are the messages.
    let all = tg_seen.lock().unwrap().clone();
    assert!(all.iter().all(|(path, _)| path.starts_with(&format!("/bot{TG_TOKEN}/"))), "only the Bot API is called");
    let requests: Vec<_> = all.into_iter().filter(|(path, _)| !path.contains("/getUpdates")).collect();
    assert!(!requests.is_empty(), "no alert reached Telegram");
    assert!(requests.iter().all(|(path, _)| path == &format!("/bot{TG_TOKEN}/sendMessage")));
    assert!(requests.iter().any(|(_, body)| body.contains("take-profit")), "no take-profit alert");

    // No secret in any output, log, state file or journal.
    let mut files = Vec::new();
    files_under(&state, &mut files);
    let mut texts = vec![output, sim.output()];
    for f in files {
        texts.push(String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned());
    }
    for secret in [SECRET_A, SECRET_B, TG_TOKEN, WEB_TOKEN] {
        assert!(texts.iter().all(|t| !t.contains(secret)), "a secret leaked");
    }
    assert!(texts.iter().any(|t| t.contains("\"level\":\"INFO\"")), "JSON log files are written");
}
