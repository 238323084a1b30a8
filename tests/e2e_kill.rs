//! End to end: `gridbot run` SIGKILLed at random moments of a replay and restarted, against the
//! simulator on loopback (driven step by step by this test, so the market can be paused for the
//! checks). After every recovery the exchange's positions equal the bot's state, no slot has two
//! live orders, no orphan order remains, and nothing is sent while the emergency flag exists.
//! The second test does the same with fault injection on: REST errors, 10006 bursts, dropped
//! sockets, duplicated and reordered private events.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use gridbot_sim::server::FaultConfig;
use support::{
    Proc, Rng, account_yaml, check_invariants_eventually, client, gridbot_bin, orders_created, quiet, step,
    stepped_sim, temp_dir,
};

const KEY: &str = "kill-key";
const SECRET: &str = "kill-secret";
const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

fn start_bot(bot_yaml: &Path) -> Proc {
    let mut bot = Proc::gridbot(&["run", "--config", bot_yaml.to_str().unwrap()], &[]);
    bot.wait_for("gridbot running", Duration::from_secs(60));
    bot
}

fn operator(args: &[&str], bot_yaml: &Path) {
    let out = Command::new(gridbot_bin()).args(args).arg("--config").arg(bot_yaml).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `kills` rounds of: trade a while → SIGKILL at a random moment → the market moves while the
/// bot is down → restart (every fifth time with the emergency flag set first) → pause → check.
fn kill_and_recover(tag: &str, kills: u64, faults: FaultConfig, seed: u64) {
    let dir = temp_dir(tag);
    let faults_on = !faults.is_off();
    let handle = stepped_sim(&dir, &[(KEY, SECRET)], faults);
    let url = handle.base_url();
    std::fs::write(dir.join("acck.yaml"), account_yaml("acck", &url, KEY, SECRET, false)).unwrap();
    std::fs::write(
        dir.join("bot.yaml"),
        "data_dir: var\naccounts: [acck.yaml]\nlogging: {level: info, terminal: pretty}\n",
    )
    .unwrap();
    let bot_yaml = dir.join("bot.yaml");
    let ex = client(&url, KEY, SECRET);
    let mut rng = Rng(seed);
    let mut bot = start_bot(&bot_yaml);
    for k in 0..kills {
        // Trade, and SIGKILL at a random moment while the market moves.
        let before_kill = 20 + rng.below(200);
        step(&handle, before_kill);
        let killer = {
            let pid = bot.child.id();
            let delay = rng.below(10);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(delay));
                Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
            })
        };
        step(&handle, 5);
        killer.join().unwrap();
        bot.kill();
        // Fills happen while the bot is down.
        step(&handle, rng.below(60));
        let flagged = k % 5 == 4;
        if flagged {
            operator(&["stop", "--account", "acck", "--reason", "e2e"], &bot_yaml);
            let before = orders_created(&handle);
            bot = start_bot(&bot_yaml);
            step(&handle, 150);
            std::thread::sleep(Duration::from_millis(1_500));
            assert_eq!(
                orders_created(&handle),
                before,
                "round {k}: an order was sent while the emergency flag existed"
            );
            operator(&["resume", "--account", "acck"], &bot_yaml);
            std::thread::sleep(Duration::from_millis(2_500));
        } else {
            bot = start_bot(&bot_yaml);
        }
        // The market pauses; the bot settles and saves; check.
        quiet(&handle, &dir.join("var/acck/acck.state.json"));
        check_invariants_eventually(&dir.join("var"), "acck", &ex, &SYMBOLS);
        eprintln!("{tag}: round {k} ok (killed after {before_kill} candles)");
    }
    assert_eq!(bot.terminate(), Some(0));
    quiet(&handle, &dir.join("var/acck/acck.state.json"));
    check_invariants_eventually(&dir.join("var"), "acck", &ex, &SYMBOLS);
    let journal = gridbot_state::Journal::open(&dir.join("var/acck/journal.sqlite")).unwrap();
    assert!(journal.execution_count().unwrap() > 10, "the bot traded across the restarts");
    // The journal holds every fill the exchange made, those while the bot was down included:
    // none lost, none doubled.
    let mut journaled: Vec<String> =
        journal.trades_between(0, i64::MAX).unwrap().into_iter().map(|t| t.exec_id).collect();
    let mut on_exchange: Vec<String> = SYMBOLS
        .iter()
        .flat_map(|s| {
            let symbol = gridbot_core::Symbol::new(*s).unwrap();
            // The replay's time (the data's own dates), a window the client pages in 7 days.
            let end = handle.market_time_ms() + 86_400_000;
            let window = gridbot_core::TimeWindow { start_ms: end - 60 * 86_400_000, end_ms: end };
            gridbot_core::Exchange::executions(&ex, &symbol, window).unwrap()
        })
        .filter(|e| e.exec_type == gridbot_core::ExecType::Trade)
        .map(|e| e.exec_id)
        .collect();
    journaled.sort();
    on_exchange.sort();
    assert_eq!(journaled, on_exchange, "the journal's executions are the exchange's");
    if faults_on {
        assert!(handle.faults_injected() > 10, "faults were injected: {}", handle.faults_injected());
    }
    drop(handle);
}

#[test]
fn sigkilled_twenty_times_the_bot_always_recovers_to_the_exchange() {
    kill_and_recover("kill", 22, FaultConfig::default(), 0x5EED_1234);
}

#[test]
fn with_faults_injected_the_same_invariants_hold() {
    let faults = FaultConfig {
        seed: 7,
        latency_ms: 1,
        error_rate: 0.03,
        rate_limit_every: 40,
        ws_drop_every_s: 3,
        duplicate_rate: 0.1,
        reorder_rate: 0.1,
    };
    kill_and_recover("faults", 6, faults, 0xFA17_5EED);
}
