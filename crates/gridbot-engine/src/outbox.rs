//! [`Outbox`]: a bounded queue drained by a thread of its own — how alerts reach Telegram and
//! webhooks without a trading thread ever waiting on the network. Sending never blocks: a full
//! queue refuses (the caller counts it). Stopping sends what is queued, then joins.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// The sending end and the thread.
pub(crate) struct Outbox<J: Send + 'static> {
    tx: Option<SyncSender<J>>,
    thread: Option<JoinHandle<()>>,
}

impl<J: Send + 'static> Outbox<J> {
    /// Starts thread `name` running `drain` over a queue of `capacity` jobs; `drain` returns once
    /// the queue is closed and empty.
    pub(crate) fn start(
        name: &str,
        capacity: usize,
        drain: impl FnOnce(&Receiver<J>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<J>(capacity);
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(move || drain(&rx))?;
        Ok(Self { tx: Some(tx), thread: Some(thread) })
    }

    /// Queues `job`; false when it was refused (queue full, or stopped).
    pub(crate) fn send(&self, job: J) -> bool {
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Closes the queue and waits until what was queued is sent.
    pub(crate) fn stop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl<J: Send + 'static> Drop for Outbox<J> {
    fn drop(&mut self) {
        self.stop();
    }
}
