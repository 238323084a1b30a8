//! The event queue of one account (ARCHITECTURE §6): four priorities — executions (P0) before order
//! updates (P1) before positions and the wallet (P2) before market data and timers (P3) — and
//! FIFO within a priority. WebSocket readers push; the account's one event worker pops.
//!
//! Decisions:
//! - A `Mutex` over four `VecDeque`s and a `Condvar`: pushes come from a handful of reader
//!   threads, pops from one worker, and a push is a few hundred nanoseconds.
//! - Order-book tops of a symbol *coalesce*: a newer top replaces one still waiting, keeping the
//!   older frame's read time (latency is measured from the first frame that wanted action).
//!   Market data is state, not history; executions and order updates never coalesce.
//! - `close` wakes the worker at once; events still queued are dropped by the caller's choice
//!   (`drain`), so a stop does not wait behind market data.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gridbot_bybit::ws::stream::Lifecycle;
use gridbot_core::{BookLevel, Execution, Order, Position, Symbol, Wallet};
use gridbot_strategy::ReconcileReason;

/// What the streams say about themselves: a log line, nothing to trade on.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamNews {
    /// The private stream authenticated.
    PrivateAuthenticated,
    /// The private stream's connection.
    Private(Lifecycle),
    /// The shared public stream's connection.
    Public(Lifecycle),
    /// A symbol's order book was reset (a gap in its updates) and is being resubscribed.
    BookReset(Symbol),
}

impl std::fmt::Display for StreamNews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PrivateAuthenticated => f.write_str("private stream authenticated"),
            Self::Private(l) => write!(f, "private stream: {l}"),
            Self::Public(l) => write!(f, "public stream: {l}"),
            Self::BookReset(symbol) => write!(f, "{symbol}: order book reset, resubscribing"),
        }
    }
}

/// What the worker reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Fills and funding (P0).
    Executions(Vec<Execution>),
    /// Order updates (P1).
    Orders(Vec<Order>),
    /// A request to reconcile every symbol over REST: after a private reconnect (P1).
    Reconcile(ReconcileReason),
    /// Position updates (P2).
    Positions(Vec<Position>),
    /// Wallet updates (P2).
    Wallet(Wallet),
    /// The top of a symbol's book (P3).
    Book {
        /// Symbol.
        symbol: Symbol,
        /// Best bid.
        bid: Option<BookLevel>,
        /// Best ask.
        ask: Option<BookLevel>,
        /// Exchange time, UTC ms.
        ts_ms: i64,
    },
    /// Connection news worth a log line (P3).
    StreamNews(StreamNews),
    /// A symbol's predicted funding rate and next settlement changed (P3; for a funding guard).
    Funding {
        /// Symbol.
        symbol: Symbol,
        /// Predicted rate (positive: longs pay).
        rate: gridbot_core::Decimal,
        /// The next settlement, UTC ms.
        next_funding_ms: i64,
    },
}

impl Event {
    /// The event's priority: 0 is served first.
    #[must_use]
    pub const fn priority(&self) -> usize {
        match self {
            Self::Executions(_) => 0,
            Self::Orders(_) | Self::Reconcile(_) => 1,
            Self::Positions(_) | Self::Wallet(_) => 2,
            Self::Book { .. } | Self::StreamNews(_) | Self::Funding { .. } => 3,
        }
    }
}

/// An event and when the frame that carried it was read (for the latency figures).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    /// The event.
    pub event: Event,
    /// When its frame was read from the socket.
    pub read_at: Instant,
    /// The worker was idle, waiting for events, when this one arrived.
    pub found_idle: bool,
}

#[derive(Default)]
struct Inner {
    lanes: [VecDeque<QueuedEvent>; 4],
    closed: bool,
    /// The worker is blocked in `pop` with nothing queued.
    waiting: bool,
}

/// What `pop` found.
#[derive(Debug, PartialEq)]
pub enum Popped {
    /// The next event.
    Event(QueuedEvent),
    /// Nothing arrived before the deadline.
    TimedOut,
    /// The queue was closed.
    Closed,
}

/// The priority queue of one account.
#[derive(Default)]
pub struct EventQueue {
    inner: Mutex<Inner>,
    ready: Condvar,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("EventQueue")
            .field("queued", &inner.lanes.iter().map(VecDeque::len).collect::<Vec<_>>())
            .field("closed", &inner.closed)
            .finish()
    }
}

