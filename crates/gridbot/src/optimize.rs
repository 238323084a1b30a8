//! `gridbot optimize`: an optimize file's search on every core, `results.jsonl` streamed in
//! candidate order, `front.json`, `report.html`, the front and the best per objective in the
//! terminal, the walk-forward when the file asks for it (`walk_forward.json`); `--export N
//! OUT.yaml`, candidate N as a complete account file; `merge`, the shards of a search joined.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gridbot_optimize::{
    Evaluation, OptimizeFile, Options, Outcome, Problem, Progress, SetupError, Shard, WalkForwardOutcome, merge,
    search, walk_forward,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Failure;

/// What `gridbot optimize` was asked.
pub(crate) struct OptimizeArgs {
    pub(crate) config: PathBuf,
    pub(crate) out: PathBuf,
    pub(crate) threads: Option<usize>,
    pub(crate) quiet: bool,
    pub(crate) resume: bool,
    pub(crate) shard: Option<Shard>,
    pub(crate) export: Option<(usize, PathBuf)>,
}

fn io(path: &Path, e: &std::io::Error) -> Failure {
    Failure::new(1, format!("{}: {e}", path.display()))
}

fn load(config: &Path) -> Result<Problem, Failure> {
    let file =
        OptimizeFile::load(config).map_err(|e| Failure::new(2, format!("the optimize file is not valid:\n{e}")))?;
    Problem::load(file).map_err(|e| match e {
        SetupError::Config(e) => Failure::new(2, format!("the account file is not valid:\n{e}")),
        other => Failure::new(2, other.to_string()),
    })
}

