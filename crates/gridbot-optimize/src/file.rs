//! The optimize file: which account file to start from, the data, what varies, the
//! objectives, the constraints and the search. Every mistake is reported with the file, the
//! line, the field and what was expected — all of them at once, before anything runs.
//!
//! ```yaml
//! account: btc.yaml                 # the account file (paths resolve beside this file)
//! data: [data/BTCUSDT_1m.csv.gz]    # as `gridbot backtest --data`: FILE or SYMBOL=FILE
//! from: 2025-05-20                  # optional window
//! vary:
//!   - field: BTCUSDT.progressive.step_scale_factor
//!     range: [0.1, 0.5]
//!     step: 0.05                    # without a step: continuous (a grid needs `steps: n`)
//!   - field: BTCUSDT.progressive.take_profit
//!     log_range: [0.001, 0.01]
//!     steps: 5
//!   - field: BTCUSDT.progressive.max_levels
//!     choice: [4, 5, 6]
//! objectives:
//!   - maximise: return
//!   - minimise: max_drawdown
//! constraints: {no_liquidation: true, max_drawdown: 0.3, min_cycles: 10}
//! search: {method: nsga2, seed: 7, budget: 400, population: 40}
//! walk_forward: {train_days: 30, test_days: 10, mode: rolling, pick: return}   # optional
//! ```

use std::path::{Path, PathBuf};

use gridbot_config::{ConfigError, ConfigErrors, LineIndex};
use serde_yaml::Value;

use crate::objective::{Constraints, Direction, METRICS, Objective, is_metric};
use crate::space::{Domain, Param, grid_size};

/// How candidates are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every point of the grid.
    Grid,
    /// Uniform random points.
    Random,
    /// A Latin hypercube.
    Lhs,
    /// NSGA-II.
    Nsga2,
}

/// The search's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Search {
    /// How.
    pub method: Method,
    /// Seed (random, Latin hypercube, NSGA-II).
    pub seed: u64,
    /// Evaluations.
    pub budget: usize,
    /// NSGA-II's population.
    pub population: usize,
}

/// Walk-forward validation: the window is cut into train/test pairs; each train window is
/// searched, the best candidate by `pick` is backtested on the test window that follows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WalkForward {
    /// Days of each train window (anchored: of the first; later ones grow from the start).
    pub train_days: u32,
    /// Days of each test window.
    pub test_days: u32,
    /// Anchored (every train window starts at the beginning) rather than rolling.
    pub anchored: bool,
    /// The objective whose best feasible candidate goes to the test window (index into the
    /// objectives).
    pub pick: usize,
}

/// A validated optimize file.
#[derive(Debug, Clone)]
pub struct OptimizeFile {
    /// The file.
    pub path: PathBuf,
    /// The account file it starts from.
    pub account: PathBuf,
    /// Data arguments (`FILE` or `SYMBOL=FILE`), paths resolved.
    pub data: Vec<String>,
    /// Window start, UTC ms.
    pub from_ms: Option<i64>,
    /// Window end, UTC ms.
    pub to_ms: Option<i64>,
    /// What varies.
    pub params: Vec<Param>,
    /// The objectives.
    pub objectives: Vec<Objective>,
    /// The constraints.
    pub constraints: Constraints,
    /// The search.
    pub search: Search,
    /// Walk-forward validation, when asked for.
    pub walk_forward: Option<WalkForward>,
}

const TOP_LEVEL: &[&str] =
    &["account", "data", "from", "to", "vary", "objectives", "constraints", "search", "walk_forward"];
const WALK_KEYS: &[&str] = &["train_days", "test_days", "mode", "pick"];
const PARAM_KEYS: &[&str] = &["field", "range", "log_range", "step", "steps", "choice"];
const CONSTRAINT_KEYS: &[&str] = &["no_liquidation", "max_drawdown", "min_cycles", "min_return", "max_margin_use"];
const SEARCH_KEYS: &[&str] = &["method", "seed", "budget", "population"];

/// Collects problems with their lines.
struct Problems<'a> {
    file: &'a Path,
    index: LineIndex,
    list: Vec<ConfigError>,
}

impl Problems<'_> {
    fn at(&mut self, field: &str, message: impl Into<String>) {
        let line = self.index.line(field);
        self.list.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            field: Some(field.to_owned()),
            message: message.into(),
        });
    }

    fn unknown_keys(&mut self, at: &str, map: &serde_yaml::Mapping, known: &[&str]) {
        for k in map.keys() {
            let name = k.as_str().unwrap_or("?");
            if !known.contains(&name) {
                let path = if at.is_empty() { name.to_owned() } else { format!("{at}.{name}") };
                self.at(&path, format!("unknown field; expected one of: {}", known.join(", ")));
            }
        }
    }
}

