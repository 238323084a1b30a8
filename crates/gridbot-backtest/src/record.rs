//! What a run keeps while it runs — every fill, equity and prices at a fixed cadence, each leg's
//! level over time, the grid's resting levels, funding, recentres, a liquidation — and the
//! finished [`BacktestRun`] with its metrics.

use std::collections::BTreeMap;

use gridbot_core::{Decimal, Execution, Leg, OrderRole, Price, Qty, Side, Symbol, Wallet, decimal_to_f64};
use gridbot_recovery::LinkTag;
use gridbot_risk::LegPair;
use gridbot_sim::Margin;
use gridbot_strategy::{AccountCore, CoreStats, Grid, GridChange};

use crate::metrics::{Metrics, compute};

/// One fill.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trade {
    /// When, UTC ms.
    pub time_ms: i64,
    /// Symbol.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// The leg, from the order's id.
    pub leg: Option<Leg>,
    /// Balance, protective, take-profit, close, classic level.
    pub role: Option<OrderRole>,
    /// The grid level.
    pub level: Option<u32>,
    /// The leg's cycle (a classic grid's generation).
    pub cycle: Option<u32>,
    /// Price.
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Fee paid (negative: rebate), USDT.
    pub fee: Decimal,
    /// PnL an exit realised against the leg's average entry, before fees.
    pub realised_pnl: Option<Decimal>,
    /// Maker (resting) or taker.
    pub maker: bool,
    /// The order's id.
    pub order_link_id: String,
}

impl Trade {
    /// A fill from the exchange's execution and the PnL the core says it realised.
    #[must_use]
    pub fn from_execution(e: &Execution, realised_pnl: Option<Decimal>) -> Self {
        let tag = LinkTag::decode(&e.order_link_id).ok();
        Self {
            time_ms: e.exec_time_ms,
            symbol: e.symbol.clone(),
            side: e.side,
            leg: tag.as_ref().map(|t| t.leg),
            role: tag.as_ref().map(|t| t.role),
            level: tag.as_ref().map(|t| t.level),
            cycle: tag.as_ref().map(|t| t.cycle),
            price: e.exec_price,
            qty: e.exec_qty,
            fee: e.exec_fee,
            realised_pnl,
            maker: e.is_maker,
            order_link_id: e.order_link_id.clone(),
        }
    }
}

/// Equity at one moment.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EquityPoint {
    /// When, UTC ms.
    pub time_ms: i64,
    /// Total equity (unrealised PnL included), USDT.
    pub equity: f64,
    /// Value of every open position, USDT.
    pub position_value: f64,
    /// Initial-margin rate of the account.
    pub im_rate: f64,
}

/// A symbol's mid and its grid's resting prices at one moment (for the chart).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GridPoint {
    /// When, UTC ms.
    pub time_ms: i64,
    /// Mid price.
    pub mid: f64,
    /// Long leg: take-profit price.
    pub long_take_profit: Option<f64>,
    /// Long leg: next protective (averaging) price, or the lowest classic buy.
    pub long_next: Option<f64>,
    /// Short leg: take-profit price.
    pub short_take_profit: Option<f64>,
    /// Short leg: next protective price, or the highest classic sell.
    pub short_next: Option<f64>,
}

/// The liquidation that ended a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Liquidation {
    /// When, UTC ms.
    pub time_ms: i64,
    /// Symbol.
    pub symbol: Symbol,
    /// Price.
    pub price: Price,
    /// Size closed.
    pub qty: Qty,
}

/// Everything a run produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BacktestRun {
    /// First traded moment, UTC ms.
    pub from_ms: i64,
    /// Last, UTC ms.
    pub to_ms: i64,
    /// Candle steps replayed.
    pub candle_steps: u64,
    /// Starting equity, USDT.
    pub start_equity: Decimal,
    /// Final equity, USDT (unrealised PnL included).
    pub end_equity: Decimal,
    /// The metrics.
    pub metrics: Metrics,
    /// The core's counters (fills, cycles, risk triggers by level, ...).
    pub stats: CoreStats,
    /// Every fill.
    pub trades: Vec<Trade>,
    /// Equity over time.
    pub equity: Vec<EquityPoint>,
    /// Each symbol's price and grid over time.
    pub grid: BTreeMap<Symbol, Vec<GridPoint>>,
    /// Time (ms) spent at each level by any progressive leg.
    pub level_time_ms: BTreeMap<u32, i64>,
    /// Plans locked at the start.
    pub plans: BTreeMap<Symbol, PlanSummary>,
    /// Positions left open at the end: (symbol, long size, short size).
    pub open_positions: Vec<(Symbol, LegPair<Decimal>)>,
    /// Classic grid rebuilds.
    pub recentres: u64,
    /// The liquidation that stopped the account, if any.
    pub liquidation: Option<Liquidation>,
}

