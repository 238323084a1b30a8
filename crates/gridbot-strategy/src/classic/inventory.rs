//! A classic grid's inventory per leg — size and average entry — as its fills move it, and as
//! it is taken from the exchange when a restart or a reconciliation finds it different.

use gridbot_core::{Decimal, Leg, Price, Qty, Side};
use gridbot_risk::LegPair;

use super::{ClassicGrid, li};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Inventory {
    pub(super) size: Qty,
    pub(super) avg: Option<Decimal>,
    /// Taken from the exchange's position, last changed then (UTC ms): a fill at or before it
    /// that is heard only now (an event delayed past a reconnect) is in the inventory already.
    pub(super) taken_through_ms: Option<i64>,
}

impl ClassicGrid {
    /// Forgets the working orders (cancelled by the caller) and takes each leg's inventory
    /// from the exchange's positions: (size, average price).
    pub fn resync(&mut self, long: (Qty, Option<Price>), short: (Qty, Option<Price>)) {
        self.orders.clear();
        for (i, (size, avg)) in [long, short].into_iter().enumerate() {
            self.inventory[i] =
                Inventory { size, avg: avg.map(Price::as_decimal).filter(|_| !size.is_zero()), taken_through_ms: None };
        }
    }

    /// After catching up: when the grid's inventory is not the exchange's — in size or in
    /// average price (fills the history did not show, such as an untracked order's buy and
    /// sell that leave the size as it was; a trade by hand) — the exchange's is taken as it
    /// is — never closed, the grid keeps its levels — and the sentence for a warning is
    /// returned. `updated_ms`: when the exchange last changed each leg (`[long, short]`); a
    /// fill at or before it heard later does not move the inventory taken again.
    pub fn keep_inventory(
        &mut self,
        long: (Qty, Option<Price>),
        short: (Qty, Option<Price>),
        updated_ms: [i64; 2],
    ) -> Option<String> {
        let agrees = |ours: &Inventory, (size, avg): (Qty, Option<Price>)| {
            ours.size == size
                && match (ours.avg, avg) {
                    // Within a millionth: the snapshot keeps 8 places, the exchange its own.
                    (Some(a), Some(b)) => (a - b.as_decimal()).abs() <= b.as_decimal() * Decimal::new(1, 6),
                    _ => size.is_zero(),
                }
        };
        if agrees(&self.inventory[0], long) && agrees(&self.inventory[1], short) {
            return None;
        }
        let leg = |inv: &Inventory| match inv.avg {
            Some(avg) if !inv.size.is_zero() => format!("{} at {}", inv.size, avg.round_dp(8).normalize()),
            _ => inv.size.to_string(),
        };
        let exchange = |(size, avg): (Qty, Option<Price>)| match avg {
            Some(avg) if !size.is_zero() => format!("{size} at {avg}"),
            _ => size.to_string(),
        };
        let text = format!(
            "classic grid inventory long {} short {} differs from the exchange's long {} short {}: taking the \
             exchange's as it is (not closed); the grid keeps its levels",
            leg(&self.inventory[0]),
            leg(&self.inventory[1]),
            exchange(long),
            exchange(short)
        );
        for (i, (size, avg)) in [long, short].into_iter().enumerate() {
            self.inventory[i] = Inventory {
                size,
                avg: avg.map(Price::as_decimal).filter(|_| !size.is_zero()),
                taken_through_ms: Some(updated_ms[i]),
            };
        }
        Some(text)
    }

    /// Returns the PnL an exit realises (`None` for an entry, and for an exit the inventory
    /// cannot price).
    pub(super) fn fill_inventory(
        &mut self,
        leg: Leg,
        side: Side,
        price: Price,
        qty: Qty,
        fee: Decimal,
        exec_time_ms: i64,
    ) -> Option<Decimal> {
        let inv = &mut self.inventory[li(leg)];
        let (p, q) = (price.as_decimal(), qty.as_decimal());
        if let Some(s) = self.state.as_mut() {
            s.fees += fee;
        }
        // In the exchange's position the inventory was taken from: counted once. An exit's PnL
        // is left to the exchange's fills (entries after it may have moved the average since).
        if inv.taken_through_ms.is_some_and(|t| exec_time_ms <= t) {
            tracing::info!(
                symbol = %self.instrument.symbol(), ?leg, %price, %qty,
                "classic grid: a fill heard after the inventory was taken from the exchange, already in it"
            );
            return None;
        }
        if side == leg.entry_side() {
            let size = inv.size.as_decimal();
            let total = size + q;
            inv.avg = (inv.avg.unwrap_or(Decimal::ZERO) * size + p * q).checked_div(total).map(|a| a.round_dp(16));
            inv.size = Qty::new(total).unwrap_or(inv.size);
            None
        } else {
            // An exit larger than the inventory the grid knows, or against no known average
            // (a fill it could not apply, a position changed by hand): its PnL is not guessed —
            // journaled without it, the next start prices it from the exchange's own fills.
            let pnl = inv.avg.filter(|_| inv.size >= qty).map(|avg| {
                gridbot_core::usdt(match leg {
                    Leg::Long => (p - avg) * q,
                    Leg::Short => (avg - p) * q,
                })
            });
            if pnl.is_none() {
                tracing::warn!(
                    symbol = %self.instrument.symbol(), ?leg, %price, %qty, inventory = %inv.size,
                    "classic grid: an exit its inventory does not explain; its PnL is left to the exchange's fills"
                );
            }
            if let (Some(s), Some(pnl)) = (self.state.as_mut(), pnl) {
                s.realised_pnl += pnl;
            }
            inv.size = inv.size.checked_sub(qty).unwrap_or(Qty::ZERO);
            if inv.size.is_zero() {
                inv.avg = None;
            }
            pnl
        }
    }

    /// Each leg's inventory.
    #[must_use]
    pub fn leg_sizes(&self) -> LegPair<Qty> {
        LegPair { long: self.inventory[0].size, short: self.inventory[1].size }
    }
}