fn resolve(base: &Path, text: &str) -> PathBuf {
    let p = PathBuf::from(text);
    if p.is_absolute() { p } else { base.join(p) }
}

/// A value as the file would write it.
fn shown(v: &Value) -> String {
    serde_yaml::to_string(v).map_or_else(|_| format!("{v:?}"), |t| t.trim().to_owned())
}

fn as_f64(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn parse_param(p: &mut Problems<'_>, at: &str, v: &Value) -> Option<Param> {
    let Some(map) = v.as_mapping() else {
        p.at(at, "expected a mapping: {field: …, range: [lo, hi], step: …} or log_range or choice");
        return None;
    };
    p.unknown_keys(at, map, PARAM_KEYS);
    let Some(field) = v.get("field").and_then(Value::as_str).map(str::to_owned) else {
        p.at(&format!("{at}.field"), "required: the account file's field to vary, e.g. BTCUSDT.progressive.max_levels");
        return None;
    };
    let kinds = ["range", "log_range", "choice"].iter().filter(|k| v.get(**k).is_some()).count();
    if kinds != 1 {
        p.at(at, "give exactly one of range: [lo, hi], log_range: [lo, hi] or choice: [a, b, …]");
        return None;
    }
    let steps = match v.get("steps") {
        None => None,
        Some(s) => match s.as_u64().and_then(|n| usize::try_from(n).ok()).filter(|n| *n >= 2) {
            Some(n) => Some(n),
            None => {
                p.at(&format!("{at}.steps"), format!("expected a whole number ≥ 2 of grid values, got {}", shown(s)));
                return None;
            }
        },
    };
    let pair = |p: &mut Problems<'_>, name: &str| -> Option<(f64, f64, bool)> {
        let list = v.get(name).and_then(Value::as_sequence);
        let nums: Option<Vec<f64>> = list.map(|l| l.iter().map(as_f64).collect()).unwrap_or(None);
        match nums.as_deref() {
            Some([lo, hi]) if lo < hi => {
                let ints = list.is_some_and(|l| l.iter().all(|x| x.as_i64().is_some()));
                Some((*lo, *hi, ints))
            }
            _ => {
                p.at(&format!("{at}.{name}"), "expected [lo, hi] with two numbers, lo < hi");
                None
            }
        }
    };
    let domain = if let Some(list) = v.get("choice") {
        match list.as_sequence() {
            Some(l) if !l.is_empty() => Domain::Choice(l.clone()),
            _ => {
                p.at(&format!("{at}.choice"), "expected a non-empty list of values");
                return None;
            }
        }
    } else if v.get("log_range").is_some() {
        let (lo, hi, _) = pair(p, "log_range")?;
        if lo <= 0.0 {
            p.at(&format!("{at}.log_range"), "a log range needs lo > 0");
            return None;
        }
        if v.get("step").is_some() {
            p.at(&format!("{at}.step"), "a log range takes `steps: n` (values in a grid), not a step");
            return None;
        }
        Domain::LogUniform { lo, hi, steps }
    } else {
        let (lo, hi, ints) = pair(p, "range")?;
        match v.get("step") {
            None => Domain::Uniform { lo, hi, steps },
            Some(s) => {
                let Some(step) = as_f64(s).filter(|x| *x > 0.0) else {
                    p.at(&format!("{at}.step"), format!("expected a positive number, got {}", shown(s)));
                    return None;
                };
                if steps.is_some() {
                    p.at(&format!("{at}.steps"), "give a step or a number of steps, not both");
                    return None;
                }
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "checked positive, bounded below"
                )]
                let count = ((hi - lo) / step + 1e-9).floor() as usize + 1;
                if count > 1_000_000 {
                    p.at(&format!("{at}.step"), format!("{count} values: too fine a step"));
                    return None;
                }
                Domain::Lattice { lo, step, count, integer: ints && s.as_i64().is_some() }
            }
        }
    };
    Some(Param { field, domain })
}

