//! [`StatusReader`]: the status of every account, read from its files and kept between reads.
//!
//! Decisions:
//! - **Re-read only what changed.** Each account's files (snapshot, journal and its WAL, the
//!   emergency flag, the lock) are stamped by length and modification time; an account whose
//!   stamps did not move is answered from memory. A changed journal is read from where the last
//!   read stopped (executions are only ever appended; their SQLite row ids grow), so realised
//!   PnL by day is a running total, not a scan of every fill ever made — a status of ten
//!   accounts with 20,000 fills each costs microseconds instead of tens of milliseconds.
//! - **One reader, many answers**: `gridbot status` makes one and reads once; the web server
//!   keeps one behind a mutex for every page, and for its change feed ([`StatusReader::stamps`]).
//! - The journal connection stays open between reads (SQLite in WAL mode: a reader never blocks
//!   the bot's writes and sees each committed write).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use gridbot_core::time::{format_iso8601, utc_day_start};
use gridbot_core::{Clock, Decimal, SystemClock};
use gridbot_state::{AccountSnapshot, Journal, Loaded, SnapshotStore};

use super::{AccountStatus, EquityReading, LastFill, RealisedPnl, RecentEvent, WalletStatus, symbols_of};
use crate::account::files;
use crate::config::{BotConfig, EnvironmentName};

/// A file's length and modification time; `None` when it does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp(Option<(u64, Option<SystemTime>)>);

impl FileStamp {
    fn of(path: &Path) -> Self {
        Self(std::fs::metadata(path).ok().map(|m| (m.len(), m.modified().ok())))
    }
}

/// Everything about an account's files that a change of its status would move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    snapshot: FileStamp,
    journal: FileStamp,
    wal: FileStamp,
    flag: FileStamp,
    running: bool,
}

impl Stamps {
    fn of(dir: &Path, snapshot: &Path) -> Self {
        Self {
            snapshot: FileStamp::of(snapshot),
            journal: FileStamp::of(&dir.join(files::JOURNAL)),
            wal: FileStamp::of(&dir.join(format!("{}-wal", files::JOURNAL))),
            flag: FileStamp::of(&dir.join(files::EMERGENCY_STOP)),
            running: running(dir),
        }
    }
}

/// Whether a bot holds the account's lock (probed for an instant; a starting bot waits that out).
pub(super) fn running(dir: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(dir.join(files::LOCK)) else { return false };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// What is kept of one account between reads.
#[derive(Default)]
struct Kept {
    stamps: Option<Stamps>,
    snapshot_stamp: Option<FileStamp>,
    snapshot: Option<AccountSnapshot>,
    journal: Option<Journal>,
    /// Running totals of realised PnL by UTC day, and how far the journal was read.
    pnl_by_day: BTreeMap<i64, Decimal>,
    executions: i64,
    journal_row: i64,
    status: Option<AccountStatus>,
}

/// Reads account status from the files, re-reading only what changed since the last read.
#[derive(Default)]
pub struct StatusReader {
    kept: HashMap<String, Kept>,
}

impl std::fmt::Debug for StatusReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusReader").field("accounts", &self.kept.len()).finish()
    }
}

fn snapshot_path(config: &BotConfig, account: &str) -> (PathBuf, PathBuf) {
    let dir = config.account_dir(account);
    let path = SnapshotStore::new(&dir, account).path().to_path_buf();
    (dir, path)
}

impl StatusReader {
    /// A reader with nothing read yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The stamps of every account's files, in the configuration's order: when they differ
    /// from the last call's, something changed (the web's change feed polls this).
    #[must_use]
    pub fn stamps(config: &BotConfig) -> Vec<Stamps> {
        config
            .accounts
            .iter()
            .map(|a| {
                let (dir, snapshot) = snapshot_path(config, &a.account_id);
                Stamps::of(&dir, &snapshot)
            })
            .collect()
    }

    /// The status of every account of `config`.
    pub fn all(&mut self, config: &BotConfig) -> Vec<AccountStatus> {
        config.accounts.iter().map(|a| self.account(config, &a.account_id)).collect()
    }

    /// The status of one account (an account not in the bot file reads as empty).
    pub fn account(&mut self, config: &BotConfig, account: &str) -> AccountStatus {
        let (dir, snapshot_file) = snapshot_path(config, account);
        let stamps = Stamps::of(&dir, &snapshot_file);
        let kept = self.kept.entry(account.to_owned()).or_default();
        if kept.stamps == Some(stamps)
            && let Some(status) = &kept.status
        {
            return status.clone();
        }
        refresh_snapshot(kept, &dir, account, stamps.snapshot);
        let status = read_status(kept, config, &dir, account, stamps);
        kept.stamps = Some(stamps);
        kept.status = Some(status.clone());
        status
    }

