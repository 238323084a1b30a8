//! What a search optimises and what it refuses: objectives over the backtest's metrics (each
//! maximised or minimised) and constraints.
//!
//! A missing metric (a Sharpe ratio of a run without daily returns, a Calmar without a
//! drawdown) is the worst value for its direction. Constraints are summed into one violation
//! (each normalised by its limit), which constrained domination orders by (crate::pareto).

use gridbot_backtest::BacktestRun;

use crate::pareto::Scored;

/// A metric a search can use, by the name the optimize file gives it.
pub const METRICS: &[(&str, &str)] = &[
    ("return", "net PnL / starting equity"),
    ("net_pnl", "net PnL, USDT"),
    ("cagr", "compound annual growth rate"),
    ("sharpe", "Sharpe ratio of daily returns, annualised"),
    ("sortino", "Sortino ratio of daily returns, annualised"),
    ("calmar", "CAGR / max drawdown"),
    ("profit_factor", "Σ gains / |Σ losses| of realised exits"),
    ("max_drawdown", "deepest fall of equity from a peak, fraction"),
    ("cycles", "progressive cycles closed"),
    ("win_rate", "share of cycles won"),
    ("fills", "fills"),
    ("fees", "fees paid, USDT"),
    ("max_level", "deepest level reached"),
    ("time_at_max_level", "share of the legs' time at their deepest level reached"),
    ("peak_margin_use", "largest initial-margin rate"),
    ("liquidations", "liquidations"),
];

/// The value of metric `name` in `run` (`None`: unknown name, or the run has no value).
#[must_use]
pub fn metric(run: &BacktestRun, name: &str) -> Option<f64> {
    let m = &run.metrics;
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    match name {
        "return" => Some(m.total_return),
        "net_pnl" => Some(m.net_pnl),
        "cagr" => m.cagr,
        "sharpe" => m.sharpe,
        "sortino" => m.sortino,
        "calmar" => m.calmar,
        "profit_factor" => m.profit_factor,
        "max_drawdown" => Some(m.max_drawdown.depth),
        "cycles" => Some(m.cycles.closed as f64),
        "win_rate" => m.cycles.win_rate,
        "fills" => Some(m.fills as f64),
        "fees" => Some(m.fees),
        "max_level" => Some(f64::from(m.max_level)),
        "time_at_max_level" => Some(m.time_at_level.get(&m.max_level).copied().unwrap_or(0.0)),
        "peak_margin_use" => Some(m.peak_margin_use),
        "liquidations" => Some(m.liquidations as f64),
        _ => None,
    }
}

/// True when `name` is a metric.
#[must_use]
pub fn is_metric(name: &str) -> bool {
    METRICS.iter().any(|(n, _)| *n == name)
}

/// Which way an objective goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger is better.
    Maximise,
    /// Smaller is better.
    Minimise,
}

/// One objective.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Objective {
    /// The metric.
    pub metric: String,
    /// Which way.
    pub direction: Direction,
}

impl Objective {
    /// Its value in `run`, as the user reads it (`None`: the run has none).
    #[must_use]
    pub fn value(&self, run: &BacktestRun) -> Option<f64> {
        metric(run, &self.metric).filter(|v| v.is_finite())
    }

    /// Its value to minimise (a maximised one negated; missing: `+∞`).
    #[must_use]
    pub fn to_minimise(&self, value: Option<f64>) -> f64 {
        match (value, self.direction) {
            (Some(v), Direction::Maximise) => -v,
            (Some(v), Direction::Minimise) => v,
            (None, _) => f64::INFINITY,
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let way = match self.direction {
            Direction::Maximise => "max",
            Direction::Minimise => "min",
        };
        write!(f, "{way} {}", self.metric)
    }
}

/// What a candidate must meet to count.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Constraints {
    /// No liquidation (default on).
    pub no_liquidation: bool,
    /// Max drawdown at most this fraction.
    pub max_drawdown: Option<f64>,
    /// At least this many progressive cycles closed.
    pub min_cycles: Option<u64>,
    /// Return at least this fraction.
    pub min_return: Option<f64>,
    /// Peak initial-margin rate at most this.
    pub max_margin_use: Option<f64>,
}

impl Default for Constraints {
    fn default() -> Self {
        Self { no_liquidation: true, max_drawdown: None, min_cycles: None, min_return: None, max_margin_use: None }
    }
}

impl Constraints {
    /// How far `run` breaks them (0: it meets every one); each term normalised by its limit.
    #[must_use]
    pub fn violation(&self, run: &BacktestRun) -> f64 {
        let m = &run.metrics;
        let mut v = 0.0;
        if self.no_liquidation && m.liquidations > 0 {
            v += 1.0;
        }
        if let Some(limit) = self.max_drawdown {
            v += (m.max_drawdown.depth - limit).max(0.0) / limit.max(1e-9);
        }
        if let Some(min) = self.min_cycles {
            #[allow(clippy::cast_precision_loss, reason = "counts")]
            let short = min.saturating_sub(m.cycles.closed) as f64 / min.max(1) as f64;
            v += short;
        }
        if let Some(min) = self.min_return {
            v += (min - m.total_return).max(0.0) / min.abs().max(0.01);
        }
        if let Some(limit) = self.max_margin_use {
            v += (m.peak_margin_use - limit).max(0.0) / limit.max(1e-9);
        }
        v
    }
}

/// A run's standing under `objectives` and `constraints`.
#[must_use]
pub fn score(run: &BacktestRun, objectives: &[Objective], constraints: &Constraints) -> Scored {
    Scored {
        objectives: objectives.iter().map(|o| o.to_minimise(o.value(run))).collect(),
        violation: constraints.violation(run),
    }
}

/// The standing of a candidate whose backtest could not run: worse than any that ran.
#[must_use]
pub fn failed(objectives: usize) -> Scored {
    Scored { objectives: vec![f64::INFINITY; objectives], violation: f64::INFINITY }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_metric_is_known() {
        for (name, _) in METRICS {
            assert!(is_metric(name));
        }
        assert!(!is_metric("retrun"));
    }

    #[test]
    fn directions_and_missing_values() {
        let max = Objective { metric: "sharpe".into(), direction: Direction::Maximise };
        let min = Objective { metric: "max_drawdown".into(), direction: Direction::Minimise };
        assert_eq!(max.to_minimise(Some(2.0)), -2.0);
        assert_eq!(min.to_minimise(Some(0.1)), 0.1);
        assert_eq!(max.to_minimise(None), f64::INFINITY, "no Sharpe is the worst Sharpe");
        assert_eq!(max.to_string(), "max sharpe");
    }
}
