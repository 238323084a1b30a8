//! The simulator in-process: `SimExchange` owns the engine and the replay; each account is
//! reached through a `SimAccount` that implements gridbot-core's `Exchange`, so backtests,
//! recovery tests and the engine use exactly the calls they use against Bybit.
//!
//! Stepping is explicit (`step`, `advance_to`): no threads, no wall clock. Errors are mapped to
//! the same `ExchangeError` variants the Bybit client produces for the same retCodes.

use std::sync::{Arc, Mutex, MutexGuard};

use gridbot_core::{
    Candle, Decimal, Exchange, ExchangeError, Execution, FundingRate, Instrument, KlineQuery, Order, OrderAck,
    OrderBookTop, OrderRef, OrderRequest, Position, PositionMode, Price, Qty, Symbol, Ticker, TimeWindow, Wallet,
};

use crate::engine::{AccountId, MatchingEngine, SimEvent};
use crate::error::SimError;
use crate::replay::CandleReplay;

struct State {
    engine: MatchingEngine,
    replay: CandleReplay,
}

/// An in-process exchange: engine + replay behind one lock.
pub struct SimExchange {
    state: Mutex<State>,
}

impl std::fmt::Debug for SimExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimExchange").finish_non_exhaustive()
    }
}

impl SimExchange {
    /// An exchange replaying `replay` into `engine`.
    #[must_use]
    pub fn new(engine: MatchingEngine, replay: CandleReplay) -> Arc<Self> {
        Arc::new(Self { state: Mutex::new(State { engine, replay }) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens an account with `wallet` USDT.
    pub fn add_account(&self, wallet: Decimal) -> AccountId {
        self.lock().engine.add_account(wallet)
    }

    /// The `Exchange` view of one account.
    #[must_use]
    pub fn account(self: &Arc<Self>, id: AccountId) -> SimAccount {
        SimAccount { sim: Arc::clone(self), id }
    }

    /// Replays the next time step; returns its time and the events it caused.
    pub fn step(&self) -> Option<(i64, Vec<SimEvent>)> {
        let mut s = self.lock();
        let State { engine, replay } = &mut *s;
        let t = replay.step(engine)?;
        Some((t, engine.drain_events()))
    }

    /// Moves the market one path point (see `CandleReplay::step_point`); returns the point's
    /// time, whether it closed the candle step, and the events it caused.
    pub fn step_point(&self) -> Option<(i64, bool, Vec<SimEvent>)> {
        let mut s = self.lock();
        let State { engine, replay } = &mut *s;
        let (t, closed) = replay.step_point(engine)?;
        Some((t, closed, engine.drain_events()))
    }

    /// Walks quiet path points (see `CandleReplay::advance_quiet`); bands are in series order
    /// ([`SimExchange::series_symbols`]).
    pub fn advance_quiet(
        &self,
        bands: &[Option<(Price, Price)>],
        until_ms: i64,
        close_at_ms: i64,
    ) -> crate::replay::QuietWalk {
        let mut s = self.lock();
        let State { engine, replay } = &mut *s;
        replay.advance_quiet(engine, bands, until_ms, close_at_ms)
    }

    /// The replayed symbols, in series order.
    #[must_use]
    pub fn series_symbols(&self) -> Vec<Symbol> {
        self.lock().replay.series_symbols().cloned().collect()
    }

    /// The synthetic book's best bid and ask of `symbol` if its mark were `mark`.
    #[must_use]
    pub fn top_for_mark(&self, symbol: &Symbol, mark: Price) -> Option<(Price, Price)> {
        self.lock().engine.top_for_mark(symbol, mark)
    }

    /// Jumps the replay to `t_ms` without walking the history before it (see
    /// `CandleReplay::seek`).
    pub fn seek(&self, t_ms: i64) {
        let mut s = self.lock();
        let State { engine, replay } = &mut *s;
        replay.seek(engine, t_ms);
        engine.drain_events();
    }

    /// The engine's best bid and ask of `symbol`, and its time.
    #[must_use]
    pub fn book_top(&self, symbol: &Symbol) -> (Option<(Price, Price)>, i64) {
        let s = self.lock();
        (s.engine.best_bid_ask(symbol), s.engine.now_ms())
    }

    /// Account `id`'s margin figures at the current marks (what `wallet` derives its rates
    /// from, without them: a backtest's equity samples need only the sums).
    pub fn margin(&self, id: AccountId) -> Result<crate::Margin, SimError> {
        self.lock().engine.margin(id)
    }

    /// Replays up to `t_ms`; returns the events.
    pub fn advance_to(&self, t_ms: i64) -> Vec<SimEvent> {
        let mut s = self.lock();
        let State { engine, replay } = &mut *s;
        replay.advance_to(engine, t_ms);
        engine.drain_events()
    }

    /// Events since the last step or drain (order acks and fills caused by calls).
    pub fn drain_events(&self) -> Vec<SimEvent> {
        self.lock().engine.drain_events()
    }

    /// True when the replay has no candles left.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.lock().replay.is_done()
    }

    /// Runs `f` with the engine (for inspection in tests and reports).
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut MatchingEngine) -> R) -> R {
        f(&mut self.lock().engine)
    }
}

