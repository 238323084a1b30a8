//! The matching engine for USDT linear perpetuals.
//!
//! Decisions (where Bybit's behaviour is the reference and a backtest must be deterministic):
//! - **The market is the replay.** The last/mark price moves only along the candle path
//!   (`path.rs`). A resting limit order fills as maker at its own price when the path trades
//!   *through* it (fully) or just *touches* it (`touch_fill_fraction` of the rest, rounded down
//!   to the qty step: a deterministic partial fill). Taker orders fill against a synthetic book
//!   around the last price (`spread_ticks`, `book_levels` × `level_qty`) and do not move it.
//! - Orders are processed in price order along the path, then by arrival (`seq`), so the same
//!   inputs always give the same fills. Ordered maps only; no clock, no randomness.
//! - Statuses as Bybit linear: `New` → `PartiallyFilled` → `Filled`; a cancel after fills is
//!   `Cancelled` with `cum_exec_qty > 0`; a crossing PostOnly is `Cancelled` with
//!   `EC_PostOnlyWillTakeLiquidity`; an IOC/market remainder is `Cancelled`.
//! - Hedge mode: a Sell on `positionIdx` 1 or a Buy on 2 reduces that leg (as ccxt relies on);
//!   reduce-only orders never grow a position — their fills are capped at the leg's size, and
//!   they are cancelled (`CancelByReduceOnly`) when the leg is flat.
//! - Liquidation: cross margin per account. Within a price segment the account's
//!   `margin balance − MM` is linear in the price; when it crosses zero the account's
//!   positions in that symbol are closed at exactly that price (`BustTrade`), after its orders
//!   are cancelled (`CancelAllBeforeLiq`).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use gridbot_core::{
    CancelType, Decimal, ExecType, Execution, Instrument, Order, OrderAck, OrderRejection, OrderRequest, OrderStatus,
    OrderType, PositionIdx, PositionMode, Price, Qty, RejectReason, Side, Symbol, TimeInForce,
};

use crate::account::{Account, SymbolAccount};
use crate::config::SimConfig;
use crate::error::SimError;

mod margin;
mod market;
mod orders;
mod settings;

/// Index of an account in the engine.
pub type AccountId = usize;

/// Something that happened, for private streams and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// An order changed.
    Order(AccountId, Order),
    /// A fill, funding charge or liquidation.
    Execution(AccountId, Execution),
    /// A position leg changed.
    Position(AccountId, Symbol, PositionIdx),
    /// The wallet changed.
    Wallet(AccountId),
    /// A public trade (taker fills against the synthetic book and maker fills on the path).
    Trade {
        /// Symbol.
        symbol: Symbol,
        /// Price.
        price: Price,
        /// Size.
        qty: Qty,
        /// Taker side.
        taker_side: Side,
        /// Time, ms.
        time_ms: i64,
    },
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SimOrder {
    account: AccountId,
    order: Order,
    /// The initial margin the order holds while open (`leaves × price / leverage`; zero
    /// when closed or reduce-only), kept by `emit_order` and `set_leverage` so `margin()`
    /// sums instead of dividing per order. Not saved; rebuilt by `after_restore`.
    #[serde(skip)]
    order_im: Decimal,
}

/// Where an account is liquidated as one symbol's mark moves (everything else held).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum LiqThreshold {
    /// No price liquidates it.
    None,
    /// Liquidated when the mark falls to this price.
    Below(Price),
    /// Liquidated when the mark rises to this price.
    Above(Price),
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Market {
    /// Resting buys by (price, seq).
    buys: BTreeSet<(Price, u64)>,
    /// Resting sells by (price, seq).
    sells: BTreeSet<(Price, u64)>,
    /// Order-book update id: steps by one whenever the price moves.
    book_update_id: i64,
    /// The latest public trades, oldest first (at most `RECENT_TRADES`).
    trades: VecDeque<gridbot_core::PublicTrade>,
}

