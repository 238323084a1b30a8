//! Raw files → validated configuration; every problem with `file:line`, field and expectation.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gridbot_core::Environment;
use gridbot_core::{Decimal, Price, Qty, Symbol};
use gridbot_grid::{Bias, Progression, ProgressiveParams, TakeProfitRule};

use super::env::{Env, Secret, interpolate, scrub};
use super::raw::{
    ChatId, EnvironmentName, RawAccount, RawBacktest, RawBot, RawClassic, RawFill, RawFunding, RawProgressive,
    RawSymbol, RawWeb, StrategyKind,
};
use super::{
    AccountConfig, BacktestConfig, BotConfig, ClassicConfig, ConfigError, ConfigErrors, FillConfig, FundingConfig,
    LoggingConfig, ProgressiveConfig, Purpose, StrategyConfig, SymbolConfig, TelegramConfig, WebConfig, WebhookConfig,
    WebhookFormat,
};
use gridbot_core::yaml::LineIndex;
use gridbot_strategy::{ClassicOptions, ClassicSettings, LayoutSpec, ProgressiveSettings, PumpDump, RecentrePolicy};

/// Bybit's lowest risk-limit tier for BTCUSDT, USDT; set `risk_limit:` per symbol for others.
const DEFAULT_RISK_LIMIT: Decimal = Decimal::from_parts(2_000_000, 0, 0, false, 0);

/// Collects the problems of one file.
struct Problems<'a> {
    file: &'a Path,
    index: LineIndex,
    list: Vec<ConfigError>,
    /// Values that came from the environment: scrubbed from every message.
    secrets: Vec<String>,
}

impl<'a> Problems<'a> {
    fn new(file: &'a Path, text: &str) -> Self {
        Self { file, index: LineIndex::new(text), list: Vec::new(), secrets: Vec::new() }
    }

    fn at(&mut self, field: &str, message: impl Into<String>) {
        let message = scrub(&message.into(), &self.secrets);
        self.list.push(ConfigError {
            file: self.file.to_path_buf(),
            line: self.index.line(field),
            field: Some(field.to_owned()),
            message,
        });
    }

