//! Backtest equals paper trading: one account file (progressive, both legs, real minutes)
//! traded twice — by `gridbot backtest`, and by `gridbot run` against `gridbot sim` over
//! loopback with the simulator in lockstep (one path point at a time, each once the bot has
//! gone quiet). The fills must be the same: count, order, time, side, price, quantity, maker
//! or taker, leg, role and level.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gridbot_core::{Symbol, TimeWindow};
use gridbot_recovery::LinkTag;
use support::{BTC_FILE, Proc, client, gridbot_bin, temp_dir};

const KEY: &str = "parity-key";
const SECRET: &str = "parity-secret";
/// Market days traded.
const DAYS: usize = 2;

/// One fill, as both sides can tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fill {
    time_ms: i64,
    side: String,
    price: String,
    qty: String,
    maker: bool,
    leg: String,
    role: String,
    level: String,
}

fn account_yaml(url: &str) -> String {
    format!(
        "account_id: parity\nenvironment: sim\nbase_url: {url}\napi_key: {KEY}\napi_secret: {SECRET}\n\
         symbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      \
         base_qty: \"0.002\"\n      max_levels: 5\n      step_scale_factor: 0.1\n      take_profit: 0.002\n      \
         atr_pct: 0.02\n\
         backtest:\n  balance: 10000\n  fill: through\n  funding: 0.0001\n"
    )
}

fn backtest_fills(dir: &Path, account: &Path, data: &Path) -> Vec<Fill> {
    let out = dir.join("backtest");
    let run = Command::new(gridbot_bin())
        .args(["backtest", "--quiet", "--config"])
        .arg(account)
        .arg("--data")
        .arg(format!("BTCUSDT={}", data.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let csv = std::fs::read_to_string(out.join("trades.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Fill {
                time_ms: f[0].parse().unwrap(),
                side: f[3].to_owned(),
                leg: f[4].to_owned(),
                role: f[5].to_owned(),
                level: f[6].to_owned(),
                price: f[8].to_owned(),
                qty: f[9].to_owned(),
                maker: f[12] == "true",
            }
        })
        .collect()
}

fn paper_fills(url: &str, window: TimeWindow) -> Vec<Fill> {
    let ex = client(url, KEY, SECRET);
    let mut list = ex.executions(&Symbol::new("BTCUSDT").unwrap(), window).unwrap();
    list.sort_by(|a, b| a.exec_time_ms.cmp(&b.exec_time_ms).then(a.exec_id.cmp(&b.exec_id)));
    list.iter()
        .filter(|e| e.exec_type == gridbot_core::ExecType::Trade)
        .map(|e| {
            let tag = LinkTag::decode(&e.order_link_id).ok();
            Fill {
                time_ms: e.exec_time_ms,
                side: e.side.as_str().to_owned(),
                price: e.exec_price.to_string(),
                qty: e.exec_qty.to_string(),
                maker: e.is_maker,
                leg: tag.as_ref().map_or(String::new(), |t| format!("{:?}", t.leg).to_lowercase()),
                role: tag.as_ref().map_or(String::new(), |t| format!("{:?}", t.role)),
                level: tag.as_ref().map_or(String::new(), |t| t.level.to_string()),
            }
        })
        .collect()
}

#[test]
fn a_backtest_fills_exactly_what_paper_trading_fills() {
    let dir = temp_dir("parity");
    let (sim, url) = support::sim_on_btc(
        &dir,
        DAYS,
        "lockstep_quiet_ms: 15\nengine: {fill_through_ticks: 1, touch_fill_fraction: \"0\", funding_rate: \"0.0001\"}\n",
        &[(KEY, SECRET, 10_000)],
    );
    let data = dir.join(BTC_FILE.replace(".gz", ""));
    let account = dir.join("parity.yaml");
    std::fs::write(&account, account_yaml(&url)).unwrap();
    std::fs::write(dir.join("bot.yaml"), "data_dir: var\naccounts: [parity.yaml]\nlogging: {level: info}\n").unwrap();

    let started = Instant::now();
    let bot = Proc::gridbot(&["run", "--config", dir.join("bot.yaml").to_str().unwrap()], &[]);
    // The replay ends when its last candle is out; the bot then hears nothing more.
    let ex = client(&url, KEY, SECRET);
    let candles = gridbot_data::load_candles(&data).unwrap();
    let (first, last) = (candles[0].open_time_ms, candles[candles.len() - 1].open_time_ms);
    let btc = Symbol::new("BTCUSDT").unwrap();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        // The simulator serves the candles it has replayed (the one in progress included).
        let replayed = ex.klines_page(&btc, gridbot_core::Interval::M1, last, last + 59_999, 1).unwrap_or_default();
        if !replayed.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1200), "the lockstep replay did not finish:\n{}", bot.output());
    }
    std::thread::sleep(Duration::from_secs(2));
    let paper = paper_fills(&url, TimeWindow { start_ms: first, end_ms: last + 60_000 });
    eprintln!("paper: {} fills in {:.0} s", paper.len(), started.elapsed().as_secs_f64());
    let backtest = backtest_fills(&dir, &account, &data);
    eprintln!("backtest: {} fills", backtest.len());
    // Everything a reader needs to see a difference: both fill lists and both processes' output.
    let listing = |v: &[Fill]| v.iter().map(|f| format!("{f:?}\n")).collect::<String>();
    std::fs::write(dir.join("paper-fills.txt"), listing(&paper)).unwrap();
    std::fs::write(dir.join("backtest-fills.txt"), listing(&backtest)).unwrap();
    std::fs::write(dir.join("sim.log"), sim.output()).unwrap();
    std::fs::write(dir.join("bot.log"), bot.output()).unwrap();
    eprintln!("fills and logs: {}", dir.display());
    let first_difference = paper.iter().zip(&backtest).position(|(a, b)| a != b);
    if let Some(k) = first_difference {
        let show = |v: &[Fill]| {
            v.iter().skip(k.saturating_sub(2)).take(6).map(|f| format!("{f:?}")).collect::<Vec<_>>().join("\n  ")
        };
        panic!("fill {k} differs:\npaper:\n  {}\nbacktest:\n  {}", show(&paper), show(&backtest));
    }
    assert_eq!(paper.len(), backtest.len(), "same fills, but not as many");
    assert!(paper.len() > 20, "enough trading to mean something: {}", paper.len());
}