/// Book levels `(price, size)`, best first.
pub type Levels = Vec<(Price, Qty)>;

/// Public trades kept per symbol for `/v5/market/recent-trade`.
const RECENT_TRADES: usize = 1_000;

/// The exchange state. Single-threaded; wrap it in a lock to share. Serialisable, so a
/// simulator can be saved to a file and restored (a crash test restarts the exchange too).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MatchingEngine {
    config: SimConfig,
    instruments: BTreeMap<Symbol, Instrument>,
    markets: BTreeMap<Symbol, Market>,
    marks: BTreeMap<Symbol, Price>,
    accounts: Vec<Account>,
    orders: BTreeMap<u64, SimOrder>,
    link_ids: BTreeSet<(AccountId, String)>,
    executions: Vec<(AccountId, Execution)>,
    next_seq: u64,
    next_exec: u64,
    now_ms: i64,
    #[serde(skip)]
    events: Vec<SimEvent>,
    /// Per account: liquidation thresholds by symbol; an entry is dropped whenever what it
    /// depends on changes (fills, funding, mode, other symbols' marks). Not saved.
    #[serde(skip)]
    liq_cache: Vec<BTreeMap<Symbol, LiqThreshold>>,
    /// Per account: the open orders (their sequence numbers). Kept in step with `orders` by
    /// `emit_order`, which every change to an order ends with, so margin, cancel-all, the
    /// active-order limit and liquidation look at open orders only, never at history.
    /// Not saved; rebuilt by `after_restore`.
    #[serde(skip)]
    open: Vec<BTreeSet<u64>>,
    /// Per account: orderLinkId → sequence number. Lookups only (never iterated, so hashing
    /// order cannot leak into results). Not saved; rebuilt by `after_restore`.
    #[serde(skip)]
    by_link: Vec<HashMap<String, u64>>,
    /// Closed orders in the order they closed: `(closed at, seq)`, what pruning walks. Not
    /// saved; rebuilt by `after_restore`.
    #[serde(skip)]
    closed: VecDeque<(i64, u64)>,
    /// Exchange time of the next history pruning (see `SimConfig::history_retention_ms`).
    #[serde(skip)]
    next_prune_ms: i64,
    /// Events ever emitted: anything that changes an order, a position or a wallet emits one,
    /// so an unchanged count means an unchanged book of resting orders and liquidation prices.
    #[serde(skip)]
    changes: u64,
}

const FIRST_ORDER_ID: u64 = 1_000_000_001;

/// Decimal places of every USDT amount booked (fees, realised PnL, funding), as Bybit reports
/// them. Booking at a fixed precision keeps the wallet an exact sum of its executions.
pub const MONEY_DP: u32 = gridbot_core::USDT_DP;

fn rejection_to_error(e: &OrderRejection) -> SimError {
    match e {
        OrderRejection::BelowMinNotional { .. } => {
            SimError::new(110_094, format!("Order notional value below the lower limit: {e}"))
        }
        OrderRejection::AboveMaxQty { .. } => {
            SimError::new(10_001, format!("The number of contracts exceeds maximum limit allowed: {e}"))
        }
        OrderRejection::BelowMinQty { .. } => {
            SimError::new(10_001, format!("The number of contracts exceeds minimum limit allowed: {e}"))
        }
        OrderRejection::PriceOutOfBounds { .. } => {
            SimError::new(110_003, format!("Order price is out of permissible range: {e}"))
        }
        other => SimError::params(format!("params error: {other}")),
    }
}

