//! A search over the bundled real BTCUSDT minutes: results in candidate order and identical on
//! one thread and two, a front of feasible candidates, NSGA-II reproducible from its seed, and a
//! candidate written out as an account file that `gridbot backtest`'s loader reads back into
//! exactly the same backtest.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use gridbot_backtest::{MarketData, Window, run, settings_of, spec_of, symbol_of};
use gridbot_optimize::{Evaluation, OptimizeFile, Options, Problem, search};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz");

const ACCOUNT: &str = "account_id: opt\ntag: opt\nenvironment: testnet\napi_key: ${K}\napi_secret: ${S}\nsymbols:\n  \
                       - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      \
                       base_qty: \"0.002\"\n      max_levels: 6\n      step_scale_factor: 0.25\n      take_profit: 0.003\n\
                       risk:\n  daily_drawdown_kill: 0.10\nbacktest:\n  balance: 10000\n";

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gridbot-optimize-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("btc.yaml"), ACCOUNT).unwrap();
    d
}

fn file(d: &Path, search: &str) -> OptimizeFile {
    let text = format!(
        "account: btc.yaml\ndata: [{DATA}]\nfrom: 2025-05-20\nto: 2025-05-28\nvary:\n  \
         - field: BTCUSDT.progressive.step_scale_factor\n    range: [0.15, 0.35]\n    step: 0.1\n  \
         - field: BTCUSDT.progressive.take_profit\n    choice: [0.002, 0.004]\nobjectives:\n  - maximise: return\n  \
         - minimise: max_drawdown\nconstraints: {{max_drawdown: 0.5}}\nsearch: {search}\n"
    );
    std::fs::write(d.join("opt.yaml"), text).unwrap();
    OptimizeFile::load(&d.join("opt.yaml")).unwrap()
}

fn opts(threads: usize) -> Options<'static> {
    Options { threads, stop: &|| false, prior: Vec::new(), shard: None }
}

fn lines(evaluations: &[Evaluation]) -> Vec<String> {
    evaluations.iter().map(|e| serde_json::to_string(e).unwrap()).collect()
}

#[test]
fn a_grid_search_is_ordered_identical_on_any_thread_count_and_exports_what_it_ran() {
    let d = dir("grid");
    let problem = Problem::load(file(&d, "{method: grid}")).unwrap();
    let mut streamed = Vec::new();
    let mut last = None;
    let two = search(&problem, opts(2), &mut |e| streamed.push(e.index), &mut |p| last = Some(p)).unwrap();
    assert_eq!(two.evaluations.len(), 6, "3 step scales × 2 take-profits");
    assert_eq!(streamed, (0..6).collect::<Vec<_>>(), "handed out in candidate order");
    assert_eq!(last.map(|p| (p.done, p.total)), Some((6, 6)));
    assert!(two.evaluations.iter().all(|e| e.error.is_none()), "{:?}", two.evaluations);
    assert!(two.evaluations.iter().any(|e| e.metrics["fills"].unwrap_or(0.0) > 0.0), "it traded");
    assert!(!two.front.is_empty());
    let one = search(&problem, opts(1), &mut |_| {}, &mut |_| {}).unwrap();
    assert_eq!(lines(&one.evaluations), lines(&two.evaluations), "the same results on one thread and two");
    assert_eq!(one.front, two.front);

    // Candidate 3 as an account file, read back by the loader `gridbot backtest` uses.
    let chosen = &two.evaluations[3];
    let values: Vec<serde_yaml::Value> =
        problem.file.params.iter().map(|p| serde_yaml::to_value(&chosen.params[&p.field]).unwrap()).collect();
    let yaml = problem.render(&values).unwrap();
    std::fs::write(d.join("export.yaml"), &yaml).unwrap();
    let account = gridbot_config::load_account_for_backtest(&d.join("export.yaml")).unwrap();
    let symbols = vec![account.symbols[0].symbol.clone()];
    let data = MarketData::load(&[symbol_of(DATA, &symbols).unwrap()]).unwrap();
    let window = Window { from_ms: problem.file.from_ms, to_ms: problem.file.to_ms };
    let again = run(&spec_of(&account), &data, &settings_of(&account.backtest).unwrap(), window, &mut |_| {}).unwrap();
    assert_eq!(Some(again.metrics.total_return), chosen.metrics["return"], "the export reproduces the candidate");
    assert_eq!(Some(again.metrics.max_drawdown.depth), chosen.metrics["max_drawdown"]);
}

