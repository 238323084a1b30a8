//! `gridbot data check`: what a data file holds — rows, span, interval, gaps and every bad
//! row — read to the end (unlike the loaders, which stop at the first problem: a backtest must
//! not run on half a file, but someone repairing one wants the whole list).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::csv::{CANDLE_CSV_HEADER, open_text, parse_row};
use crate::funding::{FUNDING_CSV_HEADER, parse_funding_row};
use crate::gaps::Gap;

/// Bad rows listed in full; past this only counted.
pub const BAD_ROWS_LISTED: usize = 20;

/// What kind of file it is (told by its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `open_time_ms,open,high,low,close,volume`.
    Candles,
    /// `funding_time_ms,funding_rate`.
    Funding,
}

/// A row that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line (the header is line 1).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// What a data file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The kind.
    pub kind: DataKind,
    /// Good rows.
    pub rows: u64,
    /// First and last good row's time, UTC ms.
    pub span_ms: Option<(i64, i64)>,
    /// The smallest step between consecutive rows (a candle file's interval).
    pub interval_ms: Option<i64>,
    /// Missing stretches (candle files).
    pub gaps: Vec<Gap>,
    /// The first [`BAD_ROWS_LISTED`] bad rows.
    pub bad_rows: Vec<BadRow>,
    /// All bad rows.
    pub bad_count: u64,
}

/// Why a file could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// It could not be opened or read (a broken gzip stream included).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Line 1 is neither data header.
    #[error(
        "{path}:1: not a data file: expected the header {CANDLE_CSV_HEADER:?} or {FUNDING_CSV_HEADER:?}, found {found:?}"
    )]
    Header {
        /// The file.
        path: PathBuf,
        /// What line 1 said (80 chars at most).
        found: String,
    },
}

/// Reads a candle or funding file (plain or gzip) to the end and reports on it.
pub fn check_file(path: &Path) -> Result<FileReport, CheckError> {
    let io = |source| CheckError::Io { path: path.to_path_buf(), source };
    let mut reader = open_text(path).map_err(io)?;
    let mut header = String::new();
    reader.read_line(&mut header).map_err(io)?;
    let kind = match header.trim() {
        CANDLE_CSV_HEADER => DataKind::Candles,
        FUNDING_CSV_HEADER => DataKind::Funding,
        other => return Err(CheckError::Header { path: path.to_path_buf(), found: other.chars().take(80).collect() }),
    };
    let mut report = FileReport {
        kind,
        rows: 0,
        span_ms: None,
        interval_ms: None,
        gaps: Vec::new(),
        bad_rows: Vec::new(),
        bad_count: 0,
    };
    let mut times: Vec<i64> = Vec::new();
    let mut line = String::new();
    let mut line_no = 1;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                report.bad(line_no + 1, "not valid UTF-8 text".to_owned());
                break;
            }
            Err(e) => return Err(io(e)),
        }
        line_no += 1;
        let row = line.trim();
        if row.is_empty() {
            continue;
        }
        let time = match kind {
            DataKind::Candles => parse_row(row).map(|c| c.open_time_ms),
            DataKind::Funding => parse_funding_row(row).map(|f| f.time_ms),
        };
        match time {
            Err(reason) => report.bad(line_no, reason),
            Ok(t) => match times.last() {
                Some(&previous) if t <= previous => {
                    report.bad(line_no, format!("time {t} is not after the previous row's {previous}"));
                }
                _ => {
                    times.push(t);
                    report.rows += 1;
                }
            },
        }
    }
    report.span_ms = times.first().zip(times.last()).map(|(a, b)| (*a, *b));
    report.interval_ms = times.windows(2).map(|w| w[1] - w[0]).min();
    if kind == DataKind::Candles
        && let Some(interval) = report.interval_ms
    {
        report.gaps = times.windows(2).filter_map(|w| Gap::between(w[0], w[1], interval)).collect();
    }
    Ok(report)
}

impl FileReport {
    fn bad(&mut self, line: usize, reason: String) {
        self.bad_count += 1;
        if self.bad_rows.len() < BAD_ROWS_LISTED {
            self.bad_rows.push(BadRow { line, reason });
        }
    }

    /// Candles missing in all gaps.
    #[must_use]
    pub fn missing(&self) -> i64 {
        self.gaps.iter().map(|g| g.missing).sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gridbot-data-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn lists_every_bad_row_and_the_gaps_and_keeps_counting() {
        let text = "open_time_ms,open,high,low,close,volume\n\
                    0,1,2,1,1,1\n\
                    60000,1,2,1,1,1\n\
                    120000,5,4,3,3,1\n\
                    60000,1,2,1,1,1\n\
                    300000,1,2,1,1,1\n\
                    360000,1,2,1,x,1\n\
                    420000,1,2,1,1,1\n";
        let r = check_file(&write("c.csv", text)).unwrap();
        assert_eq!(r.kind, DataKind::Candles);
        assert_eq!(r.rows, 4);
        assert_eq!(r.span_ms, Some((0, 420_000)));
        assert_eq!(r.interval_ms, Some(60_000));
        // A bad row leaves a hole too: the data a backtest could use has two gaps.
        assert_eq!(
            r.gaps,
            vec![
                Gap { after_ms: 60_000, until_ms: 300_000, missing: 3 },
                Gap { after_ms: 300_000, until_ms: 420_000, missing: 1 }
            ]
        );
        assert_eq!(r.bad_count, 3);
        let lines: Vec<usize> = r.bad_rows.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![4, 5, 7]);
        assert!(r.bad_rows[0].reason.contains("not a sane candle"));
        assert!(r.bad_rows[1].reason.contains("not after"));
        assert!(r.bad_rows[2].reason.contains("close is not a price"));
    }

    #[test]
    fn reads_funding_files_and_rejects_other_headers() {
        let r = check_file(&write("f.csv", "funding_time_ms,funding_rate\n0,0.0001\n28800000,-0.0002\n")).unwrap();
        assert_eq!((r.kind, r.rows, r.interval_ms, r.bad_count), (DataKind::Funding, 2, Some(28_800_000), 0));
        let err = check_file(&write("x.csv", "time,price\n1,2\n")).unwrap_err();
        assert!(err.to_string().contains("x.csv:1: not a data file"), "{err}");
        assert!(matches!(check_file(Path::new("/nonexistent/file.csv")), Err(CheckError::Io { .. })));
    }
}
