//! Reconciliation with the exchange: the core asks ([`ReconcileJob`]), the I/O side finds out
//! over the `Exchange` trait ([`ReconcileJob::run`]), and the core applies what came of it
//! ([`Reconciled`], fed back as an event). The core itself never waits on the exchange, and a
//! recording of its inputs replays without one.
//!
//! - **Progressive**: gridbot-recovery's idempotent six-step recovery against the grid's own
//!   state as the snapshot, with the grid's nonce source (ids never collide), returning the
//!   rebuilt state and the source as it left it.
//! - **Classic** ([`ClassicSync`]): the snapshot's orders against the exchange's open orders
//!   and history since the grid was built, and the inventory against the positions. When all
//!   agree the grid carries on. When the exchange moved on while we were away — tracked orders
//!   filled or were cancelled — the grid **catches up** instead of starting over: the missed
//!   fills are applied as if heard live (their levels turn around, the inventory follows), the
//!   cancelled levels are placed again, our untracked orders are cancelled, and an inventory the
//!   fills still do not explain is taken from the exchange as it is, with a warning. A restart
//!   never closes inventory: that would realise a loss and pay taker fees for the crash alone.
//!   Only without a state (a first start, a lost snapshot) are our orders cancelled and the grid
//!   built afresh, closing inventory it cannot explain.

use gridbot_core::time::DAY_MS;
use gridbot_core::{
    Exchange, ExchangeError, ExecType, Execution, Leg, OrderRef, Position, PositionIdx, Price, Qty, Symbol, TimeWindow,
};
use gridbot_recovery::{LinkTag, NonceSource, RecoveryInput, recover};
use gridbot_risk::LegPair;
use gridbot_state::SymbolState;

use crate::reasons::ReconcileReason;

/// How far back reconciliation and recovery read order and execution history.
pub const HISTORY_MS: i64 = 30 * DAY_MS;

/// What the core asks the I/O side to find out (and put right) for one symbol.
#[derive(Debug, Clone)]
pub struct ReconcileJob {
    /// The symbol.
    pub symbol: Symbol,
    /// Why.
    pub reason: ReconcileReason,
    /// Act on the symbol once the result is applied.
    pub then_act: bool,
    pub(crate) work: JobWork,
}

#[derive(Debug, Clone)]
pub(crate) enum JobWork {
    /// `executions_from`: read the symbol's executions from then (exchange time; `None`: the
    /// whole history window), so the core can journal the fills it missed.
    Progressive {
        tag: String,
        state: Box<SymbolState>,
        nonces: NonceSource,
        executions_from: Option<i64>,
        ladder: Option<Box<gridbot_grid::TakeProfitLadder>>,
    },
    /// `executions_from`: fills at or before it are not offered (the core tells the rest
    /// apart by the executions it heard).
    Classic { tag: String, state: Box<SymbolState>, executions_from: Option<i64> },
}

/// What came of a [`ReconcileJob`]: fed back to the core as `CoreEvent::Reconciled`.
#[derive(Debug, Clone)]
pub struct Reconciled {
    /// The symbol.
    pub symbol: Symbol,
    /// Why it was asked for.
    pub reason: ReconcileReason,
    /// Act on the symbol after applying.
    pub then_act: bool,
    /// What was found and done.
    pub outcome: ReconcileOutcome,
    /// The positions read afterwards (`None`: the read failed).
    pub positions: Option<Vec<Position>>,
}

/// What a reconciliation found and did.
#[derive(Debug, Clone)]
pub enum ReconcileOutcome {
    /// Progressive: the recovered state and the nonce source after recovery's ids.
    Recovered {
        /// The state to restore.
        state: Box<SymbolState>,
        /// The grid's nonces, continued.
        nonces: NonceSource,
        /// What recovery changed on the exchange (`None`: every order was already in place).
        changed: Option<String>,
        /// The symbol's executions read just before the recovery (`None`: the read failed):
        /// those the core has not heard were missed live and are journaled.
        executions: Option<Vec<Execution>>,
    },
    /// Classic: whether the exchange agreed.
    Classic(ClassicSync),
    /// It failed; the grid carries on as it was.
    Failed {
        /// Why.
        error: String,
    },
}

/// A classic grid against the exchange.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassicSync {
    /// The exchange agrees with the grid's state: carry on with its orders.
    Agrees {
        /// Orders in place.
        orders: usize,
    },
    /// The exchange moved on from the grid's state (fills or cancels while we were away, an
    /// inventory changed by hand): carry on from the state, catching up.
    CatchUp {
        /// Fills of our tracked orders the grid has not applied, oldest first: to apply as if
        /// heard live.
        executions: Vec<Execution>,
        /// Tracked orders gone without a fill (cancelled, rejected, never arrived): their
        /// levels are placed again.
        gone: Vec<String>,
        /// Open orders of ours the grid does not track, cancelled (their levels are placed
        /// again from the grid's slots); in a dry run, to cancel.
        orphans_cancelled: usize,
        /// The exchange's long inventory: size and average price.
        long: (Qty, Option<Price>),
        /// The exchange's short inventory.
        short: (Qty, Option<Price>),
        /// When the exchange last changed each leg's position as read (`[long, short]`, UTC
        /// ms): every fill at or before it is in `long` / `short`.
        updated_ms: [i64; 2],
    },
    /// There was no state (a first start, a lost snapshot): our orders were cancelled (in a
    /// dry run: would be), and the inventory comes from the positions.
    Disagrees {
        /// Orders of ours cancelled.
        cancelled: usize,
        /// Long inventory: size and average price.
        long: (Qty, Option<Price>),
        /// Short inventory: size and average price.
        short: (Qty, Option<Price>),
        /// There was a state to compare with (else: a first start).
        had_state: bool,
    },
}

