//! The validated settings of one symbol's grid — what an account file says about a symbol once
//! it has been read and checked (the YAML itself is the live shell's and the backtest's to read).

use gridbot_core::{Decimal, Symbol};
use gridbot_grid::ProgressiveParams;

use crate::classic::ClassicSettings;
use crate::progressive::ProgressiveSettings;

/// A validated progressive grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressiveConfig {
    /// The plan's inputs.
    pub params: ProgressiveParams,
    /// A fixed EMA(ATR%) instead of the exchange's daily candles.
    pub atr_pct: Option<f64>,
    /// Workflow knobs.
    pub settings: ProgressiveSettings,
}

/// A validated classic grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassicConfig {
    /// Everything but an ATR-derived spacing, which is resolved at start.
    pub settings: ClassicSettings,
    /// `spacing = EMA(ATR%) × this`, when set.
    pub atr_spacing: Option<f64>,
}

/// A symbol's strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum StrategyConfig {
    /// Progressive grid.
    Progressive(ProgressiveConfig),
    /// Classic grid.
    Classic(ClassicConfig),
}

/// One symbol of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolConfig {
    /// Symbol.
    pub symbol: Symbol,
    /// Leverage (both legs).
    pub leverage: Decimal,
    /// The symbol's risk limit, USDT of position value (risk L4 blocks above 40% of it).
    pub risk_limit: Decimal,
    /// Strategy.
    pub strategy: StrategyConfig,
}
