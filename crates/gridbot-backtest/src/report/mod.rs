//! What a run leaves behind: `result.json` (stable keys, bit-identical for the same inputs),
//! `trades.csv`, and `report.html` — one self-contained page (inline SVG, no script, nothing
//! fetched) a trader opens in any browser.
//!
//! `result.json` schema (version 1): `schema_version`, `account`, `inputs` (data files, window,
//! settings), `plans`, `metrics` (see [`crate::metrics`] for every definition), `stats` (the
//! core's counters), `gaps`, `liquidation`, `open_positions`, `equity` (time, equity,
//! position value, IM rate), `level_time_ms`. Times are UTC milliseconds; money is USDT.

mod html;
pub mod svg;

use std::io::Write;
use std::path::{Path, PathBuf};

use gridbot_core::{Decimal, Symbol};

use crate::data::{Gap, MarketData};
use crate::record::BacktestRun;
use crate::run::AccountSpec;
use crate::settings::{BacktestSettings, FillModel, Funding};

pub use html::{STYLE, report_html};

/// The version of `result.json`'s layout.
pub const RESULT_SCHEMA_VERSION: u32 = 1;

/// What the run was given, as `result.json` records it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inputs {
    /// The account file (as given).
    pub config: String,
    /// Data files by symbol (as given).
    pub data: Vec<(Symbol, String)>,
    /// Candle interval, ms.
    pub interval_ms: i64,
    /// First traded moment (ISO-8601).
    pub from: String,
    /// Last (ISO-8601).
    pub to: String,
    /// Starting balance, USDT.
    pub balance: Decimal,
    /// Maker fee rate.
    pub maker_fee: Decimal,
    /// Taker fee rate.
    pub taker_fee: Decimal,
    /// Funding: a constant rate, or `history`.
    pub funding: String,
    /// The fill model.
    pub fill: String,
    /// Market-order slippage, fraction.
    pub slippage: Decimal,
}

impl Inputs {
    /// The record of a run's inputs.
    #[must_use]
    pub fn new(config: &Path, data: &MarketData, settings: &BacktestSettings, run: &BacktestRun) -> Self {
        Self {
            config: config.display().to_string(),
            data: data.series.iter().map(|s| (s.symbol.clone(), s.file.display().to_string())).collect(),
            interval_ms: data.interval_ms,
            from: crate::iso(run.from_ms),
            to: crate::iso(run.to_ms),
            balance: settings.balance,
            maker_fee: settings.maker_fee,
            taker_fee: settings.taker_fee,
            funding: match &settings.funding {
                Funding::Constant(r) => format!("{r} per 8 h"),
                Funding::History { files, .. } => format!(
                    "history: {}",
                    files.iter().map(|(s, f)| format!("{s}={}", f.display())).collect::<Vec<_>>().join(", ")
                ),
            },
            fill: match settings.fill {
                FillModel::TradeThrough { ticks } => format!("trade through by {ticks} tick(s)"),
                FillModel::Touch => "touch".into(),
            },
            slippage: settings.slippage,
        }
    }
}

#[derive(serde::Serialize)]
struct ResultFile<'a> {
    schema_version: u32,
    account: &'a str,
    inputs: &'a Inputs,
    plans: &'a std::collections::BTreeMap<Symbol, crate::record::PlanSummary>,
    metrics: &'a crate::Metrics,
    stats: &'a gridbot_strategy::CoreStats,
    start_equity: Decimal,
    end_equity: Decimal,
    candle_steps: u64,
    recentres: u64,
    gaps: Vec<(Symbol, &'a [Gap])>,
    liquidation: &'a Option<crate::record::Liquidation>,
    open_positions: &'a [(Symbol, gridbot_risk::LegPair<Decimal>)],
    level_time_ms: &'a std::collections::BTreeMap<u32, i64>,
    equity: &'a [crate::EquityPoint],
}

/// `result.json`'s text.
pub fn result_json(spec: &AccountSpec, inputs: &Inputs, data: &MarketData, run: &BacktestRun) -> String {
    let file = ResultFile {
        schema_version: RESULT_SCHEMA_VERSION,
        account: &spec.account_id,
        inputs,
        plans: &run.plans,
        metrics: &run.metrics,
        stats: &run.stats,
        start_equity: run.start_equity,
        end_equity: run.end_equity,
        candle_steps: run.candle_steps,
        recentres: run.recentres,
        gaps: data.series.iter().map(|s| (s.symbol.clone(), s.gaps.as_slice())).collect(),
        liquidation: &run.liquidation,
        open_positions: &run.open_positions,
        level_time_ms: &run.level_time_ms,
        equity: &run.equity,
    };
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

/// `trades.csv`'s text: one row per fill.
#[must_use]
pub fn trades_csv(run: &BacktestRun) -> String {
    let mut out =
        String::from("time_ms,time,symbol,side,leg,role,level,cycle,price,qty,fee,realised_pnl,maker,order_link_id\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for t in &run.trades {
        out.push_str(&format!(
            "{},{},{},{:?},{},{},{},{},{},{},{},{},{},{}\n",
            t.time_ms,
            crate::iso(t.time_ms),
            t.symbol,
            t.side,
            opt(t.leg.map(|l| format!("{l:?}").to_lowercase())),
            opt(t.role.map(|r| format!("{r:?}"))),
            opt(t.level.map(|l| l.to_string())),
            opt(t.cycle.map(|c| c.to_string())),
            t.price,
            t.qty,
            t.fee,
            opt(t.realised_pnl.map(|p| p.round_dp(8).to_string())),
            t.maker,
            t.order_link_id
        ));
    }
    out
}

/// Why the outputs could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub source: std::io::Error,
}

/// Writes `result.json`, `trades.csv` and `report.html` into `dir` (created if needed); returns
/// their paths.
pub fn write_all(
    dir: &Path,
    spec: &AccountSpec,
    inputs: &Inputs,
    data: &MarketData,
    run: &BacktestRun,
    params: &[(String, String)],
) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError { path: dir.to_path_buf(), source })?;
    let files = [
        ("result.json", result_json(spec, inputs, data, run)),
        ("trades.csv", trades_csv(run)),
        ("report.html", report_html(spec, inputs, run, params)),
    ];
    let mut out = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&path)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        write().map_err(|source| WriteError { path: path.clone(), source })?;
        out.push(path);
    }
    Ok(out)
}
