//! Backtests over the bundled real perpetual minutes: the live core trades them, the metrics add
//! up, and the same inputs give the same result.json, bit for bit.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::path::Path;

use gridbot_backtest::report::{Inputs, result_json};
use gridbot_backtest::{AccountSpec, BacktestSettings, MarketData, Window, run};
use gridbot_core::{Decimal, Symbol};
use gridbot_grid::{ProgressiveParams, TakeProfitRule};
use gridbot_risk::RiskParams;
use gridbot_strategy::ProgressiveSettings;
use gridbot_strategy::config::{ProgressiveConfig, StrategyConfig, SymbolConfig};

const BTC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz");

fn spec() -> AccountSpec {
    let params = ProgressiveParams {
        max_levels: 6,
        step_scale_factor: 0.25,
        take_profit: TakeProfitRule::Fraction(0.003),
        ..ProgressiveParams::with_base_qty("0.002".parse().unwrap())
    };
    AccountSpec {
        account_id: "bt".into(),
        tag: "bt".into(),
        symbols: vec![SymbolConfig {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            leverage: Decimal::from(5),
            risk_limit: Decimal::from(2_000_000),
            strategy: StrategyConfig::Progressive(ProgressiveConfig {
                params,
                atr_pct: None,
                settings: ProgressiveSettings::default(),
            }),
        }],
        risk: RiskParams::default(),
    }
}

#[test]
fn the_live_core_trades_weeks_of_real_minutes_and_the_result_is_reproducible() {
    let data = MarketData::load(&[(Symbol::new("BTCUSDT").unwrap(), BTC.into())]).unwrap();
    let settings = BacktestSettings::default();
    let started = std::time::Instant::now();
    let first = run(&spec(), &data, &settings, Window::default(), &mut |_| {}).unwrap();
    eprintln!("{} candle steps in {:?}", first.candle_steps, started.elapsed());
    let m = &first.metrics;
    eprintln!("{m:#?}");
    assert!(first.candle_steps > 40_000, "the data after the warm-up is traded");
    assert!(m.fills > 50 && m.cycles.closed > 10, "{m:?}");
    assert!(m.max_level >= 1);
    // The books balance: net = gross − fees − funding + what is still open.
    let unrealised = m.net_pnl - (m.gross_pnl - m.fees - m.funding);
    let open: bool = first.open_positions.iter().any(|(_, legs)| !legs.long.is_zero() || !legs.short.is_zero());
    assert!(open || unrealised.abs() < 1e-6, "flat at the end, yet {unrealised} unexplained");
    assert!(m.max_drawdown.depth >= 0.0 && m.max_drawdown.depth < 1.0);
    // Same inputs, same bytes.
    let second = run(&spec(), &data, &settings, Window::default(), &mut |_| {}).unwrap();
    let json = |r| result_json(&spec(), &Inputs::new(Path::new("bt.yaml"), &data, &settings, r), &data, r);
    assert_eq!(json(&first), json(&second));
}
