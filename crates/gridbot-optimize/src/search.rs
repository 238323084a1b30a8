//! Running a search: candidates from the method, each evaluated by a backtest on every core,
//! results delivered in candidate order whatever finished first.
//!
//! Decisions:
//! - **Deterministic whatever the thread count.** Candidates are fixed by the seed before any
//!   is evaluated (NSGA-II: one generation at a time, from the previous one's results), every
//!   backtest is deterministic, and results are handed out in candidate order — so the same
//!   file and seed give the same `results.jsonl`, byte for byte, on 1 thread or 16.
//! - **Candles loaded once**, shared by every thread (`MarketData` holds them behind `Arc`s);
//!   each evaluation builds its own simulator and core.
//! - **Scoped threads and an atomic counter** rather than rayon: each evaluation is a whole
//!   backtest (tens of milliseconds), so work stealing buys nothing a counter does not.
//! - **A candidate seen before is not run again** (NSGA-II revisits points of discrete
//!   domains): its result is copied under the new number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use gridbot_backtest::{BacktestSettings, MarketData, Window, resolve_window, run, settings_of, spec_of, symbol_of};
use gridbot_config::ConfigErrors;
use serde_yaml::Value;

use crate::apply::AccountTemplate;
use crate::evaluation::{Evaluation, params_of};
use crate::file::{Method, OptimizeFile};
use crate::nsga2::Nsga2;
use crate::objective::Direction;
use crate::pareto::{Scored, front};
use crate::sample::{Rng, latin_hypercube, random};
use crate::space::{decode, grid_points};

/// Why a search cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The account file (or a varied field) is not valid.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The data could not be read.
    #[error("{0}")]
    Data(String),
    /// A varied field does not fit the account file.
    #[error("{file}: vary: {message}")]
    Field {
        /// The optimize file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// Everything a search evaluates candidates against.
#[derive(Debug)]
pub struct Problem {
    /// The optimize file.
    pub file: OptimizeFile,
    /// The account file it starts from.
    pub template: AccountTemplate,
    /// The candles, loaded once.
    pub data: MarketData,
}

/// How far a search is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Candidates done.
    pub done: usize,
    /// Candidates in all.
    pub total: usize,
    /// The best feasible value of the first objective so far.
    pub best: Option<f64>,
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every candidate, in order.
    pub evaluations: Vec<Evaluation>,
    /// The Pareto front of the feasible ones: indices, ascending.
    pub front: Vec<usize>,
    /// Stopped before the budget was spent.
    pub stopped: bool,
}

impl Problem {
    /// Loads the account file and the data of `file`, and checks every varied field reaches
    /// the account file and gives a valid account at its lowest value.
    pub fn load(file: OptimizeFile) -> Result<Self, SetupError> {
        let template = AccountTemplate::load(&file.account)?;
        let account = gridbot_config::load_account_for_backtest(&file.account)?;
        let symbols: Vec<_> = account.symbols.iter().map(|s| s.symbol.clone()).collect();
        let mut files = Vec::new();
        for arg in &file.data {
            files.push(symbol_of(arg, &symbols).map_err(|e| SetupError::Data(e.to_string()))?);
        }
        let data = MarketData::load(&files).map_err(|e| SetupError::Data(e.to_string()))?;
        let lowest = decode(&file.params, &vec![0.0; file.params.len()]);
        let first = template.account(&file.params, &lowest).map_err(|message| SetupError::Field {
            file: file.path.display().to_string(),
            message: format!("the account with every field at its lowest value is not valid: {message}"),
        })?;
        // A window the data cannot give (too little history for the warm-up, nothing to
        // trade) fails every candidate alike: said once, before any runs.
        let window = Window { from_ms: file.from_ms, to_ms: file.to_ms };
        resolve_window(&spec_of(&first), &data, window).map_err(|e| SetupError::Data(e.to_string()))?;
        Ok(Self { file, template, data })
    }

    fn window(&self) -> Window {
        Window { from_ms: self.file.from_ms, to_ms: self.file.to_ms }
    }

