//! The domain layer: wire structs → gridbot-core types. Every failure names the endpoint and
//! the field, so a changed or broken reply is a typed [`DecodeError`], never a panic or a
//! silently wrong number.
//!
//! Conventions Bybit uses and this module encodes:
//! - an absent price is `""` or `"0"` (`avgPrice` before a fill, `liqPrice` when flat,
//!   `price` of a market order) → `None`;
//! - timestamps in lists are decimal strings of milliseconds;
//! - `side` is `""` for a flat position → `None`.

use gridbot_core::{
    BookLevel, CancelType, Candle, CoinBalance, Decimal, ExecType, Execution, FundingRate, Instrument, InstrumentSpec,
    Order, OrderAck, OrderBookTop, OrderStatus, OrderType, Position, PositionIdx, PositionStatus, Price, PublicTrade,
    Qty, RejectReason, Side, Symbol, Ticker, TimeInForce, Wallet,
};

use crate::wire::{self, DecodeError};

/// The domain decoder for one endpoint (or WebSocket topic): its methods turn wire structs
/// into gridbot-core types and name the endpoint and field in every error.
pub struct Fields<'a> {
    endpoint: &'a str,
}

impl<'a> Fields<'a> {
    /// A decoder whose errors name `endpoint`.
    #[must_use]
    pub fn new(endpoint: &'a str) -> Self {
        Self { endpoint }
    }

    fn err(&self, field: &str, text: &str, expected: &str) -> DecodeError {
        let shown: String = text.chars().take(40).collect();
        DecodeError::new(self.endpoint, format!("field {field}: expected {expected}, got {shown:?}"))
    }

    fn decimal(&self, field: &str, text: &str) -> Result<Decimal, DecodeError> {
        text.parse::<Decimal>().map_err(|_| self.err(field, text, "a decimal string"))
    }

    /// `""` counts as zero (Bybit omits zero amounts in some rows).
    fn amount(&self, field: &str, text: &str) -> Result<Decimal, DecodeError> {
        if text.is_empty() { Ok(Decimal::ZERO) } else { self.decimal(field, text) }
    }

    fn price(&self, field: &str, text: &str) -> Result<Price, DecodeError> {
        text.parse::<Price>().map_err(|_| self.err(field, text, "a non-negative price"))
    }

    fn opt_price(&self, field: &str, text: &str) -> Result<Option<Price>, DecodeError> {
        if text.is_empty() {
            return Ok(None);
        }
        let p = self.price(field, text)?;
        Ok((!p.is_zero()).then_some(p))
    }

    fn qty(&self, field: &str, text: &str) -> Result<Qty, DecodeError> {
        if text.is_empty() {
            return Ok(Qty::ZERO);
        }
        text.parse::<Qty>().map_err(|_| self.err(field, text, "a non-negative quantity"))
    }

    fn millis(&self, field: &str, text: &str) -> Result<i64, DecodeError> {
        if text.is_empty() {
            return Ok(0);
        }
        text.parse::<i64>().map_err(|_| self.err(field, text, "integer milliseconds"))
    }

    fn symbol(&self, text: &str) -> Result<Symbol, DecodeError> {
        Symbol::new(text).map_err(|_| self.err("symbol", text, "a symbol"))
    }

    fn closed<T: std::str::FromStr>(&self, field: &str, text: &str) -> Result<T, DecodeError> {
        text.parse::<T>().map_err(|_| self.err(field, text, "a documented value"))
    }

    fn position_idx(&self, value: i64) -> Result<PositionIdx, DecodeError> {
        PositionIdx::try_from(value).map_err(|_| self.err("positionIdx", &value.to_string(), "0, 1 or 2"))
    }

    /// A row of `/v5/market/kline`.
    pub fn kline(&self, row: &[String]) -> Result<Candle, DecodeError> {
        let [start, open, high, low, close, volume, ..] = row else {
            return Err(DecodeError::new(self.endpoint, format!("kline row has {} fields, expected 7", row.len())));
        };
        Ok(Candle {
            open_time_ms: self.millis("start", start)?,
            open: self.price("open", open)?,
            high: self.price("high", high)?,
            low: self.price("low", low)?,
            close: self.price("close", close)?,
            volume: self.qty("volume", volume)?,
        })
    }

    fn book_level(&self, side: &str, price: &str, qty: &str) -> Result<Option<BookLevel>, DecodeError> {
        if price.is_empty() {
            return Ok(None);
        }
        let price = self.price(side, price)?;
        if price.is_zero() {
            return Ok(None);
        }
        Ok(Some(BookLevel { price, qty: self.qty(side, qty)? }))
    }

