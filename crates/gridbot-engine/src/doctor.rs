//! `gridbot doctor`: a read-only preflight of each account before real money — the keys work
//! and may trade derivatives, the clock is inside the receive window, every symbol exists and
//! trades with the configured leverage and sizes, hedge mode and leverage are as configured
//! (or what the start will change), the balance covers the deepest levels' margin, and the
//! data directory is writable.
//!
//! Decisions:
//! - **Read only.** Nothing is placed, cancelled or switched: leverage and position mode are
//!   compared, and what a start would change is said. The only write is a probe file in the
//!   account's data directory, removed at once.
//! - Each check is a [`Check`] with a verdict: `ok`, `warn` (the start will fix it, or it is
//!   worth a look) or `fail` (trading would not work or would not be safe). The command exits
//!   1 when any check fails.
//! - Margin: the deepest ladder both legs can build (every progressive level filled, on both
//!   legs; every classic level) at the current price over the leverage, against the available
//!   balance — the worst case the grid is configured to reach.

use gridbot_bybit::BybitClient;
use gridbot_core::{Clock, Decimal, Exchange, Instrument, PositionIdx, Symbol, SystemClock};

use gridbot_grid::GridPlan;

use crate::bot::{BotOptions, client};
use crate::config::{AccountConfig, BotConfig, StrategyConfig};

/// Why the configured sizes do not fit an instrument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SizeError {
    /// The progressive plan cannot be laid out on the instrument (a level below its minimum,
    /// above its maximum, ...).
    #[error("{0}")]
    Plan(#[from] gridbot_grid::GridError),
    /// A classic grid's size per level is below the minimum or off the quantity step.
    #[error("qty_per_level {qty} must be at least {min} on a step of {step}")]
    QtyPerLevel {
        /// Configured.
        qty: gridbot_core::Qty,
        /// The instrument's minimum order quantity.
        min: gridbot_core::Qty,
        /// The instrument's quantity step.
        step: Decimal,
    },
}

/// A field of a symbol's configuration that does not fit its instrument (for `config check`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{problem}")]
pub struct Misfit {
    /// The field's path inside the symbol (`leverage`, `progressive.base_qty`, ...).
    pub field: &'static str,
    /// What is wrong, naming the symbol.
    pub problem: String,
}

