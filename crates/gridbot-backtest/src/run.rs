//! One backtest run: the in-process simulator stepped one path point at a time, the account's
//! `AccountCore` driven by gridbot-strategy's `drive` after every point — the same core,
//! risk and executor as live trading, only fed by the simulator's steps instead of sockets.
//!
//! Order of work at each point, as the live queue orders them: the simulator's executions,
//! order updates, positions and wallet; then the top of the book of every symbol that moved;
//! then a tick (timeouts in simulated time). Whatever the core's own requests cause (acks,
//! immediate fills) is fed back at once, until the simulator has nothing more to say.

use std::collections::BTreeMap;

use gridbot_core::time::DAY_MS;
use gridbot_core::{Decimal, Exchange, ExecType, Instrument, Leg, Price, Symbol};
use gridbot_risk::{LegPair, RiskParams};
use gridbot_sim::{CandleReplay, MatchingEngine, QuietEnd, SimAccount, SimEvent, SimExchange};
use gridbot_strategy::config::{StrategyConfig, SymbolConfig};
use gridbot_strategy::{
    AccountCore, Carried, CoreEvent, CoreStart, GridChange, JournalRecord, Venue, drive, open_symbol,
};

use crate::data::MarketData;
use crate::record::{Recorder, Trade};
use crate::settings::BacktestSettings;

/// What a backtest trades: one account's symbols and risk, as the account file says.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    /// Account id (names the run).
    pub account_id: String,
    /// orderLinkId tag.
    pub tag: String,
    /// Symbols and their grids.
    pub symbols: Vec<SymbolConfig>,
    /// Risk parameters.
    pub risk: RiskParams,
}

/// Which part of the data to trade; the history before `from` warms the plan up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Start trading here (default: as soon as the plan has its warm-up history).
    pub from_ms: Option<i64>,
    /// Stop here (default: the end of the data).
    pub to_ms: Option<i64>,
}

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// No built-in filters for a symbol.
    #[error("{0}: no built-in instrument filters (built in: {list})", list = gridbot_core::reference::REFERENCE_SYMBOLS.join(", "))]
    UnknownInstrument(Symbol),
    /// A symbol has no data.
    #[error("{0}: no data file")]
    NoData(Symbol),
    /// Not enough history before the start for the plan's daily ATR.
    #[error("{symbol}: the plan needs {days} days of history before the start ({from}); the data starts {data_start}")]
    NotEnoughHistory {
        /// The symbol.
        symbol: Symbol,
        /// Days needed.
        days: i64,
        /// The start.
        from: String,
        /// The data's first candle.
        data_start: String,
    },
    /// The start leaves no candle before it to give the market a price.
    #[error("{symbol}: the start {from} needs at least one candle before it (the data starts {data_start})")]
    NoPriceBeforeStart {
        /// The symbol.
        symbol: Symbol,
        /// The start.
        from: String,
        /// The data's first candle.
        data_start: String,
    },
    /// Nothing to trade in the window.
    #[error("nothing to trade between {from} and {to}")]
    EmptyWindow {
        /// Start.
        from: String,
        /// End.
        to: String,
    },
    /// A symbol could not be opened (leverage, plan, ...).
    #[error(transparent)]
    Open(#[from] gridbot_strategy::OpenError),
    /// The simulator refused something at start.
    #[error("simulator: {0}")]
    Exchange(#[from] gridbot_core::ExchangeError),
}

/// Progress of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Candle steps done.
    pub done: u64,
    /// Candle steps in the window.
    pub total: u64,
}

/// Days of daily candles a symbol's grid needs before it can lock its plan.
#[must_use]
pub fn warm_up_days(sc: &SymbolConfig) -> i64 {
    match &sc.strategy {
        StrategyConfig::Progressive(p) if p.atr_pct.is_none() => i64::try_from(p.params.ema_span).unwrap_or(365) + 1,
        StrategyConfig::Classic(c) if c.atr_spacing.is_some() => 15,
        _ => 0,
    }
}

/// A UTC time as ISO-8601.
#[must_use]
pub fn iso(t_ms: i64) -> String {
    gridbot_core::time::format_iso8601(t_ms)
}

/// How the quiet walks of a run ended (a diagnostic: where the core was woken and why).
#[derive(Debug, Default)]
struct WalkEnds {
    /// A symbol's calm ran out (its time limit).
    calm_expired: u64,
    /// An engine event or a mark outside its band.
    broken: u64,
    /// An equity sample was due.
    sampled: u64,
}

