//! # gridbot-risk
//!
//! The risk engine: [`evaluate`] turns a [`RiskSnapshot`] (one account and symbol: both legs,
//! their orders, the wallet, the risk limit, the book, now, and what risk remembered last time)
//! into a [`RiskDecision`] (blocked actions per leg, closes, re-prices, alerts naming the level,
//! and the memory to persist). Pure: no I/O, no clock but `snapshot.now_ms`, no randomness; the
//! engine consults it before every command.
//!
//! ## The levels (ARCHITECTURE §5) — trigger, response, interpretation
//!
//! | # | trigger (inclusive unless stated) | response |
//! |---|---|---|
//! | 1 | account IM rate ≥ `im_rate_block` (0.90) | block balance and protective orders on both legs; re-price resting balance orders to `balance_reprice_offset` (0.01%) from the market |
//! | 2 | account IM rate ≥ `im_rate_close_in_profit` (0.80) and the leg's unrealised PnL > 0 | close the leg |
//! | 3 | the leg's PnL peak ≥ `trailing_activation` (0.5%) × position value, then PnL ≤ peak × (1 − `trailing_pullback` (30%)) | close the leg |
//! | 4 | position value **>** `position_value_limit` (40%) × the symbol's risk limit (strict, as ARCHITECTURE §5 writes it) | block the leg's balance and protective orders |
//! | 5 | the leg has been at the plan's max level for ≥ `max_level_timeout_ms` (72 h) | force-close the leg |
//! | 6 | both legs open with unrealised PnL > `both_in_profit_min_pnl` (0) | close both |
//! | 7 | coverage < `tp_safety_enter` (1.05); leave only when coverage > `tp_safety_leave` (1.10) | enter TP-safety mode, alert once on entry |
//! | 8 | the leg is in TP-safety mode | block protective orders; the take-profit stays allowed |
//! | 9 | level-ups in the window (now − 48 h, now] ≥ `ceil(max_level × 0.5)` | block protective (deeper) orders |
//! | 10 | the account's emergency-stop flag exists | halt: block everything, no closes, alert; only removing the flag resumes |
//! | KS | equity ≤ (1 − `daily_drawdown_kill` (10%)) × the UTC day's peak equity | cancel all orders and halt; latched until `RiskMemory::reset_kill_switch` |
//! | EX | Σ position value / equity **>** `max_exposure` (5×), or equity ≤ 0 | block balance and protective orders on both legs |
//! | MK | a PostOnly buy at or above the best ask, or sell at or below the best bid | the order is not sent ([`maker_check`], [`RiskDecision::permits_post_only`]) |
//!
//! Interpretations, where the reference text is ambiguous:
//! - *"Block the workflow"* (L1) means no new entries or averaging orders; take-profits and
//!   risk closes still go out, because they reduce margin. *"Move balance orders to 0.01% from
//!   market"* re-prices only resting balance orders that are farther from the market than that,
//!   on their passive side (buy: best bid − 0.01%; sell: best ask + 0.01%), so a re-price can
//!   never cross.
//! - *"High IM rate"* (L2) is a parameter below L1's threshold (default 80%): closing a winning
//!   leg is how margin is freed before L1 stops the workflow.
//! - The trailing stop (L3) needs an activation level, or any first tick of profit followed by
//!   a tick down would close; PnL peaks are per open position and reset when the leg is flat.
//! - TP-safety *coverage* (L7) = (available balance + the position's initial margin + the profit
//!   the TP realises) / (size × TP price / leverage): what the account would have after the TP
//!   fills, against the margin needed to reopen the same size at that price. Leverage enters
//!   both sides. Hysteresis: enter below 1.05, leave only above 1.10.
//! - Level-ups (L9) are recorded by the engine on protective fills
//!   ([`RiskMemory::record_level_up`]); a level-up at `t` counts until `t + 48 h − 1 ms`.
//! - The kill switch measures the UTC day (00:00 UTC, whatever the operator's time zone) and
//!   latches: re-arming automatically the next day could re-enter the same crash.
//! - Emergency stop does not cancel orders (the operator decides); the kill switch does.
//!
//! ## Precedence
//!
//! Emergency stop > kill switch > closes (L5 > L6 > L2 > L3) > blocks (L1 > L4 > exposure > L8 >
//! L9) > maker check. A halt returns before any close or re-price. A leg being closed has every
//! action blocked by its close (never close and reopen in one decision) and no re-prices.
//! Attribution: each blocked action names the first level, in this order, that blocked it.
//!
//! ## Example
//!
//! ```
//! use gridbot_core::{Price, Side};
//! use gridbot_risk::{RiskParams, maker_check};
//!
//! let (bid, ask): (Price, Price) = ("100.0".parse()?, "100.1".parse()?);
//! // A PostOnly buy at the ask would take liquidity: it is not sent.
//! assert!(maker_check(Side::Buy, ask, Some(bid), Some(ask)).is_err());
//! assert!(maker_check(Side::Buy, bid, Some(bid), Some(ask)).is_ok());
//! // Every threshold has a default and is checked when configured.
//! let params = RiskParams { im_rate_block: 5.0, ..RiskParams::default() };
//! assert!(params.validate().is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod decision;
mod evaluate;
mod maker;
mod params;
mod snapshot;

pub use decision::{Action, Alert, Blocks, LegDecision, Reprice, RiskDecision, RiskLevel};
pub use evaluate::{calm_until, evaluate};
pub use maker::{MakerViolation, maker_check};
pub use params::{InvalidRiskParam, RiskParams};
pub use snapshot::{
    AccountMemory, AccountView, KillSwitchTrip, LegMemory, LegPair, LegSnapshot, OrderView, RiskMemory, RiskSnapshot,
};

#[cfg(test)]
mod tests;
