//! The dashboard in a real browser: `gridbot run` against the simulator on loopback (driven
//! candle by candle by the test), its page opened in headless Chromium and checked through the
//! DevTools protocol — the accounts with the figures the API reports, the equity chart, the
//! ladder showing exactly the orders the simulator holds, a new fill appearing without a reload,
//! and the stop button (with the token) creating the emergency flag and the page showing it.
//! Screenshots: `target/dashboard-overview.png`, `target/dashboard-ladder.png`,
//! `target/dashboard-phone.png`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cdp.rs"]
mod cdp;
#[path = "support/chromium.rs"]
mod chromium;
mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use cdp::Browser;
use gridbot_sim::server::FaultConfig;
use serde_json::Value;
use support::{Proc, account_yaml, client, quiet_all, step, stepped_sim, temp_dir};

const TOKEN: &str = "dashboard-test-token-0123456789";

fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    // bodies here are small: chunked encoding, if any, is undone by taking the JSON between
    // the first '[' or '{' and the last ']' or '}'
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let start = body.find(['[', '{']).unwrap_or(0);
        let end = body.rfind([']', '}']).map_or(body.len(), |e| e + 1);
        body[start..end].to_owned()
    } else {
        body.to_owned()
    };
    (head.to_owned(), body)
}

fn api(addr: &str, path: &str) -> Value {
    serde_json::from_str(&http_get(addr, path).1).unwrap()
}

