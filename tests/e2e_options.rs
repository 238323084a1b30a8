//! Paper trading with every exit and grid option on: `gridbot run` against the simulator's
//! Bybit v5 server on loopback (stepped through three market days of real minutes), one
//! account with a progressive BTCUSDT grid (take-profit in tranches with a stop at break-even,
//! funding guard) and a classic ETHUSDT grid (Bollinger range, entry trigger, take-profit and
//! stop-loss by price, trailing up/down). Each option shows in what reaches the exchange and the
//! journal; a SIGKILL between two take-profit tranches is recovered to the remaining tranche
//! (no averaging); a SIGTERM ends the run cleanly and the exchange equals the saved state.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gridbot_core::{Leg, OrderType, Symbol};
use gridbot_recovery::LinkTag;
use gridbot_sim::server::FaultConfig;
use support::{Proc, check_invariants_eventually, client, quiet, step, stepped_sim, temp_dir};

const KEY: &str = "options-key";
const SECRET: &str = "options-secret";

#[test]
fn every_option_on_trades_on_paper() {
    let dir = temp_dir("options");
    let handle = stepped_sim(&dir, &[(KEY, SECRET)], FaultConfig::default());
    handle.set_faults_on(false);
    let url = handle.base_url();
    let eth = Symbol::new("ETHUSDT").unwrap();
    let btc = Symbol::new("BTCUSDT").unwrap();
    // The entry trigger a little above the ETH price at the start (it rose over these days):
    // the classic grid waits, then builds.
    let (bid, _) = handle.with_engine(|e| e.best_bid_ask(&eth)).unwrap();
    let trigger = (bid.to_f64() * 1.002).round();
    let lines = [
        "account_id: opt".to_owned(),
        "environment: sim".to_owned(),
        format!("base_url: {url}"),
        format!("api_key: {KEY}"),
        format!("api_secret: {SECRET}"),
        "symbols:".to_owned(),
        "  - symbol: BTCUSDT".to_owned(),
        "    strategy: progressive".to_owned(),
        "    leverage: 5".to_owned(),
        "    progressive:".to_owned(),
        "      base_qty: \"0.002\"".to_owned(),
        "      max_levels: 5".to_owned(),
        "      step_scale_factor: 0.1".to_owned(),
        "      take_profit_tranches:".to_owned(),
        "        - {share: 0.5, distance: 0.001}".to_owned(),
        "        - {share: 0.5, distance: 0.006}".to_owned(),
        "      break_even_stop: true".to_owned(),
        "      funding_guard: {max_open_rate: 0.00005}".to_owned(),
        "  - symbol: ETHUSDT".to_owned(),
        "    strategy: classic".to_owned(),
        "    leverage: 5".to_owned(),
        "    classic:".to_owned(),
        "      qty_per_level: \"0.05\"".to_owned(),
        "      bollinger: {period: 20, k: 2, interval: 1h}".to_owned(),
        "      levels: 9".to_owned(),
        "      progression: arithmetic".to_owned(),
        format!("      trigger_price: {trigger}"),
        format!("      take_profit_price: {}", (trigger * 1.5).round()),
        format!("      stop_loss_price: {}", (trigger * 0.5).round()),
        format!("      trailing_up_limit: {}", (trigger * 1.3).round()),
        format!("      trailing_down_limit: {}", (trigger * 0.7).round()),
        // No risk level closes anything here: every market order would be an option's.
        "risk:".to_owned(),
        "  trailing_activation: 0.99".to_owned(),
        "  im_rate_close_in_profit: 0.9".to_owned(),
        "  max_level_timeout_ms: 315360000000".to_owned(),
        "  both_in_profit_min_pnl: 1000000000".to_owned(),
        "  daily_drawdown_kill: 0.99".to_owned(),
    ];
    let account = lines.join("\n") + "\n";
    std::fs::write(dir.join("opt.yaml"), account).unwrap();
    std::fs::write(dir.join("bot.yaml"), "data_dir: var\naccounts: [opt.yaml]\nlogging: {level: info}\n").unwrap();
    let bot_yaml = dir.join("bot.yaml");
    let mut bot = Proc::gridbot(&["run", "--config", bot_yaml.to_str().unwrap()], &[]);
    bot.wait_for("gridbot running", Duration::from_secs(90));
    let state = dir.join("var/opt/opt.state.json");
    quiet(&handle, &state);
    let ex = client(&url, KEY, SECRET);
    // Three market days, a minute at a time; once, right after a leg's first take-profit tranche
    // filled and before its second, the bot is SIGKILLed and restarted.
    let mut killed_between = false;
    let mut minutes = 0;
    while minutes < 3 * 1440 {
        if killed_between {
            step(&handle, 360);
            minutes += 360;
            quiet(&handle, &state);
            continue;
        }
        step(&handle, 1);
        minutes += 1;
        if let Some((leg, cycle)) = between_tranches(&ex, &btc, handle.market_time_ms()) {
            bot.kill();
            bot = Proc::gridbot(&["run", "--config", bot_yaml.to_str().unwrap()], &[]);
            bot.wait_for("gridbot running", Duration::from_secs(90));
            quiet(&handle, &state);
            check_rest_of_the_ladder(&ex, &btc, leg, cycle);
            killed_between = true;
        }
    }
    assert!(killed_between, "a leg was caught between its tranches");
    let output = bot.output();
    assert_eq!(bot.terminate(), Some(0), "{output}");
    check_invariants_eventually(&dir.join("var"), "opt", &ex, &["BTCUSDT", "ETHUSDT"]);

    let orders = |symbol: &Symbol| handle.with_engine(|e| e.order_history(0, symbol, 0, e.now_ms() + 86_400_000));
    // BTCUSDT: take-profits in tranches (two levels of one leg's cycle); the funding guard
    // (longs pay the simulator's 0.01 % and may pay at most 0.005 %) keeps the long leg from
    // opening once the ticker told the rate.
    let btc_orders = orders(&btc);
    let mut tranches: BTreeMap<(Leg, u32), BTreeSet<u32>> = BTreeMap::new();
    for o in &btc_orders {
        if let Ok(t) = LinkTag::decode(&o.order_link_id)
            && t.role == gridbot_core::OrderRole::TakeProfit
        {
            tranches.entry((t.leg, t.cycle)).or_default().insert(t.level);
        }
    }
    assert!(tranches.values().any(|levels| levels.len() >= 2), "take-profits in tranches: {tranches:?}");
    let journal = gridbot_state::Journal::open(&dir.join("var/opt/journal.sqlite")).unwrap();
    let fills = journal.trades_between(0, i64::MAX).unwrap();
    let long_entries = fills
        .iter()
        .filter(|f| f.symbol == "BTCUSDT" && LinkTag::decode(&f.order_link_id).is_ok_and(|t| t.leg == Leg::Long))
        .count();
    assert_eq!(long_entries, 0, "the funding guard opened no long cycle");
    assert!(fills.iter().any(|f| f.symbol == "BTCUSDT"), "the short leg traded");
    // ETHUSDT: waited for the trigger, then built between the Bollinger bands.
    let events: Vec<String> = journal.recent_events(10_000).unwrap().into_iter().map(|e| e.3).collect();
    assert!(events.iter().any(|m| m.contains("waiting for the entry trigger")), "{events:?}");
    let history = journal.grid_history("ETHUSDT").unwrap();
    assert!(history.iter().any(|h| h.3.contains("entry trigger")), "built when the trigger was crossed: {history:?}");
    assert!(history.iter().any(|h| h.3.contains("trailing")), "the range followed the market: {history:?}");
    let eth_orders = orders(&eth);
    assert!(!eth_orders.is_empty(), "the classic grid traded");
    assert!(
        eth_orders.iter().all(|o| o.order_type != OrderType::Market),
        "no market order: trailing moves the grid without closing, and the price exits keep their distance here"
    );
    eprintln!(
        "options: BTC tranches {tranches:?}; {} fills; ETH grid history {} rows, {} orders",
        fills.len(),
        history.len(),
        eth_orders.len()
    );
}