impl EventQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `event`, read at `read_at`. Ignored once the queue is closed.
    pub fn push(&self, event: Event, read_at: Instant) {
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        let found_idle = inner.waiting && inner.lanes.iter().all(VecDeque::is_empty);
        let lane = &mut inner.lanes[event.priority()];
        if let Event::Book { symbol, .. } = &event
            && let Some(waiting) =
                lane.iter_mut().find(|e| matches!(&e.event, Event::Book { symbol: s, .. } if s == symbol))
        {
            waiting.event = event;
        } else {
            lane.push_back(QueuedEvent { event, read_at, found_idle });
        }
        drop(inner);
        self.ready.notify_one();
    }

    /// The most urgent event, waiting at most `timeout`.
    pub fn pop(&self, timeout: Duration) -> Popped {
        let deadline = Instant::now() + timeout;
        let mut inner = self.lock();
        loop {
            if inner.closed {
                return Popped::Closed;
            }
            if let Some(e) = inner.lanes.iter_mut().find_map(VecDeque::pop_front) {
                inner.waiting = false;
                return Popped::Event(e);
            }
            let now = Instant::now();
            if now >= deadline {
                inner.waiting = false;
                return Popped::TimedOut;
            }
            inner.waiting = true;
            inner = self.ready.wait_timeout(inner, deadline - now).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
    }

    /// Events waiting, over all priorities.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().lanes.iter().map(VecDeque::len).sum()
    }

    /// True when nothing waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the queue: `pop` returns `Closed`, pushes are dropped.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Removes and returns everything still queued, most urgent first.
    pub fn drain(&self) -> Vec<QueuedEvent> {
        let mut inner = self.lock();
        inner.lanes.iter_mut().flat_map(std::mem::take).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(symbol: &str, ts_ms: i64) -> Event {
        Event::Book { symbol: Symbol::new(symbol).unwrap(), bid: None, ask: None, ts_ms }
    }

    fn pop(q: &EventQueue) -> Event {
        match q.pop(Duration::ZERO) {
            Popped::Event(e) => e.event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn priorities_first_then_fifo_within_a_priority() {
        let q = EventQueue::new();
        let now = Instant::now();
        q.push(book("BTCUSDT", 1), now);
        q.push(Event::Positions(vec![]), now);
        q.push(Event::Orders(vec![]), now);
        q.push(Event::StreamNews(StreamNews::PrivateAuthenticated), now);
        q.push(Event::Executions(vec![]), now);
        q.push(Event::Reconcile(ReconcileReason::StreamReconnected), now);
        q.push(Event::StreamNews(StreamNews::Public(Lifecycle::Connected)), now);
        let order: Vec<Event> = (0..7).map(|_| pop(&q)).collect();
        assert_eq!(
            order,
            vec![
                Event::Executions(vec![]),
                Event::Orders(vec![]),
                Event::Reconcile(ReconcileReason::StreamReconnected),
                Event::Positions(vec![]),
                book("BTCUSDT", 1),
                Event::StreamNews(StreamNews::PrivateAuthenticated),
                Event::StreamNews(StreamNews::Public(Lifecycle::Connected)),
            ]
        );
        assert_eq!(q.pop(Duration::from_millis(1)), Popped::TimedOut);
    }

    #[test]
    fn book_tops_of_a_symbol_coalesce_keeping_the_first_read_time() {
        let q = EventQueue::new();
        let first = Instant::now();
        q.push(book("BTCUSDT", 1), first);
        q.push(book("ETHUSDT", 1), first);
        q.push(book("BTCUSDT", 2), first + Duration::from_millis(5));
        assert_eq!(q.len(), 2);
        match q.pop(Duration::ZERO) {
            Popped::Event(e) => {
                assert_eq!(e.event, book("BTCUSDT", 2));
                assert_eq!(e.read_at, first);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pop(&q), book("ETHUSDT", 1));
    }

    #[test]
    fn close_wakes_a_waiting_worker_and_drops_later_pushes() {
        let q = std::sync::Arc::new(EventQueue::new());
        let worker = {
            let q = q.clone();
            std::thread::spawn(move || q.pop(Duration::from_secs(30)))
        };
        std::thread::sleep(Duration::from_millis(20));
        q.close();
        assert_eq!(worker.join().unwrap(), Popped::Closed);
        q.push(Event::Executions(vec![]), Instant::now());
        assert!(q.is_empty());
    }

    #[test]
    fn a_push_from_another_thread_wakes_the_worker() {
        let q = std::sync::Arc::new(EventQueue::new());
        let pusher = {
            let q = q.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                q.push(Event::Executions(vec![]), Instant::now());
            })
        };
        assert!(matches!(q.pop(Duration::from_secs(30)), Popped::Event(_)));
        pusher.join().unwrap();
    }
}
