//! The six-step recovery of ARCHITECTURE §7, per account and symbol, over the `Exchange` trait:
//!
//! 1. cancel all open orders; 2. clear local working state (the locked plan is kept);
//! 3. fetch positions; 4. classify: none / long only / short only / both;
//! 5. place take-profits for open legs; 6. place balance and protective orders.
//!
//! Decisions:
//! - Read before acting: open orders, history, executions and positions are fetched first, the
//!   orders the legs need are computed, and only if the exchange does not already hold exactly
//!   those are steps 1, 5 and 6 carried out. A second run therefore changes nothing
//!   (idempotent). A resting balance order of the right leg, cycle and size counts as in place
//!   whatever its price (it tracks the market).
//! - `dry_run` returns the same report without cancelling or placing anything.
//! - The level and anchor of an open leg come from the level analyzer; an unknown level still
//!   gets its take-profit (it protects the position) but no protective order.
//! - The orders come from gridbot-grid's `desired_orders`, the answer the strategy uses too,
//!   and their ids from the caller's [`NonceSource`] (the strategy's own, when it asks for the
//!   recovery), so recovery and strategy never disagree on what a leg needs or reuse an id.

use gridbot_core::{
    ErrorAction, Exchange, ExchangeError, Leg, Order, OrderRef, OrderRequest, OrderRole, PositionIdx, Qty, Symbol,
    TimeWindow,
};
use gridbot_grid::{GridError, GridPlan, LegPosition, desired_orders};
use gridbot_state::{LegState, SymbolState, TrackedOrder};

use crate::analyzer::{LegAnalysis, analyze};
use crate::codec::{CodecError, LinkTag};
use crate::nonce::NonceSource;
use crate::reconcile::{Reconciliation, reconcile};

/// Which legs hold a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// Both flat.
    None,
    /// Only the long leg.
    LongOnly,
    /// Only the short leg.
    ShortOnly,
    /// Both legs.
    Both,
}

impl std::fmt::Display for Classification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::None => "both legs flat",
            Self::LongOnly => "long leg open, short leg flat",
            Self::ShortOnly => "short leg open, long leg flat",
            Self::Both => "both legs open",
        })
    }
}

/// What recovery needs besides the exchange.
#[derive(Debug, Clone)]
pub struct RecoveryInput<'a> {
    /// The account's orderLinkId tag.
    pub account_tag: &'a str,
    /// The symbol.
    pub symbol: &'a Symbol,
    /// The locked plan (from the snapshot, or built fresh).
    pub plan: &'a GridPlan,
    /// The snapshot's state of the symbol, if one was loaded.
    pub snapshot: Option<&'a SymbolState>,
    /// How far back to read history (split into 7-day windows by the client).
    pub history: TimeWindow,
    /// Now, UTC ms.
    pub now_ms: i64,
    /// Report only; send nothing.
    pub dry_run: bool,
    /// The take-profit in tranches, when the leg's settings have one.
    pub take_profit_ladder: Option<&'a gridbot_grid::TakeProfitLadder>,
}

/// One order recovery wants resting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Its id's fields.
    pub tag: LinkTag,
    /// The request.
    pub request: OrderRequest,
}

/// What recovery found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryReport {
    /// Step 4.
    pub classification: Classification,
    /// The analyzer's view of each leg (long, short).
    pub legs: [LegAnalysis; 2],
    /// The snapshot's orders against the exchange (when there was a snapshot).
    pub reconciliation: Option<Reconciliation>,
    /// The orders the legs need.
    pub desired: Vec<Desired>,
    /// For each of `desired`: already resting on the exchange (kept, not placed again).
    pub in_place: Vec<bool>,
    /// True when the exchange already held exactly those: nothing was sent.
    pub unchanged: bool,
    /// Orders cancelled in step 1.
    pub cancelled: usize,
    /// Orders placed in steps 5 and 6.
    pub placed: usize,
    /// The rebuilt symbol state to save.
    pub state: SymbolState,
}

impl RecoveryReport {
    /// How many of the desired orders were not resting (placed, or to place in a dry run).
    #[must_use]
    pub fn missing(&self) -> usize {
        self.in_place.iter().filter(|kept| !**kept).count()
    }
}

/// Why recovery stopped.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The exchange refused or failed.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// The plan does not fit the instrument or the market.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// An id could not be built.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The exchange has no price to place a balance order at.
    #[error("{0}: no bid/ask to place a balance order at")]
    NoMarket(Symbol),
}

/// Decoded tags of our open orders (foreign ones are `None`).
fn tags<'a>(account: &str, open: &'a [Order]) -> Vec<(Option<LinkTag>, &'a Order)> {
    open.iter().map(|o| (LinkTag::decode(&o.order_link_id).ok().filter(|t| t.account == account), o)).collect()
}