fn save(name: &str, png: &[u8]) {
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join(name), png).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_dashboard_shows_the_bot_live_and_its_stop_button_stops_it() {
    let dir = temp_dir("dashboard");
    let handle = stepped_sim(&dir, &[("k-main", "s-main"), ("k-range", "s-range")], FaultConfig::default());
    let url = handle.base_url();
    std::fs::write(dir.join("main.yaml"), account_yaml("main", &url, "k-main", "s-main", false)).unwrap();
    std::fs::write(dir.join("range.yaml"), account_yaml("range", &url, "k-range", "s-range", true)).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        dir.join("bot.yaml"),
        format!(
            "data_dir: var\naccounts: [main.yaml, range.yaml]\nlogging: {{level: info}}\nweb: {{bind: \"{addr}\", token: \"${{WEB_TOKEN}}\"}}\n"
        ),
    )
    .unwrap();
    let mut bot = Proc::gridbot(&["run", "--config", dir.join("bot.yaml").to_str().unwrap()], &[("WEB_TOKEN", TOKEN)]);
    bot.wait_for("gridbot running", Duration::from_secs(90));
    let states = [dir.join("var/main/main.state.json"), dir.join("var/range/range.state.json")];
    let state_refs: Vec<&Path> = states.iter().map(std::path::PathBuf::as_path).collect();
    // Trade a while so there are fills, equity readings and orders on both kinds of grid.
    let main_client = client(&url, "k-main", "s-main");
    for _ in 0..40 {
        step(&handle, 30);
        let _ = quiet_all(&handle, &state_refs);
        let status = api(&addr, "/api/status");
        let rows = |id: &str| api(&addr, &format!("/api/accounts/{id}/equity"))["rows"].as_u64().unwrap_or(0);
        if status[0]["executions"].as_i64().unwrap_or(0) >= 3
            && status[1]["executions"].as_i64().unwrap_or(0) >= 1
            && rows("main") >= 3
            && rows("range") >= 3
        {
            break;
        }
    }
    let status = api(&addr, "/api/status");
    assert!(status[0]["executions"].as_i64().unwrap() >= 3, "the main account traded: {status}");
    let equity = api(&addr, "/api/accounts/main/equity");
    assert!(equity["rows"].as_u64().unwrap() >= 3, "equity readings: {equity}");

    // The page: CSP and no secret in anything it loads.
    let (head, html) = http_get(&addr, "/");
    assert!(head.to_ascii_lowercase().contains("content-security-policy: default-src 'none'"), "{head}");
    for path in ["/", "/assets/app.js", "/api/status", "/api/accounts/main/settings", "/api/accounts/range/settings"] {
        let (_, body) = http_get(&addr, path);
        for secret in [TOKEN, "s-main", "s-range"] {
            assert!(!body.contains(secret), "{path} shows a secret");
        }
    }
    assert!(html.contains("/assets/app.js"));

    let mut browser = Browser::open(&format!("http://{addr}/"), 1280, 1000);
    browser.wait_until(
        "document.querySelectorAll('[data-account]').length === 2",
        Duration::from_secs(20),
        "both accounts listed",
    );
    browser.wait_until(
        "document.getElementById('link').dataset.state === 'live'",
        Duration::from_secs(10),
        "the change stream connected",
    );
    // Each account's figures are the API's.
    let status = api(&addr, "/api/status");
    for a in status.as_array().unwrap() {
        let id = a["account"].as_str().unwrap();
        let fills =
            browser.eval(&format!("document.querySelector('[data-account={id:?}] [data-field=fills]').textContent"));
        let equity =
            browser.eval(&format!("document.querySelector('[data-account={id:?}] [data-field=equity]').textContent"));
        let expected: f64 = a["wallet"]["equity"].as_str().unwrap().parse().unwrap();
        let shown: f64 = equity.as_str().unwrap().replace(',', "").parse().unwrap();
        assert!((shown - expected).abs() < 0.006, "{id}: equity shown {shown}, API {expected}");
        assert!(fills.as_str().unwrap().parse::<i64>().unwrap() <= a["executions"].as_i64().unwrap());
    }
    browser.wait_until(
        "document.querySelectorAll('#equity-all svg path.line').length >= 1 && \
         document.querySelector('#equity-all svg path.line').getAttribute('d').split('L').length > 2",
        Duration::from_secs(10),
        "the combined equity chart drawn",
    );
    save("dashboard-overview.png", &browser.screenshot(true));

    // A fill appears without reloading: a marker set now survives, the fill count moves.
    let _ = browser.eval("window.__noReload = 1");
    let before = api(&addr, "/api/status")[0]["executions"].as_i64().unwrap();
    let mut after = before;
    for _ in 0..60 {
        step(&handle, 20);
        let _ = quiet_all(&handle, &state_refs);
        after = api(&addr, "/api/status")[0]["executions"].as_i64().unwrap();
        if after > before {
            break;
        }
    }
    assert!(after > before, "the market produced no new fill for the main account");
    browser.wait_until(
        &format!("document.querySelector('[data-account=\"main\"] [data-field=fills]').textContent === '{after}' && window.__noReload === 1"),
        Duration::from_secs(3),
        "the new fill shown within a second or so, without a reload",
    );

    // The ladder shows exactly the orders the simulator holds for the symbol.
    let _ = quiet_all(&handle, &state_refs);
    let _ = browser.eval("location.hash = '#/a/main/symbol/BTCUSDT'");
    browser.wait_until(
        "document.querySelector('[data-ladder=\"BTCUSDT\"] svg')",
        Duration::from_secs(10),
        "the ladder drawn",
    );
    let open: Vec<String> = main_client
        .open_orders(&gridbot_core::Symbol::new("BTCUSDT").unwrap())
        .unwrap()
        .into_iter()
        .map(|o| o.order_link_id)
        .collect();
    assert!(!open.is_empty(), "the simulator holds BTCUSDT orders");
    let mut wanted = open.clone();
    wanted.sort();
    browser.wait_until(
        &format!(
            "JSON.stringify([...document.querySelectorAll('svg [data-order]')].map(e => e.dataset.order).sort()) === {:?}",
            serde_json::to_string(&wanted).unwrap()
        ),
        Duration::from_secs(10),
        "the ladder's orders are the simulator's",
    );
    assert_eq!(browser.eval("document.querySelectorAll('[data-ladder] g.level').length > 0"), Value::Bool(true));
    save("dashboard-ladder.png", &browser.screenshot(true));

    // The stop button, with the token, sets the flag; the page shows it.
    let flag = dir.join("var/main/EMERGENCY_STOP");
    assert!(!flag.exists());
    let _ = browser.eval("location.hash = '#/'");
    browser.wait_until(
        "document.querySelector('[data-account=\"main\"] [data-action=stop]')",
        Duration::from_secs(10),
        "stop button",
    );
    browser.click("[data-account=\"main\"] [data-action=stop]");
    browser.wait_until(
        "document.querySelector('[data-notice]')",
        Duration::from_secs(5),
        "a refusal without the token",
    );
    assert!(!flag.exists(), "no token, no stop");
    browser.type_into("#token", TOKEN);
    browser.click("[data-account=\"main\"] [data-action=stop]");
    browser.wait_until("document.querySelector('[data-confirm=yes]')", Duration::from_secs(5), "the confirmation");
    browser.type_into("#confirm-reason", "browser test");
    browser.click("[data-confirm=yes]");
    for _ in 0..50 {
        if flag.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(flag.exists(), "the stop button created the emergency flag");
    assert!(std::fs::read_to_string(&flag).unwrap().contains("browser test"));
    browser.wait_until(
        "document.querySelector('[data-account=\"main\"] [data-field=emergency]') && document.querySelector('[data-account=\"main\"] [data-action=resume]')",
        Duration::from_secs(5),
        "the page shows the emergency stop",
    );
    assert_eq!(browser.eval("document.querySelector('[data-account=\"range\"] [data-field=emergency]')"), Value::Null);

    // A classic grid recentres from the page, taking the aggressive profile.
    let ladder = |addr: &str| api(addr, "/api/accounts/range/symbols/ETHUSDT");
    let generation = ladder(&addr)["classic"]["generation"].as_u64().expect("the range grid is built");
    let _ = browser.eval("location.hash = '#/a/range/symbol/ETHUSDT'");
    browser.wait_until(
        "document.querySelector('[data-action=recentre]')",
        Duration::from_secs(10),
        "the recentre button",
    );
    let _ = browser.eval(
        "(() => { const s = document.querySelector('[data-field=profile]'); s.value = 'aggressive';          s.dispatchEvent(new Event('change')); })()",
    );
    browser.click("[data-action=recentre]");
    browser.wait_until("document.querySelector('[data-confirm=yes]')", Duration::from_secs(5), "the confirmation");
    browser.click("[data-confirm=yes]");
    let mut rebuilt = Value::Null;
    for _ in 0..60 {
        step(&handle, 1);
        let _ = quiet_all(&handle, &state_refs);
        let now = ladder(&addr);
        if now["classic"]["generation"].as_u64().unwrap_or(0) > generation {
            rebuilt = now;
            break;
        }
    }
    assert_eq!(rebuilt["classic"]["levels"].as_array().map(Vec::len), Some(17), "8 levels a side: {rebuilt}");
    browser.wait_until(
        "document.querySelectorAll('[data-ladder=\"ETHUSDT\"] svg g.level').length === 17",
        Duration::from_secs(5),
        "the page shows the new grid",
    );
    let (_, events) = http_get(&addr, "/api/accounts/range/events?limit=20");
    assert!(events.contains("recentred by the operator with the aggressive profile"), "{events}");

    // History, risk and events render from their endpoints; the CSV downloads.
    for (tab, check) in [
        ("history", "document.querySelectorAll('[data-table=trades] tbody tr').length > 0"),
        ("risk", "document.querySelectorAll('[data-table=risk] tbody tr').length === 12"),
        (
            "events",
            "[...document.querySelectorAll('[data-table=events] td')].some(td => td.textContent.includes('browser test'))",
        ),
        ("equity", "document.querySelectorAll('#tab svg path.line').length === 2"),
    ] {
        let _ = browser.eval(&format!("location.hash = '#/a/main/{tab}'"));
        browser.wait_until(check, Duration::from_secs(10), tab);
    }
    let (head, csv) = http_get(&addr, "/api/accounts/main/trades.csv");
    assert!(head.contains("text/csv"), "{head}");
    assert!(csv.starts_with("time_utc,exec_ms,symbol,side"), "{csv}");

    // A phone-width page reads.
    let mut phone = Browser::open(&format!("http://{addr}/"), 390, 844);
    phone.wait_until(
        "document.querySelectorAll('[data-account]').length === 2",
        Duration::from_secs(20),
        "phone: accounts",
    );
    assert_eq!(
        phone.eval("document.documentElement.scrollWidth <= window.innerWidth + 1"),
        Value::Bool(true),
        "no sideways scrolling of the page at phone width"
    );
    save("dashboard-phone.png", &phone.screenshot(false));
    drop(phone);
    drop(browser);
    assert_eq!(bot.terminate(), Some(0));
    handle.stop();
}
