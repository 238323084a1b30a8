//! Opening one symbol of an account over the `Exchange` trait, before its first event: the
//! instrument and the configured leverage, hedge mode, the locked plan (or a new one from the
//! daily ATR), and recovery — gridbot-recovery's six steps for a progressive grid, the
//! [`ClassicSync`] for a classic one. Live trading and backtests open symbols the same way, so
//! a backtest locks its plan exactly as live does.
//!
//! Decisions:
//! - A locked plan is kept while it fits the instrument, even when the configuration changed
//!   (a warning says so); a plan that no longer fits is rebuilt.
//! - The daily ATR comes from the exchange's complete daily candles; too few of them is an
//!   error naming the span (or configure `atr_pct`).
//! - `dry_run` reads everything and sends nothing (no leverage or mode changes, no orders).

use gridbot_core::time::DAY_MS;
use gridbot_core::{
    Decimal, ErrorAction, Exchange, ExchangeError, ExecType, Execution, Instrument, Interval, KlineQuery, Leg,
    OhlcSeries, PositionMode, Price, Symbol, TimeWindow, decimal_to_f64,
};
use gridbot_grid::GridPlan;
use gridbot_recovery::{RecoveryInput, RecoveryReport, recover};
use gridbot_state::SymbolState;

use crate::classic::{ClassicGrid, ClassicSettings, LayoutSpec};
use crate::config::{ClassicConfig, ProgressiveConfig, StrategyConfig, SymbolConfig};
use crate::core::SymbolCore;
use crate::grid::Grid;
use crate::market::MarketView;
use crate::progressive::ProgressiveGrid;
use crate::reconcile::{ClassicSync, HISTORY_MS, positions_by_leg};
use crate::records::GridChange;

/// Why a symbol could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The exchange failed or refused.
    #[error("{what}: {source}")]
    Exchange {
        /// What was being done.
        what: String,
        /// The error.
        source: Box<ExchangeError>,
    },
    /// The configuration does not fit the exchange (leverage bounds, history too short, ...).
    #[error("{0}")]
    Setup(String),
}

impl OpenError {
    /// True when the exchange refused the credentials or their permissions.
    #[must_use]
    pub fn is_credentials(&self) -> bool {
        matches!(self, Self::Exchange { source, .. } if source.action() == ErrorAction::Fatal)
    }
}

fn ex<T>(what: impl FnOnce() -> String, r: Result<T, ExchangeError>) -> Result<T, OpenError> {
    r.map_err(|source| OpenError::Exchange { what: what(), source: Box::new(source) })
}

/// What recovery did for one symbol.
#[derive(Debug, Clone)]
pub enum SymbolRecovery {
    /// Progressive: gridbot-recovery's report.
    Progressive(Box<RecoveryReport>),
    /// Classic: what the exchange said.
    Classic(ClassicSync),
}

/// One symbol, opened.
#[derive(Debug)]
pub struct OpenedSymbol {
    /// Its core, recovered.
    pub core: SymbolCore,
    /// What recovery found and did.
    pub recovery: SymbolRecovery,
    /// A plan locked now (for the journal).
    pub new_plan: Option<GridChange>,
    /// Settings of the configuration that differ from the locked plan, each with what happens
    /// to it (for the log, the alerts and the journal).
    pub config_changes: Vec<String>,
}

