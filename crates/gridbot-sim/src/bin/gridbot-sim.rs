//! `gridbot-sim`: serve the Bybit-v5-compatible simulator on 127.0.0.1 from a YAML file.
//!
//! Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 2 configuration error, 1 runtime error.
#![allow(clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use gridbot_core::SystemClock;
use gridbot_sim::{load_sim_file, server, state};

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

enum Failure {
    Config(String),
    Runtime(String),
}

fn run(cli: Cli) -> Result<(), Failure> {
    let mut setup = load_sim_file(&cli.config).map_err(|e| Failure::Config(e.to_string()))?;
    if let Some(bind) = cli.bind {
        setup.server.bind = bind;
    }
    let cps = cli.candles_per_second.unwrap_or(setup.candles_per_second);
    if !(cps.is_finite() && cps >= 0.0) {
        return Err(Failure::Config(format!("--candles-per-second: expected a number ≥ 0, got {cps}")));
    }
    let mut engine = setup.engine;
    if let Some(path) = setup.state_file.as_ref().filter(|p| p.exists() && !cli.fresh) {
        engine = state::load(path, &mut setup.replay)
            .map_err(|e| Failure::Config(format!("{e} (use --fresh to start over)")))?;
        say(&format!("restored {}", path.display()));
    }
    let mut handle = server::start(setup.server, engine, setup.replay, Arc::new(SystemClock))
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    // The market has a price before anyone is told the server is up.
    handle.step();
    say(&format!(
        "gridbot-sim listening on {} (WebSocket: ws://{}/v5/public/linear and /v5/private)",
        handle.base_url(),
        handle.addr()
    ));
    if cps > 0.0 {
        handle.drive(Duration::from_secs_f64(1.0 / cps)).map_err(|e| Failure::Runtime(e.to_string()))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let state_file = setup.state_file.clone();
    let save = |h: &server::ServerHandle| {
        if let Some(path) = &state_file
            && let Err(e) = h.save(path)
        {
            eprintln!("gridbot-sim: saving state: {e}");
        }
    };
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => break,
                () = tokio::time::sleep(Duration::from_secs(10)) => save(&handle),
            }
        }
    });
    save(&handle);
    handle.stop();
    say("gridbot-sim stopped");
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            eprintln!("gridbot-sim: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("gridbot-sim: {e}");
            ExitCode::from(1)
        }
    }
}
