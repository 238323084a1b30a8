//! A classic grid's entry trigger and its take-profit and stop-loss by price (the options that
//! decide when a generation starts or ends, not where its levels go).

use gridbot_core::Price;

use super::{ClassicGrid, Note};
use crate::reasons::RecentreReason;

impl ClassicGrid {
    /// Whether the first generation may be built at `mid`: always without an entry trigger;
    /// with one, once the mid has crossed it from the side it was on when the wait began (the
    /// wait is armed at the first mid seen, saved, and kept across restarts; a trigger price
    /// changed in the configuration arms a new wait).
    pub(super) fn entry_trigger(&mut self, mid: Price, notes: &mut Vec<Note>) -> Option<RecentreReason> {
        let Some(price) = self.settings.options.trigger_price else { return Some(RecentreReason::Start) };
        match self.trigger.filter(|t| t.price == price) {
            Some(t) if (t.from_above && mid <= price) || (!t.from_above && mid >= price) => {
                self.trigger = None;
                Some(RecentreReason::Triggered { price })
            }
            Some(_) => None,
            None if mid == price => Some(RecentreReason::Triggered { price }),
            None => {
                let from_above = mid > price;
                self.trigger = Some(gridbot_state::EntryTrigger { price, from_above });
                notes.push(Note::TriggerArmed { price, from_above });
                None
            }
        }
    }

    /// The mids between the take-profit and stop-loss prices (as seen from the generation's
    /// reference), where neither fires.
    pub(super) fn price_exit_band(&self, reference: Price) -> (f64, f64) {
        let mut band = (f64::NEG_INFINITY, f64::INFINITY);
        for price in
            [self.settings.options.take_profit_price, self.settings.options.stop_loss_price].into_iter().flatten()
        {
            let p = price.to_f64();
            let margin = p.abs() * 1e-9;
            if price >= reference {
                band.1 = band.1.min(p - margin);
            } else {
                band.0 = band.0.max(p + margin);
            }
        }
        band
    }
}
