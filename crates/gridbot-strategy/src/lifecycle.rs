//! The life of one order as a strategy tracks it: one [`OrderState`], one transition table
//! ([`OrderState::next`]), and the quantity filled so far beside it.
//!
//! ```text
//!   PendingNew ──ack──▶ Working ──fill──▶ PartiallyFilled ──fill (all)──▶ ended
//!      │ place failed,       │ cancel sent        │ cancel sent
//!      │ may exist           ▼                    ▼
//!      ▼                PendingCancel ──cancelled──▶ ended        (fills may still arrive)
//!   Unconfirmed              │ cancel failed
//!      │ update / fill       ▼
//!      ▼                CancelRejected ──fill / update──▶ …       (it filled or vanished)
//!   Working
//!   exchange ended it with n filled, fewer seen ──▶ AwaitingFills ──fills reach n──▶ ended
//! ```
//!
//! Decisions:
//! - **One state, not flags.** Whether a cancel is in flight, whether it failed, whether the
//!   place may have reached the exchange, whether fills are owed: each is a state, so no two of
//!   them can be true at once and every `(state, event)` pair is decided in one `match`.
//! - **Fills count in every state.** A fill after a cancel was sent, after a cancel failed or
//!   after the exchange ended the order is still a fill: the quantity goes on the order and the
//!   order ends once everything it owes has been seen.
//! - **Times are event times** (`now_ms` as given), so a replay at any speed times out like
//!   real time; what times out is the strategy's call (see `UNEXPLAINED_MS`).
//! - **The exchange's word is final.** Once an order update ended the order, a cancel sent or
//!   failed later changes nothing: the order only waits for the fills it owes.
//! - An ended order leaves the working list (the caller removes it); `next` reports `Ended`.

use gridbot_core::Qty;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Sent (or about to be); no answer yet.
    PendingNew,
    /// The place failed in a way that may not have reached the exchange: the order may exist.
    Unconfirmed {
        /// Since when (event time, ms).
        since_ms: i64,
    },
    /// Acknowledged and resting; nothing filled.
    Working,
    /// Partly filled and still resting.
    PartiallyFilled {
        /// Since the first fill (event time, ms).
        since_ms: i64,
    },
    /// A cancel was sent and not answered yet; fills may still arrive.
    PendingCancel,
    /// A cancel failed: the order filled or vanished meanwhile, and its fate is not known yet.
    CancelRejected {
        /// Since when (event time, ms).
        since_ms: i64,
    },
    /// The exchange ended the order with `cum_exec_qty` filled; some of those fills are still
    /// to be seen.
    AwaitingFills {
        /// What the exchange says filled.
        cum_exec_qty: Qty,
    },
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The exchange accepted the place.
    Acknowledged,
    /// The place failed; `may_exist` when the error may not have reached the exchange.
    PlaceFailed {
        /// The order might exist anyway.
        may_exist: bool,
    },
    /// The place was not sent (its cancel did not go through, or sending is halted).
    PlaceSkipped,
    /// A fill of `qty`.
    Filled {
        /// Quantity.
        qty: Qty,
    },
    /// An order update from the exchange; `ended_with` when it ended the order (cancelled,
    /// rejected, deactivated) with this much filled.
    Updated {
        /// The filled quantity of an ended order.
        ended_with: Option<Qty>,
    },
    /// A cancel request went out.
    CancelSent,
    /// The cancel went through.
    Cancelled,
    /// The cancel failed (most often: the order already filled or is gone).
    CancelFailed,
}

/// Whether the order goes on after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Still live: it stays on the working list.
    Live(OrderState),
    /// Over: it leaves the working list with what it filled.
    Ended,
}