fn satisfied(want: &Desired, have: &(Option<LinkTag>, &Order)) -> bool {
    let (Some(t), o) = have else { return false };
    let same =
        t.leg == want.tag.leg && t.role == want.tag.role && t.level == want.tag.level && t.cycle == want.tag.cycle;
    let same_order =
        o.side == want.request.side && o.leaves_qty == want.request.qty && o.reduce_only == want.request.reduce_only;
    same && same_order && (want.tag.role == OrderRole::Balance || o.price == want.request.price)
}

/// What the snapshot remembers beyond the history window. Cycle numbers never go back: a leg's
/// cycle is at least the snapshot's (the next one, when the snapshot's leg was open and the
/// exchange's is flat). An open leg whose fills are all older than the window keeps the
/// snapshot's cycle, level and anchor when the sizes agree, instead of a plan inference that
/// would restart the cycle count at 1 (found by the chaos runner after 30 market days).
fn remembered(mut a: LegAnalysis, s: &LegState) -> LegAnalysis {
    let inferred = a
        .findings
        .iter()
        .any(|f| matches!(f, crate::analyzer::Finding::InferredFromPlan | crate::analyzer::Finding::LevelUnknown));
    if inferred && !a.size.is_zero() && s.size == a.size && s.level.is_some() && s.cycle >= a.cycle {
        a.findings.retain(|f| {
            !matches!(f, crate::analyzer::Finding::InferredFromPlan | crate::analyzer::Finding::LevelUnknown)
        });
        a.findings.push(crate::analyzer::Finding::KeptFromSnapshot);
        a.level = s.level;
        a.anchor = s.anchor.or(a.anchor);
        a.cycle = s.cycle;
        a.opened = s.opened;
        a.tranches_filled = s.tranches_filled;
    }
    let floor = if a.size.is_zero() && !s.size.is_zero() { s.cycle.saturating_add(1) } else { s.cycle };
    a.cycle = a.cycle.max(floor);
    a
}

