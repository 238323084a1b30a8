//! Core types rendered as Bybit v5 JSON (numbers as strings where Bybit sends strings), and the
//! request parameter reader that accepts what real clients send (strings, numbers, booleans;
//! keys in any order; unknown keys ignored).

use std::collections::BTreeMap;

use gridbot_core::{Execution, Instrument, Order, Position, Price, Wallet};
use serde_json::{Value, json};

use crate::error::SimError;

/// Request parameters from a query string or a JSON body.
#[derive(Debug, Default)]
pub(crate) struct Params(BTreeMap<String, Value>);

impl Params {
    /// From a raw query string (`a=1&b=x`); values are taken raw (clients do not encode them).
    #[must_use]
    pub(crate) fn from_query(query: &str) -> Self {
        let map = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_owned(), Value::String(v.to_owned()))
            })
            .collect();
        Self(map)
    }

    /// From a JSON object body.
    pub(crate) fn from_body(body: &str) -> Result<Self, SimError> {
        if body.trim().is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map.into_iter().collect())),
            Ok(_) => Err(SimError::params("params error: the body must be a JSON object")),
            Err(e) => Err(SimError::params(format!("params error: invalid JSON body: {e}"))),
        }
    }

    /// A parameter as text (numbers and booleans as their JSON text); `None` when absent,
    /// null or empty.
    #[must_use]
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A required parameter.
    pub(crate) fn required(&self, name: &str) -> Result<String, SimError> {
        self.text(name).ok_or_else(|| SimError::params(format!("params error: {name} is required")))
    }

    /// A parameter parsed as `T`, with a 10001 naming it on failure.
    pub(crate) fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, SimError> {
        self.text(name)
            .map(|t| {
                t.parse::<T>().map_err(|_| SimError::params(format!("params error: {name} has an invalid value {t:?}")))
            })
            .transpose()
    }

    /// A boolean (`true`, `false`, `1`, `0`).
    pub(crate) fn flag(&self, name: &str) -> Result<bool, SimError> {
        match self.text(name).as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(SimError::params(format!("params error: {name} must be a boolean, got {other:?}"))),
        }
    }
}

fn s<T: ToString>(v: T) -> Value {
    Value::String(v.to_string())
}

fn opt_price(p: Option<Price>) -> Value {
    p.map_or_else(|| s(""), s)
}

/// An instrument, as `instruments-info` lists it.
#[must_use]
pub(crate) fn instrument(i: &Instrument) -> Value {
    let sp = i.spec();
    let symbol = sp.symbol.as_str();
    let base = symbol.strip_suffix("USDT").unwrap_or(symbol);
    json!({
        "symbol": symbol, "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": base, "quoteCoin": "USDT", "settleCoin": "USDT",
        "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
        "priceScale": sp.tick_size.scale().to_string(),
        "leverageFilter": {"minLeverage": s(sp.min_leverage), "maxLeverage": s(sp.max_leverage), "leverageStep": s(sp.leverage_step)},
        "priceFilter": {"minPrice": s(sp.min_price), "maxPrice": s(sp.max_price), "tickSize": s(sp.tick_size)},
        "lotSizeFilter": {"maxOrderQty": s(sp.max_order_qty), "minOrderQty": s(sp.min_order_qty), "qtyStep": s(sp.qty_step),
            "postOnlyMaxOrderQty": s(sp.max_order_qty), "maxMktOrderQty": s(sp.max_market_qty), "minNotionalValue": s(sp.min_notional.normalize())},
        "unifiedMarginTrade": true, "fundingInterval": sp.funding_interval_minutes, "copyTrading": "both",
        "upperFundingRate": "0.00375", "lowerFundingRate": "-0.00375", "isPreListing": false, "preListingInfo": null,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"}, "symbolType": ""
    })
}

/// An order (REST and the `order` topic).
#[must_use]
pub(crate) fn order(o: &Order) -> Value {
    json!({
        "orderId": o.order_id, "orderLinkId": o.order_link_id, "parentOrderLinkId": "", "blockTradeId": "",
        "symbol": o.symbol.as_str(), "price": o.price.map_or_else(|| s("0"), s), "qty": s(o.qty), "side": o.side.as_str(),
        "isLeverage": "", "positionIdx": o.position_idx.as_i64(), "orderStatus": o.status.as_str(),
        "createType": "CreateByUser", "cancelType": o.cancel_type.as_str(), "rejectReason": o.reject_reason.as_str(),
        "avgPrice": opt_price(o.avg_price), "leavesQty": s(o.leaves_qty),
        "leavesValue": s(o.price.map_or(gridbot_core::Decimal::ZERO, |p| p.as_decimal() * o.leaves_qty.as_decimal()).normalize()),
        "cumExecQty": s(o.cum_exec_qty), "cumExecValue": s(o.cum_exec_value.normalize()), "cumExecFee": s(o.cum_exec_fee.normalize()),
        "timeInForce": o.time_in_force.as_str(), "orderType": o.order_type.as_str(), "stopOrderType": "",
        "orderIv": "", "marketUnit": "", "triggerPrice": "0", "takeProfit": "0", "stopLoss": "0", "tpslMode": "",
        "ocoTriggerBy": "", "tpLimitPrice": "", "slLimitPrice": "", "tpTriggerBy": "", "slTriggerBy": "",
        "triggerDirection": 0, "triggerBy": "", "lastPriceOnCreated": "", "basePrice": "",
        "reduceOnly": o.reduce_only, "closeOnTrigger": false, "placeType": "", "smpType": "None", "smpGroup": 0,
        "smpOrderId": "", "createdTime": o.created_time_ms.to_string(), "updatedTime": o.updated_time_ms.to_string(),
        "cumFeeDetail": {"USDT": s(o.cum_exec_fee.normalize())}
    })
}

