//! Bench script (prints its figures): how long a Prometheus scrape and a status request take
//! over loopback HTTP for 10 accounts × 10 symbols whose journals hold 20,000 executions each
//! (the server keeps each account's status and re-reads only the files that changed; journals
//! are read from where the last read stopped). Three phases: the first request (every journal
//! read whole), nothing written, and one account writing a fill, a wallet reading and a snapshot
//! every 50 ms.
//!
//! `cargo bench -p gridbot-web --bench scrape`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbot_core::{ExecType, Execution, OrderType, Side, Symbol};
use gridbot_engine::config::load_bot;
use gridbot_state::{AccountSnapshot, Journal, LegState, SnapshotStore, SymbolState};
use gridbot_web::WebServer;

const ACCOUNTS: usize = 10;
const SYMBOLS: usize = 10;
const EXECUTIONS: usize = 20_000;
const REQUESTS: usize = 50;

fn leg(level: Option<u32>) -> LegState {
    LegState {
        cycle: 7,
        level,
        anchor: level.map(|_| "60000".parse().unwrap()),
        avg_entry: level.map(|_| "59500".parse().unwrap()),
        size: if level.is_some() { "0.006".parse().unwrap() } else { "0".parse().unwrap() },
        ..LegState::default()
    }
}

fn execution(n: usize, symbols: &[Symbol]) -> Execution {
    Execution {
        exec_id: format!("e{n}"),
        order_id: format!("o{n}"),
        order_link_id: format!("l{n}"),
        symbol: symbols[n % SYMBOLS].clone(),
        side: if n.is_multiple_of(2) { Side::Buy } else { Side::Sell },
        exec_type: ExecType::Trade,
        order_type: OrderType::Limit,
        exec_price: "60000.5".parse().unwrap(),
        exec_qty: "0.002".parse().unwrap(),
        exec_value: "120.001".parse().unwrap(),
        exec_fee: "0.024".parse().unwrap(),
        fee_rate: "0.0002".parse().unwrap(),
        is_maker: true,
        closed_size: if n.is_multiple_of(2) { "0".parse().unwrap() } else { "0.002".parse().unwrap() },
        exec_time_ms: 1_750_000_000_000 + i64::try_from(n).unwrap() * 60_000,
    }
}

fn setup() -> gridbot_engine::config::BotConfig {
    let dir = std::env::temp_dir().join(format!("gridbot-web-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for a in 0..ACCOUNTS {
        let name = format!("a{a}.yaml");
        std::fs::write(
            dir.join(&name),
            format!("account_id: acc{a}\nenvironment: sim\nbase_url: http://127.0.0.1:9\napi_key: k{a}\napi_secret: s\nsymbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive: {{base_qty: \"0.002\"}}\n"),
        )
        .unwrap();
        files.push(name);
    }
    std::fs::write(
        dir.join("bot.yaml"),
        format!("data_dir: var\naccounts: [{}]\nweb: {{bind: \"127.0.0.1:0\"}}\n", files.join(", ")),
    )
    .unwrap();
    let config = load_bot(&dir.join("bot.yaml"), &HashMap::<String, String>::new()).unwrap();
    for a in 0..ACCOUNTS {
        let id = format!("acc{a}");
        let account_dir = config.account_dir(&id);
        std::fs::create_dir_all(&account_dir).unwrap();
        let mut snapshot = AccountSnapshot::new(id.clone(), 1);
        let symbols: Vec<Symbol> = (0..SYMBOLS).map(|i| Symbol::new(format!("S{i}USDT")).unwrap()).collect();
        for (i, symbol) in symbols.iter().enumerate() {
            let state = SymbolState {
                plan: None,
                long: leg(Some(u32::try_from(i % 4).unwrap())),
                short: leg(None),
                risk: Default::default(),
                orders: vec![],
                classic: None,
                classic_trigger: None,
            };
            snapshot.symbols.insert(symbol.clone(), state);
        }
        SnapshotStore::new(&account_dir, &id).save(&snapshot).unwrap();
        let journal = Journal::open(&account_dir.join("journal.sqlite")).unwrap();
        journal.record_event(1, "setup", None, "bench").unwrap();
        for n in 0..EXECUTIONS {
            let e = execution(n, &symbols);
            let pnl = (n % 2 == 1).then(|| "0.25".parse().unwrap());
            journal.record_execution(&e, pnl).unwrap();
        }
    }
    config
}

fn measure(url: &str) -> (Duration, Duration, Duration, usize) {
    measure_paced(url, Duration::ZERO)
}

/// `REQUESTS` requests, `gap` apart.
fn measure_paced(url: &str, gap: Duration) -> (Duration, Duration, Duration, usize) {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let mut times = Vec::with_capacity(REQUESTS);
    let mut bytes = 0;
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let body = agent.get(url).call().unwrap().body_mut().read_to_string().unwrap();
        times.push(start.elapsed());
        bytes = body.len();
        std::thread::sleep(gap);
    }
    times.sort();
    (times[REQUESTS / 2], times[REQUESTS * 9 / 10], times[REQUESTS - 1], bytes)
}

