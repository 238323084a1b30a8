//! What the core-against-the-simulator tests share: the bundled minutes, an in-process
//! simulator with one account, and the simulator's events as the core's.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, reason = "each test binary uses a part")]

use std::collections::BTreeMap;
use std::sync::Arc;

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{Decimal, Exchange, Symbol};
use gridbot_sim::{CandleReplay, MatchingEngine, SimAccount, SimConfig, SimEvent, SimExchange};
use gridbot_strategy::CoreEvent;

/// Two months of real BTCUSDT perpetual minutes (bundled).
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz");

pub fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

/// A BTCUSDT progressive grid of 0.002 BTC, six levels, 0.3 % take-profit, 5× leverage, at
/// `step_scale_factor`.
pub fn progressive_btc(step_scale_factor: f64) -> gridbot_strategy::config::SymbolConfig {
    use gridbot_grid::{ProgressiveParams, TakeProfitRule};
    use gridbot_strategy::config::{ProgressiveConfig, StrategyConfig, SymbolConfig};
    let params = ProgressiveParams {
        max_levels: 6,
        step_scale_factor,
        take_profit: TakeProfitRule::Fraction(0.003),
        ..ProgressiveParams::with_base_qty("0.002".parse().unwrap())
    };
    SymbolConfig {
        symbol: btc(),
        leverage: Decimal::from(5),
        risk_limit: Decimal::from(2_000_000),
        strategy: StrategyConfig::Progressive(ProgressiveConfig {
            params,
            atr_pct: None,
            settings: gridbot_strategy::ProgressiveSettings::default(),
        }),
    }
}

/// The simulator over [`DATA`] with one account of `wallet` USDT, moved `warm_up_ms` in.
pub fn sim(wallet: u32, warm_up_ms: i64) -> (Arc<SimExchange>, SimAccount) {
    let candles = gridbot_data::load_candles(DATA).unwrap();
    let start = candles[0].open_time_ms;
    let sim = SimExchange::new(
        MatchingEngine::new(SimConfig::default(), vec![bybit_btcusdt()]),
        CandleReplay::new(60_000, BTreeMap::from([(btc(), candles)])),
    );
    let ex = sim.account(sim.add_account(Decimal::from(wallet)));
    sim.advance_to(start + warm_up_ms);
    sim.drain_events();
    (sim, ex)
}

/// The simulator's events for `account`, as the core's events, in the live queue's priority
/// order (executions, orders, positions, wallet).
pub fn core_events(ex: &SimAccount, events: Vec<SimEvent>) -> Vec<CoreEvent> {
    let (mut executions, mut orders, mut positions, mut wallet) = (Vec::new(), Vec::new(), false, false);
    for e in events {
        match e {
            SimEvent::Execution(a, x) if a == ex.id() => executions.push(x),
            SimEvent::Order(a, o) if a == ex.id() => orders.push(o),
            SimEvent::Position(a, ..) if a == ex.id() => positions = true,
            SimEvent::Wallet(a) if a == ex.id() => wallet = true,
            _ => {}
        }
    }
    let mut out = Vec::new();
    if !executions.is_empty() {
        out.push(CoreEvent::Executions(executions));
    }
    if !orders.is_empty() {
        out.push(CoreEvent::Orders(orders));
    }
    if positions {
        out.push(CoreEvent::Positions(ex.positions(&btc()).unwrap()));
    }
    if wallet {
        out.push(CoreEvent::Wallet(ex.wallet().unwrap()));
    }
    out
}
