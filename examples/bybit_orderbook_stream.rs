//! Streams the best bid and ask of `orderbook.50.{SYMBOL}` for a few seconds.
//!
//! ```text
//! cargo run --example bybit_orderbook_stream -- [--base-url https://api.bybit.com] [--symbol BTCUSDT] [--seconds 10]
//! ```
//! The stream URL is derived from the base URL (`http` → `ws`, `https` → `wss`, mainnet's
//! stream host for Bybit).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbot_bybit::Environment;
use gridbot_bybit::ws::stream::{PublicEvent, PublicHub, StreamConfig};
use gridbot_core::SystemClock;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn run() -> Result<(), String> {
    let env = match arg("--base-url") {
        Some(url) if url.contains("api.bybit.com") => Environment::Mainnet,
        Some(url) => Environment::custom(&url),
        None => Environment::Mainnet,
    };
    let symbol = arg("--symbol").unwrap_or_else(|| "BTCUSDT".to_owned());
    let seconds: u64 =
        arg("--seconds").map_or(Ok(10), |s| s.parse()).map_err(|_| "--seconds: expected a whole number")?;
    let mut hub = PublicHub::new(StreamConfig::new(env.ws_public_linear()));
    let topic = format!("orderbook.50.{symbol}");
    let rx = hub.subscribe(&[&topic]);
    let handle = hub.start(Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut out = std::io::stdout().lock();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(PublicEvent::BookTop { bid, ask, ts, .. }) => {
                let show = |l: Option<gridbot_core::BookLevel>| {
                    l.map_or("-".to_owned(), |l| format!("{} x {}", l.price, l.qty))
                };
                if writeln!(out, "{ts}  bid {}  ask {}", show(bid), show(ask)).is_err() {
                    break; // the reader went away (e.g. `| head`)
                }
            }
            Ok(other) => {
                if writeln!(out, "{other:?}").is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    handle.stop();
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bybit_orderbook_stream: {e}");
            ExitCode::FAILURE
        }
    }
}