    /// Expands `${VAR}`s in the value of `field`; `None` (and a problem) when it cannot.
    fn expand(&mut self, field: &str, value: &str, env: &dyn Env) -> Option<(String, bool)> {
        match interpolate(value, env) {
            Ok((v, from_env)) => {
                if from_env && !v.is_empty() {
                    self.secrets.push(v.clone());
                }
                Some((v, from_env))
            }
            Err(e) => {
                self.at(field, e.to_string());
                None
            }
        }
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, ConfigErrors> {
        match value {
            Some(v) if self.list.is_empty() => Ok(v),
            _ => Err(ConfigErrors(self.list)),
        }
    }
}

/// A serde error as a problem at its line (serde names the field in its message).
fn parse_error(file: &Path, e: &serde_yaml::Error) -> ConfigErrors {
    let text = e.to_string();
    let mut message = match e.location() {
        Some(l) => text.trim_end_matches(&format!(" at line {} column {}", l.line(), l.column())).to_owned(),
        None => text,
    };
    // serde's own complaints name a field, a type or a value; anything else is the YAML itself.
    const DATA: [&str; 6] =
        ["unknown field", "missing field", "invalid type", "invalid value", "unknown variant", "invalid length"];
    if !DATA.iter().any(|d| message.contains(d)) {
        message = format!("YAML syntax error: {message}");
    }
    ConfigErrors(vec![ConfigError {
        file: file.to_path_buf(),
        line: e.location().map(|l| l.line()),
        field: None,
        message,
    }])
}

fn fraction_in(p: &mut Problems<'_>, field: &str, v: f64, lo: f64, hi: f64) {
    if !(v.is_finite() && v > lo && v < hi) {
        p.at(field, format!("expected a fraction between {lo} and {hi} (exclusive), got {v}"));
    }
}

fn positive(p: &mut Problems<'_>, field: &str, v: f64) {
    if !(v.is_finite() && v > 0.0) {
        p.at(field, format!("expected a positive number, got {v}"));
    }
}

fn valid_account_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_tag(tag: &str) -> bool {
    (1..=gridbot_recovery::codec::MAX_ACCOUNT_TAG).contains(&tag.len())
        && tag.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn chat_text(c: &ChatId) -> String {
    match c {
        ChatId::Number(n) => n.to_string(),
        ChatId::Text(t) => t.clone(),
    }
}

/// Checks a quantity against a symbol's known filters (BTCUSDT, ETHUSDT); other symbols are
/// checked against the exchange's filters at start, before any order.
fn check_qty(p: &mut Problems<'_>, field: &str, symbol: &Symbol, qty: Qty) {
    if qty.is_zero() {
        p.at(field, "expected a positive quantity, got 0");
        return;
    }
    if let Some(instrument) = gridbot_core::reference::bybit_linear(symbol.as_str()) {
        if !instrument.is_on_step(qty) {
            p.at(field, format!("{qty} is not a multiple of {symbol}'s qty step {}", instrument.qty_step()));
        } else if qty < instrument.min_order_qty() {
            p.at(field, format!("{qty} is below {symbol}'s minimum order quantity {}", instrument.min_order_qty()));
        }
    }
}

fn progressive(p: &mut Problems<'_>, at: &str, symbol: &Symbol, r: &RawProgressive) -> Option<ProgressiveConfig> {
    let defaults = ProgressiveParams::with_base_qty(r.base_qty);
    check_qty(p, &format!("{at}.base_qty"), symbol, r.base_qty);
    let max_levels = r.max_levels.unwrap_or(defaults.max_levels);
    if !(1..=30).contains(&max_levels) {
        p.at(&format!("{at}.max_levels"), format!("expected 1 to 30 levels, got {max_levels}"));
    }
    let ema_span = r.ema_span.unwrap_or(defaults.ema_span);
    if !(1..=365).contains(&ema_span) {
        p.at(&format!("{at}.ema_span"), format!("expected 1 to 365 days, got {ema_span}"));
    }
    let horizon_days = r.horizon_days.unwrap_or(defaults.horizon_days);
    positive(p, &format!("{at}.horizon_days"), horizon_days);
    let step_scale_factor = r.step_scale_factor.unwrap_or(defaults.step_scale_factor);
    positive(p, &format!("{at}.step_scale_factor"), step_scale_factor);
    let qty_multiplier = r.qty_multiplier.unwrap_or(defaults.qty_multiplier);
    if qty_multiplier < Decimal::ONE || qty_multiplier > Decimal::from(10) {
        p.at(&format!("{at}.qty_multiplier"), format!("expected 1 to 10, got {qty_multiplier}"));
    }
    let take_profit = match (r.take_profit, r.take_profit_steps) {
        (Some(_), Some(_)) => {
            p.at(
                &format!("{at}.take_profit_steps"),
                "set either take_profit (a fraction) or take_profit_steps, not both",
            );
            defaults.take_profit
        }
        (Some(f), None) => {
            fraction_in(p, &format!("{at}.take_profit"), f, 0.0, 0.5);
            TakeProfitRule::Fraction(f)
        }
        (None, Some(m)) => {
            positive(p, &format!("{at}.take_profit_steps"), m);
            TakeProfitRule::StepMultiple(m)
        }
        (None, None) => defaults.take_profit,
    };
    if let Some(a) = r.atr_pct {
        fraction_in(p, &format!("{at}.atr_pct"), a, 0.0, 1.0);
    }
    let mut settings = ProgressiveSettings::default();
    if let Some(b) = r.balance_reprice {
        fraction_in(p, &format!("{at}.balance_reprice"), b, 0.0, 0.05);
        settings.balance_reprice = Decimal::from_f64_retain(b).map_or(settings.balance_reprice, |d| d.round_dp(8));
    }
    if let Some(t) = r.partial_fill_timeout_s {
        if t == 0 {
            p.at(&format!("{at}.partial_fill_timeout_s"), "expected at least 1 second");
        }
        settings.partial_fill_timeout_ms = i64::try_from(t.saturating_mul(1_000)).unwrap_or(i64::MAX);
    }
    if let Some(list) = &r.take_profit_tranches {
        let field = format!("{at}.take_profit_tranches");
        if r.take_profit.is_some() || r.take_profit_steps.is_some() {
            p.at(&field, "set either take_profit (or take_profit_steps) or take_profit_tranches, not both");
        }
        let tranches = list.iter().map(|t| gridbot_grid::Tranche { share: t.share, distance: t.distance }).collect();
        match gridbot_grid::TakeProfitLadder::new(tranches) {
            Ok(ladder) => settings.take_profit_ladder = Some(ladder),
            Err(e) => p.at(&field, e.to_string()),
        }
    }
    if let Some(stop) = r.break_even_stop {
        if stop && r.take_profit_tranches.is_none() {
            p.at(
                &format!("{at}.break_even_stop"),
                "the stop at break-even follows a take_profit_tranches ladder: set one",
            );
        }
        settings.break_even_stop = stop;
    }
    if let Some(g) = &r.funding_guard {
        let gat = format!("{at}.funding_guard");
        let rate = |p: &mut Problems<'_>, name: &str, v: Option<Decimal>| {
            let v = v?;
            if v <= Decimal::ZERO || v > Decimal::new(1, 1) {
                p.at(
                    &format!("{gat}.{name}"),
                    format!("expected a rate per settlement above 0 and at most 0.1, got {v}"),
                );
            }
            Some(v)
        };
        settings.funding_guard.max_open_rate = rate(p, "max_open_rate", g.max_open_rate);
        settings.funding_guard.close_rate = rate(p, "close_rate", g.close_rate);
        if let Some(m) = g.close_before_minutes {
            if !(m > 0.0 && m <= 480.0) {
                p.at(&format!("{gat}.close_before_minutes"), format!("expected more than 0 and at most 480, got {m}"));
            }
            settings.funding_guard.close_before_ms = Some(to_ms(m * 60_000.0));
        }
        if g.close_before_minutes.is_some() != g.close_rate.is_some() {
            p.at(&gat, "the close before a settlement needs both close_before_minutes and close_rate");
        }
        if g.max_open_rate.is_none() && g.close_rate.is_none() && g.close_before_minutes.is_none() {
            p.at(&gat, "set max_open_rate, or close_before_minutes with close_rate");
        }
    }
    let params = ProgressiveParams {
        ema_span,
        horizon_days,
        step_scale_factor,
        max_levels,
        base_qty: r.base_qty,
        qty_multiplier,
        take_profit,
        ema: r.ema.unwrap_or_default(),
    };
    Some(ProgressiveConfig { params, atr_pct: r.atr_pct, settings })
}

fn price(p: &mut Problems<'_>, field: &str, v: Option<Decimal>) -> Option<Price> {
    let v = v?;
    match Price::new(v) {
        Ok(price) if !price.is_zero() => Some(price),
        _ => {
            p.at(field, format!("expected a positive price, got {v}"));
            None
        }
    }
}

/// A Bollinger-range layout: `bollinger: {period, k, interval}` and `levels`, nothing else that
/// places levels.
fn bollinger(p: &mut Problems<'_>, at: &str, r: &RawClassic) -> Option<LayoutSpec> {
    let b = r.bollinger.as_ref()?;
    let bat = format!("{at}.bollinger");
    let others = [
        ("profile", r.profile.is_some()),
        ("lower", r.lower.is_some()),
        ("upper", r.upper.is_some()),
        ("spacing", r.spacing.is_some()),
        ("atr_spacing", r.atr_spacing.is_some()),
        ("levels_per_side", r.levels_per_side.is_some()),
    ];
    for (name, set) in others {
        if set {
            p.at(&format!("{at}.{name}"), "a Bollinger range sets the bounds: leave it out (set levels)");
        }
    }
    if !(2..=1_000).contains(&b.period) {
        p.at(&format!("{bat}.period"), format!("expected 2 to 1000 samples, got {}", b.period));
    }
    if !(b.k.is_finite() && b.k > 0.0 && b.k <= 10.0) {
        p.at(&format!("{bat}.k"), format!("expected more than 0 and at most 10 standard deviations, got {}", b.k));
    }
    if b.interval.fixed_ms().is_none_or(|ms| ms > gridbot_core::time::DAY_MS) {
        p.at(&format!("{bat}.interval"), format!("expected 1m to 1d, got {}", b.interval));
    }
    match r.levels {
        Some(levels) if levels >= 2 => {
            Some(LayoutSpec::Bollinger { period: b.period, k: b.k, interval: b.interval, levels })
        }
        Some(levels) => {
            p.at(&format!("{at}.levels"), format!("expected at least 2 levels, got {levels}"));
            None
        }
        None => {
            p.at(&format!("{at}.levels"), "a Bollinger range needs its number of levels");
            None
        }
    }
}

fn classic(p: &mut Problems<'_>, at: &str, symbol: &Symbol, r: &RawClassic) -> Option<ClassicConfig> {
    check_qty(p, &format!("{at}.qty_per_level"), symbol, r.qty_per_level);
    let spacing_field = format!("{at}.spacing");
    if let Some(s) = r.spacing {
        fraction_in(p, &spacing_field, s, 0.0, 0.5);
    }
    if let Some(m) = r.atr_spacing {
        positive(p, &format!("{at}.atr_spacing"), m);
    }
    let lower = price(p, &format!("{at}.lower"), r.lower);
    let upper = price(p, &format!("{at}.upper"), r.upper);
    if let (Some(l), Some(u)) = (lower, upper)
        && l >= u
    {
        p.at(&format!("{at}.upper"), format!("expected upper above lower {l}, got {u}"));
    }
    let explicit = lower.is_some() || upper.is_some() || r.levels.is_some() || r.levels_per_side.is_some();
    let layout = match (r.profile, lower, upper) {
        _ if r.bollinger.is_some() => bollinger(p, at, r),
        (Some(_), _, _) if explicit || r.spacing.is_some() => {
            p.at(&format!("{at}.profile"), "a profile sets spacing and levels: leave out lower/upper/levels/spacing");
            None
        }
        (Some(profile), _, _) => {
            Some(LayoutSpec::AroundMarket { spacing: profile.spacing(), levels_per_side: profile.levels_per_side() })
        }
        (None, Some(lower), Some(upper)) => match (r.levels, r.spacing) {
            (Some(levels), None) if levels >= 2 => Some(LayoutSpec::Bounds { lower, upper, levels }),
            (Some(levels), None) => {
                p.at(&format!("{at}.levels"), format!("expected at least 2 levels, got {levels}"));
                None
            }
            (None, Some(spacing)) => Some(LayoutSpec::BoundsBySpacing { lower, upper, spacing }),
            _ => {
                p.at(at, "with lower and upper, set exactly one of levels or spacing");
                None
            }
        },
        (None, None, None) => {
            match (r.levels_per_side, r.spacing.or(r.atr_spacing.map(|_| 0.0))) {
                (Some(n), Some(spacing)) if n >= 1 => Some(LayoutSpec::AroundMarket { spacing, levels_per_side: n }),
                (Some(n), Some(_)) => {
                    p.at(&format!("{at}.levels_per_side"), format!("expected at least 1, got {n}"));
                    None
                }
                _ => {
                    p.at(at, "set a profile, or lower + upper + levels/spacing, or spacing (or atr_spacing) + levels_per_side");
                    None
                }
            }
        }
        _ => {
            p.at(at, "set both lower and upper");
            None
        }
    };
    if r.spacing.is_some() && r.atr_spacing.is_some() {
        p.at(&spacing_field, "set either spacing or atr_spacing, not both");
    }
    let mut recentre = RecentrePolicy::default();
    if let Some(rc) = &r.recentre {
        let rat = format!("{at}.recentre");
        if let Some(d) = rc.max_deviation {
            fraction_in(p, &format!("{rat}.max_deviation"), d, 0.0, 1.0);
            recentre.max_deviation = Some(d);
        }
        if let Some(h) = rc.max_age_hours {
            positive(p, &format!("{rat}.max_age_hours"), h);
            recentre.max_age_ms = Some(to_ms(h * 3_600_000.0));
        }
        recentre.one_sided = rc.one_sided.unwrap_or(false);
        if let Some(pd) = &rc.pump_dump {
            positive(p, &format!("{rat}.pump_dump.window_minutes"), pd.window_minutes);
            fraction_in(p, &format!("{rat}.pump_dump.move"), pd.move_fraction, 0.0, 1.0);
            recentre.pump_dump =
                Some(PumpDump { window_ms: to_ms(pd.window_minutes * 60_000.0), move_fraction: pd.move_fraction });
        }
    }
    for (name, v) in [("take_profit", r.take_profit), ("stop_loss", r.stop_loss)] {
        if let Some(v) = v {
            fraction_in(p, &format!("{at}.{name}"), v, 0.0, 1.0);
        }
    }
    let options = ClassicOptions {
        trigger_price: price(p, &format!("{at}.trigger_price"), r.trigger_price),
        take_profit_price: price(p, &format!("{at}.take_profit_price"), r.take_profit_price),
        stop_loss_price: price(p, &format!("{at}.stop_loss_price"), r.stop_loss_price),
        trailing_up_limit: price(p, &format!("{at}.trailing_up_limit"), r.trailing_up_limit),
        trailing_down_limit: price(p, &format!("{at}.trailing_down_limit"), r.trailing_down_limit),
    };
    if let (Some(up), Some(down)) = (options.trailing_up_limit, options.trailing_down_limit)
        && up <= down
    {
        p.at(
            &format!("{at}.trailing_up_limit"),
            format!("expected a price above trailing_down_limit {down}, got {up}"),
        );
    }
    if let (Some(tp), Some(sl)) = (options.take_profit_price, options.stop_loss_price)
        && tp == sl
    {
        p.at(&format!("{at}.stop_loss_price"), format!("expected a price other than take_profit_price {tp}"));
    }
    let profile_tp = r.profile.map(gridbot_grid::Profile::take_profit);
    let settings = ClassicSettings {
        layout: layout?,
        progression: r.progression.unwrap_or(Progression::Geometric),
        bias: r.bias.unwrap_or(Bias::Neutral),
        qty_per_level: r.qty_per_level,
        take_profit: r.take_profit.or(profile_tp),
        stop_loss: r.stop_loss,
        recentre,
        partial_fill_timeout_ms: i64::try_from(r.partial_fill_timeout_s.unwrap_or(60).saturating_mul(1_000))
            .unwrap_or(i64::MAX),
        options,
    };
    Some(ClassicConfig { settings, atr_spacing: r.atr_spacing })
}

#[allow(clippy::cast_possible_truncation, reason = "durations from config are far below i64::MAX ms")]
fn to_ms(v: f64) -> i64 {
    if v.is_finite() && v > 0.0 { v.min(9.0e15) as i64 } else { 0 }
}

fn symbol(p: &mut Problems<'_>, i: usize, r: &RawSymbol, seen: &mut HashSet<String>) -> Option<SymbolConfig> {
    let at = format!("symbols[{i}]");
    let symbol = match Symbol::new(r.symbol.clone()) {
        Ok(s) if r.symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) => s,
        _ => {
            p.at(
                &format!("{at}.symbol"),
                format!("expected a Bybit linear symbol such as BTCUSDT, got {:?}", r.symbol),
            );
            return None;
        }
    };
    if !seen.insert(r.symbol.clone()) {
        p.at(&format!("{at}.symbol"), format!("{} is listed twice", r.symbol));
    }
    if r.leverage < Decimal::ONE || r.leverage > Decimal::from(100) {
        p.at(&format!("{at}.leverage"), format!("expected leverage from 1 to 100, got {}", r.leverage));
    } else if let Some(instrument) = gridbot_core::reference::bybit_linear(&r.symbol)
        && r.leverage > instrument.spec().max_leverage
    {
        p.at(
            &format!("{at}.leverage"),
            format!("{} allows at most {}x, got {}", r.symbol, instrument.spec().max_leverage, r.leverage),
        );
    }
    let strategy = match r.strategy {
        StrategyKind::Progressive => {
            if r.classic.is_some() {
                p.at(&format!("{at}.classic"), "strategy is progressive: remove the classic block");
            }
            match &r.progressive {
                Some(block) => {
                    progressive(p, &format!("{at}.progressive"), &symbol, block).map(StrategyConfig::Progressive)
                }
                None => {
                    p.at(&format!("{at}.strategy"), "strategy is progressive but there is no `progressive:` block");
                    None
                }
            }
        }
        StrategyKind::Classic => {
            if r.progressive.is_some() {
                p.at(&format!("{at}.progressive"), "strategy is classic: remove the progressive block");
            }
            match &r.classic {
                Some(block) => classic(p, &format!("{at}.classic"), &symbol, block).map(StrategyConfig::Classic),
                None => {
                    p.at(&format!("{at}.strategy"), "strategy is classic but there is no `classic:` block");
                    None
                }
            }
        }
    };
    let risk_limit = r.risk_limit.unwrap_or(DEFAULT_RISK_LIMIT);
    if risk_limit <= Decimal::ZERO {
        p.at(&format!("{at}.risk_limit"), format!("expected a positive USDT amount, got {risk_limit}"));
    }
    Some(SymbolConfig { symbol, leverage: r.leverage, risk_limit, strategy: strategy? })
}