    /// A linear ticker.
    pub fn ticker(&self, t: &wire::market::Ticker, time_ms: i64) -> Result<Ticker, DecodeError> {
        Ok(Ticker {
            symbol: self.symbol(&t.symbol)?,
            last_price: self.price("lastPrice", &t.last_price)?,
            mark_price: self.price("markPrice", &t.mark_price)?,
            index_price: self.opt_price("indexPrice", &t.index_price)?,
            bid: self.book_level("bid1Price", &t.bid1_price, &t.bid1_size)?,
            ask: self.book_level("ask1Price", &t.ask1_price, &t.ask1_size)?,
            funding_rate: self.amount("fundingRate", &t.funding_rate)?,
            next_funding_time_ms: self.millis("nextFundingTime", &t.next_funding_time)?,
            time_ms,
        })
    }

    /// An instrument's filters.
    pub fn instrument(&self, i: &wire::market::Instrument) -> Result<Instrument, DecodeError> {
        let spec = InstrumentSpec {
            symbol: self.symbol(&i.symbol)?,
            tick_size: self.decimal("priceFilter.tickSize", &i.price_filter.tick_size)?,
            min_price: self.price("priceFilter.minPrice", &i.price_filter.min_price)?,
            max_price: self.price("priceFilter.maxPrice", &i.price_filter.max_price)?,
            qty_step: self.decimal("lotSizeFilter.qtyStep", &i.lot_size_filter.qty_step)?,
            min_order_qty: self.qty("lotSizeFilter.minOrderQty", &i.lot_size_filter.min_order_qty)?,
            max_order_qty: self.qty("lotSizeFilter.maxOrderQty", &i.lot_size_filter.max_order_qty)?,
            max_market_qty: self.qty("lotSizeFilter.maxMktOrderQty", &i.lot_size_filter.max_mkt_order_qty)?,
            min_notional: self.amount("lotSizeFilter.minNotionalValue", &i.lot_size_filter.min_notional_value)?,
            min_leverage: self.decimal("leverageFilter.minLeverage", &i.leverage_filter.min_leverage)?,
            max_leverage: self.decimal("leverageFilter.maxLeverage", &i.leverage_filter.max_leverage)?,
            leverage_step: self.decimal("leverageFilter.leverageStep", &i.leverage_filter.leverage_step)?,
            funding_interval_minutes: u32::try_from(i.funding_interval)
                .map_err(|_| self.err("fundingInterval", &i.funding_interval.to_string(), "minutes"))?,
        };
        Instrument::try_from(spec).map_err(|e| DecodeError::new(self.endpoint, e.to_string()))
    }

    /// The best levels of an order book reply.
    pub fn book_top(&self, b: &wire::market::Orderbook) -> Result<OrderBookTop, DecodeError> {
        let level = |side: &str, levels: &[[String; 2]]| match levels.first() {
            Some([p, q]) => self.book_level(side, p, q),
            None => Ok(None),
        };
        Ok(OrderBookTop { symbol: self.symbol(&b.s)?, bid: level("b", &b.b)?, ask: level("a", &b.a)?, time_ms: b.ts })
    }

    /// A funding history row.
    pub fn funding(&self, f: &wire::market::FundingRate) -> Result<FundingRate, DecodeError> {
        Ok(FundingRate {
            symbol: self.symbol(&f.symbol)?,
            rate: self.decimal("fundingRate", &f.funding_rate)?,
            time_ms: self.millis("fundingRateTimestamp", &f.funding_rate_timestamp)?,
        })
    }

    /// A recent public trade.
    pub fn recent_trade(&self, t: &wire::market::RecentTrade) -> Result<PublicTrade, DecodeError> {
        Ok(PublicTrade {
            symbol: self.symbol(&t.symbol)?,
            trade_id: t.exec_id.clone(),
            price: self.price("price", &t.price)?,
            qty: self.qty("size", &t.size)?,
            taker_side: self.closed::<Side>("side", &t.side)?,
            time_ms: self.millis("time", &t.time)?,
        })
    }

    /// A create/cancel acknowledgement.
    pub fn ack(&self, ids: &wire::trade::OrderIds) -> OrderAck {
        OrderAck { order_id: ids.order_id.clone(), order_link_id: ids.order_link_id.clone() }
    }

    /// An order.
    pub fn order(&self, o: &wire::trade::Order) -> Result<Order, DecodeError> {
        let order_type: OrderType = self.closed("orderType", &o.order_type)?;
        Ok(Order {
            order_id: o.order_id.clone(),
            order_link_id: o.order_link_id.clone(),
            symbol: self.symbol(&o.symbol)?,
            side: self.closed::<Side>("side", &o.side)?,
            order_type,
            price: if order_type == OrderType::Market { None } else { self.opt_price("price", &o.price)? },
            qty: self.qty("qty", &o.qty)?,
            time_in_force: self.closed::<TimeInForce>("timeInForce", &o.time_in_force)?,
            position_idx: self.position_idx(o.position_idx)?,
            status: self.closed::<OrderStatus>("orderStatus", &o.order_status)?,
            cancel_type: CancelType::from(o.cancel_type.as_str()),
            reject_reason: RejectReason::from(o.reject_reason.as_str()),
            avg_price: self.opt_price("avgPrice", &o.avg_price)?,
            leaves_qty: self.qty("leavesQty", &o.leaves_qty)?,
            cum_exec_qty: self.qty("cumExecQty", &o.cum_exec_qty)?,
            cum_exec_value: self.amount("cumExecValue", &o.cum_exec_value)?,
            cum_exec_fee: self.amount("cumExecFee", &o.cum_exec_fee)?,
            reduce_only: o.reduce_only,
            created_time_ms: self.millis("createdTime", &o.created_time)?,
            updated_time_ms: self.millis("updatedTime", &o.updated_time)?,
        })
    }

