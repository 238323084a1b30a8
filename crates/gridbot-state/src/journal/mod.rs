//! The journal: one SQLite database per account (WAL, `synchronous=FULL`), the history behind
//! PnL reports and the dashboard. A user can open it with `sqlite3`.
//!
//! Decisions:
//! - Decimals are stored as TEXT, exactly as they print; sums are done in Rust with `Decimal`,
//!   never with SQLite's floating point.
//! - Executions are idempotent on `exec_id` (`INSERT OR IGNORE`): replaying the same fills after a
//!   restart or a reconnect changes nothing. Orders are upserted by `order_id`.
//! - Schema changes are numbered migrations applied in one transaction each, recorded in
//!   `PRAGMA user_version`; a database from a newer build is refused.
//! - Every write is its own transaction: once a call returns, the row survives a crash.

use std::path::Path;

use gridbot_core::time::utc_day_start;
use gridbot_core::{Decimal, ExecType, Execution, Order, Position, Wallet};
use rusqlite::{Connection, OptionalExtension, params};

mod fills;

/// Numbered schema steps; `user_version` = how many have been applied.
const MIGRATIONS: &[&str] = &[
    // 1: the tables
    "CREATE TABLE orders (
        order_id TEXT PRIMARY KEY, order_link_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
        order_type TEXT NOT NULL, price TEXT, qty TEXT NOT NULL, status TEXT NOT NULL, cum_exec_qty TEXT NOT NULL,
        avg_price TEXT, reduce_only INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
     CREATE TABLE executions (
        exec_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, order_link_id TEXT NOT NULL, symbol TEXT NOT NULL,
        side TEXT NOT NULL, exec_type TEXT NOT NULL, price TEXT NOT NULL, qty TEXT NOT NULL, value TEXT NOT NULL,
        fee TEXT NOT NULL, is_maker INTEGER NOT NULL, closed_size TEXT NOT NULL, exec_ms INTEGER NOT NULL);
     CREATE TABLE positions (
        id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, symbol TEXT NOT NULL, position_idx INTEGER NOT NULL,
        side TEXT, size TEXT NOT NULL, avg_price TEXT, unrealised_pnl TEXT NOT NULL, cum_realised_pnl TEXT NOT NULL);
     CREATE TABLE equity (
        id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, equity TEXT NOT NULL, wallet_balance TEXT NOT NULL,
        available TEXT NOT NULL, im_rate TEXT NOT NULL);
     CREATE TABLE grid_history (
        id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, symbol TEXT NOT NULL, kind TEXT NOT NULL, details TEXT NOT NULL);
     CREATE TABLE events (
        id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, symbol TEXT, message TEXT NOT NULL);",
    // 2: realised PnL per execution (known to the engine, not to Bybit's execution list), and
    //    the indexes the reports use
    "ALTER TABLE executions ADD COLUMN realised_pnl TEXT;
     CREATE INDEX executions_time ON executions (exec_ms);
     CREATE INDEX equity_time ON equity (ts_ms);
     CREATE INDEX events_time ON events (ts_ms);",
    // 3: why an order ended (Bybit's cancelType and rejectReason), for every refusal
    "ALTER TABLE orders ADD COLUMN cancel_type TEXT;
     ALTER TABLE orders ADD COLUMN reject_reason TEXT;",
    // 4: what the dashboard asks every second: open orders per symbol, trades by symbol
    "CREATE INDEX orders_symbol_status ON orders (symbol, status);
     CREATE INDEX executions_symbol_time ON executions (symbol, exec_ms);
     CREATE INDEX positions_symbol ON positions (symbol, position_idx, id);
     ALTER TABLE positions ADD COLUMN position_value TEXT;
     ALTER TABLE positions ADD COLUMN mark_price TEXT;
     ALTER TABLE positions ADD COLUMN liq_price TEXT;",
];

#[cfg(test)]
pub(crate) const MIGRATIONS_FOR_TESTS: &[&str] = MIGRATIONS;

/// An order the exchange refused or cancelled with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// When it ended, UTC ms.
    pub at_ms: i64,
    /// Its orderLinkId.
    pub order_link_id: String,
    /// Its final status.
    pub status: String,
    /// Bybit's cancel type.
    pub cancel_type: String,
    /// Bybit's reject reason.
    pub reject_reason: String,
}

