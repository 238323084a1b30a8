//! Margin: an account's cross-margin figures, the initial margin an order holds, and how much
//! of a leg an order may still reduce.

use gridbot_core::{Decimal, Order, PositionIdx, Price, Side, Symbol};

use super::{AccountId, MatchingEngine};
use crate::account::Margin;
use crate::error::SimError;

impl MatchingEngine {
    /// Margin figures of an account at current marks.
    pub fn margin(&self, id: AccountId) -> Result<Margin, SimError> {
        let account = self.account(id)?;
        let mmr = self.config.maintenance_margin_rate;
        let mut m = Margin { wallet: account.wallet, ..Margin::default() };
        for (symbol, sa) in &account.symbols {
            let mark = self.mark(symbol).map_or(Decimal::ZERO, Price::as_decimal);
            for leg in sa.legs.values() {
                let value = leg.size.as_decimal() * mark;
                m.upnl += leg.unrealised(mark);
                m.position_im += value / sa.leverage;
                m.mm += value * mmr;
            }
        }
        for o in self.open.get(id).into_iter().flatten().filter_map(|seq| self.orders.get(seq)) {
            if o.order.reduce_only {
                continue;
            }
            m.order_im += match o.order.price {
                Some(_) => o.order_im,
                // A market order in flight holds margin at the mark.
                None => self.order_im(&o.order, id),
            };
        }
        Ok(m)
    }

    /// The initial margin `order` of account `id` holds: `leaves × price / leverage` (at the
    /// mark for a market order); zero for reduce-only and closed orders.
    pub(super) fn order_im(&self, order: &Order, id: AccountId) -> Decimal {
        if order.reduce_only || !order.is_open() {
            return Decimal::ZERO;
        }
        let leverage = self
            .accounts
            .get(id)
            .and_then(|a| a.symbols.get(&order.symbol))
            .map_or(self.config.default_leverage, |s| s.leverage);
        let price = order.price.or_else(|| self.mark(&order.symbol)).map_or(Decimal::ZERO, Price::as_decimal);
        order.leaves_qty.as_decimal() * price / leverage
    }

    /// Recomputes the margin held by order `seq` (after it changed, or its leverage did).
    pub(super) fn refresh_order_im(&mut self, seq: u64) {
        if let Some(o) = self.orders.get(&seq) {
            let im = self.order_im(&o.order, o.account);
            if let Some(o) = self.orders.get_mut(&seq) {
                o.order_im = im;
            }
        }
    }

    /// How much of a position `side` on `idx` would reduce right now.
    pub(super) fn reducible(&self, id: AccountId, symbol: &Symbol, idx: PositionIdx, side: Side) -> Option<Decimal> {
        let leg = self.accounts.get(id)?.symbols.get(symbol).and_then(|sa| sa.legs.get(&idx.as_i64()));
        let size = leg.map_or(Decimal::ZERO, |l| l.size.as_decimal());
        let reduces = match idx {
            // In hedge mode the side alone says it: a Sell on the long leg closes it.
            PositionIdx::Long => side == Side::Sell,
            PositionIdx::Short => side == Side::Buy,
            PositionIdx::OneWay => leg.is_some_and(|l| l.side == Some(side.opposite())),
        };
        reduces.then_some(size)
    }

    // ---- orders -----------------------------------------------------------------------------
}
