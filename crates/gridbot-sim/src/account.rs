//! One simulated UNIFIED account: wallet balance, positions per (symbol, positionIdx), position
//! mode and leverage per symbol, and the margin arithmetic (cross margin, USDT).
//!
//! Formulas (exact decimals):
//! - unrealised PnL: long `(mark − avg)·size`, short `(avg − mark)·size`;
//! - position IM `size·mark / leverage`; MM `size·mark·mmr`; order IM `leaves·price / leverage`
//!   for orders that open;
//! - margin balance = wallet + Σ uPnL; available = margin balance − IM − order IM;
//!   IM rate = (IM + order IM) / margin balance; MM rate = MM / margin balance;
//! - liquidation when margin balance ≤ MM. A position's liquidation price is the mark at which
//!   that happens with every other position's mark held.

use std::collections::BTreeMap;

use gridbot_core::{Decimal, PositionIdx, PositionMode, Price, Qty, Side, Symbol};

/// One position leg.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimPosition {
    /// Size, ≥ 0.
    pub size: Qty,
    /// Direction when open (one-way positions flip; hedge legs are fixed).
    pub side: Option<Side>,
    /// Average entry price (0 when flat).
    pub avg_price: Decimal,
    /// Realised PnL since the account opened this leg, fees included.
    pub cum_realised_pnl: Decimal,
    /// Last change, UTC ms.
    pub updated_ms: i64,
}

impl SimPosition {
    /// Signed unrealised PnL at `mark`.
    #[must_use]
    pub fn unrealised(&self, mark: Decimal) -> Decimal {
        let size = self.size.as_decimal();
        match self.side {
            Some(Side::Buy) => (mark - self.avg_price) * size,
            Some(Side::Sell) => (self.avg_price - mark) * size,
            None => Decimal::ZERO,
        }
    }

    /// Applies a fill of `qty` at `price` on `side`; returns the realised PnL (before fees) of
    /// the part that reduced the position.
    pub fn apply_fill(&mut self, side: Side, qty: Decimal, price: Decimal, now_ms: i64) -> Decimal {
        self.updated_ms = now_ms;
        let size = self.size.as_decimal();
        match self.side {
            None => {
                self.side = Some(side);
                self.size = Qty::new(qty).unwrap_or(Qty::ZERO);
                self.avg_price = price;
                Decimal::ZERO
            }
            Some(current) if current == side => {
                let new_size = size + qty;
                self.avg_price = (self.avg_price * size + price * qty) / new_size;
                self.size = Qty::new(new_size).unwrap_or(Qty::ZERO);
                Decimal::ZERO
            }
            Some(current) => {
                let closed = qty.min(size);
                // Money to 8 places, as Bybit books it (the average price keeps full precision).
                let pnl = gridbot_core::usdt(match current {
                    Side::Buy => (price - self.avg_price) * closed,
                    Side::Sell => (self.avg_price - price) * closed,
                });
                let left = size - closed;
                let flip = qty - closed;
                if left.is_zero() {
                    if flip.is_zero() {
                        self.side = None;
                        self.size = Qty::ZERO;
                        self.avg_price = Decimal::ZERO;
                    } else {
                        self.side = Some(side);
                        self.size = Qty::new(flip).unwrap_or(Qty::ZERO);
                        self.avg_price = price;
                    }
                } else {
                    self.size = Qty::new(left).unwrap_or(Qty::ZERO);
                }
                pnl
            }
        }
    }
}

/// Settings and positions of one symbol in one account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SymbolAccount {
    /// One-way or hedge.
    pub mode: PositionMode,
    /// Leverage (both sides).
    pub leverage: Decimal,
    /// Legs by position index (`OneWay`, or `Long` and `Short`).
    pub legs: BTreeMap<i64, SimPosition>,
}

impl SymbolAccount {
    /// A fresh symbol: one-way (Bybit's default), `leverage`.
    #[must_use]
    pub fn new(leverage: Decimal) -> Self {
        Self { mode: PositionMode::OneWay, leverage, legs: BTreeMap::new() }
    }

    /// The leg of `idx`.
    pub fn leg_mut(&mut self, idx: PositionIdx) -> &mut SimPosition {
        self.legs.entry(idx.as_i64()).or_default()
    }

    /// True when any leg holds a position.
    #[must_use]
    pub fn has_position(&self) -> bool {
        self.legs.values().any(|l| !l.size.is_zero())
    }
}

/// Margin figures of an account at current marks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Margin {
    /// Wallet balance.
    pub wallet: Decimal,
    /// Σ unrealised PnL.
    pub upnl: Decimal,
    /// Position initial margin.
    pub position_im: Decimal,
    /// Order initial margin.
    pub order_im: Decimal,
    /// Maintenance margin.
    pub mm: Decimal,
}

impl Margin {
    /// Wallet + uPnL.
    #[must_use]
    pub fn margin_balance(&self) -> Decimal {
        self.wallet + self.upnl
    }

    /// Margin balance − IM − order IM.
    #[must_use]
    pub fn available(&self) -> Decimal {
        self.margin_balance() - self.position_im - self.order_im
    }