    /// The account's snapshot as last read (refreshed if the file changed).
    pub fn snapshot(&mut self, config: &BotConfig, account: &str) -> Option<AccountSnapshot> {
        let (dir, snapshot_file) = snapshot_path(config, account);
        let kept = self.kept.entry(account.to_owned()).or_default();
        refresh_snapshot(kept, &dir, account, FileStamp::of(&snapshot_file));
        kept.snapshot.clone()
    }

    /// The account's journal, opened once and kept; `None` while it does not exist.
    pub fn journal(&mut self, config: &BotConfig, account: &str) -> Option<&Journal> {
        let dir = config.account_dir(account);
        let kept = self.kept.entry(account.to_owned()).or_default();
        open_journal(kept, &dir);
        kept.journal.as_ref()
    }
}

fn refresh_snapshot(kept: &mut Kept, dir: &Path, account: &str, stamp: FileStamp) {
    if kept.snapshot_stamp == Some(stamp) {
        return;
    }
    kept.snapshot = match SnapshotStore::new(dir, account).peek() {
        Ok(Loaded::Snapshot { snapshot, .. }) => Some(snapshot),
        _ => None,
    };
    kept.snapshot_stamp = Some(stamp);
}

fn open_journal(kept: &mut Kept, dir: &Path) {
    if kept.journal.is_none() {
        let path = dir.join(files::JOURNAL);
        kept.journal = path.exists().then(|| Journal::open(&path).ok()).flatten();
    }
}

fn read_status(kept: &mut Kept, config: &BotConfig, dir: &Path, account: &str, stamps: Stamps) -> AccountStatus {
    let mut status = AccountStatus {
        account: account.to_owned(),
        running: stamps.running,
        emergency_stop: stamps.flag.0.is_some(),
        symbols: kept.snapshot.as_ref().map(symbols_of).unwrap_or_default(),
        kill_switch: kept.snapshot.as_ref().and_then(|s| s.account_risk.kill_switch),
        active_risk: kept.snapshot.as_ref().map(|s| s.risk_alerts.clone()).unwrap_or_default(),
        executions: 0,
        realised_pnl: None,
        equity: None,
        wallet: None,
        last_fill: None,
        recent_events: Vec::new(),
    };
    open_journal(kept, dir);
    let Some(j) = &kept.journal else { return status };
    for s in &mut status.symbols {
        s.exchange_open_orders = j.open_order_count(&s.symbol).ok();
    }
    match j.pnl_since(kept.journal_row) {
        Ok(read) => {
            for (day, amount) in read.by_day {
                *kept.pnl_by_day.entry(day).or_default() += amount;
            }
            kept.executions += read.count;
            kept.journal_row = read.last_row;
        }
        Err(e) => tracing::warn!(account, error = %e, "status: the journal's executions could not be read"),
    }
    status.executions = kept.executions;
    status.wallet = j.latest_wallet().ok().flatten().map(|w| WalletStatus {
        at_ms: w.at_ms,
        at: format_iso8601(w.at_ms),
        equity: w.equity.round_dp(8),
        wallet_balance: w.wallet_balance.round_dp(8),
        available: w.available.round_dp(8),
        im_rate: w.im_rate,
    });
    status.equity = status.wallet.as_ref().map(|w| EquityReading { at_ms: w.at_ms, at: w.at.clone(), usdt: w.equity });
    status.last_fill = j.last_fill().ok().flatten().map(|f| LastFill {
        at_ms: f.exec_ms,
        at: format_iso8601(f.exec_ms),
        symbol: f.symbol,
        side: f.side,
        kind: f.exec_type,
        price: f.price,
        qty: f.qty,
    });
    // Paper trading runs on the replay's clock: its "today" is the market's.
    let paper = config.accounts.iter().any(|a| a.account_id == account && a.environment == EnvironmentName::Sim);
    let newest = kept.pnl_by_day.keys().next_back().copied();
    let now = match (paper, newest, &status.equity) {
        (true, Some(day), Some(e)) => day.max(e.at_ms),
        (true, Some(day), None) => day,
        (true, None, Some(e)) => e.at_ms,
        _ => SystemClock.now_ms(),
    };
    let today = utc_day_start(now);
    status.realised_pnl = Some(RealisedPnl {
        total: kept.pnl_by_day.values().copied().sum::<Decimal>().round_dp(8),
        today: kept.pnl_by_day.get(&today).copied().unwrap_or_default().round_dp(8),
        day: format_iso8601(today).chars().take(10).collect(),
    });
    status.recent_events = j
        .recent_events(5)
        .unwrap_or_default()
        .into_iter()
        .map(|(at_ms, kind, symbol, message)| RecentEvent { at_ms, at: format_iso8601(at_ms), kind, symbol, message })
        .collect();
    status
}
