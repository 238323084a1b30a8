//! One method per endpoint of `docs/BYBIT.md` §3, returning gridbot-core types.
//! List endpoints follow `nextPageCursor` to the end; order history and executions split any
//! window into the exchange's 7-day windows.

use gridbot_core::{
    Candle, Decimal, Execution, FundingRate, Instrument, Interval, Order, OrderAck, OrderBookTop, OrderRef,
    OrderRequest, Position, PositionIdx, PositionMode, PublicTrade, Symbol, Ticker, TimeWindow, Wallet,
};
use serde::de::DeserializeOwned;

use super::limits::EndpointClass;
use super::{BybitClient, BybitError, Call};
use crate::convert::Fields;
use crate::wire::{self, Page, decode_reply};

/// The longest window `/v5/order/history` and `/v5/execution/list` accept.
pub const HISTORY_WINDOW_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Safety stop for cursor loops.
pub const MAX_PAGES: usize = 10_000;

/// `k=v&k=v` in the order given; values are sent raw (as pybit and ccxt do), so they must be
/// URL-safe: symbols, numbers, enum words and the exchange's own cursors are.
fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = String::with_capacity(64);
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(k);
        q.push('=');
        q.push_str(v);
    }
    q
}

fn result<T: DeserializeOwned>(endpoint: &str, body: &str) -> Result<T, BybitError> {
    decode_reply::<T>(endpoint, body)?
        .result
        .ok_or_else(|| wire::DecodeError::new(endpoint, "retCode 0 without a result").into())
}

/// Bybit keeps order and execution history for two years; older windows return nothing.
pub const HISTORY_LIMIT_MS: i64 = 730 * 24 * 60 * 60 * 1_000;

/// Splits `[start, end]` into consecutive windows of at most 7 days, newest two years only
/// (a window reaching further back is cut: Bybit has nothing older, and an unbounded window
/// must not turn into millions of requests).
#[must_use]
pub fn seven_day_windows(window: TimeWindow) -> Vec<TimeWindow> {
    let mut out = Vec::new();
    let mut start = window.start_ms.max(window.end_ms.saturating_sub(HISTORY_LIMIT_MS));
    while start <= window.end_ms {
        let end = start.saturating_add(HISTORY_WINDOW_MS - 1).min(window.end_ms);
        out.push(TimeWindow { start_ms: start, end_ms: end });
        if end == i64::MAX {
            break;
        }
        start = end + 1;
    }
    out
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    category: &'static str,
    symbol: &'a str,
    side: &'static str,
    order_type: &'static str,
    qty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    time_in_force: &'static str,
    position_idx: i64,
    order_link_id: &'a str,
    reduce_only: bool,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderRefBody<'a> {
    category: &'static str,
    symbol: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_link_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qty: Option<String>,
}

