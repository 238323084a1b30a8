//! Candle replay: the market source of backtests and paper trading.
//!
//! Several symbols replay in lockstep by open time and by path point: each candle moves the
//! engine's price along its path (open → nearer extreme → other extreme → close), and every
//! symbol walks to point k of its candle before any walks to point k+1 (ties in symbol order),
//! so time never runs backwards. The points are stamped `open_time`, `+⅓`, `+⅔` of the interval
//! and `open_time + interval − 1` (the close). [`CandleReplay::step_point`] stops after each
//! point — a backtest lets the bot react there, so a fill at the low can be followed by a
//! take-profit at the high of the same candle when the path allows it. Funding is settled at
//! every multiple of the funding interval the replay crosses, before the first candle at or
//! after it.
//!
//! The candles are shared (`Arc<[Candle]>`): many replays of one file (a parameter search)
//! copy nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use gridbot_core::{Candle, Price, Symbol};

use crate::engine::MatchingEngine;
use crate::path::candle_path;

/// Writes every price of a series with the same number of decimals (the largest found), which
/// changes no value but lets the matcher compare prices without rescaling. Callers that share
/// one series between many replays do this once ([`CandleReplay::shared`] expects it done).
pub fn align_price_scales(candles: &mut [Candle]) {
    let scale = candles
        .iter()
        .flat_map(|c| [c.open, c.high, c.low, c.close])
        .map(|p| p.as_decimal().scale())
        .max()
        .unwrap_or(0);
    let align = |p: &mut Price| {
        let mut d = p.as_decimal();
        d.rescale(scale);
        if d == p.as_decimal()
            && let Ok(aligned) = Price::new(d)
        {
            *p = aligned;
        }
    };
    for c in candles {
        align(&mut c.open);
        align(&mut c.high);
        align(&mut c.low);
        align(&mut c.close);
    }
}

/// A saved replay position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplayPosition {
    /// Candles replayed per symbol.
    pub cursor: BTreeMap<Symbol, usize>,
    /// Next funding settlement.
    pub next_funding_ms: Option<i64>,
    /// How far the replay was moved in time (re-based to the wall clock), ms.
    #[serde(default)]
    pub offset_ms: i64,
}

#[derive(Debug, Clone)]
struct Series {
    symbol: Symbol,
    candles: Arc<[Candle]>,
    /// Candles started (the one in progress included).
    cursor: usize,
    /// The engine's inert range for this symbol and the engine's change count it was read at.
    inert: Option<(u64, InertRange)>,
}

/// See [`MatchingEngine::inert_range`].
type InertRange = Option<(Option<Price>, Option<Price>)>;

/// The candle step in progress: its open time, the series it moves with their paths, and the
/// next path point (0: no step in progress). The buffers are reused from step to step.
#[derive(Debug, Clone, Default)]
struct StepInProgress {
    open_ms: i64,
    series: Vec<usize>,
    paths: Vec<[Price; 4]>,
    next_point: usize,
}

/// Why [`CandleReplay::advance_quiet`] stopped walking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietEnd {
    /// Every candle is replayed.
    Done,
    /// The next point is at or after the time given: it was not walked.
    Paused,
    /// A candle step closed at or after the close time given; its close was walked quietly
    /// (a backtest samples its equity there without waking the bot).
    CloseReached {
        /// The close's time.
        time_ms: i64,
    },
    /// This point was walked and broke the calm (an engine event, or a mark out of its band):
    /// handle it as a point of `step_point`.
    Stopped {
        /// Its time.
        time_ms: i64,
        /// It closed its candle step.
        closed: bool,
    },
}

/// What [`CandleReplay::advance_quiet`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietWalk {
    /// Why it stopped.
    pub end: QuietEnd,
    /// Candle steps closed on the way (the stopping point excluded).
    pub closed_quietly: u64,
    /// The time of the last point walked quietly, if any.
    pub last_quiet_ms: Option<i64>,
    /// Each series' mark after the last point walked quietly (series order).
    pub marks: Vec<Option<Price>>,
}

/// Candles of one or more symbols, replayed into an engine.
#[derive(Debug, Clone)]
pub struct CandleReplay {
    interval_ms: i64,
    /// How far the candles were moved in time ([`CandleReplay::shifted`]).
    offset_ms: i64,
    series: Vec<Series>,
    next_funding_ms: Option<i64>,
    step: StepInProgress,
}