    /// (IM + order IM) / margin balance (1 when the balance is not positive).
    #[must_use]
    pub fn im_rate(&self) -> Decimal {
        let mb = self.margin_balance();
        if mb <= Decimal::ZERO { Decimal::ONE } else { ((self.position_im + self.order_im) / mb).round_dp(6) }
    }

    /// MM / margin balance (1 when the balance is not positive).
    #[must_use]
    pub fn mm_rate(&self) -> Decimal {
        let mb = self.margin_balance();
        if mb <= Decimal::ZERO { Decimal::ONE } else { (self.mm / mb).round_dp(6) }
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// Wallet balance (USDT).
    pub wallet: Decimal,
    /// Per symbol.
    pub symbols: BTreeMap<Symbol, SymbolAccount>,
}

impl Account {
    /// An account holding `wallet` USDT.
    #[must_use]
    pub fn new(wallet: Decimal) -> Self {
        Self { wallet, symbols: BTreeMap::new() }
    }

    /// The liquidation price of `(symbol, idx)` given every mark in `marks` and the account's
    /// order margin ignored (orders are cancelled before liquidation).
    #[must_use]
    pub fn liquidation_price(
        &self,
        symbol: &Symbol,
        idx: i64,
        marks: &BTreeMap<Symbol, Price>,
        mmr: Decimal,
    ) -> Option<Price> {
        let position = self.symbols.get(symbol)?.legs.get(&idx)?;
        let side = position.side?;
        let size = position.size.as_decimal();
        if size.is_zero() {
            return None;
        }
        let (mut others_upnl, mut others_mm) = (Decimal::ZERO, Decimal::ZERO);
        for (s, sa) in &self.symbols {
            let mark = marks.get(s).map_or(Decimal::ZERO, |p| p.as_decimal());
            for (i, leg) in &sa.legs {
                if s == symbol && *i == idx {
                    continue;
                }
                others_upnl += leg.unrealised(mark);
                others_mm += leg.size.as_decimal() * mark * mmr;
            }
        }
        let base = self.wallet + others_upnl - others_mm;
        let price = match side {
            // wallet + U + s(p − a) = M + s·p·mmr
            Side::Buy => (position.avg_price * size - base) / (size * (Decimal::ONE - mmr)),
            // wallet + U + s(a − p) = M + s·p·mmr
            Side::Sell => (base + position.avg_price * size) / (size * (Decimal::ONE + mmr)),
        };
        if price <= Decimal::ZERO { None } else { Price::new(price.round_dp(8)).ok() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn fills_average_reduce_and_flip() {
        let mut p = SimPosition::default();
        assert_eq!(p.apply_fill(Side::Buy, d("1"), d("100"), 1), d("0"));
        assert_eq!(p.apply_fill(Side::Buy, d("1"), d("90"), 2), d("0"));
        assert_eq!(p.avg_price, d("95"));
        assert_eq!(p.apply_fill(Side::Sell, d("0.5"), d("105"), 3), d("5"));
        assert_eq!(p.size.as_decimal(), d("1.5"));
        // flip: sell 2 against 1.5 long → realise 1.5, open 0.5 short at 80
        assert_eq!(p.apply_fill(Side::Sell, d("2"), d("80"), 4), d("-22.5"));
        assert_eq!((p.side, p.size.as_decimal(), p.avg_price), (Some(Side::Sell), d("0.5"), d("80")));
        assert_eq!(p.unrealised(d("70")), d("5"));
    }

    #[test]
    fn realised_pnl_is_booked_to_eight_places() {
        let mut p = SimPosition::default();
        p.apply_fill(Side::Buy, d("0.001"), d("95411.7"), 1);
        p.apply_fill(Side::Buy, d("0.002"), d("95411.8"), 2);
        assert!(p.avg_price.scale() > 8, "the average keeps full precision: {}", p.avg_price);
        let pnl = p.apply_fill(Side::Sell, d("0.003"), d("95500.1"), 3);
        assert!(pnl.scale() <= 8, "{pnl}");
        assert_eq!(pnl, d("0.26500000"));
    }

    #[test]
    fn liquidation_price_of_a_lone_long() {
        let mut a = Account::new(d("1000"));
        let btc = Symbol::new("BTCUSDT").unwrap();
        let mut sa = SymbolAccount::new(d("10"));
        sa.leg_mut(PositionIdx::OneWay).apply_fill(Side::Buy, d("1"), d("10000"), 0);
        a.symbols.insert(btc.clone(), sa);
        let marks = BTreeMap::from([(btc.clone(), "10000".parse().unwrap())]);
        let liq = a.liquidation_price(&btc, 0, &marks, d("0.005")).unwrap();
        // 1000 + (p − 10000) = 0.005·p  →  p = 9000 / 0.995
        assert_eq!(liq.as_decimal(), (d("9000") / d("0.995")).round_dp(8));
    }

    #[test]
    fn margin_rates() {
        let m = Margin { wallet: d("1000"), upnl: d("-100"), position_im: d("450"), order_im: d("0"), mm: d("45") };
        assert_eq!(m.available(), d("450"));
        assert_eq!(m.im_rate(), d("0.5"));
        assert_eq!(m.mm_rate(), d("0.05"));
    }
}
