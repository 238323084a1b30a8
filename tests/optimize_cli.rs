//! `gridbot optimize` as a user runs it: a small grid over the bundled minutes on one thread
//! and on two (the same results file, byte for byte), the front in the terminal, candidate N
//! exported as an account file that `gridbot config check` accepts and `gridbot backtest`
//! reproduces to the last digit; mistakes exit 2 naming the file, the line and the field.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

#[path = "support/chromium.rs"]
mod chromium;

use std::path::{Path, PathBuf};

use chromium::chromium;
use std::process::{Command, Output};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn gridbot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridbot"))
        .current_dir(ROOT)
        .env_remove("BYBIT_API_KEY")
        .env_remove("BYBIT_API_SECRET")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn dir(tag: &str) -> PathBuf {
    let d = Path::new(ROOT).join("target/test-optimize").join(tag);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const DATA: &str = "data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz";

fn write_files(d: &Path) -> PathBuf {
    std::fs::write(
        d.join("btc.yaml"),
        "account_id: opt\ntag: opt\nenvironment: testnet\napi_key: ${BYBIT_API_KEY}\napi_secret: ${BYBIT_API_SECRET}\n\
         symbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      \
         base_qty: \"0.002\"\n      max_levels: 6\n      step_scale_factor: 0.25\n      take_profit: 0.003\n\
         backtest:\n  balance: 10000\n",
    )
    .unwrap();
    let opt = d.join("opt.yaml");
    std::fs::write(
        &opt,
        format!(
            "account: btc.yaml\ndata: [{ROOT}/{DATA}]\nfrom: 2025-05-20\nto: 2025-05-26\nvary:\n  \
             - field: BTCUSDT.progressive.step_scale_factor\n    range: [0.15, 0.35]\n    step: 0.1\n  \
             - field: BTCUSDT.progressive.max_levels\n    choice: [4, 6]\nobjectives:\n  - maximise: return\n  \
             - minimise: max_drawdown\nsearch: {{method: grid}}\n"
        ),
    )
    .unwrap();
    opt
}

#[test]
fn a_search_is_the_same_on_one_thread_and_two_and_its_export_reproduces() {
    let d = dir("grid");
    let opt = write_files(&d);
    let (one, two) = (d.join("one"), d.join("two"));
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&one), "--threads", "1"]);
    assert!(run.status.success(), "{}", text(&run));
    let shown = text(&run);
    assert!(shown.contains("6 backtests in") && shown.contains("Pareto front ("), "{shown}");
    assert!(shown.contains("best by max return:") && shown.contains("best by min max_drawdown:"), "{shown}");
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&two), "--threads", "2", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(run.stdout.is_empty(), "--quiet prints nothing: {}", text(&run));
    let results = std::fs::read(one.join("results.jsonl")).unwrap();
    assert_eq!(results, std::fs::read(two.join("results.jsonl")).unwrap(), "1 thread and 2: the same bytes");
    let lines: Vec<serde_json::Value> =
        String::from_utf8(results).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines.iter().map(|l| l["index"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 5]);
    let front: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(one.join("front.json")).unwrap()).unwrap();
    assert!(!front["front"].as_array().unwrap().is_empty());

    // Candidate 3 as an account file: checked, then backtested to the same figures.
    let exported = d.join("best.yaml");
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&one), "--export", "3", s(&exported)]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("reproduce it: gridbot backtest --config"), "{}", text(&run));
    let yaml = std::fs::read_to_string(&exported).unwrap();
    assert!(yaml.contains("max_levels: 6") && yaml.contains("step_scale_factor: 0.25"), "{yaml}");
    assert!(yaml.contains("${BYBIT_API_KEY}"), "secrets stay references: {yaml}");
    let check = Command::new(env!("CARGO_BIN_EXE_gridbot"))
        .args(["config", "check", s(&exported)])
        .env("BYBIT_API_KEY", "k")
        .env("BYBIT_API_SECRET", "s")
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    let out = d.join("bt");
    let run = gridbot(&[
        "backtest",
        "--config",
        s(&exported),
        "--data",
        DATA,
        "--from",
        "2025-05-20",
        "--to",
        "2025-05-26",
        "--quiet",
        "--out",
        s(&out),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    let candidate = &lines[3];
    assert_eq!(result["metrics"]["total_return"].as_f64(), candidate["metrics"]["return"].as_f64());
    assert_eq!(result["metrics"]["max_drawdown"]["depth"].as_f64(), candidate["metrics"]["max_drawdown"].as_f64());
    assert_eq!(result["metrics"]["fills"].as_f64(), candidate["metrics"]["fills"].as_f64());
}

#[test]
fn mistakes_exit_2_naming_file_line_and_field() {
    let d = dir("bad");
    let opt = write_files(&d);
    let broken = std::fs::read_to_string(&opt).unwrap().replace("step: 0.1", "step: -1").replace("return", "retrun");
    std::fs::write(&opt, broken).unwrap();
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&d.join("o"))]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let shown = text(&run);
    assert!(shown.contains(&format!("{}:8: vary[0].step: expected a positive number", opt.display())), "{shown}");
    assert!(shown.contains("objectives[0]: unknown metric retrun; expected one of: return"), "{shown}");
    let run = gridbot(&["optimize", "--config", s(&opt), "--export", "x", "y.yaml"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
}

#[test]
fn ctrl_c_keeps_what_finished_and_resume_ends_where_an_uninterrupted_run_does() {
    let d = dir("resume");
    let opt = write_files(&d);
    let random = std::fs::read_to_string(&opt)
        .unwrap()
        .replace("search: {method: grid}", "search: {method: random, seed: 9, budget: 40}")
        .replace("    step: 0.1\n", "");
    std::fs::write(&opt, random).unwrap();
    let out = d.join("out");
    let results = out.join("results.jsonl");
    // SIGINT once the first result is written: the search stops, keeping what finished.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridbot"))
        .current_dir(ROOT)
        .args(["optimize", "--config", s(&opt), "--out", s(&out), "--threads", "1", "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(&results).map_or(0, |t| t.lines().count()) == 0 {
        assert!(std::time::Instant::now() < deadline, "no result within two minutes");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "a clean stop: {stderr}");
    assert!(stderr.contains("stopped after") && stderr.contains("--resume"), "{stderr}");
    let kept = std::fs::read_to_string(&results).unwrap().lines().count();
    assert!((1..40).contains(&kept), "{kept} results kept");
    // A line cut by the interruption is dropped on resume.
    let mut cut = std::fs::read_to_string(&results).unwrap();
    cut.push_str("{\"index\": 99, \"par");
    std::fs::write(&results, cut).unwrap();
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&out), "--threads", "2", "--resume"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains(&format!("resumed: {kept} results taken")), "{}", text(&run));
    let whole = d.join("whole");
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&whole), "--threads", "2", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(std::fs::read(&results).unwrap(), std::fs::read(whole.join("results.jsonl")).unwrap());
}