/// `gridbot optimize`.
pub(crate) fn optimize(args: OptimizeArgs) -> Result<(), Failure> {
    let problem = load(&args.config)?;
    if let Some((index, to)) = &args.export {
        return export(&problem, &args.out, *index, to);
    }
    std::fs::create_dir_all(&args.out).map_err(|e| io(&args.out, &e))?;
    let results_path = args.out.join("results.jsonl");
    let prior = if args.resume { read_results(&results_path)? } else { Vec::new() };
    // Resuming: the results file holds exactly the earlier lines (a line cut by the
    // interruption is dropped), the new ones follow.
    let mut text = String::new();
    for e in &prior {
        text += &serde_json::to_string(e).unwrap_or_default();
        text.push('\n');
    }
    std::fs::write(&results_path, text).map_err(|e| io(&results_path, &e))?;
    let file = std::fs::OpenOptions::new().append(true).open(&results_path).map_err(|e| io(&results_path, &e))?;
    let mut results = std::io::BufWriter::new(file);
    let shutdown = crate::signals::listen().map_err(|e| Failure::new(1, e))?;
    let stop = move || shutdown.requested();
    let resumed = prior.len();
    let mut write_error = None;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let started = Instant::now();
    let bar = ProgressBar::hidden();
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} backtests  {per_sec}  eta {eta}  best {msg}")
    {
        bar.set_style(style);
    }
    let show = !args.quiet && std::io::stderr().is_terminal();
    let first = problem.file.objectives.first().map(ToString::to_string).unwrap_or_default();
    let outcome = search(
        &problem,
        Options { threads, stop: &stop, prior, shard: args.shard },
        &mut |e: &Evaluation| {
            let line = serde_json::to_string(e).unwrap_or_default();
            if let Err(err) = writeln!(results, "{line}").and_then(|()| results.flush()) {
                write_error.get_or_insert(err);
            }
        },
        &mut |p: Progress| {
            bar.set_length(u64::try_from(p.total).unwrap_or(u64::MAX));
            bar.set_position(u64::try_from(p.done).unwrap_or(u64::MAX));
            if let Some(best) = p.best {
                bar.set_message(format!("{first} {best:.4}"));
            }
            if show && bar.is_hidden() && started.elapsed() >= Duration::from_secs(1) {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        },
    )
    .map_err(|e| Failure::new(2, format!("{}: {e}", results_path.display())))?;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(io(&results_path, &e));
    }
    let wall = started.elapsed();
    let front_path = args.out.join("front.json");
    write_front(&problem, &outcome, &front_path)?;
    // Walk-forward validation, when the file asks for it (not for one shard of a search).
    let mut walk = None;
    if let Some(wf) = problem.file.walk_forward.clone()
        && !outcome.stopped
        && args.shard.is_none()
    {
        let bar = ProgressBar::hidden();
        if let Ok(style) =
            ProgressStyle::with_template("walk-forward window {msg}  {bar:30} {pos}/{len} backtests  eta {eta}")
        {
            bar.set_style(style);
        }
        let result = walk_forward(&problem, &wf, threads, &stop, &mut |k, n, p| {
            bar.set_message(format!("{}/{n}", k + 1));
            bar.set_length(u64::try_from(p.total).unwrap_or(u64::MAX));
            bar.set_position(u64::try_from(p.done).unwrap_or(u64::MAX));
            if show && bar.is_hidden() {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        })
        .map_err(|e| Failure::new(2, e.to_string()))?;
        bar.finish_and_clear();
        let path = args.out.join("walk_forward.json");
        let text = serde_json::to_string_pretty(&result).unwrap_or_default();
        std::fs::write(&path, text + "\n").map_err(|e| io(&path, &e))?;
        walk = Some((result, path));
    }
    let report_path = args.out.join("report.html");
    let html = gridbot_optimize::report::report_html(&problem, &outcome, walk.as_ref().map(|(w, _)| w));
    std::fs::write(&report_path, html).map_err(|e| io(&report_path, &e))?;
    if !args.quiet {
        if resumed > 0 {
            outln!("resumed: {resumed} results taken from {}", results_path.display());
        }
        summary(&problem, &outcome, threads, wall);
        if let Some((w, _)) = &walk {
            walk_summary(&problem, w);
        }
        outln!("wrote {}", results_path.display());
        outln!("wrote {}", front_path.display());
        if let Some((_, path)) = &walk {
            outln!("wrote {}", path.display());
        }
        outln!("wrote {}", report_path.display());
    }
    if outcome.stopped || walk.as_ref().is_some_and(|(w, _)| w.stopped) {
        eprintln!(
            "gridbot: stopped after {} of {} backtests; what finished is in {} — run the same command with --resume to go on",
            outcome.evaluations.len(),
            problem.file.search.budget,
            results_path.display()
        );
        return Ok(());
    }
    if outcome.evaluations.iter().all(|e| e.error.is_some()) {
        let why = outcome.evaluations.first().and_then(|e| e.error.clone()).unwrap_or_default();
        return Err(Failure::new(2, format!("no candidate could be backtested; the first: {why}")));
    }
    Ok(())
}

/// The front, sorted by the first objective, with what produced it.
fn write_front(problem: &Problem, outcome: &Outcome, path: &Path) -> Result<(), Failure> {
    let mut front: Vec<&Evaluation> = outcome.front.iter().map(|i| &outcome.evaluations[*i]).collect();
    sort_by_objective(&mut front, problem, 0);
    let doc = serde_json::json!({
        "optimize_file": problem.file.path.display().to_string(),
        "account_file": problem.file.account.display().to_string(),
        "objectives": problem.file.objectives,
        "constraints": problem.file.constraints,
        "search": problem.file.search,
        "evaluated": outcome.evaluations.len(),
        "feasible": outcome.evaluations.iter().filter(|e| e.feasible).count(),
        "failed": outcome.evaluations.iter().filter(|e| e.error.is_some()).count(),
        "front": front,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    std::fs::write(path, text + "\n").map_err(|e| io(path, &e))
}

fn sort_by_objective(list: &mut [&Evaluation], problem: &Problem, k: usize) {
    let Some(o) = problem.file.objectives.get(k) else { return };
    list.sort_by(|a, b| {
        let (x, y) = (o.to_minimise(a.objectives[k]), o.to_minimise(b.objectives[k]));
        x.total_cmp(&y).then(a.index.cmp(&b.index))
    });
}

fn value(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"))
}

fn params_text(e: &Evaluation) -> String {
    e.params.iter().map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k))).collect::<Vec<_>>().join(" ")
}

