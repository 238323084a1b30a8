//! The commands: each loads what it needs, calls the library, prints, and maps errors to exit
//! codes (see main.rs).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gridbot_engine::account::AccountError;
use gridbot_engine::config::{
    BotConfig, ConfigErrors, LogLevel, ProcessEnv, TerminalFormat, load_any, load_for_operator,
};
use gridbot_strategy::SymbolRecovery;

use crate::demo::{DemoOptions, run_demo};
use gridbot_engine::{BotError, BotOptions, MultiAccountBot, operator};
use gridbot_web::WebServer;

use crate::{Failure, logging, signals};

const OK: Result<(), Failure> = Ok(());

fn config_failure(e: &ConfigErrors) -> Failure {
    Failure::new(2, format!("configuration is not valid:\n{e}"))
}

fn load(path: &Path) -> Result<BotConfig, Failure> {
    load_any(path, &ProcessEnv).map_err(|e| config_failure(&e))
}

/// For `status`, `stop`, `resume`: the paths and accounts, no secret needed (an operator in a
/// fresh shell can always stop the bot).
fn load_operating(path: &Path) -> Result<BotConfig, Failure> {
    load_for_operator(path).map_err(|e| config_failure(&e))
}

fn bot_failure(e: &BotError) -> Failure {
    let code = match e {
        BotError::Account(AccountError::Locked { .. }) => 4,
        BotError::Account(a) if a.is_credentials() => 3,
        BotError::Account(AccountError::Setup { .. }) => 2,
        _ => 1,
    };
    Failure::new(code, e.to_string())
}

fn log_files(config: &BotConfig) -> (&Path, Vec<String>) {
    (config.data_dir.as_path(), config.accounts.iter().map(|a| a.account_id.clone()).collect())
}

/// `gridbot run`.
pub(crate) fn run(path: &Path) -> Result<(), Failure> {
    let config = load(path)?;
    logging::init(config.logging.level, config.logging.terminal, Some(log_files(&config)))
        .map_err(|e| Failure::new(1, e))?;
    let shutdown = signals::listen().map_err(|e| Failure::new(1, e))?;
    // The web surfaces first: a port in use stops the start before any order is sent.
    let web = match &config.web {
        Some(web) => Some(WebServer::start(Arc::new(config.clone()), web).map_err(|e| Failure::new(2, e.to_string()))?),
        None => None,
    };
    let Some(bot) = start_unless_stopped(&config, &shutdown)? else {
        drop(web);
        return OK;
    };
    if let Some(web) = &web {
        web.attach(bot.live());
    }
    tracing::info!(accounts = config.accounts.len(), "gridbot running; SIGINT or SIGTERM stops it cleanly");
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if shutdown.requested() {
            tracing::info!("signal received: stop placing, persist, exit");
            bot.stop();
            drop(web);
            return OK;
        }
        if !bot.healthy() {
            bot.stop();
            return Err(Failure::new(1, "an account's worker stopped; see its log"));
        }
    }
}

/// Opens every account (instruments, recovery) on a thread of its own, so SIGINT/SIGTERM is
/// honoured within a fraction of a second even while start-up waits on a slow exchange (a
/// systemd stop SIGKILLs after 30 s). Stopping then is as safe as a crash at that instant —
/// the state is written atomically and the next start recovers from the exchange — and says so.
/// `None` when a signal came first.
fn start_unless_stopped(config: &BotConfig, shutdown: &signals::Shutdown) -> Result<Option<MultiAccountBot>, Failure> {
    let (done, started) = std::sync::mpsc::channel();
    let config = config.clone();
    std::thread::Builder::new()
        .name("gridbot-start".into())
        .spawn(move || {
            let options = BotOptions { market_clock: true, ..BotOptions::default() };
            let _ = done.send(MultiAccountBot::start(&config, &options));
        })
        .map_err(|e| Failure::new(1, format!("start-up thread: {e}")))?;
    loop {
        match started.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => return result.map(Some).map_err(|e| bot_failure(&e)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if shutdown.requested() => {
                tracing::warn!(
                    "signal received during start-up: exiting now; the next start recovers from the exchange"
                );
                return Ok(None);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Failure::new(1, "start-up stopped unexpectedly; see the log"));
            }
        }
    }
}