impl OrderState {
    /// The transition table. `filled` is what the order had filled before `event`, `qty` its
    /// size; a `Filled` event's quantity is added by the caller (see `WorkingOrder::on`).
    #[must_use]
    pub fn next(self, event: OrderEvent, filled: Qty, qty: Qty, now_ms: i64) -> Step {
        use OrderEvent as E;
        use OrderState as S;
        match (self, event) {
            (state, E::Filled { qty: fill }) => {
                let filled = filled.checked_add(fill).unwrap_or(filled);
                match state {
                    _ if filled >= qty => Step::Ended,
                    S::AwaitingFills { cum_exec_qty } if filled >= cum_exec_qty => Step::Ended,
                    S::PendingNew | S::Unconfirmed { .. } | S::Working => {
                        Step::Live(S::PartiallyFilled { since_ms: now_ms })
                    }
                    other => Step::Live(other),
                }
            }
            // The exchange already ended it: nothing but its fills (or a newer word from the
            // exchange) changes that.
            (
                S::AwaitingFills { cum_exec_qty },
                E::Acknowledged
                | E::Updated { ended_with: None }
                | E::PlaceFailed { may_exist: true }
                | E::CancelSent
                | E::CancelFailed,
            ) => Step::Live(S::AwaitingFills { cum_exec_qty }),
            (_, E::Updated { ended_with: Some(cum) }) if filled >= cum => Step::Ended,
            (_, E::Updated { ended_with: Some(cum) }) => Step::Live(S::AwaitingFills { cum_exec_qty: cum }),
            (S::Unconfirmed { .. }, E::Updated { ended_with: None }) => Step::Live(resting(filled, now_ms)),
            (state, E::Updated { ended_with: None }) => Step::Live(state),
            (S::PendingNew | S::Unconfirmed { .. }, E::Acknowledged) => Step::Live(resting(filled, now_ms)),
            (state, E::Acknowledged) => Step::Live(state),
            (S::Unconfirmed { since_ms }, E::PlaceFailed { may_exist: true }) => {
                Step::Live(S::Unconfirmed { since_ms })
            }
            (_, E::PlaceFailed { may_exist: true }) => Step::Live(S::Unconfirmed { since_ms: now_ms }),
            (_, E::PlaceFailed { may_exist: false } | E::PlaceSkipped | E::Cancelled) => Step::Ended,
            (_, E::CancelSent) => Step::Live(S::PendingCancel),
            (S::CancelRejected { since_ms }, E::CancelFailed) => Step::Live(S::CancelRejected { since_ms }),
            (_, E::CancelFailed) => Step::Live(S::CancelRejected { since_ms: now_ms }),
        }
    }

    /// A cancel is in flight.
    #[must_use]
    pub const fn cancel_sent(self) -> bool {
        matches!(self, Self::PendingCancel)
    }

    /// A cancel failed and the order's fate is not known yet.
    #[must_use]
    pub const fn cancel_rejected(self) -> bool {
        matches!(self, Self::CancelRejected { .. })
    }

    /// Since when the order has been unexplained (a place that may exist, a failed cancel).
    #[must_use]
    pub const fn unexplained_since(self) -> Option<i64> {
        match self {
            Self::Unconfirmed { since_ms } | Self::CancelRejected { since_ms } => Some(since_ms),
            _ => None,
        }
    }

    /// Since when a resting order has been partly filled.
    #[must_use]
    pub const fn partial_since(self) -> Option<i64> {
        match self {
            Self::PartiallyFilled { since_ms } => Some(since_ms),
            _ => None,
        }
    }
}

