//! The read endpoints behind the dashboard's pages: one account's symbol ladder, positions,
//! trade history (JSON pages and CSV), equity and drawdown, risk, events and settings, and the
//! live prices. Each runs on tokio's blocking pool against the shared [`StatusReader`].

use std::fmt::Write as _;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use gridbot_core::time::{format_iso8601, parse_utc, utc_day_start};
use gridbot_engine::config::BotConfig;
use gridbot_engine::operator::StatusReader;
use gridbot_state::{Journal, JournalFill, TradeFilter};

use crate::api::{ApiError, AppState, Reply, authorise, blocking, json};
use crate::views;

/// The most rows one history page returns, and one CSV download.
const MAX_PER_PAGE: u32 = 500;
const MAX_CSV_ROWS: u32 = 100_000;

/// `key=value` pairs of a query string; values are plain (symbols, sides, dates, numbers), so
/// anything needing percent-decoding is refused by the checks that follow.
fn query_pairs(raw: Option<&str>) -> Vec<(&str, &str)> {
    raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// The history filter and page of a query: `symbol`, `side` (`Buy`/`Sell`), `day`
/// (`YYYY-MM-DD`), `page` (from 1), `per_page`.
fn history_query(raw: Option<&str>) -> Result<(TradeFilter, u32, u32), ApiError> {
    let mut filter = TradeFilter::default();
    let (mut page, mut per_page) = (1_u32, 50_u32);
    for (key, value) in query_pairs(raw) {
        match key {
            "symbol" if value.is_empty() => {}
            "symbol" => {
                if value.len() > 30 || !value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                    return Err(bad(format!("symbol: expected letters and digits like BTCUSDT, got {value:?}")));
                }
                filter.symbol = Some(value.to_owned());
            }
            "side" if value.is_empty() => {}
            "side" => match value {
                "Buy" | "Sell" => filter.side = Some(value.to_owned()),
                _ => return Err(bad(format!("side: expected Buy or Sell, got {value:?}"))),
            },
            "day" if value.is_empty() => {}
            "day" => {
                let ms = parse_utc(value)
                    .filter(|_| value.len() == 10)
                    .ok_or_else(|| bad(format!("day: expected a UTC date YYYY-MM-DD, got {value:?}")))?;
                filter.day_start_ms = Some(utc_day_start(ms));
            }
            "page" => {
                page = value.parse().ok().filter(|p| *p >= 1).ok_or_else(|| bad("page: expected a number from 1"))?;
            }
            "per_page" => {
                per_page = value
                    .parse()
                    .ok()
                    .filter(|p| (1..=MAX_PER_PAGE).contains(p))
                    .ok_or_else(|| bad(format!("per_page: expected 1 to {MAX_PER_PAGE}")))?;
            }
            other => return Err(bad(format!("unknown parameter {other:?} (symbol, side, day, page, per_page)"))),
        }
    }
    Ok((filter, page, per_page))
}

/// Runs `read` with the shared status reader on the blocking pool.
async fn with_reader<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&mut StatusReader, &BotConfig) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let s = state.clone();
    blocking(move || {
        let mut reader = s.reader.lock().map_err(|_| ApiError::internal("status reader poisoned"))?;
        read(&mut reader, &s.config)
    })
    .await?
}

/// Runs `read` on `account`'s journal on the blocking pool; `T::default()` while it has none.
async fn with_journal<T: Default + Send + 'static>(
    state: &AppState,
    account: String,
    read: impl FnOnce(&Journal) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    with_reader(state, move |reader, config| match reader.journal(config, &account) {
        Some(j) => read(j),
        None => Ok(T::default()),
    })
    .await
}

/// `GET /api/accounts/{id}/symbols/{symbol}`: the ladder.
pub(crate) async fn symbol(
    State(state): State<AppState>,
    Path((id, symbol)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let price = state.live_price(&id, &symbol);
    let view = with_reader(&state, move |reader, config| {
        let snapshot = reader.snapshot(config, &id);
        let positions = reader.journal(config, &id).and_then(|j| j.latest_positions().ok()).unwrap_or_default();
        let account = config.accounts.iter().find(|a| a.account_id == id);
        Ok(snapshot.and_then(|snap| views::symbol_view(&snap, &symbol, account, &positions, price)))
    })
    .await?;
    match view {
        Some(v) => Ok(json(StatusCode::OK, &v)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "no such symbol in the account's state")),
    }
}

/// `GET /api/accounts/{id}/positions`: the newest position report of each leg.
pub(crate) async fn positions(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let rows = with_journal(&state, id, |j| Ok(j.latest_positions()?)).await?;
    Ok(json(StatusCode::OK, &rows))
}

/// `GET /api/accounts/{id}/trades`: a page of the history, newest first.
pub(crate) async fn trades(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let (filter, page, per_page) = history_query(query.as_deref())?;
    let (rows, total) =
        with_journal(&state, id, move |j| Ok(j.trades_page(&filter, (page - 1).saturating_mul(per_page), per_page)?))
            .await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "page": page, "per_page": per_page, "total": total, "rows": rows })))
}

/// `GET /api/accounts/{id}/trades.csv`: the filtered history as CSV, newest first.
pub(crate) async fn trades_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let (filter, _, _) = history_query(query.as_deref())?;
    let name = format!("gridbot-{id}-trades.csv");
    let rows = with_journal(&state, id, move |j| Ok(j.trades_page(&filter, 0, MAX_CSV_ROWS)?.0)).await?;
    let text = csv_of(rows);
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        text,
    )
        .into_response())
}