    /// Runs the backtest of `values` and scores it.
    #[must_use]
    pub fn evaluate(&self, index: usize, values: &[Value]) -> Evaluation {
        let params = params_of(&self.file.params, values);
        let objectives = self.file.objectives.len();
        let account = match self.template.account(&self.file.params, values) {
            Ok(a) => a,
            Err(e) => return Evaluation::failed(index, params, objectives, format!("configuration: {e}")),
        };
        let settings: BacktestSettings = match settings_of(&account.backtest) {
            Ok(s) => s,
            Err(e) => return Evaluation::failed(index, params, objectives, e.to_string()),
        };
        match run(&spec_of(&account), &self.data, &settings, self.window(), &mut |_| {}) {
            Ok(r) => Evaluation::ran(index, params, &r, &self.file.objectives, &self.file.constraints),
            Err(e) => Evaluation::failed(index, params, objectives, e.to_string()),
        }
    }

    /// The values of a recorded candidate, in the file's order (`Err`: it lacks a varied
    /// field — results of another optimize file).
    pub fn values_of(&self, e: &Evaluation) -> Result<Vec<Value>, String> {
        self.file
            .params
            .iter()
            .map(|p| {
                let v = e.params.get(&p.field).ok_or_else(|| format!("candidate #{} has no {}", e.index, p.field))?;
                serde_yaml::to_value(v).map_err(|err| err.to_string())
            })
            .collect()
    }

    /// The account file of `values`, as `--export` writes it.
    pub fn render(&self, values: &[Value]) -> Result<String, String> {
        self.template.account(&self.file.params, values)?;
        self.template.render(&self.file.params, values)
    }
}

/// Runs `f` over `items` on `threads` threads; `done(i, result)` is called on this thread as
/// each finishes, in any order.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: &(dyn Fn(&T) -> R + Sync),
    done: &mut dyn FnMut(usize, R),
) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, f(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            done(i, r);
        }
    });
}

/// Runs the candidates, hands results out in order, remembers them.
struct Runner<'a> {
    problem: &'a Problem,
    threads: usize,
    stop: &'a (dyn Fn() -> bool + Sync),
    prior: Vec<Evaluation>,
    mismatch: Option<ResumeMismatch>,
    stopped: bool,
    total: usize,
    seen: HashMap<String, Evaluation>,
    all: Vec<Evaluation>,
    best: Option<f64>,
    on_result: &'a mut dyn FnMut(&Evaluation),
    on_progress: &'a mut dyn FnMut(Progress),
}

fn key(values: &[Value]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

impl Runner<'_> {
    fn batch(&mut self, batch: Vec<Vec<Value>>) -> Vec<Scored> {
        let start = self.all.len();
        let keys: Vec<String> = batch.iter().map(|v| key(v)).collect();
        // Results of the interrupted run: taken as recorded, once checked to be these candidates.
        for (k, values) in batch.iter().enumerate() {
            let Some(recorded) = self.prior.get(start + k) else { break };
            let expected = params_of(&self.problem.file.params, values);
            if recorded.params != expected || recorded.index != start + k {
                self.mismatch = Some(ResumeMismatch {
                    index: start + k,
                    recorded: serde_json::to_string(&recorded.params).unwrap_or_default(),
                    expected: serde_json::to_string(&expected).unwrap_or_default(),
                });
                return Vec::new();
            }
            self.seen.entry(keys[k].clone()).or_insert_with(|| recorded.clone());
        }
        let mut fresh: Vec<(String, Vec<Value>)> = Vec::new();
        for (k, v) in keys.iter().zip(&batch) {
            if !self.seen.contains_key(k) && !fresh.iter().any(|(f, _)| f == k) {
                fresh.push((k.clone(), v.clone()));
            }
        }
        let problem = self.problem;
        let stop = self.stop;
        let evaluate = |(_, values): &(String, Vec<Value>)| (!stop()).then(|| problem.evaluate(0, values));
        let mut emitted = 0;
        self.hand_out(&keys, start, &mut emitted);
        parallel(&fresh, self.threads, &evaluate, &mut |i, e| {
            match e {
                Some(e) => {
                    self.seen.insert(fresh[i].0.clone(), e);
                }
                None => self.stopped = true,
            }
            self.hand_out(&keys, start, &mut emitted);
        });
        let objectives = &self.problem.file.objectives;
        self.all[start..].iter().map(|e| e.scored(objectives)).collect()
    }

    /// Hands out the batch's results that complete a prefix, in order.
    fn hand_out(&mut self, keys: &[String], start: usize, emitted: &mut usize) {
        while let Some(k) = keys.get(*emitted) {
            let Some(found) = self.seen.get(k) else { break };
            let mut e = found.clone();
            e.index = start + *emitted;
            let new = e.index >= self.prior.len();
            self.emit(e, new);
            *emitted += 1;
        }
    }

    fn emit(&mut self, e: Evaluation, new: bool) {
        if let (true, Some(Some(v)), Some(o)) = (e.feasible, e.objectives.first(), self.problem.file.objectives.first())
        {
            let better = match o.direction {
                Direction::Maximise => self.best.is_none_or(|b| *v > b),
                Direction::Minimise => self.best.is_none_or(|b| *v < b),
            };
            if better {
                self.best = Some(*v);
            }
        }
        if new {
            (self.on_result)(&e);
        }
        self.all.push(e);
        (self.on_progress)(Progress { done: self.all.len(), total: self.total, best: self.best });
    }
}

