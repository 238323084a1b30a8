//! `gridbot backtest` as a user runs it: the example on the bundled data, twice (the same bytes),
//! its report opened in a real headless Chromium (the DOM has the charts, a screenshot is kept
//! under `target/`), and mistakes that exit 2 naming the file — with no secret set anywhere.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

#[path = "support/chromium.rs"]
mod chromium;

use std::path::{Path, PathBuf};

use chromium::chromium;
use std::process::{Command, Output};

fn gridbot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridbot"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    // No secret of the account file is set: a backtest must not need one.
    c.env_remove("BYBIT_API_KEY").env_remove("BYBIT_API_SECRET");
    c
}

fn out_dir(tag: &str) -> PathBuf {
    let d = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/test-backtest")).join(tag);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn backtest(out: &Path, extra: &[&str]) -> Output {
    let mut c = gridbot();
    c.args(["backtest", "--example", "--from", "2025-05-20", "--to", "2025-05-24", "--quiet", "--out"]).arg(out);
    c.args(extra);
    c.output().unwrap()
}

#[test]
fn the_example_runs_reproducibly_and_its_report_renders_in_a_real_browser() {
    let first = out_dir("first");
    let run = backtest(&first, &[]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let result = std::fs::read_to_string(first.join("result.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert!(json["metrics"]["fills"].as_u64().unwrap() > 20, "{}", json["metrics"]);
    let trades = std::fs::read_to_string(first.join("trades.csv")).unwrap();
    assert!(
        trades.starts_with(
            "time_ms,time,symbol,side,leg,role,level,cycle,price,qty,fee,realised_pnl,maker,order_link_id\n"
        )
    );
    // One wallet, two symbols, both strategies: a progressive BTCUSDT grid (both legs) and a
    // classic ETHUSDT grid both trade.
    let rows: Vec<Vec<&str>> = trades.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let traded = |symbol: &str, leg: &str| rows.iter().any(|r| r[2] == symbol && r[4] == leg);
    assert!(traded("BTCUSDT", "long") && traded("BTCUSDT", "short"), "both BTCUSDT legs trade");
    assert!(rows.iter().any(|r| r[2] == "ETHUSDT" && r[5] == "ClassicLevel"), "the classic ETHUSDT grid trades");
    // Same inputs, same bytes — across processes.
    let second = out_dir("second");
    assert!(backtest(&second, &[]).status.success());
    let again = std::fs::read_to_string(second.join("result.json")).unwrap();
    if let Some((k, (a, b))) = result.lines().zip(again.lines()).enumerate().find(|(_, (a, b))| a != b) {
        panic!("result.json differs at line {}: {a:?} vs {b:?}", k + 1);
    }
    assert_eq!(result.len(), again.len());

    // The report in a real browser: every chart is in the DOM with drawn paths.
    let report = first.join("report.html").canonicalize().unwrap();
    let url = format!("file://{}", report.display());
    let dom = chromium(&["--dump-dom", &url]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    for id in [
        "equity-chart",
        "drawdown-chart",
        "price-chart-BTCUSDT",
        "price-chart-ETHUSDT",
        "levels-chart",
        "daily-pnl-chart",
    ] {
        assert!(dom.contains(&format!("<svg id=\"{id}\"")), "no {id} in the rendered page");
    }
    let equity_path = dom.split("class=\"equity\" d=\"").nth(1).expect("the equity line").split('"').next().unwrap();
    assert!(
        equity_path.matches('L').count() > 50,
        "the equity line has points: {}",
        &equity_path[..equity_path.len().min(80)]
    );
    assert!(dom.contains("class=\"fill-buy\"") && dom.contains("class=\"fill-sell\""), "fills are marked");
    assert!(dom.contains("id=\"parameters\"") && dom.contains("id=\"breakdown\""));
    // And a screenshot a person can look at.
    let shot = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/backtest-report.png"));
    let _ = std::fs::remove_file(shot);
    let taken = chromium(&["--window-size=1100,2600", &format!("--screenshot={}", shot.display()), &url]);
    assert!(taken.status.success(), "{}", String::from_utf8_lossy(&taken.stderr));
    assert!(std::fs::metadata(shot).unwrap().len() > 20_000, "the screenshot has content");
}

#[test]
fn mistakes_exit_2_and_name_the_file() {
    let out = out_dir("mistakes");
    std::fs::create_dir_all(&out).unwrap();
    // A data file that is not there.
    let missing = gridbot()
        .args([
            "backtest",
            "--config",
            "config/backtest-example.yaml",
            "--data",
            "data/nope_BTCUSDT.csv.gz",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope_BTCUSDT.csv.gz"));
    // A broken row: file and line.
    let bad = out.join("bad_BTCUSDT.csv");
    std::fs::write(&bad, "open_time_ms,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,x,1,1,1\n").unwrap();
    let broken = gridbot()
        .args(["backtest", "--config", "config/backtest-example.yaml", "--quiet", "--out"])
        .arg(&out)
        .arg("--data")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(2));
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(err.contains("bad_BTCUSDT.csv:3"), "{err}");
    // A bad backtest section: file, line, field.
    let config = out.join("account.yaml");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/backtest-example.yaml"))
        .unwrap()
        .replace("fill: through", "fill: sometimes");
    std::fs::write(&config, text).unwrap();
    let refused = gridbot()
        .args(["backtest", "--data", "data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz", "--quiet", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("account.yaml:") && err.contains("backtest.fill"), "{err}");
    // Too little history before --from for the plan's daily ATR.
    let early = gridbot()
        .args(["backtest", "--example", "--from", "2025-05-03", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(early.status.code(), Some(2), "{early:?}");
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("days of history"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
}