impl MatchingEngine {
    /// An exchange listing `instruments`, with no accounts and no prices yet.
    #[must_use]
    pub fn new(config: SimConfig, instruments: Vec<Instrument>) -> Self {
        let instruments: BTreeMap<Symbol, Instrument> =
            instruments.into_iter().map(|i| (i.symbol().clone(), i)).collect();
        let markets = instruments.keys().map(|s| (s.clone(), Market::default())).collect();
        Self {
            config,
            instruments,
            markets,
            marks: BTreeMap::new(),
            accounts: Vec::new(),
            orders: BTreeMap::new(),
            link_ids: BTreeSet::new(),
            executions: Vec::new(),
            next_seq: FIRST_ORDER_ID,
            next_exec: 1,
            now_ms: 0,
            events: Vec::new(),
            liq_cache: Vec::new(),
            open: Vec::new(),
            by_link: Vec::new(),
            closed: VecDeque::new(),
            next_prune_ms: 0,
            changes: 0,
        }
    }

    /// Rebuilds what is not saved (caches and indexes) after deserialising.
    pub fn after_restore(&mut self) {
        let accounts = self.accounts.len();
        self.liq_cache = vec![BTreeMap::new(); accounts];
        self.open = vec![BTreeSet::new(); accounts];
        self.by_link = vec![HashMap::new(); accounts];
        let mut closed = Vec::new();
        for (seq, o) in &self.orders {
            if o.order.is_open() {
                self.open[o.account].insert(*seq);
            } else {
                closed.push((o.order.updated_time_ms, *seq));
            }
            if !o.order.order_link_id.is_empty() {
                self.by_link[o.account].insert(o.order.order_link_id.clone(), *seq);
            }
        }
        closed.sort_unstable();
        self.closed = closed.into();
        for account in &self.open {
            for &seq in account {
                if let Some(o) = self.orders.get(&seq) {
                    let im = self.order_im(&o.order, o.account);
                    if let Some(o) = self.orders.get_mut(&seq) {
                        o.order_im = im;
                    }
                }
            }
        }
        self.events.clear();
        self.next_prune_ms = 0;
        self.changes += 1;
    }

    /// Opens an account holding `wallet` USDT.
    pub fn add_account(&mut self, wallet: Decimal) -> AccountId {
        self.accounts.push(Account::new(wallet));
        self.liq_cache.push(BTreeMap::new());
        self.open.push(BTreeSet::new());
        self.by_link.push(HashMap::new());
        self.accounts.len() - 1
    }

    /// Account `id`'s open orders, oldest first.
    fn open_orders_of(&self, id: AccountId) -> impl DoubleEndedIterator<Item = (u64, &Order)> {
        self.open.get(id).into_iter().flatten().filter_map(move |seq| self.orders.get(seq).map(|o| (*seq, &o.order)))
    }

