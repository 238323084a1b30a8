//! Shared helpers of the end-to-end tests: the `gridbot` binary, the simulator, configuration
//! files, and the invariants every test checks against the exchange.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridbot_bybit::{BybitClient, ClientConfig, Credentials, Environment};
use gridbot_core::{Leg, PositionIdx, Symbol};
use gridbot_recovery::LinkTag;
use gridbot_sim::server::ServerHandle;
use gridbot_state::{Loaded, SnapshotStore};

/// The `gridbot` binary (these tests are targets of the gridbot package, so cargo builds it first).
pub fn gridbot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gridbot"))
}

/// A bundled data file.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name)
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gridbot-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The first `days` of a bundled gzip file, as plain CSV in `dir` (a replay that ends).
pub fn truncated(dir: &Path, name: &str, days: usize) -> PathBuf {
    let candles = gridbot_data::load_candles(data(name)).unwrap();
    let out = dir.join(name.replace(".gz", ""));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    writeln!(f, "open_time_ms,open,high,low,close,volume").unwrap();
    for c in candles.iter().take(days * 1_440) {
        writeln!(f, "{},{},{},{},{},{}", c.open_time_ms, c.open, c.high, c.low, c.close, c.volume).unwrap();
    }
    out
}

pub const BTC_FILE: &str = "binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz";
pub const ETH_FILE: &str = "binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz";

/// An account file: progressive grids on BTCUSDT and ETHUSDT (ETH classic if `eth_classic`).
pub fn account_yaml(id: &str, url: &str, key: &str, secret: &str, eth_classic: bool) -> String {
    let eth = if eth_classic {
        "  - symbol: ETHUSDT\n    strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.05\"\n      spacing: 0.003\n      levels_per_side: 5\n      progression: arithmetic\n      recentre: {max_deviation: 0.01}\n"
    } else {
        "  - symbol: ETHUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.05\"\n      max_levels: 5\n      step_scale_factor: 0.1\n      take_profit: 0.002\n"
    };
    format!(
        "account_id: {id}\nenvironment: sim\nbase_url: {url}\napi_key: {key}\napi_secret: {secret}\nsymbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.002\"\n      max_levels: 5\n      step_scale_factor: 0.1\n      take_profit: 0.002\n{eth}"
    )
}

/// A REST client of a simulator account.
pub fn client(url: &str, key: &str, secret: &str) -> BybitClient {
    let mut config = ClientConfig::new(Environment::custom(url), Some(Credentials::new(key, secret).unwrap()));
    config.rate_limits.orders_per_sec = 10_000;
    config.rate_limits.queries_per_sec = 10_000;
    BybitClient::new(config)
}

/// Kills a child process when dropped (a failed test must not leave a bot or a server behind).
pub struct Proc {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Starts `gridbot args…`, collecting stdout and stderr lines.
    pub fn gridbot(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(gridbot_bin());
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
        ] {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Self { child, lines }
    }