impl<'a> OrderRefBody<'a> {
    fn new(symbol: &'a Symbol, order: &'a OrderRef) -> Self {
        let (order_id, order_link_id) = match order {
            OrderRef::OrderId(id) => (Some(id.as_str()), None),
            OrderRef::LinkId(link) => (None, Some(link.as_str())),
        };
        Self { category: "linear", symbol: symbol.as_str(), order_id, order_link_id, price: None, qty: None }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain structs of strings, numbers and booleans cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

impl BybitClient {
    /// Follows cursors until the last page.
    fn paged<T: DeserializeOwned>(
        &self,
        path: &'static str,
        base: &[(&str, &str)],
        signed: bool,
        class: EndpointClass,
    ) -> Result<Vec<T>, BybitError> {
        let mut items = Vec::new();
        let mut cursor = String::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            if !seen.insert(cursor.clone()) {
                // A cursor loop (A → B → A): the server would page forever.
                let detail = format!("cursor {cursor:?} came back after {} pages", seen.len());
                return Err(BybitError::NoProgress { endpoint: path, detail });
            }
            let mut pairs: Vec<(&str, &str)> = base.to_vec();
            pairs.push(("cursor", &cursor));
            let body = self.send(&Call::get(path, query(&pairs), signed, class))?;
            let page: Page<T> = result(path, &body)?;
            let empty = page.list.is_empty();
            items.extend(page.list);
            if page.next_page_cursor.is_empty() || empty || page.next_page_cursor == cursor {
                return Ok(items);
            }
            cursor = page.next_page_cursor;
        }
        Err(BybitError::TooManyPages { endpoint: path, pages: MAX_PAGES })
    }

    pub(super) fn server_time_raw(&self) -> Result<i64, BybitError> {
        const PATH: &str = "/v5/market/time";
        let body = self.send(&Call::get(PATH, String::new(), false, EndpointClass::Public))?;
        let t: wire::market::ServerTime = result(PATH, &body)?;
        let nanos: i128 =
            t.time_nano.parse().map_err(|_| wire::DecodeError::new(PATH, "timeNano is not an integer"))?;
        i64::try_from(nanos / 1_000_000).map_err(|_| wire::DecodeError::new(PATH, "timeNano out of range").into())
    }

    /// `GET /v5/market/time`, in ms.
    pub fn server_time(&self) -> Result<i64, BybitError> {
        self.server_time_raw()
    }

    /// `GET /v5/market/instruments-info` (status Trading), every page.
    pub fn instruments(&self, symbol: Option<&Symbol>) -> Result<Vec<Instrument>, BybitError> {
        const PATH: &str = "/v5/market/instruments-info";
        let symbol = symbol.map_or("", Symbol::as_str);
        let rows: Vec<wire::market::Instrument> = self.paged(
            PATH,
            &[("category", "linear"), ("limit", "1000"), ("symbol", symbol)],
            false,
            EndpointClass::Public,
        )?;
        let f = Fields::new(PATH);
        rows.iter().map(|r| f.instrument(r).map_err(BybitError::from)).collect()
    }

    /// `GET /v5/market/tickers` for one symbol.
    pub fn ticker(&self, symbol: &Symbol) -> Result<Ticker, BybitError> {
        const PATH: &str = "/v5/market/tickers";
        let body = self.send(&Call::get(
            PATH,
            query(&[("category", "linear"), ("symbol", symbol.as_str())]),
            false,
            EndpointClass::Public,
        ))?;
        let page: Page<wire::market::Ticker> = result(PATH, &body)?;
        let row = page.list.first().ok_or_else(|| wire::DecodeError::new(PATH, format!("no ticker for {symbol}")))?;
        Ok(Fields::new(PATH).ticker(row, self.now_ms())?)
    }

    /// `GET /v5/market/kline`: one page (at most `limit` ≤ 1000 candles ending at `end_ms`),
    /// oldest first.
    pub fn klines_page(
        &self,
        symbol: &Symbol,
        interval: Interval,
        start_ms: i64,
        end_ms: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, BybitError> {
        const PATH: &str = "/v5/market/kline";
        let (start, end, limit) = (start_ms.to_string(), end_ms.to_string(), limit.clamp(1, 1000).to_string());
        let q = query(&[
            ("category", "linear"),
            ("end", &end),
            ("interval", interval.as_bybit()),
            ("limit", &limit),
            ("start", &start),
            ("symbol", symbol.as_str()),
        ]);
        let body = self.send(&Call::get(PATH, q, false, EndpointClass::Public))?;
        let k: wire::market::Klines = result(PATH, &body)?;
        let f = Fields::new(PATH);
        let mut candles = k.list.iter().map(|r| f.kline(r)).collect::<Result<Vec<_>, _>>()?;
        candles.reverse();
        Ok(candles)
    }

    /// `GET /v5/market/orderbook` (top of book).
    pub fn orderbook_top(&self, symbol: &Symbol) -> Result<OrderBookTop, BybitError> {
        const PATH: &str = "/v5/market/orderbook";
        let q = query(&[("category", "linear"), ("limit", "1"), ("symbol", symbol.as_str())]);
        let body = self.send(&Call::get(PATH, q, false, EndpointClass::Public))?;
        let book: wire::market::Orderbook = result(PATH, &body)?;
        Ok(Fields::new(PATH).book_top(&book)?)
    }

    /// `GET /v5/market/recent-trade`.
    pub fn recent_trades(&self, symbol: &Symbol, limit: u32) -> Result<Vec<PublicTrade>, BybitError> {
        const PATH: &str = "/v5/market/recent-trade";
        let limit = limit.clamp(1, 1000).to_string();
        let q = query(&[("category", "linear"), ("limit", &limit), ("symbol", symbol.as_str())]);
        let body = self.send(&Call::get(PATH, q, false, EndpointClass::Public))?;
        let page: Page<wire::market::RecentTrade> = result(PATH, &body)?;
        let f = Fields::new(PATH);
        Ok(page.list.iter().map(|t| f.recent_trade(t)).collect::<Result<_, _>>()?)
    }

    /// `GET /v5/market/funding/history`: at most 200 rows ending at `end_ms`, newest first.
    pub fn funding_page(&self, symbol: &Symbol, start_ms: i64, end_ms: i64) -> Result<Vec<FundingRate>, BybitError> {
        const PATH: &str = "/v5/market/funding/history";
        let (start, end) = (start_ms.to_string(), end_ms.to_string());
        let q = query(&[
            ("category", "linear"),
            ("endTime", &end),
            ("limit", "200"),
            ("startTime", &start),
            ("symbol", symbol.as_str()),
        ]);
        let body = self.send(&Call::get(PATH, q, false, EndpointClass::Public))?;
        let page: Page<wire::market::FundingRate> = result(PATH, &body)?;
        let f = Fields::new(PATH);
        Ok(page.list.iter().map(|r| f.funding(r)).collect::<Result<_, _>>()?)
    }

    /// `POST /v5/order/create`. The body is compact JSON and is signed byte for byte.
    pub fn create_order(&self, order: &OrderRequest) -> Result<OrderAck, BybitError> {
        const PATH: &str = "/v5/order/create";
        let body = json(&CreateBody {
            category: "linear",
            symbol: order.symbol.as_str(),
            side: order.side.as_str(),
            order_type: order.order_type.as_str(),
            qty: order.qty.to_string(),
            price: order.price.map(|p| p.to_string()),
            time_in_force: order.time_in_force.as_str(),
            position_idx: order.position_idx.as_i64(),
            order_link_id: order.order_link_id.as_str(),
            reduce_only: order.reduce_only,
        });
        let reply = self.send(&Call::post(PATH, body, EndpointClass::Orders))?;
        let ids: wire::trade::OrderIds = result(PATH, &reply)?;
        Ok(Fields::new(PATH).ack(&ids))
    }

    /// `POST /v5/order/amend`. Exists for completeness; the bot never amends (cancel + place).
    pub fn amend_order(
        &self,
        symbol: &Symbol,
        order: &OrderRef,
        price: Option<gridbot_core::Price>,
        qty: Option<gridbot_core::Qty>,
    ) -> Result<OrderAck, BybitError> {
        const PATH: &str = "/v5/order/amend";
        let mut b = OrderRefBody::new(symbol, order);
        b.price = price.map(|p| p.to_string());
        b.qty = qty.map(|q| q.to_string());
        let reply = self.send(&Call::post(PATH, json(&b), EndpointClass::Orders))?;
        let ids: wire::trade::OrderIds = result(PATH, &reply)?;
        Ok(Fields::new(PATH).ack(&ids))
    }

    /// `POST /v5/order/cancel`.
    pub fn cancel_order(&self, symbol: &Symbol, order: &OrderRef) -> Result<OrderAck, BybitError> {
        const PATH: &str = "/v5/order/cancel";
        let reply = self.send(&Call::post(PATH, json(&OrderRefBody::new(symbol, order)), EndpointClass::Orders))?;
        let ids: wire::trade::OrderIds = result(PATH, &reply)?;
        Ok(Fields::new(PATH).ack(&ids))
    }

    /// `POST /v5/order/cancel-all` for one symbol.
    pub fn cancel_all_orders(&self, symbol: &Symbol) -> Result<Vec<OrderAck>, BybitError> {
        const PATH: &str = "/v5/order/cancel-all";
        #[derive(serde::Serialize)]
        struct Body<'a> {
            category: &'static str,
            symbol: &'a str,
        }
        let reply = self.send(&Call::post(
            PATH,
            json(&Body { category: "linear", symbol: symbol.as_str() }),
            EndpointClass::Orders,
        ))?;
        let all: wire::trade::CancelAll = result(PATH, &reply)?;
        let f = Fields::new(PATH);
        Ok(all.list.iter().map(|ids| f.ack(ids)).collect())
    }

    /// `GET /v5/order/realtime`: open orders of the symbol, every page.
    pub fn open_orders(&self, symbol: &Symbol) -> Result<Vec<Order>, BybitError> {
        const PATH: &str = "/v5/order/realtime";
        let rows: Vec<wire::trade::Order> = self.paged(
            PATH,
            &[("category", "linear"), ("limit", "50"), ("symbol", symbol.as_str())],
            true,
            EndpointClass::Queries,
        )?;
        let f = Fields::new(PATH);
        Ok(rows.iter().map(|o| f.order(o)).collect::<Result<_, _>>()?)
    }

    /// `GET /v5/order/history` without a window: Bybit's default, the last 7 days; every page.
    pub fn order_history_recent(&self, symbol: &Symbol) -> Result<Vec<Order>, BybitError> {
        const PATH: &str = "/v5/order/history";
        let rows: Vec<wire::trade::Order> = self.paged(
            PATH,
            &[("category", "linear"), ("limit", "50"), ("symbol", symbol.as_str())],
            true,
            EndpointClass::Queries,
        )?;
        let f = Fields::new(PATH);
        Ok(rows.iter().map(|o| f.order(o)).collect::<Result<_, _>>()?)
    }

    /// Every page of every 7-day window of `window` (history and executions cap a window at
    /// 7 days).
    fn windowed<T: DeserializeOwned>(
        &self,
        path: &'static str,
        symbol: &Symbol,
        window: TimeWindow,
        limit: &str,
    ) -> Result<Vec<T>, BybitError> {
        let mut out = Vec::new();
        for w in seven_day_windows(window) {
            let (start, end) = (w.start_ms.to_string(), w.end_ms.to_string());
            out.extend(self.paged::<T>(
                path,
                &[
                    ("category", "linear"),
                    ("endTime", &end),
                    ("limit", limit),
                    ("startTime", &start),
                    ("symbol", symbol.as_str()),
                ],
                true,
                EndpointClass::Queries,
            )?);
        }
        Ok(out)
    }

    /// `GET /v5/order/history` over any window: 7-day windows, every page of each.
    pub fn order_history(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Order>, BybitError> {
        const PATH: &str = "/v5/order/history";
        let rows: Vec<wire::trade::Order> = self.windowed(PATH, symbol, window, "50")?;
        let f = Fields::new(PATH);
        Ok(rows.iter().map(|o| f.order(o)).collect::<Result<_, _>>()?)
    }

    /// `GET /v5/execution/list` over any window: 7-day windows, every page of each.
    pub fn executions(&self, symbol: &Symbol, window: TimeWindow) -> Result<Vec<Execution>, BybitError> {
        const PATH: &str = "/v5/execution/list";
        let rows: Vec<wire::trade::Execution> = self.windowed(PATH, symbol, window, "100")?;
        let f = Fields::new(PATH);
        Ok(rows.iter().map(|e| f.execution(e)).collect::<Result<_, _>>()?)
    }

    /// `GET /v5/position/list` for one symbol (flat rows included), every page.
    pub fn positions(&self, symbol: &Symbol) -> Result<Vec<Position>, BybitError> {
        const PATH: &str = "/v5/position/list";
        let rows: Vec<wire::account::Position> = self.paged(
            PATH,
            &[("category", "linear"), ("limit", "200"), ("symbol", symbol.as_str())],
            true,
            EndpointClass::Queries,
        )?;
        let f = Fields::new(PATH);
        Ok(rows.iter().map(|p| f.position(p)).collect::<Result<_, _>>()?)
    }

    /// `POST /v5/position/set-leverage` (110043 "not modified" is success).
    pub fn set_leverage(&self, symbol: &Symbol, buy: Decimal, sell: Decimal) -> Result<(), BybitError> {
        const PATH: &str = "/v5/position/set-leverage";
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            category: &'static str,
            symbol: &'a str,
            buy_leverage: String,
            sell_leverage: String,
        }
        let body = json(&Body {
            category: "linear",
            symbol: symbol.as_str(),
            buy_leverage: buy.normalize().to_string(),
            sell_leverage: sell.normalize().to_string(),
        });
        self.send(&Call::post(PATH, body, EndpointClass::Orders)).map(drop)
    }

    /// `POST /v5/position/switch-mode` (110025 "not modified" is success).
    pub fn switch_mode(&self, symbol: &Symbol, mode: PositionMode) -> Result<(), BybitError> {
        const PATH: &str = "/v5/position/switch-mode";
        #[derive(serde::Serialize)]
        struct Body<'a> {
            category: &'static str,
            symbol: &'a str,
            mode: i64,
        }
        let body = json(&Body { category: "linear", symbol: symbol.as_str(), mode: mode.as_i64() });
        self.send(&Call::post(PATH, body, EndpointClass::Orders)).map(drop)
    }

