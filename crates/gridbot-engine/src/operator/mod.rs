//! Operator actions on an account's files — they work whether the bot runs or not:
//!
//! - `stop` writes the emergency-stop flag: a running bot sends nothing more (its executor
//!   checks the flag before every request) and alerts; a starting bot recovers in dry-run mode.
//! - `resume` removes the flag and leaves a `RESUME` request the bot consumes on its next tick
//!   (re-arming a tripped kill switch and restarting a grid its stop-loss stopped).
//! - `status` reads the lock, the flag, the snapshot and the journal (read-only); the web
//!   surfaces (gridbot-web) serve the same figures, so they never share memory with the workers.

mod reader;

use std::path::Path;

use gridbot_core::{Clock, Decimal, Price, Qty, SystemClock};
use gridbot_risk::KillSwitchTrip;
use gridbot_state::{AccountSnapshot, LegState, RiskAlertMemory};

use crate::account::files;
use crate::config::{BotConfig, StrategyConfig};

pub use reader::{Stamps, StatusReader};

/// Why an operator action failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The account is not in the configuration.
    #[error("no account {0:?} in the configuration (accounts: {1})")]
    UnknownAccount(String, String),
    /// The request makes no sense for this account or symbol.
    #[error("{0}")]
    Refused(String),
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
    let text = format!("emergency stop set at {} UTC ms: {reason}\n", SystemClock.now_ms());
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

/// Asks the running bot to recentre `account`'s classic grid on `symbol` (with a new `profile`
/// if given) on its next tick; a bot that is not running finds the request at its start.
pub fn recentre(
    config: &BotConfig,
    account: &str,
    symbol: &str,
    profile: Option<gridbot_grid::Profile>,
) -> Result<std::path::PathBuf, OperatorError> {
    let dir = account_dir(config, account)?;
    let trades = config.accounts.iter().find(|a| a.account_id == account).and_then(|a| {
        a.symbols.iter().find(|s| s.symbol.as_str() == symbol).map(|s| matches!(s.strategy, StrategyConfig::Classic(_)))
    });
    match trades {
        None => return Err(OperatorError::Refused(format!("{account} does not trade {symbol}"))),
        Some(false) => {
            return Err(OperatorError::Refused(format!(
                "{account} {symbol} is a progressive grid: only classic grids recentre (its plan is locked)"
            )));
        }
        Some(true) => {}
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let request = dir.join(format!("{}{symbol}", files::RECENTRE_PREFIX));
    let text = profile.map_or_else(String::new, |p| format!("profile: {}\n", p.name()));
    gridbot_core::fs::write_atomic(&request, text.as_bytes()).map_err(io(&request))?;
    Ok(request)
}

/// One leg of a symbol, from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LegStatus {
    /// The leg's cycle number.
    pub cycle: u32,
    /// The level reached in this cycle; `None` while flat.
    pub level: Option<u32>,
    /// Open size.
    pub size: Qty,
    /// Average entry of the open position.
    pub avg_entry: Option<Price>,
}

impl LegStatus {
    fn from_state(l: &LegState) -> Self {
        Self { cycle: l.cycle, level: l.level, size: l.size, avg_entry: l.avg_entry }
    }

    fn describe(&self) -> String {
        match self.level {
            Some(level) => format!("level {level} size {} cycle {}", self.size, self.cycle),
            None if self.size.is_zero() => format!("flat, cycle {}", self.cycle),
            None => format!("size {}", self.size),
        }
    }
}

/// One symbol of an account, from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SymbolStatus {
    /// Symbol.
    pub symbol: String,
    /// `progressive` or `classic`.
    pub strategy: &'static str,
    /// A classic grid's generation (+1 per recentre).
    pub generation: Option<u32>,
    /// Why a classic grid's stop-loss stopped it.
    pub stopped: Option<String>,
    /// Long leg.
    pub long: LegStatus,
    /// Short leg.
    pub short: LegStatus,
    /// Orders the bot believes are working (its snapshot).
    pub open_orders: usize,
    /// Orders open on the exchange as the bot last heard (its journal); a difference from
    /// `open_orders` is worth a look (`gridbot recover --dry-run` compares with the exchange).
    pub exchange_open_orders: Option<i64>,
}

