//! An account file as a backtest reads it: the symbols, grids and risk of [`AccountConfig`]
//! become an [`AccountSpec`], its `backtest:` section [`BacktestSettings`]. One place, used by
//! `gridbot backtest` and by the parameter search, so both read the same file the same way.

use gridbot_config::{AccountConfig, BacktestConfig, FillConfig, FundingConfig};
use gridbot_core::Decimal;

use crate::run::AccountSpec;
use crate::settings::{BacktestSettings, FillModel, Funding};

/// What an account trades, for a backtest.
#[must_use]
pub fn spec_of(account: &AccountConfig) -> AccountSpec {
    AccountSpec {
        account_id: account.account_id.clone(),
        tag: account.tag.clone(),
        symbols: account.symbols.clone(),
        risk: account.risk.clone(),
    }
}

/// The backtest's exchange from an account file's `backtest:` section (defaults for what it
/// leaves out), its funding-history files read.
pub fn settings_of(section: &BacktestConfig) -> Result<BacktestSettings, gridbot_data::FundingError> {
    let mut s = BacktestSettings::default();
    if let Some(v) = section.balance {
        s.balance = v;
    }
    s.maker_fee = section.maker_fee.unwrap_or(s.maker_fee);
    s.taker_fee = section.taker_fee.unwrap_or(s.taker_fee);
    s.slippage = section.slippage.unwrap_or(s.slippage);
    s.fill = match section.fill {
        None => s.fill,
        Some(FillConfig::Touch) => FillModel::Touch,
        Some(FillConfig::Through { ticks }) => FillModel::TradeThrough { ticks },
    };
    s.funding = match &section.funding {
        None => s.funding,
        Some(FundingConfig::Rate(r)) => Funding::Constant(*r),
        Some(FundingConfig::Files(files)) => {
            let mut points = std::collections::BTreeMap::new();
            for (symbol, file) in files {
                let list = gridbot_data::load_funding(file)?;
                points.insert(
                    symbol.clone(),
                    list.into_iter().map(|p| gridbot_sim::FundingPoint { time_ms: p.time_ms, rate: p.rate }).collect(),
                );
            }
            Funding::History { files: files.clone(), points, before: Decimal::ZERO }
        }
    };
    Ok(s)
}