/// One account of a `SimExchange`, as an `Exchange`.
#[derive(Debug, Clone)]
pub struct SimAccount {
    sim: Arc<SimExchange>,
    id: AccountId,
}

impl SimAccount {
    /// The account's id in the engine.
    #[must_use]
    pub fn id(&self) -> AccountId {
        self.id
    }

    fn call<R>(
        &self,
        endpoint: &str,
        f: impl FnOnce(&mut MatchingEngine, AccountId) -> Result<R, SimError>,
    ) -> Result<R, ExchangeError> {
        f(&mut self.sim.lock().engine, self.id).map_err(|e| e.into_exchange_error(endpoint))
    }
}

fn not_modified_is_ok(r: Result<(), SimError>) -> Result<(), SimError> {
    match r {
        Err(e) if matches!(e.code, 110_043 | 110_025) => Ok(()),
        other => other,
    }
}

impl Exchange for SimAccount {
    fn server_time(&self) -> Result<i64, ExchangeError> {
        Ok(self.sim.lock().engine.now_ms())
    }

    fn instruments(&self) -> Result<Vec<Instrument>, ExchangeError> {
        Ok(self.sim.lock().engine.instruments().cloned().collect())
    }

    fn instrument(&self, symbol: &Symbol) -> Result<Instrument, ExchangeError> {
        self.call("/v5/market/instruments-info", |e, _| e.instrument(symbol).cloned())
    }

    fn ticker(&self, symbol: &Symbol) -> Result<Ticker, ExchangeError> {
        self.call("/v5/market/tickers", |e, _| {
            let last = e.mark(symbol).ok_or_else(|| SimError::params(format!("no price yet for {symbol}")))?;
            let book = e.best_bid_ask(symbol);
            let level = |p| gridbot_core::BookLevel { price: p, qty: e.config().level_qty };
            Ok(Ticker {
                symbol: symbol.clone(),
                last_price: last,
                mark_price: last,
                index_price: Some(last),
                bid: book.map(|(b, _)| level(b)),
                ask: book.map(|(_, a)| level(a)),
                funding_rate: e.config().funding_rate_at(symbol, e.now_ms()),
                next_funding_time_ms: (e.now_ms().div_euclid(e.config().funding_interval_ms) + 1)
                    * e.config().funding_interval_ms,
                time_ms: e.now_ms(),
            })
        })
    }

