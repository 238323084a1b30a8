//! Walk-forward validation: the honest figure. The window is cut into train/test pairs; each
//! train window gets the whole search, and the candidate it likes best (by the `pick`
//! objective, among those meeting the constraints) is backtested on the test window right
//! after it — data the search never saw. The test windows' equity, chained, is the
//! out-of-sample equity a trader should believe; the in-sample figures beside it show how much
//! of the search's best was luck.
//!
//! - **Rolling**: train windows of `train_days` slide by `test_days`. **Anchored**: every train
//!   window starts at the beginning and grows by `test_days`.
//! - Each window's search is the file's search (method, seed, budget) on its train window; each
//!   backtest warms up on the data before its own start, exactly as a single backtest does.
//! - Stitching: each test window starts from the equity the previous one ended with (its
//!   curve scaled), so the chained return compounds like one account traded through them all.

use gridbot_backtest::{BacktestRun, Window, resolve_window, spec_of};
use gridbot_core::time::DAY_MS;

use crate::evaluation::Evaluation;
use crate::file::WalkForward;
use crate::objective::Direction;
use crate::search::{Options, Problem, Progress, SearchError, search};
use crate::space::decode;

/// One train/test pair.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WindowResult {
    /// Train window `[start, end)`, UTC ms.
    pub train: (i64, i64),
    /// Test window `[start, end)`, UTC ms.
    pub test: (i64, i64),
    /// The train search's pick (`None`: no candidate met the constraints).
    pub chosen: Option<Evaluation>,
    /// The pick's objectives on the test window (same order as the file's).
    pub out_of_sample: Vec<Option<f64>>,
    /// The pick's return on the test window.
    pub test_return: Option<f64>,
    /// The pick's max drawdown on the test window.
    pub test_max_drawdown: Option<f64>,
    /// Why the window has no out-of-sample result.
    pub error: Option<String>,
}

/// What the walk forward found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WalkForwardOutcome {
    /// The settings.
    pub settings: WalkForward,
    /// Each window, in time order.
    pub windows: Vec<WindowResult>,
    /// The test windows' equity chained: `(UTC ms, equity)`, starting from the first test
    /// window's starting equity.
    pub stitched: Vec<(i64, f64)>,
    /// Return of the stitched equity.
    pub stitched_return: f64,
    /// Max drawdown of the stitched equity, fraction.
    pub stitched_max_drawdown: f64,
    /// Stopped before the last window.
    pub stopped: bool,
}

/// The train/test windows over `[from, to]`.
#[must_use]
pub fn windows(wf: &WalkForward, from: i64, to: i64) -> Vec<((i64, i64), (i64, i64))> {
    let (train, test) = (i64::from(wf.train_days) * DAY_MS, i64::from(wf.test_days) * DAY_MS);
    let mut out = Vec::new();
    for k in 0.. {
        let train_end = from + train + k * test;
        let test_end = (train_end + test).min(to);
        if test_end - train_end < DAY_MS {
            break;
        }
        let train_start = if wf.anchored { from } else { from + k * test };
        out.push(((train_start, train_end), (train_end, test_end)));
    }
    out
}

fn best(evaluations: &[Evaluation], problem: &Problem, pick: usize) -> Option<Evaluation> {
    let o = problem.file.objectives.get(pick)?;
    evaluations
        .iter()
        .filter(|e| e.feasible)
        .filter_map(|e| Some((e.objectives.get(pick).copied().flatten()?, e)))
        .min_by(|(a, x), (b, y)| {
            let (a, b) = match o.direction {
                Direction::Maximise => (-a, -b),
                Direction::Minimise => (*a, *b),
            };
            a.total_cmp(&b).then(x.index.cmp(&y.index))
        })
        .map(|(_, e)| e.clone())
}

fn max_drawdown(points: &[(i64, f64)]) -> f64 {
    let mut peak = f64::MIN;
    let mut worst: f64 = 0.0;
    for (_, e) in points {
        peak = peak.max(*e);
        if peak > 0.0 {
            worst = worst.max((peak - e) / peak);
        }
    }
    worst
}

