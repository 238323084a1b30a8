//! Bench script (prints its figures): peak resident memory of `gridbot run` — 1 account × 1
//! symbol, and 10 accounts × 10 symbols — trading against `gridbot sim` on loopback for a while.
//! Peak RSS is the kernel's `VmHWM` of the bot process. Targets: ≤ 15 MB and ≤ 40 MB.
//!
//! `cargo bench -p gridbot --bench rss`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RUN: Duration = Duration::from_secs(20);

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name)
}

struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Symbols: BTCUSDT, ETHUSDT, then BTC-like copies (`B1USDT`…) replaying the BTC candles.
fn symbols(n: usize) -> Vec<String> {
    let mut out = vec!["BTCUSDT".to_owned(), "ETHUSDT".to_owned()];
    out.extend((1..).map(|i| format!("B{i}USDT")).take(n.saturating_sub(2)));
    out.truncate(n);
    out
}

fn run(accounts: usize, n_symbols: usize) -> (u64, i64) {
    let dir = std::env::temp_dir().join(format!("gridbot-rss-{accounts}x{n_symbols}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let btc = data("binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz");
    let eth = data("binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz");
    let mut markets = String::new();
    for s in symbols(n_symbols) {
        match s.as_str() {
            "BTCUSDT" => markets.push_str(&format!("  - {{symbol: BTCUSDT, file: {}}}\n", btc.display())),
            "ETHUSDT" => markets.push_str(&format!("  - {{symbol: ETHUSDT, file: {}}}\n", eth.display())),
            other => markets.push_str(&format!(
                "  - symbol: {other}\n    file: {}\n    instrument: {{symbol: {other}, tick_size: \"0.1\", min_price: \"0.1\", max_price: \"1999999.8\", qty_step: \"0.001\", min_order_qty: \"0.001\", max_order_qty: \"1190\", max_market_qty: \"119\", min_notional: \"5\", min_leverage: \"1\", max_leverage: \"100\", leverage_step: \"0.01\", funding_interval_minutes: 480}}\n",
                btc.display()
            )),
        }
    }
    let keys: String =
        (0..accounts).map(|a| format!("  - {{api_key: key{a}, api_secret: secret{a}, wallet: 1000000}}\n")).collect();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        dir.join("sim.yaml"),
        format!("warmup_days: 15\ncandles_per_second: 100\nmarkets:\n{markets}accounts:\n{keys}"),
    )
    .unwrap();
    let mut sim = Reaper(
        Command::new(env!("CARGO_BIN_EXE_gridbot"))
            .args(["sim", "--config"])
            .arg(dir.join("sim.yaml"))
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(sim.0.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().contains("listening"));
    let mut files = Vec::new();
    for a in 0..accounts {
        let mut text = format!(
            "account_id: acc{a}\nenvironment: sim\nbase_url: http://127.0.0.1:{port}\napi_key: key{a}\napi_secret: secret{a}\nsymbols:\n"
        );
        for s in symbols(n_symbols) {
            let qty = if s == "ETHUSDT" { "0.05" } else { "0.002" };
            text.push_str(&format!(
                "  - symbol: {s}\n    strategy: progressive\n    leverage: 5\n    progressive: {{base_qty: \"{qty}\", max_levels: 5, step_scale_factor: 0.2, take_profit: 0.003}}\n"
            ));
        }
        std::fs::write(dir.join(format!("acc{a}.yaml")), text).unwrap();
        files.push(format!("acc{a}.yaml"));
    }
    std::fs::write(
        dir.join("bot.yaml"),
        format!("data_dir: var\naccounts: [{}]\nlogging: {{level: info, terminal: off}}\n", files.join(", ")),
    )
    .unwrap();
    let bot = Reaper(
        Command::new(env!("CARGO_BIN_EXE_gridbot"))
            .args(["run", "--config"])
            .arg(dir.join("bot.yaml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while started.elapsed() < RUN {
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(Some(status)) = Reaper::try_wait(&bot) {
            panic!("gridbot exited early: {status}");
        }
    }
    let peak = peak_rss_kb(bot.0.id());
    drop(bot);
    let fills: i64 = (0..accounts)
        .map(|a| {
            gridbot_state::Journal::open(&dir.join(format!("var/acc{a}/journal.sqlite")))
                .and_then(|j| j.execution_count())
                .unwrap_or(0)
        })
        .sum();
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
    (peak, fills)
}

impl Reaper {
    fn try_wait(r: &Self) -> std::io::Result<Option<std::process::ExitStatus>> {
        // `try_wait` needs `&mut`; the status file tells whether the process still runs.
        Ok(std::fs::metadata(format!("/proc/{}", r.0.id())).err().map(|_| std::process::ExitStatus::default()))
    }
}

fn main() {
    println!(
        "peak RSS (VmHWM) of `gridbot run` after {} s of trading against `gridbot sim` (100 candles/s):",
        RUN.as_secs()
    );
    for (accounts, symbols, target_mb) in [(1, 1, 15), (10, 10, 40)] {
        let (kb, fills) = run(accounts, symbols);
        println!(
            "  {accounts} account(s) × {symbols} symbol(s): {:.1} MB (target ≤ {target_mb} MB); {fills} fills in the run",
            kb as f64 / 1024.0,
        );
    }
}
