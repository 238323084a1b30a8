//! The level analyzer: a leg's cycle, level and anchor, reconstructed from the exchange's
//! execution history through the orderLinkIds of its fills, and cross-checked against the
//! position and the locked plan. Disagreements are typed findings, never guesses.
//!
//! Rules:
//! - Only trades of our orders (decodable ids of this account, this leg) count; foreign fills
//!   on the leg are a finding.
//! - The latest cycle with fills is the current one. Its level is the deepest level whose
//!   balance (level 0) or protective order filled; its anchor is the average fill price of the
//!   level-0 balance order.
//! - A flat leg whose latest cycle was closed (take-profit or close fills) moves on to the next
//!   cycle number; cycles are counted per leg.
//! - With an open position but no fills in the history window (too old), the level is inferred
//!   from the plan: the level whose cumulative planned quantity equals the position size, and
//!   the anchor that makes the planned prices average to the position's entry.

use std::collections::BTreeMap;

use gridbot_core::{Decimal, ExecType, Execution, Leg, OrderRole, Position, Price, Qty};
use gridbot_grid::GridPlan;

use crate::codec::LinkTag;

/// Something that does not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Our fills say one size, the exchange's position another.
    SizeMismatch {
        /// From our fills.
        from_fills: Qty,
        /// The position.
        position: Qty,
    },
    /// The fills' average entry differs from the position's by more than a tick.
    AvgPriceMismatch {
        /// From our fills.
        from_fills: Price,
        /// The position.
        position: Price,
    },
    /// A level filled a different quantity than the plan says (a partial fill, or an older plan).
    LevelQtyMismatch {
        /// The level.
        level: u32,
        /// Planned.
        planned: Qty,
        /// Filled.
        filled: Qty,
    },
    /// Fills on this leg from orders that are not ours.
    ForeignFills {
        /// Their total size.
        qty: Qty,
    },
    /// No fills in the history window; the level and anchor were inferred from the plan.
    InferredFromPlan,
    /// Neither the fills nor the plan explain the position; the level is unknown.
    LevelUnknown,
    /// The leg's fills are older than the history window, and the snapshot's leg has the
    /// exchange's size: its cycle, level and anchor were kept.
    KeptFromSnapshot,
    /// The cycle's balance (level 0) fill is not among its fills: the anchor was taken from
    /// the fills of the shallowest level that has them (its price over the level's planned
    /// distance).
    AnchorFromLevel {
        /// The level whose fills gave the anchor.
        level: u32,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SizeMismatch { from_fills, position } => {
                write!(f, "our fills add up to {from_fills}, the exchange's position is {position}")
            }
            Self::AvgPriceMismatch { from_fills, position } => {
                write!(f, "our fills average {from_fills}, the exchange's position {position}")
            }
            Self::LevelQtyMismatch { level, planned, filled } => {
                write!(f, "level {level} filled {filled} where the plan says {planned}")
            }
            Self::ForeignFills { qty } => write!(f, "{qty} of this leg was filled by orders that are not ours"),
            Self::InferredFromPlan => {
                write!(f, "no fills in the history window: level and anchor inferred from the plan")
            }
            Self::LevelUnknown => write!(f, "neither our fills nor the plan explain the position: level unknown"),
            Self::KeptFromSnapshot => {
                write!(f, "the fills are older than the history window: cycle, level and anchor kept from the snapshot")
            }
            Self::AnchorFromLevel { level } => {
                write!(f, "the cycle's balance fill is not in the history: anchor taken from level {level}'s fills")
            }
        }
    }
}

/// What the analyzer concluded about one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegAnalysis {
    /// The leg.
    pub leg: Leg,
    /// The current cycle (a flat leg: the next one to start).
    pub cycle: u32,
    /// The level reached; `None` when flat, or when it cannot be known.
    pub level: Option<u32>,
    /// The cycle's anchor.
    pub anchor: Option<Price>,
    /// The position's average entry.
    pub avg_entry: Option<Price>,
    /// The position's size.
    pub size: Qty,
    /// What the current cycle opened in all (its entry fills; zero when they are not in the
    /// history).
    pub opened: Qty,
    /// The take-profit fills of the current cycle by the level in their ids (with a
    /// take-profit ladder: its tranches; bit `k`: level `k`).
    pub tranches_filled: u32,
    /// Disagreements found.
    pub findings: Vec<Finding>,
}