impl ClassicSync {
    /// Compares a classic grid's `state` (if any) with the exchange: what it finds to catch
    /// up with, or — without a state — cancels our orders (unless `dry_run`). Executions up to
    /// `heard_until` (the newest the grid applied) are not offered again.
    #[allow(clippy::too_many_arguments, reason = "the symbol's identity, its state and the exchange's view")]
    pub fn find(
        ex: &dyn Exchange,
        tag: &str,
        symbol: &Symbol,
        state: Option<&SymbolState>,
        positions: &LegPair<Option<Position>>,
        heard_until: Option<i64>,
        dry_run: bool,
        now_ms: i64,
    ) -> Result<Self, ExchangeError> {
        let open = ex.open_orders(symbol)?;
        let position_of = |leg: Leg| positions.get(leg).as_ref().map_or((Qty::ZERO, None), |p| (p.size, p.avg_price));
        let state = state.filter(|s| s.classic.is_some());
        if let Some(s) = state {
            // Tracked orders belong to the current generation: read history from its start.
            let since = s.classic.as_ref().map_or(now_ms - HISTORY_MS, |c| c.built_at_ms.max(now_ms - HISTORY_MS));
            let history = ex.order_history(symbol, TimeWindow { start_ms: since - 60_000, end_ms: now_ms })?;
            let rc = gridbot_recovery::reconcile(&s.orders, &open, &history);
            let our_orphans = rc.orphans.iter().filter(|o| ours(tag, &o.order_link_id)).count();
            let inventory_agrees = position_of(Leg::Long).0 == s.long.size && position_of(Leg::Short).0 == s.short.size;
            if rc.filled_while_down.is_empty()
                && rc.cancelled.is_empty()
                && rc.ghosts.is_empty()
                && our_orphans == 0
                && inventory_agrees
            {
                return Ok(Self::Agrees { orders: s.orders.len() });
            }
            // Fills of tracked orders while we were away (whole, or partial on a working one).
            let filled: std::collections::HashSet<&str> = rc
                .filled_while_down
                .iter()
                .chain(rc.working.iter().filter(|(_, o)| !o.cum_exec_qty.is_zero()))
                .map(|(t, _)| t.link_id.as_str())
                .collect();
            let mut executions = Vec::new();
            if !filled.is_empty() {
                executions = ex.executions(symbol, TimeWindow { start_ms: since - 60_000, end_ms: now_ms })?;
                executions.retain(|e| {
                    e.exec_type == ExecType::Trade
                        && filled.contains(e.order_link_id.as_str())
                        && heard_until.is_none_or(|t| e.exec_time_ms > t)
                });
                executions.sort_by(|a, b| a.exec_time_ms.cmp(&b.exec_time_ms).then(a.exec_id.cmp(&b.exec_id)));
            }
            let gone =
                rc.cancelled.iter().map(|(t, _)| t.link_id.clone()).chain(rc.ghosts.iter().map(|t| t.link_id.clone()));
            let mut orphans_cancelled = 0;
            for o in rc.orphans.iter().filter(|o| ours(tag, &o.order_link_id)) {
                if !dry_run {
                    ex.cancel(symbol, &OrderRef::OrderId(o.order_id.clone()))?;
                }
                orphans_cancelled += 1;
            }
            let updated = |leg: Leg| positions.get(leg).as_ref().map_or(i64::MIN, |p| p.updated_time_ms);
            return Ok(Self::CatchUp {
                executions,
                gone: gone.collect(),
                orphans_cancelled,
                long: position_of(Leg::Long),
                short: position_of(Leg::Short),
                updated_ms: [updated(Leg::Long), updated(Leg::Short)],
            });
        }
        // In a dry run: how many would be cancelled.
        let mut cancelled = 0;
        for o in open.iter().filter(|o| ours(tag, &o.order_link_id)) {
            if !dry_run {
                ex.cancel(symbol, &OrderRef::OrderId(o.order_id.clone()))?;
            }
            cancelled += 1;
        }
        Ok(Self::Disagrees {
            cancelled,
            long: position_of(Leg::Long),
            short: position_of(Leg::Short),
            had_state: state.is_some(),
        })
    }
}