impl WalkEnds {
    fn count(&mut self, end: &QuietEnd) {
        match end {
            QuietEnd::Done => {}
            QuietEnd::Paused => self.calm_expired += 1,
            QuietEnd::Stopped { .. } => self.broken += 1,
            QuietEnd::CloseReached { .. } => self.sampled += 1,
        }
    }
}

/// The simulator's events for our account as the core's events, in the live queue's priority
/// order.
fn core_events(ex: &SimAccount, events: Vec<SimEvent>, symbols: &[Symbol], out: &mut Vec<CoreEvent>) {
    let (mut executions, mut orders) = (Vec::new(), Vec::new());
    let (mut positions, mut wallet) = (Vec::<&Symbol>::new(), false);
    for e in events {
        match e {
            SimEvent::Execution(a, x) if a == ex.id() => executions.push(x),
            SimEvent::Order(a, o) if a == ex.id() => orders.push(o),
            SimEvent::Position(a, s, _) if a == ex.id() => {
                if let Some(s) = symbols.iter().find(|x| **x == s)
                    && !positions.contains(&s)
                {
                    positions.push(s);
                }
            }
            SimEvent::Wallet(a) if a == ex.id() => wallet = true,
            _ => {}
        }
    }
    if !executions.is_empty() {
        out.push(CoreEvent::Executions(executions));
    }
    if !orders.is_empty() {
        out.push(CoreEvent::Orders(orders));
    }
    for s in positions {
        if let Ok(list) = ex.positions(s) {
            out.push(CoreEvent::Positions(list));
        }
    }
    if wallet && let Ok(w) = ex.wallet() {
        out.push(CoreEvent::Wallet(w));
    }
}

/// The marks each series may move through without waking the core, from every symbol's calm
/// (series order); `None` when some symbol must decide on the next point. Conservative: the
/// synthetic book's bid is within a tick below the mark and its ask within `spread` ticks above
/// it, so a mark inside the band keeps the bid, the ask and the mid inside theirs.
fn quiet_bands(
    core: &AccountCore,
    series: &[Symbol],
    symbols: &[Symbol],
    ticks: &[Decimal],
    spread: Decimal,
) -> Option<Vec<Option<(Price, Price)>>> {
    let mut out = Vec::with_capacity(series.len());
    for symbol in series {
        let k = symbols.iter().position(|s| s == symbol)?;
        let calm = core.symbols()[k].calm()?;
        if calm.book_matters {
            return None;
        }
        let tick = ticks[k];
        let mut lo = Decimal::ZERO;
        let mut hi = Decimal::MAX;
        if let Some((l, h)) = calm.bid {
            lo = lo.max(l.as_decimal() + tick);
            hi = hi.min(h.as_decimal());
        }
        if let Some((l, h)) = calm.ask {
            lo = lo.max(l.as_decimal());
            hi = hi.min(h.as_decimal() - spread * tick);
        }
        if let Some((l, h)) = calm.mid {
            if let Ok(l) = Decimal::try_from(l) {
                lo = lo.max(l + tick + tick);
            }
            if let Ok(h) = Decimal::try_from(h) {
                hi = hi.min(h - spread * tick - tick);
            }
        }
        let bounded = calm.bid.is_some() || calm.ask.is_some() || calm.mid.is_some();
        if !bounded {
            out.push(None);
            continue;
        }
        if lo > hi {
            return None;
        }
        out.push(Some((Price::new(lo).ok()?, Price::new(hi).ok()?)));
    }
    Some(out)
}

/// The account's exchange in the run, and how the driver talks to it.
struct Bench<'a> {
    sim: &'a SimExchange,
    ex: SimAccount,
    symbols: Vec<Symbol>,
    recorder: Recorder,
    /// Symbols whose grid has a funding guard, with the funding view last fed (as the ticker
    /// stream gives it live: the rate for now and the next settlement).
    funding: Vec<(Symbol, Option<(Decimal, i64)>)>,
}