fn parse_objective(p: &mut Problems<'_>, at: &str, v: &Value) -> Option<Objective> {
    let entry = v.as_mapping().filter(|m| m.len() == 1).and_then(|m| m.iter().next());
    let Some((k, m)) = entry else {
        p.at(at, "expected one of {maximise: METRIC} or {minimise: METRIC}");
        return None;
    };
    let direction = match k.as_str() {
        Some("maximise" | "maximize") => Direction::Maximise,
        Some("minimise" | "minimize") => Direction::Minimise,
        _ => {
            p.at(at, format!("expected maximise or minimise, got {}", shown(k)));
            return None;
        }
    };
    let metric = m.as_str().unwrap_or_default().to_owned();
    if !is_metric(&metric) {
        let names: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
        p.at(at, format!("unknown metric {}; expected one of: {}", shown(m), names.join(", ")));
        return None;
    }
    Some(Objective { metric, direction })
}

fn parse_constraints(p: &mut Problems<'_>, v: Option<&Value>) -> Constraints {
    let mut c = Constraints::default();
    let Some(v) = v else { return c };
    let Some(map) = v.as_mapping() else {
        p.at("constraints", "expected a mapping, e.g. {max_drawdown: 0.3, min_cycles: 10}");
        return c;
    };
    p.unknown_keys("constraints", map, CONSTRAINT_KEYS);
    if let Some(x) = v.get("no_liquidation") {
        match x.as_bool() {
            Some(b) => c.no_liquidation = b,
            None => p.at("constraints.no_liquidation", "expected true or false"),
        }
    }
    let fraction = |p: &mut Problems<'_>, name: &str, lo: f64| -> Option<f64> {
        let x = v.get(name)?;
        let got = as_f64(x).filter(|f| *f >= lo);
        if got.is_none() {
            p.at(&format!("constraints.{name}"), format!("expected a number ≥ {lo}, got {}", shown(x)));
        }
        got
    };
    c.max_drawdown = fraction(p, "max_drawdown", 0.0);
    c.min_return = fraction(p, "min_return", -1.0);
    c.max_margin_use = fraction(p, "max_margin_use", 0.0);
    if let Some(x) = v.get("min_cycles") {
        c.min_cycles = x.as_u64();
        if c.min_cycles.is_none() {
            p.at("constraints.min_cycles", format!("expected a whole number, got {}", shown(x)));
        }
    }
    c
}

fn parse_search(p: &mut Problems<'_>, v: Option<&Value>, params: &[Param]) -> Search {
    let mut s = Search { method: Method::Grid, seed: 1, budget: 0, population: 24 };
    let get = |k: &str| v.and_then(|v| v.get(k));
    if let Some(map) = v.and_then(Value::as_mapping) {
        p.unknown_keys("search", map, SEARCH_KEYS);
    } else if v.is_some() {
        p.at("search", "expected a mapping, e.g. {method: nsga2, seed: 1, budget: 500}");
    }
    if let Some(m) = get("method") {
        s.method = match m.as_str() {
            Some("grid") => Method::Grid,
            Some("random") => Method::Random,
            Some("lhs" | "latin_hypercube") => Method::Lhs,
            Some("nsga2" | "nsga-ii") => Method::Nsga2,
            _ => {
                p.at("search.method", format!("expected grid, random, lhs or nsga2, got {}", shown(m)));
                Method::Grid
            }
        };
    }
    let whole = |p: &mut Problems<'_>, k: &str| -> Option<u64> {
        let x = get(k)?;
        let got = x.as_u64();
        if got.is_none() {
            p.at(&format!("search.{k}"), format!("expected a whole number, got {}", shown(x)));
        }
        got
    };
    s.seed = whole(p, "seed").unwrap_or(1);
    let budget = whole(p, "budget").and_then(|b| usize::try_from(b).ok());
    let population = whole(p, "population").and_then(|b| usize::try_from(b).ok());
    match s.method {
        Method::Grid => match grid_size(params) {
            None => {
                let continuous = params.iter().find(|x| x.domain.grid().is_none()).map_or("", |x| x.field.as_str());
                p.at(
                    "search.method",
                    format!("a grid needs every range to have a step or steps ({continuous} has neither)"),
                );
            }
            Some(n) => {
                if let Some(b) = budget
                    && n > b
                {
                    p.at(
                        "search.budget",
                        format!("the grid has {n} points, more than the budget {b}: coarsen it or raise the budget"),
                    );
                }
                s.budget = n;
            }
        },
        _ => match budget.filter(|b| *b > 0) {
            Some(b) => s.budget = b,
            None => p.at("search.budget", "required for random, lhs and nsga2: how many backtests to run"),
        },
    }
    if let Some(n) = population {
        if s.method != Method::Nsga2 {
            p.at("search.population", "only nsga2 has a population");
        } else if n < 4 || n % 2 == 1 {
            p.at("search.population", format!("expected an even number ≥ 4, got {n}"));
        } else {
            s.population = n;
        }
    }
    if s.method == Method::Nsga2 && s.budget > 0 && s.population > s.budget {
        p.at("search.budget", format!("smaller than one generation ({} individuals)", s.population));
    }
    s
}