impl ClassicSync {
    /// What a dry run found, as what the real run would do.
    #[must_use]
    pub fn would(&self) -> String {
        match self {
            Self::Agrees { orders } => format!("classic grid would resume from the snapshot: {orders} orders in place"),
            Self::CatchUp { executions, gone, orphans_cancelled, long, short, .. } => format!(
                "classic grid would catch up: apply {} fill(s) made while away, place {} level(s) again, cancel \
                 {orphans_cancelled} untracked order(s) of ours; exchange inventory long {} short {} (kept)",
                executions.len(),
                gone.len(),
                long.0,
                short.0
            ),
            Self::Disagrees { cancelled, long, short, .. } => {
                let inventory = !long.0.is_zero() || !short.0.is_zero();
                format!(
                    "no snapshot: the classic grid would be built afresh, cancelling {cancelled} of our orders; \
                     inventory long {} short {}{}",
                    long.0,
                    short.0,
                    if inventory { "; it would close it first" } else { "" }
                )
            }
        }
    }
}

impl std::fmt::Display for ClassicSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Agrees { orders } => write!(f, "classic grid resumed from the snapshot: {orders} orders in place"),
            Self::CatchUp { executions, gone, orphans_cancelled, long, short, .. } => write!(
                f,
                "classic grid resumed from the snapshot, catching up: {} fill(s) while away applied, {} level(s) \
                 to place again, {orphans_cancelled} untracked order(s) of ours cancelled; exchange inventory long {} \
                 short {} (kept, never closed on a restart)",
                executions.len(),
                gone.len(),
                long.0,
                short.0
            ),
            Self::Disagrees { cancelled, long, short, had_state } => {
                let inventory = !long.0.is_zero() || !short.0.is_zero();
                write!(
                    f,
                    "classic grid {}: cancelled {cancelled} of our orders; inventory long {} short {}{}",
                    if *had_state { "rebuilt" } else { "started" },
                    long.0,
                    short.0,
                    if inventory { "; closing it before the grid is built" } else { "" }
                )
            }
        }
    }
}

fn ours(tag: &str, link_id: &str) -> bool {
    LinkTag::decode(link_id).is_ok_and(|t| t.account == tag)
}

/// The position rows of a symbol by leg.
#[must_use]
pub fn positions_by_leg(list: &[Position]) -> LegPair<Option<Position>> {
    let mut pair = LegPair::default();
    for p in list {
        match p.position_idx {
            PositionIdx::Long => pair.long = Some(p.clone()),
            PositionIdx::Short => pair.short = Some(p.clone()),
            PositionIdx::OneWay => {}
        }
    }
    pair
}

impl ReconcileJob {
    /// Finds out over `ex` and puts right what the job's kind puts right; never fails — a
    /// failure is an outcome the core reports.
    pub fn run(self, ex: &dyn Exchange, now_ms: i64) -> Reconciled {
        let symbol = self.symbol.clone();
        let outcome = match self.work {
            JobWork::Progressive { tag, state, mut nonces, executions_from, ladder } => match state.plan.clone() {
                None => ReconcileOutcome::Failed { error: "no locked plan".into() },
                Some(plan) => {
                    // Read before the recovery: every fill listed is one the recovered legs
                    // reflect.
                    let window =
                        TimeWindow { start_ms: executions_from.unwrap_or(now_ms - HISTORY_MS), end_ms: now_ms };
                    let executions = ex
                        .executions(&symbol, window)
                        .map_err(|e| tracing::warn!(%symbol, error = %e, "executions not read; fills missed live stay unjournaled"))
                        .ok();
                    let input = RecoveryInput {
                        account_tag: &tag,
                        symbol: &symbol,
                        plan: &plan,
                        snapshot: Some(&state),
                        history: TimeWindow { start_ms: now_ms - HISTORY_MS, end_ms: now_ms },
                        now_ms,
                        dry_run: false,
                        take_profit_ladder: ladder.as_deref(),
                    };
                    match recover(ex, &input, &mut nonces) {
                        Ok(report) => ReconcileOutcome::Recovered {
                            changed: (!report.unchanged)
                                .then(|| format!("cancelled {}, placed {}", report.cancelled, report.placed)),
                            state: Box::new(report.state),
                            nonces,
                            executions,
                        },
                        Err(e) => ReconcileOutcome::Failed { error: e.to_string() },
                    }
                }
            },
            JobWork::Classic { tag, state, executions_from } => {
                let sync = ex.positions(&symbol).and_then(|list| {
                    let positions = positions_by_leg(&list);
                    ClassicSync::find(ex, &tag, &symbol, Some(&state), &positions, executions_from, false, now_ms)
                });
                match sync {
                    Ok(sync) => ReconcileOutcome::Classic(sync),
                    Err(e) => ReconcileOutcome::Failed { error: e.to_string() },
                }
            }
        };
        let positions = match ex.positions(&symbol) {
            Ok(list) => Some(list),
            Err(e) => {
                tracing::warn!(%symbol, error = %e, "reading positions after reconciling");
                None
            }
        };
        Reconciled { symbol, reason: self.reason, then_act: self.then_act, outcome, positions }
    }
}
