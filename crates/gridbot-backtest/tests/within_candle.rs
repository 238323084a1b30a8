//! The bot reacts inside a candle, as the price path allows and never otherwise; a liquidation
//! stops the account; funding comes from a history file's rates. Synthetic candles, so each
//! case is exactly the one named.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use gridbot_backtest::{AccountSpec, BacktestRun, BacktestSettings, Funding, MarketData, Trade, Window, run};
use gridbot_core::{Candle, Decimal, Leg, OrderRole, Qty, Side, Symbol};
use gridbot_grid::{ProgressiveParams, TakeProfitRule};
use gridbot_risk::RiskParams;
use gridbot_strategy::ProgressiveSettings;
use gridbot_strategy::config::{ProgressiveConfig, StrategyConfig, SymbolConfig};

const MINUTE: i64 = 60_000;
/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000;

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn spec(leverage: i64, base_qty: &str) -> AccountSpec {
    let params = ProgressiveParams {
        max_levels: 6,
        step_scale_factor: 0.25,
        take_profit: TakeProfitRule::Fraction(0.003),
        ..ProgressiveParams::with_base_qty(base_qty.parse().unwrap())
    };
    AccountSpec {
        account_id: "wc".into(),
        tag: "wc".into(),
        symbols: vec![SymbolConfig {
            symbol: btc(),
            leverage: Decimal::from(leverage),
            risk_limit: Decimal::from(2_000_000),
            strategy: StrategyConfig::Progressive(ProgressiveConfig {
                params,
                // A fixed 2% daily ATR: no warm-up history needed, levels 0.5% apart.
                atr_pct: Some(0.02),
                settings: ProgressiveSettings::default(),
            }),
        }],
        risk: RiskParams::default(),
    }
}

fn candle(minute: i64, o: i64, h: i64, l: i64, c: i64) -> Candle {
    let p = |x: i64| Decimal::from(x).try_into().unwrap();
    Candle { open_time_ms: T0 + minute * MINUTE, open: p(o), high: p(h), low: p(l), close: p(c), volume: Qty::ZERO }
}

/// Flat minutes at `price` from `from` (inclusive) to `to` (exclusive).
fn flat(from: i64, to: i64, price: i64) -> Vec<Candle> {
    (from..to).map(|m| candle(m, price, price, price, price)).collect()
}

fn backtest(candles: Vec<Candle>, spec: &AccountSpec, settings: &BacktestSettings) -> BacktestRun {
    let data = MarketData::from_candles(vec![(btc(), PathBuf::from("synthetic.csv"), candles)]).unwrap();
    run(spec, &data, settings, Window::default(), &mut |_| {}).unwrap()
}

fn in_minute(trades: &[Trade], minute: i64) -> Vec<&Trade> {
    let start = T0 + minute * MINUTE;
    trades.iter().filter(|t| (start..start + MINUTE).contains(&t.time_ms)).collect()
}

fn long(t: &Trade, side: Side) -> bool {
    t.leg == Some(Leg::Long) && t.side == side
}

/// Two markets that differ only in the order of a candle's extremes. In A the candle at minute
/// 30 goes open 30000 → low 29900 → high 30300 → close 30100 (the low is nearer the open, so it
/// comes first): the long leg's entry fills at the low, the core places its take-profit right
/// there, and it fills at the high of the same candle. In B it goes open 30000 → high 30300 →
/// low 29000 → close 29500 (the high is nearer): the entry fills on the way down to the low,
/// after the high, so its take-profit cannot fill in that candle.
#[test]
fn a_fill_at_the_low_is_followed_by_its_take_profit_at_the_high_only_when_the_path_allows() {
    let market = |c: Candle| {
        let mut candles = flat(0, 30, 30_000);
        let close = c.close.as_decimal().try_into().unwrap_or(30_000);
        candles.push(c);
        candles.extend(flat(31, 60, close));
        backtest(candles, &spec(5, "0.01"), &BacktestSettings::default())
    };
    // The path points are open +0 s, first extreme +20 s, second extreme +40 s, close +59.999 s.
    let (first, second) = (T0 + 30 * MINUTE + 20_000, T0 + 30 * MINUTE + 40_000);

    let a = market(candle(30, 30_000, 30_300, 29_900, 30_100));
    let a = in_minute(&a.trades, 30);
    let entry: Vec<_> = a.iter().filter(|t| long(t, Side::Buy) && t.time_ms == first).collect();
    assert_eq!(entry.len(), 1, "the long entry fills at A's low: {a:#?}");
    let tp: Vec<_> = a
        .iter()
        .filter(|t| long(t, Side::Sell) && t.role == Some(OrderRole::TakeProfit) && t.time_ms == second)
        .collect();
    assert_eq!(tp.len(), 1, "its take-profit, placed after the low, fills at the high: {a:#?}");
    assert_eq!(tp[0].qty, entry[0].qty, "the take-profit closes what the low bought");
    assert!(tp[0].price > entry[0].price && tp[0].price <= "30300".parse().unwrap());

    let b = market(candle(30, 30_000, 30_300, 29_000, 29_500));
    let b = in_minute(&b.trades, 30);
    assert!(
        b.iter().any(|t| long(t, Side::Buy) && t.time_ms == second),
        "the long entry fills on the way to B's low: {b:#?}"
    );
    assert!(
        !b.iter().any(|t| long(t, Side::Sell)),
        "B's high came before the entry: nothing it bought is sold in B: {b:#?}"
    );
}

