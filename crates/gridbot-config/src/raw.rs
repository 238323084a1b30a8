//! The files as written: serde mirrors with `deny_unknown_fields`, so a typo is an error with its
//! line. Strings that may hold `${VAR}` stay strings here; `validate` interpolates and checks.

use std::path::PathBuf;

use gridbot_core::{Decimal, Qty};
use gridbot_grid::{Bias, Profile, Progression};
use gridbot_risk::RiskParams;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBot {
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    pub accounts: Vec<PathBuf>,
    #[serde(default)]
    pub logging: RawLogging,
    #[serde(default)]
    pub notifications: RawBotNotifications,
    #[serde(default)]
    pub web: Option<RawWeb>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeb {
    #[serde(default)]
    pub bind: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogging {
    #[serde(default)]
    pub level: Option<LogLevel>,
    #[serde(default)]
    pub terminal: Option<TerminalFormat>,
}

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default.
    #[default]
    Info,
    /// Every decision.
    Debug,
    /// Everything.
    Trace,
}

/// The terminal's log format (files are always JSON lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TerminalFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// JSON lines.
    Json,
    /// Nothing on the terminal.
    Off,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBotNotifications {
    #[serde(default)]
    pub telegram: Option<RawTelegram>,
    #[serde(default)]
    pub webhook: Option<RawWebhook>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub url: String,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub max_per_minute: Option<u32>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelegram {
    pub bot_token: String,
    pub chat_id: ChatId,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub max_per_minute: Option<u32>,
}

/// A chat id written as a number or a string (`${VAR}` needs a string).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum ChatId {
    Number(i64),
    Text(String),
}

/// Which Bybit to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentName {
    /// api.bybit.com.
    Mainnet,
    /// api-testnet.bybit.com.
    Testnet,
    /// api-demo.bybit.com.
    Demo,
    /// gridbot-sim at `base_url`.
    Sim,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    pub account_id: String,
    #[serde(default)]
    pub tag: Option<String>,
    pub environment: EnvironmentName,
    #[serde(default)]
    pub base_url: Option<String>,
    pub api_key: String,
    pub api_secret: String,
    #[serde(default)]
    pub recv_window_ms: Option<u64>,
    pub symbols: Vec<RawSymbol>,
    #[serde(default)]
    pub risk: RiskParams,
    #[serde(default)]
    pub notifications: RawAccountNotifications,
    #[serde(default)]
    pub backtest: Option<RawBacktest>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBacktest {
    #[serde(default)]
    pub balance: Option<Decimal>,
    #[serde(default)]
    pub maker_fee: Option<Decimal>,
    #[serde(default)]
    pub taker_fee: Option<Decimal>,
    #[serde(default)]
    pub funding: Option<RawFunding>,
    #[serde(default)]
    pub fill: Option<RawFill>,
    #[serde(default)]
    pub slippage: Option<Decimal>,
}

/// `funding: 0.0001` (a rate per 8 h) or `funding: {BTCUSDT: file, ...}`.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum RawFunding {
    Rate(Decimal),
    Files(std::collections::BTreeMap<String, PathBuf>),
}

/// `fill: touch`, `fill: through` or `fill: {through: 2}`.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum RawFill {
    Word(String),
    Through { through: u32 },
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccountNotifications {
    #[serde(default)]
    pub telegram: Option<RawAccountTelegram>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccountTelegram {
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

const fn yes() -> bool {
    true
}

/// The strategies there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// The progressive (ATR-scaled martingale) grid.
    Progressive,
    /// The classic range grid.
    Classic,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSymbol {
    pub symbol: String,
    pub strategy: StrategyKind,
    pub leverage: Decimal,
    #[serde(default)]
    pub risk_limit: Option<Decimal>,
    #[serde(default)]
    pub progressive: Option<RawProgressive>,
    #[serde(default)]
    pub classic: Option<RawClassic>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProgressive {
    pub base_qty: Qty,
    #[serde(default)]
    pub max_levels: Option<u32>,
    #[serde(default)]
    pub ema_span: Option<usize>,
    /// Which EMA smooths daily ATR%: `adjusted` (pandas adjust=True, the default) or `recursive`.
    #[serde(default)]
    pub ema: Option<gridbot_grid::EmaKind>,
    #[serde(default)]
    pub horizon_days: Option<f64>,
    #[serde(default)]
    pub step_scale_factor: Option<f64>,
    #[serde(default)]
    pub qty_multiplier: Option<Decimal>,
    #[serde(default)]
    pub take_profit: Option<f64>,
    #[serde(default)]
    pub take_profit_steps: Option<f64>,
    #[serde(default)]
    pub atr_pct: Option<f64>,
    #[serde(default)]
    pub balance_reprice: Option<f64>,
    #[serde(default)]
    pub partial_fill_timeout_s: Option<u64>,
    #[serde(default)]
    pub funding_guard: Option<RawFundingGuard>,
    #[serde(default)]
    pub take_profit_tranches: Option<Vec<RawTranche>>,
    #[serde(default)]
    pub break_even_stop: Option<bool>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTranche {
    pub share: Decimal,
    pub distance: Decimal,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFundingGuard {
    #[serde(default)]
    pub max_open_rate: Option<Decimal>,
    #[serde(default)]
    pub close_before_minutes: Option<f64>,
    #[serde(default)]
    pub close_rate: Option<Decimal>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClassic {
    pub qty_per_level: Qty,
    #[serde(default)]
    pub profile: Option<Profile>,
    #[serde(default)]
    pub lower: Option<Decimal>,
    #[serde(default)]
    pub upper: Option<Decimal>,
    #[serde(default)]
    pub levels: Option<u32>,
    #[serde(default)]
    pub spacing: Option<f64>,
    #[serde(default)]
    pub atr_spacing: Option<f64>,
    #[serde(default)]
    pub levels_per_side: Option<u32>,
    #[serde(default)]
    pub progression: Option<Progression>,
    #[serde(default)]
    pub bias: Option<Bias>,
    #[serde(default)]
    pub take_profit: Option<f64>,
    #[serde(default)]
    pub stop_loss: Option<f64>,
    #[serde(default)]
    pub bollinger: Option<RawBollinger>,
    #[serde(default)]
    pub trigger_price: Option<Decimal>,
    #[serde(default)]
    pub take_profit_price: Option<Decimal>,
    #[serde(default)]
    pub stop_loss_price: Option<Decimal>,
    #[serde(default)]
    pub trailing_up_limit: Option<Decimal>,
    #[serde(default)]
    pub trailing_down_limit: Option<Decimal>,
    #[serde(default)]
    pub recentre: Option<RawRecentre>,
    #[serde(default)]
    pub partial_fill_timeout_s: Option<u64>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBollinger {
    pub period: u32,
    pub k: f64,
    pub interval: gridbot_core::Interval,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecentre {
    #[serde(default)]
    pub max_deviation: Option<f64>,
    #[serde(default)]
    pub max_age_hours: Option<f64>,
    #[serde(default)]
    pub one_sided: Option<bool>,
    #[serde(default)]
    pub pump_dump: Option<RawPumpDump>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPumpDump {
    pub window_minutes: f64,
    #[serde(rename = "move")]
    pub move_fraction: f64,
}