/// Runs the walk forward of `problem` (its file's `walk_forward`); `on_progress(window,
/// windows, progress)` after each backtest of each window's search.
pub fn walk_forward(
    problem: &Problem,
    wf: &WalkForward,
    threads: usize,
    stop: &(dyn Fn() -> bool + Sync),
    on_progress: &mut dyn FnMut(usize, usize, Progress),
) -> Result<WalkForwardOutcome, SearchError> {
    let f = &problem.file;
    let lowest = decode(&f.params, &vec![0.0; f.params.len()]);
    let (from, to) = problem
        .template
        .account(&f.params, &lowest)
        .ok()
        .and_then(|a| resolve_window(&spec_of(&a), &problem.data, Window { from_ms: f.from_ms, to_ms: f.to_ms }).ok())
        .map_or((0, 0), |(a, b, _)| (a, b));
    let pairs = windows(wf, from, to);
    let mut results = Vec::new();
    let mut stitched: Vec<(i64, f64)> = Vec::new();
    let mut running: Option<f64> = None;
    let mut base: Option<f64> = None;
    let mut stopped = false;
    for (k, (train, test)) in pairs.iter().enumerate() {
        if stop() {
            stopped = true;
            break;
        }
        let part = problem.with_window(Some(train.0), Some(train.1));
        let options = Options { threads, stop, prior: Vec::new(), shard: None };
        let n = pairs.len();
        let outcome = search(&part, options, &mut |_| {}, &mut |p| on_progress(k, n, p))?;
        if outcome.stopped {
            stopped = true;
            break;
        }
        let chosen = best(&outcome.evaluations, problem, wf.pick);
        let mut result = WindowResult {
            train: *train,
            test: *test,
            chosen: chosen.clone(),
            out_of_sample: vec![None; f.objectives.len()],
            test_return: None,
            test_max_drawdown: None,
            error: None,
        };
        match chosen.as_ref().map(|e| problem.values_of(e)) {
            None => result.error = Some("no candidate met the constraints in the train window".into()),
            Some(Err(e)) => result.error = Some(e.to_string()),
            Some(Ok(values)) => {
                match problem.backtest(&values, Window { from_ms: Some(test.0), to_ms: Some(test.1) }) {
                    Err(e) => result.error = Some(e.to_string()),
                    Ok(run) => {
                        result.out_of_sample = f.objectives.iter().map(|o| o.value(&run)).collect();
                        result.test_return = Some(run.metrics.total_return);
                        result.test_max_drawdown = Some(run.metrics.max_drawdown.depth);
                        base.get_or_insert(gridbot_core::decimal_to_f64(run.start_equity));
                        chain(&run, test.0, &mut running, &mut stitched);
                    }
                }
            }
        }
        results.push(result);
    }
    let start = base.unwrap_or(0.0);
    let end = running.unwrap_or(start);
    Ok(WalkForwardOutcome {
        settings: wf.clone(),
        windows: results,
        stitched_return: if start > 0.0 { end / start - 1.0 } else { 0.0 },
        stitched_max_drawdown: max_drawdown(&stitched),
        stitched,
        stopped,
    })
}

/// Appends `run`'s equity (from `start_ms`, at its starting equity), scaled to start where
/// the chain stands.
fn chain(run: &BacktestRun, start_ms: i64, running: &mut Option<f64>, stitched: &mut Vec<(i64, f64)>) {
    let start = gridbot_core::decimal_to_f64(run.start_equity);
    let end = gridbot_core::decimal_to_f64(run.end_equity);
    if start <= 0.0 {
        return;
    }
    let scale = running.map_or(1.0, |r| r / start);
    stitched.push((start_ms, start * scale));
    stitched.extend(run.equity.iter().map(|p| (p.time_ms, p.equity * scale)));
    *running = Some(end * scale);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_windows_slide_and_anchored_ones_grow() {
        let wf = WalkForward { train_days: 10, test_days: 5, anchored: false, pick: 0 };
        let w = windows(&wf, 0, 27 * DAY_MS);
        let days = |(a, b): (i64, i64)| (a / DAY_MS, b / DAY_MS);
        let got: Vec<_> = w.iter().map(|(t, s)| (days(*t), days(*s))).collect();
        assert_eq!(got, vec![((0, 10), (10, 15)), ((5, 15), (15, 20)), ((10, 20), (20, 25)), ((15, 25), (25, 27))]);
        let anchored = WalkForward { anchored: true, ..wf };
        let got: Vec<_> = windows(&anchored, 0, 20 * DAY_MS).iter().map(|(t, s)| (days(*t), days(*s))).collect();
        assert_eq!(got, vec![((0, 10), (10, 15)), ((0, 15), (15, 20))]);
        assert!(windows(&wf, 0, 10 * DAY_MS).is_empty(), "no room for a test window");
    }

    #[test]
    fn the_deepest_fall_of_a_curve() {
        assert_eq!(max_drawdown(&[(0, 100.0), (1, 120.0), (2, 90.0), (3, 130.0)]), 0.25);
        assert_eq!(max_drawdown(&[]), 0.0);
    }
}