impl Bench<'_> {
    /// Feeds `event` and everything it causes.
    fn feed(&mut self, core: &mut AccountCore, event: CoreEvent, now: i64) {
        let mut gate = || true;
        let mut venue = Venue { exchange: &self.ex, may_send: &mut gate, durable: &mut |_, _| {} };
        let carried = drive(core, &mut venue, event, now, false);
        self.take(core, carried, now);
        let mut pending = Vec::new();
        core_events(&self.ex, self.sim.drain_events(), &self.symbols, &mut pending);
        while !pending.is_empty() {
            for event in std::mem::take(&mut pending) {
                let mut venue = Venue { exchange: &self.ex, may_send: &mut gate, durable: &mut |_, _| {} };
                let carried = drive(core, &mut venue, event, now, false);
                self.take(core, carried, now);
            }
            core_events(&self.ex, self.sim.drain_events(), &self.symbols, &mut pending);
        }
    }

    /// Handles one walked path point: its events, every symbol's book, a tick; samples equity
    /// at candle closes. False when the run stops (past the end, or liquidated).
    #[allow(clippy::too_many_arguments, reason = "the run's loop state, passed down rather than boxed")]
    fn point(
        &mut self,
        core: &mut AccountCore,
        t: i64,
        closed: bool,
        events: Vec<SimEvent>,
        to: i64,
        done: &mut u64,
        total: u64,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<bool, BacktestError> {
        if t > to {
            return Ok(false);
        }
        for k in 0..self.funding.len() {
            let symbol = self.funding[k].0.clone();
            let view = self.sim.with_engine(|e| {
                let interval = e.config().funding_interval_ms.max(1);
                (e.config().funding_rate_at(&symbol, t), (t.div_euclid(interval) + 1) * interval)
            });
            if self.funding[k].1 != Some(view) {
                self.funding[k].1 = Some(view);
                let event = CoreEvent::Funding { symbol, rate: view.0, next_funding_ms: view.1 };
                self.feed(core, event, t);
            }
        }
        // The market first, then what it filled: the core decides on a fill knowing the price
        // that caused it, as paper trading does (the book reaches the bot by the time it acts).
        for k in 0..self.symbols.len() {
            let symbol = self.symbols[k].clone();
            let (top, ts_ms) = self.sim.book_top(&symbol);
            let book = CoreEvent::Book { symbol, bid: top.map(|(b, _)| b), ask: top.map(|(_, a)| a), ts_ms };
            self.feed(core, book, t);
        }
        let mut pending = Vec::new();
        core_events(&self.ex, events, &self.symbols, &mut pending);
        for event in pending {
            self.feed(core, event, t);
        }
        if self.recorder.liquidation().is_some() {
            return Ok(false); // Bybit closed the position: the account stops
        }
        self.feed(core, CoreEvent::Tick, t);
        if closed {
            *done += 1;
            if self.recorder.sample_due(t) {
                self.sample(core, t)?;
            }
            if done.is_multiple_of(4_096) {
                progress(Progress { done: *done, total });
            }
        }
        Ok(true)
    }

    /// Records an equity and grid sample at candle close `t`.
    fn sample(&mut self, core: &AccountCore, t: i64) -> Result<(), BacktestError> {
        let margin = self.sim.margin(self.ex.id()).map_err(|e| e.into_exchange_error("margin"))?;
        let prices: Vec<(Symbol, Decimal)> = self
            .symbols
            .iter()
            .filter_map(|s| {
                self.sim.book_top(s).0.map(|(b, a)| (s.clone(), (b.as_decimal() + a.as_decimal()) / Decimal::TWO))
            })
            .collect();
        self.recorder.sample(t, &margin, &prices, core);
        Ok(())
    }

    fn take(&mut self, core: &AccountCore, carried: Carried, now: i64) {
        let mut filled = false;
        for record in carried.records {
            if let JournalRecord::Execution { execution, realised_pnl } = record {
                if execution.exec_type == ExecType::BustTrade {
                    self.recorder.liquidated(&execution);
                }
                if execution.exec_type == ExecType::Funding {
                    self.recorder.funding(&execution);
                } else {
                    filled = true;
                    self.recorder.trade(Trade::from_execution(&execution, realised_pnl));
                }
            } else if let JournalRecord::Grid { at_ms, symbol, change: GridChange::Recentre { .. } } = record {
                self.recorder.recentre(at_ms, &symbol);
            }
        }
        if filled {
            self.recorder.levels(core, now);
        }
    }
}

/// How a run is carried out (not what it assumes about the market).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Let the core decide again on every path point, even where it knows nothing can change
    /// (slower; the same result — tests compare).
    pub decide_on_every_point: bool,
}

/// Runs the account over the data; `progress` hears about it every few thousand steps.
pub fn run(
    spec: &AccountSpec,
    data: &MarketData,
    settings: &BacktestSettings,
    window: Window,
    progress: &mut dyn FnMut(Progress),
) -> Result<crate::record::BacktestRun, BacktestError> {
    run_with(spec, data, settings, window, RunOptions::default(), progress)
}