/// An execution (REST and the `execution` topic).
#[must_use]
pub(crate) fn execution(e: &Execution) -> Value {
    json!({
        "symbol": e.symbol.as_str(), "orderId": e.order_id, "orderLinkId": e.order_link_id, "side": e.side.as_str(),
        "orderPrice": s(e.exec_price), "orderQty": s(e.exec_qty), "leavesQty": "0", "createType": "CreateByUser",
        "orderType": e.order_type.as_str(), "stopOrderType": "", "execFee": s(e.exec_fee.normalize()), "execId": e.exec_id,
        "execPrice": s(e.exec_price), "execQty": s(e.exec_qty), "execType": e.exec_type.as_str(),
        "execValue": s(e.exec_value.normalize()), "execTime": e.exec_time_ms.to_string(), "feeCurrency": "USDT",
        "isMaker": e.is_maker, "feeRate": s(e.fee_rate.normalize()), "tradeIv": "", "markIv": "", "markPrice": s(e.exec_price),
        "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "closedSize": s(e.closed_size), "seq": 0, "extraFees": ""
    })
}

/// A position row. `ws` writes the entry price as `entryPrice` (the WebSocket name).
#[must_use]
pub(crate) fn position(p: &Position, ws: bool) -> Value {
    let mut v = json!({
        "positionIdx": p.position_idx.as_i64(), "riskId": 1, "riskLimitValue": "2000000", "symbol": p.symbol.as_str(),
        "side": p.side.map_or("", |s| s.as_str()), "size": s(p.size),
        "positionValue": s(p.position_value.normalize()), "autoAddMargin": 0,
        "positionStatus": p.status.as_str(), "leverage": s(p.leverage.normalize()), "breakEvenPrice": opt_price(p.avg_price),
        "markPrice": opt_price(p.mark_price), "liqPrice": opt_price(p.liq_price), "bustPrice": "",
        "positionIM": s(p.position_im.round_dp(8).normalize()), "positionIMByMp": s(p.position_im.round_dp(8).normalize()),
        "positionMM": s(p.position_mm.round_dp(8).normalize()), "positionMMByMp": s(p.position_mm.round_dp(8).normalize()),
        "takeProfit": "0", "stopLoss": "0", "trailingStop": "0", "sessionAvgPrice": "", "delta": "", "gamma": "", "vega": "", "theta": "",
        "unrealisedPnl": s(p.unrealised_pnl.round_dp(8).normalize()), "curRealisedPnl": s(p.cum_realised_pnl.normalize()),
        "cumRealisedPnl": s(p.cum_realised_pnl.normalize()), "adlRankIndicator": 0, "createdTime": p.updated_time_ms.to_string(),
        "updatedTime": p.updated_time_ms.to_string(), "seq": 0, "isReduceOnly": false, "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "", "tpslMode": "Full", "positionBalance": "0", "tradeMode": 0
    });
    let entry = p.avg_price.map_or_else(|| s("0"), s);
    if let Value::Object(map) = &mut v {
        map.insert(if ws { "entryPrice" } else { "avgPrice" }.to_owned(), entry);
    }
    v
}

/// A UNIFIED wallet account.
#[must_use]
pub(crate) fn wallet(w: &Wallet) -> Value {
    let r = |d: gridbot_core::Decimal| s(d.round_dp(8).normalize());
    let coins: Vec<Value> = w
        .coins
        .iter()
        .map(|c| {
            json!({"coin": c.coin, "equity": r(c.equity), "usdValue": r(c.equity), "walletBalance": r(c.wallet_balance),
                "locked": "0", "borrowAmount": "0", "accruedInterest": "0", "totalOrderIM": r(c.total_order_im),
                "totalPositionIM": r(c.total_position_im), "totalPositionMM": r(c.total_position_mm),
                "unrealisedPnl": r(c.unrealised_pnl), "cumRealisedPnl": r(c.cum_realised_pnl), "bonus": "0",
                "marginCollateral": true, "collateralSwitch": true, "spotBorrow": "0", "spotHedgingQty": "0",
                "availableToWithdraw": "", "availableToBorrow": ""})
        })
        .collect();
    json!({
        "accountType": "UNIFIED", "accountLTV": "0", "accountIMRate": r(w.account_im_rate), "accountMMRate": r(w.account_mm_rate),
        "totalEquity": r(w.total_equity), "totalWalletBalance": r(w.total_wallet_balance), "totalMarginBalance": r(w.total_margin_balance),
        "totalAvailableBalance": r(w.total_available_balance), "totalPerpUPL": r(w.total_perp_upl),
        "totalInitialMargin": r(w.total_initial_margin), "totalMaintenanceMargin": r(w.total_maintenance_margin),
        "accountIMRateByMp": r(w.account_im_rate), "accountMMRateByMp": r(w.account_mm_rate),
        "totalInitialMarginByMp": r(w.total_initial_margin), "totalMaintenanceMarginByMp": r(w.total_maintenance_margin),
        "coin": coins
    })
}
