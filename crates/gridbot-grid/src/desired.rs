//! Which orders a progressive leg needs resting — the one answer the trading strategy and
//! crash recovery both use, so that a recovery finds exactly the orders the strategy would
//! have placed (and leaves them alone) and the strategy carries on from what recovery placed.
//!
//! - A flat leg needs its *balance* (entry) order: PostOnly at the touch (best bid for the long
//!   leg, best ask for the short), level 0, the plan's first quantity. Without a touch there is
//!   nothing to place it at, and the leg needs nothing yet.
//! - An open leg needs its *take-profit*: reduce-only GTC at the average entry ± the plan's
//!   take-profit distance, for the whole size, tagged with the leg's level (0 when unknown).
//! - An open leg at a known level below the plan's deepest, with its cycle's anchor, needs the
//!   *protective* order of the next level: PostOnly at the plan's price for that level.
//!
//! - With a take-profit ladder ([`TakeProfitLadder`]) the take-profit is several reduce-only
//!   tranches instead — each a share of the size the cycle opened, at its own distance from
//!   the average entry, tagged with the tranche's index — of which the ones not filled yet are
//!   wanted; the last of them takes whatever the leg holds beyond the others. Once a tranche
//!   has filled the leg is on its way out: no protective order any more.
//!
//! Each order is computed on its own: a level whose price does not fit the instrument does not
//! cost the leg its take-profit. Callers decide what an error means (recovery stops, the
//! strategy logs it and places the rest).

use gridbot_core::{Decimal, Instrument, Leg, OrderRole, Price, Qty, Side, TimeInForce};

use crate::{GridError, GridPlan};

/// Where one leg of a progressive grid stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegPosition {
    /// Its size (zero: flat).
    pub size: Qty,
    /// Its level, when known (`None` while flat or when history could not tell).
    pub level: Option<u32>,
    /// The cycle's anchor: the balance order's average fill price.
    pub anchor: Option<Price>,
    /// The average entry price.
    pub avg_entry: Option<Price>,
    /// What the cycle opened in all (entries filled); zero when unknown (then: `size`).
    pub opened: Qty,
    /// The take-profit ladder's tranches that filled this cycle (bit `k`: tranche `k`).
    pub tranches_filled: u32,
}

/// One tranche of a take-profit ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tranche {
    /// Its share of the size the cycle opened (the shares of a ladder add up to 1).
    pub share: Decimal,
    /// Its distance from the average entry, a fraction (above for the long leg).
    pub distance: Decimal,
}

/// A take-profit in tranches, nearest first (a fixed array, so settings holding it stay `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakeProfitLadder {
    tranches: [Tranche; Self::MAX_TRANCHES],
    len: usize,
}

impl TakeProfitLadder {
    /// The most tranches a ladder has.
    pub const MAX_TRANCHES: usize = 8;

    /// A ladder of 2 to 8 tranches whose shares are positive and add up to 1 and whose
    /// distances grow, each inside (0, 0.5).
    pub fn new(tranches: Vec<Tranche>) -> Result<Self, GridError> {
        let bad = |reason: String| GridError::InvalidParameter { name: "take_profit_tranches", reason };
        if !(2..=Self::MAX_TRANCHES).contains(&tranches.len()) {
            return Err(bad(format!("expected 2 to {} tranches, got {}", Self::MAX_TRANCHES, tranches.len())));
        }
        if tranches.iter().any(|t| t.share <= Decimal::ZERO) {
            return Err(bad("every share must be positive".into()));
        }
        let total: Decimal = tranches.iter().map(|t| t.share).sum();
        if total != Decimal::ONE {
            return Err(bad(format!("the shares add up to {total}, not 1")));
        }
        let half = Decimal::new(5, 1);
        if tranches.iter().any(|t| t.distance <= Decimal::ZERO || t.distance >= half) {
            return Err(bad("every distance must be above 0 and below 0.5".into()));
        }
        if tranches.windows(2).any(|w| w[1].distance <= w[0].distance) {
            return Err(bad("distances must grow from one tranche to the next".into()));
        }
        let mut fixed = [Tranche::default(); Self::MAX_TRANCHES];
        fixed[..tranches.len()].copy_from_slice(&tranches);
        Ok(Self { tranches: fixed, len: tranches.len() })
    }

