//! Candle replay: the market source of backtests and paper trading.
//!
//! Several symbols replay in lockstep by open time (ties in symbol order). Each candle moves
//! the engine's price along its path; the points are stamped `open_time`, `+⅓`, `+⅔` of the
//! interval and `open_time + interval − 1` (the close). Funding is settled at every multiple of
//! the funding interval the replay crosses, before the first candle at or after it.

use std::collections::BTreeMap;

use gridbot_core::{Candle, Symbol};

use crate::engine::MatchingEngine;
use crate::path::candle_path;

/// Writes every price of a series with the same number of decimals (the largest found), which
/// changes no value but lets the matcher compare prices without rescaling.
fn align_scales(candles: &mut [Candle]) {
    let scale = candles
        .iter()
        .flat_map(|c| [c.open, c.high, c.low, c.close])
        .map(|p| p.as_decimal().scale())
        .max()
        .unwrap_or(0);
    let align = |p: &mut gridbot_core::Price| {
        let mut d = p.as_decimal();
        d.rescale(scale);
        if d == p.as_decimal()
            && let Ok(aligned) = gridbot_core::Price::new(d)
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
}

/// Candles of one or more symbols, replayed into an engine.
#[derive(Debug, Clone)]
pub struct CandleReplay {
    interval_ms: i64,
    series: BTreeMap<Symbol, Vec<Candle>>,
    cursor: BTreeMap<Symbol, usize>,
    next_funding_ms: Option<i64>,
}

impl CandleReplay {
    /// A replay of `series` (each ascending) with candles `interval_ms` long.
    #[must_use]
    pub fn new(interval_ms: i64, mut series: BTreeMap<Symbol, Vec<Candle>>) -> Self {
        for candles in series.values_mut() {
            align_scales(candles);
        }
        let cursor = series.keys().map(|s| (s.clone(), 0)).collect();
        Self { interval_ms: interval_ms.max(1), series, cursor, next_funding_ms: None }
    }

    /// Open time of the next candle, if any is left.
    #[must_use]
    pub fn next_time(&self) -> Option<i64> {
        self.series.iter().filter_map(|(s, c)| c.get(*self.cursor.get(s)?).map(|c| c.open_time_ms)).min()
    }

    /// True when every candle has been replayed.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.next_time().is_none()
    }

    /// Candles left in total.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.series.iter().map(|(s, c)| c.len().saturating_sub(self.cursor.get(s).copied().unwrap_or(0))).sum()
    }

    /// Where the replay stands (for saving).
    #[must_use]
    pub fn position(&self) -> ReplayPosition {
        ReplayPosition { cursor: self.cursor.clone(), next_funding_ms: self.next_funding_ms }
    }

    /// Continues from a saved position (the series must be the same files).
    pub fn restore(&mut self, position: ReplayPosition) {
        for (symbol, i) in position.cursor {
            if let Some(c) = self.cursor.get_mut(&symbol) {
                *c = i.min(self.series.get(&symbol).map_or(0, Vec::len));
            }
        }
        self.next_funding_ms = position.next_funding_ms;
    }

    /// The candles of `symbol` replayed so far, oldest first.
    #[must_use]
    pub fn replayed(&self, symbol: &Symbol) -> &[Candle] {
        match (self.series.get(symbol), self.cursor.get(symbol)) {
            (Some(c), Some(&i)) => &c[..i.min(c.len())],
            _ => &[],
        }
    }

    /// Candle interval, ms.
    #[must_use]
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Replays every candle opening at the next open time; returns that time.
    pub fn step(&mut self, engine: &mut MatchingEngine) -> Option<i64> {
        let t = self.next_time()?;
        self.settle_funding_until(engine, t);
        for (symbol, candles) in &self.series {
            let Some(i) = self.cursor.get_mut(symbol) else { continue };
            let Some(candle) = candles.get(*i).filter(|c| c.open_time_ms == t) else { continue };
            *i += 1;
            let [a, b, c, d] = candle_path(candle);
            let third = self.interval_ms / 3;
            engine.set_time(t);
            engine.move_price(symbol, a);
            engine.set_time(t + third);
            engine.move_price(symbol, b);
            engine.set_time(t + 2 * third);
            engine.move_price(symbol, c);
            engine.set_time(t + self.interval_ms - 1);
            engine.move_price(symbol, d);
        }
        Some(t)
    }

    /// Replays every candle opening at or before `t_ms`; returns how many time steps ran.
    pub fn advance_to(&mut self, engine: &mut MatchingEngine, t_ms: i64) -> usize {
        let mut steps = 0;
        while self.next_time().is_some_and(|n| n <= t_ms) {
            self.step(engine);
            steps += 1;
        }
        engine.set_time(t_ms);
        steps
    }

    fn settle_funding_until(&mut self, engine: &mut MatchingEngine, t: i64) {
        let interval = engine.config().funding_interval_ms.max(1);
        let next = *self.next_funding_ms.get_or_insert_with(|| (t.div_euclid(interval) + 1) * interval);
        let mut at = next;
        while at <= t {
            engine.set_time(at);
            let symbols: Vec<Symbol> = self.series.keys().cloned().collect();
            for s in &symbols {
                let rate = engine.config().funding_rate_at(s, at);
                engine.settle_funding(s, rate);
            }
            at += interval;
        }
        self.next_funding_ms = Some(at);
    }
}