fn parse_walk_forward(p: &mut Problems<'_>, v: Option<&Value>, objectives: &[Objective]) -> Option<WalkForward> {
    let v = v?;
    let Some(map) = v.as_mapping() else {
        p.at("walk_forward", "expected a mapping, e.g. {train_days: 30, test_days: 10, mode: rolling}");
        return None;
    };
    p.unknown_keys("walk_forward", map, WALK_KEYS);
    let days = |p: &mut Problems<'_>, k: &str| -> Option<u32> {
        let got = v.get(k).and_then(Value::as_u64).and_then(|d| u32::try_from(d).ok()).filter(|d| *d >= 1);
        if got.is_none() {
            p.at(&format!("walk_forward.{k}"), "required: a whole number of days ≥ 1");
        }
        got
    };
    let (train_days, test_days) = (days(p, "train_days"), days(p, "test_days"));
    let anchored = match v.get("mode").map(|m| m.as_str()) {
        None | Some(Some("rolling")) => false,
        Some(Some("anchored")) => true,
        Some(_) => {
            p.at("walk_forward.mode", "expected rolling (train windows slide) or anchored (they grow from the start)");
            false
        }
    };
    let pick = match v.get("pick") {
        None => 0,
        Some(m) => match objectives.iter().position(|o| Some(o.metric.as_str()) == m.as_str()) {
            Some(i) => i,
            None => {
                p.at("walk_forward.pick", format!("expected one of the objectives' metrics, got {}", shown(m)));
                0
            }
        },
    };
    Some(WalkForward { train_days: train_days?, test_days: test_days?, anchored, pick })
}