/// How a search runs.
pub struct Options<'a> {
    /// Threads (≥ 1).
    pub threads: usize,
    /// Asked before each backtest starts: `true` stops the search (those running finish).
    pub stop: &'a (dyn Fn() -> bool + Sync),
    /// Results of an earlier, interrupted run of the same search (`results.jsonl`, in order):
    /// taken as they are instead of being run again, each checked against the candidate it
    /// must be.
    pub prior: Vec<Evaluation>,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("threads", &self.threads)
            .field("prior", &self.prior.len())
            .finish_non_exhaustive()
    }
}

/// A resumed search whose earlier results are not this search's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "result #{index} is not this search's candidate #{index} (another optimize file, seed or method?): recorded {recorded}, expected {expected}"
)]
pub struct ResumeMismatch {
    /// The candidate.
    pub index: usize,
    /// Its recorded fields.
    pub recorded: String,
    /// The fields this search gives it.
    pub expected: String,
}

/// Runs `problem`'s search. `on_result` sees every new evaluation in candidate order (to
/// stream them to a file; earlier results given in `options.prior` are not repeated);
/// `on_progress` after each. A stop ends it early: the outcome holds what finished, in order.
pub fn search(
    problem: &Problem,
    options: Options<'_>,
    on_result: &mut dyn FnMut(&Evaluation),
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, ResumeMismatch> {
    let f = &problem.file;
    let dim = f.params.len();
    let mut runner = Runner {
        problem,
        threads: options.threads,
        stop: options.stop,
        prior: options.prior,
        mismatch: None,
        stopped: false,
        total: f.search.budget,
        seen: HashMap::new(),
        all: Vec::new(),
        best: None,
        on_result,
        on_progress,
    };
    let mut rng = Rng::new(f.search.seed);
    match f.search.method {
        Method::Grid => {
            runner.batch(grid_points(&f.params).unwrap_or_default());
        }
        Method::Random => {
            let points = random(&mut rng, f.search.budget, dim);
            runner.batch(points.iter().map(|u| decode(&f.params, u)).collect());
        }
        Method::Lhs => {
            let points = latin_hypercube(&mut rng, f.search.budget, dim);
            runner.batch(points.iter().map(|u| decode(&f.params, u)).collect());
        }
        Method::Nsga2 => {
            let nsga = Nsga2 { population: f.search.population, budget: f.search.budget, seed: f.search.seed };
            nsga.run(dim, &mut |points| {
                let scores = runner.batch(points.iter().map(|u| decode(&f.params, u)).collect());
                (!runner.stopped && runner.mismatch.is_none()).then_some(scores)
            });
        }
    }
    if let Some(m) = runner.mismatch {
        return Err(m);
    }
    let scores: Vec<Scored> = runner.all.iter().map(|e| e.scored(&f.objectives)).collect();
    let front = front(&scores);
    Ok(Outcome { evaluations: runner.all, front, stopped: runner.stopped })
}