/// Executions the journal does not hold yet (fills of ours made while the bot was away, and
/// funding), oldest first, each with the PnL it realised against the legs as `state` saved
/// them — the strategy's own arithmetic (`(exit − average) × qty`, to 8
/// places), what it would have journaled had it heard them live (for a classic grid too: its
/// catch-up applies the fills to the grid, and these rows come first in the journal). The I/O
/// side picks the executions and writes the rows. `list` is every fill the saved legs do not
/// reflect (after the snapshot's newest, and any the journal lacks): all of them move the legs,
/// only those `journaled` does not know come back (a kill between a journal row and the
/// snapshot leaves a fill journaled but not in the legs).
///
/// An exit whose PnL the exchange's own fills explain (`replayed`, from
/// [`crate::replay::exchange_realised`]) is priced by them instead: the legs a snapshot saved can
/// miss a fill the journal already holds.
pub fn missed_fills(
    tag: &str,
    state: &SymbolState,
    mut list: Vec<Execution>,
    journaled: &dyn Fn(&str) -> bool,
    replayed: &std::collections::HashMap<String, Decimal>,
) -> Vec<(Execution, Option<Decimal>)> {
    list.sort_by(|a, b| a.exec_time_ms.cmp(&b.exec_time_ms).then(a.exec_id.cmp(&b.exec_id)));
    let mut legs = [
        (state.long.size.as_decimal(), state.long.avg_entry.map(Price::as_decimal)),
        (state.short.size.as_decimal(), state.short.avg_entry.map(Price::as_decimal)),
    ];
    // A classic leg taken from the exchange holds every fill up to then already.
    let taken_through = [state.long.taken_through_ms, state.short.taken_through_ms];
    let mut out = Vec::new();
    for e in list {
        if e.exec_type == ExecType::Funding {
            if !journaled(&e.exec_id) {
                out.push((e, None));
            }
            continue;
        }
        let Ok(t) = gridbot_recovery::LinkTag::decode(&e.order_link_id) else { continue };
        if t.account != tag || e.exec_type != ExecType::Trade {
            continue;
        }

        let i = usize::from(t.leg == Leg::Short);
        if taken_through[i].is_some_and(|through| e.exec_time_ms <= through) {
            if !journaled(&e.exec_id) {
                let realised = (e.side != t.leg.entry_side()).then(|| replayed.get(&e.exec_id).copied()).flatten();
                out.push((e, realised));
            }
            continue;
        }
        let (size, avg) = &mut legs[i];
        let (p, q) = (e.exec_price.as_decimal(), e.exec_qty.as_decimal());
        // A fill on the leg's entry side opens (balance, protective, a classic buy on the long
        // leg), the other side closes (take-profit, a classic sell on the long leg).
        let realised = if e.side == t.leg.entry_side() {
            let total = *size + q;
            *avg = (avg.unwrap_or(p) * *size + p * q).checked_div(total);
            *size = total;
            None
        } else {
            // Legs that cannot explain the exit (no average, less size than it closes) do not
            // price it: the row goes without PnL, which a start prices from the exchange's fills.
            let from_legs = avg.filter(|_| *size >= q).map(|a| {
                gridbot_core::usdt(match t.leg {
                    Leg::Long => (p - a) * q,
                    Leg::Short => (a - p) * q,
                })
            });
            *size = (*size - q).max(Decimal::ZERO);
            if size.is_zero() {
                *avg = None;
            }
            replayed.get(&e.exec_id).copied().or(from_legs)
        };
        if !journaled(&e.exec_id) {
            out.push((e, realised));
        }
    }
    out
}

/// The settings of a classic grid's configuration that differ from the generation it runs:
/// the generation keeps its levels, quantities, bias and whole-grid take-profit/stop-loss until
/// its next rebuild (a recentre), which applies them; recentring rules apply at once.
#[must_use]
pub fn classic_changes(configured: &ClassicSettings, running: &gridbot_grid::ClassicPlan) -> Vec<String> {
    let mut out = Vec::new();
    let mut differs = |name: &str, was: String, now: String| {
        if was != now {
            out.push(format!(
                "{name}: configured {now}, the running grid has {was} — applied at its next rebuild (recentre)"
            ));
        }
    };
    differs("bias", format!("{:?}", running.bias()).to_lowercase(), format!("{:?}", configured.bias).to_lowercase());
    if let Some(level) = running.levels().first() {
        differs("qty_per_level", level.qty.to_string(), configured.qty_per_level.to_string());
    }
    let levels = match configured.layout {
        LayoutSpec::AroundMarket { levels_per_side, .. } => Some(2 * levels_per_side as usize + 1),
        LayoutSpec::Bounds { levels, .. } => Some(levels as usize),
        LayoutSpec::Bollinger { levels, .. } => Some(levels as usize),
        LayoutSpec::BoundsBySpacing { .. } => None,
    };
    if let Some(n) = levels {
        differs("levels", running.levels().len().to_string(), n.to_string());
    }
    let opt = |v: Option<f64>| v.map_or_else(|| "off".to_owned(), |f| f.to_string());
    differs("take_profit", opt(running.take_profit()), opt(configured.take_profit));
    differs("stop_loss", opt(running.stop_loss()), opt(configured.stop_loss));
    out
}

