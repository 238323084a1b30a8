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
//! Each order is computed on its own: a level whose price does not fit the instrument does not
//! cost the leg its take-profit. Callers decide what an error means (recovery stops, the
//! strategy logs it and places the rest).

use gridbot_core::{Instrument, Leg, OrderRole, Price, Qty, Side, TimeInForce};

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
    if let Some(avg) = position.avg_entry {
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
        let wants = desired_orders(&plan, Leg::Short, &flat, Some(p("30000.5")), &bybit_btcusdt());
        let [Ok(balance)] = wants.as_slice() else { panic!("{wants:?}") };
        assert_eq!((balance.role, balance.level, balance.side), (OrderRole::Balance, 0, Side::Sell));
        assert_eq!(
            (balance.price, balance.qty, balance.time_in_force),
            (p("30000.5"), plan.quantities()[0], TimeInForce::PostOnly)
        );
        assert!(desired_orders(&plan, Leg::Long, &flat, None, &bybit_btcusdt()).is_empty());
    }

    #[test]
    fn an_open_leg_needs_its_take_profit_then_the_next_protective_until_the_deepest_level() {
        let plan = plan();
        let i = bybit_btcusdt();
        let anchor = p("30000");
        let open =
            LegPosition { size: plan.quantities()[0], level: Some(0), anchor: Some(anchor), avg_entry: Some(anchor) };
        let wants: Vec<DesiredOrder> =
            desired_orders(&plan, Leg::Long, &open, Some(p("1")), &i).into_iter().map(Result::unwrap).collect();
        assert_eq!(wants.len(), 2);
        assert_eq!((wants[0].role, wants[0].side, wants[0].reduce_only), (OrderRole::TakeProfit, Side::Sell, true));
        assert_eq!(wants[0].price, plan.take_profit_price(Leg::Long, anchor, &i).unwrap());
        assert_eq!((wants[1].role, wants[1].level, wants[1].qty), (OrderRole::Protective, 1, plan.quantities()[1]));
        assert_eq!(wants[1].price, plan.level_price(Leg::Long, anchor, 1, &i).unwrap());
        // At the deepest level only the take-profit remains; an unknown level gets no protective.
        for level in [Some(3), None] {
            let deep = LegPosition { level, ..open };
            let wants = desired_orders(&plan, Leg::Long, &deep, None, &i);
            assert_eq!(wants.len(), 1, "{level:?}");
            assert_eq!(wants[0].as_ref().unwrap().level, level.unwrap_or(0));
        }
    }
}