    /// The tranches, nearest first.
    #[must_use]
    pub fn tranches(&self) -> &[Tranche] {
        &self.tranches[..self.len]
    }

    /// The take-profit orders still wanted for an open leg: `(tranche, qty, price)` of every
    /// tranche not filled yet, the last of them sized to what the leg holds beyond the others;
    /// a tranche too small for the instrument joins the next one.
    fn wanted(
        &self,
        leg: Leg,
        position: &LegPosition,
        avg: Price,
        instrument: &Instrument,
    ) -> Vec<Result<(u32, Qty, Price), GridError>> {
        let opened = if position.opened.is_zero() { position.size } else { position.opened };
        let count = u32::try_from(self.len).unwrap_or(u32::MAX);
        let mut open: Vec<u32> = (0..count).filter(|k| position.tranches_filled & (1 << k) == 0).collect();
        if open.is_empty() {
            // Every tranche has filled (one only in part) and something is left: the last
            // tranche takes it.
            open.push(count.saturating_sub(1));
        }
        let mut out = Vec::new();
        let mut left = position.size;
        for (n, &k) in open.iter().enumerate() {
            let t = self.tranches[k as usize];
            let last = n + 1 == open.len();
            let qty = if last {
                left
            } else {
                let q = instrument.round_qty(Qty::new(opened.as_decimal() * t.share).unwrap_or(Qty::ZERO));
                if q < instrument.min_order_qty() || q >= left {
                    continue; // too small (or all there is): the next tranche takes it
                }
                q
            };
            if qty.is_zero() {
                continue;
            }
            left = left.checked_sub(qty).unwrap_or(Qty::ZERO);
            let factor = match leg {
                Leg::Long => Decimal::ONE + t.distance,
                Leg::Short => Decimal::ONE - t.distance,
            };
            out.push(
                avg.checked_mul(factor).ok_or(GridError::Overflow { what: "take-profit price", level: k }).and_then(
                    |raw| {
                        let price = instrument.round_price(leg.exit_side(), raw);
                        crate::checks::check_price(k, price, instrument).map(|()| (k, qty, price))
                    },
                ),
            );
        }
        out
    }
}

/// One order a leg needs resting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredOrder {
    /// Balance, take-profit or protective.
    pub role: OrderRole,
    /// The level it belongs to.
    pub level: u32,
    /// Buy or sell.
    pub side: Side,
    /// Size.
    pub qty: Qty,
    /// Limit price, rounded to the instrument.
    pub price: Price,
    /// PostOnly for entries, GTC for the take-profit.
    pub time_in_force: TimeInForce,
    /// True for the take-profit.
    pub reduce_only: bool,
}

