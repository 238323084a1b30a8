//! What the exchange reports about an account: executions (fills and funding), positions and
//! the UNIFIED wallet.
//!
//! Money is `Decimal` (signed: PnL, fees and rebates), prices and sizes are `Price` / `Qty`.
//! Rates such as `account_im_rate` stay `Decimal` here, exactly as received; the risk engine
//! converts them to `f64` at its own named boundary.

use rust_decimal::Decimal;

use crate::enums::{ExecType, OrderType, PositionIdx, PositionStatus, Side};
use crate::ids::Symbol;
use crate::num::{Price, Qty};

/// One fill, or one funding charge (`exec_type == Funding`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Execution {
    /// Unique execution id (journal rows are idempotent on it).
    pub exec_id: String,
    /// Exchange order id.
    pub order_id: String,
    /// Client order id of the order (`""` for funding and foreign orders).
    pub order_link_id: String,
    /// Instrument.
    pub symbol: Symbol,
    /// Side of the order that filled.
    pub side: Side,
    /// Trade, funding, liquidation, ...
    pub exec_type: ExecType,
    /// Order type (`Unknown` for funding).
    pub order_type: OrderType,
    /// Fill price.
    pub exec_price: Price,
    /// Fill size.
    pub exec_qty: Qty,
    /// `exec_price × exec_qty`.
    pub exec_value: Decimal,
    /// Fee charged (negative for a rebate).
    pub exec_fee: Decimal,
    /// Fee rate applied.
    pub fee_rate: Decimal,
    /// True when this side provided liquidity.
    pub is_maker: bool,
    /// Size of the position this fill closed.
    pub closed_size: Qty,
    /// Execution time, UTC ms.
    pub exec_time_ms: i64,
}

/// One leg of a position (in hedge mode each symbol has a `Long` and a `Short` row).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Instrument.
    pub symbol: Symbol,
    /// Which leg.
    pub position_idx: PositionIdx,
    /// Direction; `None` when flat.
    pub side: Option<Side>,
    /// Size, always non-negative.
    pub size: Qty,
    /// Average entry price; `None` when flat.
    pub avg_price: Option<Price>,
    /// Position value at entry, quote currency.
    pub position_value: Decimal,
    /// Leverage.
    pub leverage: Decimal,
    /// Mark price.
    pub mark_price: Option<Price>,
    /// Liquidation price; `None` when flat or not applicable.
    pub liq_price: Option<Price>,
    /// Unrealised PnL at mark.
    pub unrealised_pnl: Decimal,
    /// Realised PnL since the position was opened, cumulative.
    pub cum_realised_pnl: Decimal,
    /// Initial margin.
    pub position_im: Decimal,
    /// Maintenance margin.
    pub position_mm: Decimal,
    /// Normal, being liquidated or auto-deleveraged.
    pub status: PositionStatus,
    /// Last update, UTC ms.
    pub updated_time_ms: i64,
}

impl Position {
    /// True when the leg holds nothing.
    #[must_use]
    pub fn is_flat(&self) -> bool {
        self.size.is_zero()
    }
}

/// One coin of a UNIFIED wallet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CoinBalance {
    /// Coin, e.g. `USDT`.
    pub coin: String,
    /// Equity in the coin.
    pub equity: Decimal,
    /// Wallet balance.
    pub wallet_balance: Decimal,
    /// Unrealised PnL.
    pub unrealised_pnl: Decimal,
    /// Cumulative realised PnL.
    pub cum_realised_pnl: Decimal,
    /// Margin held by open orders.
    pub total_order_im: Decimal,
    /// Initial margin of positions.
    pub total_position_im: Decimal,
    /// Maintenance margin of positions.
    pub total_position_mm: Decimal,
}

/// A UNIFIED account's wallet (account-level values are in USD).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wallet {
    /// Σ coin equity in USD.
    pub total_equity: Decimal,
    /// Wallet balance.
    pub total_wallet_balance: Decimal,
    /// Wallet balance + perpetual unrealised PnL.
    pub total_margin_balance: Decimal,
    /// Margin balance − haircut − initial margin.
    pub total_available_balance: Decimal,
    /// Perpetual unrealised PnL.
    pub total_perp_upl: Decimal,
    /// Initial margin.
    pub total_initial_margin: Decimal,
    /// Maintenance margin.
    pub total_maintenance_margin: Decimal,
    /// Initial margin / margin balance.
    pub account_im_rate: Decimal,
    /// Maintenance margin / margin balance.
    pub account_mm_rate: Decimal,
    /// Per-coin balances.
    pub coins: Vec<CoinBalance>,
}
