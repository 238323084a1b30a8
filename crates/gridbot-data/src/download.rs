//! Resumable downloads of candle history into the data-file format (`gridbot data fetch`).
//!
//! The exchange is a closure here — "the candles opening in `[start, end]`, at most one page"
//! — so this module knows files and paging, not HTTP; the binary passes the Bybit client's
//! `klines_page`, a test passes a fake.
//!
//! Decisions:
//! - **Forward paging by windows**: each request asks for exactly `page` intervals after the
//!   last one; an empty answer is a gap (an outage, or before the listing), not the end. The
//!   requests are the same whatever the data holds, so a download is reproducible and
//!   resumes exactly where it stopped.
//! - **Resumable**: rows go to `OUT.partial` (plain CSV, its first line naming the download)
//!   and are synced after every page. An interrupted download (Ctrl-C, a network failure, a
//!   crash mid-line) is resumed by running the same command: a torn last line is cut, the
//!   rows kept are checked, and paging continues after the last one. A partial file of
//!   another download is refused, never mixed in.
//! - **Finished atomically**: the partial file is gzip-compressed into `OUT` with one rename;
//!   `OUT` is never half written and an existing `OUT` is never overwritten.
//! - **Checked**: every row the exchange sends must lie in the window asked for and come after
//!   the previous one; gaps are reported with the result, never filled.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use gridbot_core::Candle;

use crate::csv::{CANDLE_CSV_HEADER, parse_row};
use crate::gaps::Gap;

/// What to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadPlan {
    /// Names the download (exchange, symbol, interval); written into the partial file so a
    /// resume continues the same download and no other.
    pub label: String,
    /// Candle interval, ms.
    pub interval_ms: i64,
    /// First open time wanted (inclusive), UTC ms.
    pub from_ms: i64,
    /// End of the window (exclusive), UTC ms.
    pub to_ms: i64,
    /// Candles per request (Bybit: 1000).
    pub page: i64,
}

impl DownloadPlan {
    fn first_line(&self) -> String {
        format!(
            "# gridbot download: {} interval_ms={} from_ms={} to_ms={}",
            self.label, self.interval_ms, self.from_ms, self.to_ms
        )
    }
}

/// How far a download has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Open times before this are done.
    pub cursor_ms: i64,
    /// Rows written so far (resumed ones included).
    pub rows: u64,
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Rows in the file.
    pub rows: u64,
    /// Rows that came from an earlier, interrupted run.
    pub resumed_rows: u64,
    /// First and last open time.
    pub span_ms: (i64, i64),
    /// Missing stretches between the first and the last candle.
    pub gaps: Vec<Gap>,
    /// Requests sent.
    pub requests: u64,
}

/// Why a download stopped.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The plan makes no sense.
    #[error("nothing to download: {0}")]
    Plan(String),
    /// The output exists already.
    #[error("{0} exists: not overwriting it (remove it or choose another --out)")]
    Exists(PathBuf),
    /// A partial file of a different download is in the way.
    #[error("{path} belongs to another download ({found}); remove it or repeat that download's arguments")]
    OtherDownload {
        /// The partial file.
        path: PathBuf,
        /// Its first line.
        found: String,
    },
    /// A partial file is damaged beyond a torn last line.
    #[error("{path}:{line}: {reason} (remove the partial file to start over)")]
    Damaged {
        /// The partial file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The exchange refused or failed (its error, printed); what was fetched is kept in the
    /// partial file.
    #[error("{0} (the rows fetched so far are kept: run the same command again to resume)")]
    Source(String),
    /// The exchange answered with rows that are not what was asked for.
    #[error("the exchange sent a candle at {time_ms} for the window [{start_ms}, {end_ms}] after {previous_ms:?}")]
    Unexpected {
        /// The row's open time.
        time_ms: i64,
        /// Window asked for.
        start_ms: i64,
        /// Window asked for.
        end_ms: i64,
        /// The previous row's open time.
        previous_ms: Option<i64>,
    },
    /// The exchange has no candles in the window.
    #[error("the exchange returned no candles between {from_ms} and {to_ms}")]
    Empty {
        /// Window start.
        from_ms: i64,
        /// Window end.
        to_ms: i64,
    },
}