/// The settings of `configured` that differ from the `locked` plan's, one sentence each saying
/// what happens: the locked plan is kept, so none of them applies to the running grid.
#[must_use]
pub fn plan_changes(
    locked: &gridbot_grid::ProgressiveParams,
    configured: &gridbot_grid::ProgressiveParams,
    relocked: bool,
) -> Vec<String> {
    let fate = if relocked {
        "applied: both legs were flat, so the plan is re-locked with it"
    } else {
        "kept as locked until a start finds both legs flat, which re-locks the plan"
    };
    let mut out = Vec::new();
    let mut differs = |name: &str, was: String, now: String| {
        if was != now {
            out.push(format!("{name}: configured {now}, locked {was} — {fate}"));
        }
    };
    differs("ema_span", locked.ema_span.to_string(), configured.ema_span.to_string());
    differs("ema", format!("{:?}", locked.ema).to_lowercase(), format!("{:?}", configured.ema).to_lowercase());
    differs("horizon_days", locked.horizon_days.to_string(), configured.horizon_days.to_string());
    differs("step_scale_factor", locked.step_scale_factor.to_string(), configured.step_scale_factor.to_string());
    differs("max_levels", locked.max_levels.to_string(), configured.max_levels.to_string());
    differs("base_qty", locked.base_qty.to_string(), configured.base_qty.to_string());
    differs("qty_multiplier", locked.qty_multiplier.to_string(), configured.qty_multiplier.to_string());
    let tp = |t: &gridbot_grid::TakeProfitRule| match t {
        gridbot_grid::TakeProfitRule::Fraction(f) => format!("take_profit {f}"),
        gridbot_grid::TakeProfitRule::StepMultiple(m) => format!("take_profit_steps {m}"),
    };
    differs("take_profit", tp(&locked.take_profit), tp(&configured.take_profit));
    out
}

/// EMA(ATR%) of the last complete daily candles.
fn atr_pct(
    exchange: &dyn Exchange,
    symbol: &Symbol,
    span: usize,
    ema: gridbot_grid::EmaKind,
    now: i64,
) -> Result<f64, OpenError> {
    let days = i64::try_from(span).unwrap_or(365) + 3;
    let query = KlineQuery {
        symbol: symbol.clone(),
        interval: Interval::D1,
        window: TimeWindow { start_ms: now - days * DAY_MS, end_ms: now },
    };
    let mut candles = ex(|| format!("{symbol}: daily candles"), exchange.klines(&query))?;
    candles.retain(|c| c.open_time_ms + DAY_MS <= now);
    let series = OhlcSeries::from_candles(&candles);
    if series.len() < span {
        return Err(OpenError::Setup(format!(
            "{symbol}: the exchange has {} complete daily candles, EMA span {span} needs {span} (or set atr_pct)",
            series.len()
        )));
    }
    gridbot_grid::volatility::atr_pct_ema_last_of(&series, span, ema)
        .map_err(|e| OpenError::Setup(format!("{symbol}: ATR: {e}")))
}

/// The opening prices of the last `period` candles of `interval` up to `now` (the current one
/// included), for a Bollinger-range grid; too few is a setup error.
fn interval_opens(
    exchange: &dyn Exchange,
    symbol: &Symbol,
    interval: Interval,
    period: u32,
    now: i64,
) -> Result<Vec<(i64, f64)>, OpenError> {
    let len = interval.fixed_ms().unwrap_or(DAY_MS);
    let query = KlineQuery {
        symbol: symbol.clone(),
        interval,
        window: TimeWindow { start_ms: now - (i64::from(period) + 2) * len, end_ms: now },
    };
    let candles = ex(|| format!("{symbol}: {interval} candles"), exchange.klines(&query))?;
    let opens: Vec<(i64, f64)> =
        candles.iter().filter(|c| c.open_time_ms <= now).map(|c| (c.open_time_ms, c.open.to_f64())).collect();
    if opens.len() < period as usize {
        return Err(OpenError::Setup(format!(
            "{symbol}: the exchange has {} {interval} candles, a Bollinger period of {period} needs {period}",
            opens.len()
        )));
    }
    Ok(opens)
}

