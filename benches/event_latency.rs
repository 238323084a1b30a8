//! Bench script (prints its figures): event-to-order latency inside the bot — from the moment
//! the WebSocket frame carrying a market update is read to the moment the REST request it
//! causes is handed to the client (signing and the socket write excluded) — against the
//! simulator on loopback.
//!
//! Setup: gridbot-sim's server in-process replaying real BTCUSDT minutes; one account trades a
//! tight classic grid (levels 0.05% apart, 10 per side, recentred when the market leaves it), so
//! fills keep coming and each one makes the bot place the counter order (and recentres cancel
//! and rebuild). Rate limits are lifted on both sides. Target: p99 ≤ 100 µs over ≥ 10,000
//! events.
//!
//! `cargo bench -p gridbot-benches --bench event_latency`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbot_bybit::ClientConfig;
use gridbot_core::SystemClock;
use gridbot_engine::config::load_bot;
use gridbot_engine::{BotOptions, MultiAccountBot};

const EVENTS: usize = 10_000;

fn data(name: &str) -> String {
    format!("{}/../data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn percentiles(label: &str, mut ns: Vec<u64>) {
    if ns.is_empty() {
        println!("  {label}: no samples");
        return;
    }
    ns.sort_unstable();
    // Nearest rank: index = round((n - 1) · p), in integer arithmetic (p in thousandths).
    let q = |per_mille: usize| ns[((ns.len() - 1) * per_mille + 500) / 1_000] as f64 / 1_000.0;
    println!("  {label}: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs", q(500), q(900), q(990), q(1_000));
}

fn main() {
    if std::env::var_os("GRIDBOT_BENCH_LOG").is_some() {
        tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    }
    let dir = std::env::temp_dir().join(format!("gridbot-bench-latency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("sim.yaml"),
        format!(
            "warmup_days: 15\nmarkets:\n  - {{symbol: BTCUSDT, file: {}}}\n  - {{symbol: ETHUSDT, file: {}}}\naccounts:\n  - {{api_key: k, api_secret: s, wallet: 1000000}}\n",
            data("binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz"),
            data("binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz")
        ),
    )
    .unwrap();
    let mut setup = gridbot_sim::load_sim_file(&dir.join("sim.yaml")).unwrap();
    setup.server.orders_per_sec = 1_000_000;
    setup.server.queries_per_sec = 1_000_000;
    setup.warm_up().unwrap();
    let mut handle =
        gridbot_sim::server::start(setup.server, setup.engine, setup.replay, Arc::new(SystemClock)).unwrap();
    let grid = |symbol: &str, qty: &str| {
        format!(
            "  - symbol: {symbol}\n    strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"{qty}\"\n      spacing: 0.0005\n      levels_per_side: 10\n      progression: arithmetic\n      recentre: {{max_deviation: 0.002}}\n"
        )
    };
    std::fs::write(
        dir.join("a.yaml"),
        format!(
            "account_id: bench\nenvironment: sim\nbase_url: {}\napi_key: k\napi_secret: s\nsymbols:\n{}{}",
            handle.base_url(),
            grid("BTCUSDT", "0.001"),
            grid("ETHUSDT", "0.01")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("bot.yaml"), "data_dir: var\naccounts: [a.yaml]\n").unwrap();
    let config = load_bot(&dir.join("bot.yaml"), &HashMap::<String, String>::new()).unwrap();
    let options = BotOptions {
        market_clock: true,
        client: Some(Arc::new(|c: &mut ClientConfig| {
            c.rate_limits.orders_per_sec = 1_000_000;
            c.rate_limits.queries_per_sec = 1_000_000;
            c.rate_limits.public_per_sec = 1_000_000;
        })),
        ..BotOptions::default()
    };
    let bot = MultiAccountBot::start(&config, &options).unwrap();
    // One candle every 2 ms (a minute of market per 2 ms); warm up, then measure.
    handle.drive(Duration::from_millis(5)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    bot.latency().clear();
    let started = Instant::now();
    while bot.latency().samples().len() < EVENTS && handle.replay_remaining() > 0 {
        std::thread::sleep(Duration::from_millis(500));
        assert!(bot.healthy(), "the account stopped");
        assert!(started.elapsed() < Duration::from_secs(900), "too slow");
    }
    handle.stop_driving();
    let samples = bot.latency().samples();
    let summary = bot.summaries();
    bot.stop();
    let total = |f: fn(&gridbot_engine::AccountSummary) -> u64| summary.iter().map(f).sum::<u64>();
    println!(
        "event-to-order latency over {} events that caused REST requests ({} fills, {} orders placed, {} grid rebuilds), gridbot-sim on loopback:",
        samples.len(),
        total(|s| s.strategy.fills),
        total(|s| s.strategy.orders_placed),
        total(|s| s.strategy.recentres),
    );
    let idle: Vec<u64> = samples.iter().filter(|s| s.found_idle).map(|s| s.total_ns).collect();
    percentiles(&format!("frame read -> request, events that found the worker idle ({})", idle.len()), idle);
    percentiles("in the worker, all events (taken up -> request)", samples.iter().map(|s| s.in_worker_ns).collect());
    percentiles(
        "frame read -> request, all events (includes queueing behind earlier round trips)",
        samples.iter().map(|s| s.total_ns).collect(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
