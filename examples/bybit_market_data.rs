//! Public market data from Bybit v5 or any compatible server (the simulator).
//!
//! ```text
//! cargo run --example bybit_market_data -- [--base-url https://api.bybit.com] [--symbol BTCUSDT]
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use gridbot_bybit::{BybitClient, ClientConfig, Environment};
use gridbot_core::{Interval, Symbol};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn run() -> Result<(), String> {
    let base = arg("--base-url").unwrap_or_else(|| "https://api.bybit.com".to_owned());
    let symbol = Symbol::new(arg("--symbol").unwrap_or_else(|| "BTCUSDT".to_owned())).map_err(|e| e.to_string())?;
    let client = BybitClient::new(ClientConfig::new(Environment::custom(&base), None));
    let now = client.server_time().map_err(|e| e.to_string())?;
    println!("server time      {now}");
    let instrument = client.instruments(Some(&symbol)).map_err(|e| e.to_string())?;
    if let Some(i) = instrument.first() {
        let s = i.spec();
        println!(
            "instrument       {} tick {} step {} min qty {} min notional {}",
            s.symbol, s.tick_size, s.qty_step, s.min_order_qty, s.min_notional
        );
    }
    let t = client.ticker(&symbol).map_err(|e| e.to_string())?;
    println!("ticker           last {} mark {} funding {}", t.last_price, t.mark_price, t.funding_rate);
    let top = client.orderbook_top(&symbol).map_err(|e| e.to_string())?;
    println!(
        "book             bid {:?} ask {:?}",
        top.bid.map(|l| l.price.to_string()),
        top.ask.map(|l| l.price.to_string())
    );
    let candles = client.klines_page(&symbol, Interval::M1, now - 5 * 60_000, now, 5).map_err(|e| e.to_string())?;
    for c in candles {
        println!(
            "kline 1m         {} o {} h {} l {} c {} v {}",
            c.open_time_ms, c.open, c.high, c.low, c.close, c.volume
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bybit_market_data: {e}");
            ExitCode::FAILURE
        }
    }
}
