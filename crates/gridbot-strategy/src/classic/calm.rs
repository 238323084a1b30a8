//! How far the book and the clock may move before a classic grid's decision could change
//! (its calm): the levels waiting for the book, the recentre and trailing bands, the whole-grid
//! take-profit and stop-loss (by PnL and by price), the entry trigger and the Bollinger samples.

use gridbot_core::{OrderRole, decimal_to_f64};
use gridbot_state::ClassicSlot;

use super::{ClassicGrid, li};
use crate::grid::{Calm, DecisionContext};
use crate::lifecycle::OrderState;

impl ClassicGrid {
    /// The mids at which the whole-grid take-profit and stop-loss stay quiet: the grid's PnL
    /// is linear in the mid (`(C + S·mid) / notional`), so each threshold is one mid; a margin
    /// of a millionth keeps float rounding on the quiet side.
    pub(super) fn pnl_band(&self) -> Option<(f64, f64)> {
        let s = self.state.as_ref()?;
        if s.plan.take_profit().is_none() && s.plan.stop_loss().is_none() {
            return None;
        }
        let notional: f64 =
            decimal_to_f64(s.plan.levels().iter().map(|l| l.price.as_decimal() * l.qty.as_decimal()).sum());
        let [long, short] = self.inventory.map(|i| (i.size.to_f64(), i.avg.map_or(0.0, decimal_to_f64)));
        let c = decimal_to_f64(s.realised_pnl - s.fees) - long.0 * long.1 + short.0 * short.1;
        let slope = long.0 - short.0;
        if notional <= 0.0 || slope == 0.0 {
            return None; // the PnL does not move with the mid
        }
        let at = |pnl: f64| (pnl * notional - c) / slope;
        let mut lo = f64::NEG_INFINITY;
        let mut hi = f64::INFINITY;
        for target in [s.plan.take_profit(), s.plan.stop_loss().map(|sl| -sl)].into_iter().flatten() {
            let m = at(target);
            let margin = m.abs() * 1e-6;
            // Where the PnL reaches the target, on the side the mid would have to go.
            if (slope > 0.0) == (target > 0.0) { hi = hi.min(m - margin) } else { lo = lo.max(m + margin) }
        }
        Some((lo, hi))
    }

    /// How far the book and the clock may move before the grid's decision could change, after
    /// a decision that asked for nothing.
    #[must_use]
    pub fn calm(&self, ctx: &DecisionContext<'_>) -> Calm {
        let mut calm = self.calm_of_levels(ctx);
        // A Bollinger-range grid takes one sample per interval: it decides at each boundary.
        if let Some(b) = &self.bands
            && ctx.decision.halt.is_none()
        {
            calm.until(b.next_sample_ms(ctx.now_ms));
        }
        calm
    }

    fn calm_of_levels(&self, ctx: &DecisionContext<'_>) -> Calm {
        if ctx.decision.halt.is_some() || self.state.as_ref().is_some_and(|s| s.stopped.is_some()) {
            return Calm::unbounded();
        }
        let Some(state) = self.state.as_ref() else {
            // Waiting for the entry trigger: nothing changes until the mid reaches it.
            return match (self.trigger, self.rebuild.is_none()) {
                (Some(t), true) if self.settings.options.trigger_price == Some(t.price) => {
                    let p = t.price.to_f64();
                    let margin = p.abs() * 1e-9;
                    let mut calm = Calm::unbounded();
                    calm.narrow_mid(if t.from_above {
                        (p + margin, f64::INFINITY)
                    } else {
                        (f64::NEG_INFINITY, p - margin)
                    });
                    calm
                }
                _ => Calm::none(),
            };
        };
        if self.rebuild.is_some()
            || self.settings.recentre.pump_dump.is_some()
            || self.orders.list.iter().any(|w| w.state != OrderState::Working)
            || state.plan.initial_position().is_some() && self.backed_generation != Some(state.generation)
        {
            return Calm::none();
        }
        let mut calm = Calm::unbounded();
        let levels = state.plan.levels();
        // A slot without its order waits for the book (the maker check, a crossed level).
        let placed = |slot: &ClassicSlot| {
            self.orders.list.iter().any(|w| {
                w.tag.role == OrderRole::ClassicLevel
                    && w.tag.cycle == state.generation
                    && w.tag.level == slot.index
                    && w.side == slot.side
            })
        };
        for slot in state.slots.iter().filter(|slot| !placed(slot)) {
            if slot.side == slot.leg.exit_side() && self.inventory[li(slot.leg)].size.is_zero() {
                continue; // nothing to close yet: waits for a fill, not for the book
            }
            match levels.get(slot.index as usize) {
                // Held back because it would cross: nothing changes while it still would.
                Some(level)
                    if !self.orders.stale_book_holds(slot.side, ctx.market)
                        && ctx
                            .decision
                            .permits_post_only(
                                slot.leg,
                                OrderRole::ClassicLevel,
                                slot.side,
                                level.price,
                                ctx.market.bid,
                                ctx.market.ask,
                            )
                            .is_err() =>
                {
                    calm.while_crossing(slot.side, level.price);
                }
                _ => calm.book_matters(),
            }
        }
        if let (Some(d), Some(low), Some(high)) = (self.settings.recentre.max_deviation, levels.first(), levels.last())
        {
            calm.narrow_mid((low.price.to_f64() * (1.0 - d), high.price.to_f64() * (1.0 + d)));
        }
        if let Some(age) = self.settings.recentre.max_age_ms {
            calm.until(state.built_at_ms + age);
        }
        if let Some(band) = self.pnl_band() {
            calm.narrow_mid(band);
        }
        calm.narrow_mid(self.price_exit_band(state.plan.reference_price()));
        // A trailing grid moves once the mid leaves its outer levels.
        if let (Some(low), Some(high)) = (levels.first(), levels.last()) {
            let o = &self.settings.options;
            let margin = |p: f64| p.abs() * 1e-9;
            let (lo, hi) = (low.price.to_f64(), high.price.to_f64());
            calm.narrow_mid((
                if o.trailing_down_limit.is_some() { lo - margin(lo) } else { f64::NEG_INFINITY },
                if o.trailing_up_limit.is_some() { hi + margin(hi) } else { f64::INFINITY },
            ));
        }
        calm
    }
}