/// Why the margin a symbol needs could not be told.
#[derive(Debug, thiserror::Error)]
enum MarginError {
    #[error("{0}")]
    Exchange(#[from] gridbot_core::ExchangeError),
    #[error("no price on the book")]
    NoPrice,
    #[error("{0}")]
    Plan(#[from] gridbot_grid::GridError),
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As it should be.
    Ok,
    /// Worth a look, or something the start changes.
    Warn,
    /// Trading would not work, or would not be safe.
    Fail,
}

/// One check of one account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// The account.
    pub account: String,
    /// The symbol it concerns, if one.
    pub symbol: Option<String>,
    /// What was checked.
    pub what: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found, in a sentence.
    pub detail: String,
}

/// Runs every check of every account of `config` (or only `only`).
#[must_use]
pub fn doctor(config: &BotConfig, only: Option<&str>) -> Vec<Check> {
    let mut out = Vec::new();
    for account in config.accounts.iter().filter(|a| only.is_none_or(|o| o == a.account_id)) {
        check_account(config, account, &mut out);
    }
    out
}

fn check_account(config: &BotConfig, account: &AccountConfig, out: &mut Vec<Check>) {
    let mut say = |symbol: Option<&Symbol>, what: &'static str, verdict: Verdict, detail: String| {
        out.push(Check {
            account: account.account_id.clone(),
            symbol: symbol.map(ToString::to_string),
            what,
            verdict,
            detail,
        });
    };
    let data_dir = config.account_dir(&account.account_id);
    match writable(&data_dir) {
        Ok(()) => say(None, "data directory", Verdict::Ok, format!("{} is writable", data_dir.display())),
        Err(e) => say(None, "data directory", Verdict::Fail, format!("{}: {e}", data_dir.display())),
    }
    let ex = match client(account, &BotOptions::default()) {
        Ok(c) => c,
        Err(e) => return say(None, "keys", Verdict::Fail, e.to_string()),
    };
    match ex.api_key_info() {
        Ok(info) if info.can_trade_contracts() => {
            let ips = if info.ips.iter().any(|ip| ip == "*") { "any IP" } else { "a whitelist of IPs" };
            say(None, "keys", Verdict::Ok, format!("accepted; may place orders and manage positions; {ips}"));
        }
        Ok(info) => say(
            None,
            "keys",
            Verdict::Fail,
            format!(
                "accepted, but {}: give the key ContractTrade Order and Position",
                if info.read_only { "read-only" } else { "without derivatives trading" }
            ),
        ),
        Err(e) => return say(None, "keys", Verdict::Fail, format!("refused: {e}")),
    }
    let local = SystemClock.now_ms();
    match ex.server_time() {
        Ok(server) => {
            let skew = local - server;
            // Bybit accepts server − recv_window ≤ timestamp < server + 1000.
            let window = i64::try_from(account.recv_window_ms).unwrap_or(i64::MAX);
            let inside = skew < 1_000 && -skew <= window;
            let margin = skew.abs() * 2 < window.min(2_000);
            let verdict = if !inside {
                Verdict::Fail
            } else if margin {
                Verdict::Ok
            } else {
                Verdict::Warn
            };
            say(None, "clock", verdict, format!("{skew:+} ms from the exchange (receive window {window} ms)"));
        }
        Err(e) => say(None, "clock", Verdict::Fail, format!("server time: {e}")),
    }
    let available = match ex.wallet() {
        Ok(w) => Some(w.total_available_balance),
        Err(e) => {
            say(None, "balance", Verdict::Fail, format!("wallet: {e}"));
            None
        }
    };
    let listed = match Exchange::instruments(&ex) {
        Ok(list) => list,
        Err(e) => return say(None, "instruments", Verdict::Fail, e.to_string()),
    };
    let mut needed = Decimal::ZERO;
    for sc in &account.symbols {
        let symbol = &sc.symbol;
        let Some(instrument) = listed.iter().find(|i| i.symbol() == symbol) else {
            say(Some(symbol), "instrument", Verdict::Fail, "not a trading USDT perpetual on this exchange".into());
            continue;
        };
        let spec = instrument.spec();
        if sc.leverage < spec.min_leverage || sc.leverage > spec.max_leverage {
            say(
                Some(symbol),
                "instrument",
                Verdict::Fail,
                format!("leverage {} is outside {}..{}", sc.leverage, spec.min_leverage, spec.max_leverage),
            );
            continue;
        }
        match sizes(sc, instrument) {
            Ok(detail) => say(Some(symbol), "sizes", Verdict::Ok, detail),
            Err(e) => say(Some(symbol), "sizes", Verdict::Fail, e.to_string()),
        }
        check_positions(&ex, sc, &mut say);
        match margin_needed(&ex, sc, instrument) {
            Ok(m) => needed += m,
            Err(e) => say(Some(symbol), "balance", Verdict::Fail, e.to_string()),
        }
    }
    if let Some(available) = available {
        let detail = format!(
            "{} USDT available; the deepest ladders configured need {} USDT of initial margin",
            available.round_dp(2),
            needed.round_dp(2)
        );
        say(None, "balance", if needed <= available { Verdict::Ok } else { Verdict::Fail }, detail);
    }
}

fn writable(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(probe)
}

/// The configured sizes against the instrument's limits (every level of a progressive plan):
/// a sentence, or what does not fit. Also used by `gridbot config check`.
pub fn sizes(sc: &crate::config::SymbolConfig, instrument: &Instrument) -> Result<String, SizeError> {
    match &sc.strategy {
        StrategyConfig::Progressive(cfg) => {
            let plan = GridPlan::from_atr_pct_ema(&cfg.params, 0.01, instrument, 0)?;
            let q = plan.quantities();
            Ok(format!(
                "{} levels from {} to {}, inside {}..{}",
                q.len(),
                q[0],
                q[q.len() - 1],
                instrument.min_order_qty(),
                instrument.spec().max_order_qty
            ))
        }
        StrategyConfig::Classic(cfg) => {
            let qty = cfg.settings.qty_per_level;
            if qty < instrument.min_order_qty() || !instrument.is_on_step(qty) {
                Err(SizeError::QtyPerLevel { qty, min: instrument.min_order_qty(), step: instrument.qty_step() })
            } else {
                Ok(format!("{qty} per level"))
            }
        }
    }
}