/// `gridbot sim`.
pub(crate) fn sim(config: PathBuf, bind: Option<SocketAddr>, cps: Option<f64>, fresh: bool) -> Result<(), Failure> {
    let options = gridbot_sim::serve::ServeOptions { config, bind, candles_per_second: cps, fresh };
    let say = |line: &str| {
        outln!("{line}");
    };
    gridbot_sim::serve::serve(&options, &say)
        .map_err(|e| Failure::new(if e.is_config() { 2 } else { 1 }, e.to_string()))
}

/// How the demo's replay moves: at a speed, or paced to the bot.
pub(crate) struct Pace {
    /// Candles per second.
    pub(crate) speed: f64,
    /// Paced to the bot instead.
    pub(crate) lockstep: bool,
}

/// `gridbot demo`.
pub(crate) fn demo(
    data: Option<PathBuf>,
    out: Option<PathBuf>,
    days: Option<f64>,
    pace: Pace,
    verbose: bool,
    web: Option<SocketAddr>,
) -> Result<(), Failure> {
    let Pace { speed, lockstep } = pace;
    if !(speed.is_finite() && speed >= 1.0) {
        return Err(Failure::new(2, format!("--speed: expected at least 1 candle per second, got {speed}")));
    }
    if days.is_some_and(|d| !(d.is_finite() && d > 0.0)) {
        return Err(Failure::new(2, "--days: expected a positive number"));
    }
    let files: Vec<&str> = crate::demo::DATA_FILES.iter().map(|(_, f)| *f).collect();
    let data = crate::bundled_data(data, &files, "--data")?;
    // A directory with an earlier run's journals would add their fills and fees to this one's.
    if let Some(dir) = &out
        && dir.join("var").exists()
    {
        return Err(Failure::new(
            2,
            format!(
                "--out {}: holds an earlier demo's journals and state ({}); choose a new directory or delete it",
                dir.display(),
                dir.join("var").display()
            ),
        ));
    }
    let temporary = out.is_none();
    let out_dir = out.unwrap_or_else(|| std::env::temp_dir().join(format!("gridbot-demo-{}", std::process::id())));
    let accounts = vec!["main".to_owned(), "range".to_owned()];
    let terminal = if verbose { TerminalFormat::Pretty } else { TerminalFormat::Off };
    logging::init(LogLevel::Info, terminal, Some((&out_dir.join("var"), accounts))).map_err(|e| Failure::new(1, e))?;
    let tty = std::io::stdout().is_terminal();
    outln!("gridbot demo: the simulator replays the bundled BTCUSDT and ETHUSDT perpetual candles on 127.0.0.1;");
    outln!("two accounts trade them over loopback (no keys, no network). Output: {}", out_dir.display());
    let mut last_line = std::time::Instant::now() - Duration::from_secs(60);
    let mut progress = |line: &str| {
        if tty {
            out!("\r{line}");
            let _ = std::io::stdout().flush();
        } else if last_line.elapsed() >= Duration::from_secs(5) {
            outln!("{line}");
            last_line = std::time::Instant::now();
        }
    };
    if lockstep {
        outln!("paced to the bot (--lockstep): the same results on every run, at the bot's speed.");
    } else {
        outln!("at {speed} candles/s: the results depend on how fast this machine runs the bot (--lockstep does not).");
    }
    let options =
        DemoOptions { data_dir: data, out_dir: out_dir.clone(), days, candles_per_second: speed, lockstep, web };
    let shutdown = if web.is_some() { Some(signals::listen().map_err(|e| Failure::new(1, e))?) } else { None };
    let mut announce = |w: &crate::demo::DemoWeb| {
        outln!("dashboard: http://{}/ — token for its actions (this run only): {}", w.server.addr(), w.token);
    };
    let (report, web) = match run_demo(&options, &mut progress, &mut announce) {
        Ok(r) => r,
        Err(e) => {
            if temporary {
                let _ = std::fs::remove_dir_all(&out_dir); // nothing worth keeping
            }
            return Err(Failure::new(1, e.to_string()));
        }
    };
    if tty {
        outln!();
    }
    outln!();
    outln!(
        "{:<7} {:>6} {:>7} {:>6} {:>7} {:>6} {:>12} {:>10} {:>10} {:>14}",
        "account",
        "fills",
        "cycles",
        "level",
        "orders",
        "risk",
        "realised",
        "fees",
        "funding",
        "equity"
    );
    for a in &report.accounts {
        outln!(
            "{:<7} {:>6} {:>7} {:>6} {:>7} {:>6} {:>12} {:>10} {:>10} {:>14}",
            a.account,
            a.fills,
            a.cycles,
            a.max_level,
            a.orders_placed,
            a.risk_events,
            a.realised_pnl.round_dp(2).to_string(),
            a.fees.round_dp(2).to_string(),
            a.funding.round_dp(2).to_string(),
            format!("{} → {}", a.equity.0.round_dp(0), a.equity.1.round_dp(2)),
        );
    }
    outln!();
    if let Some(asked) = days.filter(|d| *d > report.days + 1e-9) {
        outln!(
            "--days {asked}: the bundled data holds {:.1} market days after the warm-up; all of them were traded.",
            report.days
        );
    }
    outln!("{:.1} market days in {:.1} s.", report.days, report.wall.as_secs_f64());
    outln!("  fills, cycles: executions and closed round trips; level: the deepest grid level reached;");
    outln!("  orders: orders placed; risk: risk alerts raised (each level's in the journal's events);");
    outln!("  realised: closed PnL net of fees and funding; fees: paid (a rebate would be negative);");
    outln!("  funding: net funding paid (+ paid, − received); equity: start → end. All in USDT.");
    outln!("Journals (sqlite3), state and logs: {}", report.out_dir.join("var").display());
    // The same `main` account backtested over the same minutes: the report a trader reads.
    let backtest_out = report.out_dir.join("backtest");
    let iso = |ms: i64| gridbot_core::time::format_iso8601(ms).trim_end_matches('Z').to_owned();
    let args = crate::backtest::BacktestArgs {
        config: Some(report.out_dir.join("config").join("main.yaml")),
        data: report.data.iter().map(|(symbol, path)| format!("{symbol}={}", path.display())).collect(),
        // Whole minutes: the demo's clock reads candle closes (…:59.999).
        from: Some(iso(report.window_ms.0 - report.window_ms.0.rem_euclid(60_000) + 60_000)),
        to: Some(iso(report.window_ms.1 - report.window_ms.1.rem_euclid(60_000))),
        balance: None,
        out: Some(backtest_out.clone()),
        quiet: true,
        example: false,
        data_dir: None,
    };
    match crate::backtest::backtest(args) {
        Ok(()) => outln!(
            "The main account backtested over the same minutes (the one core, in-process): {}",
            backtest_out.join("report.html").display()
        ),
        Err(e) => outln!("(no backtest report: {})", e.message),
    }
    if let (Some(web), Some(shutdown)) = (web, shutdown) {
        outln!("The dashboard stays up at http://{}/ with the demo's journals; Ctrl-C ends it.", web.server.addr());
        while !shutdown.requested() {
            std::thread::sleep(Duration::from_millis(200));
        }
        web.server.stop();
    }
    OK
}

