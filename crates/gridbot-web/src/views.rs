//! The JSON behind each dashboard page, built from an account's snapshot and journal (and, while
//! the bot runs in this process, the live prices). Nothing here writes.
//!
//! Decisions:
//! - **The ladder is the plan, not a guess.** A progressive leg's levels are the locked plan's
//!   distances around the cycle's anchor (`anchor · (1 ∓ distance)`, before the instrument's
//!   tick rounding, which the working orders show); a classic grid's levels are its plan's.
//! - Amounts stay exact decimals (JSON strings, as everywhere in the API); the page formats.
//! - Equity curves longer than [`MAX_POINTS`] are thinned to that many points, keeping each
//!   bucket's last value and the lowest one, so drawdowns are never smoothed away.

use gridbot_core::time::format_iso8601;
use gridbot_core::{Decimal, Leg, Price, Qty, Side};
use gridbot_engine::config::AccountConfig;
use gridbot_engine::live::LivePrice;
use gridbot_state::{AccountSnapshot, ClassicState, PositionReading, SymbolState, TrackedOrder};

/// The most points an equity curve sends.
pub(crate) const MAX_POINTS: usize = 2_000;

/// One level of a progressive leg's ladder.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct LadderLevel {
    level: u32,
    price: Price,
    qty: Qty,
    /// Reached in this cycle.
    filled: bool,
}

/// A progressive leg as the ladder shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct LegView {
    leg: Leg,
    cycle: u32,
    level: Option<u32>,
    max_level: Option<u32>,
    size: Qty,
    anchor: Option<Price>,
    avg_entry: Option<Price>,
    take_profit_price: Option<Price>,
    /// Distance from the market to the take-profit, fraction (positive: still to go).
    take_profit_distance: Option<Decimal>,
    liq_price: Option<Decimal>,
    levels: Vec<LadderLevel>,
    level_ups_in_window: usize,
    level_up_budget: Option<usize>,
    tp_safety: bool,
}

/// A classic grid as the ladder shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct ClassicView {
    generation: u32,
    reference_price: Price,
    levels: Vec<ClassicLevelView>,
    realised_pnl: Decimal,
    fees: Decimal,
    stopped: Option<String>,
    built_at: String,
}

/// One level of a classic grid with the order it should have.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct ClassicLevelView {
    index: u32,
    price: Price,
    qty: Qty,
    /// The side of the order this level should hold now (`None`: the level next to the
    /// market waits empty).
    side: Option<Side>,
}

/// Everything the symbol page shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct SymbolView {
    account: String,
    symbol: String,
    strategy: &'static str,
    /// The top of book the bot last saw (only while it runs in this process).
    price: Option<LivePrice>,
    /// The mark of the newest position report in the journal.
    journal_mark: Option<Decimal>,
    plan: Option<PlanView>,
    legs: Vec<LegView>,
    classic: Option<ClassicView>,
    orders: Vec<TrackedOrder>,
}

/// A progressive plan's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct PlanView {
    base_step: Decimal,
    take_profit: Decimal,
    max_level: u32,
    atr_pct_ema: f64,
    locked_at: String,
}

fn leg_view(
    state: &SymbolState,
    leg: Leg,
    config: Option<&AccountConfig>,
    position: Option<&PositionReading>,
    market: Option<Decimal>,
) -> LegView {
    let l = if leg == Leg::Long { &state.long } else { &state.short };
    let plan = state.plan.as_ref();
    let memory = state.risk.get(leg);
    let levels = match (plan, l.anchor) {
        (Some(plan), Some(anchor)) => (0..=plan.max_level())
            .filter_map(|level| {
                let price = plan.raw_level_price(leg, anchor, level).ok()?;
                let qty = plan.quantities().get(level as usize).copied()?;
                Some(LadderLevel { level, price, qty, filled: l.level.is_some_and(|reached| level <= reached) })
            })
            .collect(),
        _ => Vec::new(),
    };
    let take_profit_price = match (plan, l.avg_entry) {
        (Some(plan), Some(avg)) if !l.size.is_zero() => {
            let tp = plan.take_profit_fraction();
            let factor = if leg == Leg::Long { Decimal::ONE + tp } else { Decimal::ONE - tp };
            avg.checked_mul(factor)
        }
        _ => None,
    };
    let take_profit_distance = match (take_profit_price, market) {
        (Some(tp), Some(m)) if !m.is_zero() => {
            let d = (tp.as_decimal() - m) / m;
            Some(if leg == Leg::Long { d } else { -d }.round_dp(6))
        }
        _ => None,
    };
    LegView {
        leg,
        cycle: l.cycle,
        level: l.level,
        max_level: plan.map(|p| p.max_level()),
        size: l.size,
        anchor: l.anchor,
        avg_entry: l.avg_entry,
        take_profit_price,
        take_profit_distance,
        liq_price: position.and_then(|p| p.liq_price).filter(|p| !p.is_zero()),
        levels,
        level_ups_in_window: memory.level_ups_ms.len(),
        level_up_budget: config.zip(plan).map(|(c, p)| c.risk.level_up_budget(p.max_level())),
        tp_safety: memory.tp_safety,
    }
}

fn classic_view(c: &ClassicState) -> ClassicView {
    let levels = c
        .plan
        .levels()
        .iter()
        .map(|l| ClassicLevelView {
            index: l.index,
            price: l.price,
            qty: l.qty,
            side: c.slots.iter().find(|s| s.index == l.index).map(|s| s.side),
        })
        .collect();
    ClassicView {
        generation: c.generation,
        reference_price: c.plan.reference_price(),
        levels,
        realised_pnl: c.realised_pnl,
        fees: c.fees,
        stopped: c.stopped.clone(),
        built_at: format_iso8601(c.built_at_ms),
    }
}

