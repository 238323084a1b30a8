//! `gridbot demo`: the whole product on the bundled data, with no keys and no network beyond
//! loopback.
//!
//! 1. gridbot-sim starts in-process on 127.0.0.1 with the bundled perpetual 1-minute candles of
//!    BTCUSDT and ETHUSDT, after replaying `WARMUP_DAYS` of history (the grids' daily ATR needs
//!    it).
//! 2. A bot of two accounts — `main` trading progressive grids on both symbols, `range` a
//!    classic grid on ETHUSDT — starts against it exactly as `gridbot run` would: the same
//!    configuration files (written to the output directory), Bybit client, WebSockets,
//!    recovery, risk, state and journal.
//! 3. The simulator replays the rest of the data at `candles_per_second`; a progress line shows
//!    the replay day, prices and the bot's counters.
//! 4. At the end: fills, cycles, levels reached, PnL, fees, funding and risk events per account,
//!    read from each account's journal and wallet.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbot_bybit::{BybitClient, ClientConfig, Credentials, Environment};
use gridbot_core::time::DAY_MS;
use gridbot_core::{Decimal, Exchange, SystemClock};
use gridbot_state::Journal;

use gridbot_engine::account::files;
use gridbot_engine::config::load_bot;
use gridbot_engine::{AccountSummary, BotOptions, MultiAccountBot};

/// Days of history replayed before the bot starts.
pub(crate) const WARMUP_DAYS: u32 = 16;
/// The bundled candle files the demo replays.
pub(crate) const DATA_FILES: [(&str, &str); 2] = [
    ("BTCUSDT", "binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz"),
    ("ETHUSDT", "binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz"),
];
const WALLET: u32 = 100_000;
/// The quiet a lockstep demo waits for after each price-path point.
const LOCKSTEP_QUIET: Duration = Duration::from_millis(10);

/// How to run the demo.
#[derive(Debug, Clone)]
pub(crate) struct DemoOptions {
    /// Where the bundled candles are (`data/` of the repository).
    pub(crate) data_dir: PathBuf,
    /// Where configuration, state, journals and logs go.
    pub(crate) out_dir: PathBuf,
    /// Days to trade after the warm-up (`None`: all the data).
    pub(crate) days: Option<f64>,
    /// Replay speed.
    pub(crate) candles_per_second: f64,
    /// Pace the replay to the bot instead (the same results every run).
    pub(crate) lockstep: bool,
    /// Serve the dashboard here while the demo runs (and after, until Ctrl-C).
    pub(crate) web: Option<std::net::SocketAddr>,
}

/// The demo's dashboard: where it listens and the token its actions need.
pub(crate) struct DemoWeb {
    /// The server (stops when dropped).
    pub(crate) server: gridbot_web::WebServer,
    /// The bearer token of this run (random, shown once in the terminal).
    pub(crate) token: String,
}

/// A token for one demo run: 128 bits from the standard library's per-process random hash keys.
fn demo_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut token = String::new();
    for round in 0..2_u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(round);
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        token.push_str(&format!("{:016x}", h.finish()));
    }
    token
}

/// One account's results.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct DemoAccount {
    /// Account id.
    pub(crate) account: String,
    /// Fills of its orders.
    pub(crate) fills: u64,
    /// Cycles closed by take-profits (progressive) and grid round trips (classic).
    pub(crate) cycles: u64,
    /// Deepest level any progressive leg reached.
    pub(crate) max_level: u32,
    /// Orders placed.
    pub(crate) orders_placed: u64,
    /// Classic grid rebuilds.
    pub(crate) recentres: u64,
    /// Risk alerts raised.
    pub(crate) risk_events: u64,
    /// Realised PnL net of fees and funding, USDT (journal).
    pub(crate) realised_pnl: Decimal,
    /// Trading fees paid, USDT.
    pub(crate) fees: Decimal,
    /// Funding paid (negative: received), USDT.
    pub(crate) funding: Decimal,
    /// Equity at the start and at the end, USDT (unrealised PnL included).
    pub(crate) equity: (Decimal, Decimal),
}

/// What the demo did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct DemoReport {
    /// Per account.
    pub(crate) accounts: Vec<DemoAccount>,
    /// Market days traded.
    pub(crate) days: f64,
    /// Wall time of the trading part.
    pub(crate) wall: Duration,
    /// Where everything was written.
    pub(crate) out_dir: PathBuf,
    /// The market time traded: from, to (UTC ms).
    pub(crate) window_ms: (i64, i64),
    /// The bundled candle files (symbol, path).
    pub(crate) data: Vec<(String, PathBuf)>,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// The bundled data is missing.
    #[error("{0} not found: run from the repository root, or pass --data DIR")]
    MissingData(String),
    /// Something else.
    #[error("{0}")]
    Failed(String),
}

