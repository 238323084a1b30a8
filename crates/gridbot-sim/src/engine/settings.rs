//! Leverage, position mode, position rows, the wallet, and funding settlement.

use gridbot_core::{Decimal, ExecType, Execution, OrderType, PositionIdx, PositionMode, Price, Qty, Side, Symbol};

use super::{AccountId, MatchingEngine, SimEvent};
use crate::error::SimError;

impl MatchingEngine {
    // ---- positions and settings ---------------------------------------------------------------

    /// Sets leverage (Bybit `/v5/position/set-leverage`).
    pub fn set_leverage(
        &mut self,
        id: AccountId,
        symbol: &Symbol,
        buy: Decimal,
        sell: Decimal,
    ) -> Result<(), SimError> {
        self.account(id)?;
        let spec = self.instrument(symbol)?.spec().clone();
        if buy != sell {
            return Err(SimError::params("buy leverage must equal sell leverage in this simulator"));
        }
        if buy < spec.min_leverage || buy > spec.max_leverage {
            return Err(SimError::params(format!(
                "leverage {buy} is outside [{}, {}]",
                spec.min_leverage, spec.max_leverage
            )));
        }
        let sa = self.symbol_account(id, symbol);
        if sa.leverage == buy {
            return Err(SimError::new(110_043, "Set leverage has not been modified."));
        }
        sa.leverage = buy;
        // Open orders of the symbol hold margin at the new leverage.
        let open: Vec<u64> = self.open_orders_in(id, symbol).map(|(seq, _)| seq).collect();
        for seq in open {
            self.refresh_order_im(seq);
        }
        Ok(())
    }

    /// Switches position mode (Bybit `/v5/position/switch-mode`).
    pub fn switch_mode(&mut self, id: AccountId, symbol: &Symbol, mode: PositionMode) -> Result<(), SimError> {
        self.account(id)?;
        self.instrument(symbol)?;
        let has_orders = self.open_orders_in(id, symbol).next().is_some();
        let sa = self.symbol_account(id, symbol);
        if sa.mode == mode {
            return Err(SimError::new(110_025, "Position mode is not modified"));
        }
        if sa.has_position() {
            return Err(SimError::new(110_024, "You have existing positions, so position mode cannot be switched"));
        }
        if has_orders {
            return Err(SimError::new(110_028, "You have existing orders, so position mode cannot be switched"));
        }
        sa.mode = mode;
        sa.legs.clear();
        self.invalidate_liquidation(id);
        Ok(())
    }

    /// Position rows of the symbol: `OneWay` in one-way mode, `Long` and `Short` in hedge mode
    /// (flat rows included).
    pub fn positions(&mut self, id: AccountId, symbol: &Symbol) -> Result<Vec<gridbot_core::Position>, SimError> {
        self.account(id)?;
        self.instrument(symbol)?;
        let mmr = self.config.maintenance_margin_rate;
        let mark = self.mark(symbol);
        let sa = self.symbol_account(id, symbol).clone();
        let idxs: &[PositionIdx] = match sa.mode {
            PositionMode::OneWay => &[PositionIdx::OneWay],
            PositionMode::Hedge => &[PositionIdx::Long, PositionIdx::Short],
        };
        let marks = self.marks.clone();
        let mut out = Vec::with_capacity(idxs.len());
        for &idx in idxs {
            let leg = sa.legs.get(&idx.as_i64()).cloned().unwrap_or_default();
            let m = mark.map_or(Decimal::ZERO, Price::as_decimal);
            // Shown as Bybit shows them: money and the average price to 8 places (the engine
            // keeps the average exact); the liquidation price as the engine liquidates at.
            let value = gridbot_core::usdt(leg.size.as_decimal() * leg.avg_price);
            out.push(gridbot_core::Position {
                symbol: symbol.clone(),
                position_idx: idx,
                side: leg.side,
                size: leg.size,
                avg_price: Price::new(leg.avg_price.round_dp(8)).ok().filter(|p| !p.is_zero()),
                position_value: value,
                leverage: sa.leverage,
                mark_price: mark,
                liq_price: self.accounts[id].liquidation_price(symbol, idx.as_i64(), &marks, mmr),
                unrealised_pnl: gridbot_core::usdt(leg.unrealised(m)),
                cum_realised_pnl: gridbot_core::usdt(leg.cum_realised_pnl),
                position_im: gridbot_core::usdt(leg.size.as_decimal() * m / sa.leverage),
                position_mm: gridbot_core::usdt(leg.size.as_decimal() * m * mmr),
                status: gridbot_core::PositionStatus::Normal,
                updated_time_ms: leg.updated_ms,
            });
        }
        Ok(out)
    }