impl CandleReplay {
    /// A replay of `series` (each ascending) with candles `interval_ms` long.
    #[must_use]
    pub fn new(interval_ms: i64, series: BTreeMap<Symbol, Vec<Candle>>) -> Self {
        let shared = series
            .into_iter()
            .map(|(symbol, mut candles)| {
                align_price_scales(&mut candles);
                (symbol, Arc::from(candles))
            })
            .collect();
        Self::shared(interval_ms, shared)
    }

    /// A replay of series shared with other replays (their prices already at one scale, see
    /// [`align_price_scales`]); nothing is copied.
    #[must_use]
    pub fn shared(interval_ms: i64, mut series: Vec<(Symbol, Arc<[Candle]>)>) -> Self {
        series.sort_by(|a, b| a.0.cmp(&b.0));
        series.dedup_by(|a, b| a.0 == b.0);
        Self {
            interval_ms: interval_ms.max(1),
            offset_ms: 0,
            series: series
                .into_iter()
                .map(|(symbol, candles)| Series { symbol, candles, cursor: 0, inert: None })
                .collect(),
            next_funding_ms: None,
            step: StepInProgress::default(),
        }
    }

    /// The same replay `offset_ms` later in time: every candle's open time moved (prices
    /// unchanged). For re-basing a paper-trading replay to the wall clock, before it starts.
    #[must_use]
    pub fn shifted(self, offset_ms: i64) -> Self {
        let series = self
            .series
            .into_iter()
            .map(|s| {
                let candles: Vec<Candle> =
                    s.candles.iter().map(|c| Candle { open_time_ms: c.open_time_ms + offset_ms, ..*c }).collect();
                (s.symbol, Arc::from(candles))
            })
            .collect();
        Self { offset_ms: self.offset_ms + offset_ms, ..Self::shared(self.interval_ms, series) }
    }

    /// Open time of the next candle to start, if any is left.
    #[must_use]
    pub fn next_time(&self) -> Option<i64> {
        self.series.iter().filter_map(|s| s.candles.get(s.cursor).map(|c| c.open_time_ms)).min()
    }

