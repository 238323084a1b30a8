//! The figures a trader reads, computed in one place.
//!
//! Definitions (the result's documentation points here):
//! - **Net PnL**: final equity − starting equity (open positions at the last price included).
//!   **Gross PnL**: the PnL exits realised against the legs' average entry, before fees and
//!   funding. **Fees** and **funding** are what was paid (negative: received).
//! - **Return**: net PnL / starting equity. **CAGR**: `(end / start)^(365 days / span) − 1`.
//! - **Max drawdown**: the deepest fall of equity from a running peak, over the equity samples
//!   and the end: depth (fraction and USDT), when the peak was, the bottom, and when equity got
//!   back to the peak (`None`: not within the run).
//! - **Sharpe / Sortino**: of daily returns (equity at the last sample of each UTC day), mean over
//!   standard deviation (Sortino: over the downside deviation, returns below zero), annualised by
//!   √365 — crypto trades every day. No risk-free rate.
//! - **Calmar**: CAGR / max drawdown.
//! - **Profit factor**: Σ gains / |Σ losses| of the PnL exits realised (before fees).
//! - **Cycles** (progressive legs): a cycle is closed once its leg has been flat again; it is won
//!   when its realised PnL minus every fee of its fills is above zero.
//! - **Time at level**: the share of the progressive legs' time (legs × span) spent open at
//!   each level; what is left to 100% the legs were flat.
//!
//! `f64` throughout: these are statistics, not money on an order.

use std::collections::{BTreeMap, BTreeSet};

use gridbot_core::time::DAY_MS;
use gridbot_core::{Decimal, Leg, OrderRole, Symbol, decimal_to_f64};
use gridbot_risk::RiskLevel;
use gridbot_strategy::CoreStats;

use crate::record::{EquityPoint, Trade};

/// A drawdown.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Drawdown {
    /// Depth, fraction of the peak.
    pub depth: f64,
    /// Depth, USDT.
    pub depth_usdt: f64,
    /// When the peak was, UTC ms.
    pub peak_ms: Option<i64>,
    /// The bottom, UTC ms.
    pub bottom_ms: Option<i64>,
    /// When equity was back at the peak, UTC ms.
    pub recovered_ms: Option<i64>,
}

/// Cycle statistics of the progressive legs.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Cycles {
    /// Cycles closed.
    pub closed: u64,
    /// Of those, won (realised − fees > 0).
    pub won: u64,
    /// won / closed.
    pub win_rate: Option<f64>,
    /// Mean net PnL of a closed cycle, USDT.
    pub mean_net_pnl: Option<f64>,
}

/// Everything the summary, `result.json` and the report show.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Days traded.
    pub days: f64,
    /// Net PnL, USDT.
    pub net_pnl: f64,
    /// Gross realised PnL, USDT.
    pub gross_pnl: f64,
    /// Fees, USDT.
    pub fees: f64,
    /// Funding, USDT (positive: paid).
    pub funding: f64,
    /// Return, fraction.
    pub total_return: f64,
    /// Compound annual growth rate, fraction.
    pub cagr: Option<f64>,
    /// Max drawdown.
    pub max_drawdown: Drawdown,
    /// Sharpe ratio of daily returns, annualised.
    pub sharpe: Option<f64>,
    /// Sortino ratio of daily returns, annualised.
    pub sortino: Option<f64>,
    /// CAGR / max drawdown.
    pub calmar: Option<f64>,
    /// Σ gains / |Σ losses| of realised exits.
    pub profit_factor: Option<f64>,
    /// Fills.
    pub fills: u64,
    /// Cycles of the progressive legs.
    pub cycles: Cycles,
    /// Deepest level reached.
    pub max_level: u32,
    /// Share of the progressive legs' time spent open at each level (the rest: flat).
    pub time_at_level: BTreeMap<u32, f64>,
    /// Largest value of the open positions, USDT.
    pub peak_position_value: f64,
    /// Largest initial-margin rate of the account.
    pub peak_margin_use: f64,
    /// Realised PnL net of fees per UTC day (from exits and fees), USDT.
    pub daily_pnl: BTreeMap<String, f64>,
    /// Liquidations.
    pub liquidations: u64,
    /// Risk triggers by level.
    pub risk_triggers: BTreeMap<String, u64>,
}

pub(crate) struct Inputs<'a> {
    pub(crate) from_ms: i64,
    pub(crate) to_ms: i64,
    pub(crate) start_equity: Decimal,
    pub(crate) end_equity: Decimal,
    pub(crate) trades: &'a [Trade],
    pub(crate) funding: Decimal,
    pub(crate) equity: &'a [EquityPoint],
    pub(crate) level_time_ms: &'a BTreeMap<u32, i64>,
    pub(crate) stats: &'a CoreStats,
    pub(crate) liquidated: bool,
    /// Progressive legs traded (two per progressive symbol).
    pub(crate) legs: usize,
}

