//! The engine against gridbot-sim's server on loopback (in-process): two accounts × two symbols
//! over real perpetual candles, sharing one public WebSocket. Grids cycle; afterwards the
//! exchange's positions equal the saved state and no leg holds two live orders of a kind; and
//! the commands each account sent are exactly those its recorded core asks for on replay.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gridbot_bybit::{BybitClient, ClientConfig, Credentials, Environment};
use gridbot_core::{Leg, PositionIdx, Symbol, SystemClock};
use gridbot_engine::config::load_bot;
use gridbot_engine::{BotOptions, MultiAccountBot};
use gridbot_recovery::LinkTag;
use gridbot_sim::server::ServerHandle;
use gridbot_state::{Loaded, SnapshotStore};

fn data(name: &str) -> String {
    format!("{}/../data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gridbot-engine-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sim(dir: &Path) -> ServerHandle {
    let yaml = format!(
        "warmup_days: 16\nmarkets:\n  - symbol: BTCUSDT\n    file: {}\n  - symbol: ETHUSDT\n    file: {}\naccounts:\n  - {{api_key: key-a, api_secret: secret-a, wallet: 100000}}\n  - {{api_key: key-b, api_secret: secret-b, wallet: 100000}}\n",
        data("binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz"),
        data("binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz"),
    );
    std::fs::write(dir.join("sim.yaml"), yaml).unwrap();
    let mut setup = gridbot_sim::load_sim_file(&dir.join("sim.yaml")).unwrap();
    setup.server.orders_per_sec = 1_000;
    setup.server.queries_per_sec = 1_000;
    setup.warm_up().unwrap();
    gridbot_sim::server::start(setup.server, setup.engine, setup.replay, Arc::new(SystemClock)).unwrap()
}

fn account(dir: &Path, id: &str, key: &str, secret: &str, url: &str, eth_classic: bool) {
    let eth = if eth_classic {
        "  - symbol: ETHUSDT\n    strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.05\"\n      spacing: 0.002\n      levels_per_side: 5\n      progression: arithmetic\n      recentre: {max_deviation: 0.01}\n"
    } else {
        "  - symbol: ETHUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.05\"\n      max_levels: 5\n      step_scale_factor: 0.15\n      take_profit: 0.002\n"
    };
    let text = format!(
        "account_id: {id}\nenvironment: sim\nbase_url: {url}\napi_key: {key}\napi_secret: {secret}\nsymbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.002\"\n      max_levels: 5\n      step_scale_factor: 0.15\n      take_profit: 0.002\n{eth}"
    );
    std::fs::write(dir.join(format!("{id}.yaml")), text).unwrap();
}

fn client(url: &str, key: &str, secret: &str) -> BybitClient {
    BybitClient::new(ClientConfig::new(Environment::custom(url), Some(Credentials::new(key, secret).unwrap())))
}

/// The exchange's positions equal the saved legs; no (leg, role, level, cycle) has two live
/// orders; every open order is one the state tracks.
fn check_invariants(dir: &Path, id: &str, ex: &BybitClient) {
    let store = SnapshotStore::new(&dir.join("var").join(id), id);
    let Loaded::Snapshot { snapshot, .. } = store.load(0).unwrap() else { panic!("{id}: no snapshot") };
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        let symbol = Symbol::new(symbol).unwrap();
        let state = &snapshot.symbols[&symbol];
        for p in ex.positions(&symbol).unwrap() {
            let leg = match p.position_idx {
                PositionIdx::Long => &state.long,
                PositionIdx::Short => &state.short,
                PositionIdx::OneWay => continue,
            };
            assert_eq!(p.size, leg.size, "{id} {symbol} {:?}: exchange vs state", p.position_idx);
        }
        let open = ex.open_orders(&symbol).unwrap();
        let mut seen: HashMap<(Leg, String, u32, u32), usize> = HashMap::new();
        for o in &open {
            let tag = LinkTag::decode(&o.order_link_id).unwrap_or_else(|_| panic!("foreign order {o:?}"));
            *seen.entry((tag.leg, format!("{:?}", tag.role), tag.level, tag.cycle)).or_default() += 1;
            assert!(
                state.orders.iter().any(|t| t.link_id == o.order_link_id),
                "{id} {symbol}: open order {} is not tracked",
                o.order_link_id
            );
        }
        assert!(seen.values().all(|n| *n == 1), "{id} {symbol}: duplicate live orders {seen:?}");
    }
}