/// A leg whose first take-profit tranche filled and whose second has not, still open.
fn between_tranches(ex: &gridbot_bybit::BybitClient, symbol: &Symbol, now_ms: i64) -> Option<(Leg, u32)> {
    let window = gridbot_core::TimeWindow { start_ms: now_ms - 5 * 86_400_000, end_ms: now_ms + 60_000 };
    let fills = ex.executions(symbol, window).ok()?;
    let mut tranches: BTreeMap<(Leg, u32), BTreeSet<u32>> = BTreeMap::new();
    for e in &fills {
        if let Ok(t) = LinkTag::decode(&e.order_link_id)
            && t.role == gridbot_core::OrderRole::TakeProfit
        {
            tranches.entry((t.leg, t.cycle)).or_default().insert(t.level);
        }
    }
    let open = |leg: Leg| {
        ex.positions(symbol)
            .ok()
            .is_some_and(|rows| rows.iter().any(|p| p.position_idx == leg.position_idx() && !p.size.is_zero()))
    };
    tranches.into_iter().find(|(k, levels)| levels.contains(&0) && !levels.contains(&1) && open(k.0)).map(|(k, _)| k)
}

/// After the restart: the leg's remaining tranche rests for the whole position, and nothing
/// averages it any more — or the stop at break-even closed it.
fn check_rest_of_the_ladder(ex: &gridbot_bybit::BybitClient, symbol: &Symbol, leg: Leg, cycle: u32) {
    let size = ex
        .positions(symbol)
        .unwrap()
        .into_iter()
        .find(|p| p.position_idx == leg.position_idx())
        .map_or(gridbot_core::Qty::ZERO, |p| p.size);
    let ours: Vec<(gridbot_core::OrderRole, u32, gridbot_core::Qty)> = ex
        .open_orders(symbol)
        .unwrap()
        .into_iter()
        .filter_map(|o| {
            let t = LinkTag::decode(&o.order_link_id).ok()?;
            (t.leg == leg && t.cycle == cycle).then_some((t.role, t.level, o.leaves_qty))
        })
        .collect();
    eprintln!("options: killed between tranches of {leg:?} cycle {cycle}: size {size}, resting {ours:?}");
    if size.is_zero() {
        return; // closed at break-even (or by the second tranche) before the check
    }
    assert!(ours.iter().all(|(role, _, _)| *role == gridbot_core::OrderRole::TakeProfit), "no averaging: {ours:?}");
    assert_eq!(ours.iter().map(|(_, level, _)| *level).collect::<Vec<_>>(), vec![1], "the remaining tranche: {ours:?}");
    assert_eq!(ours[0].2, size, "it closes the whole position");
}
