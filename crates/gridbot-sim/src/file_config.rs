//! The simulator's YAML file: markets to replay, accounts (API keys), engine settings, faults,
//! speed and an optional state file. Two phases: a raw serde mirror of the file,
//! then a validated `SimSetup`; every error names the file, the field and what was expected.
//!
//! ```yaml
//! bind: 127.0.0.1:8080          # default: 127.0.0.1:0 (any free port); loopback only unless
//! allow_remote: false           # ... this says otherwise (the simulator's keys are not secret)
//! interval: 1m                  # candle interval of the data files
//! candles_per_second: 100       # replay speed; 0 = step only when told (tests)
//! lockstep_quiet_ms: 20         # instead: one path point at a time, each once the clients
//!                               # have been quiet this long (paper trading that matches a backtest)
//! warmup_days: 16               # replay this much history before serving (daily ATR needs it)
//! markets:
//!   - symbol: BTCUSDT           # Bybit's filters are built in for BTCUSDT and ETHUSDT
//!     file: ../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz   # relative to this file
//! accounts:
//!   - api_key: sim-key-1
//!     api_secret: sim-secret-1
//!     wallet: 100000
//! engine: {}                    # SimConfig overrides (fees, spread, funding, ...)
//! faults: {}                    # FaultConfig (all off by default)
//! rate_limits:                  # per API key and endpoint, rolling one second (Bybit's tiers)
//!   orders_per_sec: 10          # create, cancel, cancel-all, leverage, mode (default 10)
//!   queries_per_sec: 50         # open orders, history, executions, positions, wallet (default 50)
//! state_file: sim-state.json    # saved on exit and every 10 s; restored on start
//! clock: wall                   # wall: market time re-based to now (default at real-time speed,
//!                               # 1 candle a minute for 1m data); replay: the data's own times
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gridbot_core::{Decimal, Instrument, InstrumentSpec, Interval, Symbol};

use crate::config::SimConfig;
use crate::engine::MatchingEngine;
use crate::replay::CandleReplay;
use crate::server::{FaultConfig, ServerAccount, ServerConfig};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMarket {
    symbol: String,
    file: PathBuf,
    #[serde(default)]
    instrument: Option<InstrumentSpec>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    api_key: String,
    api_secret: String,
    wallet: Decimal,
}

/// Requests per second per API key and endpoint, like Bybit's account tiers.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimits {
    #[serde(default)]
    orders_per_sec: Option<u32>,
    #[serde(default)]
    queries_per_sec: Option<u32>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    bind: Option<String>,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    candles_per_second: Option<f64>,
    #[serde(default)]
    warmup_days: Option<f64>,
    #[serde(default)]
    lockstep_quiet_ms: Option<u64>,
    #[serde(default)]
    allow_remote: bool,
    #[serde(default)]
    rate_limits: Option<RawRateLimits>,
    #[serde(default)]
    clock: Option<String>,
    markets: Vec<RawMarket>,
    accounts: Vec<RawAccount>,
    #[serde(default)]
    engine: SimConfig,
    #[serde(default)]
    faults: FaultConfig,
    #[serde(default)]
    state_file: Option<PathBuf>,
}

/// Everything needed to run the simulator, validated.
pub struct SimSetup {
    /// Server settings.
    pub server: ServerConfig,
    /// A fresh engine with the instruments listed.
    pub engine: MatchingEngine,
    /// The replay of the data files.
    pub replay: CandleReplay,
    /// Replay speed (0: manual stepping).
    pub candles_per_second: f64,
    /// Lockstep instead of a speed: one path point at a time, each once the clients have been
    /// quiet this long (ms); see `ServerHandle::drive_lockstep`.
    pub lockstep_quiet_ms: Option<u64>,
    /// History replayed before serving, ms (a fresh start only).
    pub warmup_ms: i64,
    /// Where to save and restore state.
    pub state_file: Option<PathBuf>,
    /// `allow_remote: true`: a bind address other machines can reach is accepted.
    pub allow_remote: bool,
    /// Market time re-based to the wall clock (`clock: wall`; the default at real-time speed):
    /// orders, executions, positions and candles carry today's times, so "executions since an
    /// hour ago" finds them. Otherwise (`clock: replay`) they carry the data's own times while
    /// `/v5/market/time` is the wall clock (request signing needs it).
    pub wall_clock: bool,
}