/// Waits until the bot has had nothing to do for a while (the market stopped).
fn settle(bot: &MultiAccountBot) {
    let mut quiet = 0;
    let mut last = bot.summaries().iter().map(|s| s.events).sum::<u64>();
    while quiet < 5 {
        std::thread::sleep(Duration::from_millis(100));
        let now = bot.summaries().iter().map(|s| s.events).sum::<u64>();
        if now == last && bot.queued() == 0 {
            quiet += 1;
        } else {
            quiet = 0;
        }
        last = now;
    }
}

/// Every account's core was recorded while it traded live (real WebSockets and REST against
/// the simulator): its start state, every input with its time, every batch sent. Fed the same
/// inputs, a bare copy of the start asks for exactly the commands that went out, in order.
fn same_decisions_live_and_core(bot: &MultiAccountBot) {
    for (id, tape) in bot.tapes() {
        let tape = tape.unwrap_or_else(|| panic!("{id}: nothing recorded"));
        let sent: Vec<_> = tape.sent.iter().map(|b| (b.symbol.clone(), b.commands.clone())).collect();
        assert!(sent.len() > 20, "{id}: only {} batches sent", sent.len());
        let replayed = tape.replay();
        assert_eq!(replayed.len(), sent.len(), "{id}: batches");
        for (k, (live, core)) in sent.iter().zip(&replayed).enumerate() {
            assert_eq!(live, core, "{id}: batch {k} differs");
        }
        eprintln!(
            "{id}: {} inputs, {} batches, {} commands: identical",
            tape.inputs.len(),
            sent.len(),
            sent.iter().map(|b| b.1.len()).sum::<usize>()
        );
    }
}

#[test]
fn two_accounts_two_symbols_cycle_over_real_candles() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_max_level(tracing::Level::INFO).try_init();
    let dir = temp_dir("bot");
    let mut handle = sim(&dir);
    let url = handle.base_url();
    account(&dir, "acca", "key-a", "secret-a", &url, false);
    account(&dir, "accb", "key-b", "secret-b", &url, true);
    std::fs::write(dir.join("bot.yaml"), "data_dir: var\naccounts:\n  - acca.yaml\n  - accb.yaml\n").unwrap();
    let config = load_bot(&dir.join("bot.yaml"), &HashMap::<String, String>::new()).unwrap();
    let options = BotOptions {
        market_clock: true,
        client: Some(Arc::new(|c: &mut ClientConfig| {
            c.rate_limits.orders_per_sec = 1_000;
            c.rate_limits.queries_per_sec = 1_000;
        })),
        record_cores: true,
        ..BotOptions::default()
    };
    let bot = MultiAccountBot::start(&config, &options).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Four days of minutes, at about 2,000 candles a second.
    handle.drive(Duration::from_micros(500)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        assert!(bot.healthy(), "a worker stopped");
    }
    handle.stop_driving();
    settle(&bot);
    same_decisions_live_and_core(&bot);
    let summaries = bot.stop();
    eprintln!("{summaries:#?}");
    let total_cycles: u64 = summaries.iter().map(|s| s.strategy.cycles).sum();
    let max_level = summaries.iter().map(|s| s.strategy.max_level).max().unwrap_or(0);
    assert!(total_cycles >= 4, "grids should cycle: {summaries:?}");
    assert!(max_level >= 1, "legs should level up: {summaries:?}");
    check_invariants(&dir, "acca", &client(&url, "key-a", "secret-a"));
    check_invariants(&dir, "accb", &client(&url, "key-b", "secret-b"));
}