/// The symbol page of `symbol`, or `None` when the snapshot has no such symbol.
pub(crate) fn symbol_view(
    snapshot: &AccountSnapshot,
    symbol: &str,
    config: Option<&AccountConfig>,
    positions: &[PositionReading],
    price: Option<LivePrice>,
) -> Option<SymbolView> {
    let (sym, state) = snapshot.symbols.iter().find(|(s, _)| s.as_str() == symbol)?;
    let position =
        |leg: Leg| positions.iter().find(|p| p.symbol == symbol && p.position_idx == leg.position_idx().as_i64());
    let journal_mark =
        positions.iter().filter(|p| p.symbol == symbol).max_by_key(|p| p.at_ms).and_then(|p| p.mark_price);
    let market = price
        .as_ref()
        .and_then(|p| match (p.bid, p.ask) {
            (Some(b), Some(a)) => Some((b.as_decimal() + a.as_decimal()) / Decimal::TWO),
            (Some(x), None) | (None, Some(x)) => Some(x.as_decimal()),
            (None, None) => None,
        })
        .or(journal_mark);
    let legs = if state.classic.is_some() {
        Vec::new()
    } else {
        [Leg::Long, Leg::Short].into_iter().map(|leg| leg_view(state, leg, config, position(leg), market)).collect()
    };
    let mut orders = state.orders.clone();
    orders.sort_by_key(|o| std::cmp::Reverse(o.price));
    Some(SymbolView {
        account: snapshot.account.clone(),
        symbol: sym.to_string(),
        strategy: if state.classic.is_some() { "classic" } else { "progressive" },
        price,
        journal_mark,
        plan: state.plan.as_ref().map(|p| PlanView {
            base_step: p.base_step(),
            take_profit: p.take_profit_fraction(),
            max_level: p.max_level(),
            atr_pct_ema: p.atr_pct_ema(),
            locked_at: format_iso8601(p.created_at_ms()),
        }),
        legs,
        classic: state.classic.as_ref().map(classic_view),
        orders,
    })
}

/// An equity curve with its drawdown from the running peak, thinned to [`MAX_POINTS`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct EquityView {
    /// `[ms, equity, drawdown fraction]`, oldest first.
    points: Vec<(i64, Decimal, f64)>,
    max_drawdown: f64,
    /// Rows in the journal for the window (before thinning).
    rows: usize,
}

pub(crate) fn equity_view(rows: &[(i64, Decimal)]) -> EquityView {
    let mut peak = Decimal::ZERO;
    let mut max_drawdown = 0.0_f64;
    let with_dd: Vec<(i64, Decimal, f64)> = rows
        .iter()
        .map(|&(ms, equity)| {
            peak = peak.max(equity);
            let dd = if peak.is_zero() { 0.0 } else { gridbot_core::decimal_to_f64((peak - equity) / peak) };
            max_drawdown = max_drawdown.max(dd);
            (ms, equity, dd)
        })
        .collect();
    EquityView { points: thin(&with_dd, MAX_POINTS), max_drawdown, rows: rows.len() }
}

/// At most about `max` points: each bucket keeps its deepest drawdown and its last point.
fn thin(points: &[(i64, Decimal, f64)], max: usize) -> Vec<(i64, Decimal, f64)> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let bucket = points.len().div_ceil(max / 2);
    let mut out = Vec::with_capacity(max + 1);
    for chunk in points.chunks(bucket) {
        let deepest = chunk.iter().enumerate().max_by(|a, b| a.1.2.total_cmp(&b.1.2)).map_or(0, |(i, _)| i);
        let last = chunk.len() - 1;
        if deepest != last {
            out.push(chunk[deepest]);
        }
        out.push(chunk[last]);
    }
    out
}

/// The validated configuration of an account as the settings page shows it: what the bot
/// runs with, secrets never included (they are `Secret`s, whose `Debug` is `<redacted>`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct SettingsView {
    account: String,
    file: String,
    environment: String,
    rest_url: String,
    tag: String,
    symbols: Vec<String>,
    risk: String,
    telegram_alerts: bool,
}

pub(crate) fn settings_view(a: &AccountConfig) -> SettingsView {
    SettingsView {
        account: a.account_id.clone(),
        file: a.path.display().to_string(),
        environment: format!("{:?}", a.environment).to_lowercase(),
        rest_url: a.rest_url.clone(),
        tag: a.tag.clone(),
        symbols: a.symbols.iter().map(|s| format!("{s:#?}")).collect(),
        risk: format!("{:#?}", a.risk),
        telegram_alerts: a.telegram_enabled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_deepest_drawdown_and_the_last_point() {
        let mut rows: Vec<(i64, Decimal)> = (0..10_000).map(|i| (i, Decimal::from(1000 + i % 50))).collect();
        rows[7_777].1 = Decimal::from(400);
        let view = equity_view(&rows);
        assert!(view.points.len() <= MAX_POINTS + 1, "{}", view.points.len());
        assert_eq!(view.points.last().map(|p| p.0), Some(9_999));
        assert!(view.points.iter().any(|p| p.0 == 7_777), "the trough survives thinning");
        assert!((view.max_drawdown - (1049.0 - 400.0) / 1049.0).abs() < 1e-9, "{}", view.max_drawdown);
        assert!(view.points.windows(2).all(|w| w[0].0 < w[1].0), "oldest first, no repeats");
    }
}
