//! # gridbot-optimize
//!
//! Parameter search over the backtester: which grid settings (step scale, levels, take-profit,
//! classic spacing, risk limits — any field of the account file) would have done best over
//! history, by the objectives the trader chooses, without over-trusting one lucky run.
//!
//! - [`mod@file`]: the optimize file (account file, data, what varies, objectives, constraints,
//!   search), checked with file, line and field for every mistake.
//! - [`space`]: the fields and their domains; candidates are points of the unit cube.
//! - [`sample`], [`nsga2`]: grid, random, Latin hypercube and NSGA-II (tested on ZDT1–3).
//! - [`apply`]: a candidate written into the account file, read by the same loader as live
//!   trading and `gridbot backtest` — so an exported candidate reproduces bit for bit.
//! - [`mod@search`]: every backtest on every core, results in candidate order whatever the thread
//!   count (same seed, same output file).
//! - [`walk`]: walk-forward validation — each train window searched, its pick scored on the
//!   test window after it, the out-of-sample equity stitched.
//! - [`pareto`], [`objective`], [`evaluation`]: constrained domination, fronts, the record of
//!   each candidate.
//!
//! ```no_run
//! use gridbot_optimize::{OptimizeFile, Options, Problem, search};
//! let file = OptimizeFile::load("config/optimize-example.yaml".as_ref())?;
//! let problem = Problem::load(file)?;
//! let options = Options { threads: 2, stop: &|| false, prior: Vec::new(), shard: None };
//! let outcome = search(&problem, options, &mut |_| {}, &mut |_| {})?;
//! for i in &outcome.front {
//!     println!("{:?}", outcome.evaluations[*i].params);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod apply;
pub mod evaluation;
pub mod file;
pub mod nsga2;
pub mod objective;
pub mod pareto;
pub mod report;
pub mod sample;
pub mod search;
pub mod space;
pub mod walk;

pub use apply::{AccountTemplate, CandidateError, FieldError};
pub use evaluation::Evaluation;
pub use file::{Method, OptimizeFile, Search, WalkForward};
pub use objective::{Constraints, Direction, Objective};
pub use search::{
    BadShard, Options, Outcome, Problem, Progress, ResumeMismatch, SearchError, SetupError, Shard, candidates, merge,
    search,
};
pub use walk::{WalkForwardOutcome, WindowResult, walk_forward};