/// A progressive plan as locked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanSummary {
    /// Base step, fraction.
    pub base_step: Decimal,
    /// EMA(ATR%) it came from.
    pub atr_pct_ema: f64,
    /// Deepest level.
    pub max_level: u32,
    /// Quantity per level.
    pub quantities: Vec<Qty>,
}

/// Collects during a run.
#[derive(Debug)]
pub(crate) struct Recorder {
    from_ms: i64,
    start_equity: Decimal,
    every_ms: i64,
    next_sample_ms: i64,
    trades: Vec<Trade>,
    funding: Decimal,
    equity: Vec<EquityPoint>,
    grid: BTreeMap<Symbol, Vec<GridPoint>>,
    levels: BTreeMap<(Symbol, Leg), (Option<u32>, i64)>,
    level_time_ms: BTreeMap<u32, i64>,
    plans: BTreeMap<Symbol, PlanSummary>,
    recentres: u64,
    liquidation: Option<Liquidation>,
}

/// At most about this many equity samples per run.
const SAMPLES: i64 = 4_000;

impl Recorder {
    pub(crate) fn new(
        from_ms: i64,
        to_ms: i64,
        start_equity: Decimal,
        interval_ms: i64,
        plans: BTreeMap<Symbol, GridChange>,
    ) -> Self {
        // A cadence from a fixed ladder, so equal spans sample at equal times.
        let span = (to_ms - from_ms).max(1);
        let every_ms = [1, 5, 15, 60, 240, 1_440]
            .into_iter()
            .map(|m| m * 60_000)
            .find(|every| span / every <= SAMPLES)
            .unwrap_or(1_440 * 60_000)
            .max(interval_ms);
        let plans = plans
            .into_iter()
            .filter_map(|(s, change)| match change {
                GridChange::Plan { base_step, atr_pct_ema, max_level, quantities } => {
                    Some((s, PlanSummary { base_step, atr_pct_ema, max_level, quantities }))
                }
                GridChange::Recentre { .. } | GridChange::RebuildStarted { .. } => None,
            })
            .collect();
        Self {
            from_ms,
            start_equity,
            every_ms,
            next_sample_ms: from_ms,
            trades: Vec::new(),
            funding: Decimal::ZERO,
            equity: Vec::new(),
            grid: BTreeMap::new(),
            levels: BTreeMap::new(),
            level_time_ms: BTreeMap::new(),
            plans,
            recentres: 0,
            liquidation: None,
        }
    }

    pub(crate) fn trade(&mut self, trade: Trade) {
        self.trades.push(trade);
    }

    pub(crate) fn funding(&mut self, e: &Execution) {
        self.funding += e.exec_fee;
    }

    pub(crate) fn recentre(&mut self, _at_ms: i64, _symbol: &Symbol) {
        self.recentres += 1;
    }

    pub(crate) fn liquidated(&mut self, e: &Execution) {
        if self.liquidation.is_none() {
            self.liquidation = Some(Liquidation {
                time_ms: e.exec_time_ms,
                symbol: e.symbol.clone(),
                price: e.exec_price,
                qty: e.exec_qty,
            });
        }
    }

    pub(crate) fn liquidation(&self) -> Option<&Liquidation> {
        self.liquidation.as_ref()
    }

    /// Each leg's level after a fill: time at the previous level is counted.
    pub(crate) fn levels(&mut self, core: &AccountCore, now: i64) {
        for slot in core.symbols() {
            let levels = slot.grid().leg_levels();
            for leg in Leg::BOTH {
                let level = *levels.get(leg);
                let entry = self.levels.entry((slot.symbol().clone(), leg)).or_insert((None, self.from_ms));
                if entry.0 != level {
                    if let Some(previous) = entry.0 {
                        *self.level_time_ms.entry(previous).or_default() += now - entry.1;
                    }
                    *entry = (level, now);
                }
            }
        }
    }