    /// The UNIFIED wallet of an account.
    pub fn wallet(&self, id: AccountId) -> Result<gridbot_core::Wallet, SimError> {
        let m = self.margin(id)?;
        let mb = m.margin_balance();
        Ok(gridbot_core::Wallet {
            total_equity: mb,
            total_wallet_balance: m.wallet,
            total_margin_balance: mb,
            total_available_balance: m.available(),
            total_perp_upl: m.upnl,
            total_initial_margin: m.position_im + m.order_im,
            total_maintenance_margin: m.mm,
            account_im_rate: m.im_rate(),
            account_mm_rate: m.mm_rate(),
            coins: vec![gridbot_core::CoinBalance {
                coin: "USDT".to_owned(),
                equity: mb,
                wallet_balance: m.wallet,
                unrealised_pnl: m.upnl,
                cum_realised_pnl: self.accounts[id]
                    .symbols
                    .values()
                    .flat_map(|sa| sa.legs.values())
                    .map(|l| l.cum_realised_pnl)
                    .sum(),
                total_order_im: m.order_im,
                total_position_im: m.position_im,
                total_position_mm: m.mm,
            }],
        })
    }

    // ---- funding ----------------------------------------------------------------------------

    /// Settles funding on every open position of `symbol` at `rate` and the current mark:
    /// `size × mark × rate`, paid by longs and received by shorts when the rate is positive.
    pub fn settle_funding(&mut self, symbol: &Symbol, rate: Decimal) {
        let Some(mark) = self.mark(symbol) else { return };
        let now = self.now_ms;
        for id in 0..self.accounts.len() {
            let legs: Vec<(i64, Side, Decimal)> = self.accounts[id]
                .symbols
                .get(symbol)
                .map(|sa| {
                    sa.legs
                        .iter()
                        .filter_map(|(i, l)| Some((*i, l.side?, l.size.as_decimal())))
                        .filter(|l| !l.2.is_zero())
                        .collect()
                })
                .unwrap_or_default();
            for (idx, side, size) in legs {
                let value = size * mark.as_decimal();
                let paid = match side {
                    Side::Buy => value * rate,
                    Side::Sell => -value * rate,
                }
                .round_dp(super::MONEY_DP);
                self.accounts[id].wallet -= paid;
                self.invalidate_liquidation(id);
                if let Some(leg) = self.accounts[id].symbols.get_mut(symbol).and_then(|sa| sa.legs.get_mut(&idx)) {
                    leg.cum_realised_pnl -= paid;
                }
                let exec_id = self.next_exec_id();
                let execution = Execution {
                    exec_id,
                    order_id: String::new(),
                    order_link_id: String::new(),
                    symbol: symbol.clone(),
                    side,
                    exec_type: ExecType::Funding,
                    order_type: OrderType::Unknown,
                    exec_price: mark,
                    exec_qty: Qty::new(size).unwrap_or(Qty::ZERO),
                    exec_value: value,
                    exec_fee: paid,
                    fee_rate: rate,
                    is_maker: false,
                    closed_size: Qty::ZERO,
                    exec_time_ms: now,
                };
                self.executions.push((id, execution.clone()));
                self.emit(SimEvent::Execution(id, execution));
                self.emit(SimEvent::Wallet(id));
            }
        }
    }
}