impl OptimizeFile {
    /// Reads and checks `path` (the account file itself is checked when loaded).
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let fail = |line: Option<usize>, message: String| {
            ConfigErrors(vec![ConfigError { file: path.to_path_buf(), line, field: None, message }])
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(None, format!("cannot read: {e}")))?;
        gridbot_core::yaml::check_shape(&text).map_err(|e| fail(None, e.to_string()))?;
        let doc: Value =
            serde_yaml::from_str(&text).map_err(|e| fail(e.location().map(|l| l.line()), e.to_string()))?;
        Self::parse(path, &text, &doc)
    }

    fn parse(path: &Path, text: &str, doc: &Value) -> Result<Self, ConfigErrors> {
        let mut p = Problems { file: path, index: LineIndex::new(text), list: Vec::new() };
        let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let Some(map) = doc.as_mapping() else {
            p.at("", "expected a mapping with account, data, vary, objectives");
            return Err(ConfigErrors(p.list));
        };
        p.unknown_keys("", map, TOP_LEVEL);
        let account = match doc.get("account").and_then(Value::as_str) {
            Some(a) => resolve(&base, a),
            None => {
                p.at("account", "required: the account file to start from (as for gridbot backtest --config)");
                PathBuf::new()
            }
        };
        let mut data = Vec::new();
        match doc.get("data").and_then(Value::as_sequence) {
            Some(list) if !list.is_empty() => {
                for (i, d) in list.iter().enumerate() {
                    match d.as_str() {
                        Some(s) => data.push(match s.split_once('=') {
                            Some((sym, file)) if !sym.contains('/') => {
                                format!("{sym}={}", resolve(&base, file).display())
                            }
                            _ => resolve(&base, s).display().to_string(),
                        }),
                        None => p.at(&format!("data[{i}]"), "expected a file path (or SYMBOL=FILE)"),
                    }
                }
            }
            _ => p.at("data", "required: a list of candle files, one per symbol (FILE or SYMBOL=FILE)"),
        }
        let time = |p: &mut Problems<'_>, k: &str| -> Option<i64> {
            let v = doc.get(k)?;
            let text = match v {
                Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other).unwrap_or_default().trim().to_owned(),
            };
            let t = gridbot_core::time::parse_utc(&text);
            if t.is_none() {
                p.at(k, format!("expected a UTC date like 2025-05-20 or 2025-05-20T12:00, got {text:?}"));
            }
            t
        };
        let from_ms = time(&mut p, "from");
        let to_ms = time(&mut p, "to");
        let mut params = Vec::new();
        match doc.get("vary").and_then(Value::as_sequence) {
            Some(list) if !list.is_empty() => {
                for (i, v) in list.iter().enumerate() {
                    if let Some(param) = parse_param(&mut p, &format!("vary[{i}]"), v) {
                        if params.iter().any(|q: &Param| q.field == param.field) {
                            p.at(&format!("vary[{i}].field"), format!("{} is varied twice", param.field));
                        }
                        params.push(param);
                    }
                }
            }
            _ => p.at(
                "vary",
                "required: a list of fields to vary, e.g. - {field: BTCUSDT.progressive.max_levels, choice: [4, 5, 6]}",
            ),
        }
        let mut objectives = Vec::new();
        match doc.get("objectives").and_then(Value::as_sequence) {
            Some(list) if !list.is_empty() => {
                for (i, v) in list.iter().enumerate() {
                    if let Some(o) = parse_objective(&mut p, &format!("objectives[{i}]"), v) {
                        objectives.push(o);
                    }
                }
            }
            _ => p.at("objectives", "required: e.g. - maximise: return  - minimise: max_drawdown"),
        }
        let constraints = parse_constraints(&mut p, doc.get("constraints"));
        let search = parse_search(&mut p, doc.get("search"), &params);
        let walk_forward = parse_walk_forward(&mut p, doc.get("walk_forward"), &objectives);
        if !p.list.is_empty() {
            return Err(ConfigErrors(p.list));
        }
        Ok(Self {
            path: path.to_path_buf(),
            account,
            data,
            from_ms,
            to_ms,
            params,
            objectives,
            constraints,
            search,
            walk_forward,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OptimizeFile, ConfigErrors> {
        let doc: Value = serde_yaml::from_str(text).unwrap();
        OptimizeFile::parse(Path::new("/x/opt.yaml"), text, &doc)
    }

    const GOOD: &str = "account: btc.yaml\ndata: [btc.csv.gz]\nvary:\n  - field: BTCUSDT.progressive.max_levels\n    \
                        range: [3, 6]\n    step: 1\n  - field: BTCUSDT.progressive.take_profit\n    log_range: [0.001, 0.01]\n    \
                        steps: 3\nobjectives:\n  - maximise: return\n  - minimise: max_drawdown\n";

    #[test]
    fn a_good_file_resolves_paths_and_sizes_its_grid() {
        let f = parse(GOOD).unwrap();
        assert_eq!(f.account, PathBuf::from("/x/btc.yaml"));
        assert_eq!(f.data, vec!["/x/btc.csv.gz".to_owned()]);
        assert_eq!(f.search.method, Method::Grid);
        assert_eq!(f.search.budget, 12);
        assert_eq!(f.params[0].domain, Domain::Lattice { lo: 3.0, step: 1.0, count: 4, integer: true });
        assert_eq!(f.objectives[1].to_string(), "min max_drawdown");
        assert!(f.constraints.no_liquidation);
    }

    #[test]
    fn every_mistake_is_named_with_its_line_and_field() {
        let text = "account: a.yaml\ndata: [d.csv]\nvary:\n  - field: BTCUSDT.progressive.x\n    range: [5, 1]\n  \
                    - field: risk.y\n    log_range: [0, 1]\n    steps: 3\nobjectives:\n  - maximise: retrun\n\
                    search:\n  method: nsga2\n  population: 5\nextra: 1\n";
        let errors = parse(text).unwrap_err();
        let shown = errors.to_string();
        for expected in [
            "/x/opt.yaml:5: vary[0].range: expected [lo, hi] with two numbers, lo < hi",
            "/x/opt.yaml:7: vary[1].log_range: a log range needs lo > 0",
            "/x/opt.yaml:10: objectives[0]: unknown metric",
            "/x/opt.yaml:13: search.population: expected an even number ≥ 4, got 5",
            "search.budget: required for random, lhs and nsga2",
            "/x/opt.yaml:14: extra: unknown field",
        ] {
            assert!(shown.contains(expected), "missing {expected:?} in:\n{shown}");
        }
    }

    #[test]
    fn a_grid_larger_than_its_budget_or_continuous_is_refused() {
        let big = format!("{GOOD}search: {{method: grid, budget: 5}}\n");
        assert!(parse(&big).unwrap_err().to_string().contains("the grid has 12 points, more than the budget 5"));
        let continuous = GOOD.replace("    steps: 3\n", "");
        assert!(parse(&continuous).unwrap_err().to_string().contains("needs every range to have a step or steps"));
    }
}
