//! Bench script (prints its figures): the gridbot-bybit client against the gridbot-sim server
//! on 127.0.0.1 — signed REST requests per second from one client, and order-create latency
//! percentiles. Rate limits are lifted on both sides so the server's speed is what is measured.
//!
//! `cargo bench -p gridbot-benches --bench sim_server`
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbot_bybit::rest::limits::RateLimits;
use gridbot_bybit::{BybitClient, ClientConfig, Credentials, Environment};
use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    Decimal, OrderLinkId, OrderRef, OrderRequest, PositionIdx, Price, Side, Symbol, SystemClock, TimeInForce,
};
use gridbot_data::load_candles;
use gridbot_sim::server::{ServerAccount, ServerConfig, start};
use gridbot_sim::{CandleReplay, MatchingEngine, SimConfig};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // `cargo test --benches` runs bench targets with no arguments; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let btc = Symbol::new("BTCUSDT").unwrap();
    let path = format!("{}/../data/binance_BTCUSDT_1m_2021-08_2021-09.csv.gz", env!("CARGO_MANIFEST_DIR"));
    let candles = load_candles(path).unwrap()[..1440].to_vec();
    let replay = CandleReplay::new(60_000, BTreeMap::from([(btc.clone(), candles)]));
    let engine =
        MatchingEngine::new(SimConfig { max_active_orders: 100_000, ..SimConfig::default() }, vec![bybit_btcusdt()]);
    let accounts = vec![ServerAccount {
        api_key: "benchKey".into(),
        api_secret: "benchSecret".into(),
        wallet: Decimal::from(10_000_000),
    }];
    let config =
        ServerConfig { orders_per_sec: 1_000_000, queries_per_sec: 1_000_000, ..ServerConfig::loopback(accounts) };
    let server = start(config, engine, replay, Arc::new(SystemClock)).unwrap();
    server.step().unwrap();
    let mut cc = ClientConfig::new(
        Environment::custom(&server.base_url()),
        Some(Credentials::new("benchKey", "benchSecret").unwrap()),
    );
    cc.rate_limits = RateLimits { orders_per_sec: 1_000_000, queries_per_sec: 1_000_000, public_per_sec: 1_000_000 };
    let client = BybitClient::new(cc);

    // warm up the connection pool
    for _ in 0..200 {
        client.wallet_balance().unwrap();
    }
    let n = 20_000;
    let start_t = Instant::now();
    for _ in 0..n {
        client.wallet_balance().unwrap();
    }
    let elapsed = start_t.elapsed();
    println!(
        "signed GET /v5/account/wallet-balance: {n} requests in {:.3} s = {:.0} requests/s",
        elapsed.as_secs_f64(),
        f64::from(n) / elapsed.as_secs_f64()
    );

    let bid = server.with_engine(|e| e.best_bid_ask(&btc).unwrap().0);
    let mut latencies = Vec::with_capacity(5_000);
    for i in 0..5_000u32 {
        let px = Price::new(bid.as_decimal() * Decimal::new(8, 1)).unwrap();
        let px = bybit_btcusdt().round_buy_price(px);
        let order = OrderRequest::limit(
            btc.clone(),
            Side::Buy,
            "0.001".parse().unwrap(),
            px,
            TimeInForce::PostOnly,
            PositionIdx::OneWay,
            OrderLinkId::new(format!("b{i}")).unwrap(),
        );
        let t = Instant::now();
        client.create_order(&order).unwrap();
        latencies.push(t.elapsed());
        if i % 100 == 99 {
            client.cancel_order(&btc, &OrderRef::LinkId(OrderLinkId::new(format!("b{i}")).unwrap())).unwrap();
        }
    }
    latencies.sort();
    println!(
        "POST /v5/order/create latency over {} orders: p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    server.stop();
}
