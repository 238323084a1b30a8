//! The `gridbot-sim` binary: the example config loads, bad configs exit 2 naming the field, and
//! a running server answers on loopback, saves its state on SIGTERM and restores it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gridbot-sim-bin-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_example_config_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/sim.yaml");
    let setup = gridbot_sim::load_sim_file(std::path::Path::new(path)).unwrap();
    assert_eq!(setup.server.accounts.len(), 2);
    assert!(!format!("{setup:?}").contains("sim-secret-1"), "secrets stay out of Debug");
}

#[test]
fn bad_configs_exit_2_and_name_the_problem() {
    let dir = temp_dir("bad");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz");
    let market = format!("markets:\n  - symbol: BTCUSDT\n    file: {data}\n");
    let account = "accounts:\n  - {api_key: k, api_secret: s, wallet: 1000}\n";
    let cases = [
        ("no-markets.yaml", format!("markets: []\n{account}"), "markets: expected at least one market"),
        ("no-accounts.yaml", format!("{market}accounts: []\n"), "accounts: expected at least one account"),
        (
            "unknown-symbol.yaml",
            format!("markets:\n  - symbol: DOGEUSDT\n    file: {data}\n{account}"),
            "markets[0].symbol: no built-in filters for DOGEUSDT",
        ),
        ("bad-symbol.yaml", format!("markets:\n  - symbol: btc\n    file: {data}\n{account}"), "markets[0].symbol"),
        (
            "missing-file.yaml",
            format!("markets:\n  - symbol: BTCUSDT\n    file: nope.csv\n{account}"),
            "markets[0].file",
        ),
        ("typo.yaml", format!("{market}acounts: []\n"), "unknown field `acounts`"),
        ("bind.yaml", format!("bind: localhost\n{market}{account}"), "bind: expected ADDRESS:PORT"),
        (
            "negative-wallet.yaml",
            format!("{market}accounts:\n  - {{api_key: k, api_secret: s, wallet: -1}}\n"),
            "accounts[0].wallet",
        ),
        (
            "dup-key.yaml",
            format!(
                "{market}accounts:\n  - {{api_key: k, api_secret: s, wallet: 1}}\n  - {{api_key: k, api_secret: t, wallet: 1}}\n"
            ),
            "accounts[1].api_key",
        ),
        ("fault-rate.yaml", format!("{market}{account}faults: {{error_rate: 2}}\n"), "faults.error_rate"),
        ("interval.yaml", format!("interval: 7m\n{market}{account}"), "interval: expected one of"),
        ("speed.yaml", format!("candles_per_second: -1\n{market}{account}"), "candles_per_second"),
    ];
    for (name, text, needle) in cases {
        let path = write(&dir, name, &text);
        let out = Command::new(env!("CARGO_BIN_EXE_gridbot-sim")).arg("--config").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains(needle), "{name}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Kills the child if the test fails before it does (a leaked server would hold the test's
/// output pipe open).
struct Reaper(std::process::Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_saves_on_sigterm_and_restores() {
    let dir = temp_dir("run");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz");
    let config = write(
        &dir,
        "sim.yaml",
        &format!(
            "candles_per_second: 200\nmarkets:\n  - symbol: BTCUSDT\n    file: {data}\naccounts:\n  - {{api_key: k, api_secret: s, wallet: 1000}}\nstate_file: state.json\n"
        ),
    );
    let run = || {
        let mut child = Reaper(
            Command::new(env!("CARGO_BIN_EXE_gridbot-sim"))
                .arg("--config")
                .arg(&config)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let mut first = lines.next().unwrap().unwrap();
        if first.starts_with("restored") {
            first = lines.next().unwrap().unwrap();
        }
        let addr = first.split("http://").nth(1).unwrap().split(' ').next().unwrap().to_owned();
        (child, addr)
    };
    let (mut child, addr) = run();
    let reply = http_get(&addr, "/v5/market/tickers?category=linear&symbol=BTCUSDT");
    assert!(reply.starts_with("HTTP/1.1 200") && reply.contains("\"retCode\":0"), "{reply}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    let replayed = saved["replay"]["cursor"]["BTCUSDT"].as_u64().unwrap();
    assert!(replayed > 10, "{replayed} candles replayed before SIGTERM");
    let (child, _) = run();
    std::thread::sleep(std::time::Duration::from_millis(200));
    drop(child);
    let resumed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    assert!(
        resumed["replay"]["cursor"]["BTCUSDT"].as_u64().unwrap() >= replayed,
        "the restart continued from the saved position"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