#[test]
fn nsga2_and_latin_hypercube_are_reproducible_from_their_seed() {
    let d = dir("seeded");
    for method in ["{method: nsga2, seed: 3, budget: 8, population: 4}", "{method: lhs, seed: 3, budget: 4}"] {
        let problem = Problem::load(file(&d, method)).unwrap();
        let a = search(&problem, opts(2), &mut |_| {}, &mut |_| {}).unwrap();
        let b = search(&problem, opts(1), &mut |_| {}, &mut |_| {}).unwrap();
        assert_eq!(lines(&a.evaluations), lines(&b.evaluations), "{method}");
        assert_eq!(a.evaluations.len(), problem.file.search.budget, "{method}");
    }
}

#[test]
fn a_field_the_account_file_does_not_have_is_refused_before_anything_runs() {
    let d = dir("bad");
    let text = format!(
        "account: btc.yaml\ndata: [{DATA}]\nvary:\n  - field: ETHUSDT.progressive.max_levels\n    choice: [3]\n\
         objectives:\n  - maximise: return\n"
    );
    std::fs::write(d.join("opt.yaml"), text).unwrap();
    let err = Problem::load(OptimizeFile::load(&d.join("opt.yaml")).unwrap()).unwrap_err().to_string();
    assert!(err.contains("the account file trades no ETHUSDT"), "{err}");
    let typo = format!(
        "account: btc.yaml\ndata: [{DATA}]\nvary:\n  - field: BTCUSDT.progressive.max_levls\n    choice: [3]\n\
         objectives:\n  - maximise: return\n"
    );
    std::fs::write(d.join("opt.yaml"), typo).unwrap();
    let err = Problem::load(OptimizeFile::load(&d.join("opt.yaml")).unwrap()).unwrap_err().to_string();
    assert!(err.contains("max_levls"), "{err}");
    let early = format!(
        "account: btc.yaml\ndata: [{DATA}]\nfrom: 2025-05-10\nvary:\n  - field: BTCUSDT.progressive.max_levels\n    choice: [3]\n\
         objectives:\n  - maximise: return\n"
    );
    std::fs::write(d.join("opt.yaml"), early).unwrap();
    let err = Problem::load(OptimizeFile::load(&d.join("opt.yaml")).unwrap()).unwrap_err().to_string();
    assert!(err.contains("needs 15 days of history before the start"), "{err}");
}

#[test]
fn the_example_optimize_file_loads_with_its_account_file_and_data() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/optimize-example.yaml"));
    let problem = Problem::load(OptimizeFile::load(path).unwrap()).unwrap();
    assert_eq!(problem.file.params.len(), 4);
    assert_eq!(problem.data.series.len(), 2);
}

#[test]
fn a_stopped_search_keeps_what_finished_and_resumes_to_the_uninterrupted_results() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let d = dir("resume");
    let problem = Problem::load(file(&d, "{method: nsga2, seed: 4, budget: 8, population: 4}")).unwrap();
    let whole = search(&problem, opts(2), &mut |_| {}, &mut |_| {}).unwrap();
    assert!(!whole.stopped);
    // Stopped as the fourth backtest would start (one thread: three ran; a repeated candidate
    // costs no backtest and may follow them).
    let started = AtomicUsize::new(0);
    let stop = || started.fetch_add(1, Ordering::SeqCst) >= 3;
    let mut written = Vec::new();
    let options = Options { threads: 1, stop: &stop, prior: Vec::new(), shard: None };
    let part = search(&problem, options, &mut |e| written.push(e.clone()), &mut |_| {}).unwrap();
    assert!(part.stopped);
    let done = part.evaluations.len();
    assert!((3..8).contains(&done), "what finished, in order: {done}");
    assert_eq!(lines(&written), lines(&whole.evaluations[..done]));
    // Resumed from what was written: only the rest is run, and the end is the same.
    let mut more = Vec::new();
    let options = Options { threads: 2, stop: &|| false, prior: written.clone(), shard: None };
    let resumed = search(&problem, options, &mut |e| more.push(e.index), &mut |_| {}).unwrap();
    assert_eq!(more, (done..8).collect::<Vec<_>>(), "the earlier results are not written again");
    assert_eq!(lines(&resumed.evaluations), lines(&whole.evaluations));
    assert_eq!(resumed.front, whole.front);
    // Results of another search are refused.
    let other = Problem::load(file(&d, "{method: nsga2, seed: 5, budget: 8, population: 4}")).unwrap();
    let options = Options { threads: 1, stop: &|| false, prior: written, shard: None };
    let err = search(&other, options, &mut |_| {}, &mut |_| {}).unwrap_err();
    assert!(matches!(&err, gridbot_optimize::SearchError::Resume(m) if m.index == 0), "{err}");
}