#[test]
fn shards_merge_into_the_single_runs_files() {
    let d = dir("shards");
    let opt = write_files(&d);
    let single = d.join("single");
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&single), "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));
    for n in [2, 3] {
        let mut dirs = Vec::new();
        for k in 0..n {
            let part = d.join(format!("part-{k}-of-{n}"));
            let shard = format!("{k}/{n}");
            let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&part), "--shard", &shard, "--quiet"]);
            assert!(run.status.success(), "{}", text(&run));
            dirs.push(part);
        }
        let merged = d.join(format!("merged-{n}"));
        let mut args = vec!["optimize", "merge", "--config", s(&opt), "--out", s(&merged)];
        args.extend(dirs.iter().map(|p| s(p)));
        let run = gridbot(&args);
        assert!(run.status.success(), "{}", text(&run));
        assert!(text(&run).contains(&format!("merged {n} shard(s): 6 results")), "{}", text(&run));
        for f in ["results.jsonl", "front.json"] {
            assert_eq!(
                std::fs::read(merged.join(f)).unwrap(),
                std::fs::read(single.join(f)).unwrap(),
                "{f}, {n} shards"
            );
        }
        // One shard short: said, exit 2.
        let mut args = vec!["optimize", "merge", "--config", s(&opt), "--out", s(&merged)];
        args.extend(dirs.iter().skip(1).map(|p| s(p)));
        let run = gridbot(&args);
        assert_eq!(run.status.code(), Some(2), "{}", text(&run));
        assert!(text(&run).contains("a shard is missing"), "{}", text(&run));
    }
    let run = gridbot(&["optimize", "--config", s(&opt), "--shard", "3/3"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
}

#[test]
fn the_walk_forward_and_the_report_in_a_real_browser() {
    let d = dir("report");
    let opt = write_files(&d);
    let with_walk =
        std::fs::read_to_string(&opt).unwrap() + "walk_forward: {train_days: 3, test_days: 1, mode: rolling}\n";
    std::fs::write(&opt, with_walk).unwrap();
    let out = d.join("out");
    let run = gridbot(&["optimize", "--config", s(&opt), "--out", s(&out)]);
    assert!(run.status.success(), "{}", text(&run));
    let shown = text(&run);
    assert!(
        shown.contains("walk-forward (rolling, train 3 d, test 1 d, pick max return): out of sample, chained"),
        "{shown}"
    );
    let walk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("walk_forward.json")).unwrap()).unwrap();
    assert_eq!(walk["windows"].as_array().unwrap().len(), 3, "6 days: train 3, test 1, three times");
    let report = out.join("report.html").canonicalize().unwrap();
    let url = format!("file://{}", report.display());
    let dom = chromium(&["--dump-dom", &url]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    for id in ["objectives", "field-0-objective-0", "field-1-objective-1", "walk-forward-equity"] {
        assert!(dom.contains(&format!("<svg id=\"{id}\"")), "no {id} in the rendered page");
    }
    let objectives = dom.split("<svg id=\"objectives\"").nth(1).unwrap().split("</svg>").next().unwrap();
    assert_eq!(objectives.matches("<circle").count(), 6, "one dot per candidate");
    assert!(dom.contains("<table id=\"walk-forward\">"));
    let shot = Path::new(ROOT).join("target/optimize-report.png");
    let _ = std::fs::remove_file(&shot);
    let taken = chromium(&["--window-size=1100,2400", &format!("--screenshot={}", shot.display()), &url]);
    assert!(taken.status.success(), "{}", String::from_utf8_lossy(&taken.stderr));
    assert!(std::fs::metadata(&shot).unwrap().len() > 20_000, "the screenshot has content");
}
