//! The journal's executions: recording a fill (idempotent on its id; a missing PnL taken when
//! it comes) and every read of fills, PnL, fees and funding.

use rusqlite::{OptionalExtension, params};

use super::*;

impl Journal {
    /// True when trade `exec_id` is journaled without its realised PnL (an exit journaled before
    /// its PnL could be told; a later row with it fills it in).
    pub fn lacks_pnl(&self, exec_id: &str) -> Result<bool, JournalError> {
        self.conn
            .query_row(
                "SELECT 1 FROM executions WHERE exec_id = ?1 AND realised_pnl IS NULL AND exec_type = 'Trade'",
                params![exec_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.sql(e))
    }

    /// The time of the oldest exit of `symbol` (a trade that closed size) journaled without its
    /// realised PnL, if any.
    pub fn oldest_exit_lacking_pnl(&self, symbol: &str) -> Result<Option<i64>, JournalError> {
        self.conn
            .query_row(
                "SELECT MIN(exec_ms) FROM executions WHERE symbol = ?1 AND exec_type = 'Trade'
                 AND realised_pnl IS NULL AND closed_size NOT IN ('0', '0.0', '')",
                params![symbol],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// True when the execution `exec_id` is recorded.
    pub fn has_execution(&self, exec_id: &str) -> Result<bool, JournalError> {
        self.conn
            .query_row("SELECT 1 FROM executions WHERE exec_id = ?1", params![exec_id], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.sql(e))
    }

    /// Records an execution once; returns false if it was already there.
    pub fn record_execution(&self, e: &Execution, realised_pnl: Option<Decimal>) -> Result<bool, JournalError> {
        let n = self
            .conn
            .execute(
                // Idempotent on exec_id; a row journaled without its PnL takes it when it comes.
                "INSERT INTO executions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT(exec_id) DO UPDATE SET realised_pnl = excluded.realised_pnl
                 WHERE executions.realised_pnl IS NULL AND excluded.realised_pnl IS NOT NULL",
                params![
                    e.exec_id,
                    e.order_id,
                    e.order_link_id,
                    e.symbol.as_str(),
                    e.side.as_str(),
                    e.exec_type.as_str(),
                    e.exec_price.to_string(),
                    e.exec_qty.to_string(),
                    e.exec_value.to_string(),
                    e.exec_fee.to_string(),
                    e.is_maker,
                    e.closed_size.to_string(),
                    e.exec_time_ms,
                    realised_pnl.map(|d| d.to_string())
                ],
            )
            .map_err(|err| self.sql(err))?;
        Ok(n == 1)
    }

    /// The newest execution (trade or funding), if any — read from the time index alone.
    pub fn last_fill(&self) -> Result<Option<JournalFill>, JournalError> {
        let newest: Option<i64> = self
            .conn
            .query_row("SELECT rowid FROM executions ORDER BY exec_ms DESC, rowid DESC LIMIT 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some(rowid) = newest else { return Ok(None) };
        let row = self
            .conn
            .query_row(&format!("SELECT {FILL_COLUMNS} FROM executions WHERE rowid = ?1"), params![rowid], fill_row)
            .map_err(|e| self.sql(e))?;
        self.fill(row).map(Some)
    }

    /// Trades (not funding) executed in `[start, end]`, oldest first.
    pub fn trades_between(&self, start_ms: i64, end_ms: i64) -> Result<Vec<JournalTrade>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT exec_id, order_link_id, symbol, side, price, qty, fee, realised_pnl, exec_ms FROM executions
                 WHERE exec_ms BETWEEN ?1 AND ?2 AND exec_type != 'Funding' ORDER BY exec_ms, exec_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![start_ms, end_ms], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, i64>(8)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (exec_id, order_link_id, symbol, side, price, qty, fee, pnl, exec_ms) = row.map_err(|e| self.sql(e))?;
            out.push(JournalTrade {
                exec_id,
                order_link_id,
                symbol,
                side,
                price: self.dec("price", &price)?,
                qty: self.dec("qty", &qty)?,
                fee: self.dec("fee", &fee)?,
                realised_pnl: pnl.map(|p| self.dec("realised_pnl", &p)).transpose()?,
                exec_ms,
            });
        }
        Ok(out)
    }

    /// Realised PnL net of fees and funding, by UTC day: `(day start ms, amount)`, oldest first.
    pub fn realised_pnl_by_day(&self) -> Result<Vec<(i64, Decimal)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT exec_ms, exec_type, fee, realised_pnl FROM executions ORDER BY exec_ms")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut days: std::collections::BTreeMap<i64, Decimal> = std::collections::BTreeMap::new();
        for row in rows {
            let (ms, _kind, fee, pnl) = row.map_err(|e| self.sql(e))?;
            let amount = pnl.map(|p| self.dec("realised_pnl", &p)).transpose()?.unwrap_or(Decimal::ZERO)
                - self.dec("fee", &fee)?;
            *days.entry(utc_day_start(ms)).or_default() += amount;
        }
        Ok(days.into_iter().collect())
    }

    /// Realised PnL net of fees and funding of the executions stored after row `after` (0: all),
    /// by UTC day, oldest first, with how many there were and the row to continue from — for a
    /// reader that keeps running totals instead of re-reading the whole table.
    pub fn pnl_since(&self, after: i64) -> Result<PnlSince, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rowid, exec_ms, fee, realised_pnl FROM executions WHERE rowid > ?1 ORDER BY rowid")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![after], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = PnlSince { last_row: after, ..PnlSince::default() };
        let mut days: std::collections::BTreeMap<i64, Decimal> = std::collections::BTreeMap::new();
        for row in rows {
            let (rowid, ms, fee, pnl) = row.map_err(|e| self.sql(e))?;
            let amount = pnl.map(|p| self.dec("realised_pnl", &p)).transpose()?.unwrap_or(Decimal::ZERO)
                - self.dec("fee", &fee)?;
            *days.entry(utc_day_start(ms)).or_default() += amount;
            out.count += 1;
            out.last_row = rowid;
        }
        out.by_day = days.into_iter().collect();
        Ok(out)
    }