fn credential(p: &mut Problems<'_>, field: &str, raw: &str, env: &dyn Env, sim: bool) -> Option<Secret> {
    let (value, from_env) = p.expand(field, raw, env)?;
    if value.is_empty() {
        p.at(field, "is empty");
        return None;
    }
    if !from_env && !sim {
        p.at(field, "secrets come from the environment: write \"${VARIABLE}\" and export it");
        return None;
    }
    Some(Secret::new(value))
}

/// The `web:` section: loopback unless told otherwise, and never open beyond it without a token.
fn web(p: &mut Problems<'_>, w: &RawWeb, env: &dyn Env) -> Option<WebConfig> {
    // Both fields are checked before giving up, so every problem is reported at once.
    let bind = match &w.bind {
        None => Some(WebConfig::DEFAULT_BIND),
        Some(text) => p.expand("web.bind", text, env).and_then(|(value, _)| {
            let parsed = value.parse::<SocketAddr>().ok();
            if parsed.is_none() {
                p.at("web.bind", format!("expected an address like 127.0.0.1:8080, got {value:?}"));
            }
            parsed
        }),
    };
    let token = w.token.as_ref().and_then(|text| {
        let (value, from_env) = p.expand("web.token", text, env)?;
        if !from_env {
            p.at("web.token", "secrets come from the environment: write \"${VARIABLE}\" and export it");
        } else if value.chars().count() < WebConfig::MIN_TOKEN_LEN {
            p.at("web.token", format!("expected at least {} characters", WebConfig::MIN_TOKEN_LEN));
        }
        Some(Secret::new(value))
    });
    let bind = bind?;
    if !bind.ip().is_loopback() && w.token.is_none() {
        p.at(
            "web.bind",
            format!("{bind} is reachable from other machines: set web.token, or bind 127.0.0.1 and use a tunnel"),
        );
    }
    Some(WebConfig { bind, token })
}