/// The orders `leg` needs, in placing order (take-profit before protective); `touch` is the
/// best bid (long) or ask (short) a balance order would rest at.
#[must_use]
pub fn desired_orders(
    plan: &GridPlan,
    leg: Leg,
    position: &LegPosition,
    touch: Option<Price>,
    instrument: &Instrument,
    ladder: Option<&TakeProfitLadder>,
) -> Vec<Result<DesiredOrder, GridError>> {
    let mut out = Vec::with_capacity(2);
    if position.size.is_zero() {
        if let Some(price) = touch {
            let qty = plan.quantities().first().copied().unwrap_or(Qty::ZERO);
            out.push(Ok(DesiredOrder {
                role: OrderRole::Balance,
                level: 0,
                side: leg.entry_side(),
                qty,
                price,
                time_in_force: TimeInForce::PostOnly,
                reduce_only: false,
            }));
        }
        return out;
    }
    if let (Some(avg), Some(ladder)) = (position.avg_entry, ladder) {
        for wanted in ladder.wanted(leg, position, avg, instrument) {
            out.push(wanted.map(|(k, qty, price)| DesiredOrder {
                role: OrderRole::TakeProfit,
                level: k,
                side: leg.exit_side(),
                qty,
                price,
                time_in_force: TimeInForce::Gtc,
                reduce_only: true,
            }));
        }
        if position.tranches_filled != 0 {
            return out; // on its way out: no more averaging
        }
    } else if let Some(avg) = position.avg_entry {
        out.push(plan.take_profit_price(leg, avg, instrument).map(|price| DesiredOrder {
            role: OrderRole::TakeProfit,
            level: position.level.unwrap_or(0),
            side: leg.exit_side(),
            qty: position.size,
            price,
            time_in_force: TimeInForce::Gtc,
            reduce_only: true,
        }));
    }
    if let (Some(level), Some(anchor)) = (position.level, position.anchor)
        && level < plan.max_level()
    {
        let next = level + 1;
        if let Some(&qty) = plan.quantities().get(next as usize) {
            out.push(plan.level_price(leg, anchor, next, instrument).map(|price| DesiredOrder {
                role: OrderRole::Protective,
                level: next,
                side: leg.entry_side(),
                qty,
                price,
                time_in_force: TimeInForce::PostOnly,
                reduce_only: false,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use gridbot_core::reference::bybit_btcusdt;

    use super::*;
    use crate::{ProgressiveParams, TakeProfitRule};

    fn plan() -> GridPlan {
        let params = ProgressiveParams {
            max_levels: 3,
            take_profit: TakeProfitRule::Fraction(0.004),
            ..ProgressiveParams::with_base_qty("0.001".parse().unwrap())
        };
        GridPlan::from_atr_pct_ema(&params, 0.02, &bybit_btcusdt(), 0).unwrap()
    }

    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    #[test]
    fn a_flat_leg_needs_its_balance_order_at_the_touch_and_nothing_without_one() {
        let plan = plan();
        let flat = LegPosition::default();
        let wants = desired_orders(&plan, Leg::Short, &flat, Some(p("30000.5")), &bybit_btcusdt(), None);
        let [Ok(balance)] = wants.as_slice() else { panic!("{wants:?}") };
        assert_eq!((balance.role, balance.level, balance.side), (OrderRole::Balance, 0, Side::Sell));
        assert_eq!(
            (balance.price, balance.qty, balance.time_in_force),
            (p("30000.5"), plan.quantities()[0], TimeInForce::PostOnly)
        );
        assert!(desired_orders(&plan, Leg::Long, &flat, None, &bybit_btcusdt(), None).is_empty());
    }

    #[test]
    fn an_open_leg_needs_its_take_profit_then_the_next_protective_until_the_deepest_level() {
        let plan = plan();
        let i = bybit_btcusdt();
        let anchor = p("30000");
        let open = LegPosition {
            size: plan.quantities()[0],
            level: Some(0),
            anchor: Some(anchor),
            avg_entry: Some(anchor),
            ..LegPosition::default()
        };
        let wants: Vec<DesiredOrder> =
            desired_orders(&plan, Leg::Long, &open, Some(p("1")), &i, None).into_iter().map(Result::unwrap).collect();
        assert_eq!(wants.len(), 2);
        assert_eq!((wants[0].role, wants[0].side, wants[0].reduce_only), (OrderRole::TakeProfit, Side::Sell, true));
        assert_eq!(wants[0].price, plan.take_profit_price(Leg::Long, anchor, &i).unwrap());
        assert_eq!((wants[1].role, wants[1].level, wants[1].qty), (OrderRole::Protective, 1, plan.quantities()[1]));
        assert_eq!(wants[1].price, plan.level_price(Leg::Long, anchor, 1, &i).unwrap());
        // At the deepest level only the take-profit remains; an unknown level gets no protective.
        for level in [Some(3), None] {
            let deep = LegPosition { level, ..open };
            let wants = desired_orders(&plan, Leg::Long, &deep, None, &i, None);
            assert_eq!(wants.len(), 1, "{level:?}");
            assert_eq!(wants[0].as_ref().unwrap().level, level.unwrap_or(0));
        }
    }

    fn ladder() -> TakeProfitLadder {
        let t = |share: &str, distance: &str| Tranche {
            share: share.parse().unwrap(),
            distance: distance.parse().unwrap(),
        };
        TakeProfitLadder::new(vec![t("0.2", "0.002"), t("0.3", "0.004"), t("0.5", "0.006")]).unwrap()
    }

    #[test]
    fn a_ladder_rests_every_tranche_and_after_the_first_fill_only_the_rest() {
        let plan = plan();
        let i = bybit_btcusdt();
        let avg = p("30000");
        let open = LegPosition {
            size: "0.010".parse().unwrap(),
            level: Some(1),
            anchor: Some(avg),
            avg_entry: Some(avg),
            ..LegPosition::default()
        };
        let wants: Vec<DesiredOrder> = desired_orders(&plan, Leg::Long, &open, None, &i, Some(&ladder()))
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let tps: Vec<_> = wants.iter().filter(|w| w.role == OrderRole::TakeProfit).collect();
        assert_eq!(
            tps.iter().map(|w| (w.level, w.qty.to_string(), w.price.to_string())).collect::<Vec<_>>(),
            vec![
                (0, "0.002".into(), "30060".into()),
                (1, "0.003".into(), "30120".into()),
                (2, "0.005".into(), "30180".into()),
            ]
        );
        assert!(wants.iter().any(|w| w.role == OrderRole::Protective), "still averaging before any tranche");
        // Tranche 0 filled: the rest, no protective order.
        let later = LegPosition {
            size: "0.008".parse().unwrap(),
            opened: "0.010".parse().unwrap(),
            tranches_filled: 1,
            ..open
        };
        let wants: Vec<DesiredOrder> = desired_orders(&plan, Leg::Long, &later, None, &i, Some(&ladder()))
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            wants.iter().map(|w| (w.role, w.level, w.qty.to_string())).collect::<Vec<_>>(),
            vec![(OrderRole::TakeProfit, 1, "0.003".into()), (OrderRole::TakeProfit, 2, "0.005".into()),]
        );
    }

    #[test]
    fn ladders_are_checked() {
        let t = |share: &str, distance: &str| Tranche {
            share: share.parse().unwrap(),
            distance: distance.parse().unwrap(),
        };
        assert!(TakeProfitLadder::new(vec![t("1", "0.01")]).is_err(), "one tranche is a take-profit");
        assert!(TakeProfitLadder::new(vec![t("0.5", "0.01"), t("0.4", "0.02")]).is_err(), "shares add to 1");
        assert!(TakeProfitLadder::new(vec![t("0.5", "0.02"), t("0.5", "0.01")]).is_err(), "distances grow");
    }

    proptest::proptest! {
        /// The tranches of any ladder, at any point of the cycle, add up to the position: none
        /// closes more than the leg holds, and together they close all of it.
        #[test]
        fn tranches_sum_to_the_position(
            shares in proptest::collection::vec(1u32..50, 2..6),
            opened_steps in 1u32..2_000,
            filled_mask in 0u32..32,
            sold_steps in 0u32..2_000,
        ) {
            let total: u32 = shares.iter().sum();
            // Shares in hundredths of the total, the last taking the rounding.
            let mut parts: Vec<Decimal> = shares.iter().map(|s| Decimal::from(*s) / Decimal::from(total)).map(|d| d.round_dp(6)).collect();
            let head: Decimal = parts[..parts.len() - 1].iter().sum();
            let last = parts.len() - 1;
            parts[last] = Decimal::ONE - head;
            proptest::prop_assume!(parts[last] > Decimal::ZERO);
            let tranches: Vec<Tranche> = parts
                .iter()
                .enumerate()
                .map(|(k, share)| Tranche { share: *share, distance: Decimal::new(i64::try_from(k).unwrap() + 1, 3) })
                .collect();
            let ladder = TakeProfitLadder::new(tranches).unwrap();
            let i = bybit_btcusdt();
            let step = i.qty_step();
            let opened = Qty::new(Decimal::from(opened_steps) * step).unwrap();
            let mask = filled_mask & ((1 << ladder.tranches().len()) - 1);
            let size = if mask == 0 { opened } else { Qty::new(Decimal::from(opened_steps.saturating_sub(sold_steps).max(1)) * step).unwrap() };
            let position = LegPosition {
                size,
                level: Some(1),
                anchor: Some(p("30000")),
                avg_entry: Some(p("30000")),
                opened,
                tranches_filled: mask,
            };
            let wants: Vec<DesiredOrder> = desired_orders(&plan(), Leg::Short, &position, None, &i, Some(&ladder))
                .into_iter()
                .map(Result::unwrap)
                .filter(|w| w.role == OrderRole::TakeProfit)
                .collect();
            let sum: Decimal = wants.iter().map(|w| w.qty.as_decimal()).sum();
            proptest::prop_assert_eq!(sum, size.as_decimal());
            let all = (1u32 << ladder.tranches().len()) - 1;
            proptest::prop_assert!(wants.iter().all(|w| (mask == all || mask & (1 << w.level) == 0) && w.reduce_only));
        }
    }
}