    /// A page of trades and funding, newest first, filtered; and how many match in all.
    pub fn trades_page(
        &self,
        filter: &TradeFilter,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<JournalFill>, i64), JournalError> {
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(symbol) = &filter.symbol {
            values.push(symbol.clone().into());
            conditions.push(format!("symbol = ?{}", values.len()));
        }
        if let Some(side) = &filter.side {
            values.push(side.clone().into());
            conditions.push(format!("side = ?{}", values.len()));
        }
        if let Some(day) = filter.day_start_ms {
            values.push(day.into());
            conditions.push(format!("exec_ms >= ?{}", values.len()));
            values.push((day + 86_400_000 - 1).into());
            conditions.push(format!("exec_ms <= ?{}", values.len()));
        }
        let filter_sql =
            if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let total: i64 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM executions{filter_sql}"),
                rusqlite::params_from_iter(values.iter()),
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        let query = format!(
            "SELECT {FILL_COLUMNS} FROM executions{filter_sql} ORDER BY exec_ms DESC, rowid DESC LIMIT {limit} OFFSET {offset}"
        );
        let mut stmt = self.conn.prepare(&query).map_err(|e| self.sql(e))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), fill_row).map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(self.fill(row.map_err(|e| self.sql(e))?)?);
        }
        Ok((out, total))
    }

    /// Trading fees and net funding paid in `[start, end]` (funding: positive = paid).
    pub fn fees_and_funding(&self, start_ms: i64, end_ms: i64) -> Result<(Decimal, Decimal), JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT exec_type, fee FROM executions WHERE exec_ms BETWEEN ?1 AND ?2")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![start_ms, end_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.sql(e))?;
        let (mut fees, mut funding) = (Decimal::ZERO, Decimal::ZERO);
        for row in rows {
            let (kind, fee) = row.map_err(|e| self.sql(e))?;
            let fee = self.dec("fee", &fee)?;
            if kind == ExecType::Funding.as_str() {
                funding += fee;
            } else {
                fees += fee;
            }
        }
        Ok((fees, funding))
    }

    /// Number of executions stored.
    pub fn execution_count(&self) -> Result<i64, JournalError> {
        self.conn.query_row("SELECT COUNT(*) FROM executions", [], |r| r.get(0)).map_err(|e| self.sql(e))
    }

    /// The id of the latest execution, if any.
    pub fn last_execution(&self) -> Result<Option<(String, i64)>, JournalError> {
        self.conn
            .query_row("SELECT exec_id, exec_ms FROM executions ORDER BY exec_ms DESC, exec_id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(|e| self.sql(e))
    }
}