/// The partial file beside `out`.
#[must_use]
pub fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Downloads `plan` into the gzip candle file `out`, resuming `out.partial` if an earlier run
/// left one. `fetch(start, end)` returns the candles opening in `[start, end]` (ascending or
/// not; at most `plan.page`); `progress` hears after every page.
pub fn download_candles<E: std::fmt::Display>(
    out: &Path,
    plan: &DownloadPlan,
    fetch: &mut dyn FnMut(i64, i64) -> Result<Vec<Candle>, E>,
    progress: &mut dyn FnMut(DownloadProgress),
) -> Result<Downloaded, DownloadError> {
    if plan.interval_ms <= 0 || plan.page <= 0 || plan.from_ms >= plan.to_ms {
        return Err(DownloadError::Plan(format!(
            "the window [{}, {}) with interval {} ms",
            plan.from_ms, plan.to_ms, plan.interval_ms
        )));
    }
    if out.exists() {
        return Err(DownloadError::Exists(out.to_path_buf()));
    }
    let partial = partial_path(out);
    let io = |source| DownloadError::Io { path: partial.clone(), source };
    let (file, resumed_rows, mut last) = open_partial(&partial, plan)?;
    let mut writer = BufWriter::new(file);
    let mut rows = resumed_rows;
    let mut requests = 0u64;
    let mut cursor = last.map_or(plan.from_ms, |t| t + plan.interval_ms);
    while cursor < plan.to_ms {
        let end = cursor.saturating_add(plan.page * plan.interval_ms).min(plan.to_ms) - 1;
        requests += 1;
        let mut page = fetch(cursor, end).map_err(|e| DownloadError::Source(e.to_string()))?;
        page.sort_by_key(|c| c.open_time_ms);
        for c in &page {
            let t = c.open_time_ms;
            if t < cursor || t > end || last.is_some_and(|l| t <= l) {
                return Err(DownloadError::Unexpected { time_ms: t, start_ms: cursor, end_ms: end, previous_ms: last });
            }
            writeln!(writer, "{},{},{},{},{},{}", t, c.open, c.high, c.low, c.close, c.volume).map_err(io)?;
            last = Some(t);
            rows += 1;
        }
        writer.flush().map_err(io)?;
        writer.get_ref().sync_data().map_err(io)?;
        cursor = end + 1;
        progress(DownloadProgress { cursor_ms: cursor, rows });
    }
    drop(writer);
    let (span_ms, gaps) = finish(&partial, out, plan)?;
    Ok(Downloaded { rows, resumed_rows, span_ms, gaps, requests })
}

/// Opens (creating or resuming) the partial file, positioned to append; returns it, the rows
/// it holds and the last row's time.
fn open_partial(partial: &Path, plan: &DownloadPlan) -> Result<(File, u64, Option<i64>), DownloadError> {
    let io = |source| DownloadError::Io { path: partial.to_path_buf(), source };
    if !partial.exists() {
        let mut file = File::create(partial).map_err(io)?;
        writeln!(file, "{}\n{CANDLE_CSV_HEADER}", plan.first_line()).map_err(io)?;
        file.sync_all().map_err(io)?;
        return Ok((file, 0, None));
    }
    let damaged = |line: usize, reason: String| DownloadError::Damaged { path: partial.to_path_buf(), line, reason };
    let mut reader = BufReader::new(File::open(partial).map_err(io)?);
    let (mut rows, mut last, mut kept_bytes) = (0u64, None, 0u64);
    let mut line = String::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(io)?;
        if n == 0 || !line.ends_with('\n') {
            break; // the end, or a line torn by an interruption: cut below
        }
        line_no += 1;
        let text = line.trim_end();
        match line_no {
            1 if text != plan.first_line() => {
                return Err(DownloadError::OtherDownload { path: partial.to_path_buf(), found: text.to_owned() });
            }
            2 if text != CANDLE_CSV_HEADER => return Err(damaged(2, format!("expected the header, found {text:?}"))),
            1 | 2 => {}
            _ => {
                let c = parse_row(text).map_err(|reason| damaged(line_no, reason))?;
                if last.is_some_and(|l| c.open_time_ms <= l) {
                    return Err(damaged(line_no, "rows out of order".to_owned()));
                }
                last = Some(c.open_time_ms);
                rows += 1;
            }
        }
        kept_bytes += n as u64;
    }
    if line_no < 2 {
        return Err(damaged(line_no + 1, "the partial file lost its first lines".to_owned()));
    }
    let mut file = OpenOptions::new().write(true).open(partial).map_err(io)?;
    file.set_len(kept_bytes).map_err(io)?;
    file.seek(SeekFrom::End(0)).map_err(io)?;
    Ok((file, rows, last))
}