    /// Waits until some output line contains `needle`.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.lines.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("gridbot exited ({status}) before printing {needle:?}:\n{}", self.output());
            }
            assert!(Instant::now() < deadline, "no {needle:?} within {timeout:?}:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "gridbot did not stop on SIGTERM:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The invariants after a recovery (ARCHITECTURE §7): the exchange's positions equal the saved legs,
/// The same, allowing the bot's persister up to ten seconds to write its latest snapshot (it
/// writes on its own thread, with fsyncs that a busy machine can delay); the last failure is
/// reported if it never holds.
pub fn check_invariants_eventually(state_dir: &Path, account: &str, ex: &BybitClient, symbols: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_invariants(state_dir, account, ex, symbols);
        }));
        if attempt.is_ok() {
            return;
        }
        if Instant::now() >= deadline {
            check_invariants(state_dir, account, ex, symbols);
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// no (leg, cycle, role, level) has two live orders, every open order of ours is tracked, and
/// no foreign order exists.
pub fn check_invariants(state_dir: &Path, account: &str, ex: &BybitClient, symbols: &[&str]) {
    let store = SnapshotStore::new(&state_dir.join(account), account);
    let snapshot = match store.peek().unwrap() {
        Loaded::Snapshot { snapshot, .. } => snapshot,
        other => panic!("{account}: no snapshot: {other:?}"),
    };
    for symbol in symbols {
        let symbol = Symbol::new(*symbol).unwrap();
        let state = &snapshot.symbols[&symbol];
        for p in ex.positions(&symbol).unwrap() {
            let leg = match p.position_idx {
                PositionIdx::Long => &state.long,
                PositionIdx::Short => &state.short,
                PositionIdx::OneWay => continue,
            };
            assert_eq!(
                p.size, leg.size,
                "{account} {symbol} {:?}: the exchange's position vs the state",
                p.position_idx
            );
        }
        let open = ex.open_orders(&symbol).unwrap();
        let mut seen: HashMap<(Leg, u32, String, u32), usize> = HashMap::new();
        for o in &open {
            let tag = LinkTag::decode(&o.order_link_id).unwrap_or_else(|_| panic!("{account}: a foreign order {o:?}"));
            *seen.entry((tag.leg, tag.cycle, format!("{:?}", tag.role), tag.level)).or_default() += 1;
            assert!(
                state.orders.iter().any(|t| t.link_id == o.order_link_id),
                "{account} {symbol}: open order {} is an orphan (not tracked)",
                o.order_link_id
            );
        }
        assert!(seen.values().all(|n| *n == 1), "{account} {symbol}: two live orders for one slot: {seen:?}");
    }
}

/// `gridbot sim` replaying the first `days` of the bundled BTCUSDT minutes, with `settings`
/// (top-level YAML lines: speed or lockstep, clock, engine…) and `accounts` (key, secret,
/// wallet), no warm-up; returns the running process and its base URL.
pub fn sim_on_btc(dir: &Path, days: usize, settings: &str, accounts: &[(&str, &str, u32)]) -> (Proc, String) {
    let data = truncated(dir, BTC_FILE, days);
    let accounts: String = accounts
        .iter()
        .map(|(key, secret, wallet)| format!("  - {{api_key: {key}, api_secret: {secret}, wallet: {wallet}}}\n"))
        .collect();
    let yaml = format!(
        "bind: 127.0.0.1:0\ninterval: 1m\nwarmup_days: 0\n{settings}markets:\n  - symbol: BTCUSDT\n    file: {}\naccounts:\n{accounts}",
        data.display()
    );
    let path = dir.join("sim.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut sim = Proc::gridbot(&["sim", "--config", path.to_str().unwrap()], &[]);
    sim.wait_for("listening on http://", Duration::from_secs(60));
    let url = sim.output().split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).unwrap().to_owned();
    (sim, url)
}

/// A small deterministic generator (the test's random moments).
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

pub fn step(handle: &ServerHandle, n: u64) {
    for _ in 0..n {
        handle.step();
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until no order was created for 700 ms and the state file has been still for 300 ms
/// (with sockets dropped every few seconds, reconciliations come and go).
pub fn quiet(handle: &ServerHandle, state_file: &Path) {
    let _ = quiet_all(handle, &[state_file]);
}

/// [`quiet`] for several accounts at once: every state file still. Returns when the last
/// order was created while waiting (`None`: none was).
pub fn quiet_all(handle: &ServerHandle, state_files: &[&Path]) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = orders_created(handle);
    let mut since = Instant::now();
    let mut last_order = None;
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let now = orders_created(handle);
        if now != last {
            last = now;
            since = Instant::now();
            last_order = Some(since);
        }
        let file_still = state_files.iter().all(|f| {
            std::fs::metadata(f)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|e| e > Duration::from_millis(300)))
        });
        if since.elapsed() > Duration::from_millis(700) && file_still {
            return last_order;
        }
        assert!(Instant::now() < deadline, "the bot never settled");
    }
}

pub fn orders_created(handle: &ServerHandle) -> u64 {
    handle.with_engine(|e| e.next_order_number())
}

/// The simulator in-process (driven step by step by the test) over the bundled BTCUSDT and
/// ETHUSDT minutes after a 15-day warm-up, with `accounts` (key, secret) of 100,000 USDT, no
/// rate limits to speak of, and `faults`.
pub fn stepped_sim(dir: &Path, accounts: &[(&str, &str)], faults: gridbot_sim::server::FaultConfig) -> ServerHandle {
    let accounts: String = accounts
        .iter()
        .map(|(key, secret)| format!("  - {{api_key: {key}, api_secret: {secret}, wallet: 100000}}\n"))
        .collect();
    let yaml = format!(
        "warmup_days: 15\nmarkets:\n  - symbol: BTCUSDT\n    file: {}\n  - symbol: ETHUSDT\n    file: {}\naccounts:\n{accounts}",
        data(BTC_FILE).display(),
        data(ETH_FILE).display()
    );
    std::fs::write(dir.join("sim.yaml"), yaml).unwrap();
    let mut setup = gridbot_sim::load_sim_file(&dir.join("sim.yaml")).unwrap();
    setup.server.orders_per_sec = 10_000;
    setup.server.queries_per_sec = 10_000;
    setup.server.faults = faults;
    setup.warm_up().unwrap();
    gridbot_sim::server::start(setup.server, setup.engine, setup.replay, Arc::new(gridbot_core::SystemClock)).unwrap()
}