    pub(crate) fn next_sample_ms(&self) -> i64 {
        self.next_sample_ms
    }

    pub(crate) fn sample_due(&self, now: i64) -> bool {
        now >= self.next_sample_ms
    }

    /// An equity and grid sample: the account's margin figures (the wallet's equity is their
    /// margin balance, its IM rate the same rounded ratio) and each symbol's mid.
    pub(crate) fn sample(&mut self, now: i64, margin: &Margin, mids: &[(Symbol, Decimal)], core: &AccountCore) {
        self.next_sample_ms = (now.div_euclid(self.every_ms) + 1) * self.every_ms;
        let position_value: f64 = core
            .symbols()
            .iter()
            .flat_map(|s| {
                Leg::BOTH.map(|leg| s.positions().get(leg).as_ref().map_or(0.0, |p| decimal_to_f64(p.position_value)))
            })
            .sum();
        self.equity.push(EquityPoint {
            time_ms: now,
            equity: decimal_to_f64(margin.margin_balance()),
            position_value,
            im_rate: decimal_to_f64(margin.im_rate()),
        });
        for slot in core.symbols() {
            let Some((_, mid)) = mids.iter().find(|(s, _)| s == slot.symbol()) else { continue };
            let mut point = GridPoint {
                time_ms: now,
                mid: decimal_to_f64(*mid),
                long_take_profit: None,
                long_next: None,
                short_take_profit: None,
                short_next: None,
            };
            let working = match slot.grid() {
                Grid::Progressive(g) => g.working(),
                Grid::Classic(g) => g.working(),
            };
            for w in working {
                let Some(price) = w.price.map(|p| p.to_f64()) else { continue };
                let (tp, next) = match w.tag.leg {
                    Leg::Long => (&mut point.long_take_profit, &mut point.long_next),
                    Leg::Short => (&mut point.short_take_profit, &mut point.short_next),
                };
                match w.tag.role {
                    OrderRole::TakeProfit => *tp = Some(price),
                    OrderRole::Protective => *next = Some(price),
                    OrderRole::ClassicLevel if w.side == Side::Buy => {
                        point.long_next = Some(point.long_next.map_or(price, |p: f64| p.min(price)));
                    }
                    OrderRole::ClassicLevel => {
                        point.short_next = Some(point.short_next.map_or(price, |p: f64| p.max(price)));
                    }
                    _ => {}
                }
            }
            self.grid.entry(slot.symbol().clone()).or_default().push(point);
        }
    }

    pub(crate) fn finish(
        mut self,
        end_ms: i64,
        wallet: &Wallet,
        core: &AccountCore,
        open_positions: Vec<(Symbol, LegPair<Decimal>)>,
        candle_steps: u64,
    ) -> BacktestRun {
        for ((_, _), (level, since)) in std::mem::take(&mut self.levels) {
            if let Some(level) = level {
                *self.level_time_ms.entry(level).or_default() += end_ms - since;
            }
        }
        let last = self.equity.last().map(|p| p.time_ms);
        if last.is_none_or(|t| t < end_ms) {
            self.equity.push(EquityPoint {
                time_ms: end_ms,
                equity: decimal_to_f64(wallet.total_equity),
                position_value: self.equity.last().map_or(0.0, |p| p.position_value),
                im_rate: decimal_to_f64(wallet.account_im_rate),
            });
        }
        let stats = core.stats();
        let metrics = compute(&crate::metrics::Inputs {
            from_ms: self.from_ms,
            to_ms: end_ms,
            start_equity: self.start_equity,
            end_equity: wallet.total_equity,
            trades: &self.trades,
            funding: self.funding,
            equity: &self.equity,
            level_time_ms: &self.level_time_ms,
            stats: &stats,
            liquidated: self.liquidation.is_some(),
            legs: 2 * core.symbols().iter().filter(|s| matches!(s.grid(), Grid::Progressive(_))).count(),
        });
        BacktestRun {
            from_ms: self.from_ms,
            to_ms: end_ms,
            candle_steps,
            start_equity: self.start_equity,
            end_equity: wallet.total_equity,
            metrics,
            stats,
            trades: self.trades,
            equity: self.equity,
            grid: self.grid,
            level_time_ms: self.level_time_ms,
            plans: self.plans,
            open_positions,
            recentres: self.recentres,
            liquidation: self.liquidation,
        }
    }
}
