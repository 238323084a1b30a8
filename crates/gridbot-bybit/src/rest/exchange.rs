//! gridbot-core's `Exchange` over the REST client.

use gridbot_core::{
    Candle, Decimal, Exchange, ExchangeError, Execution, FundingRate, Instrument, KlineQuery, Order, OrderAck,
    OrderBookTop, OrderRef, OrderRequest, Position, PositionMode, Symbol, Ticker, TimeWindow, Wallet,
};

use super::{BybitClient, BybitError};
use crate::wire::DecodeError;

/// The most pages a backwards walk over `window` can need, `per_page` items `step_ms` apart,
/// plus slack for a partial first page.
fn pages_for(window: TimeWindow, step_ms: i64, per_page: i64) -> usize {
    let span = window.end_ms.saturating_sub(window.start_ms).max(0);
    usize::try_from(span / step_ms.max(1) / per_page + 2).unwrap_or(usize::MAX)
}

/// A page that came back with items newer than the end asked for.
fn no_progress(endpoint: &'static str, end_ms: i64, oldest_ms: i64) -> ExchangeError {
    BybitError::NoProgress {
        endpoint,
        detail: format!("asked for items up to {end_ms}, got newer ones (oldest {oldest_ms}): the window is ignored"),
    }
    .into()
}

fn not_found(endpoint: &str, what: String) -> ExchangeError {
    BybitError::Decode(DecodeError::new(endpoint, what)).into()
}

impl Exchange for BybitClient {
    fn server_time(&self) -> Result<i64, ExchangeError> {
        Ok(self.server_time_raw()?)
    }

    fn instruments(&self) -> Result<Vec<Instrument>, ExchangeError> {
        Ok(BybitClient::instruments(self, None)?)
    }

    fn instrument(&self, symbol: &Symbol) -> Result<Instrument, ExchangeError> {
        BybitClient::instruments(self, Some(symbol))?.into_iter().find(|i| i.symbol() == symbol).ok_or_else(|| {
            not_found("/v5/market/instruments-info", format!("{symbol} is not a trading linear instrument"))
        })
    }

    fn ticker(&self, symbol: &Symbol) -> Result<Ticker, ExchangeError> {
        Ok(BybitClient::ticker(self, symbol)?)
    }

    /// Pages backwards from the window's end (1000 candles a page), oldest first. Bounded: each
    /// page must reach further back than the one before, and no more pages are asked than the
    /// window holds (a server that ignores the window gets a clear error, not a request loop).
    fn klines(&self, query: &KlineQuery) -> Result<Vec<Candle>, ExchangeError> {
        const PATH: &str = "/v5/market/kline";
        let mut out: Vec<Candle> = Vec::new();
        let mut end = query.window.end_ms;
        let interval = query.interval.fixed_ms().unwrap_or(28 * gridbot_core::time::DAY_MS);
        let max_pages = pages_for(query.window, interval, 1000);
        for page_no in 0.. {
            if page_no == max_pages {
                return Err(BybitError::TooManyPages { endpoint: PATH, pages: max_pages }.into());
            }
            let page = self.klines_page(&query.symbol, query.interval, query.window.start_ms, end, 1000)?;
            let Some(oldest) = page.first().map(|c| c.open_time_ms) else { break };
            if page.iter().any(|c| c.open_time_ms > end) {
                return Err(no_progress(PATH, end, oldest));
            }
            let full = page.len() == 1000;
            out.extend(page);
            if !full || oldest <= query.window.start_ms {
                break;
            }
            end = oldest - 1;
        }
        out.retain(|c| c.open_time_ms >= query.window.start_ms && c.open_time_ms <= query.window.end_ms);
        out.sort_by_key(|c| c.open_time_ms);
        out.dedup_by_key(|c| c.open_time_ms);
        Ok(out)
    }

    fn orderbook_top(&self, symbol: &Symbol) -> Result<OrderBookTop, ExchangeError> {
        Ok(BybitClient::orderbook_top(self, symbol)?)
    }

    fn place(&self, order: &OrderRequest) -> Result<OrderAck, ExchangeError> {
        Ok(self.create_order(order)?)
    }

    fn cancel(&self, symbol: &Symbol, order: &OrderRef) -> Result<OrderAck, ExchangeError> {
        Ok(self.cancel_order(symbol, order)?)
    }

    fn cancel_all(&self, symbol: &Symbol) -> Result<Vec<OrderAck>, ExchangeError> {
        Ok(self.cancel_all_orders(symbol)?)
    }

    fn open_orders(&self, symbol: &Symbol) -> Result<Vec<Order>, ExchangeError> {
        Ok(BybitClient::open_orders(self, symbol)?)
    }

    fn order_history(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Order>, ExchangeError> {
        Ok(BybitClient::order_history(self, symbol, window)?)
    }

    fn executions(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Execution>, ExchangeError> {
        Ok(BybitClient::executions(self, symbol, window)?)
    }

    fn positions(&self, symbol: &Symbol) -> Result<Vec<Position>, ExchangeError> {
        Ok(BybitClient::positions(self, symbol)?)
    }

    fn wallet(&self) -> Result<Wallet, ExchangeError> {
        Ok(self.wallet_balance()?)
    }

    fn set_leverage(&self, symbol: &Symbol, buy: Decimal, sell: Decimal) -> Result<(), ExchangeError> {
        Ok(BybitClient::set_leverage(self, symbol, buy, sell)?)
    }

    fn set_position_mode(&self, symbol: &Symbol, mode: PositionMode) -> Result<(), ExchangeError> {
        Ok(self.switch_mode(symbol, mode)?)
    }

    /// Pages backwards by `endTime` (the endpoint has no cursor), oldest first; bounded like
    /// [`Self::klines`] (settlements are at least an hour apart).
    fn funding_history(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<FundingRate>, ExchangeError> {
        const PATH: &str = "/v5/market/funding/history";
        let mut out: Vec<FundingRate> = Vec::new();
        let mut end = window.end_ms;
        let max_pages = pages_for(window, gridbot_core::time::HOUR_MS, 200);
        for page_no in 0.. {
            if page_no == max_pages {
                return Err(BybitError::TooManyPages { endpoint: PATH, pages: max_pages }.into());
            }
            let page = self.funding_page(symbol, window.start_ms, end)?;
            let Some(oldest) = page.iter().map(|f| f.time_ms).min() else { break };
            if page.iter().any(|f| f.time_ms > end) {
                return Err(no_progress(PATH, end, oldest));
            }
            let full = page.len() == 200;
            out.extend(page);
            if !full || oldest <= window.start_ms {
                break;
            }
            end = oldest - 1;
        }
        out.retain(|f| f.time_ms >= window.start_ms && f.time_ms <= window.end_ms);
        out.sort_by_key(|f| f.time_ms);
        out.dedup_by_key(|f| f.time_ms);
        Ok(out)
    }
}
