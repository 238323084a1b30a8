//! `gridbot-sim`: serve the Bybit-v5-compatible simulator on 127.0.0.1 from a YAML file
//! (the same as `gridbot sim`).
//!
//! Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 2 configuration error, 1 runtime error.
#![allow(clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gridbot_sim::serve::{ServeOptions, serve};

/// A Bybit-v5-compatible local exchange replaying real candles (REST + WebSocket on loopback).
#[derive(Parser)]
#[command(name = "gridbot-sim", version)]
struct Cli {
    /// The simulator YAML file (see config/sim.yaml).
    #[arg(short, long)]
    config: PathBuf,
    /// Listen here instead of the file's `bind`.
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// Replay speed instead of the file's `candles_per_second`.
    #[arg(long)]
    candles_per_second: Option<f64>,
    /// Ignore a saved state file and start from the first candle.
    #[arg(long)]
    fresh: bool,
}

/// Prints a status line; a closed stdout (a pipe whose reader left) is not an error worth dying for.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = ServeOptions {
        config: cli.config,
        bind: cli.bind,
        candles_per_second: cli.candles_per_second,
        fresh: cli.fresh,
    };
    match serve(&options, &say) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridbot-sim: {e}");
            ExitCode::from(if e.is_config() { 2 } else { 1 })
        }
    }
}
