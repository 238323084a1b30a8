//! `gridbot backtest`: the account file as live reads it (its `backtest:` section, no secrets),
//! the data files, the run, the outputs and a terminal summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gridbot_backtest::report::{Inputs, write_all};
use gridbot_backtest::{
    BacktestRun, BacktestSettings, MarketData, Progress, Window, run, settings_of, spec_of, symbol_of,
};
use gridbot_core::{Decimal, Symbol};
use gridbot_engine::config::{AccountConfig, BacktestConfig, load_account_for_backtest};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Failure;

/// The example account file (`--example`).
const EXAMPLE: &str = include_str!("../../../config/backtest-example.yaml");
/// The bundled data `--example` trades.
const EXAMPLE_DATA: [&str; 2] =
    ["binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz", "binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz"];

/// What `gridbot backtest` was asked.
pub(crate) struct BacktestArgs {
    pub(crate) config: Option<PathBuf>,
    pub(crate) data: Vec<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    pub(crate) balance: Option<String>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) quiet: bool,
    pub(crate) example: bool,
    pub(crate) data_dir: Option<PathBuf>,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::new(2, message)
}

fn time_arg(name: &str, text: Option<&String>) -> Result<Option<i64>, Failure> {
    text.map(|t| {
        gridbot_core::time::parse_utc(t)
            .ok_or_else(|| usage(format!("{name}: expected a UTC date like 2025-05-20 or 2025-05-20T12:00, got {t:?}")))
    })
    .transpose()
}

/// The backtest's exchange from the file's `backtest:` section and the command line.
fn settings(b: &BacktestConfig, balance: Option<&String>) -> Result<BacktestSettings, Failure> {
    let mut s = settings_of(b).map_err(|e| usage(e.to_string()))?;
    if let Some(text) = balance {
        s.balance = text
            .parse::<Decimal>()
            .ok()
            .filter(|v| *v > Decimal::ZERO)
            .ok_or_else(|| usage(format!("--balance: expected a positive number of USDT, got {text:?}")))?;
    }
    Ok(s)
}

/// The settings a reader wants beside the results: each symbol's grid as configured.
fn parameters(account: &AccountConfig) -> Vec<(String, String)> {
    account
        .symbols
        .iter()
        .map(|s| (format!("{} (leverage {})", s.symbol, s.leverage), format!("{:?}", s.strategy)))
        .collect()
}

fn summary(run: &BacktestRun, files: &[PathBuf], wall: Duration) {
    let m = &run.metrics;
    let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or_else(|| "—".to_owned(), f);
    outln!(
        "{} → {} ({:.1} days, {} candle steps in {:.2} s)",
        gridbot_backtest::iso(run.from_ms),
        gridbot_backtest::iso(run.to_ms),
        m.days,
        run.candle_steps,
        wall.as_secs_f64()
    );
    outln!(
        "equity   {} → {} USDT   net {:+.2} ({:+.2}%)   CAGR {}",
        run.start_equity.round_dp(2),
        run.end_equity.round_dp(2),
        m.net_pnl,
        m.total_return * 100.0,
        opt(m.cagr, &|x| format!("{:+.1}%", x * 100.0))
    );
    outln!(
        "realised {:+.2} gross, fees {:.2}, funding {:+.2} (paid)   max drawdown {:.2}% ({:.2} USDT)",
        m.gross_pnl,
        m.fees,
        m.funding,
        m.max_drawdown.depth * 100.0,
        m.max_drawdown.depth_usdt
    );
    outln!(
        "Sharpe {}  Sortino {}  Calmar {}  profit factor {}",
        opt(m.sharpe, &|x| format!("{x:.2}")),
        opt(m.sortino, &|x| format!("{x:.2}")),
        opt(m.calmar, &|x| format!("{x:.2}")),
        opt(m.profit_factor, &|x| format!("{x:.2}"))
    );
    outln!(
        "fills {}  cycles {} closed, {} won ({})  deepest level {}  recentres {}  liquidations {}",
        m.fills,
        m.cycles.closed,
        m.cycles.won,
        opt(m.cycles.win_rate, &|x| format!("{:.0}%", x * 100.0)),
        m.max_level,
        run.recentres,
        m.liquidations
    );
    if !m.risk_triggers.is_empty() {
        let list: Vec<String> = m.risk_triggers.iter().map(|(l, n)| format!("{l}: {n}")).collect();
        outln!("risk triggers  {}", list.join(", "));
    }
    for f in files {
        outln!("wrote {}", f.display());
    }
}

