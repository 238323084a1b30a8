//! Crash test: a child process saves snapshots and commits journal rows in a loop and is
//! SIGKILLed at random moments, 200 times. After every kill the snapshot parses (it is the old
//! one or the new one, never a torn one) and the journal opens with every committed row present.
//!
//! The child is this test binary itself, running the ignored `crash_writer` test.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gridbot_core::{ExecType, Execution, OrderType, Qty, Side, Symbol};
use gridbot_state::{AccountSnapshot, Journal, Loaded, SnapshotStore};

const KILLS: usize = 200;

fn execution(i: u64) -> Execution {
    Execution {
        exec_id: format!("e{i:09}"),
        order_id: format!("o{i}"),
        order_link_id: String::new(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        exec_type: ExecType::Trade,
        order_type: OrderType::Limit,
        exec_price: "30000".parse().unwrap(),
        exec_qty: "0.001".parse().unwrap(),
        exec_value: "30".parse().unwrap(),
        exec_fee: "0.006".parse().unwrap(),
        fee_rate: "0.0002".parse().unwrap(),
        is_maker: true,
        closed_size: Qty::ZERO,
        exec_time_ms: i64::try_from(i).unwrap(),
    }
}

/// The child: write forever, announcing each durable step on stdout.
#[test]
#[ignore = "run by `crash_kills_never_corrupt_state` as a child process"]
fn crash_writer() {
    let Ok(dir) = std::env::var("GRIDBOT_CRASH_DIR") else { return };
    let dir = PathBuf::from(dir);
    let store = SnapshotStore::new(&dir, "acc");
    let journal = Journal::open(&dir.join("acc.sqlite")).unwrap();
    let mut i = u64::try_from(journal.execution_count().unwrap()).unwrap();
    loop {
        i += 1;
        journal.record_execution(&execution(i), None).unwrap();
        println!("J {i}");
        let mut snap = AccountSnapshot::new("acc", i64::try_from(i).unwrap());
        snap.last_execution_id = Some(format!("e{i:09}"));
        snap.last_execution_ms = Some(i64::try_from(i).unwrap());
        store.save(&snap).unwrap();
        println!("S {i}");
    }
}

#[test]
fn crash_kills_never_corrupt_state() {
    let dir = std::env::temp_dir().join(format!("gridbot-state-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng: u64 = 0x0dd_b1a5;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut last_journal, mut last_snapshot) = (0u64, 0u64);
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_writer", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
            .env("GRIDBOT_CRASH_DIR", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Wait until the child is writing, then kill it a random few milliseconds later.
        let mut early = Vec::new();
        loop {
            let line = rx.recv_timeout(Duration::from_secs(30)).expect("the writer starts");
            let writing = line.starts_with("J ");
            early.push(line);
            if writing {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(next() % 20_000));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        for line in early.into_iter().chain(rx.try_iter()) {
            match line.split_once(' ') {
                Some(("J", n)) => last_journal = last_journal.max(n.parse().unwrap()),
                Some(("S", n)) => last_snapshot = last_snapshot.max(n.parse().unwrap()),
                _ => {}
            }
        }
        // The snapshot parses and is at least as new as the last one announced.
        match SnapshotStore::new(&dir, "acc").load(0).unwrap() {
            Loaded::Snapshot { snapshot, .. } => {
                let saved = u64::try_from(snapshot.last_execution_ms.unwrap()).unwrap();
                assert!(saved >= last_snapshot, "kill {kill}: snapshot {saved} older than announced {last_snapshot}");
            }
            Loaded::Missing => assert_eq!(last_snapshot, 0, "kill {kill}: snapshot lost"),
            Loaded::Corrupt { reason, .. } => panic!("kill {kill}: corrupt snapshot: {reason}"),
        }
        // The journal opens and holds every announced row.
        let journal = Journal::open(&dir.join("acc.sqlite")).unwrap();
        let count = u64::try_from(journal.execution_count().unwrap()).unwrap();
        assert!(count >= last_journal, "kill {kill}: {count} rows, {last_journal} were committed");
        if last_journal > 0 {
            let rows = journal
                .trades_between(i64::try_from(last_journal).unwrap(), i64::try_from(last_journal).unwrap())
                .unwrap();
            assert_eq!(rows.len(), 1, "kill {kill}: row {last_journal} missing");
        }
    }
    assert!(last_journal > KILLS as u64, "the writer made progress: {last_journal} rows");
    std::fs::remove_dir_all(&dir).unwrap();
}
