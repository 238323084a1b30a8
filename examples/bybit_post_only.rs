//! Places a PostOnly buy 5% under the best bid at the minimum size, lists it, cancels it and
//! finds it in the order history. Needs `--base-url` (no default: this sends orders) and the
//! credentials in `BYBIT_API_KEY` / `BYBIT_API_SECRET`.
//!
//! ```text
//! BYBIT_API_KEY=... BYBIT_API_SECRET=... cargo run --example bybit_post_only -- --base-url http://127.0.0.1:PORT
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use gridbot_bybit::{BybitClient, ClientConfig, Credentials, Environment};
use gridbot_core::{Decimal, OrderLinkId, OrderRef, OrderRequest, PositionIdx, Qty, Side, Symbol, TimeInForce};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn run() -> Result<(), String> {
    let base = arg("--base-url").ok_or("--base-url is required (this example places an order)")?;
    let key = std::env::var("BYBIT_API_KEY").map_err(|_| "BYBIT_API_KEY is not set")?;
    let secret = std::env::var("BYBIT_API_SECRET").map_err(|_| "BYBIT_API_SECRET is not set")?;
    let credentials = Credentials::new(key, secret).map_err(|e| e.to_string())?;
    let symbol = Symbol::new(arg("--symbol").unwrap_or_else(|| "BTCUSDT".to_owned())).map_err(|e| e.to_string())?;
    let client = BybitClient::new(ClientConfig::new(Environment::custom(&base), Some(credentials)));

    let instrument =
        client.instruments(Some(&symbol)).map_err(|e| e.to_string())?.into_iter().next().ok_or("unknown symbol")?;
    let bid = client.orderbook_top(&symbol).map_err(|e| e.to_string())?.bid.ok_or("empty book")?.price;
    let price = instrument.round_buy_price(bid.checked_mul(Decimal::new(95, 2)).ok_or("price overflow")?);
    let min_for_notional =
        Qty::new(instrument.min_notional() / price.as_decimal() + instrument.qty_step()).map_err(|e| e.to_string())?;
    let qty = instrument.round_qty(min_for_notional.max(instrument.min_order_qty()));
    let link = OrderLinkId::new(format!("example-{}", client.server_time().map_err(|e| e.to_string())?))
        .map_err(|e| e.to_string())?;
    let order = OrderRequest::limit(
        symbol.clone(),
        Side::Buy,
        qty,
        price,
        TimeInForce::PostOnly,
        PositionIdx::OneWay,
        link.clone(),
    );
    instrument.validate(&order).map_err(|e| e.to_string())?;
    let ack = client.create_order(&order).map_err(|e| e.to_string())?;
    println!("placed   {} {} @ {} ({})", ack.order_id, qty, price, ack.order_link_id);
    let open = client.open_orders(&symbol).map_err(|e| e.to_string())?;
    println!("open     {} order(s); ours: {}", open.len(), open.iter().any(|o| o.order_link_id == link.as_str()));
    let cancelled = client.cancel_order(&symbol, &OrderRef::LinkId(link.clone())).map_err(|e| e.to_string())?;
    println!("cancel   {}", cancelled.order_id);
    let history = client.order_history_recent(&symbol).map_err(|e| e.to_string())?;
    let ours = history.iter().find(|o| o.order_link_id == link.as_str()).ok_or("not in the history")?;
    println!("history  {} {:?}", ours.order_id, ours.status);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bybit_post_only: {e}");
            ExitCode::FAILURE
        }
    }
}
