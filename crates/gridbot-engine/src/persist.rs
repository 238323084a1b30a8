//! The persister: one thread per account that owns its snapshot file and journal, so fsyncs
//! never sit between a fill and the orders it calls for.
//!
//! Decisions:
//! - Records are applied in the order they were sent. Journal rows are each their own
//!   transaction (the journal's rule); of several snapshots waiting, only the newest is written
//!   (each replaces the file whole).
//! - A write that fails is logged and reported once per kind; trading goes on (the exchange is
//!   the source of truth, and a restart recovers from it).
//! - `stop` writes everything still queued before returning.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use gridbot_core::Symbol;
use gridbot_state::{AccountSnapshot, Journal, SnapshotStore};
use gridbot_strategy::JournalRecord;

/// One thing to make durable.
#[derive(Debug, Clone)]
pub enum Record {
    /// Replace the snapshot.
    Snapshot(Box<AccountSnapshot>),
    /// A journal row.
    Journal(JournalRecord),
    /// Everything before this is on disk: answered when reached.
    Barrier(std::sync::mpsc::SyncSender<()>),
}

/// The persister thread of one account.
#[derive(Debug)]
pub struct Persister {
    tx: Option<Sender<Record>>,
    thread: Option<JoinHandle<()>>,
}

fn journal_row(journal: &Journal, row: JournalRecord) -> Result<(), gridbot_state::JournalError> {
    match row {
        JournalRecord::Execution { execution, realised_pnl } => {
            journal.record_execution(&execution, realised_pnl).map(drop)
        }
        JournalRecord::Order(o) => journal.record_order(&o),
        JournalRecord::Position { position, at_ms } => journal.record_position(&position, at_ms),
        JournalRecord::Equity { wallet, at_ms } => journal.record_equity(&wallet, at_ms),
        JournalRecord::Grid { at_ms, symbol, change } => {
            journal.record_grid(at_ms, symbol.as_str(), change.kind(), &change.details_json())
        }
        JournalRecord::Event { at_ms, kind, symbol, message } => {
            journal.record_event(at_ms, kind.as_str(), symbol.as_ref().map(Symbol::as_str), &message)
        }
    }
}

fn write(store: &SnapshotStore, journal: &Journal, record: Record, warned: &mut [bool; 2]) {
    let started = std::time::Instant::now();
    let snapshot = matches!(record, Record::Snapshot(_));
    let result = match record {
        Record::Snapshot(s) => store.save(&s).map_err(|e| (0, e.to_string())),
        Record::Journal(row) => journal_row(journal, row).map_err(|e| (1, e.to_string())),
        Record::Barrier(done) => {
            let _ = done.send(());
            Ok(())
        }
    };
    let took = started.elapsed();
    if took >= std::time::Duration::from_secs(1) {
        tracing::warn!(
            ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            snapshot,
            "a write to disk took over a second (a slow or busy disk delays the state, never the trading)"
        );
    }
    if let Err((which, e)) = result {
        if warned[which] {
            tracing::debug!(error = %e, "persisting failed again");
        } else {
            warned[which] = true;
            tracing::error!(error = %e, "persisting failed; trading goes on, a restart recovers from the exchange");
        }
    }
}

fn run(store: &SnapshotStore, journal: &Journal, rx: &Receiver<Record>) {
    let mut warned = [false; 2];
    while let Ok(first) = rx.recv() {
        // Take everything waiting; write the newest snapshot only, at its place in the order.
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let last_snapshot = batch.iter().rposition(|r| matches!(r, Record::Snapshot(_)));
        for (i, record) in batch.into_iter().enumerate() {
            if matches!(record, Record::Snapshot(_)) && Some(i) != last_snapshot {
                continue;
            }
            write(store, journal, record, &mut warned);
        }
    }
}

impl Persister {
    /// Starts the thread, which takes ownership of `store` and `journal`.
    pub fn start(store: SnapshotStore, journal: Journal, name: &str) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        let thread =
            std::thread::Builder::new().name(format!("persist-{name}")).spawn(move || run(&store, &journal, &rx))?;
        Ok(Self { tx: Some(tx), thread: Some(thread) })
    }

    /// Queues `record`.
    pub fn send(&self, record: Record) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(record);
        }
    }

    /// Writes `snapshot` (after everything sent before it) and waits until it is on disk, at
    /// most `wait`; false when it did not get there in time (the write still happens).
    pub fn save_now(&self, snapshot: AccountSnapshot, wait: std::time::Duration) -> bool {
        let (done, reached) = std::sync::mpsc::sync_channel(1);
        self.send(Record::Snapshot(Box::new(snapshot)));
        self.send(Record::Barrier(done));
        reached.recv_timeout(wait).is_ok()
    }

    /// Writes everything queued, then stops.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Persister {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use gridbot_state::Loaded;

    use super::*;

    #[test]
    fn everything_queued_is_written_and_the_newest_snapshot_wins() {
        let dir = std::env::temp_dir().join(format!("gridbot-persist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = SnapshotStore::new(&dir, "acc");
        let journal = Journal::open(&dir.join("journal.sqlite")).unwrap();
        let p = Persister::start(store.clone(), journal, "acc").unwrap();
        for i in 0..50 {
            p.send(Record::Snapshot(Box::new(AccountSnapshot::new("acc", i))));
            p.send(Record::Journal(JournalRecord::Event {
                at_ms: i,
                kind: gridbot_strategy::EventKind::Operator,
                symbol: None,
                message: format!("event {i}"),
            }));
        }
        p.stop();
        match store.load(0).unwrap() {
            Loaded::Snapshot { snapshot, .. } => assert_eq!(snapshot.saved_at_ms, 49),
            other => panic!("{other:?}"),
        }
        let journal = Journal::open(&dir.join("journal.sqlite")).unwrap();
        assert_eq!(journal.recent_events(100).unwrap().len(), 50);
    }
}