    /// `POST /v5/position/trading-stop`: sets (or with `"0"` clears) a position's TP/SL
    /// (34040 "not modified" is success).
    pub fn trading_stop(
        &self,
        symbol: &Symbol,
        position_idx: PositionIdx,
        take_profit: Option<gridbot_core::Price>,
        stop_loss: Option<gridbot_core::Price>,
    ) -> Result<(), BybitError> {
        const PATH: &str = "/v5/position/trading-stop";
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            category: &'static str,
            symbol: &'a str,
            tpsl_mode: &'static str,
            position_idx: i64,
            take_profit: String,
            stop_loss: String,
        }
        let text = |p: Option<gridbot_core::Price>| p.map_or_else(|| "0".to_owned(), |p| p.to_string());
        let body = json(&Body {
            category: "linear",
            symbol: symbol.as_str(),
            tpsl_mode: "Full",
            position_idx: position_idx.as_i64(),
            take_profit: text(take_profit),
            stop_loss: text(stop_loss),
        });
        self.send(&Call::post(PATH, body, EndpointClass::Orders)).map(drop)
    }

    /// `GET /v5/user/query-api`: what the key may do (for a preflight, never for trading).
    pub fn api_key_info(&self) -> Result<ApiKeyInfo, BybitError> {
        const PATH: &str = "/v5/user/query-api";
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            read_only: i64,
            #[serde(default)]
            permissions: std::collections::BTreeMap<String, Vec<String>>,
            #[serde(default)]
            ips: Vec<String>,
        }
        let body = self.send(&Call::get(PATH, String::new(), true, EndpointClass::Queries))?;
        let raw: Raw = result(PATH, &body)?;
        Ok(ApiKeyInfo { read_only: raw.read_only != 0, permissions: raw.permissions, ips: raw.ips })
    }

    /// `GET /v5/account/wallet-balance?accountType=UNIFIED`.
    pub fn wallet_balance(&self) -> Result<Wallet, BybitError> {
        const PATH: &str = "/v5/account/wallet-balance";
        let body = self.send(&Call::get(PATH, query(&[("accountType", "UNIFIED")]), true, EndpointClass::Queries))?;
        let page: Page<wire::account::WalletAccount> = result(PATH, &body)?;
        let account =
            page.list.first().ok_or_else(|| wire::DecodeError::new(PATH, "no UNIFIED account in the reply"))?;
        Ok(Fields::new(PATH).wallet(account)?)
    }
}

