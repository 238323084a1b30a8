//! pybit conformance: pybit (installed from PyPI into a venv by this test) drives gridbot-sim
//! over HTTP and WebSocket on 127.0.0.1 — server time, instruments, tickers, klines, wallet,
//! leverage, hedge mode, a PostOnly order listed, cancelled and found in history, a marketable
//! order that opens a position, executions, a private order event within 5 s, a public
//! order-book snapshot, and the negative cases (wrong secret 10004, stale timestamp 10002,
//! unknown order 110001, duplicate orderLinkId 110072).
//!
//! Set `PYBIT_PYTHON` to a Python that has pybit to skip the install.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{Decimal, Symbol, SystemClock};
use gridbot_data::load_candles;
use gridbot_sim::server::{ServerAccount, ServerConfig, start};
use gridbot_sim::{CandleReplay, MatchingEngine, SimConfig};

const PYBIT_VERSION: &str = "5.17.0";
const CHECKS: [&str; 18] = [
    "server_time",
    "instruments",
    "tickers",
    "klines",
    "wallet",
    "set_leverage",
    "hedge_mode",
    "post_only_listed",
    "cancel",
    "history",
    "position_opened",
    "executions",
    "private_order_event_within_5s",
    "orderbook_snapshot",
    "wrong_secret_10004",
    "stale_timestamp_10002",
    "unknown_order_cancel_110001",
    "duplicate_order_link_id_110072",
];

fn python_with_pybit() -> PathBuf {
    if let Ok(p) = std::env::var("PYBIT_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pybit-venv");
    let python = venv.join("bin/python");
    let has_pybit =
        |py: &Path| Command::new(py).args(["-c", "import pybit"]).output().is_ok_and(|o| o.status.success());
    if !has_pybit(&python) {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the pybit test");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", &format!("pybit=={PYBIT_VERSION}")])
            .status()
            .expect("pip");
        assert!(status.success(), "pip install pybit failed");
    }
    python
}

#[test]
fn pybit_trades_against_the_simulator() {
    let btc = Symbol::new("BTCUSDT").unwrap();
    let path = format!("{}/../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz", env!("CARGO_MANIFEST_DIR"));
    let candles = load_candles(path).unwrap()[..2 * 1440].to_vec();
    let replay = CandleReplay::new(60_000, BTreeMap::from([(btc, candles)]));
    let engine = MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]);
    let accounts = vec![ServerAccount {
        api_key: "pybitKey".into(),
        api_secret: "pybitSecret".into(),
        wallet: Decimal::from(100_000),
    }];
    let mut server = start(ServerConfig::loopback(accounts), engine, replay, Arc::new(SystemClock)).unwrap();
    server.step().unwrap();
    server.step().unwrap();
    server.drive(Duration::from_millis(50)).unwrap();

    let python = python_with_pybit();
    let script = format!("{}/pybit/conformance.py", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(&python)
        .arg(&script)
        .args([server.base_url().as_str(), "pybitKey", "pybitSecret"])
        .output()
        .expect("run pybit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut results: BTreeMap<String, (bool, String)> = BTreeMap::new();
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        results.insert(v["check"].as_str().unwrap().to_owned(), (v["ok"].as_bool().unwrap(), v["detail"].to_string()));
    }
    let failed: Vec<String> =
        results.iter().filter(|(_, (ok, _))| !ok).map(|(k, (_, d))| format!("{k}: {d}")).collect();
    let missing: Vec<&str> = CHECKS.iter().copied().filter(|c| !results.contains_key(*c)).collect();
    assert!(
        failed.is_empty() && missing.is_empty() && output.status.success(),
        "failed: {failed:#?}\nmissing: {missing:?}\nstderr:\n{stderr}"
    );
    server.stop();
}