fn row(e: &Evaluation) -> String {
    let objectives: Vec<String> = e.objectives.iter().map(|v| value(*v)).collect();
    format!("  #{:<5} {}   {}", e.index, objectives.join("  "), params_text(e))
}

fn summary(problem: &Problem, outcome: &Outcome, threads: usize, wall: Duration) {
    let n = outcome.evaluations.len();
    let feasible = outcome.evaluations.iter().filter(|e| e.feasible).count();
    let failed = outcome.evaluations.iter().filter(|e| e.error.is_some()).count();
    #[allow(clippy::cast_precision_loss, reason = "counts")]
    let rate = n as f64 / wall.as_secs_f64().max(1e-9);
    outln!(
        "{n} backtests in {:.1} s on {threads} thread(s) ({rate:.1}/s): {feasible} meet the constraints, {failed} could not run",
        wall.as_secs_f64()
    );
    let names: Vec<String> = problem.file.objectives.iter().map(ToString::to_string).collect();
    outln!("Pareto front ({} sets)   objectives: {}", outcome.front.len(), names.join(", "));
    let mut front: Vec<&Evaluation> = outcome.front.iter().map(|i| &outcome.evaluations[*i]).collect();
    sort_by_objective(&mut front, problem, 0);
    for e in front.iter().take(20) {
        outln!("{}", row(e));
    }
    if front.len() > 20 {
        outln!("  … {} more in front.json", front.len() - 20);
    }
    for (k, o) in problem.file.objectives.iter().enumerate() {
        let mut best: Vec<&Evaluation> = outcome.evaluations.iter().filter(|e| e.feasible).collect();
        sort_by_objective(&mut best, problem, k);
        outln!("best by {o}:");
        for e in best.iter().take(3) {
            outln!("{}", row(e));
        }
    }
    if let Some(e) = front.first() {
        outln!(
            "export one: gridbot optimize --config {} --out DIR --export {} account.yaml",
            problem.file.path.display(),
            e.index
        );
    }
}

/// `gridbot optimize merge`: the shards' results joined, written as one run writes them.
pub(crate) fn merge_shards(config: &Path, out: &Path, shards: &[PathBuf], quiet: bool) -> Result<(), Failure> {
    let problem = load(config)?;
    let mut parts = Vec::new();
    for dir in shards {
        let path = dir.join("results.jsonl");
        if !path.is_file() {
            return Err(Failure::new(
                2,
                format!("{}: no results.jsonl (is it a shard's --out directory?)", dir.display()),
            ));
        }
        parts.push(read_results(&path)?);
    }
    let outcome = merge(&problem, parts).map_err(|e| Failure::new(2, e.to_string()))?;
    std::fs::create_dir_all(out).map_err(|e| io(out, &e))?;
    let results_path = out.join("results.jsonl");
    let mut text = String::new();
    for e in &outcome.evaluations {
        text += &serde_json::to_string(e).unwrap_or_default();
        text.push('\n');
    }
    std::fs::write(&results_path, text).map_err(|e| io(&results_path, &e))?;
    let front_path = out.join("front.json");
    write_front(&problem, &outcome, &front_path)?;
    let report_path = out.join("report.html");
    std::fs::write(&report_path, gridbot_optimize::report::report_html(&problem, &outcome, None))
        .map_err(|e| io(&report_path, &e))?;
    if !quiet {
        outln!("merged {} shard(s): {} results", shards.len(), outcome.evaluations.len());
        outln!("wrote {}", results_path.display());
        outln!("wrote {}", front_path.display());
    }
    Ok(())
}

