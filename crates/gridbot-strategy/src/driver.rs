//! The loop every mode runs around [`AccountCore`]: an event goes in, its effects are carried
//! out over the `Exchange` trait — batches through the [`execute`]
//! executor, reconciliation jobs through [`ReconcileJob::run`](crate::reconcile::ReconcileJob::run)
//! — and what came of them is fed back, depth first, until only what the shell keeps is left:
//! alerts, journal records, and whether to save.
//!
//! Live trading drives it from the account's event queue over the Bybit client; a backtest
//! drives it from the in-process simulator's steps. Neither has another path to an order.

use gridbot_core::{Exchange, Symbol};
use gridbot_state::AccountSnapshot;

use crate::command::{Command, Outcome};
use crate::core::{AccountCore, CoreEvent, Effect, Effects};
use crate::executor::execute;
use crate::reasons::ReconcileReason;
use crate::records::{Alert, JournalRecord};

/// Where the effects go: the exchange, and the gate asked right before every request.
pub struct Venue<'a> {
    /// The exchange (Bybit client, or the simulator).
    pub exchange: &'a dyn Exchange,
    /// `false` sends nothing (live: the emergency-stop flag exists).
    pub may_send: &'a mut dyn FnMut() -> bool,
    /// Makes the core's state durable before the next batch ([`Effect::SaveNow`]; live: the
    /// journal rows given — the event's so far, such as the start of a rebuild — then the
    /// snapshot, written and synced; a backtest: nothing). Rows made durable here are counted
    /// in [`Carried::durable_records`] and stay in [`Carried::records`].
    pub durable: &'a mut dyn FnMut(&AccountCore, &[JournalRecord]),
}

impl std::fmt::Debug for Venue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Venue").finish_non_exhaustive()
    }
}

/// One batch that was sent, and what came of each command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentBatch {
    /// Symbol.
    pub symbol: Symbol,
    /// The commands.
    pub commands: Vec<Command>,
    /// Their outcomes.
    pub outcomes: Vec<Outcome>,
}

/// What is left for the shell once an event's effects were carried out.
#[derive(Debug, Default)]
pub struct Carried {
    /// Alerts, in order.
    pub alerts: Vec<Alert>,
    /// Journal records, in order.
    pub records: Vec<JournalRecord>,
    /// How many of `records` (the first ones) the venue already made durable.
    pub durable_records: usize,
    /// The state changed in a way worth saving.
    pub save: bool,
    /// The batches sent, in order.
    pub batches: Vec<SentBatch>,
    /// Every event fed to the core with its time (only when recording).
    pub inputs: Vec<(i64, CoreEvent)>,
}

/// Feeds `event` to the core at `now_ms` and carries out everything it calls for; with
/// `record`, every input the core saw is kept in `Carried::inputs`.
pub fn drive(core: &mut AccountCore, venue: &mut Venue<'_>, event: CoreEvent, now_ms: i64, record: bool) -> Carried {
    let mut out = Carried::default();
    let effects = feed(core, event, now_ms, record, &mut out);
    carry(core, venue, effects, now_ms, record, &mut out);
    out
}

fn feed(core: &mut AccountCore, event: CoreEvent, now_ms: i64, record: bool, out: &mut Carried) -> Effects {
    if record {
        out.inputs.push((now_ms, event.clone()));
    }
    core.on_event(event, now_ms)
}

fn carry(
    core: &mut AccountCore,
    venue: &mut Venue<'_>,
    effects: Effects,
    now_ms: i64,
    record: bool,
    out: &mut Carried,
) {
    for effect in effects {
        match effect {
            Effect::Send { symbol, round, commands } => {
                let outcomes = execute(venue.exchange, &commands, venue.may_send);
                let event = CoreEvent::Outcomes { symbol: symbol.clone(), round, outcomes: outcomes.clone() };
                out.batches.push(SentBatch { symbol, commands, outcomes });
                let next = feed(core, event, now_ms, record, out);
                carry(core, venue, next, now_ms, record, out);
            }
            Effect::Reconcile(job) => {
                let result = job.run(venue.exchange, now_ms);
                let next = feed(core, CoreEvent::Reconciled(Box::new(result)), now_ms, record, out);
                carry(core, venue, next, now_ms, record, out);
            }
            Effect::Record(r) => out.records.push(r),
            Effect::Alert(a) => out.alerts.push(a),
            Effect::Save => out.save = true,
            Effect::SaveNow => {
                (venue.durable)(core, &out.records[out.durable_records..]);
                out.durable_records = out.records.len();
            }
        }
    }
}

/// The snapshot to save at `now_ms`. A snapshot a restart would refuse is never returned: when
/// the state fails its own checks, every symbol is reconciled with the exchange first (the
/// effects of that are in the returned `Carried`), and if it still fails nothing is saved.
pub fn checked_snapshot(
    core: &mut AccountCore,
    venue: &mut Venue<'_>,
    now_ms: i64,
    record: bool,
) -> (Option<AccountSnapshot>, Carried) {
    let snapshot = core.snapshot(now_ms);
    let Err(problem) = snapshot.validate() else { return (Some(snapshot), Carried::default()) };
    tracing::error!(account = %core.account_id(), %problem, "state inconsistent; reconciling with the exchange before saving");
    let carried = drive(
        core,
        venue,
        CoreEvent::ReconcileAll(ReconcileReason::InconsistentState { problem: problem.to_string() }),
        now_ms,
        record,
    );
    let snapshot = core.snapshot(now_ms);
    match snapshot.validate() {
        Ok(()) => (Some(snapshot), carried),
        Err(problem) => {
            tracing::error!(account = %core.account_id(), %problem, "state still inconsistent: not saved");
            (None, carried)
        }
    }
}

/// A recording of one core: the state it started from, every input it saw (with its time) and
/// the batches that were sent. Replaying the inputs into a copy of the start must ask for
/// exactly the commands that were sent — the proof that nothing but the core decides.
#[derive(Debug, Clone)]
pub struct CoreTape {
    /// The core before its first input.
    pub start: AccountCore,
    /// Every input, in order.
    pub inputs: Vec<(i64, CoreEvent)>,
    /// Every batch sent, in order.
    pub sent: Vec<SentBatch>,
}

impl CoreTape {
    /// A tape starting from `start`.
    #[must_use]
    pub fn new(start: AccountCore) -> Self {
        Self { start, inputs: Vec::new(), sent: Vec::new() }
    }

    /// Appends what one drive saw and sent.
    pub fn append(&mut self, carried: &mut Carried) {
        self.inputs.append(&mut carried.inputs);
        self.sent.extend(carried.batches.iter().cloned());
    }

    /// Feeds the inputs to a copy of the start: the batches it asks to send, in order.
    #[must_use]
    pub fn replay(&self) -> Vec<(Symbol, Vec<Command>)> {
        let mut core = self.start.clone();
        let mut out = Vec::new();
        for (now, event) in &self.inputs {
            for effect in core.on_event(event.clone(), *now) {
                if let Effect::Send { symbol, commands, .. } = effect {
                    out.push((symbol, commands));
                }
            }
        }
        out
    }
}