/// The locked plan if it still fits, else a new one; true when new.
fn plan(
    exchange: &dyn Exchange,
    cfg: &ProgressiveConfig,
    instrument: &Instrument,
    locked: Option<&GridPlan>,
    now: i64,
) -> Result<(GridPlan, bool), OpenError> {
    let symbol = instrument.symbol();
    if let Some(plan) = locked.filter(|p| p.symbol() == symbol) {
        match plan.check_instrument(instrument) {
            Ok(()) => return Ok((plan.clone(), false)),
            Err(e) => {
                tracing::warn!(%symbol, error = %e, "the locked plan no longer fits the instrument; building a new one");
            }
        }
    }
    let atr = match cfg.atr_pct {
        Some(a) => a,
        None => atr_pct(exchange, symbol, cfg.params.ema_span, cfg.params.ema, now)?,
    };
    let plan = GridPlan::from_atr_pct_ema(&cfg.params, atr, instrument, now)
        .map_err(|e| OpenError::Setup(format!("{symbol}: grid plan: {e}")))?;
    Ok((plan, true))
}

fn classic_settings(
    exchange: &dyn Exchange,
    cfg: &ClassicConfig,
    symbol: &Symbol,
    now: i64,
) -> Result<ClassicSettings, OpenError> {
    let mut settings = cfg.settings;
    if let Some(m) = cfg.atr_spacing {
        let spacing =
            gridbot_grid::atr_spacing(atr_pct(exchange, symbol, 14, gridbot_grid::EmaKind::Adjusted, now)?, m)
                .map_err(|e| OpenError::Setup(format!("{symbol}: ATR spacing: {e}")))?;
        settings.layout = match settings.layout {
            LayoutSpec::AroundMarket { levels_per_side, .. } => LayoutSpec::AroundMarket { spacing, levels_per_side },
            other => other,
        };
    }
    Ok(settings)
}