/// `gridbot recover`.
pub(crate) fn recover(path: &Path, account: Option<&str>, dry_run: bool) -> Result<(), Failure> {
    let config = load(path)?;
    if let Some(a) = account
        && !config.accounts.iter().any(|x| x.account_id == a)
    {
        return Err(Failure::new(2, format!("no account {a:?} in {}", path.display())));
    }
    logging::init(config.logging.level, config.logging.terminal, Some(log_files(&config)))
        .map_err(|e| Failure::new(1, e))?;
    let options = BotOptions { market_clock: true, ..BotOptions::default() };
    let reports = MultiAccountBot::recover(&config, account, dry_run, &options).map_err(|e| bot_failure(&e))?;
    for (account, symbols) in reports {
        for (symbol, report) in symbols {
            match report {
                SymbolRecovery::Progressive(r) => {
                    outln!("{account} {symbol}: {}", r.classification);
                    for l in &r.legs {
                        let leg = format!("{:?}", l.leg).to_lowercase();
                        match (l.size.is_zero(), l.level, l.avg_entry) {
                            (true, ..) => outln!("  {leg} leg: flat; its next cycle is {}", l.cycle),
                            (false, level, avg) => outln!(
                                "  {leg} leg: cycle {}, {}, size {}{}",
                                l.cycle,
                                level.map_or_else(|| "level unknown".to_owned(), |n| format!("level {n}")),
                                l.size,
                                avg.map_or_else(String::new, |a| format!(" at an average {a}"))
                            ),
                        }
                        for f in &l.findings {
                            outln!("    note: {f}");
                        }
                    }
                    for (d, kept) in r.desired.iter().zip(&r.in_place) {
                        let what = match (*kept, dry_run) {
                            (true, _) => "in place",
                            (false, true) => "would place",
                            (false, false) => "placed",
                        };
                        let role = match d.tag.role {
                            gridbot_core::OrderRole::Balance => "entry (balance)",
                            gridbot_core::OrderRole::Protective => "protective",
                            gridbot_core::OrderRole::TakeProfit => "take-profit",
                            _ => "order",
                        };
                        outln!(
                            "  {what}: {} {role}, level {}: {} {} at {}",
                            format!("{:?}", d.tag.leg).to_lowercase(),
                            d.tag.level,
                            d.request.side.as_str().to_lowercase(),
                            d.request.qty,
                            d.request.price.map_or_else(|| "market".to_owned(), |p| p.to_string())
                        );
                    }
                    if dry_run {
                        outln!("  dry run: nothing was sent");
                    } else if !r.unchanged {
                        outln!("  cancelled {}, placed {}", r.cancelled, r.placed);
                    }
                }
                SymbolRecovery::Classic(sync) if dry_run => outln!("{account} {symbol}: {}", sync.would()),
                SymbolRecovery::Classic(sync) => outln!("{account} {symbol}: {sync}"),
            }
        }
    }
    OK
}