    /// True when every candle has been replayed.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.step.next_point == 0 && self.next_time().is_none()
    }

    /// Candles left in total.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.series.iter().map(|s| s.candles.len().saturating_sub(s.cursor)).sum()
    }

    /// Where the replay stands (for saving; between candle steps).
    #[must_use]
    pub fn position(&self) -> ReplayPosition {
        ReplayPosition {
            cursor: self.series.iter().map(|s| (s.symbol.clone(), s.cursor)).collect(),
            next_funding_ms: self.next_funding_ms,
            offset_ms: self.offset_ms,
        }
    }

    /// Continues from a saved position (the series must be the same files), moved in time as
    /// the saved replay was.
    pub fn restore(&mut self, position: ReplayPosition) {
        if position.offset_ms != self.offset_ms {
            let replay = std::mem::replace(self, Self::shared(self.interval_ms, Vec::new()));
            *self = replay.shifted(position.offset_ms - self.offset_ms);
        }
        for s in &mut self.series {
            if let Some(&i) = position.cursor.get(&s.symbol) {
                s.cursor = i.min(s.candles.len());
            }
            s.inert = None;
        }
        self.next_funding_ms = position.next_funding_ms;
        self.step.next_point = 0;
    }

    /// The candles of `symbol` replayed so far (the one in progress included), oldest first.
    #[must_use]
    pub fn replayed(&self, symbol: &Symbol) -> &[Candle] {
        match self.series.iter().find(|s| &s.symbol == symbol) {
            Some(s) => &s.candles[..s.cursor.min(s.candles.len())],
            None => &[],
        }
    }

    /// Candle interval, ms.
    #[must_use]
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Moves the market one point of the candle step in progress (starting the next step when
    /// none is): every symbol with a candle at that open time walks to the same point of its
    /// path together, so time never runs backwards across symbols. Returns the point's time and
    /// whether it closed the step (the fourth point, the close).
    pub fn step_point(&mut self, engine: &mut MatchingEngine) -> Option<(i64, bool)> {
        if self.step.next_point == 0 {
            let t = self.next_time()?;
            self.settle_funding_until(engine, t);
            self.step.open_ms = t;
            self.step.series.clear();
            self.step.paths.clear();
            for (k, s) in self.series.iter_mut().enumerate() {
                if let Some(candle) = s.candles.get(s.cursor).filter(|c| c.open_time_ms == t) {
                    self.step.paths.push(candle_path(candle));
                    self.step.series.push(k);
                    s.cursor += 1;
                }
            }
        }
        let k = self.step.next_point;
        let t = match k {
            3 => self.step.open_ms + self.interval_ms - 1,
            _ => self.step.open_ms + i64::try_from(k).unwrap_or(0) * (self.interval_ms / 3),
        };
        engine.set_time(t);
        for (j, &i) in self.step.series.iter().enumerate() {
            engine.move_price(&self.series[i].symbol, self.step.paths[j][k]);
        }
        self.step.next_point = (k + 1) % 4;
        Some((t, self.step.next_point == 0))
    }

    /// The index of `symbol`'s series (the order of [`CandleReplay::series_symbols`]).
    #[must_use]
    pub fn series_index(&self, symbol: &Symbol) -> Option<usize> {
        self.series.iter().position(|s| &s.symbol == symbol)
    }

    /// The symbols replayed, in series order.
    pub fn series_symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.series.iter().map(|s| &s.symbol)
    }

    /// Walks path points for as long as nobody needs to hear about them: no engine event (a
    /// fill, funding, a liquidation), every moved symbol's mark inside its band (`bands[k]`
    /// for series `k`; `None`: any mark), and each point's time before `until_ms`; and stops
    /// after the first candle step closing at or after `close_at_ms`. A backtest uses it to
    /// cross quiet stretches of the market without waking the bot — points it walks are
    /// exactly those the bot would have let pass.
    pub fn advance_quiet(
        &mut self,
        engine: &mut MatchingEngine,
        bands: &[Option<(Price, Price)>],
        until_ms: i64,
        close_at_ms: i64,
    ) -> QuietWalk {
        let mut walk = QuietWalk {
            end: QuietEnd::Done,
            closed_quietly: 0,
            last_quiet_ms: None,
            marks: self.series.iter().map(|s| engine.mark(&s.symbol)).collect(),
        };
        loop {
            let t = if self.step.next_point == 0 {
                match self.next_time() {
                    Some(t) => t,
                    None => return walk,
                }
            } else {
                match self.step.next_point {
                    3 => self.step.open_ms + self.interval_ms - 1,
                    k => self.step.open_ms + i64::try_from(k).unwrap_or(0) * (self.interval_ms / 3),
                }
            };
            if t >= until_ms {
                walk.end = QuietEnd::Paused;
                return walk;
            }
            if self.step.next_point == 0 {
                let before = walk.closed_quietly;
                if self.glide(engine, bands, until_ms, close_at_ms, &mut walk) {
                    walk.end = QuietEnd::CloseReached { time_ms: walk.last_quiet_ms.unwrap_or(t) };
                    return walk;
                }
                if walk.closed_quietly > before {
                    continue; // the next step could not be strode: look at it afresh
                }
            }
            let point = self.step.next_point;
            let Some((t, closed)) = self.step_point(engine) else { return walk };
            // Each moved symbol's mark is now the point of its path.
            let broke = engine.has_events()
                || self.step.series.iter().zip(&self.step.paths).any(|(&k, path)| {
                    let mark = path[point];
                    bands.get(k).copied().flatten().is_some_and(|(lo, hi)| mark < lo || mark > hi)
                });
            if broke {
                walk.end = QuietEnd::Stopped { time_ms: t, closed };
                return walk;
            }
            for (&k, path) in self.step.series.iter().zip(&self.step.paths) {
                walk.marks[k] = Some(path[point]);
            }
            walk.last_quiet_ms = Some(t);
            if closed {
                walk.closed_quietly += 1;
                if t >= close_at_ms {
                    walk.end = QuietEnd::CloseReached { time_ms: t };
                    return walk;
                }
            }
        }
    }

    /// Strides whole candle steps for as long as nothing in them can matter: no funding due,
    /// each close before `until_ms`, and every moving symbol's candle (low to high) inside its
    /// band and strictly inside the engine's inert range (no resting order reached, no
    /// liquidation price). Nothing observes the points in between — no fill, no event, nobody
    /// decides — so the candles only advance the cursors; at the end each symbol's mark, its
    /// book id (one step per move, as walking would count) and the clock are stored once: the
    /// same end state as walking every point through `step_point`, at a fraction of the work.
    /// Returns true when it stopped after a close at or after `close_at_ms`.
    fn glide(
        &mut self,
        engine: &mut MatchingEngine,
        bands: &[Option<(Price, Price)>],
        until_ms: i64,
        close_at_ms: i64,
        walk: &mut QuietWalk,
    ) -> bool {
        // Per series: the band (inclusive) and the inert range (exclusive) its candles must
        // keep inside; neither moves while nothing happens.
        let changes = engine.changes();
        let mut limits = Vec::with_capacity(self.series.len());
        for (k, s) in self.series.iter_mut().enumerate() {
            let range = match s.inert {
                Some((at, range)) if at == changes => range,
                _ => {
                    let range = engine.inert_range(&s.symbol);
                    s.inert = Some((changes, range));
                    range
                }
            };
            let band = bands.get(k).copied().flatten();
            limits.push(range.map(|(above, below)| (above, below, band)));
        }
        let inside = |k: usize, c: &Candle| {
            limits[k].is_some_and(|(above, below, band)| {
                above.is_none_or(|a| c.low > a)
                    && below.is_none_or(|b| c.high < b)
                    && band.is_none_or(|(lo, hi)| lo <= c.low && c.high <= hi)
            })
        };
        let mut strides: Vec<(u64, Option<Price>)> = self.series.iter().map(|s| (0, engine.mark(&s.symbol))).collect();
        let mut last_close = None;
        let mut reached = false;
        while let Some(open_ms) = self.next_time() {
            let close = open_ms + self.interval_ms - 1;
            if close >= until_ms || self.next_funding_ms.is_none_or(|at| at <= open_ms) {
                break;
            }
            let quiet = self.series.iter().enumerate().all(|(k, s)| {
                s.candles.get(s.cursor).filter(|c| c.open_time_ms == open_ms).is_none_or(|c| inside(k, c))
            });
            if !quiet {
                break;
            }
            for (k, s) in self.series.iter_mut().enumerate() {
                let Some(c) = s.candles.get(s.cursor).filter(|c| c.open_time_ms == open_ms) else { continue };
                let (moves, at) = &mut strides[k];
                for p in candle_path(c) {
                    if *at != Some(p) {
                        *moves += 1;
                        *at = Some(p);
                    }
                }
                walk.marks[k] = Some(c.close);
                s.cursor += 1;
            }
            walk.closed_quietly += 1;
            walk.last_quiet_ms = Some(close);
            last_close = Some(close);
            if close >= close_at_ms {
                reached = true;
                break;
            }
        }
        if let Some(close) = last_close {
            engine.set_time(close);
            for (s, (moves, at)) in self.series.iter().zip(strides) {
                if let Some(at) = at
                    && moves > 0
                {
                    engine.glide_inert(&s.symbol, moves, at);
                }
            }
        }
        reached
    }

    /// Replays every candle opening at the next open time (all four points); returns that time.
    pub fn step(&mut self, engine: &mut MatchingEngine) -> Option<i64> {
        let open = if self.step.next_point == 0 { self.next_time()? } else { self.step.open_ms };
        while let Some((_, closed)) = self.step_point(engine) {
            if closed {
                break;
            }
        }
        Some(open)
    }

    /// Replays every candle opening at or before `t_ms`; returns how many time steps ran.
    pub fn advance_to(&mut self, engine: &mut MatchingEngine, t_ms: i64) -> usize {
        let mut steps = 0;
        while self.step.next_point != 0 || self.next_time().is_some_and(|n| n <= t_ms) {
            self.step(engine);
            steps += 1;
        }
        engine.set_time(t_ms);
        steps
    }

    /// Jumps to `t_ms` without walking the candles before it: they count as replayed (daily
    /// candles for a plan's ATR come from them), each symbol's price is its last close, no
    /// order fills and no funding settles on the way. For history nobody traded (a
    /// backtest's warm-up); it is far faster than replaying it.
    pub fn seek(&mut self, engine: &mut MatchingEngine, t_ms: i64) {
        self.step.next_point = 0;
        for s in &mut self.series {
            s.inert = None;
            let i = s.candles.partition_point(|c| c.open_time_ms < t_ms).max(s.cursor);
            s.cursor = i;
            if let Some(last) = i.checked_sub(1).and_then(|j| s.candles.get(j)) {
                engine.set_time(last.open_time_ms + self.interval_ms - 1);
                engine.move_price(&s.symbol, last.close);
            }
        }
        engine.set_time(t_ms);
        let interval = engine.config().funding_interval_ms.max(1);
        self.next_funding_ms = Some((t_ms.div_euclid(interval) + 1) * interval);
    }

    fn settle_funding_until(&mut self, engine: &mut MatchingEngine, t: i64) {
        let interval = engine.config().funding_interval_ms.max(1);
        let next = *self.next_funding_ms.get_or_insert_with(|| (t.div_euclid(interval) + 1) * interval);
        let mut at = next;
        while at <= t {
            engine.set_time(at);
            for k in 0..self.series.len() {
                let s = &self.series[k].symbol;
                let rate = engine.config().funding_rate_at(s, at);
                let symbol = s.clone();
                engine.settle_funding(&symbol, rate);
            }
            at += interval;
        }
        self.next_funding_ms = Some(at);
    }
}
