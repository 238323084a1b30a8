//! Fills missed live are journaled by the reconciliation that finds them: the core trades days
//! of real minutes against the in-process simulator while its private stream "drops" for half
//! an hour twice a day (every execution, order and position report of that stretch is lost),
//! and reconciles when it "reconnects", as live does. At the end the journal's executions are
//! exactly the exchange's — none lost, none twice — and the realised PnL it journaled, net of
//! fees, is the exchange's to the cent.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod support;

use std::collections::BTreeMap;

use gridbot_core::time::DAY_MS;
use gridbot_core::{Decimal, Exchange, ExecType, TimeWindow};
use gridbot_risk::RiskParams;
use gridbot_strategy::{AccountCore, CoreEvent, CoreStart, JournalRecord, ReconcileReason, Venue, drive, open_symbol};
use support::{btc, core_events, progressive_btc, sim};

#[test]
fn fills_missed_over_a_dropped_stream_are_journaled_once_with_the_exchanges_pnl() {
    let (sim, ex) = sim(100_000, 16 * DAY_MS);
    let config = progressive_btc(0.2);
    let now = ex.server_time().unwrap();
    let opened = open_symbol(&ex, "miss", &config, None, None, now, false).unwrap();
    let start_state = CoreStart { wallet: Some(ex.wallet().unwrap()), ..CoreStart::default() };
    let mut core = AccountCore::new("miss", RiskParams::default(), vec![opened.core], start_state);
    let mut gate = || true;
    let mut venue = Venue { exchange: &ex, may_send: &mut gate, durable: &mut |_| {} };
    // exec_id → (realised PnL, fee, type), first row wins (the journal's INSERT OR IGNORE).
    let mut journal: BTreeMap<String, (Option<Decimal>, Decimal, ExecType)> = BTreeMap::new();
    let mut rows = 0usize;
    let mut dropped = 0usize;
    let mut feed = |core: &mut AccountCore, event: CoreEvent, now: i64, deaf: bool, dropped: &mut usize| {
        let mut pending = vec![event];
        while !pending.is_empty() {
            for event in pending {
                let carried = drive(core, &mut venue, event, now, false);
                for r in carried.records {
                    if let JournalRecord::Execution { execution, realised_pnl } = r {
                        rows += 1;
                        journal.entry(execution.exec_id.clone()).or_insert((
                            realised_pnl,
                            execution.exec_fee,
                            execution.exec_type,
                        ));
                    }
                }
            }
            pending = core_events(&ex, sim.drain_events());
            if deaf {
                *dropped += pending.iter().filter(|e| matches!(e, CoreEvent::Executions(_))).count();
                pending.clear();
            }
        }
    };
    feed(&mut core, CoreEvent::Start, now, false, &mut dropped);
    let end = now + 5 * DAY_MS;
    let mut was_deaf = false;
    while let Some((t, events)) = sim.step() {
        if t > end {
            break;
        }
        // Deaf for the first half hour of every twelve.
        let deaf = (t - now).rem_euclid(DAY_MS / 2) < 30 * 60_000;
        if was_deaf && !deaf {
            feed(&mut core, CoreEvent::ReconcileAll(ReconcileReason::StreamReconnected), t, false, &mut dropped);
        }
        was_deaf = deaf;
        let events = core_events(&ex, events);
        if deaf {
            dropped += events.iter().filter(|e| matches!(e, CoreEvent::Executions(_))).count();
        } else {
            for event in events {
                feed(&mut core, event, t, false, &mut dropped);
            }
        }
        let top = ex.orderbook_top(&btc()).unwrap();
        let book =
            CoreEvent::Book { symbol: btc(), bid: top.bid.map(|l| l.price), ask: top.ask.map(|l| l.price), ts_ms: t };
        feed(&mut core, book, t, deaf, &mut dropped);
        feed(&mut core, CoreEvent::Tick, t, deaf, &mut dropped);
    }
    assert!(dropped > 3, "the stream dropped fills ({dropped} batches)");
    let window = TimeWindow { start_ms: now - DAY_MS, end_ms: end + DAY_MS };
    let on_exchange = ex.executions(&btc(), window).unwrap();
    let mut exchange_ids: Vec<&str> =
        on_exchange.iter().filter(|e| e.exec_type == ExecType::Trade).map(|e| e.exec_id.as_str()).collect();
    exchange_ids.sort_unstable();
    let journal_ids: Vec<&str> =
        journal.iter().filter(|(_, (.., t))| *t == ExecType::Trade).map(|(id, _)| id.as_str()).collect();
    assert!(exchange_ids.len() > 20, "traded: {} fills", exchange_ids.len());
    assert_eq!(journal_ids, exchange_ids, "the journal holds every fill the exchange made, once");
    let journal_net: Decimal = journal.values().map(|(pnl, fee, _)| pnl.unwrap_or_default() - fee).sum();
    let exchange_net: Decimal = ex.positions(&btc()).unwrap().iter().map(|p| p.cum_realised_pnl).sum();
    eprintln!(
        "{rows} rows for {} fills; {dropped} batches dropped; net {journal_net} vs {exchange_net}",
        journal.len()
    );
    assert!(
        (journal_net - exchange_net).abs() < Decimal::new(1, 2),
        "journal {journal_net} vs exchange {exchange_net}"
    );
}