#[derive(Default)]
struct CycleFills {
    opened: Decimal,
    closed: Decimal,
    opened_value: Decimal,
    level0_qty: Decimal,
    level0_value: Decimal,
    /// Per level: quantity and value (Σ qty · price) filled.
    by_level: BTreeMap<u32, (Decimal, Decimal)>,
    /// Take-profit fills by the level in their ids.
    take_profit_levels: u32,
}

fn vwap(value: Decimal, qty: Decimal) -> Option<Price> {
    if qty.is_zero() { None } else { value.checked_div(qty).and_then(|p| Price::new(p.round_dp(8)).ok()) }
}

/// Analyzes `leg` of `account_tag` from its `position` row and the `executions` of the window.
#[must_use]
pub fn analyze(
    account_tag: &str,
    leg: Leg,
    plan: &GridPlan,
    tick: Decimal,
    position: Option<&Position>,
    executions: &[Execution],
) -> LegAnalysis {
    let size = position.map_or(Qty::ZERO, |p| p.size);
    let avg_entry = position.and_then(|p| p.avg_price).filter(|_| !size.is_zero());
    let mut findings = Vec::new();
    let mut cycles: BTreeMap<u32, CycleFills> = BTreeMap::new();
    let mut foreign = Decimal::ZERO;
    let mut seen = std::collections::BTreeSet::new();
    for e in executions.iter().filter(|e| e.exec_type == ExecType::Trade) {
        if !seen.insert(e.exec_id.as_str()) {
            continue; // a fill reported twice counts once
        }
        let Ok(tag) = LinkTag::decode(&e.order_link_id) else {
            // foreign: count it if it traded this leg's position side
            if e.side == leg.entry_side() && position.is_some_and(|p| p.position_idx == leg.position_idx()) {
                foreign += e.exec_qty.as_decimal();
            }
            continue;
        };
        if tag.account != account_tag || tag.leg != leg {
            continue;
        }
        let c = cycles.entry(tag.cycle).or_default();
        let qty = e.exec_qty.as_decimal();
        match tag.role {
            OrderRole::Balance | OrderRole::Protective => {
                c.opened += qty;
                c.opened_value += qty * e.exec_price.as_decimal();
                let (q, v) = c.by_level.entry(tag.level).or_default();
                *q += qty;
                *v += qty * e.exec_price.as_decimal();
                if tag.role == OrderRole::Balance {
                    c.level0_qty += qty;
                    c.level0_value += qty * e.exec_price.as_decimal();
                }
            }
            OrderRole::TakeProfit => {
                c.closed += qty;
                c.take_profit_levels |= 1u32.checked_shl(tag.level).unwrap_or(0);
            }
            OrderRole::Close => c.closed += qty,
            OrderRole::ClassicLevel => {}
        }
    }
    if !foreign.is_zero() {
        findings.push(Finding::ForeignFills { qty: Qty::new(foreign).unwrap_or(Qty::ZERO) });
    }
    let latest = cycles.iter().next_back().map(|(n, c)| (*n, c));
    if size.is_zero() {
        let cycle = match latest {
            Some((n, c)) if !c.opened.is_zero() => n.saturating_add(1),
            Some((n, _)) => n,
            None => 1,
        };
        return LegAnalysis {
            leg,
            cycle,
            level: None,
            anchor: None,
            avg_entry: None,
            size,
            opened: Qty::ZERO,
            tranches_filled: 0,
            findings,
        };
    }
    match latest {
        Some((n, c)) if !c.opened.is_zero() => {
            let level = c.by_level.keys().next_back().copied();
            let mut anchor = vwap(c.level0_value, c.level0_qty);
            if anchor.is_none()
                && let Some((from, found)) = anchor_from_levels(leg, plan, &c.by_level)
            {
                anchor = Some(found);
                findings.push(Finding::AnchorFromLevel { level: from });
            }
            let from_fills = c.opened - c.closed;
            if from_fills != size.as_decimal() {
                findings.push(Finding::SizeMismatch {
                    from_fills: Qty::new(from_fills.max(Decimal::ZERO)).unwrap_or(Qty::ZERO),
                    position: size,
                });
            } else if c.closed.is_zero()
                && let (Some(fills_avg), Some(pos_avg)) = (vwap(c.opened_value, c.opened), avg_entry)
                && fills_avg.diff(pos_avg).abs() > tick
            {
                findings.push(Finding::AvgPriceMismatch { from_fills: fills_avg, position: pos_avg });
            }
            for (lvl, (filled, _)) in &c.by_level {
                let planned = plan.quantities().get(*lvl as usize).copied().unwrap_or(Qty::ZERO);
                if planned.as_decimal() != *filled {
                    findings.push(Finding::LevelQtyMismatch {
                        level: *lvl,
                        planned,
                        filled: Qty::new(*filled).unwrap_or(Qty::ZERO),
                    });
                }
            }
            // A level without an anchor places nothing right: the level is unknown then (the
            // take-profit still protects the position).
            let level = if anchor.is_some() {
                level
            } else {
                findings.push(Finding::LevelUnknown);
                None
            };
            LegAnalysis {
                leg,
                cycle: n,
                level,
                anchor,
                avg_entry,
                size,
                opened: Qty::new(c.opened).unwrap_or(Qty::ZERO),
                tranches_filled: c.take_profit_levels,
                findings,
            }
        }
        _ => {
            let cycle = latest.map_or(1, |(n, _)| n);
            let (level, anchor) = infer_from_plan(leg, plan, size, avg_entry);
            findings.push(if level.is_some() { Finding::InferredFromPlan } else { Finding::LevelUnknown });
            LegAnalysis { leg, cycle, level, anchor, avg_entry, size, opened: Qty::ZERO, tranches_filled: 0, findings }
        }
    }
}