/// An acknowledged order: working, or partly filled already.
fn resting(filled: Qty, now_ms: i64) -> OrderState {
    if filled.is_zero() { OrderState::Working } else { OrderState::PartiallyFilled { since_ms: now_ms } }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn q(n: u32) -> Qty {
        Qty::new(gridbot_core::Decimal::from(n)).unwrap()
    }

    fn run(events: &[OrderEvent], size: u32) -> (Vec<Step>, Qty) {
        let mut state = OrderState::PendingNew;
        let mut filled = Qty::ZERO;
        let mut steps = Vec::new();
        for (t, e) in events.iter().enumerate() {
            let step = state.next(*e, filled, q(size), i64::try_from(t).unwrap());
            if let OrderEvent::Filled { qty } = e {
                filled = filled.checked_add(*qty).unwrap();
            }
            steps.push(step);
            match step {
                Step::Live(s) => state = s,
                Step::Ended => break,
            }
        }
        (steps, filled)
    }

    #[test]
    fn a_fill_after_the_cancel_was_sent_still_counts_and_can_end_the_order() {
        use OrderEvent as E;
        let (steps, filled) =
            run(&[E::Acknowledged, E::Filled { qty: q(1) }, E::CancelSent, E::Filled { qty: q(2) }], 3);
        assert_eq!(filled, q(3));
        assert_eq!(steps[2], Step::Live(OrderState::PendingCancel));
        assert_eq!(steps[3], Step::Ended, "fully filled while the cancel was in flight");
    }

    #[test]
    fn an_order_ended_by_the_exchange_waits_for_the_fills_it_reports() {
        use OrderEvent as E;
        let (steps, _) = run(
            &[E::Acknowledged, E::Updated { ended_with: Some(q(2)) }, E::Filled { qty: q(1) }, E::Filled { qty: q(1) }],
            5,
        );
        assert_eq!(steps[1], Step::Live(OrderState::AwaitingFills { cum_exec_qty: q(2) }));
        assert_eq!(steps[2], Step::Live(OrderState::AwaitingFills { cum_exec_qty: q(2) }));
        assert_eq!(steps[3], Step::Ended);
    }

    #[test]
    fn an_unconfirmed_place_keeps_its_first_time_until_the_exchange_explains_it() {
        use OrderEvent as E;
        let (steps, _) = run(
            &[E::PlaceFailed { may_exist: true }, E::PlaceFailed { may_exist: true }, E::Updated { ended_with: None }],
            1,
        );
        assert_eq!(steps[1], Step::Live(OrderState::Unconfirmed { since_ms: 0 }));
        assert_eq!(steps[2], Step::Live(OrderState::Working));
        let (steps, _) = run(&[E::PlaceFailed { may_exist: false }], 1);
        assert_eq!(steps, [Step::Ended]);
    }

    #[test]
    fn a_failed_cancel_waits_for_the_order_s_fate() {
        use OrderEvent as E;
        let (steps, _) =
            run(&[E::Acknowledged, E::CancelSent, E::CancelFailed, E::CancelFailed, E::Filled { qty: q(1) }], 1);
        assert_eq!(steps[2], Step::Live(OrderState::CancelRejected { since_ms: 2 }));
        assert_eq!(steps[3], Step::Live(OrderState::CancelRejected { since_ms: 2 }), "the first failure's time stays");
        assert_eq!(steps[4], Step::Ended);
    }

    fn event() -> impl Strategy<Value = OrderEvent> {
        prop_oneof![
            Just(OrderEvent::Acknowledged),
            any::<bool>().prop_map(|may_exist| OrderEvent::PlaceFailed { may_exist }),
            Just(OrderEvent::PlaceSkipped),
            (1u32..4).prop_map(|n| OrderEvent::Filled { qty: q(n) }),
            proptest::option::of(0u32..8).prop_map(|c| OrderEvent::Updated { ended_with: c.map(q) }),
            Just(OrderEvent::CancelSent),
            Just(OrderEvent::Cancelled),
            Just(OrderEvent::CancelFailed),
        ]
    }

    proptest! {
        /// Whatever the order of events: an order ends exactly when something ended it (a
        /// definitive failure, a skip, a confirmed cancel, all its size filled, or every fill
        /// the exchange reported for an order it ended); fills are never lost; a cancel in
        /// flight survives fills; an unexplained order keeps its first time.
        #[test]
        fn the_table_ends_an_order_exactly_when_something_ended_it(events in proptest::collection::vec(event(), 1..20), size in 1u32..8) {
            let (steps, filled) = run(&events, size);
            let mut state = OrderState::PendingNew;
            let mut seen = Qty::ZERO;
            let mut owed: Option<Qty> = None;
            for (e, step) in events.iter().zip(&steps) {
                if let OrderEvent::Filled { qty } = e {
                    seen = seen.checked_add(*qty).unwrap();
                }
                if let OrderEvent::Updated { ended_with: Some(c) } = e {
                    owed = Some(*c);
                }
                let should_end = match e {
                    OrderEvent::PlaceFailed { may_exist: false } | OrderEvent::PlaceSkipped | OrderEvent::Cancelled => true,
                    OrderEvent::Filled { .. } | OrderEvent::Updated { ended_with: Some(_) } => {
                        seen >= q(size) || owed.is_some_and(|c| seen >= c)
                    }
                    _ => false,
                };
                prop_assert_eq!(*step == Step::Ended, should_end, "{:?} in {:?}", e, state);
                if let Step::Live(next) = step {
                    if state.cancel_sent() && matches!(e, OrderEvent::Filled { .. } | OrderEvent::Acknowledged) {
                        prop_assert!(next.cancel_sent(), "a fill or a late ack does not forget the cancel in flight");
                    }
                    if let (Some(a), Some(b)) = (state.unexplained_since(), next.unexplained_since()) {
                        prop_assert!(b >= a);
                    }
                    state = *next;
                }
            }
            prop_assert_eq!(filled, seen);
        }
    }
}
