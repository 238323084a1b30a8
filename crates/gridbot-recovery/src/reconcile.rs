//! Reconciliation of what a snapshot believes against what the exchange reports — a pure
//! function of its inputs.
//!
//! Invariants (each a property test):
//! 1. every tracked order lands in exactly one bucket: `working` (still open on the exchange),
//!    `filled_while_down` (closed with fills), `cancelled` (closed without fills), or `ghosts`
//!    (unknown to the exchange);
//! 2. every open exchange order is either `working` (tracked) or an `orphan` — an orphan is
//!    reported, never adopted;
//! 3. the result does not depend on the order of the reports, and a report that arrives twice
//!    counts once (duplicates are common after reconnects);
//! 4. an order seen both open and closed counts as closed (the closed report is newer: orders
//!    never reopen).
//!
//! Matching is by orderLinkId (our ids are unique), falling back to the exchange order id.

use std::collections::{BTreeMap, BTreeSet};

use gridbot_core::Order;
use gridbot_state::TrackedOrder;

/// The outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Tracked and still open: (ours, the exchange's view).
    pub working: Vec<(TrackedOrder, Order)>,
    /// Tracked, and filled (fully or partly) while we were away.
    pub filled_while_down: Vec<(TrackedOrder, Order)>,
    /// Tracked, and cancelled or rejected on the exchange without any fill.
    pub cancelled: Vec<(TrackedOrder, Order)>,
    /// Tracked, but the exchange knows nothing of it (never arrived, or too old to list).
    pub ghosts: Vec<TrackedOrder>,
    /// Open on the exchange, but not tracked by us: logged, never adopted.
    pub orphans: Vec<Order>,
}

fn key_of(o: &Order) -> String {
    if o.order_link_id.is_empty() { format!("id:{}", o.order_id) } else { o.order_link_id.clone() }
}

/// Keeps one report per order: the closed one if any (orders never reopen), else the one
/// updated last.
fn latest(reports: impl IntoIterator<Item = Order>) -> BTreeMap<String, Order> {
    let mut by_key: BTreeMap<String, Order> = BTreeMap::new();
    for o in reports {
        let k = key_of(&o);
        let keep_new = match by_key.get(&k) {
            None => true,
            Some(old) => match (old.is_open(), o.is_open()) {
                (true, false) => true,
                (false, true) => false,
                _ => (o.updated_time_ms, o.cum_exec_qty) > (old.updated_time_ms, old.cum_exec_qty),
            },
        };
        if keep_new {
            by_key.insert(k, o);
        }
    }
    by_key
}

/// Classifies `tracked` orders against the exchange's `open` orders and order `history`.
#[must_use]
pub fn reconcile(tracked: &[TrackedOrder], open: &[Order], history: &[Order]) -> Reconciliation {
    let reports = latest(open.iter().chain(history).cloned());
    let mut out = Reconciliation::default();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    let mut seen_tracked: BTreeSet<&str> = BTreeSet::new();
    let mut tracked_sorted: Vec<&TrackedOrder> = tracked.iter().collect();
    tracked_sorted.sort_by(|a, b| a.link_id.cmp(&b.link_id));
    for t in tracked_sorted {
        if !seen_tracked.insert(t.link_id.as_str()) {
            continue; // tracked twice: once is enough
        }
        let by_id = t.order_id.as_ref().map(|id| format!("id:{id}"));
        let found = reports
            .get(&t.link_id)
            .map(|o| (t.link_id.clone(), o))
            .or_else(|| by_id.and_then(|k| reports.get(&k).map(|o| (k, o))));
        match found {
            None => out.ghosts.push(t.clone()),
            Some((key, o)) => {
                claimed.insert(key);
                let pair = (t.clone(), o.clone());
                if o.is_open() {
                    out.working.push(pair);
                } else if o.cum_exec_qty.is_zero() {
                    out.cancelled.push(pair);
                } else {
                    out.filled_while_down.push(pair);
                }
            }
        }
    }
    out.orphans = reports.into_iter().filter(|(k, o)| o.is_open() && !claimed.contains(k)).map(|(_, o)| o).collect();
    out
}