/// Compresses the partial file into `out` (atomically), finds the gaps, removes the partial.
fn finish(partial: &Path, out: &Path, plan: &DownloadPlan) -> Result<((i64, i64), Vec<Gap>), DownloadError> {
    let io = |source| DownloadError::Io { path: partial.to_path_buf(), source };
    let reader = BufReader::new(File::open(partial).map_err(io)?);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let (mut first, mut last, mut gaps) = (None, None::<i64>, Vec::new());
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        if i == 0 {
            continue; // the download's name
        }
        if i > 1 {
            let t: i64 = line.split(',').next().and_then(|t| t.parse().ok()).unwrap_or(0);
            if let Some(gap) = last.and_then(|l| Gap::between(l, t, plan.interval_ms)) {
                gaps.push(gap);
            }
            first.get_or_insert(t);
            last = Some(t);
        }
        gz.write_all(line.as_bytes()).and_then(|()| gz.write_all(b"\n")).map_err(io)?;
    }
    let (Some(first), Some(last)) = (first, last) else {
        std::fs::remove_file(partial).map_err(io)?;
        return Err(DownloadError::Empty { from_ms: plan.from_ms, to_ms: plan.to_ms });
    };
    let bytes = gz.finish().map_err(io)?;
    gridbot_core::fs::write_atomic(out, &bytes)
        .map_err(|source| DownloadError::Io { path: out.to_path_buf(), source })?;
    std::fs::remove_file(partial).map_err(io)?;
    Ok(((first, last), gaps))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use gridbot_core::{Price, Qty};

    fn candle(t: i64) -> Candle {
        let p: Price = "100.5".parse().unwrap();
        Candle { open_time_ms: t, open: p, high: p, low: p, close: p, volume: Qty::ZERO }
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gridbot-download-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// An exchange holding minutes 0..300 except 100..110, serving pages of at most 50.
    fn exchange(calls: &mut Vec<(i64, i64)>) -> impl FnMut(i64, i64) -> Result<Vec<Candle>, String> + '_ {
        move |start, end| {
            calls.push((start, end));
            Ok((start / 60_000..=end / 60_000)
                .filter(|m| *m < 300 && !(100..110).contains(m))
                .map(|m| candle(m * 60_000))
                .rev() // Bybit sends newest first
                .take(50)
                .collect())
        }
    }

    fn plan() -> DownloadPlan {
        DownloadPlan { label: "test BTCUSDT 1".into(), interval_ms: 60_000, from_ms: 0, to_ms: 300 * 60_000, page: 50 }
    }

    #[test]
    fn pages_forward_reports_gaps_and_writes_a_loadable_file() {
        let out = dir("whole").join("btc.csv.gz");
        let mut calls = Vec::new();
        let done = download_candles(&out, &plan(), &mut exchange(&mut calls), &mut |_| {}).unwrap();
        assert_eq!(done.rows, 290);
        assert_eq!(done.requests, 6);
        assert_eq!(calls[0], (0, 50 * 60_000 - 1));
        assert_eq!(done.gaps, vec![Gap { after_ms: 99 * 60_000, until_ms: 110 * 60_000, missing: 10 }]);
        let candles = crate::load_candles(&out).unwrap();
        assert_eq!(candles.len(), 290);
        assert!(!partial_path(&out).exists());
        let again = download_candles(&out, &plan(), &mut exchange(&mut Vec::new()), &mut |_| {});
        assert!(matches!(again, Err(DownloadError::Exists(_))));
    }

    #[test]
    fn an_interrupted_download_resumes_where_it_stopped_even_after_a_torn_line() {
        let out = dir("resume").join("btc.csv.gz");
        let mut calls = Vec::new();
        let mut inner = exchange(&mut calls);
        let mut pages = 0;
        let mut failing = |s, e| {
            pages += 1;
            if pages == 3 { Err("connection reset".to_owned()) } else { inner(s, e) }
        };
        let err = download_candles(&out, &plan(), &mut failing, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("run the same command again"), "{err}");
        // A crash mid-write leaves half a line.
        let partial = partial_path(&out);
        let mut f = OpenOptions::new().append(true).open(&partial).unwrap();
        f.write_all(b"6000000,100.5,10").unwrap();
        drop(f);
        let mut calls = Vec::new();
        let done = download_candles(&out, &plan(), &mut exchange(&mut calls), &mut |_| {}).unwrap();
        assert_eq!(done.resumed_rows, 100);
        assert_eq!(done.rows, 290);
        assert_eq!(calls[0].0, 100 * 60_000, "resumes after the last kept row");
        let loaded = crate::load_candles(&out).unwrap();
        assert_eq!(loaded.len(), 290);
        assert!(loaded.windows(2).all(|w| w[0].open_time_ms < w[1].open_time_ms));
    }

    #[test]
    fn refuses_another_downloads_partial_file_and_rows_outside_the_window() {
        let out = dir("other").join("btc.csv.gz");
        std::fs::write(partial_path(&out), "# gridbot download: other ETHUSDT 1 interval_ms=60000 from_ms=0 to_ms=1\n")
            .unwrap();
        let err = download_candles(&out, &plan(), &mut exchange(&mut Vec::new()), &mut |_| {}).unwrap_err();
        assert!(matches!(err, DownloadError::OtherDownload { .. }), "{err}");
        let out = dir("bad").join("btc.csv.gz");
        let err = download_candles(&out, &plan(), &mut |_, _| Ok::<_, String>(vec![candle(999 * 60_000)]), &mut |_| {})
            .unwrap_err();
        assert!(matches!(err, DownloadError::Unexpected { time_ms: 59_940_000, .. }), "{err}");
        let out = dir("empty").join("btc.csv.gz");
        let err = download_candles(&out, &plan(), &mut |_, _| Ok::<_, String>(Vec::new()), &mut |_| {}).unwrap_err();
        assert!(matches!(err, DownloadError::Empty { .. }), "{err}");
        assert!(!partial_path(&out).exists());
    }
}
