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

use crate::apply::{AccountTemplate, CandidateError};
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
#[derive(Debug, Clone)]
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
    pub fn values_of(&self, e: &Evaluation) -> Result<Vec<Value>, CandidateError> {
        self.file
            .params
            .iter()
            .map(|p| {
                let v = e
                    .params
                    .get(&p.field)
                    .ok_or_else(|| CandidateError::MissingField { index: e.index, field: p.field.clone() })?;
                Ok(serde_yaml::to_value(v)?)
            })
            .collect()
    }

    /// The same problem over another window (the candles are shared, not copied).
    #[must_use]
    pub fn with_window(&self, from_ms: Option<i64>, to_ms: Option<i64>) -> Self {
        let mut p = self.clone();
        p.file.from_ms = from_ms;
        p.file.to_ms = to_ms;
        p
    }

    /// The backtest of `values` over `window`, whole (equity, trades, metrics).
    pub fn backtest(&self, values: &[Value], window: Window) -> Result<gridbot_backtest::BacktestRun, CandidateError> {
        let account = self.template.account(&self.file.params, values)?;
        let settings = settings_of(&account.backtest)?;
        Ok(run(&spec_of(&account), &self.data, &settings, window, &mut |_| {})?)
    }

    /// The account file of `values`, as `--export` writes it.
    pub fn render(&self, values: &[Value]) -> Result<String, CandidateError> {
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
    /// Evaluates candidates `(global index, values)` and hands them out in that order;
    /// returns their standings.
    fn batch(&mut self, items: Vec<(usize, Vec<Value>)>) -> Vec<Scored> {
        let start = self.all.len();
        let keys: Vec<String> = items.iter().map(|(_, v)| key(v)).collect();
        // Results of the interrupted run: taken as recorded, once checked to be these candidates.
        for (k, (index, values)) in items.iter().enumerate() {
            let Some(recorded) = self.prior.get(start + k) else { break };
            let expected = params_of(&self.problem.file.params, values);
            if recorded.params != expected || recorded.index != *index {
                self.mismatch = Some(ResumeMismatch {
                    index: *index,
                    recorded: serde_json::to_string(&recorded.params).unwrap_or_default(),
                    expected: serde_json::to_string(&expected).unwrap_or_default(),
                });
                return Vec::new();
            }
            self.seen.entry(keys[k].clone()).or_insert_with(|| recorded.clone());
        }
        let mut fresh: Vec<(String, Vec<Value>)> = Vec::new();
        for (k, (_, v)) in keys.iter().zip(&items) {
            if !self.seen.contains_key(k) && !fresh.iter().any(|(f, _)| f == k) {
                fresh.push((k.clone(), v.clone()));
            }
        }
        let indices: Vec<usize> = items.iter().map(|(i, _)| *i).collect();
        let problem = self.problem;
        let stop = self.stop;
        let evaluate = |(_, values): &(String, Vec<Value>)| (!stop()).then(|| problem.evaluate(0, values));
        let mut emitted = 0;
        self.hand_out(&keys, &indices, &mut emitted);
        parallel(&fresh, self.threads, &evaluate, &mut |i, e| {
            match e {
                Some(e) => {
                    self.seen.insert(fresh[i].0.clone(), e);
                }
                None => self.stopped = true,
            }
            self.hand_out(&keys, &indices, &mut emitted);
        });
        let objectives = &self.problem.file.objectives;
        self.all[start..].iter().map(|e| e.scored(objectives)).collect()
    }

    /// Hands out the batch's results that complete a prefix, in order.
    fn hand_out(&mut self, keys: &[String], indices: &[usize], emitted: &mut usize) {
        while let (Some(k), Some(index)) = (keys.get(*emitted), indices.get(*emitted)) {
            let Some(found) = self.seen.get(k) else { break };
            let mut e = found.clone();
            e.index = *index;
            let new = self.all.len() >= self.prior.len();
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
    /// Evaluate only this shard's candidates (grid, random and Latin hypercube searches).
    pub shard: Option<Shard>,
}

/// Part `k` of `n` of a search's candidates: those whose number is `k` modulo `n` — every
/// n-th, so each shard gets a like share of cheap and costly candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, `0..n`.
    pub k: usize,
    /// Of how many.
    pub n: usize,
}

impl Shard {
    /// `K/N` (K from 0 to N − 1, as Kubernetes' `JOB_COMPLETION_INDEX`).
    pub fn parse(text: &str) -> Result<Self, BadShard> {
        let parsed = text.split_once('/').and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((k, n)) if n >= 1 && k < n => Ok(Self { k, n }),
            _ => Err(BadShard(text.to_owned())),
        }
    }

    /// Whether candidate `index` is this shard's.
    #[must_use]
    pub const fn holds(self, index: usize) -> bool {
        index % self.n == self.k
    }
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

/// A `--shard` that is not `K/N` with `0 ≤ K < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected K/N with 0 ≤ K < N (e.g. 0/3, as JOB_COMPLETION_INDEX counts), got {0:?}")]
pub struct BadShard(pub String);

/// Why a search (or a merge of shards) cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// The earlier results given to resume from are another search's.
    #[error(transparent)]
    Resume(#[from] ResumeMismatch),
    /// NSGA-II cannot be split: each generation needs the whole previous one.
    #[error(
        "an nsga2 search cannot be split into shards (each generation needs all of the previous one); shard a grid, random or lhs search"
    )]
    ShardedNsga2,
    /// Merging: a candidate no shard has.
    #[error("no shard has candidate #{0}: a shard is missing or did not finish")]
    Missing(usize),
    /// Merging: a candidate in two shards, or beyond the search.
    #[error("candidate #{0} is in two shards, or is not this search's")]
    Duplicate(usize),
}