impl SymbolStatus {
    /// One line for a terminal.
    #[must_use]
    pub fn line(&self) -> String {
        let kind = match self.generation {
            Some(g) => format!(
                "classic generation {g}{}",
                self.stopped.as_ref().map_or(String::new(), |r| format!(" STOPPED ({r})"))
            ),
            None => self.strategy.to_owned(),
        };
        let exchange =
            self.exchange_open_orders.map_or_else(String::new, |n| format!(", {n} open on the exchange as last heard"));
        format!(
            "{} {kind}: long {}, short {}; {} open orders tracked{exchange}",
            self.symbol,
            self.long.describe(),
            self.short.describe(),
            self.open_orders
        )
    }
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
    /// Every symbol in the snapshot.
    pub symbols: Vec<SymbolStatus>,
    /// The daily drawdown kill switch, when it has tripped (until `resume` re-arms it).
    pub kill_switch: Option<KillSwitchTrip>,
    /// The risk conditions in force at the last decision (their alert went out).
    pub active_risk: Vec<RiskAlertMemory>,
    /// Executions in the journal.
    pub executions: i64,
    /// Realised PnL net of fees and funding.
    pub realised_pnl: Option<RealisedPnl>,
    /// The last equity snapshot in the journal.
    pub equity: Option<EquityReading>,
    /// The last wallet reading in the journal (equity, balance, available, IM rate).
    pub wallet: Option<WalletStatus>,
    /// The newest execution in the journal.
    pub last_fill: Option<LastFill>,
    /// The last events, newest first.
    pub recent_events: Vec<RecentEvent>,
}

/// Realised PnL net of fees and funding, USDT to 8 places (as Bybit shows USDT).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RealisedPnl {
    /// All time.
    pub total: Decimal,
    /// On `day`.
    pub today: Decimal,
    /// The UTC day "today" means, `YYYY-MM-DD`: the wall clock's, or for a paper-trading
    /// account (`environment: sim`) the market's — the day of its newest journal row.
    pub day: String,
}

/// An equity reading from the journal.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EquityReading {
    /// When, UTC ms.
    pub at_ms: i64,
    /// When, ISO-8601 UTC.
    pub at: String,
    /// Total equity, USDT to 8 places.
    pub usdt: Decimal,
}

/// The last wallet reading in the journal, USDT to 8 places.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WalletStatus {
    /// When, UTC ms.
    pub at_ms: i64,
    /// When, ISO-8601 UTC.
    pub at: String,
    /// Total equity.
    pub equity: Decimal,
    /// Wallet balance.
    pub wallet_balance: Decimal,
    /// Available to trade.
    pub available: Decimal,
    /// Account initial-margin rate (0.25 = 25 %).
    pub im_rate: Decimal,
}

/// The newest execution in the journal.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LastFill {
    /// When, UTC ms.
    pub at_ms: i64,
    /// When, ISO-8601 UTC.
    pub at: String,
    /// Symbol.
    pub symbol: String,
    /// `Buy` / `Sell`.
    pub side: String,
    /// `Trade`, `Funding`, …
    pub kind: String,
    /// Price.
    pub price: Decimal,
    /// Size.
    pub qty: Decimal,
}

/// An event from the journal.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecentEvent {
    /// When, UTC ms.
    pub at_ms: i64,
    /// When, ISO-8601 UTC.
    pub at: String,
    /// Its kind (`recovery`, `risk`, `operator`, …).
    pub kind: String,
    /// The symbol, when it concerns one.
    pub symbol: Option<String>,
    /// What happened.
    pub message: String,
}

/// The symbols of a snapshot as `status` shows them (the journal's open-order counts are added
/// by the reader).
pub(crate) fn symbols_of(snapshot: &AccountSnapshot) -> Vec<SymbolStatus> {
    snapshot
        .symbols
        .iter()
        .map(|(symbol, s)| SymbolStatus {
            symbol: symbol.to_string(),
            strategy: if s.classic.is_some() { "classic" } else { "progressive" },
            generation: s.classic.as_ref().map(|c| c.generation),
            stopped: s.classic.as_ref().and_then(|c| c.stopped.clone()),
            long: LegStatus::from_state(&s.long),
            short: LegStatus::from_state(&s.short),
            open_orders: s.orders.len(),
            exchange_open_orders: None,
        })
        .collect()
}

/// The status of one account: reads its lock, flag, snapshot and journal; never writes.
#[must_use]
pub fn account_status(config: &BotConfig, account: &str) -> AccountStatus {
    StatusReader::new().account(config, account)
}

/// The status of every account of `config`.
#[must_use]
pub fn status(config: &BotConfig) -> Vec<AccountStatus> {
    StatusReader::new().all(config)
}
