//! `gridbot`: the binary. Parsing, wiring, logging setup and error → exit code; everything
//! else lives in the library crates (gridbot-engine above all).
//!
//! Exit codes:
//! - 0: success, or a clean stop after SIGINT/SIGTERM
//! - 1: a runtime failure (the exchange unreachable, an account stopped, I/O)
//! - 2: a configuration or usage error — nothing was sent to any exchange
//! - 3: the exchange refused the credentials or their permissions
//! - 4: another gridbot is running the account (its lock is held)
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line program talks on stdout and stderr")]

/// `println!` that ends the process quietly (exit 0) when stdout is a closed pipe
/// (`gridbot status | head`): the reader has what it wanted; a panic would be noise.
macro_rules! outln {
    () => { $crate::write_stdout(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*), true) };
}

/// `print!`, the same way.
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*), false) };
}

mod backtest;
mod commands;
mod data;
mod demo;
mod logging;
mod optimize;
mod signals;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Grid strategies for Bybit USDT perpetual futures.
#[derive(Parser)]
#[command(
    name = "gridbot",
    version,
    after_help = "Exit codes: 0 ok or clean stop, 1 runtime failure, 2 configuration or usage error (nothing sent), \
                  3 credentials refused, 4 account locked by another gridbot."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log level for this run, overriding the bot file's `logging.level`: error, warn, info,
    /// debug (every order, execution and update), trace (every request and book).
    #[arg(long, global = true, value_parser = parse_log_level)]
    log_level: Option<gridbot_engine::config::LogLevel>,
}

