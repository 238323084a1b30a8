//! # gridbot-config
//!
//! Configuration: one bot YAML (data directory, account files, logging, notifications, web) and one
//! YAML per account (credentials from `${VAR}`, environment, symbols with their strategy, risk).
//!
//! Two phases: serde reads the file into raw mirrors (`deny_unknown_fields`, so a
//! typo or a wrong type is reported with its line), then `validate` interpolates `${VAR}`s and
//! checks every value, collecting *all* problems. Each problem names `file:line`, the field's
//! path and what was expected. Nothing here touches the network: a bad file is refused before
//! any request is sent.
//!
//! Commented examples: `config/` at the repository root.
//!
//! ```
//! use std::collections::HashMap;
//!
//! let dir = std::env::temp_dir().join(format!("gridbot-config-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let file = dir.join("main.yaml");
//! std::fs::write(&file, "account_id: main\nenvironment: testnet\napi_key: ${KEY}\napi_secret: ${SECRET}\n\
//!     symbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      \
//!     base_qty: \"0.001\"\n      max_levels: 0\n")?;
//! let env = HashMap::from([("KEY".to_owned(), "k".to_owned()), ("SECRET".to_owned(), "s".to_owned())]);
//! let problems = gridbot_config::load_account(&file, &env).unwrap_err().to_string();
//! assert!(problems.contains("main.yaml:11: symbols[0].progressive.max_levels"), "{problems}");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod env;
mod raw;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gridbot_risk::RiskParams;

pub use env::{Env, InterpolationError, ProcessEnv, Secret, interpolate, scrub};
pub use gridbot_core::yaml::LineIndex;
pub use raw::{EnvironmentName, LogLevel, StrategyKind, TerminalFormat};

pub use gridbot_strategy::config::{ClassicConfig, ProgressiveConfig, StrategyConfig, SymbolConfig};

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// Its line, when known.
    pub line: Option<usize>,
    /// The field's path (`symbols[0].leverage`), when known.
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Logging settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggingConfig {
    /// Level for the terminal and the files.
    pub level: LogLevel,
    /// Terminal format.
    pub terminal: TerminalFormat,
}

/// Telegram Bot API settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramConfig {
    /// The bot's token (a secret: it is part of the API URL).
    pub bot_token: Secret,
    /// The default chat.
    pub chat_id: String,
    /// `https://api.telegram.org`, or a local server in tests.
    pub base_url: String,
    /// At most this many messages per minute per chat; the rest are counted and summarised.
    pub max_per_minute: u32,
}

/// The JSON a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// `{"text": "…"}` (Slack incoming webhooks, Mattermost, Rocket.Chat, most others).
    Slack,
    /// `{"content": "…"}` (Discord webhooks).
    Discord,
}

/// A generic alert webhook (Slack/Discord-compatible JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where to POST (a secret: webhook URLs carry their token).
    pub url: Secret,
    /// The JSON shape.
    pub format: WebhookFormat,
    /// At most this many messages per minute; the rest are counted and summarised.
    pub max_per_minute: u32,
}

/// The web surfaces: control API and Prometheus metrics (served by gridbot-web).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// Where to listen: `127.0.0.1:8090` unless set. Port 0 picks a free port (logged).
    pub bind: SocketAddr,
    /// Bearer token of the mutating endpoints (and of every endpoint when `bind` is not a
    /// loopback address). Without one, the mutating endpoints answer 403.
    pub token: Option<Secret>,
}

impl WebConfig {
    /// The default listening address: loopback only.
    pub const DEFAULT_BIND: SocketAddr =
        SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 8090));
    /// The shortest token accepted.
    pub const MIN_TOKEN_LEN: usize = 16;
}

/// One account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountConfig {
    /// Its file.
    pub path: PathBuf,
    /// Name (directories, logs, alerts).
    pub account_id: String,
    /// orderLinkId tag, 1–6 of `[A-Za-z0-9]`.
    pub tag: String,
    /// Which exchange.
    pub environment: EnvironmentName,
    /// REST base URL.
    pub rest_url: String,
    /// Public linear WebSocket URL.
    pub ws_public_url: String,
    /// Private WebSocket URL.
    pub ws_private_url: String,
    /// API key.
    pub api_key: Secret,
    /// API secret.
    pub api_secret: Secret,
    /// `X-BAPI-RECV-WINDOW`, ms.
    pub recv_window_ms: u64,
    /// Symbols traded.
    pub symbols: Vec<SymbolConfig>,
    /// Risk parameters.
    pub risk: RiskParams,
    /// This account's Telegram chat (`None`: the bot's).
    pub telegram_chat_id: Option<String>,
    /// Alerts to Telegram on or off.
    pub telegram_enabled: bool,
    /// The `backtest:` section.
    pub backtest: BacktestConfig,
}

/// Where a backtest's funding rates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FundingConfig {
    /// One rate per 8-hour settlement (positive: longs pay).
    Rate(gridbot_core::Decimal),
    /// Funding-history files per symbol (`funding_time_ms,funding_rate`, gzip or plain).
    Files(std::collections::BTreeMap<gridbot_core::Symbol, PathBuf>),
}

/// When a backtest's resting limit orders fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillConfig {
    /// When the price trades through by at least `ticks` ticks.
    Through {
        /// Ticks, ≥ 1.
        ticks: u32,
    },
    /// When the price touches.
    Touch,
}