/// Validates an account file.
pub(super) fn account(path: &Path, text: &str, env: &dyn Env, purpose: Purpose) -> Result<AccountConfig, ConfigErrors> {
    let raw: RawAccount = serde_yaml::from_str(text).map_err(|e| parse_error(path, &e))?;
    let mut p = Problems::new(path, text);
    if !valid_account_id(&raw.account_id) {
        p.at("account_id", format!("expected 1 to 32 of A-Z, a-z, 0-9, _ and -, got {:?}", raw.account_id));
    }
    let tag = match &raw.tag {
        Some(t) if valid_tag(t) => t.clone(),
        Some(t) => {
            p.at("tag", format!("expected 1 to 6 of A-Z, a-z, 0-9 (it goes into every orderLinkId), got {t:?}"));
            String::new()
        }
        None if valid_tag(&raw.account_id) => raw.account_id.clone(),
        None => {
            p.at("account_id", "is not a valid orderLinkId tag (1 to 6 of A-Z, a-z, 0-9): add `tag:`");
            String::new()
        }
    };
    let sim = raw.environment == EnvironmentName::Sim;
    let trading = purpose == Purpose::Trade;
    let base_url = match &raw.base_url {
        Some(b) if trading => p
            .expand("base_url", b, env)
            .map(|(v, _)| v)
            .filter(|v| v.starts_with("http://") || v.starts_with("https://")),
        _ => None,
    };
    if trading
        && raw.base_url.is_some()
        && base_url.is_none()
        && p.list.iter().all(|e| e.field.as_deref() != Some("base_url"))
    {
        p.at("base_url", "expected an http:// or https:// URL");
    }
    if trading && sim && raw.base_url.is_none() {
        p.at("environment", "environment sim needs `base_url:` (the simulator's address, e.g. http://127.0.0.1:8080)");
    }
    let environment = match (&base_url, raw.environment) {
        (Some(url), _) => Environment::custom(url),
        (None, EnvironmentName::Mainnet) => Environment::Mainnet,
        (None, EnvironmentName::Testnet) => Environment::Testnet,
        (None, EnvironmentName::Demo) => Environment::Demo,
        (None, EnvironmentName::Sim) => Environment::custom("http://127.0.0.1:8080"),
    };
    let (api_key, api_secret) = if trading {
        (
            credential(&mut p, "api_key", &raw.api_key, env, sim),
            credential(&mut p, "api_secret", &raw.api_secret, env, sim),
        )
    } else {
        (Some(Secret::new(String::new())), Some(Secret::new(String::new())))
    };
    let recv_window_ms = raw.recv_window_ms.unwrap_or(5_000);
    if !(1_000..=60_000).contains(&recv_window_ms) {
        p.at("recv_window_ms", format!("expected 1000 to 60000 ms, got {recv_window_ms}"));
    }
    if raw.symbols.is_empty() {
        p.at("symbols", "expected at least one symbol");
    }
    let mut seen = HashSet::new();
    let symbols: Vec<Option<SymbolConfig>> =
        raw.symbols.iter().enumerate().map(|(i, s)| symbol(&mut p, i, s, &mut seen)).collect();
    for e in raw.risk.problems() {
        p.at(&format!("risk.{}", e.field), e.expected);
    }
    let backtest = raw.backtest.as_ref().map(|b| backtest(&mut p, b, path)).unwrap_or_default();
    let (telegram_chat_id, telegram_enabled) = match &raw.notifications.telegram {
        Some(t) if trading => {
            let chat = t.chat_id.as_ref().and_then(|c| p.expand("notifications.telegram.chat_id", &chat_text(c), env));
            (chat.map(|(c, _)| c), t.enabled)
        }
        Some(t) => (None, t.enabled),
        None => (None, true),
    };
    let config = (|| {
        Some(AccountConfig {
            path: path.to_path_buf(),
            account_id: raw.account_id.clone(),
            tag,
            environment: raw.environment,
            rest_url: environment.rest_base().to_owned(),
            ws_public_url: environment.ws_public_linear(),
            ws_private_url: environment.ws_private(),
            api_key: api_key?,
            api_secret: api_secret?,
            recv_window_ms,
            symbols: symbols.into_iter().collect::<Option<Vec<_>>>()?,
            risk: raw.risk.clone(),
            telegram_chat_id,
            telegram_enabled,
            backtest,
        })
    })();
    p.finish(config)
}

