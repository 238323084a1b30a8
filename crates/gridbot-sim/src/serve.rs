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

use crate::{SimFileError, load_sim_file, server, state};

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
    /// The simulator file is wrong.
    #[error(transparent)]
    File(#[from] SimFileError),
    /// `--bind` names an address other machines can reach, and the file does not allow it.
    #[error("--bind: {0}")]
    Bind(String),
    /// The replay speed is not a number ≥ 0.
    #[error("--candles-per-second: expected a number ≥ 0, got {0}")]
    Speed(f64),
    /// The saved state could not be restored.
    #[error("{0} (use --fresh to start over)")]
    Restore(#[source] state::StateError),
    /// The server could not start (address in use, duplicate keys, ...).
    #[error(transparent)]
    Start(#[from] server::ServerError),
    /// The replay or the signal handling failed while running.
    #[error("simulator: {0}")]
    Runtime(#[source] std::io::Error),
}

impl ServeError {
    /// True for mistakes in the file or the options (exit code 2); false for failures while
    /// running (exit code 1).
    #[must_use]
    pub fn is_config(&self) -> bool {
        matches!(self, Self::File(_) | Self::Speed(_) | Self::Restore(_) | Self::Bind(_))
    }
}

/// Serves until SIGINT/SIGTERM; `say` receives the status lines.
pub fn serve(options: &ServeOptions, say: &dyn Fn(&str)) -> Result<(), ServeError> {
    let mut setup = load_sim_file(&options.config)?;
    if let Some(bind) = options.bind {
        crate::file_config::check_bind(bind, setup.allow_remote).map_err(ServeError::Bind)?;
        setup.server.bind = bind;
    }
    let cps = options.candles_per_second.unwrap_or(setup.candles_per_second);
    if !(cps.is_finite() && cps >= 0.0) {
        return Err(ServeError::Speed(cps));
    }
    let restore = setup.state_file.clone().filter(|p| p.exists() && !options.fresh);
    let mut warmed = None;
    if let Some(path) = &restore {
        setup.engine = state::load(path, &mut setup.replay).map_err(ServeError::Restore)?;
        say(&format!("restored {}", path.display()));
    } else {
        if setup.wall_clock
            && let Some(offset) = setup.rebase_to_wall_clock(gridbot_core::Clock::now_ms(&SystemClock))
        {
            say(&format!(
                "clock: wall — the replay is moved {:.1} days later so its market time is now (clock: replay keeps the data's own times)",
                offset as f64 / 86_400_000.0
            ));
        }
        warmed = setup.warm_up();
    }
    let state_file = setup.state_file.clone();
    let mut handle = server::start(setup.server, setup.engine, setup.replay, Arc::new(SystemClock))?;
    say(&format!(
        "gridbot-sim listening on {} (WebSocket: ws://{}/v5/public/linear and /v5/private)",
        handle.base_url(),
        handle.addr()
    ));
    if let Some(t) = warmed {
        say(&format!("market time {t} (UTC ms): history before it is replayed"));
    }
    if let Some(quiet) = setup.lockstep_quiet_ms {
        say(&format!("lockstep: one path point at a time, each once the clients have been quiet {quiet} ms"));
        handle.drive_lockstep(Duration::from_millis(quiet)).map_err(ServeError::Runtime)?;
    } else if cps > 0.0 {
        handle.drive(Duration::from_secs_f64(1.0 / cps)).map_err(ServeError::Runtime)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ServeError::Runtime)?;
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