/// `gridbot backtest`.
pub(crate) fn backtest(args: BacktestArgs) -> Result<(), Failure> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("backtest-out"));
    let (config_path, data_args) = if args.example {
        if args.config.is_some() || !args.data.is_empty() {
            return Err(usage("--example runs the bundled example: leave out --config and --data"));
        }
        let dir = crate::bundled_data(args.data_dir.clone(), &EXAMPLE_DATA, "--data-dir")?;
        std::fs::create_dir_all(&out).map_err(|e| Failure::new(1, format!("{}: {e}", out.display())))?;
        let path = out.join("example.yaml");
        std::fs::write(&path, EXAMPLE).map_err(|e| Failure::new(1, format!("{}: {e}", path.display())))?;
        let data: Vec<String> = EXAMPLE_DATA.iter().map(|f| dir.join(f).display().to_string()).collect();
        (path, data)
    } else {
        let Some(config) = args.config.clone() else {
            return Err(usage("--config ACCOUNT.yaml is required (or --example)"));
        };
        if args.data.is_empty() {
            return Err(usage("--data FILE is required, once per symbol (SYMBOL=FILE when the name does not say)"));
        }
        (config, args.data.clone())
    };
    let account = load_account_for_backtest(&config_path)
        .map_err(|e| Failure::new(2, format!("configuration is not valid:\n{e}")))?;
    let symbols: Vec<Symbol> = account.symbols.iter().map(|s| s.symbol.clone()).collect();
    let mut files = Vec::new();
    for arg in &data_args {
        files.push(symbol_of(arg, &symbols).map_err(|e| usage(e.to_string()))?);
    }
    let window =
        Window { from_ms: time_arg("--from", args.from.as_ref())?, to_ms: time_arg("--to", args.to.as_ref())? };
    let settings = settings(&account.backtest, args.balance.as_ref())?;
    let data = MarketData::load(&files).map_err(|e| usage(e.to_string()))?;
    for s in &data.series {
        for g in &s.gaps {
            if !args.quiet {
                eprintln!(
                    "gridbot: {}: {} candles missing after {} (a gap in the data: replayed as a jump, not filled)",
                    s.symbol,
                    g.missing,
                    gridbot_backtest::iso(g.after_ms)
                );
            }
        }
    }
    let spec = spec_of(&account);
    let started = Instant::now();
    let bar = ProgressBar::hidden();
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} candles  {per_sec}  eta {eta}  {msg}") {
        bar.set_style(style);
    }
    let show = !args.quiet && std::io::stderr().is_terminal();
    let mut progress = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        // A bar only for runs longer than a second.
        if show && bar.is_hidden() && started.elapsed() >= Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    };
    let result = run(&spec, &data, &settings, window, &mut progress);
    bar.finish_and_clear();
    let result = result.map_err(|e| {
        use gridbot_backtest::BacktestError as E;
        let code = match e {
            E::UnknownInstrument(_)
            | E::NoData(_)
            | E::NotEnoughHistory { .. }
            | E::NoPriceBeforeStart { .. }
            | E::EmptyWindow { .. }
            | E::Open(_) => 2,
            E::Exchange(_) => 1,
        };
        Failure::new(code, e.to_string())
    })?;
    let wall = started.elapsed();
    let shown = if args.example { PathBuf::from("config/backtest-example.yaml") } else { config_path.clone() };
    let inputs = Inputs::new(&shown, &data, &settings, &result);
    let written = write_all(&out, &spec, &inputs, &data, &result, &parameters(&account))
        .map_err(|e| Failure::new(1, e.to_string()))?;
    if !args.quiet {
        summary(&result, &written, wall);
    }
    Ok(())
}