/// The `backtest:` section; paths are relative to the account file.
fn backtest(p: &mut Problems<'_>, b: &RawBacktest, path: &Path) -> BacktestConfig {
    let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if let Some(balance) = b.balance.filter(|v| *v <= Decimal::ZERO) {
        p.at("backtest.balance", format!("expected a balance > 0 USDT, got {balance}"));
    }
    for (field, fee) in [("backtest.maker_fee", b.maker_fee), ("backtest.taker_fee", b.taker_fee)] {
        if let Some(fee) = fee.filter(|f| *f < Decimal::new(-1, 2) || *f > Decimal::new(1, 2)) {
            p.at(field, format!("expected a fee rate between -0.01 and 0.01 (0.0002 is 0.02%), got {fee}"));
        }
    }
    if let Some(s) = b.slippage.filter(|s| *s < Decimal::ZERO || *s > Decimal::new(5, 2)) {
        p.at("backtest.slippage", format!("expected a fraction between 0 and 0.05, got {s}"));
    }
    let funding = match &b.funding {
        None => None,
        Some(RawFunding::Rate(r)) => {
            if r.abs() > Decimal::new(1, 2) {
                p.at("backtest.funding", format!("expected a rate per 8 h between -0.01 and 0.01, got {r}"));
            }
            Some(FundingConfig::Rate(*r))
        }
        Some(RawFunding::Files(files)) => {
            let mut out = std::collections::BTreeMap::new();
            for (symbol, file) in files {
                match Symbol::new(symbol.clone()) {
                    Ok(s) => {
                        out.insert(s, if file.is_absolute() { file.clone() } else { dir.join(file) });
                    }
                    Err(_) => p.at(&format!("backtest.funding.{symbol}"), "expected a symbol like BTCUSDT"),
                }
            }
            Some(FundingConfig::Files(out))
        }
    };
    let fill = match &b.fill {
        None => None,
        Some(RawFill::Word(w)) if w == "touch" => Some(FillConfig::Touch),
        Some(RawFill::Word(w)) if w == "through" => Some(FillConfig::Through { ticks: 1 }),
        Some(RawFill::Through { through }) if *through >= 1 => Some(FillConfig::Through { ticks: *through }),
        Some(other) => {
            p.at("backtest.fill", format!("expected touch, through or {{through: TICKS ≥ 1}}, got {other:?}"));
            None
        }
    };
    BacktestConfig {
        balance: b.balance,
        maker_fee: b.maker_fee,
        taker_fee: b.taker_fee,
        funding,
        fill,
        slippage: b.slippage,
    }
}