fn parse_log_level(text: &str) -> Result<gridbot_engine::config::LogLevel, String> {
    use gridbot_engine::config::LogLevel;
    match text {
        "error" => Ok(LogLevel::Error),
        "warn" => Ok(LogLevel::Warn),
        "info" => Ok(LogLevel::Info),
        "debug" => Ok(LogLevel::Debug),
        "trace" => Ok(LogLevel::Trace),
        other => Err(format!("expected error, warn, info, debug or trace, got {other:?}")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Trade live: every account of a bot file (or one account file).
    Run {
        /// The bot YAML (or an account YAML).
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Serve the Bybit-v5-compatible simulator on 127.0.0.1 (paper trading, tests).
    Sim {
        /// The simulator YAML (see config/sim.yaml).
        #[arg(short, long)]
        config: PathBuf,
        /// Listen here instead of the file's `bind`.
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Replay speed instead of the file's.
        #[arg(long)]
        candles_per_second: Option<f64>,
        /// Ignore a saved state file.
        #[arg(long)]
        fresh: bool,
    },
    /// The whole product on the bundled data: simulator + bot over loopback, then a summary.
    Demo {
        /// Where the bundled candles are (default: ./data, else the data/ of the source tree
        /// this binary was built from).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Output directory (configuration, state, journals, logs); default: a new temp dir.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Market days to trade after the warm-up (default: all the bundled data).
        #[arg(long)]
        days: Option<f64>,
        /// Replay speed, candles per second. At a speed the results depend on how fast this
        /// machine runs the bot (it may miss moves); see --lockstep.
        #[arg(long, default_value_t = 2_000.0)]
        speed: f64,
        /// Pace the replay to the bot — each price-path point once both accounts have acted —
        /// for the same results on every run and machine (slower than --speed).
        #[arg(long)]
        lockstep: bool,
        /// Log to the terminal too.
        #[arg(short, long)]
        verbose: bool,
        /// Serve the dashboard on this address (e.g. 127.0.0.1:8090) while the demo runs and
        /// after it, until Ctrl-C; the token for its actions is printed once.
        #[arg(long, value_name = "ADDR")]
        web: Option<SocketAddr>,
    },
    /// Backtest an account file over candle files: the live strategy, risk and executor code
    /// against the in-process simulator; writes result.json, trades.csv and report.html.
    Backtest {
        /// The account YAML (the same file as live; its secrets are not needed).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// A candle file per symbol (gzip or plain CSV), SYMBOL=FILE when its name does not say.
        #[arg(long)]
        data: Vec<String>,
        /// Start trading at this UTC date or time (default: once the plan has its history).
        #[arg(long)]
        from: Option<String>,
        /// Stop at this UTC date or time (default: the end of the data).
        #[arg(long)]
        to: Option<String>,
        /// Starting balance, USDT (default: the file's backtest.balance, else 10000).
        #[arg(long)]
        balance: Option<String>,
        /// Output directory.
        #[arg(long, default_value = "backtest-out")]
        out: PathBuf,
        /// No progress bar and no summary (for scripts).
        #[arg(short, long)]
        quiet: bool,
        /// Run the bundled example (config/backtest-example.yaml on the bundled data).
        #[arg(long)]
        example: bool,
        /// Where the bundled candles are, for --example (default: ./data, else the data/ of the
        /// source tree this binary was built from).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Search grid parameters over history: the optimize file's fields varied (grid, random,
    /// Latin hypercube or NSGA-II), each candidate backtested on every core; writes
    /// results.jsonl (in candidate order) and front.json, prints the Pareto front.
    #[command(args_conflicts_with_subcommands = true)]
    Optimize {
        #[command(subcommand)]
        action: Option<OptimizeAction>,
        /// The optimize YAML (see config/optimize-example.yaml).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Output directory (results.jsonl, front.json).
        #[arg(long, default_value = "optimize-out")]
        out: PathBuf,
        /// Threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// No progress bar and no summary (for scripts).
        #[arg(short, long)]
        quiet: bool,
        /// Continue an interrupted search from --out's results.jsonl (same file, same seed):
        /// what finished is not run again, and the end is what an uninterrupted run gives.
        #[arg(long)]
        resume: bool,
        /// Evaluate only shard K of N (K from 0 to N−1, as Kubernetes' JOB_COMPLETION_INDEX):
        /// every N-th candidate of a grid, random or lhs search; `gridbot optimize merge` joins
        /// the shards' --out directories into exactly the single run's result.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Write candidate N of --out's results.jsonl as a complete account file to OUT.yaml
        /// (nothing is searched).
        #[arg(long, num_args = 2, value_names = ["N", "OUT.yaml"])]
        export: Option<Vec<String>>,
    },
    /// Put each symbol's orders right from the exchange, as a start does, then exit without
    /// trading on (docs/ARCHITECTURE.md §7): this cancels and places orders; --dry-run only reads.
    Recover {
        /// The bot YAML (or an account YAML).
        #[arg(short, long)]
        config: PathBuf,
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// Report what would be done; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// A read-only preflight before real money: keys and trade permission, clock skew,
    /// instruments and sizes, hedge mode and leverage, the margin the deepest levels need, the
    /// data directory. Sends no order; exit 1 when a check fails.
    Doctor {
        /// The bot YAML (or an account YAML).
        #[arg(short, long)]
        config: PathBuf,
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// State of every account: running, emergency stop, legs, PnL, recent events.
    Status {
        /// The bot YAML (or an account YAML).
        #[arg(short, long)]
        config: PathBuf,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Emergency stop: nothing more is sent for the account until `resume`.
    Stop {
        /// The bot YAML (or an account YAML).
        #[arg(short, long)]
        config: PathBuf,
        /// The account.
        #[arg(long)]
        account: String,
        /// Why (recorded in the flag file).
        #[arg(long, default_value = "operator")]
        reason: String,
    },
    /// Recentre a classic grid now (cancel, close its inventory at market, rebuild around the
    /// market), optionally with a new profile; the running bot acts on its next tick.
    Recentre {
        /// The bot YAML (or an account YAML).
        #[arg(short, long)]
        config: PathBuf,
        /// The account.
        #[arg(long)]
        account: String,
        /// The symbol (a classic grid).
        #[arg(long)]
        symbol: String,
        /// conservative, normal or aggressive: the grid takes this profile's spacing, levels and
        /// take-profit (until the next start, which reads the account file again).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Lift the emergency stop (and re-arm a tripped kill switch).
    Resume {
        /// The bot YAML (or an account YAML).
        #[arg(short, long)]
        config: PathBuf,
        /// The account.
        #[arg(long)]
        account: String,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Market data: download history from Bybit, check candle and funding files.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Subcommand)]
enum OptimizeAction {
    /// Join the --out directories of a search's shards (`--shard K/N`) into one result:
    /// results.jsonl and front.json exactly as a single run writes them.
    Merge {
        /// The optimize YAML the shards ran.
        #[arg(short, long)]
        config: PathBuf,
        /// Output directory of the joined result.
        #[arg(long, default_value = "optimize-out")]
        out: PathBuf,
        /// No summary.
        #[arg(short, long)]
        quiet: bool,
        /// The shards' --out directories.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download klines (and optionally funding history) into the gzip CSV format backtests
    /// read: paged, rate-limited, resumable (run the same command again after an interruption),
    /// gaps reported. Public endpoints only: no keys needed.
    Fetch {
        /// The USDT perpetual, e.g. BTCUSDT.
        #[arg(long)]
        symbol: String,
        /// Bybit kline interval: 1, 3, 5, 15, 30, 60, 120, 240, 360, 720, D, W.
        #[arg(long, default_value = "1")]
        interval: String,
        /// First UTC date or time (inclusive).
        #[arg(long)]
        from: String,
        /// Last UTC date or time (exclusive; default: the last finished candle).
        #[arg(long)]
        to: Option<String>,
        /// The candle file to write (gzip CSV; never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Also write the funding history of the window to this file.
        #[arg(long)]
        funding: Option<PathBuf>,
        /// The exchange's REST base URL (testnet: the api-testnet.bybit.com address; the
        /// simulator: its address on 127.0.0.1).
        #[arg(long, default_value = "https://api.bybit.com")]
        base_url: String,
        /// No progress bar and no summary.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Report rows, span, interval, gaps and every bad row of candle or funding files.
    /// Exit 0: usable (gaps are not errors); 2: bad rows or not a data file; 1: unreadable.
    Check {
        /// The files (gzip or plain CSV).
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a bot or account file (and the account files a bot lists): every field, and
    /// each symbol's leverage and sizes against Bybit's filters (built in for BTCUSDT and
    /// ETHUSDT; `--online` reads the exchange's public instrument list). Sends no order.
    Check {
        /// The file.
        file: PathBuf,
        /// Check every symbol against the exchange's instruments (public data, no key).
        #[arg(long)]
        online: bool,
    },
}

/// A failure and its exit code.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(level) = cli.log_level {
        logging::override_level(level);
    }
    let result = match cli.command {
        Command::Run { config } => commands::run(&config),
        Command::Sim { config, bind, candles_per_second, fresh } => {
            commands::sim(config, bind, candles_per_second, fresh)
        }
        Command::Demo { data, out, days, speed, lockstep, verbose, web } => {
            commands::demo(data, out, days, commands::Pace { speed, lockstep }, verbose, web)
        }
        Command::Backtest { config, data, from, to, balance, out, quiet, example, data_dir } => {
            backtest::backtest(backtest::BacktestArgs {
                config,
                data,
                from,
                to,
                balance,
                out: Some(out),
                quiet,
                example,
                data_dir,
            })
        }
        Command::Optimize { action: Some(OptimizeAction::Merge { config, out, quiet, shards }), .. } => {
            optimize::merge_shards(&config, &out, &shards, quiet)
        }
        Command::Optimize { action: None, config, out, threads, quiet, resume, shard, export } => {
            optimize_args(config, out, threads, quiet, resume, shard, export).and_then(optimize::optimize)
        }
        Command::Recover { config, account, dry_run } => commands::recover(&config, account.as_deref(), dry_run),
        Command::Doctor { config, account, json } => commands::doctor(&config, account.as_deref(), json),
        Command::Status { config, json } => commands::status(&config, json),
        Command::Stop { config, account, reason } => commands::stop(&config, &account, &reason),
        Command::Resume { config, account } => commands::resume(&config, &account),
        Command::Recentre { config, account, symbol, profile } => {
            commands::recentre(&config, &account, &symbol, profile.as_deref())
        }
        Command::Config { command: ConfigCommand::Check { file, online } } => commands::config_check(&file, online),
        Command::Data { command: DataCommand::Fetch { symbol, interval, from, to, out, funding, base_url, quiet } } => {
            data::fetch(&data::FetchArgs { symbol, interval, from, to, out, funding, base_url, quiet })
        }
        Command::Data { command: DataCommand::Check { files } } => data::check(&files),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("gridbot: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// `gridbot optimize`'s flags, checked.
fn optimize_args(
    config: Option<PathBuf>,
    out: PathBuf,
    threads: Option<usize>,
    quiet: bool,
    resume: bool,
    shard: Option<String>,
    export: Option<Vec<String>>,
) -> Result<optimize::OptimizeArgs, Failure> {
    let config =
        config.ok_or_else(|| Failure::new(2, "--config OPT.yaml is required (see config/optimize-example.yaml)"))?;
    let shard = shard
        .map(|s| gridbot_optimize::Shard::parse(&s))
        .transpose()
        .map_err(|e| Failure::new(2, format!("--shard: {e}")))?;
    Ok(optimize::OptimizeArgs { config, out, threads, quiet, resume, shard, export: export_arg(export)? })
}

/// `--export N OUT.yaml` as (N, path).
fn export_arg(export: Option<Vec<String>>) -> Result<Option<(usize, PathBuf)>, Failure> {
    let Some(list) = export else { return Ok(None) };
    match list.as_slice() {
        [n, path] => n
            .parse::<usize>()
            .map(|n| Some((n, PathBuf::from(path))))
            .map_err(|_| Failure::new(2, format!("--export: expected a candidate number, got {n:?}"))),
        _ => Err(Failure::new(2, "--export takes a candidate number and a file: --export 12 best.yaml")),
    }
}

/// Writes to stdout; a closed pipe ends the process with exit 0, other errors are ignored as
/// `println!` would not (a full disk behind a redirect must not stop a trading bot).
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| if newline { out.write_all(b"\n") } else { Ok(()) });
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// The bundled candle directory: `given` when the user named one; else `./data`, else the
/// `data/` of the source tree this binary was built from — so the demo and the example run
/// from any directory. Exit 2, naming what is missing, before anything is created.
pub(crate) fn bundled_data(given: Option<PathBuf>, files: &[&str], flag: &str) -> Result<PathBuf, Failure> {
    let explicit = given.is_some();
    let candidates = match given {
        Some(dir) => vec![dir],
        None => vec![PathBuf::from("data"), PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"))],
    };
    if let Some(dir) = candidates.iter().find(|d| files.iter().all(|f| d.join(f).is_file())) {
        return Ok(dir.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    Err(Failure::new(
        2,
        format!(
            "the bundled candles ({}) are not in {}{}",
            files.join(", "),
            looked.join(" nor in "),
            if explicit { String::new() } else { format!(": pass {flag} DIR (the repository's data/ directory)") }
        ),
    ))
}