fn mean(xs: &[f64]) -> Option<f64> {
    #[allow(clippy::cast_precision_loss, reason = "counts of days: far below 2^52")]
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation (n − 1).
fn std_dev(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    if xs.len() < 2 {
        return None;
    }
    #[allow(clippy::cast_precision_loss, reason = "counts of days: far below 2^52")]
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    Some(var.sqrt())
}

/// Equity at the last sample of each UTC day, then day-over-day returns.
fn daily_returns(start: f64, equity: &[EquityPoint]) -> Vec<f64> {
    let mut closes: BTreeMap<i64, f64> = BTreeMap::new();
    for p in equity {
        closes.insert(p.time_ms.div_euclid(DAY_MS), p.equity);
    }
    let mut previous = start;
    let mut out = Vec::with_capacity(closes.len());
    for equity in closes.values() {
        if previous > 0.0 {
            out.push(equity / previous - 1.0);
        }
        previous = *equity;
    }
    out
}

fn max_drawdown(start: (i64, f64), equity: &[EquityPoint]) -> Drawdown {
    let mut peak = start;
    let mut worst = Drawdown::default();
    let mut worst_peak_value = start.1;
    for p in equity {
        if p.equity > peak.1 {
            peak = (p.time_ms, p.equity);
        }
        let depth = if peak.1 > 0.0 { (peak.1 - p.equity) / peak.1 } else { 0.0 };
        if depth > worst.depth {
            worst = Drawdown {
                depth,
                depth_usdt: peak.1 - p.equity,
                peak_ms: Some(peak.0),
                bottom_ms: Some(p.time_ms),
                recovered_ms: None,
            };
            worst_peak_value = peak.1;
        }
    }
    if let Some(bottom) = worst.bottom_ms {
        worst.recovered_ms =
            equity.iter().find(|p| p.time_ms > bottom && p.equity >= worst_peak_value).map(|p| p.time_ms);
    }
    worst
}

fn cycles(trades: &[Trade]) -> Cycles {
    // (symbol, leg, cycle) → net PnL; a cycle is closed once its leg started a later one or an
    // exit left it flat (a later cycle of the same leg exists).
    let mut net: BTreeMap<(Symbol, Leg, u32), f64> = BTreeMap::new();
    let mut exits: BTreeSet<(Symbol, Leg, u32)> = BTreeSet::new();
    let mut latest: BTreeMap<(Symbol, Leg), u32> = BTreeMap::new();
    for t in trades {
        let (Some(leg), Some(cycle), Some(role)) = (t.leg, t.cycle, t.role) else { continue };
        if role == OrderRole::ClassicLevel {
            continue;
        }
        let key = (t.symbol.clone(), leg, cycle);
        *net.entry(key.clone()).or_default() +=
            decimal_to_f64(t.realised_pnl.unwrap_or(Decimal::ZERO)) - decimal_to_f64(t.fee);
        if !role.opens() {
            exits.insert(key);
        }
        let l = latest.entry((t.symbol.clone(), leg)).or_insert(cycle);
        *l = (*l).max(cycle);
    }
    let closed: Vec<f64> = net
        .iter()
        .filter(|((s, leg, c), _)| {
            exits.contains(&(s.clone(), *leg, *c)) && latest.get(&(s.clone(), *leg)).is_some_and(|l| l > c)
        })
        .map(|(_, v)| *v)
        .collect();
    let won = closed.iter().filter(|v| **v > 0.0).count();
    #[allow(clippy::cast_precision_loss, reason = "counts of cycles: far below 2^52")]
    Cycles {
        closed: closed.len() as u64,
        won: won as u64,
        win_rate: (!closed.is_empty()).then(|| won as f64 / closed.len() as f64),
        mean_net_pnl: mean(&closed),
    }
}

/// UTC date of a time, `YYYY-MM-DD`.
pub(crate) fn utc_date(t_ms: i64) -> String {
    let (y, m, d) = gridbot_core::time::civil_from_days(t_ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

#[allow(clippy::cast_precision_loss, reason = "ms spans and counts: far below 2^52")]
pub(crate) fn compute(i: &Inputs<'_>) -> Metrics {
    let start = decimal_to_f64(i.start_equity);
    let end = decimal_to_f64(i.end_equity);
    let span_ms = (i.to_ms - i.from_ms).max(1);
    let days = span_ms as f64 / DAY_MS as f64;
    let gross: f64 = i.trades.iter().filter_map(|t| t.realised_pnl).map(decimal_to_f64).sum();
    let fees: f64 = i.trades.iter().map(|t| decimal_to_f64(t.fee)).sum();
    let total_return = if start > 0.0 { end / start - 1.0 } else { 0.0 };
    let cagr = (start > 0.0 && end > 0.0 && days >= 1.0).then(|| (end / start).powf(365.0 / days) - 1.0);
    let max_drawdown = max_drawdown((i.from_ms, start), i.equity);
    let returns = daily_returns(start, i.equity);
    let sharpe = match (mean(&returns), std_dev(&returns)) {
        (Some(m), Some(s)) if s > 0.0 => Some(m / s * 365f64.sqrt()),
        _ => None,
    };
    let downside: Vec<f64> = returns.iter().map(|r| r.min(0.0)).collect();
    let downside_dev =
        (!downside.is_empty()).then(|| (downside.iter().map(|r| r * r).sum::<f64>() / downside.len() as f64).sqrt());
    let sortino = match (mean(&returns), downside_dev) {
        (Some(m), Some(d)) if d > 0.0 => Some(m / d * 365f64.sqrt()),
        _ => None,
    };
    let calmar = match cagr {
        Some(c) if max_drawdown.depth > 0.0 => Some(c / max_drawdown.depth),
        _ => None,
    };
    let (gains, losses) = i
        .trades
        .iter()
        .filter_map(|t| t.realised_pnl)
        .map(decimal_to_f64)
        .fold((0.0, 0.0), |(g, l), x| if x > 0.0 { (g + x, l) } else { (g, l - x) });
    let profit_factor = (losses > 0.0).then(|| gains / losses);
    let mut daily_pnl: BTreeMap<String, f64> = BTreeMap::new();
    for t in i.trades {
        *daily_pnl.entry(utc_date(t.time_ms)).or_default() +=
            decimal_to_f64(t.realised_pnl.unwrap_or(Decimal::ZERO)) - decimal_to_f64(t.fee);
    }
    let leg_time = span_ms as f64 * i.legs.max(1) as f64;
    let time_at_level =
        i.level_time_ms.iter().map(|(level, ms)| (*level, *ms as f64 / leg_time)).collect::<BTreeMap<_, _>>();
    let risk_triggers =
        i.stats.risk_by_level.iter().map(|(level, n): (&RiskLevel, &u64)| (level.to_string(), *n)).collect();
    Metrics {
        days,
        net_pnl: end - start,
        gross_pnl: gross,
        fees,
        funding: decimal_to_f64(i.funding),
        total_return,
        cagr,
        max_drawdown,
        sharpe,
        sortino,
        calmar,
        profit_factor,
        fills: i.trades.len() as u64,
        cycles: cycles(i.trades),
        max_level: i.stats.strategy.max_level,
        time_at_level,
        peak_position_value: i.equity.iter().map(|p| p.position_value).fold(0.0, f64::max),
        peak_margin_use: i.equity.iter().map(|p| p.im_rate).fold(0.0, f64::max),
        daily_pnl,
        liquidations: u64::from(i.liquidated),
        risk_triggers,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn point(day: i64, equity: f64) -> EquityPoint {
        EquityPoint { time_ms: day * DAY_MS + 1, equity, position_value: 0.0, im_rate: 0.0 }
    }

    #[test]
    fn drawdown_depth_bottom_and_recovery() {
        let curve = [point(0, 110.0), point(1, 88.0), point(2, 99.0), point(3, 111.0), point(4, 100.0)];
        let dd = max_drawdown((0, 100.0), &curve);
        assert!((dd.depth - 0.2).abs() < 1e-12, "{dd:?}");
        assert_eq!((dd.peak_ms, dd.bottom_ms, dd.recovered_ms), (Some(1), Some(DAY_MS + 1), Some(3 * DAY_MS + 1)));
        assert!((dd.depth_usdt - 22.0).abs() < 1e-12);
    }

    #[test]
    fn daily_returns_sharpe_and_sortino_by_hand() {
        let curve = [point(0, 101.0), point(1, 99.99), point(2, 101.9898)];
        let r = daily_returns(100.0, &curve);
        assert_eq!(r.len(), 3);
        assert!((r[0] - 0.01).abs() < 1e-12 && (r[1] + 0.01).abs() < 1e-12 && (r[2] - 0.02).abs() < 1e-9, "{r:?}");
        let m = mean(&r).unwrap();
        let s = std_dev(&r).unwrap();
        // mean 0.00667, sample std 0.01528
        assert!((m - 0.006_666_666).abs() < 1e-6 && (s - 0.015_275_252).abs() < 1e-6, "{m} {s}");
    }
}