/// Journal failures.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite said no.
    #[error("journal {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer build.
    #[error("journal {path}: schema version {found} is newer than this build ({known})")]
    TooNew {
        /// The database file.
        path: String,
        /// Its `user_version`.
        found: i64,
        /// Ours.
        known: usize,
    },
    /// A stored decimal does not parse.
    #[error("journal {path}: column {column} holds {value:?}, not a decimal")]
    BadValue {
        /// The database file.
        path: String,
        /// The column.
        column: &'static str,
        /// The text.
        value: String,
    },
}

/// An event row: `(ms, kind, symbol, message)`.
pub type JournalEvent = (i64, String, Option<String>, String);

/// A row of the grid history: `(ms, symbol, kind, details JSON)` — a progressive plan locked, a
/// classic grid (re)built.
pub type GridHistoryRow = (i64, String, String, String);

/// A trade as the journal stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalTrade {
    /// Execution id.
    pub exec_id: String,
    /// Client order id.
    pub order_link_id: String,
    /// Symbol.
    pub symbol: String,
    /// `Buy` / `Sell`.
    pub side: String,
    /// Price.
    pub price: Decimal,
    /// Size.
    pub qty: Decimal,
    /// Fee.
    pub fee: Decimal,
    /// Realised PnL of the fill, if known.
    pub realised_pnl: Option<Decimal>,
    /// Time, UTC ms.
    pub exec_ms: i64,
}

/// What [`Journal::pnl_since`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PnlSince {
    /// Realised PnL net of fees and funding by UTC day start, oldest first.
    pub by_day: Vec<(i64, Decimal)>,
    /// Executions read.
    pub count: i64,
    /// The row to pass next time.
    pub last_row: i64,
}

/// Which executions [`Journal::trades_page`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradeFilter {
    /// Only this symbol.
    pub symbol: Option<String>,
    /// Only this side (`Buy` / `Sell`).
    pub side: Option<String>,
    /// Only this UTC day (its start, ms).
    pub day_start_ms: Option<i64>,
}

/// An execution as the history shows it (trades and funding).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JournalFill {
    /// Execution id.
    pub exec_id: String,
    /// Client order id.
    pub order_link_id: String,
    /// Symbol.
    pub symbol: String,
    /// `Buy` / `Sell`.
    pub side: String,
    /// `Trade`, `Funding`, …
    pub exec_type: String,
    /// Price.
    pub price: Decimal,
    /// Size.
    pub qty: Decimal,
    /// Fee paid (negative: a rebate; funding: positive = paid).
    pub fee: Decimal,
    /// Filled as maker.
    pub is_maker: bool,
    /// Realised PnL of the fill, when known.
    pub realised_pnl: Option<Decimal>,
    /// Time, UTC ms.
    pub exec_ms: i64,
}

/// The newest position row of a symbol's leg.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PositionReading {
    /// When, UTC ms.
    pub at_ms: i64,
    /// Symbol.
    pub symbol: String,
    /// Bybit's positionIdx (1 long, 2 short in hedge mode).
    pub position_idx: i64,
    /// Size.
    pub size: Decimal,
    /// Average entry.
    pub avg_price: Option<Decimal>,
    /// Unrealised PnL.
    pub unrealised_pnl: Decimal,
    /// Position value (rows written before schema 4 have none).
    pub position_value: Option<Decimal>,
    /// Mark price then.
    pub mark_price: Option<Decimal>,
    /// Liquidation price then.
    pub liq_price: Option<Decimal>,
}

/// The latest wallet row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletReading {
    /// When, UTC ms.
    pub at_ms: i64,
    /// Total equity.
    pub equity: Decimal,
    /// Wallet balance.
    pub wallet_balance: Decimal,
    /// Available to trade.
    pub available: Decimal,
    /// Account initial-margin rate.
    pub im_rate: Decimal,
}

/// The columns [`fill_row`] reads, in its order.
const FILL_COLUMNS: &str =
    "exec_id, order_link_id, symbol, side, exec_type, price, qty, fee, is_maker, realised_pnl, exec_ms";

/// An execution row as stored (decimals still text).
type FillRow = (String, String, String, String, String, String, String, String, bool, Option<String>, i64);

fn fill_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FillRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