#[test]
fn shards_of_two_and_of_three_merge_into_exactly_the_single_run() {
    use gridbot_optimize::{SearchError, Shard, merge};
    let d = dir("shards");
    let problem = Problem::load(file(&d, "{method: lhs, seed: 2, budget: 7}")).unwrap();
    let whole = search(&problem, opts(2), &mut |_| {}, &mut |_| {}).unwrap();
    for n in [2, 3] {
        let mut parts = Vec::new();
        for k in 0..n {
            let options = Options { threads: 1, stop: &|| false, prior: Vec::new(), shard: Some(Shard { k, n }) };
            let part = search(&problem, options, &mut |_| {}, &mut |_| {}).unwrap();
            assert!(part.evaluations.iter().all(|e| e.index % n == k), "shard {k}/{n} keeps the candidates' numbers");
            parts.push(part.evaluations);
        }
        let merged = merge(&problem, parts.clone()).unwrap();
        assert_eq!(lines(&merged.evaluations), lines(&whole.evaluations), "{n} shards");
        assert_eq!(merged.front, whole.front);
        parts.pop();
        assert!(matches!(merge(&problem, parts), Err(SearchError::Missing(_))), "a missing shard is said");
    }
    assert_eq!(Shard::parse("2/3"), Ok(Shard { k: 2, n: 3 }));
    assert!(Shard::parse("3/3").is_err() && Shard::parse("x").is_err());
    let nsga = Problem::load(file(&d, "{method: nsga2, seed: 2, budget: 8, population: 4}")).unwrap();
    let options = Options { threads: 1, stop: &|| false, prior: Vec::new(), shard: Some(Shard { k: 0, n: 2 }) };
    assert_eq!(search(&nsga, options, &mut |_| {}, &mut |_| {}).unwrap_err(), SearchError::ShardedNsga2);
}

#[test]
fn walk_forward_searches_each_train_window_and_scores_its_pick_on_the_next() {
    use gridbot_optimize::walk_forward;
    let d = dir("walk");
    let f = file(&d, "{method: grid}");
    let text = std::fs::read_to_string(&f.path).unwrap().replace("to: 2025-05-28", "to: 2025-06-03")
        + "walk_forward: {train_days: 4, test_days: 3, mode: rolling, pick: return}\n";
    std::fs::write(&f.path, text).unwrap();
    let problem = Problem::load(OptimizeFile::load(&f.path).unwrap()).unwrap();
    let wf = problem.file.walk_forward.clone().unwrap();
    let mut seen = Vec::new();
    let outcome = walk_forward(&problem, &wf, 2, &|| false, &mut |k, n, _| seen.push((k, n))).unwrap();
    // 2025-05-20 .. 2025-06-03: 14 days → train 4 / test 3, sliding by 3: tests at days 4, 7, 10.
    assert_eq!(outcome.windows.len(), 4, "{:?}", outcome.windows.iter().map(|w| (w.train, w.test)).collect::<Vec<_>>());
    assert_eq!(seen.last().map(|(_, n)| *n), Some(4));
    for w in &outcome.windows {
        assert_eq!(w.train.1, w.test.0, "each test window follows its train window");
        assert!(w.error.is_none(), "{:?}", w.error);
        let chosen = w.chosen.as_ref().unwrap();
        assert!(chosen.feasible);
        assert!(w.out_of_sample[0].is_some() && w.test_return == w.out_of_sample[0]);
    }
    assert!(outcome.stitched.windows(2).all(|p| p[0].0 <= p[1].0), "stitched in time order");
    // The report draws it all: objectives, each field against each objective, the walk-forward.
    let whole = search(&problem, opts(2), &mut |_| {}, &mut |_| {}).unwrap();
    let html = gridbot_optimize::report::report_html(&problem, &whole, Some(&outcome));
    for id in [
        "id=\"objectives\"",
        "id=\"field-0-objective-1\"",
        "id=\"field-1-objective-0\"",
        "id=\"walk-forward\"",
        "id=\"walk-forward-equity\"",
    ] {
        assert!(html.contains(id), "report.html lacks {id}");
    }
    assert!(html.matches("<tr><td>").count() >= whole.front.len() + outcome.windows.len(), "a row per set and window");
    assert!(!html.contains("<script"), "no script");
    let kept = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/optimize-report-lib.html"));
    std::fs::write(kept, &html).unwrap();
    let product: f64 = outcome.windows.iter().map(|w| 1.0 + w.test_return.unwrap()).product();
    assert!(
        (outcome.stitched_return - (product - 1.0)).abs() < 1e-9,
        "compounded: {} vs {}",
        outcome.stitched_return,
        product - 1.0
    );
}