/// The history as CSV, one row per fill.
fn csv_of(rows: Vec<JournalFill>) -> String {
    let mut out =
        String::from("time_utc,exec_ms,symbol,side,type,price,qty,fee,maker,realised_pnl,order_link_id,exec_id\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            format_iso8601(r.exec_ms),
            r.exec_ms,
            r.symbol,
            r.side,
            r.exec_type,
            r.price,
            r.qty,
            r.fee,
            r.is_maker,
            r.realised_pnl.map(|p| p.to_string()).unwrap_or_default(),
            csv_field(&r.order_link_id),
            csv_field(&r.exec_id)
        );
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// `GET /api/accounts/{id}/equity?days=N`: equity and drawdown (all history by default).
pub(crate) async fn equity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let mut days: Option<i64> = None;
    for (key, value) in query_pairs(query.as_deref()) {
        match key {
            "days" => {
                days = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|d| *d >= 1)
                        .ok_or_else(|| bad("days: expected a whole number from 1"))?,
                );
            }
            other => return Err(bad(format!("unknown parameter {other:?} (days)"))),
        }
    }
    let view = with_journal(&state, id, move |j| {
        let end = j.latest_wallet()?.map_or(i64::MAX, |w| w.at_ms);
        let start = days.map_or(0, |d| end.saturating_sub(d.saturating_mul(86_400_000)));
        Ok(Some(views::equity_view(&j.equity_curve(start, end)?)))
    })
    .await?
    .unwrap_or_else(|| views::equity_view(&[]));
    Ok(json(StatusCode::OK, &view))
}

/// `GET /api/accounts/{id}/risk`: each level's threshold and state.
pub(crate) async fn risk(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let account = id.clone();
    let (snapshot, status) = with_reader(&state, move |reader, config| {
        Ok((reader.snapshot(config, &account), reader.account(config, &account)))
    })
    .await?;
    let params = state.config.accounts.iter().find(|a| a.account_id == id).map(|a| a.risk.clone());
    let legs: Vec<serde_json::Value> = snapshot
        .iter()
        .flat_map(|snap| snap.symbols.iter())
        .flat_map(|(symbol, s)| {
            [("long", &s.risk.long), ("short", &s.risk.short)].map(|(leg, m)| {
                serde_json::json!({
                    "symbol": symbol.as_str(), "leg": leg, "tp_safety": m.tp_safety,
                    "peak_pnl": m.peak_pnl, "at_max_level_since_ms": m.at_max_level_since_ms,
                    "level_ups_in_window": m.level_ups_ms.len(),
                })
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "account": id,
            "params": params,
            "emergency_stop": status.emergency_stop,
            "kill_switch": status.kill_switch,
            "day_peak_equity": snapshot.as_ref().map(|s| s.account_risk.day_peak_equity),
            "active": status.active_risk,
            "legs": legs,
            "im_rate": status.wallet.as_ref().map(|w| w.im_rate),
        }),
    ))
}

/// `GET /api/accounts/{id}/events?limit=N`: alerts and risk events, newest first.
pub(crate) async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let mut limit = 100_u32;
    for (key, value) in query_pairs(query.as_deref()) {
        match key {
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=1000).contains(l))
                    .ok_or_else(|| bad("limit: expected 1 to 1000"))?;
            }
            other => return Err(bad(format!("unknown parameter {other:?} (limit)"))),
        }
    }
    let rows = with_journal(&state, id, move |j| Ok(j.recent_events(limit)?)).await?;
    let rows: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(at_ms, kind, symbol, message)| {
            serde_json::json!({"at_ms": at_ms, "at": format_iso8601(at_ms), "kind": kind, "symbol": symbol, "message": message})
        })
        .collect();
    Ok(json(StatusCode::OK, &rows))
}

/// `GET /api/accounts/{id}/settings`: the validated configuration, secrets never included.
pub(crate) async fn settings(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let account = state.config.accounts.iter().find(|a| a.account_id == id).map(views::settings_view);
    Ok(json(StatusCode::OK, &account))
}

/// `GET /api/live`: the prices and counters of every account while the bot runs in this
/// process (`[]` otherwise).
pub(crate) async fn live(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    let readings = state.live.read().ok().and_then(|l| l.as_ref().map(gridbot_engine::live::LiveBoard::all));
    Ok(json(StatusCode::OK, &readings.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_queries_are_checked() {
        let (f, page, per) = history_query(Some("symbol=BTCUSDT&side=Sell&day=2025-01-31&page=3&per_page=20")).unwrap();
        assert_eq!(f.symbol.as_deref(), Some("BTCUSDT"));
        assert_eq!(f.side.as_deref(), Some("Sell"));
        assert_eq!(f.day_start_ms, parse_utc("2025-01-31"));
        assert_eq!((page, per), (3, 20));
        let (f, page, per) = history_query(Some("symbol=&side=&day=")).unwrap();
        assert_eq!(f, TradeFilter::default());
        assert_eq!((page, per), (1, 50));
        for bad in
            ["symbol=btc%27--", "side=long", "day=2025-13-01", "day=2025-01-31T10:00", "page=0", "per_page=501", "x=1"]
        {
            assert_eq!(history_query(Some(bad)).err().map(|e| e.status()), Some(StatusCode::BAD_REQUEST), "{bad}");
        }
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
