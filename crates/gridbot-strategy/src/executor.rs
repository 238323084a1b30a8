//! The one executor: sends a batch of commands over the `Exchange` trait, in order, and
//! reports each outcome. Live trading runs it over the Bybit client, paper trading over the
//! same client against the simulator, a backtest over the in-process simulator. Retries of
//! transient errors happen inside the client (same orderLinkId, re-signed).
//!
//! Decisions:
//! - **A gate before every request.** `may_send` is asked right before each request is handed
//!   to the exchange; `false` sends nothing (live: the emergency-stop flag file exists). It is
//!   not asked for a place that is skipped anyway, so the live shell can also take its
//!   event-to-order latency sample at the first `true`.
//! - A place that depends on a cancel (`after_cancel`) is skipped unless that cancel went
//!   through in the same batch: the order it replaces may have filled meanwhile.

use gridbot_core::{ErrorAction, ErrorDetail, Exchange, ExchangeError, OrderLinkId, OrderRef};

use crate::command::{Command, Outcome};

fn halted(endpoint: &str) -> ExchangeError {
    ExchangeError::Rejected(ErrorDetail {
        endpoint: endpoint.to_owned(),
        ret_code: None,
        http_status: None,
        message: "not sent: the emergency stop is on".to_owned(),
    })
}

