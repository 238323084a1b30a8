//! Position and wallet results (`/v5/position/list`, `/v5/account/wallet-balance`), shared
//! with the private `position` and `wallet` topics.

/// A position row. REST says `avgPrice`; the WebSocket topic says `entryPrice`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Position {
    /// 0, 1 or 2.
    pub position_idx: i64,
    /// Symbol.
    pub symbol: String,
    /// `Buy`, `Sell` or `""` when flat.
    pub side: String,
    /// Size.
    pub size: String,
    /// Average entry (REST).
    pub avg_price: String,
    /// Average entry (WebSocket).
    pub entry_price: String,
    /// Position value.
    pub position_value: String,
    /// Leverage.
    pub leverage: String,
    /// Mark price.
    pub mark_price: String,
    /// Liquidation price (`""` when none).
    pub liq_price: String,
    /// Initial margin.
    #[serde(rename = "positionIM")]
    pub position_im: String,
    /// Maintenance margin.
    #[serde(rename = "positionMM")]
    pub position_mm: String,
    /// Unrealised PnL.
    pub unrealised_pnl: String,
    /// Cumulative realised PnL.
    pub cum_realised_pnl: String,
    /// `Normal`, `Liq`, `Adl`.
    pub position_status: String,
    /// Update time, ms (a string).
    pub updated_time: String,
}

/// One coin of a wallet account.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Coin {
    /// Coin.
    pub coin: String,
    /// Equity.
    pub equity: String,
    /// Wallet balance.
    pub wallet_balance: String,
    /// Unrealised PnL.
    pub unrealised_pnl: String,
    /// Cumulative realised PnL.
    pub cum_realised_pnl: String,
    /// Order IM.
    #[serde(rename = "totalOrderIM")]
    pub total_order_im: String,
    /// Position IM.
    #[serde(rename = "totalPositionIM")]
    pub total_position_im: String,
    /// Position MM.
    #[serde(rename = "totalPositionMM")]
    pub total_position_mm: String,
}

/// A wallet account (`UNIFIED`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WalletAccount {
    /// `UNIFIED`.
    pub account_type: String,
    /// Equity.
    pub total_equity: String,
    /// Wallet balance.
    pub total_wallet_balance: String,
    /// Margin balance.
    pub total_margin_balance: String,
    /// Available balance.
    pub total_available_balance: String,
    /// Perpetual UPL.
    #[serde(rename = "totalPerpUPL")]
    pub total_perp_upl: String,
    /// Initial margin.
    pub total_initial_margin: String,
    /// Maintenance margin.
    pub total_maintenance_margin: String,
    /// IM rate.
    #[serde(rename = "accountIMRate")]
    pub account_im_rate: String,
    /// MM rate.
    #[serde(rename = "accountMMRate")]
    pub account_mm_rate: String,
    /// Coins.
    pub coin: Vec<Coin>,
}