/// One account's journal.
pub struct Journal {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens (creating if needed) and migrates the journal at `path`.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let shown = path.display().to_string();
        let sql = |source| JournalError::Sqlite { path: shown.clone(), source };
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(sql)?;
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql)?;
        let applied = usize::try_from(version).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(JournalError::TooNew { path: shown, found: version, known: MIGRATIONS.len() });
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = conn.transaction().map_err(sql)?;
            tx.execute_batch(step).map_err(sql)?;
            tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(i64::MAX)).map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(Self { conn, path: shown })
    }

    fn sql(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite { path: self.path.clone(), source }
    }

    fn fill(&self, row: FillRow) -> Result<JournalFill, JournalError> {
        let (exec_id, order_link_id, symbol, side, exec_type, price, qty, fee, is_maker, pnl, exec_ms) = row;
        Ok(JournalFill {
            exec_id,
            order_link_id,
            symbol,
            side,
            exec_type,
            price: self.dec("price", &price)?,
            qty: self.dec("qty", &qty)?,
            fee: self.dec("fee", &fee)?,
            is_maker,
            realised_pnl: pnl.map(|p| self.dec("realised_pnl", &p)).transpose()?,
            exec_ms,
        })
    }

    fn dec(&self, column: &'static str, text: &str) -> Result<Decimal, JournalError> {
        text.parse().map_err(|_| JournalError::BadValue { path: self.path.clone(), column, value: text.to_owned() })
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, JournalError> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| self.sql(e))
    }

    /// Inserts or updates an order.
    pub fn record_order(&self, o: &Order) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, cum_exec_qty = excluded.cum_exec_qty,
                   avg_price = excluded.avg_price, price = excluded.price, qty = excluded.qty, updated_ms = excluded.updated_ms,
                   cancel_type = excluded.cancel_type, reject_reason = excluded.reject_reason",
                params![
                    o.order_id,
                    o.order_link_id,
                    o.symbol.as_str(),
                    o.side.as_str(),
                    o.order_type.as_str(),
                    o.price.map(|p| p.to_string()),
                    o.qty.to_string(),
                    o.status.as_str(),
                    o.cum_exec_qty.to_string(),
                    o.avg_price.map(|p| p.to_string()),
                    o.reduce_only,
                    o.created_time_ms,
                    o.updated_time_ms,
                    o.cancel_type.as_str(),
                    o.reject_reason.as_str()
                ],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// Orders of `symbol` open on the exchange as last heard (their newest status is `New`,
    /// `PartiallyFilled` or `Untriggered`).
    pub fn open_order_count(&self, symbol: &str) -> Result<i64, JournalError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM orders WHERE symbol = ?1 AND status IN ('New', 'PartiallyFilled', 'Untriggered')",
                params![symbol],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// The orders the exchange refused or cancelled with a reason, newest first.
    pub fn refusals(&self, limit: u32) -> Result<Vec<Refusal>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT updated_ms, order_link_id, status, coalesce(cancel_type, ''), reject_reason FROM orders
                 WHERE reject_reason IS NOT NULL AND reject_reason != 'EC_NoError' ORDER BY updated_ms DESC LIMIT ?1",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![limit], |r| {
                Ok(Refusal {
                    at_ms: r.get(0)?,
                    order_link_id: r.get(1)?,
                    status: r.get(2)?,
                    cancel_type: r.get(3)?,
                    reject_reason: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Records a position row.
    pub fn record_position(&self, p: &Position, ts_ms: i64) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO positions (ts_ms, symbol, position_idx, side, size, avg_price, unrealised_pnl, cum_realised_pnl,
                    position_value, mark_price, liq_price)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    ts_ms,
                    p.symbol.as_str(),
                    p.position_idx.as_i64(),
                    p.side.map(|s| s.as_str()),
                    p.size.to_string(),
                    p.avg_price.map(|x| x.to_string()),
                    p.unrealised_pnl.to_string(),
                    p.cum_realised_pnl.to_string(),
                    p.position_value.to_string(),
                    p.mark_price.map(|x| x.to_string()),
                    p.liq_price.map(|x| x.to_string())
                ],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// The newest row of every (symbol, position index) the journal has seen.
    pub fn latest_positions(&self) -> Result<Vec<PositionReading>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT p.ts_ms, p.symbol, p.position_idx, p.size, p.avg_price, p.unrealised_pnl, p.position_value,
                        p.mark_price, p.liq_price
                 FROM positions p JOIN (SELECT MAX(id) AS id FROM positions GROUP BY symbol, position_idx) newest
                 ON p.id = newest.id ORDER BY p.symbol, p.position_idx",
            )
            .map_err(|e| self.sql(e))?;
        type Row = (i64, String, i64, String, Option<String>, String, Option<String>, Option<String>, Option<String>);
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (at_ms, symbol, position_idx, size, avg, upnl, value, mark, liq): Row = row.map_err(|e| self.sql(e))?;
            let optional = |column, v: Option<String>| v.map(|v| self.dec(column, &v)).transpose();
            out.push(PositionReading {
                at_ms,
                symbol,
                position_idx,
                size: self.dec("size", &size)?,
                avg_price: optional("avg_price", avg)?,
                unrealised_pnl: self.dec("unrealised_pnl", &upnl)?,
                position_value: optional("position_value", value)?,
                mark_price: optional("mark_price", mark)?,
                liq_price: optional("liq_price", liq)?,
            });
        }
        Ok(out)
    }

    /// Records an equity snapshot.
    pub fn record_equity(&self, w: &Wallet, ts_ms: i64) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO equity (ts_ms, equity, wallet_balance, available, im_rate) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    ts_ms,
                    w.total_equity.to_string(),
                    w.total_wallet_balance.to_string(),
                    w.total_available_balance.to_string(),
                    w.account_im_rate.to_string()
                ],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// Records a grid change (`kind`: `plan`, `recentre`, ...; `details`: JSON).
    pub fn record_grid(&self, ts_ms: i64, symbol: &str, kind: &str, details: &str) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO grid_history (ts_ms, symbol, kind, details) VALUES (?1, ?2, ?3, ?4)",
                params![ts_ms, symbol, kind, details],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// Records an event (`kind`: `risk`, `error`, `operator`, ...).
    pub fn record_event(
        &self,
        ts_ms: i64,
        kind: &str,
        symbol: Option<&str>,
        message: &str,
    ) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO events (ts_ms, kind, symbol, message) VALUES (?1, ?2, ?3, ?4)",
                params![ts_ms, kind, symbol, message],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// The latest wallet reading: `(ms, equity, available, IM rate)`.
    pub fn latest_wallet(&self) -> Result<Option<WalletReading>, JournalError> {
        let row: Option<(i64, String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT ts_ms, equity, wallet_balance, available, im_rate FROM equity ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        row.map(|(at_ms, equity, balance, available, im_rate)| {
            Ok(WalletReading {
                at_ms,
                equity: self.dec("equity", &equity)?,
                wallet_balance: self.dec("wallet_balance", &balance)?,
                available: self.dec("available", &available)?,
                im_rate: self.dec("im_rate", &im_rate)?,
            })
        })
        .transpose()
    }

    /// Equity snapshots in `[start, end]`: `(ms, equity)`, oldest first.
    pub fn equity_curve(&self, start_ms: i64, end_ms: i64) -> Result<Vec<(i64, Decimal)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT ts_ms, equity FROM equity WHERE ts_ms BETWEEN ?1 AND ?2 ORDER BY ts_ms, id")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![start_ms, end_ms], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (ms, equity) = row.map_err(|e| self.sql(e))?;
            out.push((ms, self.dec("equity", &equity)?));
        }
        Ok(out)
    }

    /// The most recent equity snapshot `(ms, equity)`, if any (the last one written).
    pub fn latest_equity(&self) -> Result<Option<(i64, Decimal)>, JournalError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row("SELECT ts_ms, equity FROM equity ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(|e| self.sql(e))?;
        row.map(|(ms, equity)| Ok((ms, self.dec("equity", &equity)?))).transpose()
    }

    #[cfg(test)]
    pub(crate) fn conn_for_tests(&self) -> &Connection {
        &self.conn
    }

    /// When the oldest order the journal holds was created (exchange time).
    pub fn first_order_ms(&self) -> Result<Option<i64>, JournalError> {
        self.conn
            .query_row("SELECT MIN(created_ms) FROM orders WHERE created_ms > 0", [], |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    /// The grid history of `symbol`, oldest first.
    pub fn grid_history(&self, symbol: &str) -> Result<Vec<GridHistoryRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT ts_ms, symbol, kind, details FROM grid_history WHERE symbol = ?1 ORDER BY ts_ms, id")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![symbol], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The last `limit` events, newest first.
    pub fn recent_events(&self, limit: u32) -> Result<Vec<JournalEvent>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT ts_ms, kind, symbol, message FROM events ORDER BY ts_ms DESC, id DESC LIMIT ?1")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }
}
