//! The PnL the exchange booked for each exit fill, replayed from its own fills: the fills a
//! restart or a reconciliation journals are priced against the position as the exchange held
//! it, not against legs as a snapshot remembered them (a snapshot can be older than a fill the
//! journal already holds, and then its legs mislead; found by the chaos runner).
//!
//! How: per leg, our fills in the window are walked back from the position's size now to the
//! earliest moment the window shows the leg flat, then forward with average-cost accounting — an entry moves the
//! average, an exit realises `(exit − average) × qty` (short: the other way) and leaves the
//! average, a flat leg forgets it — exactly as the exchange books a hedge-mode position. A leg
//! is answered only when the walk is consistent: it finds a flat point, never goes below zero,
//! and ends at the position's size and (within a tick's worth) its average.

use std::collections::HashMap;

use gridbot_core::{Decimal, ExecType, Execution, Leg, Price, Qty};
use gridbot_recovery::LinkTag;

/// `(size, average entry)` of a leg as the exchange holds it now.
pub type LegNow = (Qty, Option<Price>);

/// The realised PnL (USDT, 8 places) of every exit fill of `tag`'s legs in `fills` that the
/// exchange's own fills explain, by execution id. `now` is `[long, short]`.
#[must_use]
pub fn exchange_realised(tag: &str, fills: &[Execution], now: [LegNow; 2]) -> HashMap<String, Decimal> {
    let mut out = HashMap::new();
    for (leg, (size_now, avg_now)) in Leg::BOTH.into_iter().zip(now) {
        let mut seen = std::collections::HashSet::new();
        let mut list: Vec<(&Execution, bool)> = fills
            .iter()
            .filter(|e| e.exec_type == ExecType::Trade && seen.insert(e.exec_id.as_str()))
            .filter_map(|e| {
                let t = LinkTag::decode(&e.order_link_id).ok()?;
                (t.account == tag && t.leg == leg).then_some((e, e.side == leg.entry_side()))
            })
            .collect();
        list.sort_by(|a, b| a.0.exec_time_ms.cmp(&b.0.exec_time_ms).then(a.0.exec_id.cmp(&b.0.exec_id)));
        // Walk back from now to the earliest moment in the window the leg was flat.
        let mut size = size_now.as_decimal();
        let mut start = None;
        for (i, (e, entry)) in list.iter().enumerate().rev() {
            let q = e.exec_qty.as_decimal();
            size = if *entry { size - q } else { size + q };
            if size < Decimal::ZERO {
                break;
            }
            if size.is_zero() {
                start = Some(i);
            }
        }
        let Some(start) = start else { continue };
        let mut size = Decimal::ZERO;
        let mut avg: Option<Decimal> = None;
        let mut answers = Vec::new();
        let mut consistent = true;
        for (e, entry) in &list[start..] {
            let (p, q) = (e.exec_price.as_decimal(), e.exec_qty.as_decimal());
            if *entry {
                let total = size + q;
                avg = (avg.unwrap_or(p) * size + p * q).checked_div(total);
                size = total;
            } else {
                let Some(a) = avg else {
                    consistent = false;
                    break;
                };
                if q > size {
                    consistent = false;
                    break;
                }
                let pnl = match leg {
                    Leg::Long => (p - a) * q,
                    Leg::Short => (a - p) * q,
                };
                answers.push((e.exec_id.clone(), gridbot_core::usdt(pnl)));
                size -= q;
                if size.is_zero() {
                    avg = None;
                }
            }
        }
        let avg_agrees = match (avg, avg_now) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b.as_decimal()).abs() <= b.as_decimal() * Decimal::new(1, 6),
            // The exchange may show an average on a flat leg, or none on a tiny one.
            _ => size.is_zero(),
        };
        if consistent && size == size_now.as_decimal() && avg_agrees {
            out.extend(answers);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use gridbot_core::{OrderRole, OrderType, Side, Symbol};

    use super::*;

    fn fill(n: u32, cycle: u32, role: OrderRole, level: u32, side: Side, price: &str, qty: &str) -> Execution {
        let tag = LinkTag { account: "p".into(), leg: Leg::Short, cycle, role, level, nonce: n };
        let (price, qty): (Price, Qty) = (price.parse().unwrap(), qty.parse().unwrap());
        Execution {
            exec_id: format!("e{n}"),
            order_id: format!("o{n}"),
            order_link_id: tag.encode().unwrap().as_str().to_owned(),
            symbol: Symbol::new("ETHUSDT").unwrap(),
            side,
            exec_type: ExecType::Trade,
            order_type: OrderType::Limit,
            exec_price: price,
            exec_qty: qty,
            exec_value: price.as_decimal() * qty.as_decimal(),
            exec_fee: Decimal::ZERO,
            fee_rate: Decimal::ZERO,
            is_maker: true,
            closed_size: Qty::ZERO,
            exec_time_ms: i64::from(n),
        }
    }

    /// The chaos runner's case: a cycle's take-profit closes the leg, a protective order of the
    /// same cycle fills after it (before its cancel) and reopens the leg, whose next exit is
    /// priced against that protective fill alone — not against an average that still holds the
    /// closed entry.
    #[test]
    fn a_leg_reopened_within_its_cycle_is_priced_from_the_flat_point() {
        let fills = [
            fill(1, 95, OrderRole::Balance, 0, Side::Sell, "2519.53", "0.05"),
            fill(2, 95, OrderRole::TakeProfit, 0, Side::Buy, "2510.29", "0.05"),
            fill(3, 95, OrderRole::Protective, 1, Side::Sell, "2533.25", "0.1"),
            fill(4, 95, OrderRole::TakeProfit, 1, Side::Buy, "2523.85", "0.1"),
            fill(5, 96, OrderRole::Balance, 0, Side::Sell, "2530", "0.05"),
        ];
        let now = [(Qty::ZERO, None), ("0.05".parse().unwrap(), Some("2530".parse().unwrap()))];
        let pnl = exchange_realised("p", &fills, now);
        assert_eq!(pnl.get("e2"), Some(&"0.462".parse().unwrap()));
        assert_eq!(pnl.get("e4"), Some(&"0.94".parse().unwrap()));
        assert_eq!(pnl.len(), 2);
        // A position the fills do not explain (a fill missing from the window): no answer.
        let wrong = [(Qty::ZERO, None), ("0.15".parse().unwrap(), Some("2530".parse().unwrap()))];
        assert!(exchange_realised("p", &fills, wrong).is_empty());
    }
}