/// `gridbot doctor`.
pub(crate) fn doctor(path: &Path, account: Option<&str>, json: bool) -> Result<(), Failure> {
    let config = load(path)?;
    if let Some(a) = account
        && !config.accounts.iter().any(|x| x.account_id == a)
    {
        return Err(Failure::new(2, format!("no account {a:?} in {}", path.display())));
    }
    let checks = gridbot_engine::doctor::doctor(&config, account);
    if json {
        outln!("{}", serde_json::to_string_pretty(&checks).map_err(|e| Failure::new(1, e.to_string()))?);
    } else {
        for c in &checks {
            let verdict = match c.verdict {
                gridbot_engine::doctor::Verdict::Ok => "ok  ",
                gridbot_engine::doctor::Verdict::Warn => "warn",
                gridbot_engine::doctor::Verdict::Fail => "FAIL",
            };
            let whose = c.symbol.as_ref().map_or_else(|| c.account.clone(), |s| format!("{} {s}", c.account));
            outln!("{verdict} {whose}: {}: {}", c.what, c.detail);
        }
    }
    let failed = checks.iter().filter(|c| c.verdict == gridbot_engine::doctor::Verdict::Fail).count();
    if failed > 0 {
        return Err(Failure::new(1, format!("{failed} check(s) failed; nothing was sent")));
    }
    OK
}

/// `gridbot status`.
pub(crate) fn status(path: &Path, json: bool) -> Result<(), Failure> {
    let config = load_operating(path)?;
    let status = operator::status(&config);
    if json {
        outln!("{}", serde_json::to_string_pretty(&status).map_err(|e| Failure::new(1, e.to_string()))?);
        return OK;
    }
    for s in status {
        outln!(
            "{}: {}{}",
            s.account,
            if s.running { "running" } else { "not running" },
            if s.emergency_stop { ", EMERGENCY STOP ON" } else { "" }
        );
        for symbol in &s.symbols {
            outln!("  {}", symbol.line());
        }
        match &s.realised_pnl {
            Some(pnl) => outln!(
                "  {} executions; realised PnL {} USDT, {} on {} (UTC)",
                s.executions,
                pnl.total,
                pnl.today,
                pnl.day
            ),
            None => outln!("  no journal yet"),
        }
        if let Some(e) = &s.equity {
            outln!("  equity {} USDT at {}", e.usdt, e.at);
        }
        for e in &s.recent_events {
            let symbol = e.symbol.as_deref().map_or_else(String::new, |s| format!(" {s}"));
            outln!("  {} {}{symbol}: {}", e.at, e.kind, e.message);
        }
    }
    OK
}

/// `gridbot stop`.
pub(crate) fn stop(path: &Path, account: &str, reason: &str) -> Result<(), Failure> {
    let config = load_operating(path)?;
    let flag = operator::stop(&config, account, &format!("`gridbot stop`: {reason}"))
        .map_err(|e| Failure::new(2, e.to_string()))?;
    outln!("{account}: emergency stop ON ({}); nothing will be sent until `gridbot resume`", flag.display());
    OK
}

