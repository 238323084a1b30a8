//! `report.html`: one page, inline CSS and SVG, no script, nothing fetched.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use gridbot_core::{Leg, OrderRole, Side, Symbol, decimal_to_f64};

use super::Inputs;
use super::svg::{Chart, esc};
use crate::metrics::utc_date;
use crate::record::BacktestRun;
use crate::run::AccountSpec;

/// The reports' style sheet (the backtest's and the search's pages share it).
pub const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 12px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.sub{color:#666;margin:0 0 16px}table{border-collapse:collapse;margin:4px 0}td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #eee}\
th{text-align:left;font-weight:600}td:first-child,th:first-child{text-align:left}.kpi{display:grid;grid-template-columns:repeat(4,1fr);gap:8px}\
.kpi div{background:#f6f7f9;border-radius:6px;padding:8px 10px}.kpi b{display:block;font-size:18px}.neg{color:#b3261e}.pos{color:#1e7b34}\
.chart{display:block;margin:4px 0 0}.note{color:#666;font-size:12px}";

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "—".to_owned(), f)
}

fn signed(x: f64) -> String {
    let class = if x < 0.0 { "neg" } else { "pos" };
    format!(r#"<span class="{class}">{x:+.2}</span>"#)
}

fn kpis(run: &BacktestRun) -> String {
    let m = &run.metrics;
    let cells = [
        ("Net PnL (USDT)", signed(m.net_pnl)),
        ("Return", pct(m.total_return)),
        ("CAGR", opt(m.cagr, pct)),
        ("Max drawdown", pct(m.max_drawdown.depth)),
        ("Sharpe (daily, ann.)", opt(m.sharpe, |x| format!("{x:.2}"))),
        ("Sortino (daily, ann.)", opt(m.sortino, |x| format!("{x:.2}"))),
        ("Calmar", opt(m.calmar, |x| format!("{x:.2}"))),
        ("Profit factor", opt(m.profit_factor, |x| format!("{x:.2}"))),
        ("Fills", m.fills.to_string()),
        ("Cycles closed / won", format!("{} / {}", m.cycles.closed, m.cycles.won)),
        ("Win rate", opt(m.cycles.win_rate, pct)),
        ("Deepest level", m.max_level.to_string()),
        ("Fees (USDT)", format!("{:.2}", m.fees)),
        ("Funding (USDT)", format!("{:.2}", m.funding)),
        ("Peak position value", format!("{:.0}", m.peak_position_value)),
        ("Liquidations", m.liquidations.to_string()),
    ];
    let mut s = String::from(r#"<div class="kpi" id="kpis">"#);
    for (label, value) in cells {
        let _ = write!(s, "<div>{}<b>{value}</b></div>", esc(label));
    }
    s.push_str("</div>");
    s
}

fn equity_charts(run: &BacktestRun) -> String {
    let points: Vec<(f64, f64)> = run.equity.iter().map(|p| (p.time_ms as f64, p.equity)).collect();
    let (lo, hi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let x = (run.from_ms as f64, run.to_ms as f64);
    let mut equity = Chart::new("equity-chart", 260.0, x, (lo.min(hi), hi.max(lo)), true);
    equity.line("equity (USDT)", "equity", "#1f5fbf", &points);
    let mut peak = decimal_to_f64(run.start_equity);
    let dd: Vec<(f64, f64)> = run
        .equity
        .iter()
        .map(|p| {
            peak = peak.max(p.equity);
            (p.time_ms as f64, if peak > 0.0 { -(peak - p.equity) / peak * 100.0 } else { 0.0 })
        })
        .collect();
    let deepest = dd.iter().map(|p| p.1).fold(0.0, f64::min);
    let mut drawdown = Chart::new("drawdown-chart", 160.0, x, (deepest.min(-0.01), 0.0), true);
    drawdown.area("drawdown (%)", "drawdown", "#b3261e", &dd);
    format!("{}{}", equity.finish(None), drawdown.finish(None))
}

fn price_chart(symbol: &Symbol, run: &BacktestRun) -> String {
    let Some(grid) = run.grid.get(symbol) else { return String::new() };
    let mid: Vec<(f64, f64)> = grid.iter().map(|p| (p.time_ms as f64, p.mid)).collect();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for p in grid {
        for v in [Some(p.mid), p.long_take_profit, p.long_next, p.short_take_profit, p.short_next].into_iter().flatten()
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let fills: Vec<_> = run.trades.iter().filter(|t| &t.symbol == symbol).collect();
    for t in &fills {
        let p = t.price.to_f64();
        lo = lo.min(p);
        hi = hi.max(p);
    }
    if !lo.is_finite() {
        return String::new();
    }
    let id = format!("price-chart-{}", symbol.as_str());
    let mut chart = Chart::new(&id, 340.0, (run.from_ms as f64, run.to_ms as f64), (lo, hi), true);
    chart.line("mid", "price", "#444", &mid);
    let step = |f: &dyn Fn(&crate::record::GridPoint) -> Option<f64>| -> Vec<(f64, Option<f64>)> {
        grid.iter().map(|p| (p.time_ms as f64, f(p))).collect()
    };
    chart.steps("long take-profit", "grid-level", "#1e7b34", &step(&|p| p.long_take_profit));
    chart.steps("long next level", "grid-level", "#7fbf7f", &step(&|p| p.long_next));
    chart.steps("short take-profit", "grid-level", "#b3261e", &step(&|p| p.short_take_profit));
    chart.steps("short next level", "grid-level", "#e39a93", &step(&|p| p.short_next));
    let marker = |side: Side| -> Vec<(f64, f64, String)> {
        fills
            .iter()
            .filter(|t| t.side == side)
            .map(|t| {
                let what = t.role.map_or_else(|| "fill".to_owned(), |r| format!("{r:?}"));
                (
                    t.time_ms as f64,
                    t.price.to_f64(),
                    format!("{} {:?} {} @ {} ({what})", crate::iso(t.time_ms), t.side, t.qty, t.price),
                )
            })
            .collect()
    };
    chart.markers("buys", "fill-buy", "#1e7b34", true, &marker(Side::Buy));
    chart.markers("sells", "fill-sell", "#b3261e", false, &marker(Side::Sell));
    format!("<h2>{} — price, fills and grid</h2>{}", esc(symbol.as_str()), chart.finish(None))
}

fn levels_chart(run: &BacktestRun) -> String {
    // Cycles by the deepest level they reached, and the share of time at each level.
    let mut deepest: BTreeMap<(Symbol, Leg, u32), u32> = BTreeMap::new();
    for t in &run.trades {
        if let (Some(leg), Some(cycle), Some(level), Some(role)) = (t.leg, t.cycle, t.level, t.role)
            && role != OrderRole::ClassicLevel
        {
            let e = deepest.entry((t.symbol.clone(), leg, cycle)).or_default();
            if role.opens() {
                *e = (*e).max(level);
            }
        }
    }
    let mut by_level: BTreeMap<u32, u64> = BTreeMap::new();
    for level in deepest.values() {
        *by_level.entry(*level).or_default() += 1;
    }
    let max_level = by_level.keys().chain(run.metrics.time_at_level.keys()).copied().max().unwrap_or(0);
    let top = by_level.values().copied().max().unwrap_or(1) as f64;
    let mut chart = Chart::new("levels-chart", 200.0, (-0.5, f64::from(max_level) + 0.5), (0.0, top), false);
    let bars: Vec<(f64, f64, String)> = (0..=max_level)
        .map(|l| {
            let n = by_level.get(&l).copied().unwrap_or(0);
            let share = run.metrics.time_at_level.get(&l).copied().unwrap_or(0.0);
            (
                f64::from(l),
                n as f64,
                format!("level {l}: {n} cycles; legs at this level {:.1}% of the time", share * 100.0),
            )
        })
        .collect();
    chart.bars("level-bar", "#1f5fbf", "#1f5fbf", 0.7, &bars);
    let labels: Vec<(f64, String)> = (0..=max_level).map(|l| (f64::from(l), format!("level {l}"))).collect();
    let mut table =
        String::from("<table><tr><th>level</th><th>cycles reaching it (deepest)</th><th>time at level</th></tr>");
    for l in 0..=max_level {
        let _ = write!(
            table,
            "<tr><td>{l}</td><td>{}</td><td>{}</td></tr>",
            by_level.get(&l).copied().unwrap_or(0),
            pct(run.metrics.time_at_level.get(&l).copied().unwrap_or(0.0))
        );
    }
    table.push_str("</table>");
    format!("<h2>Levels reached</h2>{}{table}", chart.finish(Some(&labels)))
}

fn daily_chart(run: &BacktestRun) -> String {
    let day = 86_400_000.0;
    let points: Vec<(f64, f64, String)> = run
        .metrics
        .daily_pnl
        .iter()
        .filter_map(|(date, v)| {
            let t = gridbot_core::time::parse_utc(date)? as f64 + day / 2.0;
            Some((t, *v, format!("{date}: {v:+.2} USDT")))
        })
        .collect();
    let (lo, hi) = points.iter().fold((0.0f64, 0.0f64), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let mut chart =
        Chart::new("daily-pnl-chart", 200.0, (run.from_ms as f64, run.to_ms as f64), (lo, hi.max(lo + 1e-9)), true);
    chart.bars("day-bar", "#1e7b34", "#b3261e", day * 0.8, &points);
    format!("<h2>Realised PnL per day (net of fees)</h2>{}", chart.finish(None))
}

fn breakdown(run: &BacktestRun) -> String {
    let m = &run.metrics;
    let rows = [
        ("Gross realised PnL", m.gross_pnl),
        ("Fees", -m.fees),
        ("Funding", -m.funding),
        ("Unrealised at the end", m.net_pnl - (m.gross_pnl - m.fees - m.funding)),
        ("Net PnL", m.net_pnl),
    ];
    let mut s =
        String::from(r#"<h2>Where the PnL came from</h2><table id="breakdown"><tr><th></th><th>USDT</th></tr>"#);
    for (label, v) in rows {
        let _ = write!(s, "<tr><td>{label}</td><td>{}</td></tr>", signed(v));
    }
    s.push_str("</table><p class=\"note\">Fees and funding are what was paid (a rebate or funding received counts the other way).</p>");
    s
}

fn parameters(spec: &AccountSpec, inputs: &Inputs, run: &BacktestRun, params: &[(String, String)]) -> String {
    let mut s = String::from(r#"<h2>Parameters</h2><table id="parameters">"#);
    let mut row = |k: &str, v: &str| {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v));
    };
    row("account file", &inputs.config);
    for (symbol, file) in &inputs.data {
        row(&format!("data {symbol}"), file);
    }
    row("period", &format!("{} → {}", inputs.from, inputs.to));
    row("starting balance", &format!("{} USDT", inputs.balance));
    row("fees (maker / taker)", &format!("{} / {}", inputs.maker_fee, inputs.taker_fee));
    row("funding", &inputs.funding);
    row("fill model", &inputs.fill);
    row("market slippage", &inputs.slippage.to_string());
    for (k, v) in params {
        row(k, v);
    }
    for (symbol, plan) in &run.plans {
        row(
            &format!("{symbol} locked plan"),
            &format!("base step {}, EMA(ATR%) {:.5}, {} levels", plan.base_step, plan.atr_pct_ema, plan.max_level),
        );
    }
    row("risk", &format!("{:?}", spec.risk));
    s.push_str("</table>");
    s
}

fn risk_and_gaps(run: &BacktestRun) -> String {
    let mut s = String::from("<h2>Risk triggers</h2>");
    if run.metrics.risk_triggers.is_empty() {
        s.push_str("<p>No risk level fired.</p>");
    } else {
        s.push_str(r#"<table id="risk"><tr><th>level</th><th>times</th></tr>"#);
        for (level, n) in &run.metrics.risk_triggers {
            let _ = write!(s, "<tr><td>{}</td><td>{n}</td></tr>", esc(level));
        }
        s.push_str("</table>");
    }
    if let Some(l) = &run.liquidation {
        let _ = write!(
            s,
            r#"<p class="neg" id="liquidation">Liquidated at {} on {} ({} at {}): the run stopped there.</p>"#,
            crate::iso(l.time_ms),
            esc(l.symbol.as_str()),
            l.qty,
            l.price
        );
    }
    s
}

/// The page.
#[must_use]
pub fn report_html(spec: &AccountSpec, inputs: &Inputs, run: &BacktestRun, params: &[(String, String)]) -> String {
    let mut s = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>gridbot backtest — {account}</title><style>{STYLE}</style></head><body data-fills="{fills}">"#,
        account = esc(&spec.account_id),
        fills = run.trades.len()
    );
    let _ = write!(
        s,
        r#"<h1>Backtest — {}</h1><p class="sub">{} → {} · {:.1} days · {} symbols · starting balance {} USDT · from {} to {} USDT</p>"#,
        esc(&spec.account_id),
        inputs.from,
        inputs.to,
        run.metrics.days,
        inputs.data.len(),
        run.start_equity,
        run.start_equity.round_dp(2),
        run.end_equity.round_dp(2)
    );
    s.push_str(&kpis(run));
    s.push_str("<h2>Equity and drawdown</h2>");
    s.push_str(&equity_charts(run));
    for (symbol, _) in &inputs.data {
        s.push_str(&price_chart(symbol, run));
    }
    s.push_str(&levels_chart(run));
    s.push_str(&daily_chart(run));
    s.push_str(&breakdown(run));
    s.push_str(&risk_and_gaps(run));
    s.push_str(&parameters(spec, inputs, run, params));
    let _ = write!(
        s,
        r#"<p class="note">gridbot backtest: the live strategy, risk and executor code over the in-process simulator; first fill {}.</p></body></html>"#,
        run.trades.first().map_or_else(|| "—".to_owned(), |t| utc_date(t.time_ms))
    );
    s
}
