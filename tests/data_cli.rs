//! `gridbot data fetch` and `gridbot data check` as a user runs them, against `gridbot sim` on
//! loopback (it serves `/v5/market/kline` and `/v5/market/funding/history` from its replayed
//! data): the download equals the simulator's candles row for row, gaps are reported, a
//! download killed half-way resumes to the same file, and mistakes exit 2.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use gridbot_core::Candle;
use support::{Proc, data, temp_dir};

const SOURCE: &str = "binance_BTCUSDT_1m_2021-08_2021-09.csv.gz";
/// 2021-08-20 and 2021-09-10, UTC.
const FROM: &str = "2021-08-20";
const TO: &str = "2021-09-10";
const FROM_MS: i64 = 1_629_417_600_000;
const TO_MS: i64 = 1_631_232_000_000;

fn gridbot(args: &[&str]) -> Output {
    Command::new(support::gridbot_bin()).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The bundled minutes with two hours cut out of 2021-08-25 (an "outage"), as plain CSV.
fn gapped_source(dir: &Path) -> (PathBuf, Vec<Candle>) {
    let candles: Vec<Candle> = gridbot_data::load_candles(data(SOURCE))
        .unwrap()
        .into_iter()
        .filter(|c| !(1_629_849_600_000..1_629_856_800_000).contains(&c.open_time_ms))
        .collect();
    let path = dir.join("source.csv");
    std::fs::write(&path, gridbot_data::candles_csv(&candles)).unwrap();
    (path, candles)
}

/// `gridbot sim` replaying `source` whole (its warm-up covers the file), no trading; its URL.
fn simulator(dir: &Path, source: &Path) -> (Proc, String) {
    let yaml = format!(
        "bind: 127.0.0.1:0\ninterval: 1m\ncandles_per_second: 0\nwarmup_days: 60\nmarkets:\n  - symbol: BTCUSDT\n    file: {}\naccounts:\n  - api_key: k\n    api_secret: s\n    wallet: 1000\nengine:\n  funding_rate: \"0.0001\"\n",
        source.display()
    );
    let config = dir.join("sim.yaml");
    std::fs::write(&config, yaml).unwrap();
    let mut sim = Proc::gridbot(&["sim", "--config", config.to_str().unwrap()], &[]);
    sim.wait_for("listening on http://", Duration::from_secs(60));
    let url = sim.output().split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).map(str::to_owned).unwrap();
    (sim, url)
}

fn fetch_args<'a>(url: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args =
        vec!["data", "fetch", "--symbol", "BTCUSDT", "--from", FROM, "--to", TO, "--out", out, "--base-url", url];
    args.extend_from_slice(extra);
    args
}

#[test]
fn fetch_downloads_what_the_exchange_has_reports_gaps_and_resumes_after_a_kill() {
    let dir = temp_dir("data-fetch");
    let (source, candles) = gapped_source(&dir);
    let (_sim, url) = simulator(&dir, &source);

    // A whole download, with the funding history.
    let out = dir.join("btc.csv.gz");
    let funding = dir.join("funding.csv.gz");
    let run = gridbot(&fetch_args(&url, out.to_str().unwrap(), &["--funding", funding.to_str().unwrap()]));
    assert!(run.status.success(), "{}", text(&run));
    let said = text(&run);
    assert!(said.contains("1 gap, 120 candles missing"), "{said}");
    assert!(said.contains("120 candles after 2021-08-24T23:59:00Z"), "{said}");
    let expected: Vec<&Candle> = candles.iter().filter(|c| (FROM_MS..TO_MS).contains(&c.open_time_ms)).collect();
    let got = gridbot_data::load_candles(&out).unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got.iter().zip(&expected).all(|(a, b)| a == *b), "the download differs from the simulator's candles");
    let settlements = gridbot_data::load_funding(&funding).unwrap();
    assert_eq!(settlements.len(), 21 * 3, "every 8 h of 21 days");
    assert!(settlements.iter().all(|s| s.rate == "0.0001".parse().unwrap()));

    // `data check` on it: usable, the gap listed.
    let check = gridbot(&["data", "check", out.to_str().unwrap(), funding.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains(&format!("{} candles", expected.len())), "{}", text(&check));

    // Killed half-way, then the same command again: it resumes and ends with the same bytes.
    let resumed = dir.join("resumed.csv.gz");
    let partial = gridbot_data::partial_path(&resumed);
    let killed = Proc::gridbot(&fetch_args(&url, resumed.to_str().unwrap(), &["--quiet"]), &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&partial).map_or(0, |t| t.lines().count()) < 5_000 {
        assert!(Instant::now() < deadline, "no rows written: {}", killed.output());
        std::thread::sleep(Duration::from_millis(5));
    }
    killed.kill();
    assert!(!resumed.exists(), "a killed download leaves no output file");
    let again = gridbot(&fetch_args(&url, resumed.to_str().unwrap(), &[]));
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("resumed)"), "{}", text(&again));
    assert_eq!(gridbot_data::load_candles(&resumed).unwrap(), got);
    assert!(!partial.exists());

    // Mistakes exit 2 and say what is wrong; nothing is overwritten.
    let exists = gridbot(&fetch_args(&url, out.to_str().unwrap(), &[]));
    assert_eq!(exists.status.code(), Some(2), "{}", text(&exists));
    assert!(text(&exists).contains("exists: not overwriting it"), "{}", text(&exists));
    let fresh = dir.join("x.csv.gz");
    let bad_symbol = gridbot(&[
        "data",
        "fetch",
        "--symbol",
        "NOPEUSDT",
        "--from",
        FROM,
        "--out",
        fresh.to_str().unwrap(),
        "--base-url",
        &url,
    ]);
    assert_eq!(bad_symbol.status.code(), Some(2), "{}", text(&bad_symbol));
    assert!(text(&bad_symbol).contains("NOPEUSDT is not a trading USDT perpetual"), "{}", text(&bad_symbol));
    let bad_date =
        gridbot(&["data", "fetch", "--symbol", "BTCUSDT", "--from", "20-08-2021", "--out", "x", "--base-url", &url]);
    assert_eq!(bad_date.status.code(), Some(2));
    assert!(text(&bad_date).contains("--from: expected a UTC date"), "{}", text(&bad_date));
    assert!(!fresh.exists());
}

#[test]
fn check_lists_bad_rows_by_line_and_exits_2() {
    let dir = temp_dir("data-check");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "open_time_ms,open,high,low,close,volume\n0,1,2,1,1,1\n60000,1,2,1,oops,1\n120000,1,2,1,1,1\n60000,1,2,1,1,1\n",
    )
    .unwrap();
    let run = gridbot(&["data", "check", bad.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let said = text(&run);
    assert!(said.contains("2 bad rows"), "{said}");
    assert!(said.contains("bad.csv:3: close is not a price"), "{said}");
    assert!(said.contains("bad.csv:5: time 60000 is not after the previous row's 120000"), "{said}");
    let not_data = dir.join("notes.txt");
    std::fs::write(&not_data, "hello\n").unwrap();
    let run = gridbot(&["data", "check", not_data.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run).contains("notes.txt:1: not a data file"), "{}", text(&run));
    let good = gridbot(&["data", "check", data(SOURCE).to_str().unwrap()]);
    assert!(good.status.success(), "{}", text(&good));
    assert!(
        text(&good).contains("67710 candles, 2021-08-13T06:30:00Z → 2021-09-29T06:59:00Z, every 1 min"),
        "{}",
        text(&good)
    );
}