/// Sends `commands` in order; `may_send` is asked right before every request.
pub fn execute(exchange: &dyn Exchange, commands: &[Command], may_send: &mut dyn FnMut() -> bool) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(commands.len());
    let mut cancelled: Vec<&OrderLinkId> = Vec::new();
    for command in commands {
        let outcome = match command {
            Command::Place { request, after_cancel, .. } => {
                let link_id = request.order_link_id.clone();
                if after_cancel.as_ref().is_some_and(|id| !cancelled.contains(&id)) || !may_send() {
                    Outcome::PlaceSkipped { link_id }
                } else {
                    match exchange.place(request) {
                        Ok(ack) => Outcome::Placed { link_id, order_id: ack.order_id },
                        Err(error) => Outcome::PlaceFailed { link_id, error },
                    }
                }
            }
            Command::Cancel { symbol, link_id } => {
                if may_send() {
                    match exchange.cancel(symbol, &OrderRef::LinkId(link_id.clone())) {
                        Ok(_) => {
                            cancelled.push(link_id);
                            Outcome::Cancelled { link_id: link_id.clone() }
                        }
                        Err(error) => Outcome::CancelFailed { link_id: link_id.clone(), error },
                    }
                } else {
                    Outcome::CancelFailed { link_id: link_id.clone(), error: halted("/v5/order/cancel") }
                }
            }
            Command::CancelAll { symbol } => {
                if may_send() {
                    match exchange.cancel_all(symbol) {
                        Ok(acks) => Outcome::CancelledAll { symbol: symbol.clone(), count: acks.len() },
                        Err(error) => Outcome::CancelAllFailed { symbol: symbol.clone(), error },
                    }
                } else {
                    Outcome::CancelAllFailed { symbol: symbol.clone(), error: halted("/v5/order/cancel-all") }
                }
            }
        };
        match &outcome {
            // The order filled or was cancelled meanwhile: its own events will say which.
            Outcome::CancelFailed { link_id, error } if error.action() == ErrorAction::Reconcile => {
                tracing::info!(link_id = %link_id, "cancel: the order is already gone (filled or cancelled)");
            }
            Outcome::PlaceFailed { link_id, error } | Outcome::CancelFailed { link_id, error } => {
                tracing::warn!(link_id = %link_id, error = %error, "command failed");
            }
            Outcome::Placed { link_id, order_id } => {
                if let Command::Place { request, .. } = command {
                    tracing::debug!(
                        link_id = %link_id,
                        order_id = %order_id,
                        side = request.side.as_str(),
                        qty = %request.qty,
                        price = %request.price.map_or_else(|| "market".to_owned(), |p| p.to_string()),
                        reduce_only = request.reduce_only,
                        "placed"
                    );
                }
            }
            Outcome::Cancelled { link_id } => tracing::debug!(link_id = %link_id, "cancelled"),
            Outcome::CancelledAll { symbol, count } => tracing::debug!(%symbol, count, "cancelled all"),
            Outcome::PlaceSkipped { link_id } => {
                tracing::debug!(link_id = %link_id, "place skipped (its cancel did not go through, or halted)");
            }
            _ => {}
        }
        outcomes.push(outcome);
    }
    outcomes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use gridbot_core::reference::bybit_btcusdt;
    use gridbot_core::{Decimal, OrderRole, PositionIdx, Side, TimeInForce};
    use gridbot_recovery::LinkTag;
    use gridbot_sim::{CandleReplay, MatchingEngine, SimAccount, SimConfig, SimExchange};

    use super::*;

    fn setup() -> (SimAccount, std::sync::Arc<SimExchange>) {
        let sim = SimExchange::new(
            MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]),
            CandleReplay::new(60_000, BTreeMap::new()),
        );
        sim.with_engine(|e| e.move_price(bybit_btcusdt().symbol(), "30000".parse().unwrap()));
        let id = sim.add_account(Decimal::from(100_000));
        let account = sim.account(id);
        account.set_position_mode(bybit_btcusdt().symbol(), gridbot_core::PositionMode::Hedge).unwrap();
        (account, sim)
    }

    fn place(nonce: u32, price: &str) -> Command {
        let tag = LinkTag {
            account: "t".into(),
            leg: gridbot_core::Leg::Long,
            cycle: 1,
            role: OrderRole::Balance,
            level: 0,
            nonce,
        };
        let request = gridbot_core::OrderRequest::limit(
            bybit_btcusdt().symbol().clone(),
            Side::Buy,
            "0.001".parse().unwrap(),
            price.parse().unwrap(),
            TimeInForce::PostOnly,
            PositionIdx::Long,
            tag.encode().unwrap(),
        );
        Command::Place { request, tag, after_cancel: None }
    }

    fn link_id(c: &Command) -> OrderLinkId {
        match c {
            Command::Place { request, .. } => request.order_link_id.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_place_waits_for_the_cancel_it_depends_on() {
        let (ex, _sim) = setup();
        let open = &mut || true;
        let first = place(1, "29000");
        let old = link_id(&first);
        let out = execute(&ex, std::slice::from_ref(&first), open);
        assert!(matches!(out[0], Outcome::Placed { .. }), "{out:?}");
        let symbol = bybit_btcusdt().symbol().clone();
        // The cancel of an order that does not exist fails: the dependent place is skipped.
        let ghost = link_id(&place(99, "29000"));
        let mut replacement = place(2, "29100");
        if let Command::Place { after_cancel, .. } = &mut replacement {
            *after_cancel = Some(ghost.clone());
        }
        let out = execute(&ex, &[Command::Cancel { symbol: symbol.clone(), link_id: ghost }, replacement], open);
        assert!(matches!(out[0], Outcome::CancelFailed { .. }), "{out:?}");
        assert!(matches!(out[1], Outcome::PlaceSkipped { .. }), "{out:?}");
        // A cancel that goes through lets its replacement out.
        let mut replacement = place(3, "29100");
        if let Command::Place { after_cancel, .. } = &mut replacement {
            *after_cancel = Some(old.clone());
        }
        let out = execute(&ex, &[Command::Cancel { symbol, link_id: old }, replacement], open);
        assert!(matches!(out[0], Outcome::Cancelled { .. }) && matches!(out[1], Outcome::Placed { .. }), "{out:?}");
    }

    #[test]
    fn nothing_is_sent_while_the_gate_is_closed_and_it_is_asked_before_every_request() {
        let (ex, sim) = setup();
        let before = sim.with_engine(|e| e.next_order_number());
        let symbol = bybit_btcusdt().symbol().clone();
        let mut asked = 0;
        let out = execute(&ex, &[place(1, "29000"), Command::CancelAll { symbol: symbol.clone() }], &mut || {
            asked += 1;
            false
        });
        assert!(matches!(out[0], Outcome::PlaceSkipped { .. }) && matches!(out[1], Outcome::CancelAllFailed { .. }));
        assert_eq!(asked, 2);
        assert_eq!(sim.with_engine(|e| e.next_order_number()), before, "nothing reached the exchange");
        // The gate closes between two requests of one batch: the second is not sent.
        let mut open_once = true;
        let out = execute(&ex, &[place(2, "29000"), place(3, "29001")], &mut || std::mem::take(&mut open_once));
        assert!(matches!(out[0], Outcome::Placed { .. }) && matches!(out[1], Outcome::PlaceSkipped { .. }), "{out:?}");
        assert_eq!(ex.open_orders(&symbol).unwrap().len(), 1);
    }
}