    /// An execution (fill or funding).
    pub fn execution(&self, e: &wire::trade::Execution) -> Result<Execution, DecodeError> {
        if e.exec_id.is_empty() {
            return Err(self.err("execId", "", "a non-empty id"));
        }
        Ok(Execution {
            exec_id: e.exec_id.clone(),
            order_id: e.order_id.clone(),
            order_link_id: e.order_link_id.clone(),
            symbol: self.symbol(&e.symbol)?,
            side: self.closed::<Side>("side", &e.side)?,
            exec_type: ExecType::from(e.exec_type.as_str()),
            order_type: if e.order_type.is_empty() {
                OrderType::Unknown
            } else {
                self.closed("orderType", &e.order_type)?
            },
            exec_price: self.price("execPrice", &e.exec_price)?,
            exec_qty: self.qty("execQty", &e.exec_qty)?,
            exec_value: self.amount("execValue", &e.exec_value)?,
            exec_fee: self.amount("execFee", &e.exec_fee)?,
            fee_rate: self.amount("feeRate", &e.fee_rate)?,
            is_maker: e.is_maker,
            closed_size: self.qty("closedSize", &e.closed_size)?,
            exec_time_ms: self.millis("execTime", &e.exec_time)?,
        })
    }

    /// A position row (REST `avgPrice` or WebSocket `entryPrice`).
    pub fn position(&self, p: &wire::account::Position) -> Result<Position, DecodeError> {
        let entry = if p.avg_price.is_empty() { &p.entry_price } else { &p.avg_price };
        Ok(Position {
            symbol: self.symbol(&p.symbol)?,
            position_idx: self.position_idx(p.position_idx)?,
            side: if p.side.is_empty() || p.side == "None" {
                None
            } else {
                Some(self.closed::<Side>("side", &p.side)?)
            },
            size: self.qty("size", &p.size)?,
            avg_price: self.opt_price("avgPrice", entry)?,
            position_value: self.amount("positionValue", &p.position_value)?,
            leverage: self.amount("leverage", &p.leverage)?,
            mark_price: self.opt_price("markPrice", &p.mark_price)?,
            liq_price: self.opt_price("liqPrice", &p.liq_price)?,
            unrealised_pnl: self.amount("unrealisedPnl", &p.unrealised_pnl)?,
            cum_realised_pnl: self.amount("cumRealisedPnl", &p.cum_realised_pnl)?,
            position_im: self.amount("positionIM", &p.position_im)?,
            position_mm: self.amount("positionMM", &p.position_mm)?,
            status: if p.position_status.is_empty() {
                PositionStatus::Normal
            } else {
                PositionStatus::from(p.position_status.as_str())
            },
            updated_time_ms: self.millis("updatedTime", &p.updated_time)?,
        })
    }

    /// A UNIFIED wallet account.
    pub fn wallet(&self, w: &wire::account::WalletAccount) -> Result<Wallet, DecodeError> {
        let coins = w
            .coin
            .iter()
            .map(|c| {
                Ok(CoinBalance {
                    coin: c.coin.clone(),
                    equity: self.amount("coin.equity", &c.equity)?,
                    wallet_balance: self.amount("coin.walletBalance", &c.wallet_balance)?,
                    unrealised_pnl: self.amount("coin.unrealisedPnl", &c.unrealised_pnl)?,
                    cum_realised_pnl: self.amount("coin.cumRealisedPnl", &c.cum_realised_pnl)?,
                    total_order_im: self.amount("coin.totalOrderIM", &c.total_order_im)?,
                    total_position_im: self.amount("coin.totalPositionIM", &c.total_position_im)?,
                    total_position_mm: self.amount("coin.totalPositionMM", &c.total_position_mm)?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        Ok(Wallet {
            total_equity: self.amount("totalEquity", &w.total_equity)?,
            total_wallet_balance: self.amount("totalWalletBalance", &w.total_wallet_balance)?,
            total_margin_balance: self.amount("totalMarginBalance", &w.total_margin_balance)?,
            total_available_balance: self.amount("totalAvailableBalance", &w.total_available_balance)?,
            total_perp_upl: self.amount("totalPerpUPL", &w.total_perp_upl)?,
            total_initial_margin: self.amount("totalInitialMargin", &w.total_initial_margin)?,
            total_maintenance_margin: self.amount("totalMaintenanceMargin", &w.total_maintenance_margin)?,
            account_im_rate: self.amount("accountIMRate", &w.account_im_rate)?,
            account_mm_rate: self.amount("accountMMRate", &w.account_mm_rate)?,
            coins,
        })
    }
}