/// Checks every symbol of an account against the exchange's list of trading linear
/// instruments before anything is sent: each exists and trades, and its leverage is inside the
/// instrument's range. Every problem at once, as a [`OpenError::Setup`] (a configuration
/// error: exit 2); a failure to read the list is an [`OpenError::Exchange`].
///
/// The bot runs it for every account before it opens the first, so an unknown second symbol
/// (or account) never leaves the first one's orders resting behind an exit.
pub fn check_symbols(exchange: &dyn Exchange, symbols: &[SymbolConfig]) -> Result<(), OpenError> {
    let listed = ex(|| "instruments".to_owned(), exchange.instruments())?;
    let mut problems = Vec::new();
    for sc in symbols {
        let Some(instrument) = listed.iter().find(|i| i.symbol() == &sc.symbol) else {
            problems.push(format!("{}: not a trading USDT perpetual on this exchange", sc.symbol));
            continue;
        };
        let spec = instrument.spec();
        if sc.leverage < spec.min_leverage || sc.leverage > spec.max_leverage {
            problems.push(format!(
                "{}: leverage {} is outside the exchange's {}..{}",
                sc.symbol, sc.leverage, spec.min_leverage, spec.max_leverage
            ));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(OpenError::Setup(problems.join("; "))) }
}

/// Opens symbol `sc` of the account tagged `tag`, from its snapshot `state` if there is one;
/// `heard_until` is the time of the newest execution that snapshot applied (the account
/// snapshot's `last_execution_ms`): a classic grid catches up with the fills after it.
pub fn open_symbol(
    exchange: &dyn Exchange,
    tag: &str,
    sc: &SymbolConfig,
    state: Option<&SymbolState>,
    heard_until: Option<i64>,
    now: i64,
    dry_run: bool,
) -> Result<OpenedSymbol, OpenError> {
    let symbol = &sc.symbol;
    let instrument = ex(|| format!("{symbol}: instrument"), exchange.instrument(symbol))?;
    let spec = instrument.spec();
    if sc.leverage < spec.min_leverage || sc.leverage > spec.max_leverage {
        return Err(OpenError::Setup(format!(
            "{symbol}: leverage {} is outside the exchange's {}..{}",
            sc.leverage, spec.min_leverage, spec.max_leverage
        )));
    }
    if !dry_run {
        ex(|| format!("{symbol}: switching to hedge mode"), exchange.set_position_mode(symbol, PositionMode::Hedge))?;
        ex(|| format!("{symbol}: setting leverage"), exchange.set_leverage(symbol, sc.leverage, sc.leverage))?;
    }
    let top = ex(|| format!("{symbol}: order book"), exchange.orderbook_top(symbol))?;
    let market = MarketView { bid: top.bid.map(|l| l.price), ask: top.ask.map(|l| l.price), ts_ms: top.time_ms };
    let mut positions = positions_by_leg(&ex(|| format!("{symbol}: positions"), exchange.positions(symbol))?);
    let risk = state.map(|s| s.risk.clone()).unwrap_or_default();
    let mut config_changes = Vec::new();
    let (grid, recovery, new_plan) = match &sc.strategy {
        StrategyConfig::Progressive(cfg) => {
            // A changed configuration is applied when both legs are flat (nothing is open at the
            // old plan's levels); otherwise the locked plan stays until a start that finds them so.
            let flat = Leg::BOTH.iter().all(|l| positions.get(*l).as_ref().is_none_or(|p| p.size.is_zero()));
            let locked = state.and_then(|s| s.plan.as_ref());
            let relock = !dry_run && flat && locked.is_some_and(|p| p.params() != &cfg.params);
            let (plan, fresh) = plan(exchange, cfg, &instrument, locked.filter(|_| !relock), now)?;
            if let Some(old) = locked.filter(|_| relock || !fresh) {
                config_changes = plan_changes(old.params(), &cfg.params, relock);
            }
            let mut grid = ProgressiveGrid::new(tag, instrument.clone(), plan.clone(), cfg.settings, now);
            let input = RecoveryInput {
                account_tag: tag,
                symbol,
                plan: &plan,
                snapshot: state.filter(|s| s.classic.is_none()),
                history: TimeWindow { start_ms: now - HISTORY_MS, end_ms: now },
                now_ms: now,
                dry_run,
                take_profit_ladder: cfg.settings.take_profit_ladder.as_ref(),
            };
            let report = recover(exchange, &input, grid.nonces_mut()).map_err(|e| match e {
                gridbot_recovery::RecoveryError::Exchange(source) => {
                    OpenError::Exchange { what: format!("{symbol}: recovery"), source: Box::new(source) }
                }
                other => OpenError::Setup(format!("{symbol}: recovery: {other}")),
            })?;
            grid.restore(&report.state);
            let new_plan = fresh.then(|| GridChange::Plan {
                base_step: plan.base_step(),
                atr_pct_ema: plan.atr_pct_ema(),
                max_level: plan.max_level(),
                quantities: plan.quantities().to_vec(),
            });
            (Grid::Progressive(grid), SymbolRecovery::Progressive(Box::new(report)), new_plan)
        }
        StrategyConfig::Classic(cfg) => {
            let settings = classic_settings(exchange, cfg, symbol, now)?;
            let mut grid = ClassicGrid::new(tag, instrument.clone(), settings, now);
            if let LayoutSpec::Bollinger { period, interval, .. } = settings.layout
                && let Some(samples) = grid.band_samples_mut()
            {
                samples.seed(interval_opens(exchange, symbol, interval, period, now)?);
            }
            let state = state.filter(|s| s.classic.is_some());
            if let Some(s) = state {
                grid.restore(s);
                if let Some(c) = &s.classic {
                    config_changes = classic_changes(&settings, &c.plan);
                }
            }
            let sync = ClassicSync::find(exchange, tag, symbol, state, &positions, heard_until, dry_run, now).map_err(
                |source| OpenError::Exchange { what: format!("{symbol}: recovery"), source: Box::new(source) },
            )?;
            grid.apply_sync(&sync);
            (Grid::Classic(grid), SymbolRecovery::Classic(sync), None)
        }
    };
    // Positions may have changed while recovery acted; read them again.
    if !dry_run {
        positions = positions_by_leg(&ex(|| format!("{symbol}: positions"), exchange.positions(symbol))?);
    }
    let mut core = SymbolCore::new(grid, market, positions, risk, decimal_to_f64(sc.risk_limit));
    if let SymbolRecovery::Classic(sync @ ClassicSync::CatchUp { .. }) = &recovery {
        core.catch_up = Some(sync.clone());
    }
    Ok(OpenedSymbol { core, recovery, new_plan, config_changes })
}

impl SymbolRecovery {
    /// One sentence for the log, the alert and the journal.
    #[must_use]
    pub fn describe(&self, dry_run: bool) -> String {
        match self {
            Self::Progressive(r) => {
                let leg = |l: &gridbot_recovery::LegAnalysis| match l.level {
                    Some(level) => format!("level {level} (cycle {}, size {})", l.cycle, l.size),
                    None if l.size.is_zero() => format!("flat (cycle {})", l.cycle),
                    None => format!("size {} at an unknown level", l.size),
                };
                let mut text =
                    format!("recovered ({}): long {}, short {}; ", r.classification, leg(&r.legs[0]), leg(&r.legs[1]));
                if r.unchanged {
                    text.push_str("every order already in place");
                } else if dry_run {
                    let keep = r.desired.len().saturating_sub(r.missing());
                    text.push_str(&format!(
                        "dry run, nothing sent: would keep {keep} order(s), place {} and cancel the other open ones",
                        r.missing()
                    ));
                } else {
                    text.push_str(&format!("cancelled {}, placed {}", r.cancelled, r.placed));
                }
                if let Some(rc) = &r.reconciliation
                    && !rc.filled_while_down.is_empty()
                {
                    text.push_str(&format!("; {} order(s) filled while down", rc.filled_while_down.len()));
                }
                text
            }
            Self::Classic(sync) if dry_run => format!("dry run, nothing sent: {}", sync.would()),
            Self::Classic(sync) => sync.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use gridbot_grid::{ProgressiveParams, TakeProfitRule};

    #[test]
    fn every_setting_that_differs_from_the_locked_plan_is_named_with_its_fate() {
        let locked = ProgressiveParams::with_base_qty("0.001".parse().unwrap());
        assert!(super::plan_changes(&locked, &locked, false).is_empty());
        let configured =
            ProgressiveParams { max_levels: 10, take_profit: TakeProfitRule::Fraction(0.004), ..locked.clone() };
        let changes = super::plan_changes(&locked, &configured, false);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes[0].starts_with("max_levels: configured 10, locked 8 — kept as locked until"), "{changes:?}");
        assert!(super::plan_changes(&locked, &configured, true)[0].contains("re-locked"));
        assert!(changes[1].contains("configured take_profit 0.004, locked take_profit_steps 1"), "{changes:?}");
    }

    #[test]
    fn a_classic_grid_names_what_its_next_rebuild_applies() {
        use crate::classic::{ClassicSettings, LayoutSpec, RecentrePolicy};
        use gridbot_core::reference::bybit_ethusdt;
        use gridbot_grid::{Bias, ClassicPlan, Progression};
        let settings = ClassicSettings {
            layout: LayoutSpec::AroundMarket { spacing: 0.01, levels_per_side: 3 },
            progression: Progression::Arithmetic,
            bias: Bias::Neutral,
            qty_per_level: "0.1".parse().unwrap(),
            take_profit: None,
            stop_loss: None,
            recentre: RecentrePolicy::default(),
            partial_fill_timeout_ms: 60_000,
            options: Default::default(),
        };
        let mid = "2000".parse().unwrap();
        let plan = ClassicPlan::build(&settings.params_at(mid, None), mid, &bybit_ethusdt()).unwrap();
        assert!(super::classic_changes(&settings, &plan).is_empty());
        let changed = ClassicSettings {
            layout: LayoutSpec::AroundMarket { spacing: 0.01, levels_per_side: 5 },
            stop_loss: Some(0.05),
            ..settings
        };
        let changes = super::classic_changes(&changed, &plan);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            changes[0].starts_with("levels: configured 11, the running grid has 7 — applied at its next rebuild"),
            "{changes:?}"
        );
        assert!(changes[1].starts_with("stop_loss: configured 0.05, the running grid has off"), "{changes:?}");
    }

    /// A saved leg that lacks the entry an exit closes (a kill between a journal row and the
    /// snapshot): the exit is not priced at a made-up zero — it goes without PnL, unless the
    /// exchange's own fills price it.
    #[test]
    fn an_exit_the_saved_legs_cannot_explain_goes_without_pnl() {
        use gridbot_core::{ExecType, Execution, Leg, OrderRole, OrderType, Qty, Side, Symbol};
        use gridbot_recovery::LinkTag;
        use gridbot_state::{LegState, SymbolState};
        let exit = |n: u32, qty: &str| {
            let tag = LinkTag {
                account: "c".into(),
                leg: Leg::Short,
                cycle: 1,
                role: OrderRole::ClassicLevel,
                level: 2,
                nonce: n,
            };
            Execution {
                exec_id: format!("e{n}"),
                order_id: format!("o{n}"),
                order_link_id: tag.encode().unwrap().as_str().to_owned(),
                symbol: Symbol::new("BTCUSDT").unwrap(),
                side: Side::Buy,
                exec_type: ExecType::Trade,
                order_type: OrderType::Limit,
                exec_price: "100000".parse().unwrap(),
                exec_qty: qty.parse().unwrap(),
                exec_value: "200".parse().unwrap(),
                exec_fee: gridbot_core::Decimal::ZERO,
                fee_rate: gridbot_core::Decimal::ZERO,
                is_maker: true,
                closed_size: qty.parse().unwrap(),
                exec_time_ms: i64::from(n),
            }
        };
        let state = |short: LegState| SymbolState {
            plan: None,
            long: LegState::default(),
            short,
            risk: Default::default(),
            orders: Vec::new(),
            classic: None,
            classic_trigger: None,
        };
        let flat = state(LegState::default());
        let rows = super::missed_fills("c", &flat, vec![exit(1, "0.002")], &|_| false, &Default::default());
        assert_eq!(rows[0].1, None, "no average to price against");
        let short = LegState {
            size: "0.001".parse::<Qty>().unwrap(),
            avg_entry: Some("100100".parse().unwrap()),
            ..LegState::default()
        };
        let smaller = state(short);
        let rows = super::missed_fills("c", &smaller, vec![exit(1, "0.002")], &|_| false, &Default::default());
        assert_eq!(rows[0].1, None, "closes more than the saved leg holds");
        let replayed = [("e1".to_owned(), "0.2".parse().unwrap())].into_iter().collect();
        let rows = super::missed_fills("c", &flat, vec![exit(1, "0.002")], &|_| false, &replayed);
        assert_eq!(rows[0].1, Some("0.2".parse().unwrap()), "the exchange's fills price it");
        let rows = super::missed_fills("c", &smaller, vec![exit(1, "0.001")], &|_| false, &Default::default());
        assert_eq!(rows[0].1, Some("0.1".parse().unwrap()), "(100100 − 100000) × 0.001");
        // A classic leg taken from the exchange at 5 holds the exit at 1 already: not walked
        // again (the chaos runner: a start after a catch-up took the exchange's inventory).
        let taken = LegState {
            size: "0.002".parse::<Qty>().unwrap(),
            avg_entry: Some("100100".parse().unwrap()),
            taken_through_ms: Some(5),
            ..LegState::default()
        };
        let rows = super::missed_fills(
            "c",
            &state(taken),
            vec![exit(1, "0.002"), exit(6, "0.002")],
            &|_| false,
            &Default::default(),
        );
        assert_eq!(rows[0].1, None, "in the leg already: only the exchange's fills could price it");
        assert_eq!(rows[1].1, Some("0.2".parse().unwrap()), "(100100 − 100000) × 0.002, against the leg as taken");
    }
}