fn fail(what: &str) -> impl Fn(String) -> DemoError + '_ {
    move |e| DemoError::Failed(format!("{what}: {e}"))
}

fn write_configs(dir: &Path, url: &str) -> Result<PathBuf, DemoError> {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).map_err(|e| fail("creating the output directory")(e.to_string()))?;
    let main = format!(
        "# The demo's progressive-grid account (gridbot-sim keys: not secrets).\n\
         account_id: main\nenvironment: sim\nbase_url: {url}\napi_key: demo-key-main\napi_secret: demo-secret-main\n\
         symbols:\n\
         \x20 - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.002\"\n      max_levels: 6\n      step_scale_factor: 0.25\n      take_profit: 0.003\n\
         \x20 - symbol: ETHUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.05\"\n      max_levels: 6\n      step_scale_factor: 0.25\n      take_profit: 0.003\n"
    );
    let range = format!(
        "# The demo's classic-grid account.\n\
         account_id: range\nenvironment: sim\nbase_url: {url}\napi_key: demo-key-range\napi_secret: demo-secret-range\n\
         symbols:\n\
         \x20 - symbol: ETHUSDT\n    strategy: classic\n    leverage: 3\n    classic:\n      qty_per_level: \"0.05\"\n      spacing: 0.004\n      levels_per_side: 6\n      progression: geometric\n      recentre: {{max_deviation: 0.01, one_sided: true}}\n"
    );
    let bot = "# The demo's bot: two accounts on one simulator.\ndata_dir: ../var\naccounts:\n  - main.yaml\n  - range.yaml\nlogging: {level: info, terminal: off}\n";
    for (name, text) in [("main.yaml", main.as_str()), ("range.yaml", range.as_str()), ("bot.yaml", bot)] {
        std::fs::write(config.join(name), text).map_err(|e| fail("writing the configuration")(e.to_string()))?;
    }
    Ok(config.join("bot.yaml"))
}

fn sim_yaml(dir: &Path, data_dir: &Path) -> Result<PathBuf, DemoError> {
    let mut markets = String::new();
    for (symbol, file) in DATA_FILES {
        let path = data_dir.join(file);
        if !path.exists() {
            return Err(DemoError::MissingData(path.display().to_string()));
        }
        let absolute = std::fs::canonicalize(&path).map_err(|e| fail("data")(e.to_string()))?;
        markets.push_str(&format!("  - symbol: {symbol}\n    file: {}\n", absolute.display()));
    }
    let text = format!(
        "warmup_days: {WARMUP_DAYS}\nmarkets:\n{markets}accounts:\n  - {{api_key: demo-key-main, api_secret: demo-secret-main, wallet: {WALLET}}}\n  - {{api_key: demo-key-range, api_secret: demo-secret-range, wallet: {WALLET}}}\n"
    );
    let path = dir.join("sim.yaml");
    std::fs::write(&path, text).map_err(|e| fail("writing sim.yaml")(e.to_string()))?;
    Ok(path)
}

/// Waits until the bot has had nothing to do for half a second.
fn settle(bot: &MultiAccountBot) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut quiet = 0;
    let mut last = u64::MAX;
    while quiet < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let events: u64 = bot.summaries().iter().map(|s| s.events).sum();
        quiet = if events == last && bot.queued() == 0 { quiet + 1 } else { 0 };
        last = events;
    }
}