impl SimSetup {
    /// Re-bases the replay (and any funding history) so the market reaches the first candle
    /// after the warm-up at `now_ms`, rounded down to the candle interval. Before the warm-up.
    pub fn rebase_to_wall_clock(&mut self, now_ms: i64) -> Option<i64> {
        let first = self.replay.next_time()?;
        let interval = self.replay.interval_ms().max(1);
        let serving = first + self.warmup_ms;
        let offset = (now_ms - serving).div_euclid(interval) * interval;
        let replay = std::mem::replace(&mut self.replay, CandleReplay::new(interval, BTreeMap::new()));
        self.replay = replay.shifted(offset);
        self.engine.shift_funding_history(offset);
        Some(offset)
    }
}

/// Refuses an address other machines can reach unless `allow_remote` says so: the simulator's
/// API keys are in its file, and anyone who can connect can trade its accounts.
pub(crate) fn check_bind(bind: SocketAddr, allow_remote: bool) -> Result<(), String> {
    if bind.ip().is_loopback() || allow_remote {
        Ok(())
    } else {
        Err(format!(
            "{bind} is reachable from other machines, and the simulator's API keys are not secret: bind \
             127.0.0.1, or set `allow_remote: true` in the simulator file if that is what you want"
        ))
    }
}

impl SimSetup {
    /// Replays the first `warmup_ms` of history at once (so daily candles exist for ATR),
    /// and at least the first candle (so the market has a price); returns the time reached.
    pub fn warm_up(&mut self) -> Option<i64> {
        let start = self.replay.next_time()?;
        self.replay.advance_to(&mut self.engine, start + self.warmup_ms.max(0));
        Some(self.engine.now_ms())
    }
}

impl std::fmt::Debug for SimSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSetup")
            .field("server", &self.server)
            .field("candles_per_second", &self.candles_per_second)
            .finish_non_exhaustive()
    }
}

