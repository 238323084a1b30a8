//! Prints the locked progressive grid plan for a symbol from its daily candles.
//!
//! ```text
//! cargo run --release --example grid_plan -- [DAILY_CSV] [--symbol BTCUSDT] [--leg long|short]
//!     [--levels 8] [--base-qty MIN_QTY] [--qty-multiplier 2] [--span 14] [--horizon-days 1]
//!     [--scale 1] [--anchor PRICE]
//! ```
//!
//! Defaults: the bundled BTCUSDT daily file, the long leg, the instrument's minimum quantity as
//! the base quantity, anchored at the last close. The plan
//! is computed as of the day after the last candle, so the output is reproducible.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use gridbot_core::{Decimal, Interval, Leg, OhlcSeries, Price, Qty};
use gridbot_data::load_candles;
use gridbot_grid::{GridPlan, ProgressiveParams, average_entry};

const DEFAULT_FILE: &str = "data/binance_BTCUSDT_1d_2017-08_2026-01.csv.gz";

struct Args {
    file: String,
    symbol: Option<String>,
    leg: Leg,
    params: ProgressiveParams,
    base_qty: Option<Qty>,
    anchor: Option<Price>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        file: DEFAULT_FILE.to_owned(),
        symbol: None,
        leg: Leg::Long,
        params: ProgressiveParams::with_base_qty(Qty::ZERO),
        base_qty: None,
        anchor: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let bad = |name: &str, v: &str, what: &str| format!("{name}: expected {what}, got {v:?}");
        match arg.as_str() {
            "--symbol" => args.symbol = Some(value("--symbol")?),
            "--leg" => {
                args.leg = match value("--leg")?.as_str() {
                    "long" => Leg::Long,
                    "short" => Leg::Short,
                    v => return Err(bad("--leg", v, "long or short")),
                }
            }
            "--levels" => {
                let v = value("--levels")?;
                args.params.max_levels = v.parse().map_err(|_| bad("--levels", &v, "a whole number"))?;
            }
            "--base-qty" => {
                let v = value("--base-qty")?;
                args.base_qty = Some(v.parse().map_err(|_| bad("--base-qty", &v, "a decimal quantity"))?);
            }
            "--qty-multiplier" => {
                let v = value("--qty-multiplier")?;
                args.params.qty_multiplier = v.parse().map_err(|_| bad("--qty-multiplier", &v, "a decimal"))?;
            }
            "--span" => {
                let v = value("--span")?;
                args.params.ema_span = v.parse().map_err(|_| bad("--span", &v, "a whole number"))?;
            }
            "--horizon-days" => {
                let v = value("--horizon-days")?;
                args.params.horizon_days = v.parse().map_err(|_| bad("--horizon-days", &v, "a number"))?;
            }
            "--scale" => {
                let v = value("--scale")?;
                args.params.step_scale_factor = v.parse().map_err(|_| bad("--scale", &v, "a number"))?;
            }
            "--anchor" => {
                let v = value("--anchor")?;
                args.anchor = Some(v.parse().map_err(|_| bad("--anchor", &v, "a price"))?);
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            path => args.file = path.to_owned(),
        }
    }
    Ok(args)
}

fn symbol_from_file(file: &str) -> Option<&'static str> {
    gridbot_core::reference::REFERENCE_SYMBOLS.into_iter().find(|s| file.contains(s))
}

fn run(args: Args) -> Result<(), String> {
    let symbol = match &args.symbol {
        Some(s) => s.clone(),
        None => symbol_from_file(&args.file)
            .ok_or_else(|| format!("cannot tell the symbol from {:?}; pass --symbol", args.file))?
            .to_owned(),
    };
    let instrument = gridbot_core::reference::bybit_linear(&symbol).ok_or_else(|| {
        format!(
            "no built-in Bybit filters for {symbol} (known: {})",
            gridbot_core::reference::REFERENCE_SYMBOLS.join(", ")
        )
    })?;
    let params = ProgressiveParams { base_qty: args.base_qty.unwrap_or(instrument.min_order_qty()), ..args.params };
    let candles = load_candles(&args.file).map_err(|e| e.to_string())?;
    let daily = gridbot_data::resample(&candles, Interval::D1).map_err(|e| e.to_string())?;
    let series = OhlcSeries::from_candles(&daily);
    let last = daily.last().ok_or("no candles")?;
    let as_of_ms = Interval::D1.bucket_start(last.open_time_ms) + gridbot_core::time::DAY_MS;
    let plan = GridPlan::build(&params, &series, &instrument, as_of_ms).map_err(|e| e.to_string())?;
    let anchor = args.anchor.unwrap_or(last.close);
    let ladder = plan.ladder(args.leg, anchor, &instrument).map_err(|e| e.to_string())?;

    let (y, m, d) = gridbot_core::time::civil_from_days(as_of_ms / gridbot_core::time::DAY_MS);
    println!("Progressive grid plan: {symbol}, {:?} leg, {} daily candles from {}", args.leg, daily.len(), args.file);
    println!(
        "as of {y:04}-{m:02}-{d:02} UTC | EMA{}(ATR%) = {:.4}% | base_step = {}% | TP = {}% from the average entry | anchor {anchor}",
        params.ema_span,
        plan.atr_pct_ema() * 100.0,
        (plan.base_step() * Decimal::ONE_HUNDRED).round_dp(4),
        (plan.take_profit_fraction() * Decimal::ONE_HUNDRED).round_dp(4),
    );
    println!();
    println!(
        "{:>5} {:>14} {:>10} {:>12} {:>12} {:>14} {:>14} {:>14}",
        "level", "price", "dist %", "qty", "cum qty", "notional", "avg entry", "take-profit"
    );
    let mut fills = Vec::with_capacity(ladder.len());
    for order in &ladder {
        fills.push((order.price, order.qty));
        let avg = average_entry(&fills).ok_or("empty ladder")?;
        let tp = plan.take_profit_price(args.leg, avg, &instrument).map_err(|e| e.to_string())?;
        println!(
            "{:>5} {:>14} {:>10} {:>12} {:>12} {:>14} {:>14} {:>14}",
            order.level,
            order.price.to_string(),
            (order.distance_from(anchor) * Decimal::ONE_HUNDRED).round_dp(3).to_string(),
            order.qty.to_string(),
            order.cum_qty.to_string(),
            order.notional.round_dp(2).to_string(),
            instrument.round_price(args.leg.entry_side(), avg).to_string(),
            tp.to_string(),
        );
    }
    let total: Decimal = ladder.iter().map(|o| o.notional).sum();
    println!();
    println!("total notional if every level fills: {} USDT", total.round_dp(2));
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) if msg.is_empty() => {
            println!(
                "usage: grid_plan [DAILY_CSV] [--symbol S] [--leg long|short] [--levels N] [--base-qty Q] [--qty-multiplier M] [--span N] [--horizon-days H] [--scale F] [--anchor P]"
            );
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("grid_plan: {msg}");
            ExitCode::from(2)
        }
    }
}