/// Runs the demo; `progress` receives a status line about once a second, `on_web` the
/// dashboard once it listens.
pub(crate) fn run_demo(
    options: &DemoOptions,
    progress: &mut dyn FnMut(&str),
    on_web: &mut dyn FnMut(&DemoWeb),
) -> Result<(DemoReport, Option<DemoWeb>), DemoError> {
    std::fs::create_dir_all(&options.out_dir).map_err(|e| fail("creating the output directory")(e.to_string()))?;
    let mut setup = gridbot_sim::load_sim_file(&sim_yaml(&options.out_dir, &options.data_dir)?)
        .map_err(|e| fail("simulator")(e.to_string()))?;
    // The demo's bot is the only client: lift the simulator's per-key rate limits so the
    // accelerated replay is not throttled (the client still paces itself).
    setup.server.orders_per_sec = 10_000;
    setup.server.queries_per_sec = 10_000;
    let start = setup.warm_up().ok_or_else(|| DemoError::Failed("the data is empty".into()))?;
    let remaining_days = (setup.replay.remaining() / DATA_FILES.len()) as f64 / 1_440.0;
    let days = options.days.map_or(remaining_days, |d| d.min(remaining_days)).max(0.0);
    let mut handle = gridbot_sim::server::start(setup.server, setup.engine, setup.replay, Arc::new(SystemClock))
        .map_err(|e| fail("simulator")(e.to_string()))?;
    let url = handle.base_url();
    let bot_file = write_configs(&options.out_dir, &url)?;
    let config =
        load_bot(&bot_file, &HashMap::<String, String>::new()).map_err(|e| fail("configuration")(e.to_string()))?;
    let bot_options = BotOptions {
        market_clock: true,
        client: Some(Arc::new(|c: &mut ClientConfig| {
            c.rate_limits.orders_per_sec = 10_000;
            c.rate_limits.queries_per_sec = 10_000;
        })),
        ..BotOptions::default()
    };
    let web = match options.web {
        Some(bind) => {
            let token = demo_token();
            let web_config = gridbot_engine::config::WebConfig {
                bind,
                token: Some(gridbot_engine::config::Secret::new(token.clone())),
            };
            let server = gridbot_web::WebServer::start(Arc::new(config.clone()), &web_config)
                .map_err(|e| fail("dashboard")(e.to_string()))?;
            Some(DemoWeb { server, token })
        }
        None => None,
    };
    let bot = MultiAccountBot::start(&config, &bot_options).map_err(|e| fail("starting the bot")(e.to_string()))?;
    if let Some(web) = &web {
        web.server.attach(bot.live());
        on_web(web);
    }
    let started = Instant::now();
    #[allow(clippy::cast_possible_truncation, reason = "days of the bundled data: far below i64::MAX ms")]
    let end = start + (days * DAY_MS as f64) as i64;
    if options.lockstep {
        // Paced to the bot: each price-path point once both accounts have acted on the last.
        handle.drive_lockstep_until(LOCKSTEP_QUIET, end).map_err(|e| fail("simulator")(e.to_string()))?;
    } else {
        handle
            .drive(Duration::from_secs_f64(1.0 / options.candles_per_second.max(1.0)))
            .map_err(|e| fail("simulator")(e.to_string()))?;
    }
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = handle.market_time_ms();
        let done = now >= end || handle.replay_remaining() == 0 || (options.lockstep && handle.driver_finished());
        if !bot.healthy() {
            handle.stop_driving();
            bot.stop();
            return Err(DemoError::Failed("an account stopped; see the logs".into()));
        }
        let s = bot.summaries();
        let sum = |f: &dyn Fn(&AccountSummary) -> u64| s.iter().map(f).sum::<u64>();
        #[allow(clippy::cast_precision_loss, reason = "a progress figure")]
        let day = (now - start) as f64 / DAY_MS as f64;
        progress(&format!(
            "day {:>5.1} of {days:.1} | fills {:>5} | cycles {:>5} | max level {} | risk events {:>3}",
            day.min(days),
            sum(&|a| a.strategy.fills),
            sum(&|a| a.strategy.cycles),
            s.iter().map(|a| a.strategy.max_level).max().unwrap_or(0),
            sum(&|a| a.risk_events),
        ));
        if done {
            break;
        }
    }
    handle.stop_driving();
    settle(&bot);
    let wall = started.elapsed();
    let summaries = bot.stop();
    let mut accounts = Vec::new();
    for (summary, account) in summaries.iter().zip(&config.accounts) {
        let client = BybitClient::new(ClientConfig::new(
            Environment::custom(&account.rest_url),
            Credentials::new(account.api_key.expose(), account.api_secret.expose()).ok(),
        ));
        let end_equity = client.wallet().map(|w| w.total_equity).map_err(|e| fail("wallet")(e.to_string()))?;
        let journal = Journal::open(&config.account_dir(&account.account_id).join(files::JOURNAL))
            .map_err(|e| fail("journal")(e.to_string()))?;
        let realised: Decimal =
            journal.realised_pnl_by_day().map_err(|e| fail("journal")(e.to_string()))?.iter().map(|(_, v)| *v).sum();
        let (fees, funding) =
            journal.fees_and_funding(i64::MIN, i64::MAX).map_err(|e| fail("journal")(e.to_string()))?;
        accounts.push(DemoAccount {
            account: summary.account.clone(),
            fills: summary.strategy.fills,
            cycles: summary.strategy.cycles,
            max_level: summary.strategy.max_level,
            orders_placed: summary.strategy.orders_placed,
            recentres: summary.strategy.recentres,
            risk_events: summary.risk_events,
            realised_pnl: realised,
            fees,
            funding,
            equity: (Decimal::from(WALLET), end_equity),
        });
    }
    handle.stop();
    let data = DATA_FILES.iter().map(|(symbol, file)| ((*symbol).to_owned(), options.data_dir.join(file))).collect();
    Ok((DemoReport { accounts, days, wall, out_dir: options.out_dir.clone(), window_ms: (start, end), data }, web))
}