/// Validates a bot file and its account files.
pub(super) fn bot(path: &Path, text: &str, env: &dyn Env, purpose: Purpose) -> Result<BotConfig, ConfigErrors> {
    let raw: RawBot = serde_yaml::from_str(text).map_err(|e| parse_error(path, &e))?;
    let mut p = Problems::new(path, text);
    let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let data_dir = dir.join(raw.data_dir.clone().unwrap_or_else(|| PathBuf::from("var")));
    if raw.accounts.is_empty() {
        p.at("accounts", "expected at least one account file");
    }
    let trading = purpose == Purpose::Trade;
    let telegram = raw.notifications.telegram.as_ref().filter(|_| trading).and_then(|t| {
        let at = "notifications.telegram";
        let token = p.expand(&format!("{at}.bot_token"), &t.bot_token, env);
        if token.as_ref().is_some_and(|(_, from_env)| !from_env) {
            p.at(&format!("{at}.bot_token"), "secrets come from the environment: write \"${VARIABLE}\" and export it");
        }
        let chat = p.expand(&format!("{at}.chat_id"), &chat_text(&t.chat_id), env);
        let base_url = t.base_url.clone().unwrap_or_else(|| "https://api.telegram.org".into());
        let base_url = p.expand(&format!("{at}.base_url"), &base_url, env).map(|(v, _)| v);
        if base_url.as_ref().is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            p.at(&format!("{at}.base_url"), "expected an http:// or https:// URL");
        }
        let max_per_minute = t.max_per_minute.unwrap_or(20);
        if !(1..=60).contains(&max_per_minute) {
            p.at(&format!("{at}.max_per_minute"), format!("expected 1 to 60, got {max_per_minute}"));
        }
        let (token, _) = token?;
        if token.is_empty() {
            p.at(&format!("{at}.bot_token"), "is empty");
        }
        Some(TelegramConfig {
            bot_token: Secret::new(token),
            chat_id: chat?.0,
            base_url: base_url?.trim_end_matches('/').to_owned(),
            max_per_minute,
        })
    });
    let webhook = raw.notifications.webhook.as_ref().filter(|_| trading).and_then(|w| {
        let at = "notifications.webhook";
        let url = p.expand(&format!("{at}.url"), &w.url, env);
        if url.as_ref().is_some_and(|(_, from_env)| !from_env) {
            p.at(&format!("{at}.url"), "a webhook URL carries its token: write \"${VARIABLE}\" and export it");
        }
        if url.as_ref().is_some_and(|(u, _)| !(u.starts_with("http://") || u.starts_with("https://"))) {
            p.at(&format!("{at}.url"), "expected an http:// or https:// URL");
        }
        let format = match w.format.as_deref() {
            None | Some("slack") => Some(WebhookFormat::Slack),
            Some("discord") => Some(WebhookFormat::Discord),
            Some(other) => {
                p.at(&format!("{at}.format"), format!("expected slack or discord, got {other:?}"));
                None
            }
        };
        let max_per_minute = w.max_per_minute.unwrap_or(20);
        if !(1..=60).contains(&max_per_minute) {
            p.at(&format!("{at}.max_per_minute"), format!("expected 1 to 60, got {max_per_minute}"));
        }
        Some(WebhookConfig { url: Secret::new(url?.0), format: format?, max_per_minute })
    });
    let mut accounts = Vec::new();
    let mut ids = HashSet::new();
    let mut tags = HashSet::new();
    for (i, file) in raw.accounts.iter().enumerate() {
        let account_path = dir.join(file);
        let loaded = match std::fs::read_to_string(&account_path) {
            Ok(account_text) => account(&account_path, &account_text, env, purpose),
            Err(e) => {
                // Named where the user wrote it: the bot file's line that lists it.
                p.at(&format!("accounts[{i}]"), format!("cannot read account file {}: {e}", account_path.display()));
                continue;
            }
        };
        match loaded {
            Ok(a) => {
                if !ids.insert(a.account_id.clone()) {
                    p.at(&format!("accounts[{i}]"), format!("account_id {} is used by two accounts", a.account_id));
                }
                if !tags.insert(a.tag.clone()) {
                    p.at(&format!("accounts[{i}]"), format!("tag {} is used by two accounts", a.tag));
                }
                accounts.push(a);
            }
            Err(ConfigErrors(errors)) => p.list.extend(errors),
        }
    }
    let logging = LoggingConfig {
        level: raw.logging.level.unwrap_or_default(),
        terminal: raw.logging.terminal.unwrap_or_default(),
    };
    let web = raw.web.as_ref().filter(|_| trading).and_then(|w| web(&mut p, w, env));
    let config = BotConfig { path: path.to_path_buf(), data_dir, accounts, logging, telegram, webhook, web };
    p.finish(Some(config))
}