/// What an API key may do, as `/v5/user/query-api` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// A read-only key cannot trade.
    pub read_only: bool,
    /// Permissions by group (`ContractTrade: [Order, Position]`, …).
    pub permissions: std::collections::BTreeMap<String, Vec<String>>,
    /// The IP whitelist (`*`: any).
    pub ips: Vec<String>,
}

impl ApiKeyInfo {
    /// True when the key may place orders and manage positions on derivatives.
    #[must_use]
    pub fn can_trade_contracts(&self) -> bool {
        let granted = self.permissions.get("ContractTrade").map_or(&[][..], Vec::as_slice);
        !self.read_only && ["Order", "Position"].iter().all(|p| granted.iter().any(|g| g == p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_keep_order_and_skip_empty_values() {
        assert_eq!(
            query(&[("category", "linear"), ("cursor", ""), ("symbol", "BTCUSDT")]),
            "category=linear&symbol=BTCUSDT"
        );
        assert_eq!(query(&[]), "");
    }

    #[test]
    fn windows_cover_the_range_in_seven_day_steps() {
        let w = seven_day_windows(TimeWindow { start_ms: 0, end_ms: 3 * HISTORY_WINDOW_MS });
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], TimeWindow { start_ms: 0, end_ms: HISTORY_WINDOW_MS - 1 });
        assert_eq!(w[3], TimeWindow { start_ms: 3 * HISTORY_WINDOW_MS, end_ms: 3 * HISTORY_WINDOW_MS });
        assert!(w.windows(2).all(|p| p[1].start_ms == p[0].end_ms + 1));
        assert!(w.iter().all(|x| x.end_ms - x.start_ms < HISTORY_WINDOW_MS));
        assert!(seven_day_windows(TimeWindow { start_ms: 5, end_ms: 4 }).is_empty());
    }

    #[test]
    fn an_unbounded_window_is_cut_to_the_two_years_bybit_keeps() {
        let w = seven_day_windows(TimeWindow { start_ms: i64::MIN, end_ms: i64::MAX / 4 });
        assert_eq!(w.len(), 105);
        assert_eq!(w.last().map(|x| x.end_ms), Some(i64::MAX / 4));
        assert_eq!(w[0].start_ms, i64::MAX / 4 - HISTORY_LIMIT_MS);
    }

    #[test]
    fn create_body_is_compact_camel_case_json() {
        let body = json(&CreateBody {
            category: "linear",
            symbol: "BTCUSDT",
            side: "Buy",
            order_type: "Limit",
            qty: "0.001".into(),
            price: Some("30000".into()),
            time_in_force: "PostOnly",
            position_idx: 1,
            order_link_id: "grid-1",
            reduce_only: false,
        });
        assert_eq!(
            body,
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","timeInForce":"PostOnly","positionIdx":1,"orderLinkId":"grid-1","reduceOnly":false}"#
        );
    }
}