    /// Account `id`'s open orders in `symbol`, oldest first.
    fn open_orders_in<'a>(
        &'a self,
        id: AccountId,
        symbol: &'a Symbol,
    ) -> impl DoubleEndedIterator<Item = (u64, &'a Order)> {
        self.open_orders_of(id).filter(move |(_, o)| o.symbol == *symbol)
    }

    /// Drops closed orders and executions older than the retention, once per exchange hour.
    /// What is dropped depends only on the hour boundary crossed, not on the exact time that
    /// crossed it, so walking a candle point by point or in one stride prunes alike.
    fn prune_history(&mut self) {
        const EVERY_MS: i64 = 60 * 60 * 1000;
        if self.now_ms < self.next_prune_ms {
            return;
        }
        let boundary = self.now_ms.div_euclid(EVERY_MS) * EVERY_MS;
        self.next_prune_ms = boundary + EVERY_MS;
        let before = boundary.saturating_sub(self.config.history_retention_ms);
        while let Some(&(closed_at, seq)) = self.closed.front()
            && closed_at < before
        {
            self.closed.pop_front();
            if let Some(o) = self.orders.remove(&seq)
                && let Some(links) = self.by_link.get_mut(o.account)
                && links.get(&o.order.order_link_id) == Some(&seq)
            {
                links.remove(&o.order.order_link_id);
            }
        }
        // Executions are booked in time order.
        let keep_from = self.executions.partition_point(|(_, e)| e.exec_time_ms < before);
        self.executions.drain(..keep_from);
    }

    /// Number of accounts.
    #[must_use]
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Moves the funding history `offset_ms` later (with a replay re-based to the wall clock).
    pub fn shift_funding_history(&mut self, offset_ms: i64) {
        for points in self.config.funding_history.values_mut() {
            for p in points {
                p.time_ms += offset_ms;
            }
        }
    }

    /// Settings.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The listed instruments.
    pub fn instruments(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.values()
    }

    /// One instrument.
    pub fn instrument(&self, symbol: &Symbol) -> Result<&Instrument, SimError> {
        self.instruments.get(symbol).ok_or_else(|| SimError::params(format!("params error: symbol invalid: {symbol}")))
    }

    /// Exchange time, UTC ms (the replay's).
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Moves exchange time forward (never back).
    pub fn set_time(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
        self.prune_history();
    }

    /// Last (= mark) price.
    #[must_use]
    pub fn mark(&self, symbol: &Symbol) -> Option<Price> {
        self.marks.get(symbol).copied()
    }

    fn set_mark(&mut self, symbol: &Symbol, price: Price) {
        if let Some(m) = self.markets.get_mut(symbol) {
            m.book_update_id += 1;
        }
        match self.marks.get_mut(symbol) {
            Some(mark) => *mark = price,
            None => {
                self.marks.insert(symbol.clone(), price);
            }
        }
    }

    /// Forgets account `id`'s liquidation thresholds (its positions or wallet changed).
    fn invalidate_liquidation(&mut self, id: AccountId) {
        if let Some(cache) = self.liq_cache.get_mut(id) {
            cache.clear();
        }
    }

    /// The number the next order will get (its `orderId`).
    #[must_use]
    pub fn next_order_number(&self) -> u64 {
        self.next_seq
    }

    /// The order-book update id of `symbol` (steps by one per price move).
    #[must_use]
    pub fn book_update_id(&self, symbol: &Symbol) -> i64 {
        self.markets.get(symbol).map_or(0, |m| m.book_update_id)
    }

    /// The latest public trades of `symbol`, newest first.
    #[must_use]
    pub fn recent_trades(&self, symbol: &Symbol, limit: usize) -> Vec<gridbot_core::PublicTrade> {
        self.markets.get(symbol).map(|m| m.trades.iter().rev().take(limit).cloned().collect()).unwrap_or_default()
    }

    /// `depth` synthetic levels per side around the last price, best first.
    #[must_use]
    pub fn book_levels(&self, symbol: &Symbol, depth: usize) -> (Levels, Levels) {
        let qty = self.config.level_qty;
        let side =
            |s: Side| self.taker_levels(symbol, s).into_iter().take(depth).map(|(p, _)| (p, qty)).collect::<Vec<_>>();
        (side(Side::Sell), side(Side::Buy))
    }

    /// How many events the engine has emitted (see [`inert_range`](Self::inert_range): while
    /// it stands still, so does every symbol's inert range).
    #[must_use]
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Queues an event for `drain_events` and counts the change.
    fn emit(&mut self, event: SimEvent) {
        self.changes += 1;
        self.events.push(event);
    }

    /// True when events wait to be drained.
    #[must_use]
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Takes the events since the last call.
    pub fn drain_events(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.events)
    }

    /// The account.
    pub fn account(&self, id: AccountId) -> Result<&Account, SimError> {
        self.accounts.get(id).ok_or_else(|| SimError::new(10_003, "API key is invalid."))
    }

    fn symbol_account(&mut self, id: AccountId, symbol: &Symbol) -> &mut SymbolAccount {
        let leverage = self.config.default_leverage;
        self.accounts[id].symbols.entry(symbol.clone()).or_insert_with(|| SymbolAccount::new(leverage))
    }

    // ---- synthetic book ---------------------------------------------------------------------

    /// Best bid and ask around the last price: the tick grid straddling it, `spread_ticks` wide.
    #[must_use]
    pub fn best_bid_ask(&self, symbol: &Symbol) -> Option<(Price, Price)> {
        self.top_for_mark(symbol, self.mark(symbol)?)
    }

    /// The synthetic book's best bid and ask when `symbol`'s mark is `last`: the bid on the
    /// tick at or below it, the ask `spread_ticks` above the bid (or the tick above a mark
    /// between ticks).
    #[must_use]
    pub fn top_for_mark(&self, symbol: &Symbol, last: Price) -> Option<(Price, Price)> {
        let instrument = self.instruments.get(symbol)?;
        let tick = instrument.tick_size();
        let spread = Decimal::from(self.config.spread_ticks.max(1));
        let bid = instrument.round_buy_price(last);
        let ask = if bid == last {
            bid.checked_add(tick * spread)?
        } else {
            instrument.round_sell_price(last).checked_add(tick * (spread - Decimal::ONE))?
        };
        Some((bid, ask))
    }

    /// The synthetic levels a taker `side` order meets: `(price, qty)`, best first.
    fn taker_levels(&self, symbol: &Symbol, side: Side) -> Vec<(Price, Decimal)> {
        let Some((bid, ask)) = self.best_bid_ask(symbol) else { return Vec::new() };
        let Some(instrument) = self.instruments.get(symbol) else { return Vec::new() };
        let tick = instrument.tick_size();
        (0..self.config.book_levels)
            .filter_map(|i| {
                let offset = tick * Decimal::from(i);
                let price = match side {
                    Side::Buy => ask.checked_add(offset),
                    Side::Sell => bid.checked_sub(offset),
                }?;
                (!price.is_zero()).then_some((price, self.config.level_qty.as_decimal()))
            })
            .collect()
    }

    // ---- margin -----------------------------------------------------------------------------

    /// Places an order (Bybit `/v5/order/create`).
    pub fn place(&mut self, id: AccountId, req: &OrderRequest) -> Result<OrderAck, SimError> {
        self.account(id)?;
        let instrument = self.instrument(&req.symbol)?.clone();
        let mode = self.symbol_account(id, &req.symbol).mode;
        let idx_ok = match mode {
            PositionMode::OneWay => req.position_idx == PositionIdx::OneWay,
            PositionMode::Hedge => req.position_idx != PositionIdx::OneWay,
        };
        if !idx_ok {
            return Err(SimError::params("position idx not match position mode"));
        }
        let link = req.order_link_id.as_str().to_owned();
        if self.link_ids.contains(&(id, link.clone())) {
            return Err(SimError::new(110_072, "OrderLinkedID is duplicate"));
        }
        instrument.validate(req).map_err(|e| rejection_to_error(&e))?;
        let active = self.open_orders_in(id, &req.symbol).count();
        if active >= self.config.max_active_orders {
            return Err(SimError::new(110_020, "Exceeded the maximum number of active orders"));
        }
        let reducible = self.reducible(id, &req.symbol, req.position_idx, req.side);
        let hedge_close = req.position_idx != PositionIdx::OneWay && reducible.is_some();
        if (req.reduce_only || hedge_close) && reducible.unwrap_or(Decimal::ZERO).is_zero() {
            return Err(SimError::new(110_017, "Reduce-only rule not satisfied: nothing to reduce"));
        }
        if !req.reduce_only && reducible.is_none() {
            let price = req.price.or_else(|| self.mark(&req.symbol)).map_or(Decimal::ZERO, Price::as_decimal);
            let leverage = self.symbol_account(id, &req.symbol).leverage;
            let value = req.qty.as_decimal() * price;
            let needed = value / leverage + value * self.config.taker_fee;
            if self.margin(id)?.available() < needed {
                return Err(SimError::new(110_007, "ab not enough for new order"));
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.link_ids.insert((id, link.clone()));
        let order = Order {
            order_id: seq.to_string(),
            order_link_id: link,
            symbol: req.symbol.clone(),
            side: req.side,
            order_type: req.order_type,
            price: req.price,
            qty: req.qty,
            time_in_force: if req.order_type == OrderType::Market { TimeInForce::Ioc } else { req.time_in_force },
            position_idx: req.position_idx,
            status: OrderStatus::New,
            cancel_type: CancelType::Unknown,
            reject_reason: RejectReason::NoError,
            avg_price: None,
            leaves_qty: req.qty,
            cum_exec_qty: Qty::ZERO,
            cum_exec_value: Decimal::ZERO,
            cum_exec_fee: Decimal::ZERO,
            reduce_only: req.reduce_only,
            created_time_ms: self.now_ms,
            updated_time_ms: self.now_ms,
        };
        let ack = OrderAck { order_id: order.order_id.clone(), order_link_id: order.order_link_id.clone() };
        self.orders.insert(seq, SimOrder { account: id, order, order_im: Decimal::ZERO });
        if let Some(links) = self.by_link.get_mut(id) {
            links.insert(req.order_link_id.as_str().to_owned(), seq);
        }
        self.emit_order(seq);
        self.on_arrival(seq, &instrument);
        Ok(ack)
    }

    /// A market order's fill price, `market_slippage` worse than the book's, on the tick.
    fn slipped(&self, side: Side, price: Price, instrument: &Instrument) -> Price {
        let slip = self.config.market_slippage;
        if slip.is_zero() {
            return price;
        }
        match side {
            Side::Buy => {
                Price::new(price.as_decimal() * (Decimal::ONE + slip)).map_or(price, |p| instrument.round_sell_price(p))
            }
            Side::Sell => {
                Price::new(price.as_decimal() * (Decimal::ONE - slip)).map_or(price, |p| instrument.round_buy_price(p))
            }
        }
    }

    /// What happens the instant an order arrives: PostOnly check, taker fills, resting.
    fn on_arrival(&mut self, seq: u64, instrument: &Instrument) {
        let Some(o) = self.orders.get(&seq).map(|o| o.order.clone()) else { return };
        let crosses = match (self.best_bid_ask(&o.symbol), o.price) {
            (Some((_, ask)), Some(p)) if o.side == Side::Buy => p >= ask,
            (Some((bid, _)), Some(p)) => p <= bid,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if o.order_type == OrderType::Market && self.mark(&o.symbol).is_none() {
            self.finish(seq, OrderStatus::Cancelled, CancelType::Unknown, RejectReason::NoImmediateQtyToFill);
            return;
        }
        if o.time_in_force == TimeInForce::PostOnly && crosses {
            self.finish(seq, OrderStatus::Cancelled, CancelType::Unknown, RejectReason::PostOnlyWillTakeLiquidity);
            return;
        }
        if crosses {
            let levels: Vec<(Price, Decimal)> = self
                .taker_levels(&o.symbol, o.side)
                .into_iter()
                .filter(|(p, _)| {
                    o.price.is_none_or(|limit| if o.side == Side::Buy { *p <= limit } else { *p >= limit })
                })
                .collect();
            let available: Decimal = levels.iter().map(|(_, q)| *q).sum();
            if o.time_in_force == TimeInForce::Fok && available < o.qty.as_decimal() {
                self.finish(seq, OrderStatus::Cancelled, CancelType::Unknown, RejectReason::NoImmediateQtyToFill);
                return;
            }
            for (price, depth) in levels {
                let leaves = self.orders.get(&seq).map_or(Decimal::ZERO, |o| o.order.leaves_qty.as_decimal());
                if leaves.is_zero() {
                    break;
                }
                let qty = instrument.round_qty(Qty::new(leaves.min(depth)).unwrap_or(Qty::ZERO)).as_decimal();
                if qty.is_zero() {
                    break;
                }
                let price =
                    if o.order_type == OrderType::Market { self.slipped(o.side, price, instrument) } else { price };
                self.fill(seq, qty, price, false, ExecType::Trade);
            }
        }
        let Some(o) = self.orders.get(&seq).map(|o| o.order.clone()) else { return };
        if !o.is_open() {
            return;
        }
        if o.order_type == OrderType::Market || matches!(o.time_in_force, TimeInForce::Ioc | TimeInForce::Fok) {
            let reason =
                if o.cum_exec_qty.is_zero() { RejectReason::NoImmediateQtyToFill } else { RejectReason::NoError };
            self.finish(seq, OrderStatus::Cancelled, CancelType::Unknown, reason);
            return;
        }
        if let (Some(price), Some(market)) = (o.price, self.markets.get_mut(&o.symbol)) {
            match o.side {
                Side::Buy => market.buys.insert((price, seq)),
                Side::Sell => market.sells.insert((price, seq)),
            };
        }
    }

    fn unindex(&mut self, seq: u64) {
        if let Some(o) = self.orders.get(&seq)
            && let (Some(price), Some(market)) = (o.order.price, self.markets.get_mut(&o.order.symbol))
        {
            match o.order.side {
                Side::Buy => market.buys.remove(&(price, seq)),
                Side::Sell => market.sells.remove(&(price, seq)),
            };
        }
    }

    fn finish(&mut self, seq: u64, status: OrderStatus, cancel_type: CancelType, reason: RejectReason) {
        self.unindex(seq);
        let now = self.now_ms;
        if let Some(o) = self.orders.get_mut(&seq) {
            o.order.status = status;
            o.order.cancel_type = cancel_type;
            o.order.reject_reason = reason;
            o.order.updated_time_ms = now;
            if status != OrderStatus::Filled {
                o.order.leaves_qty = Qty::ZERO;
            }
        }
        self.emit_order(seq);
    }

    /// Publishes order `seq`'s new state and keeps the open-order index in step with it.
    fn emit_order(&mut self, seq: u64) {
        self.refresh_order_im(seq);
        if let Some(o) = self.orders.get(&seq) {
            if let Some(open) = self.open.get_mut(o.account) {
                if o.order.is_open() {
                    open.insert(seq);
                } else if open.remove(&seq) {
                    self.closed.push_back((o.order.updated_time_ms, seq));
                }
            }
            let event = SimEvent::Order(o.account, o.order.clone());
            self.emit(event);
        }
    }

    // ---- fills ------------------------------------------------------------------------------

    fn next_exec_id(&mut self) -> String {
        let n = self.next_exec;
        self.next_exec += 1;
        format!("sim-{n:012}")
    }

    /// Fills `qty` of order `seq` at `price`; reduce-only fills are capped at the leg's size.
    fn fill(&mut self, seq: u64, qty: Decimal, price: Price, is_maker: bool, exec_type: ExecType) {
        let Some(o) = self.orders.get(&seq).map(|o| (o.account, o.order.clone())) else { return };
        let (id, order) = o;
        let reducible = self.reducible(id, &order.symbol, order.position_idx, order.side);
        let mut qty = qty.min(order.leaves_qty.as_decimal());
        if order.reduce_only || (order.position_idx != PositionIdx::OneWay && reducible.is_some()) {
            qty = qty.min(reducible.unwrap_or(Decimal::ZERO));
        }
        if qty <= Decimal::ZERO {
            if order.reduce_only {
                self.finish(seq, OrderStatus::Cancelled, CancelType::CancelByReduceOnly, RejectReason::NoError);
            }
            return;
        }
        let rate = if is_maker { self.config.maker_fee } else { self.config.taker_fee };
        let value = qty * price.as_decimal();
        let fee = (value * rate).round_dp(MONEY_DP);
        let now = self.now_ms;
        let leg_idx = order.position_idx;
        let closed = reducible.unwrap_or(Decimal::ZERO).min(qty);
        let realised = self
            .symbol_account(id, &order.symbol)
            .leg_mut(leg_idx)
            .apply_fill(order.side, qty, price.as_decimal(), now)
            .round_dp(MONEY_DP);
        {
            let leg = self.symbol_account(id, &order.symbol).leg_mut(leg_idx);
            leg.cum_realised_pnl += realised - fee;
        }
        self.accounts[id].wallet += realised - fee;
        self.invalidate_liquidation(id);
        let exec_id = self.next_exec_id();
        if let Some(o) = self.orders.get_mut(&seq) {
            let o = &mut o.order;
            o.leaves_qty = Qty::new(o.leaves_qty.as_decimal() - qty).unwrap_or(Qty::ZERO);
            o.cum_exec_qty = Qty::new(o.cum_exec_qty.as_decimal() + qty).unwrap_or(Qty::ZERO);
            o.cum_exec_value += value;
            o.cum_exec_fee += fee;
            o.avg_price = Price::new((o.cum_exec_value / o.cum_exec_qty.as_decimal()).round_dp(8)).ok();
            o.status = if o.leaves_qty.is_zero() { OrderStatus::Filled } else { OrderStatus::PartiallyFilled };
            o.updated_time_ms = now;
        }
        let execution = Execution {
            exec_id,
            order_id: order.order_id.clone(),
            order_link_id: order.order_link_id.clone(),
            symbol: order.symbol.clone(),
            side: order.side,
            exec_type,
            order_type: order.order_type,
            exec_price: price,
            exec_qty: Qty::new(qty).unwrap_or(Qty::ZERO),
            exec_value: value,
            exec_fee: fee,
            fee_rate: rate,
            is_maker,
            closed_size: Qty::new(closed).unwrap_or(Qty::ZERO),
            exec_time_ms: now,
        };
        let trade_id = execution.exec_id.clone();
        self.executions.push((id, execution.clone()));
        self.emit(SimEvent::Execution(id, execution));
        let taker_side = if is_maker { order.side.opposite() } else { order.side };
        let trade_qty = Qty::new(qty).unwrap_or(Qty::ZERO);
        if let Some(market) = self.markets.get_mut(&order.symbol) {
            if market.trades.len() >= RECENT_TRADES {
                market.trades.pop_front();
            }
            market.trades.push_back(gridbot_core::PublicTrade {
                symbol: order.symbol.clone(),
                trade_id,
                price,
                qty: trade_qty,
                taker_side,
                time_ms: now,
            });
        }
        self.emit(SimEvent::Trade { symbol: order.symbol.clone(), price, qty: trade_qty, taker_side, time_ms: now });
        if self.orders.get(&seq).is_some_and(|o| o.order.status == OrderStatus::Filled) {
            self.unindex(seq);
        }
        self.emit_order(seq);
        self.emit(SimEvent::Position(id, order.symbol.clone(), leg_idx));
        self.emit(SimEvent::Wallet(id));
        if closed > Decimal::ZERO {
            self.cancel_orphaned_reduce_only(id, &order.symbol);
        }
    }

    /// Reduce-only orders whose leg went flat can never fill: cancel them, as Bybit does.
    fn cancel_orphaned_reduce_only(&mut self, id: AccountId, symbol: &Symbol) {
        let orphans: Vec<u64> = self
            .open_orders_in(id, symbol)
            .filter(|(_, o)| o.reduce_only)
            .filter(|(_, o)| self.reducible(id, symbol, o.position_idx, o.side).unwrap_or(Decimal::ZERO).is_zero())
            .map(|(seq, _)| seq)
            .collect();
        for seq in orphans {
            self.finish(seq, OrderStatus::Cancelled, CancelType::CancelByReduceOnly, RejectReason::NoError);
        }
    }
}
