//! End to end: `gridbot run` with a bad configuration exits 2 with a message naming the file,
//! the line, the field and the problem — and sends no request: the configured exchange is a
//! loopback listener that counts every connection.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{gridbot_bin, temp_dir};

/// A loopback "exchange" that only counts connections.
fn listener() -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in l.incoming() {
            if stream.is_ok() {
                c.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (url, count)
}

fn good(url: &str) -> String {
    format!(
        "account_id: acc1\nenvironment: sim\nbase_url: {url}\napi_key: ${{E2E_KEY}}\napi_secret: ${{E2E_SECRET}}\nsymbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n"
    )
}

#[test]
fn bad_configurations_exit_2_name_the_problem_and_send_nothing() {
    let dir = temp_dir("badconf");
    let (url, connections) = listener();
    let g = good(&url);
    let r = |from: &str, to: &str| g.replace(from, to);
    let progressive_block = "    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n";
    // (file name, account file text, what the message must say)
    let accounts: Vec<(&str, String, &str)> = vec![
        ("missing-field", r("account_id: acc1\n", ""), "missing field `account_id`"),
        ("wrong-type", r("leverage: 5", "leverage: five"), "symbols[0].leverage: invalid value"),
        ("unknown-strategy", r("strategy: progressive", "strategy: martingale"), "unknown variant `martingale`"),
        ("unset-variable", r("${E2E_SECRET}", "${E2E_NOT_SET}"), "environment variable E2E_NOT_SET is not set"),
        ("negative-levels", r("max_levels: 6", "max_levels: -3"), "max_levels"),
        ("too-many-levels", r("max_levels: 6", "max_levels: 64"), "expected 1 to 30 levels"),
        ("leverage-high", r("leverage: 5", "leverage: 500"), "expected leverage from 1 to 100"),
        ("leverage-zero", r("leverage: 5", "leverage: 0"), "expected leverage from 1 to 100"),
        ("unknown-field", r("leverage: 5", "leverage: 5\n    levrage: 5"), "unknown field `levrage`"),
        ("zero-qty", r("base_qty: \"0.001\"", "base_qty: \"0\""), "expected a positive quantity"),
        ("off-step-qty", r("base_qty: \"0.001\"", "base_qty: \"0.0015\""), "qty step"),
        ("bad-symbol", r("symbol: BTCUSDT", "symbol: btc usdt"), "expected a Bybit linear symbol"),
        (
            "no-symbols",
            r(&format!("  - symbol: BTCUSDT\n{progressive_block}"), "").replace("symbols:\n", "symbols: []\n"),
            "at least one symbol",
        ),
        (
            "missing-block",
            r("    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n", ""),
            "no `progressive:` block",
        ),
        ("bad-environment", r("environment: sim", "environment: prod"), "unknown variant `prod`"),
        ("sim-without-url", r(&format!("base_url: {url}\n"), ""), "needs `base_url:`"),
        ("url-scheme", r("http://", "ftp://"), "expected an http:// or https:// URL"),
        (
            "literal-secret",
            r("environment: sim", "environment: mainnet")
                .replace(&format!("base_url: {url}\n"), "")
                .replace("${E2E_SECRET}", "plain-text-secret"),
            "secrets come from the environment",
        ),
        ("bad-tag", r("account_id: acc1", "account_id: a-very-long-account-name"), "add `tag:`"),
        ("risk-range", format!("{g}risk:\n  trailing_pullback: 1.5\n"), "risk.trailing_pullback"),
        ("risk-unknown", format!("{g}risk:\n  im_rate: 0.9\n"), "unknown field `im_rate`"),
        ("take-profit", r("max_levels: 6", "max_levels: 6\n      take_profit: 0.9"), "take_profit"),
        ("duplicate-symbol", format!("{g}  - symbol: BTCUSDT\n{progressive_block}"), "listed twice"),
        ("yaml-syntax", r("leverage: 5", "leverage: [5"), "leverage"),
        (
            "classic-no-layout",
            r(
                progressive_block,
                "    strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.001\"\n",
            ),
            "set a profile",
        ),
        (
            "classic-bounds",
            r(
                progressive_block,
                "    strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.001\"\n      lower: 50000\n      upper: 40000\n      levels: 10\n",
            ),
            "expected upper above lower",
        ),
        ("empty-file", String::new(), "missing field `account_id`"),
    ];
    let mut cases = 0;
    let env = [("E2E_KEY", "key-value-1"), ("E2E_SECRET", "secret-value-1")];
    for (name, text, needle) in &accounts {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(gridbot_bin()).args(["run", "--config"]).arg(&path).envs(env).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{name}: the file is not named: {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr:?} does not say {needle:?}");
        assert!(!stderr.contains("secret-value-1") && !stderr.contains("key-value-1"), "{name}: a secret in {stderr}");
        cases += 1;
    }
    // Bot files. A port another program holds fails the start before any request.
    let taken_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken_listener.local_addr().unwrap();
    std::fs::write(dir.join("ok.yaml"), &g).unwrap();
    let bots: Vec<(&str, String, &str)> = vec![
        ("bot-missing-account", "accounts: [nowhere.yaml]\n".into(), "cannot read"),
        ("bot-duplicate", "accounts: [ok.yaml, ok.yaml]\n".into(), "used by two accounts"),
        ("bot-no-accounts", "accounts: []\n".into(), "expected at least one account file"),
        ("bot-log-level", "accounts: [ok.yaml]\nlogging: {level: loud}\n".into(), "unknown variant `loud`"),
        (
            "bot-telegram-literal",
            "accounts: [ok.yaml]\nnotifications:\n  telegram: {bot_token: plain, chat_id: 1}\n".into(),
            "notifications.telegram.bot_token",
        ),
        ("bot-unknown-field", "accounts: [ok.yaml]\ndata_dri: x\n".into(), "unknown field `data_dri`"),
        ("bot-web-open", "accounts: [ok.yaml]\nweb: {bind: \"0.0.0.0:8090\"}\n".into(), "set web.token"),
        ("bot-web-bind", "accounts: [ok.yaml]\nweb: {bind: \"localhost:x\"}\n".into(), "web.bind: expected an address"),
        ("bot-web-token", "accounts: [ok.yaml]\nweb: {token: plain-token-0123456789}\n".into(), "web.token"),
        (
            "bot-web-port-in-use",
            format!("accounts: [ok.yaml]\nweb: {{bind: \"{taken}\", token: \"${{E2E_SECRET}}-and-more\"}}\n"),
            "cannot listen on",
        ),
    ];
    for (name, text, needle) in &bots {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(gridbot_bin()).args(["run", "--config"]).arg(&path).envs(env).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr:?} does not say {needle:?}");
        assert!(!stderr.contains("secret-value-1"), "{name}: a secret in {stderr}");
        cases += 1;
    }
    drop(taken_listener);
    assert!(cases >= 20);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(connections.load(Ordering::SeqCst), 0, "a bad configuration reached the exchange");
}