/// The results an interrupted run wrote, in order; a last line cut short is dropped.
fn read_results(path: &Path) -> Result<Vec<Evaluation>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path, &e)),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Evaluation>(line) {
            Ok(e) => out.push(e),
            Err(_) if n + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => return Err(Failure::new(2, format!("{}:{}: not a result line: {e}", path.display(), n + 1))),
        }
    }
    Ok(out)
}

fn walk_summary(problem: &Problem, w: &WalkForwardOutcome) {
    let day = |ms: i64| gridbot_backtest::iso(ms).chars().take(10).collect::<String>();
    let pick = problem.file.objectives.get(w.settings.pick).map_or_else(String::new, ToString::to_string);
    outln!(
        "walk-forward ({}, train {} d, test {} d, pick {pick}): out of sample, chained: return {:+.2}%, max drawdown {:.2}%",
        if w.settings.anchored { "anchored" } else { "rolling" },
        w.settings.train_days,
        w.settings.test_days,
        w.stitched_return * 100.0,
        w.stitched_max_drawdown * 100.0
    );
    let k = w.settings.pick;
    for win in &w.windows {
        let is = win.chosen.as_ref().and_then(|e| e.objectives.get(k).copied().flatten());
        let oos = win.out_of_sample.get(k).copied().flatten();
        let chosen = win.chosen.as_ref().map_or_else(|| "—".to_owned(), |e| format!("#{} {}", e.index, params_text(e)));
        outln!(
            "  train {}→{}  test {}→{}  in sample {}  out of sample {}   {}{}",
            day(win.train.0),
            day(win.train.1),
            day(win.test.0),
            day(win.test.1),
            value(is),
            value(oos),
            chosen,
            win.error.as_ref().map_or_else(String::new, |e| format!("  ({e})"))
        );
    }
}

/// Writes candidate `index` of `out/results.jsonl` as a complete account file.
fn export(problem: &Problem, out: &Path, index: usize, to: &Path) -> Result<(), Failure> {
    let results = out.join("results.jsonl");
    let file = std::fs::File::open(&results).map_err(|e| {
        Failure::new(2, format!("{}: {e} (run the search first, with the same --out)", results.display()))
    })?;
    let mut found = None;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io(&results, &e))?;
        let e: Evaluation = serde_json::from_str(&line)
            .map_err(|e| Failure::new(2, format!("{}:{}: not a result line: {e}", results.display(), n + 1)))?;
        if e.index == index {
            found = Some(e);
            break;
        }
    }
    let Some(e) = found else {
        return Err(Failure::new(2, format!("{}: no candidate #{index}", results.display())));
    };
    let values = problem
        .values_of(&e)
        .map_err(|why| Failure::new(2, format!("{}: {why} (results of another optimize file?)", results.display())))?;
    let yaml = problem.render(&values).map_err(|e| Failure::new(2, format!("candidate #{index}: {e}")))?;
    let f = &problem.file;
    let mut command = format!("gridbot backtest --config {}", to.display());
    for d in &f.data {
        command += &format!(" --data {d}");
    }
    for (flag, t) in [("--from", f.from_ms), ("--to", f.to_ms)] {
        if let Some(t) = t {
            command += &format!(" {flag} {}", gridbot_backtest::iso(t));
        }
    }
    let header = format!(
        "# Exported by gridbot optimize from {} (candidate #{index}: {}), starting from {}.\n\
         # Reproduce the candidate's backtest:\n#   {command}\n",
        f.path.display(),
        params_text(&e),
        f.account.display()
    );
    std::fs::write(to, header + &yaml).map_err(|e| io(to, &e))?;
    outln!("wrote {} (candidate #{index}: {})", to.display(), params_text(&e));
    outln!("reproduce it: {command}");
    Ok(())
}