fn report(label: &str, path: &str, (p50, p90, max, bytes): (Duration, Duration, Duration, usize)) {
    println!(
        "{label:<22} GET {path}: p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms over {REQUESTS} requests ({bytes} bytes)",
        p50.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}

fn main() {
    let setup_start = Instant::now();
    let config = Arc::new(setup());
    println!(
        "setup: {ACCOUNTS} accounts × {SYMBOLS} symbols, {EXECUTIONS} executions per journal ({:.1} s)",
        setup_start.elapsed().as_secs_f64()
    );
    let server = WebServer::start(Arc::clone(&config), config.web.as_ref().unwrap()).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    for path in ["/api/status", "/metrics"] {
        let start = Instant::now();
        agent.get(&format!("http://{}{path}", server.addr())).call().unwrap();
        println!("first request (every journal read whole) GET {path}: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    }
    for path in ["/metrics", "/api/status"] {
        report("nothing written:", path, measure(&format!("http://{}{path}", server.addr())));
    }
    // A busy bot: a fill, a wallet reading and a snapshot of one account every 50 ms.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let dir = config.account_dir("acc0");
        std::thread::spawn(move || {
            let journal = Journal::open(&dir.join("journal.sqlite")).unwrap();
            let store = SnapshotStore::new(&dir, "acc0");
            let symbols: Vec<Symbol> = (0..SYMBOLS).map(|i| Symbol::new(format!("S{i}USDT")).unwrap()).collect();
            let mut snapshot = match store.peek().unwrap() {
                gridbot_state::Loaded::Snapshot { snapshot, .. } => snapshot,
                other => panic!("{other:?}"),
            };
            let mut n = EXECUTIONS;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                journal.record_execution(&execution(n, &symbols), Some("0.1".parse().unwrap())).unwrap();
                let wallet = gridbot_core::Wallet {
                    total_equity: "100000".parse().unwrap(),
                    total_wallet_balance: "100000".parse().unwrap(),
                    total_margin_balance: "100000".parse().unwrap(),
                    total_available_balance: "90000".parse().unwrap(),
                    total_perp_upl: "0".parse().unwrap(),
                    total_initial_margin: "10000".parse().unwrap(),
                    total_maintenance_margin: "500".parse().unwrap(),
                    account_im_rate: "0.1".parse().unwrap(),
                    account_mm_rate: "0.005".parse().unwrap(),
                    coins: vec![],
                };
                journal.record_equity(&wallet, 1_750_000_000_000 + i64::try_from(n).unwrap() * 60_000).unwrap();
                snapshot.saved_at_ms += 1;
                store.save(&snapshot).unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            n - EXECUTIONS
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    for path in ["/metrics", "/api/status"] {
        // 20 ms apart: about every other request finds the journal changed.
        report(
            "a fill every 50 ms:",
            path,
            measure_paced(&format!("http://{}{path}", server.addr()), Duration::from_millis(20)),
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    println!("({written} fills written meanwhile)");
    server.stop();
}