/// A thin wallet (500 USDT) at high leverage against a crash: the simulator liquidates at its price, the
/// run records it and stops trading that account (as Bybit would).
#[test]
fn a_liquidation_is_recorded_and_stops_the_account() {
    let mut candles = flat(0, 30, 30_000);
    // A slide of 1% a minute for 40 minutes.
    let mut price = 30_000;
    for m in 30..70 {
        let next = price * 99 / 100;
        candles.push(candle(m, price, price, next, next));
        price = next;
    }
    candles.extend(flat(70, 100, price));
    let settings = BacktestSettings { balance: Decimal::from(500), ..BacktestSettings::default() };
    // 0.1 BTC (≈ 3,000 USDT) a leg at 20×: a 16% fall takes the whole wallet.
    let result = backtest(candles, &spec(20, "0.1"), &settings);
    let liquidation = result.liquidation.as_ref().expect("the account is liquidated");
    assert!(liquidation.time_ms > T0 + 30 * MINUTE && liquidation.time_ms < T0 + 70 * MINUTE, "{liquidation:?}");
    assert!(result.trades.iter().all(|t| t.time_ms <= liquidation.time_ms), "nothing trades after the liquidation");
    assert!(result.trades.iter().any(|t| !t.maker && t.time_ms == liquidation.time_ms), "the bust trade is recorded");
    assert!(result.metrics.liquidations >= 1, "{:?}", result.metrics);
}

/// Funding from a history file: each 8-hour settlement takes the file's latest rate at or before
/// it (none before the first point), and a long pays `size × mark × rate` — receives it when the
/// rate is negative.
#[test]
fn funding_follows_the_history_file() {
    // A dip fills long buys at 01:00; the market then stays below their take-profit.
    let mut candles = flat(0, 60, 30_000);
    candles.push(candle(60, 30_000, 30_000, 29_700, 29_700));
    candles.extend(flat(61, 20 * 60, 29_700));
    let rates = [(8, "0.001"), (16, "-0.002")];
    let points = std::collections::BTreeMap::from([(
        btc(),
        rates
            .iter()
            .map(|(h, r)| gridbot_sim::FundingPoint { time_ms: T0 + h * 3_600_000, rate: r.parse().unwrap() })
            .collect(),
    )]);
    let settings = BacktestSettings {
        funding: Funding::History { files: Default::default(), points, before: Decimal::ZERO },
        ..BacktestSettings::default()
    };
    let result = backtest(candles.clone(), &spec(5, "0.01"), &settings);
    let long_size_at = |t: i64| -> f64 {
        result
            .trades
            .iter()
            .filter(|x| x.leg == Some(Leg::Long) && x.time_ms < t)
            .map(|x| if x.side == Side::Buy { x.qty.to_f64() } else { -x.qty.to_f64() })
            .sum()
    };
    assert!(long_size_at(T0 + 8 * 3_600_000) > 0.0, "the long leg is open at the settlements: {:#?}", result.trades);
    assert!(result.trades.iter().all(|x| x.leg == Some(Leg::Long)), "only the long leg trades");
    let expected: f64 =
        rates.iter().map(|(h, r)| long_size_at(T0 + h * 3_600_000) * 29_700.0 * r.parse::<f64>().unwrap()).sum();
    assert!((result.metrics.funding - expected).abs() < 1e-6, "paid {} expected {expected}", result.metrics.funding);
    assert!(expected < 0.0, "the negative rate on the same position outweighs the positive one");
    // With no funding the same trades pay nothing.
    let none = BacktestSettings { funding: Funding::Constant(Decimal::ZERO), ..BacktestSettings::default() };
    assert_eq!(backtest(candles, &spec(5, "0.01"), &none).metrics.funding, 0.0);
}