    fn klines(&self, query: &KlineQuery) -> Result<Vec<Candle>, ExchangeError> {
        // The history replayed so far, resampled, as the REST server serves it: a backtest
        // locks its plan from the same daily candles live trading would read.
        let s = self.sim.lock();
        let endpoint = "/v5/market/kline";
        s.engine.instrument(&query.symbol).map_err(|e| e.into_exchange_error(endpoint))?;
        let candles = gridbot_data::resample(s.replay.replayed(&query.symbol), query.interval)
            .map_err(|e| SimError::new(10_016, e.to_string()).into_exchange_error(endpoint))?;
        Ok(candles
            .into_iter()
            .filter(|c| c.open_time_ms >= query.window.start_ms && c.open_time_ms <= query.window.end_ms)
            .collect())
    }

    fn orderbook_top(&self, symbol: &Symbol) -> Result<OrderBookTop, ExchangeError> {
        self.call("/v5/market/orderbook", |e, _| {
            e.instrument(symbol)?;
            let book = e.best_bid_ask(symbol);
            let qty: Qty = e.config().level_qty;
            Ok(OrderBookTop {
                symbol: symbol.clone(),
                bid: book.map(|(b, _)| gridbot_core::BookLevel { price: b, qty }),
                ask: book.map(|(_, a)| gridbot_core::BookLevel { price: a, qty }),
                time_ms: e.now_ms(),
            })
        })
    }

    fn place(&self, order: &OrderRequest) -> Result<OrderAck, ExchangeError> {
        self.call("/v5/order/create", |e, id| e.place(id, order))
    }

    fn cancel(&self, symbol: &Symbol, order: &OrderRef) -> Result<OrderAck, ExchangeError> {
        self.call("/v5/order/cancel", |e, id| e.cancel(id, symbol, order))
    }

    fn cancel_all(&self, symbol: &Symbol) -> Result<Vec<OrderAck>, ExchangeError> {
        self.call("/v5/order/cancel-all", |e, id| e.cancel_all(id, symbol))
    }

    fn open_orders(&self, symbol: &Symbol) -> Result<Vec<Order>, ExchangeError> {
        self.call("/v5/order/realtime", |e, id| {
            e.instrument(symbol)?;
            Ok(e.open_orders(id, symbol))
        })
    }

    fn order_history(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Order>, ExchangeError> {
        self.call("/v5/order/history", |e, id| Ok(e.order_history(id, symbol, window.start_ms, window.end_ms)))
    }

    fn executions(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Execution>, ExchangeError> {
        self.call("/v5/execution/list", |e, id| Ok(e.executions(id, symbol, window.start_ms, window.end_ms)))
    }

    fn positions(&self, symbol: &Symbol) -> Result<Vec<Position>, ExchangeError> {
        self.call("/v5/position/list", |e, id| e.positions(id, symbol))
    }

    fn wallet(&self) -> Result<Wallet, ExchangeError> {
        self.call("/v5/account/wallet-balance", |e, id| e.wallet(id))
    }

    fn set_leverage(&self, symbol: &Symbol, buy: Decimal, sell: Decimal) -> Result<(), ExchangeError> {
        self.call("/v5/position/set-leverage", |e, id| not_modified_is_ok(e.set_leverage(id, symbol, buy, sell)))
    }

    fn set_position_mode(&self, symbol: &Symbol, mode: PositionMode) -> Result<(), ExchangeError> {
        self.call("/v5/position/switch-mode", |e, id| not_modified_is_ok(e.switch_mode(id, symbol, mode)))
    }

    /// The configured rate at every funding time in the window that the replay has reached.
    fn funding_history(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<FundingRate>, ExchangeError> {
        self.call("/v5/market/funding/history", |e, _| {
            e.instrument(symbol)?;
            let interval = e.config().funding_interval_ms.max(1);
            let end = window.end_ms.min(e.now_ms());
            let mut t = (window.start_ms.div_euclid(interval) + i64::from(window.start_ms.rem_euclid(interval) != 0))
                * interval;
            let mut out = Vec::new();
            while t <= end {
                out.push(FundingRate {
                    symbol: symbol.clone(),
                    rate: e.config().funding_rate_at(symbol, t),
                    time_ms: t,
                });
                t += interval;
            }
            Ok(out)
        })
    }
}
