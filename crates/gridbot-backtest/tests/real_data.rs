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

/// Skipping quiet book updates is an optimisation, never a decision: with and without it, the
/// same trades, the same equity, the same bytes — for a progressive grid, and for a classic
/// grid with a recentre band and a take-profit/stop-loss band beside it — and for that grid
/// waiting for an entry trigger, with take-profit and stop-loss prices, and for a Bollinger
/// range.
#[test]
fn skipping_quiet_points_changes_nothing() {
    use gridbot_strategy::{ClassicOptions, LayoutSpec};
    let around = LayoutSpec::AroundMarket { spacing: 0.003, levels_per_side: 5 };
    skipping_changes_nothing_with(around, ClassicOptions::default());
    let price = |s: &str| Some(s.parse().unwrap());
    skipping_changes_nothing_with(
        around,
        ClassicOptions {
            trigger_price: price("2500"),
            take_profit_price: price("2700"),
            stop_loss_price: price("2300"),
            ..ClassicOptions::default()
        },
    );
    skipping_changes_nothing_with(
        around,
        ClassicOptions {
            trailing_up_limit: price("2900"),
            trailing_down_limit: price("1500"),
            ..ClassicOptions::default()
        },
    );
    let bands = LayoutSpec::Bollinger { period: 20, k: 2.0, interval: gridbot_core::Interval::H1, levels: 9 };
    skipping_changes_nothing_with(bands, ClassicOptions::default());
    // The default funding (0.01 % per settlement, paid by longs) against a guard below it:
    // the long leg opens no cycle, and an open one in profit closes an hour before settling.
    let guard = gridbot_strategy::FundingGuard {
        max_open_rate: Some(Decimal::new(5, 5)),
        close_before_ms: Some(3_600_000),
        close_rate: Some(Decimal::new(5, 5)),
    };
    skipping_changes_nothing_with_guard(around, ClassicOptions::default(), guard);
}

fn skipping_changes_nothing_with(layout: gridbot_strategy::LayoutSpec, options: gridbot_strategy::ClassicOptions) {
    skipping_changes_nothing_with_guard(layout, options, gridbot_strategy::FundingGuard::default());
}

fn skipping_changes_nothing_with_guard(
    layout: gridbot_strategy::LayoutSpec,
    options: gridbot_strategy::ClassicOptions,
    guard: gridbot_strategy::FundingGuard,
) {
    use gridbot_backtest::{RunOptions, run_with};
    use gridbot_strategy::{ClassicSettings, RecentrePolicy};
    const ETH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz");
    let mut spec = spec();
    if let StrategyConfig::Progressive(p) = &mut spec.symbols[0].strategy {
        p.settings.funding_guard = guard;
    }
    spec.symbols.push(SymbolConfig {
        symbol: Symbol::new("ETHUSDT").unwrap(),
        leverage: Decimal::from(5),
        risk_limit: Decimal::from(2_000_000),
        strategy: StrategyConfig::Classic(gridbot_strategy::config::ClassicConfig {
            settings: ClassicSettings {
                layout,
                progression: gridbot_grid::Progression::Arithmetic,
                bias: gridbot_grid::Bias::Neutral,
                qty_per_level: "0.05".parse().unwrap(),
                take_profit: Some(0.004),
                stop_loss: Some(0.02),
                recentre: RecentrePolicy {
                    max_deviation: Some(0.01),
                    max_age_ms: Some(86_400_000),
                    ..RecentrePolicy::default()
                },
                partial_fill_timeout_ms: 60_000,
                options,
            },
            atr_spacing: None,
        }),
    });
    let data = MarketData::load(&[
        (Symbol::new("BTCUSDT").unwrap(), BTC.into()),
        (Symbol::new("ETHUSDT").unwrap(), ETH.into()),
    ])
    .unwrap();
    let settings = BacktestSettings::default();
    let window = Window { from_ms: None, to_ms: gridbot_core::time::parse_utc("2025-06-02") };
    let run = |every| {
        run_with(&spec, &data, &settings, window, RunOptions { decide_on_every_point: every }, &mut |_| {}).unwrap()
    };
    let (skipping, every) = (run(false), run(true));
    let json = |r| result_json(&spec, &Inputs::new(Path::new("bt.yaml"), &data, &settings, r), &data, r);
    assert!(every.metrics.fills > 100, "{:?}", every.metrics);
    if let Some(k) = (0..skipping.trades.len().min(every.trades.len())).find(|&k| skipping.trades[k] != every.trades[k])
    {
        panic!(
            "trade {k} differs:\n skipping {:?}\n    every {:?}\n previous {:?}",
            skipping.trades[k],
            every.trades[k],
            k.checked_sub(1).map(|j| &every.trades[j])
        );
    }
    assert_eq!(skipping.trades.len(), every.trades.len());
    assert_eq!(json(&skipping), json(&every));
}