/// The anchor from the shallowest level with fills (and a planned distance): that level's
/// average fill price over `1 ∓ distance`.
fn anchor_from_levels(leg: Leg, plan: &GridPlan, by_level: &BTreeMap<u32, (Decimal, Decimal)>) -> Option<(u32, Price)> {
    by_level.iter().find_map(|(level, (qty, value))| {
        let distance = plan.distances().get(*level as usize)?;
        let factor = match leg {
            Leg::Long => Decimal::ONE - *distance,
            Leg::Short => Decimal::ONE + *distance,
        };
        let price = value.checked_div(*qty)?;
        let anchor = price.checked_div(factor)?;
        Price::new(anchor.round_dp(8)).ok().map(|a| (*level, a))
    })
}

/// The level whose cumulative planned size equals `size`, and the anchor whose planned prices
/// average to `avg_entry`.
fn infer_from_plan(leg: Leg, plan: &GridPlan, size: Qty, avg_entry: Option<Price>) -> (Option<u32>, Option<Price>) {
    let mut cum = Decimal::ZERO;
    let mut weighted = Decimal::ZERO;
    for (level, (q, d)) in (0u32..).zip(plan.quantities().iter().zip(plan.distances())) {
        let q = q.as_decimal();
        cum += q;
        weighted += q * match leg {
            Leg::Long => Decimal::ONE - *d,
            Leg::Short => Decimal::ONE + *d,
        };
        if cum == size.as_decimal() {
            let anchor = avg_entry.and_then(|avg| {
                let factor = weighted.checked_div(cum)?;
                avg.as_decimal().checked_div(factor).and_then(|a| Price::new(a.round_dp(8)).ok())
            });
            return (Some(level), anchor);
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use gridbot_core::reference::bybit_btcusdt;
    use gridbot_core::{OrderType, PositionStatus, Symbol};
    use gridbot_grid::ProgressiveParams;
    use proptest::prelude::*;

    use super::*;

    fn plan() -> GridPlan {
        let params = ProgressiveParams { max_levels: 5, ..ProgressiveParams::with_base_qty("0.001".parse().unwrap()) };
        GridPlan::from_atr_pct_ema(&params, 0.01, &bybit_btcusdt(), 0).unwrap()
    }

    fn fill(n: u32, leg: Leg, cycle: u32, role: OrderRole, level: u32, price: Decimal, qty: Decimal) -> Execution {
        let link = LinkTag { account: "acc".into(), leg, cycle, role, level, nonce: n }.encode().unwrap();
        let side = if matches!(role, OrderRole::TakeProfit | OrderRole::Close) {
            leg.entry_side().opposite()
        } else {
            leg.entry_side()
        };
        Execution {
            exec_id: format!("e{n}"),
            order_id: format!("o{n}"),
            order_link_id: link.as_str().to_owned(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side,
            exec_type: ExecType::Trade,
            order_type: OrderType::Limit,
            exec_price: Price::new(price).unwrap(),
            exec_qty: Qty::new(qty).unwrap(),
            exec_value: price * qty,
            exec_fee: Decimal::ZERO,
            fee_rate: Decimal::ZERO,
            is_maker: true,
            closed_size: Qty::ZERO,
            exec_time_ms: i64::from(n),
        }
    }

    fn position(leg: Leg, size: Decimal, avg: Decimal) -> Position {
        Position {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            position_idx: leg.position_idx(),
            side: Some(leg.entry_side()),
            size: Qty::new(size).unwrap(),
            avg_price: Some(Price::new(avg).unwrap()),
            position_value: size * avg,
            leverage: Decimal::ONE,
            mark_price: None,
            liq_price: None,
            unrealised_pnl: Decimal::ZERO,
            cum_realised_pnl: Decimal::ZERO,
            position_im: Decimal::ZERO,
            position_mm: Decimal::ZERO,
            status: PositionStatus::Normal,
            updated_time_ms: 0,
        }
    }

    #[test]
    fn a_cycle_whose_balance_fill_is_missing_takes_its_anchor_from_the_shallowest_level() {
        let plan = plan();
        let anchor = Decimal::from(30_000);
        let level_price = |level: u32| plan.raw_level_price(Leg::Long, Price::new(anchor).unwrap(), level).unwrap();
        let q = |level: usize| plan.quantities()[level].as_decimal();
        // Cycle 6 of the long leg: levels 1 and 2 filled, its balance fill not in the history.
        let fills = [
            fill(1, Leg::Long, 6, OrderRole::Protective, 1, level_price(1).as_decimal(), q(1)),
            fill(2, Leg::Long, 6, OrderRole::Protective, 2, level_price(2).as_decimal(), q(2)),
        ];
        let size = q(1) + q(2);
        let a = analyze("acc", Leg::Long, &plan, Decimal::new(1, 1), Some(&position(Leg::Long, size, anchor)), &fills);
        assert_eq!((a.cycle, a.level), (6, Some(2)), "{:?}", a.findings);
        let found = a.anchor.unwrap().as_decimal();
        assert!((found - anchor).abs() < Decimal::new(1, 6), "anchor {found}");
        assert!(a.findings.contains(&Finding::AnchorFromLevel { level: 1 }), "{:?}", a.findings);
    }

    proptest! {
        /// Whatever mix of our fills the history holds, an open leg's level comes with an
        /// anchor, or it is unknown (a snapshot with a level and no anchor is refused, and a
        /// restart that produced one reconciled without end).
        #[test]
        fn an_open_level_always_has_an_anchor(
            fills in prop::collection::vec((0u32..3, 0usize..4, 0u32..6, 1u32..5), 0..12),
            size in 1u32..40,
        ) {
            let plan = plan();
            let roles = [OrderRole::Balance, OrderRole::Protective, OrderRole::TakeProfit, OrderRole::Close];
            let executions: Vec<Execution> = fills
                .iter()
                .enumerate()
                .map(|(n, (cycle, role, level, qty))| {
                    let role = roles[*role];
                    let level = if role == OrderRole::Balance { 0 } else { *level };
                    let n = u32::try_from(n).unwrap();
                    fill(n, Leg::Short, *cycle, role, level, Decimal::from(30_000 + 10 * n), Decimal::new(i64::from(*qty), 3))
                })
                .collect();
            let pos = position(Leg::Short, Decimal::new(i64::from(size), 3), Decimal::from(30_100));
            let a = analyze("acc", Leg::Short, &plan, Decimal::new(1, 1), Some(&pos), &executions);
            prop_assert!(a.level.is_none() || a.anchor.is_some(), "{a:?}");
        }
    }
}