/// Runs recovery for one symbol.
pub fn recover<E: Exchange + ?Sized>(
    ex: &E,
    input: &RecoveryInput<'_>,
    nonces: &mut NonceSource,
) -> Result<RecoveryReport, RecoveryError> {
    let symbol = input.symbol;
    let instrument = ex.instrument(symbol)?;
    input.plan.check_instrument(&instrument)?;
    let open = ex.open_orders(symbol)?;
    let history = ex.order_history(symbol, input.history)?;
    let executions = ex.executions(symbol, input.history)?;
    let positions = ex.positions(symbol)?;
    let reconciliation = input.snapshot.map(|s| reconcile(&s.orders, &open, &history));
    let position = |idx: PositionIdx| positions.iter().find(|p| p.position_idx == idx);
    let analyses = Leg::BOTH.map(|leg| {
        let a = analyze(
            input.account_tag,
            leg,
            input.plan,
            instrument.tick_size(),
            position(leg.position_idx()),
            &executions,
        );
        match input.snapshot {
            Some(s) => remembered(a, if leg == Leg::Long { &s.long } else { &s.short }),
            None => a,
        }
    });
    let classification = match (!analyses[0].size.is_zero(), !analyses[1].size.is_zero()) {
        (false, false) => Classification::None,
        (true, false) => Classification::LongOnly,
        (false, true) => Classification::ShortOnly,
        (true, true) => Classification::Both,
    };

    // The orders the legs need: the strategy's own answer (gridbot-grid's `desired_orders`).
    let mut desired: Vec<Desired> = Vec::new();
    let mut book = None;
    for a in &analyses {
        let leg = a.leg;
        let touch = if a.size.is_zero() {
            let top = match &book {
                Some(t) => t,
                None => book.insert(ex.orderbook_top(symbol)?),
            };
            let touch = match leg {
                Leg::Long => top.bid.map(|l| l.price),
                Leg::Short => top.ask.map(|l| l.price),
            };
            Some(touch.ok_or_else(|| RecoveryError::NoMarket(symbol.clone()))?)
        } else {
            None
        };
        let position = LegPosition {
            size: a.size,
            level: a.level,
            anchor: a.anchor,
            avg_entry: a.avg_entry,
            opened: a.opened,
            tranches_filled: a.tranches_filled,
        };
        for wanted in desired_orders(input.plan, leg, &position, touch, &instrument, input.take_profit_ladder) {
            let wanted = wanted?;
            let tag = LinkTag {
                account: input.account_tag.to_owned(),
                leg,
                cycle: a.cycle,
                role: wanted.role,
                level: wanted.level,
                nonce: nonces.take(),
            };
            let mut request = OrderRequest::limit(
                symbol.clone(),
                wanted.side,
                wanted.qty,
                wanted.price,
                wanted.time_in_force,
                leg.position_idx(),
                tag.encode()?,
            );
            if wanted.reduce_only {
                request = request.reduce_only();
            }
            desired.push(Desired { tag, request });
        }
    }

    // What is already right stays: each desired order matched to one resting order of ours
    // (leg, cycle, role, level, side, size, price); everything else resting on the symbol is
    // cancelled (as the whole book was before: the symbol is the bot's) and
    // only the missing ones are placed — a restart that changed nothing sends nothing, and
    // kept orders keep their place in the queue.
    let have = tags(input.account_tag, &open);
    let mut used = vec![false; have.len()];
    let matched: Vec<Option<usize>> = desired
        .iter()
        .map(|d| {
            let k = (0..have.len()).find(|&k| !used[k] && satisfied(d, &have[k]));
            if let Some(k) = k {
                used[k] = true;
            }
            k
        })
        .collect();
    let unchanged = matched.iter().all(Option::is_some) && used.iter().all(|u| *u);
    let (mut cancelled, mut placed) = (0, 0);
    let mut tracked: Vec<TrackedOrder> = Vec::new();
    let keep = |tracked: &mut Vec<TrackedOrder>, d: &Desired, k: usize| {
        let o = have[k].1;
        tracked.push(track(&d.tag, &d.request, o.order_link_id.clone(), Some(o.order_id.clone())));
    };
    if unchanged {
        for (d, k) in desired.iter().zip(&matched) {
            if let Some(k) = *k {
                keep(&mut tracked, d, k);
            }
        }
    } else if !input.dry_run {
        for (_, o) in have.iter().enumerate().filter(|(k, _)| !used[*k]).map(|(_, h)| h) {
            match ex.cancel(symbol, &OrderRef::OrderId(o.order_id.clone())) {
                Ok(_) => cancelled += 1,
                // Gone meanwhile (filled or cancelled): nothing left to cancel.
                Err(e) if e.action() == ErrorAction::Reconcile => {}
                Err(e) => return Err(e.into()),
            }
        }
        // Take-profits first (step 5), then balance and protective orders (step 6).
        let mut ordered: Vec<(&Desired, Option<usize>)> = desired.iter().zip(matched.iter().copied()).collect();
        ordered.sort_by_key(|(d, _)| d.tag.role != OrderRole::TakeProfit);
        for (d, k) in ordered {
            if let Some(k) = k {
                keep(&mut tracked, d, k);
                continue;
            }
            match ex.place(&d.request) {
                Ok(ack) => {
                    placed += 1;
                    tracked.push(track(&d.tag, &d.request, ack.order_link_id, Some(ack.order_id)));
                }
                // "Look again": a retried create whose first attempt did reach the exchange is
                // answered 110072 (duplicate id). The order is ours: track it if it rests; if it
                // is gone already (filled, refused as crossing) the live loop sees to the leg.
                Err(e) if e.action() == ErrorAction::Reconcile => {
                    let id = d.request.order_link_id.as_str();
                    if let Some(o) = ex.open_orders(symbol)?.into_iter().find(|o| o.order_link_id == id) {
                        placed += 1;
                        tracked.push(track(&d.tag, &d.request, o.order_link_id.clone(), Some(o.order_id)));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let leg_state = |a: &LegAnalysis| LegState {
        cycle: a.cycle,
        level: a.level.filter(|_| !a.size.is_zero()),
        anchor: a.anchor,
        avg_entry: a.avg_entry,
        size: a.size,
        opened: if a.size.is_zero() { Qty::ZERO } else { a.opened },
        tranches_filled: if a.size.is_zero() { 0 } else { a.tranches_filled },
        taken_through_ms: None,
    };
    let state = SymbolState {
        plan: Some(input.plan.clone()),
        long: leg_state(&analyses[0]),
        short: leg_state(&analyses[1]),
        risk: input.snapshot.map(|s| s.risk.clone()).unwrap_or_default(),
        orders: tracked,
        classic: None,
        classic_trigger: None,
    };
    let in_place = matched.iter().map(Option::is_some).collect();
    Ok(RecoveryReport {
        classification,
        legs: analyses,
        reconciliation,
        desired,
        in_place,
        unchanged,
        cancelled,
        placed,
        state,
    })
}

fn track(tag: &LinkTag, request: &OrderRequest, link_id: String, order_id: Option<String>) -> TrackedOrder {
    TrackedOrder {
        link_id,
        order_id,
        leg: tag.leg,
        role: tag.role,
        level: tag.level,
        side: request.side,
        price: request.price,
        qty: request.qty,
    }
}