/// The moments a run of `spec` over `data` would trade between, and its candle steps: the
/// requested window, or from the end of the warm-up to the end of the data; the errors a run
/// would stop with before it starts (not enough history, nothing to trade).
pub fn resolve_window(spec: &AccountSpec, data: &MarketData, window: Window) -> Result<(i64, i64, u64), BacktestError> {
    if let Some(sc) = spec.symbols.iter().find(|sc| data.get(&sc.symbol).is_none()) {
        return Err(BacktestError::NoData(sc.symbol.clone()));
    }
    let first = |s: &Symbol| data.get(s).and_then(|x| x.candles.first()).map_or(0, |c| c.open_time_ms);
    let last = |s: &Symbol| data.get(s).and_then(|x| x.candles.last()).map_or(0, |c| c.open_time_ms);
    // The start: the requested one, or once every symbol has its warm-up history — and at
    // least one candle, which gives the market its price before the grid opens.
    let needed = |sc: &SymbolConfig| first(&sc.symbol) + (warm_up_days(sc) * DAY_MS).max(data.interval_ms);
    let earliest = spec.symbols.iter().map(needed).max().unwrap_or(0);
    let warms_up = spec.symbols.iter().any(|sc| warm_up_days(sc) > 0);
    let from = match window.from_ms {
        Some(f) => {
            for sc in &spec.symbols {
                if warm_up_days(sc) == 0 && needed(sc) > f {
                    return Err(BacktestError::NoPriceBeforeStart {
                        symbol: sc.symbol.clone(),
                        from: iso(f),
                        data_start: iso(first(&sc.symbol)),
                    });
                }
                if needed(sc) > f {
                    return Err(BacktestError::NotEnoughHistory {
                        symbol: sc.symbol.clone(),
                        days: warm_up_days(sc),
                        from: iso(f),
                        data_start: iso(first(&sc.symbol)),
                    });
                }
            }
            f
        }
        // A whole UTC day after a warm-up, so the daily candles before it are complete.
        None if warms_up => {
            earliest.div_euclid(DAY_MS) * DAY_MS + if earliest.rem_euclid(DAY_MS) == 0 { 0 } else { DAY_MS }
        }
        None => earliest,
    };
    let to = window.to_ms.unwrap_or_else(|| spec.symbols.iter().map(|s| last(&s.symbol)).max().unwrap_or(0));
    let total = u64::try_from(data.candles_between(from, to)).unwrap_or(0);
    if total == 0 || to < from {
        return Err(BacktestError::EmptyWindow { from: iso(from), to: iso(to) });
    }
    Ok((from, to, total))
}