/// The account file's optional `backtest:` section (live trading ignores it). `None` fields
/// take the backtester's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BacktestConfig {
    /// Starting balance, USDT.
    pub balance: Option<gridbot_core::Decimal>,
    /// Maker fee rate.
    pub maker_fee: Option<gridbot_core::Decimal>,
    /// Taker fee rate.
    pub taker_fee: Option<gridbot_core::Decimal>,
    /// Funding.
    pub funding: Option<FundingConfig>,
    /// Fill model.
    pub fill: Option<FillConfig>,
    /// Market-order slippage, fraction.
    pub slippage: Option<gridbot_core::Decimal>,
}

/// What an account file is loaded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Trading (live or paper): credentials and every `${VAR}` are required.
    Trade,
    /// A backtest: credentials, `base_url` and notifications are neither required nor read.
    Backtest,
    /// A local operator command (`status`, `stop`, `resume`): it needs the data directory and
    /// the accounts, nothing secret — no `${VAR}` of credentials, `base_url`, Telegram or
    /// `web:` is read, so an operator in a fresh shell can always stop the bot.
    Operate,
}

/// The whole bot.
#[derive(Debug, Clone, PartialEq)]
pub struct BotConfig {
    /// Its file.
    pub path: PathBuf,
    /// Per-account state, journals, flags and logs live under `data_dir/{account_id}/`.
    pub data_dir: PathBuf,
    /// Accounts.
    pub accounts: Vec<AccountConfig>,
    /// Logging.
    pub logging: LoggingConfig,
    /// Telegram, when configured.
    pub telegram: Option<TelegramConfig>,
    /// An alert webhook, when configured.
    pub webhook: Option<WebhookConfig>,
    /// The web surfaces, when a `web:` section is present.
    pub web: Option<WebConfig>,
}

impl BotConfig {
    /// The directory of one account's files.
    #[must_use]
    pub fn account_dir(&self, account_id: &str) -> PathBuf {
        self.data_dir.join(account_id)
    }
}

/// What kind of file a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A bot file (`accounts:`).
    Bot,
    /// An account file (`account_id:`).
    Account,
}

fn read(path: &Path) -> Result<String, ConfigErrors> {
    let fail = |message: String| {
        ConfigErrors(vec![ConfigError { file: path.to_path_buf(), line: None, field: None, message }])
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    gridbot_core::yaml::check_shape(&text).map_err(|e| fail(e.to_string()))?;
    Ok(text)
}

/// Tells a bot file (it lists `accounts:`) from an account file (anything else, so that a
/// broken account file is reported as one).
pub fn file_kind(path: &Path) -> Result<FileKind, ConfigErrors> {
    let text = read(path)?;
    if LineIndex::new(&text).line("accounts").is_some() { Ok(FileKind::Bot) } else { Ok(FileKind::Account) }
}

/// Loads and validates an account file.
pub fn load_account(path: &Path, env: &dyn Env) -> Result<AccountConfig, ConfigErrors> {
    let text = read(path)?;
    validate::account(path, &text, env, Purpose::Trade)
}

/// Loads and validates an account file for a backtest: the same file as live, but its secrets
/// (credentials, `base_url`, notifications) are neither required nor read — the credentials
/// come back empty.
pub fn load_account_for_backtest(path: &Path) -> Result<AccountConfig, ConfigErrors> {
    let text = read(path)?;
    validate::account(path, &text, &std::collections::HashMap::<String, String>::new(), Purpose::Backtest)
}

/// [`load_account_for_backtest`] of `text` as if read from `path` (relative paths in it, such
/// as funding files, resolve beside `path`; errors name it): a parameter search checks each
/// variant of an account file this way before it runs.
pub fn parse_account_for_backtest(path: &Path, text: &str) -> Result<AccountConfig, ConfigErrors> {
    validate::account(path, text, &std::collections::HashMap::<String, String>::new(), Purpose::Backtest)
}

/// Loads and validates a bot file and every account file it lists.
pub fn load_bot(path: &Path, env: &dyn Env) -> Result<BotConfig, ConfigErrors> {
    let text = read(path)?;
    validate::bot(path, &text, env, Purpose::Trade)
}

/// Loads either kind: an account file alone runs as a bot of one account with defaults
/// (data in `var/` beside the file).
pub fn load_any(path: &Path, env: &dyn Env) -> Result<BotConfig, ConfigErrors> {
    load_any_for(path, env, Purpose::Trade)
}

/// Loads either kind for a local operator command ([`Purpose::Operate`]): the same checks of
/// everything else, but no secret is required or read (credentials and tokens come back
/// empty, `telegram` and `web` as `None`), and the environment is not consulted.
pub fn load_for_operator(path: &Path) -> Result<BotConfig, ConfigErrors> {
    load_any_for(path, &std::collections::HashMap::<String, String>::new(), Purpose::Operate)
}

fn load_any_for(path: &Path, env: &dyn Env, purpose: Purpose) -> Result<BotConfig, ConfigErrors> {
    match file_kind(path)? {
        FileKind::Bot => {
            let text = read(path)?;
            validate::bot(path, &text, env, purpose)
        }
        FileKind::Account => {
            let text = read(path)?;
            let account = validate::account(path, &text, env, purpose)?;
            let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            Ok(BotConfig {
                path: path.to_path_buf(),
                data_dir: dir.join("var"),
                accounts: vec![account],
                logging: LoggingConfig::default(),
                telegram: None,
                webhook: None,
                web: None,
            })
        }
    }
}

#[cfg(test)]
mod tests;