/// Every candidate of a grid, random or Latin hypercube search, in order (`None` for NSGA-II,
/// whose candidates depend on the results).
#[must_use]
pub fn candidates(file: &OptimizeFile) -> Option<Vec<Vec<Value>>> {
    let dim = file.params.len();
    let mut rng = Rng::new(file.search.seed);
    match file.search.method {
        Method::Grid => grid_points(&file.params),
        Method::Random => {
            Some(random(&mut rng, file.search.budget, dim).iter().map(|u| decode(&file.params, u)).collect())
        }
        Method::Lhs => {
            Some(latin_hypercube(&mut rng, file.search.budget, dim).iter().map(|u| decode(&file.params, u)).collect())
        }
        Method::Nsga2 => None,
    }
}

/// The shards' results joined: exactly what one run of the whole search gives.
pub fn merge(problem: &Problem, shards: Vec<Vec<Evaluation>>) -> Result<Outcome, SearchError> {
    let f = &problem.file;
    let Some(all) = candidates(f) else { return Err(SearchError::ShardedNsga2) };
    let mut slots: Vec<Option<Evaluation>> = vec![None; all.len()];
    for e in shards.into_iter().flatten() {
        let index = e.index;
        let fits = all.get(index).is_some_and(|values| params_of(&f.params, values) == e.params);
        match slots.get_mut(index) {
            Some(slot) if slot.is_none() && fits => *slot = Some(e),
            Some(_) | None => {
                if !fits && index < all.len() {
                    let expected = all.get(index).map(|v| params_of(&f.params, v)).unwrap_or_default();
                    return Err(SearchError::Resume(ResumeMismatch {
                        index,
                        recorded: serde_json::to_string(&e.params).unwrap_or_default(),
                        expected: serde_json::to_string(&expected).unwrap_or_default(),
                    }));
                }
                return Err(SearchError::Duplicate(index));
            }
        }
    }
    let evaluations: Vec<Evaluation> =
        slots.into_iter().enumerate().map(|(i, e)| e.ok_or(SearchError::Missing(i))).collect::<Result<_, _>>()?;
    let scores: Vec<Scored> = evaluations.iter().map(|e| e.scored(&f.objectives)).collect();
    Ok(Outcome { front: front(&scores), evaluations, stopped: false })
}

/// Runs `problem`'s search. `on_result` sees every new evaluation in candidate order (to
/// stream them to a file; earlier results given in `options.prior` are not repeated);
/// `on_progress` after each. A stop ends it early: the outcome holds what finished, in order.
pub fn search(
    problem: &Problem,
    options: Options<'_>,
    on_result: &mut dyn FnMut(&Evaluation),
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, SearchError> {
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
    if options.shard.is_some() && f.search.method == Method::Nsga2 {
        return Err(SearchError::ShardedNsga2);
    }
    let upfront = candidates(&problem.file).unwrap_or_default();
    if f.search.method == Method::Nsga2 {
        let nsga = Nsga2 { population: f.search.population, budget: f.search.budget, seed: f.search.seed };
        let mut next = 0;
        nsga.run(dim, &mut |points| {
            let items: Vec<(usize, Vec<Value>)> =
                points.iter().enumerate().map(|(k, u)| (next + k, decode(&f.params, u))).collect();
            next += points.len();
            let scores = runner.batch(items);
            (!runner.stopped && runner.mismatch.is_none()).then_some(scores)
        });
    }
    if !upfront.is_empty() {
        // A shard takes every n-th candidate, keeping their numbers.
        let items: Vec<(usize, Vec<Value>)> =
            upfront.into_iter().enumerate().filter(|(i, _)| options.shard.is_none_or(|s| s.holds(*i))).collect();
        runner.total = items.len();
        runner.batch(items);
    }
    if let Some(m) = runner.mismatch {
        return Err(SearchError::Resume(m));
    }
    let scores: Vec<Scored> = runner.all.iter().map(|e| e.scored(&f.objectives)).collect();
    let front = front(&scores);
    Ok(Outcome { evaluations: runner.all, front, stopped: runner.stopped })
}