fn check_positions(
    ex: &BybitClient,
    sc: &crate::config::SymbolConfig,
    say: &mut impl FnMut(Option<&Symbol>, &'static str, Verdict, String),
) {
    let symbol = &sc.symbol;
    let rows = match Exchange::positions(ex, symbol) {
        Ok(rows) => rows,
        Err(e) => return say(Some(symbol), "position mode", Verdict::Fail, e.to_string()),
    };
    let hedge = rows.iter().any(|p| p.position_idx != PositionIdx::OneWay);
    let open = rows.iter().any(|p| !p.size.is_zero());
    match (hedge, open) {
        (true, _) => say(Some(symbol), "position mode", Verdict::Ok, "hedge mode".into()),
        (false, false) => {
            say(
                Some(symbol),
                "position mode",
                Verdict::Warn,
                "one-way mode: the start switches it to hedge mode".into(),
            );
        }
        (false, true) => say(
            Some(symbol),
            "position mode",
            Verdict::Fail,
            "one-way mode with an open position: Bybit refuses the switch to hedge mode until it is closed".into(),
        ),
    }
    let leverages: Vec<Decimal> = rows.iter().map(|p| p.leverage).collect();
    if leverages.iter().all(|l| *l == sc.leverage) {
        say(Some(symbol), "leverage", Verdict::Ok, format!("{}x as configured", sc.leverage));
    } else {
        let found = leverages.iter().map(ToString::to_string).collect::<Vec<_>>().join("/");
        say(
            Some(symbol),
            "leverage",
            Verdict::Warn,
            format!("{found}x on the exchange: the start sets {}x", sc.leverage),
        );
    }
}

/// Initial margin of the deepest ladder the symbol is configured to build, at today's price.
fn margin_needed(
    ex: &BybitClient,
    sc: &crate::config::SymbolConfig,
    instrument: &Instrument,
) -> Result<Decimal, MarginError> {
    let top = Exchange::orderbook_top(ex, &sc.symbol)?;
    let price = top.ask.or(top.bid).map(|l| l.price.as_decimal()).ok_or(MarginError::NoPrice)?;
    let leverage = if sc.leverage.is_zero() { Decimal::ONE } else { sc.leverage };
    let notional = match &sc.strategy {
        StrategyConfig::Progressive(cfg) => {
            let plan = GridPlan::from_atr_pct_ema(&cfg.params, 0.01, instrument, 0)?;
            let per_leg: Decimal = plan.quantities().iter().map(|q| q.as_decimal() * price).sum();
            per_leg * Decimal::TWO
        }
        StrategyConfig::Classic(cfg) => {
            let levels = match cfg.settings.layout {
                gridbot_strategy::LayoutSpec::AroundMarket { levels_per_side, .. } => {
                    Decimal::from(levels_per_side) * Decimal::TWO
                }
                gridbot_strategy::LayoutSpec::Bounds { levels, .. }
                | gridbot_strategy::LayoutSpec::Bollinger { levels, .. } => Decimal::from(levels),
                gridbot_strategy::LayoutSpec::BoundsBySpacing { lower, upper, spacing } => {
                    let span = (upper.to_f64() - lower.to_f64()) / lower.to_f64().max(f64::MIN_POSITIVE);
                    let count = (span / spacing.max(1e-9)).ceil().clamp(1.0, 10_000.0);
                    Decimal::try_from(count + 1.0).unwrap_or(Decimal::ONE)
                }
            };
            levels * cfg.settings.qty_per_level.as_decimal() * price
        }
    };
    Ok(notional / leverage)
}

/// What `gridbot config check` can tell about one symbol against `instrument`: the leverage
/// range and the sizes. `Err` names the first field that does not fit.
pub fn fits(sc: &crate::config::SymbolConfig, instrument: &Instrument) -> Result<(), Misfit> {
    let spec = instrument.spec();
    if sc.leverage < spec.min_leverage || sc.leverage > spec.max_leverage {
        return Err(Misfit {
            field: "leverage",
            problem: format!("{} is outside {}'s {}..{}", sc.leverage, sc.symbol, spec.min_leverage, spec.max_leverage),
        });
    }
    let field = match sc.strategy {
        StrategyConfig::Progressive(_) => "progressive.base_qty",
        StrategyConfig::Classic(_) => "classic.qty_per_level",
    };
    sizes(sc, instrument).map(drop).map_err(|e| Misfit { field, problem: format!("{e} ({})", sc.symbol) })
}