/// [`run`] with options.
pub fn run_with(
    spec: &AccountSpec,
    data: &MarketData,
    settings: &BacktestSettings,
    window: Window,
    options: RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<crate::record::BacktestRun, BacktestError> {
    // Instruments and series, in the account's symbol order.
    let mut instruments: Vec<Instrument> = Vec::new();
    let mut shared = Vec::new();
    for sc in &spec.symbols {
        let instrument = gridbot_core::reference::bybit_linear(sc.symbol.as_str())
            .ok_or_else(|| BacktestError::UnknownInstrument(sc.symbol.clone()))?;
        let series = data.get(&sc.symbol).ok_or_else(|| BacktestError::NoData(sc.symbol.clone()))?;
        instruments.push(instrument);
        shared.push((sc.symbol.clone(), series.candles.clone()));
    }
    let (from, to, total) = resolve_window(spec, data, window)?;
    let engine = MatchingEngine::new(settings.sim_config(), instruments.clone());
    let sim = SimExchange::new(engine, CandleReplay::shared(data.interval_ms, shared));
    let ex = sim.account(sim.add_account(settings.balance));
    sim.seek(from);
    let symbols: Vec<Symbol> = spec.symbols.iter().map(|s| s.symbol.clone()).collect();
    // Open every symbol exactly as live does (plan from the replayed daily candles).
    let mut cores = Vec::new();
    let mut plans = BTreeMap::new();
    for sc in &spec.symbols {
        let opened = open_symbol(&ex, &spec.tag, sc, None, None, from, false)?;
        if let Some(plan) = opened.new_plan {
            plans.insert(sc.symbol.clone(), plan);
        }
        cores.push(opened.core);
    }
    sim.drain_events();
    let wallet = ex.wallet()?;
    let start = CoreStart { wallet: Some(wallet.clone()), ..CoreStart::default() };
    let mut core = AccountCore::new(&spec.account_id, spec.risk.clone(), cores, start);
    core.set_skip_when_calm(!options.decide_on_every_point);
    let mut bench = Bench {
        sim: &sim,
        ex,
        symbols,
        recorder: Recorder::new(from, to, wallet.total_equity, data.interval_ms, plans),
        funding: spec
            .symbols
            .iter()
            .filter(|s| matches!(&s.strategy, StrategyConfig::Progressive(p) if p.settings.funding_guard.is_on()))
            .map(|s| (s.symbol.clone(), None))
            .collect(),
    };
    bench.feed(&mut core, CoreEvent::Start, from);
    let mut done = 0u64;
    let ticks: Vec<Decimal> = instruments.iter().map(Instrument::tick_size).collect();
    let spread = Decimal::from(settings.sim_config().spread_ticks.max(1));
    let series: Vec<Symbol> = sim.series_symbols();
    let mut walks = WalkEnds::default();
    loop {
        // Cross quiet stretches without waking the core: every point walked is one it would
        // have let pass (its calm holds, nothing filled).
        if !options.decide_on_every_point
            && let Some(bands) = quiet_bands(&core, &series, &bench.symbols, &ticks, spread)
        {
            let until = core
                .symbols()
                .iter()
                .filter_map(|s| s.calm().map(|c| c.until_ms))
                .min()
                .unwrap_or(i64::MAX)
                .min(to.saturating_add(1));
            // Samples are taken at the first close at or after the sample time, where the
            // walk stops without waking the core (it would have let that close pass too).
            let walk = sim.advance_quiet(&bands, until, bench.recorder.next_sample_ms());
            walks.count(&walk.end);
            done += walk.closed_quietly;
            // What the stopping point caused, taken before anything else is fed.
            let stop_events = matches!(walk.end, QuietEnd::Stopped { .. }).then(|| sim.drain_events());
            if let Some(at) = walk.last_quiet_ms {
                // The core's view of the book as of the last quiet point (what it would have seen).
                for (k, symbol) in series.iter().enumerate() {
                    if let Some(mark) = walk.marks[k] {
                        let top = sim.top_for_mark(symbol, mark);
                        let book = CoreEvent::Book {
                            symbol: symbol.clone(),
                            bid: top.map(|(b, _)| b),
                            ask: top.map(|(_, a)| a),
                            ts_ms: at,
                        };
                        bench.feed(&mut core, book, at);
                    }
                }
            }
            match walk.end {
                QuietEnd::Done => break,
                QuietEnd::Paused => {}
                QuietEnd::CloseReached { time_ms } => {
                    if bench.recorder.sample_due(time_ms) {
                        bench.sample(&core, time_ms)?;
                    }
                    if done / 4_096 != (done - walk.closed_quietly) / 4_096 {
                        progress(Progress { done, total });
                    }
                    continue;
                }
                QuietEnd::Stopped { time_ms, closed } => {
                    let events = stop_events.unwrap_or_default();
                    if !bench.point(&mut core, time_ms, closed, events, to, &mut done, total, progress)? {
                        break;
                    }
                    continue;
                }
            }
        }
        let Some((t, closed, events)) = sim.step_point() else { break };
        if !bench.point(&mut core, t, closed, events, to, &mut done, total, progress)? {
            break;
        }
    }
    progress(Progress { done, total });
    let work = core.work();
    tracing::debug!(decisions = work.decisions, skipped = work.skipped, "backtest: decisions made and skipped as calm");
    if std::env::var_os("GRIDBOT_BACKTEST_WORK").is_some() {
        #[allow(clippy::print_stderr, reason = "a diagnostic asked for by environment variable")]
        {
            eprintln!("decisions {} skipped {}; quiet walks ended: {walks:?}", work.decisions, work.skipped);
        }
    }
    let end_ms = sim.book_top(&bench.symbols[0]).1.min(to.max(from));
    let wallet = bench.ex.wallet()?;
    let positions: Vec<(Symbol, LegPair<Decimal>)> = bench
        .symbols
        .iter()
        .map(|s| {
            let mut pair = LegPair::<Decimal>::default();
            for p in bench.ex.positions(s).unwrap_or_default() {
                let leg = if p.position_idx == gridbot_core::PositionIdx::Short { Leg::Short } else { Leg::Long };
                *pair.get_mut(leg) = p.size.as_decimal();
            }
            (s.clone(), pair)
        })
        .collect();
    Ok(bench.recorder.finish(end_ms, &wallet, &core, positions, done))
}
