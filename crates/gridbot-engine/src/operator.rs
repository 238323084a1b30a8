//! Operator actions on an account's files — they work whether the bot runs or not:
//!
//! - `stop` writes the emergency-stop flag: a running bot sends nothing more (its executor
//!   checks the flag before every request) and alerts; a starting bot recovers in dry-run mode.
//! - `resume` removes the flag and leaves a `RESUME` request the bot consumes on its next tick
//!   (re-arming a tripped kill switch and restarting a grid its stop-loss stopped).
//! - `status` reads the lock, the flag, the snapshot and the journal (read-only).

use std::path::Path;

use gridbot_core::time::utc_day_start;
use gridbot_core::{Clock, Decimal, SystemClock};
use gridbot_state::{Journal, Loaded, SnapshotStore};

use crate::account::files;
use crate::config::BotConfig;

/// Why an operator action failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The account is not in the configuration.
    #[error("no account {0:?} in the configuration (accounts: {1})")]
    UnknownAccount(String, String),
    /// A file could not be written or removed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

fn account_dir(config: &BotConfig, account: &str) -> Result<std::path::PathBuf, OperatorError> {
    if config.accounts.iter().any(|a| a.account_id == account) {
        Ok(config.account_dir(account))
    } else {
        let known: Vec<&str> = config.accounts.iter().map(|a| a.account_id.as_str()).collect();
        Err(OperatorError::UnknownAccount(account.to_owned(), known.join(", ")))
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> OperatorError + '_ {
    move |source| OperatorError::Io { path: path.display().to_string(), source }
}

/// Writes the emergency-stop flag of `account`.
pub fn stop(config: &BotConfig, account: &str, reason: &str) -> Result<std::path::PathBuf, OperatorError> {
    let dir = account_dir(config, account)?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let flag = dir.join(files::EMERGENCY_STOP);
    let text = format!("emergency stop set at {} UTC ms by `gridbot stop`: {reason}\n", SystemClock.now_ms());
    gridbot_core::fs::write_atomic(&flag, text.as_bytes()).map_err(io(&flag))?;
    Ok(flag)
}

/// Removes the flag of `account` and asks a running bot to re-arm.
pub fn resume(config: &BotConfig, account: &str) -> Result<bool, OperatorError> {
    let dir = account_dir(config, account)?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let flag = dir.join(files::EMERGENCY_STOP);
    let was_on = flag.exists();
    if was_on {
        std::fs::remove_file(&flag).map_err(io(&flag))?;
    }
    let request = dir.join(files::RESUME);
    gridbot_core::fs::write_atomic(&request, b"resume\n").map_err(io(&request))?;
    Ok(was_on)
}

/// What `status` found for one account.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccountStatus {
    /// Account id.
    pub account: String,
    /// A bot holds the account's lock.
    pub running: bool,
    /// The emergency-stop flag exists.
    pub emergency_stop: bool,
    /// One line per symbol from the snapshot.
    pub symbols: Vec<String>,
    /// Executions in the journal.
    pub executions: i64,
    /// Realised PnL net of fees and funding, all time and today (UTC).
    pub realised_pnl: Option<(Decimal, Decimal)>,
    /// The last events: (ms, kind, message).
    pub recent_events: Vec<(i64, String, String)>,
}

fn running(dir: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(dir.join(files::LOCK)) else { return false };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// The status of every account of `config`.
#[must_use]
pub fn status(config: &BotConfig) -> Vec<AccountStatus> {
    config
        .accounts
        .iter()
        .map(|a| {
            let dir = config.account_dir(&a.account_id);
            let mut symbols = Vec::new();
            if let Ok(Loaded::Snapshot { snapshot, .. }) = SnapshotStore::new(&dir, &a.account_id).peek() {
                for (symbol, s) in &snapshot.symbols {
                    let leg = |l: &gridbot_state::LegState| match l.level {
                        Some(level) => format!("level {level} size {} cycle {}", l.size, l.cycle),
                        None if l.size.is_zero() => format!("flat, cycle {}", l.cycle),
                        None => format!("size {}", l.size),
                    };
                    let kind = match &s.classic {
                        Some(c) => format!(
                            "classic generation {}{}",
                            c.generation,
                            c.stopped.as_ref().map_or(String::new(), |r| format!(" STOPPED ({r})"))
                        ),
                        None => "progressive".to_owned(),
                    };
                    symbols.push(format!(
                        "{symbol} {kind}: long {}, short {}; {} open orders tracked",
                        leg(&s.long),
                        leg(&s.short),
                        s.orders.len()
                    ));
                }
            }
            let journal_path = dir.join(files::JOURNAL);
            let journal = journal_path.exists().then(|| Journal::open(&journal_path).ok()).flatten();
            let (executions, realised_pnl, recent_events) = match &journal {
                Some(j) => {
                    let today = utc_day_start(SystemClock.now_ms());
                    let pnl = j.realised_pnl_by_day().ok().map(|days| {
                        let total: Decimal = days.iter().map(|(_, v)| *v).sum();
                        let day: Decimal = days.iter().filter(|(d, _)| *d == today).map(|(_, v)| *v).sum();
                        (total, day)
                    });
                    let events = j
                        .recent_events(5)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(ms, kind, _, message)| (ms, kind, message))
                        .collect();
                    (j.execution_count().unwrap_or(0), pnl, events)
                }
                None => (0, None, Vec::new()),
            };
            AccountStatus {
                account: a.account_id.clone(),
                running: running(&dir),
                emergency_stop: dir.join(files::EMERGENCY_STOP).exists(),
                symbols,
                executions,
                realised_pnl,
                recent_events,
            }
        })
        .collect()
}