/// A configuration problem: the file, the field, what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {field}: {problem}", line.map_or_else(String::new, |l| format!(":{l}")))]
pub struct SimFileError {
    /// The YAML file.
    pub file: String,
    /// The line of the field, when it can be found.
    pub line: Option<usize>,
    /// The field, as a path (`markets[0].file`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

/// Reads and validates a simulator YAML file; errors read `file:line: field: problem`, as the
/// bot's configuration errors do.
pub fn load_sim_file(path: &Path) -> Result<SimSetup, SimFileError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SimFileError {
        file: file.clone(),
        line: None,
        field: "(file)".into(),
        problem: e.to_string(),
    })?;
    let index = gridbot_core::yaml::LineIndex::new(&text);
    let err = |field: &str, problem: String| SimFileError {
        file: file.clone(),
        line: index.line(field),
        field: field.to_owned(),
        problem,
    };
    gridbot_core::yaml::check_shape(&text).map_err(|m| err("(file)", m.to_string()))?;
    let raw: RawFile = serde_yaml::from_str(&text).map_err(|e| {
        let text = e.to_string();
        let problem = match e.location() {
            Some(l) => text.trim_end_matches(&format!(" at line {} column {}", l.line(), l.column())).to_owned(),
            None => text,
        };
        SimFileError { file: file.clone(), line: e.location().map(|l| l.line()), field: "(yaml)".into(), problem }
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let bind: SocketAddr = raw.bind.as_deref().unwrap_or("127.0.0.1:0").parse().map_err(|_| {
        err("bind", format!("expected ADDRESS:PORT such as 127.0.0.1:8080, got {:?}", raw.bind.unwrap_or_default()))
    })?;
    check_bind(bind, raw.allow_remote).map_err(|m| err("bind", m))?;
    let interval: Interval = raw.interval.as_deref().unwrap_or("1m").parse().map_err(|_| {
        err(
            "interval",
            format!("expected one of 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d, got {:?}", raw.interval.unwrap_or_default()),
        )
    })?;
    let interval_ms =
        interval.fixed_ms().ok_or_else(|| err("interval", "a calendar month cannot be replayed".into()))?;
    let candles_per_second = raw.candles_per_second.unwrap_or(0.0);
    if !(candles_per_second.is_finite() && candles_per_second >= 0.0) {
        return Err(err("candles_per_second", format!("expected a number ≥ 0, got {candles_per_second}")));
    }
    if let Some(q) = raw.lockstep_quiet_ms
        && !(1..=10_000).contains(&q)
    {
        return Err(err("lockstep_quiet_ms", format!("expected 1 to 10000 ms, got {q}")));
    }
    let warmup_days = raw.warmup_days.unwrap_or(0.0);
    if !(warmup_days.is_finite() && (0.0..=3650.0).contains(&warmup_days)) {
        return Err(err("warmup_days", format!("expected 0 to 3650 days, got {warmup_days}")));
    }
    #[allow(clippy::cast_possible_truncation, reason = "at most 3650 days in ms, far below i64::MAX")]
    let warmup_ms = (warmup_days * 86_400_000.0) as i64;
    if raw.markets.is_empty() {
        return Err(err("markets", "expected at least one market".into()));
    }
    let mut instruments: Vec<Instrument> = Vec::new();
    let mut series = BTreeMap::new();
    for (i, m) in raw.markets.iter().enumerate() {
        let field = |f: &str| format!("markets[{i}].{f}");
        let symbol = Symbol::new(m.symbol.clone()).map_err(|e| err(&field("symbol"), e.to_string()))?;
        let instrument = match &m.instrument {
            Some(spec) => Instrument::try_from(spec.clone()).map_err(|e| err(&field("instrument"), e.to_string()))?,
            None => gridbot_core::reference::bybit_linear(symbol.as_str()).ok_or_else(|| {
                err(
                    &field("symbol"),
                    format!(
                        "no built-in filters for {symbol} (built in: {}); add an `instrument:` block",
                        gridbot_core::reference::REFERENCE_SYMBOLS.join(", ")
                    ),
                )
            })?,
        };
        if instrument.symbol() != &symbol {
            return Err(err(&field("instrument.symbol"), format!("expected {symbol}, got {}", instrument.symbol())));
        }
        let data = base.join(&m.file);
        let candles = gridbot_data::load_candles(&data).map_err(|e| err(&field("file"), e.to_string()))?;
        if series.insert(symbol.clone(), candles).is_some() {
            return Err(err(&field("symbol"), format!("{symbol} is listed twice")));
        }
        instruments.push(instrument);
    }
    if raw.accounts.is_empty() {
        return Err(err("accounts", "expected at least one account".into()));
    }
    let mut accounts = Vec::new();
    for (i, a) in raw.accounts.into_iter().enumerate() {
        if a.api_key.trim().is_empty() || a.api_secret.trim().is_empty() {
            return Err(err(&format!("accounts[{i}]"), "api_key and api_secret must not be empty".into()));
        }
        if a.wallet < Decimal::ZERO {
            return Err(err(&format!("accounts[{i}].wallet"), format!("expected a balance ≥ 0, got {}", a.wallet)));
        }
        if accounts.iter().any(|x: &ServerAccount| x.api_key == a.api_key) {
            return Err(err(&format!("accounts[{i}].api_key"), "this key is used by another account".into()));
        }
        accounts.push(ServerAccount { api_key: a.api_key, api_secret: a.api_secret, wallet: a.wallet });
    }
    raw.faults.validate().map_err(|e| {
        err(&format!("faults.{}", e.field), format!("expected a share between 0 and 1, got {}", e.value))
    })?;
    let mut server = ServerConfig { bind, faults: raw.faults, ..ServerConfig::loopback(accounts) };
    if let Some(r) = &raw.rate_limits {
        for (field, value, slot) in [
            ("rate_limits.orders_per_sec", r.orders_per_sec, &mut server.orders_per_sec),
            ("rate_limits.queries_per_sec", r.queries_per_sec, &mut server.queries_per_sec),
        ] {
            if let Some(v) = value {
                if !(1..=100_000).contains(&v) {
                    return Err(err(field, format!("expected 1 to 100000 requests per second, got {v}")));
                }
                *slot = v;
            }
        }
    }
    let real_time = (candles_per_second * interval_ms as f64 / 1_000.0 - 1.0).abs() < 0.01;
    let wall_clock = match raw.clock.as_deref() {
        None => real_time,
        Some("wall") => true,
        Some("replay") => false,
        Some(other) => return Err(err("clock", format!("expected wall or replay, got {other:?}"))),
    };
    Ok(SimSetup {
        server,
        engine: MatchingEngine::new(raw.engine, instruments),
        replay: CandleReplay::new(interval_ms, series),
        candles_per_second,
        lockstep_quiet_ms: raw.lockstep_quiet_ms,
        warmup_ms,
        state_file: raw.state_file.map(|p| base.join(p)),
        allow_remote: raw.allow_remote,
        wall_clock,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bind_other_machines_can_reach_needs_allow_remote() {
        let dir = std::env::temp_dir().join(format!("gridbot-sim-bind-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sim.yaml");
        std::fs::write(&file, "bind: 0.0.0.0:8080\nmarkets: []\naccounts: []\n").unwrap();
        let err = super::load_sim_file(&file).unwrap_err().to_string();
        assert!(
            err.contains("sim.yaml:1: bind: 0.0.0.0:8080 is reachable") && err.contains("allow_remote: true"),
            "{err}"
        );
        // Allowed, the file is read on (and fails later, at its empty markets).
        std::fs::write(&file, "bind: 0.0.0.0:8080\nallow_remote: true\nmarkets: []\naccounts: []\n").unwrap();
        let err = super::load_sim_file(&file).unwrap_err().to_string();
        assert!(err.contains("markets"), "{err}");
        assert!(super::check_bind("127.0.0.1:0".parse().unwrap(), false).is_ok());
        assert!(super::check_bind("[::1]:0".parse().unwrap(), false).is_ok());
        // A syntax error names its line; a brackets bomb is refused before the parser.
        std::fs::write(&file, "bind: 127.0.0.1:0\nmarkets: [\naccounts: []\n").unwrap();
        let err = super::load_sim_file(&file).unwrap_err().to_string();
        assert!(err.contains("sim.yaml:"), "{err}");
        std::fs::write(&file, format!("markets: {}", "[".repeat(100_000))).unwrap();
        let err = super::load_sim_file(&file).unwrap_err().to_string();
        assert!(err.contains("nested deeper"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rate_limits_are_configurable_like_bybit_tiers() {
        let dir = std::env::temp_dir().join(format!("gridbot-sim-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sim.yaml");
        let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz");
        let yaml = |limits: &str| {
            format!(
                "markets:\n  - {{symbol: BTCUSDT, file: {data}}}\naccounts:\n  - {{api_key: k, api_secret: s, wallet: 1}}\n{limits}"
            )
        };
        std::fs::write(&file, yaml("rate_limits: {orders_per_sec: 100, queries_per_sec: 600}\n")).unwrap();
        let setup = super::load_sim_file(&file).unwrap();
        assert_eq!((setup.server.orders_per_sec, setup.server.queries_per_sec), (100, 600));
        std::fs::write(&file, yaml("rate_limits: {orders_per_sec: 0}\n")).unwrap();
        let err = super::load_sim_file(&file).unwrap_err().to_string();
        assert!(err.contains("rate_limits.orders_per_sec: expected 1 to 100000"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