/// `gridbot recentre`.
pub(crate) fn recentre(path: &Path, account: &str, symbol: &str, profile: Option<&str>) -> Result<(), Failure> {
    let config = load_operating(path)?;
    let profile = match profile {
        Some(name) => Some(gridbot_strategy::Profile::from_name(name).ok_or_else(|| {
            Failure::new(2, format!("--profile: expected conservative, normal or aggressive, got {name:?}"))
        })?),
        None => None,
    };
    let request = operator::recentre(&config, account, symbol, profile).map_err(|e| Failure::new(2, e.to_string()))?;
    outln!(
        "{account} {symbol}: recentre{} requested ({}); a running bot acts on its next tick",
        profile.map_or_else(String::new, |p| format!(" with the {} profile", p.name())),
        request.display()
    );
    OK
}

/// `gridbot resume`.
pub(crate) fn resume(path: &Path, account: &str) -> Result<(), Failure> {
    let config = load_operating(path)?;
    let was_on = operator::resume(&config, account).map_err(|e| Failure::new(2, e.to_string()))?;
    outln!(
        "{account}: {}; a running bot resumes on its next tick",
        if was_on { "emergency stop lifted" } else { "no emergency stop was set" }
    );
    OK
}

/// The symbols of every account against their instruments: Bybit's built-in filters offline
/// (BTCUSDT, ETHUSDT), the exchange's public instrument list with `online` (no key needed).
/// Problems are `file:line: field: problem` and exit 2, like every configuration error.
fn check_symbols_offline_or_online(config: &BotConfig, online: bool) -> Result<(), Failure> {
    let mut problems = Vec::new();
    for a in &config.accounts {
        let listed = if online {
            let client = gridbot_bybit::BybitClient::new(gridbot_bybit::ClientConfig::new(
                gridbot_bybit::Environment::custom(&a.rest_url),
                None,
            ));
            Some(
                gridbot_core::Exchange::instruments(&client)
                    .map_err(|e| Failure::new(1, format!("{}: instruments from {}: {e}", a.account_id, a.rest_url)))?,
            )
        } else {
            None
        };
        let text = std::fs::read_to_string(&a.path).unwrap_or_default();
        let lines = gridbot_core::yaml::LineIndex::new(&text);
        for (i, sc) in a.symbols.iter().enumerate() {
            let at = |field: &str| {
                let path = format!("symbols[{i}].{field}");
                let line = lines.line(&path).map_or_else(String::new, |l| format!(":{l}"));
                format!("{}{line}: {path}", a.path.display())
            };
            let instrument = match &listed {
                Some(list) => list.iter().find(|x| x.symbol() == &sc.symbol).cloned(),
                None => gridbot_core::reference::bybit_linear(sc.symbol.as_str()),
            };
            match instrument {
                Some(instrument) => {
                    if let Err(misfit) = gridbot_engine::doctor::fits(sc, &instrument) {
                        problems.push(format!("{}: {misfit}", at(misfit.field)));
                    }
                }
                None if online => {
                    problems.push(format!(
                        "{}: {} is not a trading USDT perpetual on {}",
                        at("symbol"),
                        sc.symbol,
                        a.rest_url
                    ));
                }
                None => outln!(
                    "  note: {} is not one of the built-in instruments ({}): `config check --online` checks it against the exchange",
                    sc.symbol,
                    gridbot_core::reference::REFERENCE_SYMBOLS.join(", ")
                ),
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Failure::new(2, problems.join("\n"))) }
}

/// `gridbot config check`.
pub(crate) fn config_check(path: &Path, online: bool) -> Result<(), Failure> {
    let config = load(path)?;
    check_symbols_offline_or_online(&config, online)?;
    outln!("{}: valid", path.display());
    for a in &config.accounts {
        let symbols: Vec<String> = a
            .symbols
            .iter()
            .map(|s| {
                let kind = match s.strategy {
                    gridbot_engine::config::StrategyConfig::Progressive(_) => "progressive",
                    gridbot_engine::config::StrategyConfig::Classic(_) => "classic",
                };
                format!("{} {kind} {}x", s.symbol, s.leverage)
            })
            .collect();
        outln!("  {} ({:?}, {}): {}", a.account_id, a.environment, a.rest_url, symbols.join(", "));
    }
    if let Some(web) = &config.web {
        let token = if web.token.is_some() { "token set" } else { "no token: stop/resume disabled" };
        outln!("  web: http://{} ({token})", web.bind);
    }
    OK
}
