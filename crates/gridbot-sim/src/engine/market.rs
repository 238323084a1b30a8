//! Price moves along the replay path: resting fills in path order, and liquidation at the
//! exact price where an account's margin balance meets its maintenance margin.

use gridbot_core::{
    CancelType, Decimal, ExecType, Instrument, Order, OrderStatus, OrderType, PositionIdx, Price, Qty, RejectReason,
    Side, Symbol, TimeInForce,
};

use super::{AccountId, LiqThreshold, MatchingEngine, SimOrder};
use crate::account::SymbolAccount;

impl MatchingEngine {
    // ---- the market moves -------------------------------------------------------------------

    /// Moves the last price of `symbol` to `to`, filling every resting order the move trades
    /// through (fully) or touches (`touch_fill_fraction`), in path order and then arrival
    /// order, and liquidating accounts whose margin runs out on the way.
    pub fn move_price(&mut self, symbol: &Symbol, to: Price) {
        let Some(from) = self.mark(symbol) else {
            self.set_mark(symbol, to);
            return;
        };
        if from == to {
            return;
        }
        let falling = to < from;
        // One comparison decides the common case: the nearest resting order is not reached.
        let mut candidates: Vec<(Price, u64)> = match self.markets.get(symbol) {
            Some(m) if falling => match m.buys.last() {
                Some((best, _)) if *best >= to => m.buys.range((to, 0)..=(from, u64::MAX)).copied().collect(),
                _ => Vec::new(),
            },
            Some(m) => match m.sells.first() {
                Some((best, _)) if *best <= to => m.sells.range((from, 0)..=(to, u64::MAX)).copied().collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        if falling {
            // Highest buy first; within a price, arrival order.
            candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        let fraction = self.config.touch_fill_fraction;
        let through_ticks = Decimal::from(self.config.fill_through_ticks);
        let tick = self.instruments.get(symbol).map_or(Decimal::ZERO, Instrument::tick_size);
        let mut current = from;
        for (price, seq) in candidates {
            self.liquidate_between(symbol, current, price);
            current = price;
            self.set_mark(symbol, price);
            let Some(leaves) = self.orders.get(&seq).filter(|o| o.order.is_open()).map(|o| o.order.leaves_qty) else {
                continue;
            };
            let beyond = if falling { price > to } else { price < to };
            let through = beyond && (through_ticks.is_zero() || price.diff(to).abs() >= through_ticks * tick);
            let qty = if through {
                leaves
            } else {
                let part = Qty::new(leaves.as_decimal() * fraction).unwrap_or(Qty::ZERO);
                self.instruments.get(symbol).map_or(part, |i| i.round_qty(part))
            };
            if !qty.is_zero() {
                self.fill(seq, qty.as_decimal(), price, true, ExecType::Trade);
            }
        }
        self.liquidate_between(symbol, current, to);
        self.set_mark(symbol, to);
        // Accounts holding positions in other symbols too: their thresholds there moved.
        if self.instruments.len() < 2 {
            return;
        }
        for id in 0..self.accounts.len() {
            let symbols = &self.accounts[id].symbols;
            if symbols.get(symbol).is_some_and(|sa| sa.has_position())
                && symbols.values().filter(|sa| sa.has_position()).count() > 1
            {
                self.liq_cache[id].clear();
            }
        }
    }

    /// The open price interval inside which `symbol`'s mark can move without filling a resting
    /// order or liquidating anyone: `(above, below)` — every price strictly above the first
    /// and strictly below the second is inert; `None` on a side nothing bounds. `None` overall
    /// when it cannot be said from this symbol alone: an account holds positions in several
    /// symbols, so its liquidation price here moves with the other marks. The range changes
    /// only when [`changes`](Self::changes) does.
    pub fn inert_range(&mut self, symbol: &Symbol) -> Option<(Option<Price>, Option<Price>)> {
        let market = self.markets.get(symbol)?;
        let mut above = market.buys.last().map(|(p, _)| *p);
        let mut below = market.sells.first().map(|(p, _)| *p);
        for id in 0..self.accounts.len() {
            let symbols = &self.accounts[id].symbols;
            if !symbols.get(symbol).is_some_and(SymbolAccount::has_position) {
                continue;
            }
            if symbols.values().filter(|sa| sa.has_position()).count() > 1 {
                return None;
            }
            let threshold = match self.liq_cache[id].get(symbol) {
                Some(t) => *t,
                None => {
                    let t = self.liquidation_threshold(id, symbol);
                    self.liq_cache[id].insert(symbol.clone(), t);
                    t
                }
            };
            match threshold {
                LiqThreshold::Below(p) => above = Some(above.map_or(p, |a| a.max(p))),
                LiqThreshold::Above(p) => below = Some(below.map_or(p, |b| b.min(p))),
                LiqThreshold::None => {}
            }
        }
        Some((above, below))
    }

    /// Stores the end of a stride through `symbol`'s [`inert_range`](Self::inert_range): the
    /// mark ends at `last` after `moves` price moves (each steps the book id, as
    /// [`move_price`](Self::move_price) would; nothing fills, nobody is liquidated there).
    /// The replay checks the range and counts the moves.
    pub(crate) fn glide_inert(&mut self, symbol: &Symbol, moves: u64, last: Price) {
        if let Some(m) = self.markets.get_mut(symbol) {
            m.book_update_id += i64::try_from(moves).unwrap_or(i64::MAX);
        }
        match self.marks.get_mut(symbol) {
            Some(mark) => *mark = last,
            None => {
                self.marks.insert(symbol.clone(), last);
            }
        }
    }

    /// Liquidates every account whose `margin balance − MM` reaches zero while `symbol` moves
    /// from `from` to `to`; returns true if one was liquidated. Thresholds are cached per
    /// account and symbol (see `LiqThreshold`), so the common case is one comparison.
    pub(super) fn liquidate_between(&mut self, symbol: &Symbol, from: Price, to: Price) -> bool {
        if from == to {
            return false;
        }
        let mut liquidated = false;
        for id in 0..self.accounts.len() {
            let threshold = match self.liq_cache[id].get(symbol) {
                Some(t) => *t,
                None => {
                    let t = self.liquidation_threshold(id, symbol);
                    self.liq_cache[id].insert(symbol.clone(), t);
                    t
                }
            };
            let at = match threshold {
                LiqThreshold::Below(p) if from > p && to <= p => p,
                LiqThreshold::Above(p) if from < p && to >= p => p,
                _ => continue,
            };
            self.liquidate(id, symbol, at);
            liquidated = true;
        }
        liquidated
    }

    /// Where `margin balance − MM` of account `id` crosses zero as `symbol`'s mark moves, every
    /// other mark held: f(p) = c0 + c1·p.
    fn liquidation_threshold(&self, id: AccountId, symbol: &Symbol) -> LiqThreshold {
        let Some(sa) = self.accounts[id].symbols.get(symbol) else { return LiqThreshold::None };
        if !sa.has_position() {
            return LiqThreshold::None;
        }
        let mmr = self.config.maintenance_margin_rate;
        let (mut c0, mut c1) = (self.accounts[id].wallet, Decimal::ZERO);
        for (s, other) in &self.accounts[id].symbols {
            for leg in other.legs.values() {
                let size = leg.size.as_decimal();
                let dir = match leg.side {
                    Some(Side::Buy) => Decimal::ONE,
                    Some(Side::Sell) => Decimal::NEGATIVE_ONE,
                    None => continue,
                };
                if s == symbol {
                    c1 += dir * size - size * mmr;
                    c0 -= dir * size * leg.avg_price;
                } else {
                    let mark = self.mark(s).map_or(Decimal::ZERO, Price::as_decimal);
                    c0 += leg.unrealised(mark) - size * mark * mmr;
                }
            }
        }
        if c1.is_zero() {
            return LiqThreshold::None;
        }
        let root = (-c0 / c1).round_dp(8);
        match Price::new(root) {
            Ok(p) if c1 > Decimal::ZERO => LiqThreshold::Below(p),
            Ok(p) => LiqThreshold::Above(p),
            // A root below zero: a long account that no price can liquidate.
            Err(_) => LiqThreshold::None,
        }
    }

    fn liquidate(&mut self, id: AccountId, symbol: &Symbol, at: Price) {
        let open: Vec<u64> = self.open_orders_of(id).map(|(seq, _)| seq).collect();
        for seq in open {
            self.finish(seq, OrderStatus::Cancelled, CancelType::CancelAllBeforeLiq, RejectReason::NoError);
        }
        self.set_mark(symbol, at);
        let legs: Vec<(PositionIdx, Side, Decimal)> = self.accounts[id]
            .symbols
            .get(symbol)
            .map(|sa| {
                sa.legs
                    .iter()
                    .filter_map(|(i, l)| {
                        Some((PositionIdx::try_from(*i).ok()?, l.side?.opposite(), l.size.as_decimal()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (idx, side, size) in legs {
            let seq = self.next_seq;
            self.next_seq += 1;
            let order = Order {
                order_id: seq.to_string(),
                order_link_id: String::new(),
                symbol: symbol.clone(),
                side,
                order_type: OrderType::Market,
                price: None,
                qty: Qty::new(size).unwrap_or(Qty::ZERO),
                time_in_force: TimeInForce::Ioc,
                position_idx: idx,
                status: OrderStatus::New,
                cancel_type: CancelType::Unknown,
                reject_reason: RejectReason::NoError,
                avg_price: None,
                leaves_qty: Qty::new(size).unwrap_or(Qty::ZERO),
                cum_exec_qty: Qty::ZERO,
                cum_exec_value: Decimal::ZERO,
                cum_exec_fee: Decimal::ZERO,
                reduce_only: true,
                created_time_ms: self.now_ms,
                updated_time_ms: self.now_ms,
            };
            self.orders.insert(seq, SimOrder { account: id, order, order_im: Decimal::ZERO });
            // Indexed as open like any order, so its closing is logged (and later pruned).
            self.open[id].insert(seq);
            self.fill(seq, size, at, false, ExecType::BustTrade);
        }
    }
}
