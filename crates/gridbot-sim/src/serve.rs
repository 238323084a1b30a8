//! Serving a simulator file until SIGINT or SIGTERM — the `gridbot-sim` binary and
//! `gridbot sim` are both this function.
//!
//! A fresh start replays `warmup_days` of history (at least the first candle) *before* the
//! server announces itself, so the market has a price and daily candles from the first request.
//! With a state file, the simulator restores it instead (unless `fresh`), saves it every 10 s
//! and on exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gridbot_core::SystemClock;

use crate::{load_sim_file, server, state};

/// What to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The simulator YAML file.
    pub config: PathBuf,
    /// Listen here instead of the file's `bind`.
    pub bind: Option<SocketAddr>,
    /// Replay speed instead of the file's.
    pub candles_per_second: Option<f64>,
    /// Ignore a saved state file.
    pub fresh: bool,
}

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The file or the options are wrong (exit code 2).
    #[error("{0}")]
    Config(String),
    /// Something failed while running (exit code 1).
    #[error("{0}")]
    Runtime(String),
}

/// Serves until SIGINT/SIGTERM; `say` receives the status lines.
pub fn serve(options: &ServeOptions, say: &dyn Fn(&str)) -> Result<(), ServeError> {
    let mut setup = load_sim_file(&options.config).map_err(|e| ServeError::Config(e.to_string()))?;
    if let Some(bind) = options.bind {
        setup.server.bind = bind;
    }
    let cps = options.candles_per_second.unwrap_or(setup.candles_per_second);
    if !(cps.is_finite() && cps >= 0.0) {
        return Err(ServeError::Config(format!("--candles-per-second: expected a number ≥ 0, got {cps}")));
    }
    let restore = setup.state_file.clone().filter(|p| p.exists() && !options.fresh);
    let mut warmed = None;
    if let Some(path) = &restore {
        setup.engine = state::load(path, &mut setup.replay)
            .map_err(|e| ServeError::Config(format!("{e} (use --fresh to start over)")))?;
        say(&format!("restored {}", path.display()));
    } else {
        warmed = setup.warm_up();
    }
    let state_file = setup.state_file.clone();
    let mut handle = server::start(setup.server, setup.engine, setup.replay, Arc::new(SystemClock))
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    say(&format!(
        "gridbot-sim listening on {} (WebSocket: ws://{}/v5/public/linear and /v5/private)",
        handle.base_url(),
        handle.addr()
    ));
    if let Some(t) = warmed {
        say(&format!("market time {t} (UTC ms): history before it is replayed"));
    }
    if cps > 0.0 {
        handle.drive(Duration::from_secs_f64(1.0 / cps)).map_err(|e| ServeError::Runtime(e.to_string()))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    let save = |h: &server::ServerHandle| {
        if let Some(path) = &state_file
            && let Err(e) = h.save(path)
        {
            say(&format!("saving state: {e}"));
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
