//! Rebuilding a classic grid — cancel its orders, close its inventory at market, then stop
//! (a stop-loss) or build the next generation around the market — and what asks for one: the
//! grid's own recentring rules, an operator, a resume, a start that found the exchange
//! disagreeing.

use gridbot_core::{Leg, OrderRequest, OrderRole};

use super::{ClassicGrid, LayoutSpec, li};
use crate::command::Command;
use crate::grid::{DecisionContext, Note};
use crate::reasons::{RecentreReason, RecentreRefused};

/// A rebuild in progress: cancel → close → (stop | build).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rebuild {
    pub(super) reason: RecentreReason,
    /// Its start was noted (journaled, and the state made durable, before its first cancel).
    pub(super) announced: bool,
}

impl Rebuild {
    pub(super) const fn new(reason: RecentreReason) -> Self {
        Self { reason, announced: false }
    }
}

impl ClassicGrid {
    /// Starts a rebuild (recentre), e.g. after the core found the exchange disagreeing.
    pub fn request_rebuild(&mut self, reason: RecentreReason) {
        if self.rebuild.is_none() {
            self.rebuild = Some(Rebuild::new(reason));
        }
    }

    /// An operator's recentre, with a new profile if one is given (its spacing, levels per side
    /// and take-profit replace the configured layout until the next start). Refused while the
    /// grid is stopped (resume restarts it) or a rebuild is already under way.
    pub fn operator_recentre(&mut self, profile: Option<gridbot_grid::Profile>) -> Result<(), RecentreRefused> {
        if self.state.as_ref().is_some_and(|s| s.stopped.is_some()) {
            return Err(RecentreRefused::Stopped);
        }
        if let Some(r) = &self.rebuild {
            return Err(RecentreRefused::UnderWay(r.reason.clone()));
        }
        if let Some(p) = profile {
            self.settings.layout =
                LayoutSpec::AroundMarket { spacing: p.spacing(), levels_per_side: p.levels_per_side() };
            self.settings.progression = gridbot_grid::Progression::Geometric;
            self.settings.take_profit = Some(p.take_profit());
        }
        self.rebuild = Some(Rebuild::new(RecentreReason::Operator { profile }));
        Ok(())
    }

    pub(super) fn market_close(&mut self, leg: Leg, out: &mut Vec<Command>) {
        let size = self.inventory[li(leg)].size;
        if size.is_zero() {
            return;
        }
        let tag = self.tag(leg, OrderRole::Close, 0);
        if let Ok(id) = tag.encode() {
            let request =
                OrderRequest::market(self.instrument.symbol().clone(), leg.exit_side(), size, leg.position_idx(), id)
                    .reduce_only();
            self.push_place(request, tag, out);
        }
    }

    /// Cancel → close → stop or build.
    pub(super) fn rebuild_commands(
        &mut self,
        ctx: &DecisionContext<'_>,
        notes: &mut Vec<Note>,
        out: &mut Vec<Command>,
    ) {
        let Some(rebuild) = self.rebuild.clone() else { return };
        // Every rebuild — found by the grid, asked by an operator, a resume or a start — is
        // journaled and on disk before its first cancel or close goes out.
        if !rebuild.announced
            && let Some(state) = &self.state
        {
            notes.push(Note::RebuildStarted { generation: state.generation, reason: rebuild.reason.clone() });
            if let Some(r) = self.rebuild.as_mut() {
                r.announced = true;
            }
        }
        if !self.orders.list.is_empty() {
            for i in 0..self.orders.list.len() {
                let w = &self.orders.list[i];
                if !w.state.cancel_sent() && w.tag.role != OrderRole::Close && !w.state.cancel_rejected() {
                    self.push_cancel(i, ctx.now_ms, out);
                }
            }
            return;
        }
        // A trailing shift keeps the inventory; every other rebuild closes it first.
        if !rebuild.reason.keeps_inventory() && self.inventory.iter().any(|i| !i.size.is_zero()) {
            for leg in Leg::BOTH {
                self.market_close(leg, out);
            }
            return;
        }
        self.rebuild = None;
        if rebuild.reason.stops_the_grid() {
            if let Some(s) = self.state.as_mut() {
                s.stopped = Some(rebuild.reason.to_string());
            }
            return;
        }
        let Some(mid) = ctx.market.mid() else { return };
        match rebuild.reason {
            RecentreReason::Trail { by, .. } => self.shift(by, mid, ctx.now_ms, notes, &rebuild.reason),
            // A shift a restart interrupted: moved as far as the market asks now (or not at all).
            RecentreReason::Interrupted { keeps: true, .. } => {
                let by = self.trail_by(mid).unwrap_or(0);
                self.shift(by, mid, ctx.now_ms, notes, &rebuild.reason);
            }
            _ => self.build(mid, ctx.now_ms, notes, &rebuild.reason),
        }
    }

    /// An operator resumed the account: a stopped grid is rebuilt.
    pub fn resume(&mut self) {
        if let Some(s) = self.state.as_mut()
            && s.stopped.take().is_some()
        {
            self.rebuild = Some(Rebuild::new(RecentreReason::Resumed));
        }
    }
}
