//! Funding-history files: `funding_time_ms,funding_rate`, one settlement per line, ascending,
//! plain or gzip — what `gridbot data fetch --funding` writes and backtests read.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use gridbot_core::Decimal;

/// The header every funding file starts with.
pub const FUNDING_CSV_HEADER: &str = "funding_time_ms,funding_rate";

/// One settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingSettlement {
    /// Settlement time, UTC ms.
    pub time_ms: i64,
    /// Rate (positive: longs pay shorts).
    pub rate: Decimal,
}

/// Why a funding file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FundingError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not `time,rate` with ascending times.
    #[error("{path}:{line}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Loads a funding file.
pub fn load_funding(path: impl AsRef<Path>) -> Result<Vec<FundingSettlement>, FundingError> {
    let path = path.as_ref();
    let io = |source| FundingError::Io { path: path.to_path_buf(), source };
    let reader = crate::csv::open_text(path).map_err(io)?;
    let bad = |line: usize, reason: String| FundingError::Malformed { path: path.to_path_buf(), line, reason };
    let mut out: Vec<FundingSettlement> = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|e| bad(line_no, format!("not readable text: {e}")))?;
        let row = line.trim();
        if line_no == 1 {
            if row != FUNDING_CSV_HEADER {
                return Err(bad(
                    1,
                    format!(
                        "expected header {FUNDING_CSV_HEADER:?}, found {:?}",
                        row.chars().take(80).collect::<String>()
                    ),
                ));
            }
            continue;
        }
        if row.is_empty() {
            continue;
        }
        let FundingSettlement { time_ms, rate } = parse_funding_row(row).map_err(|reason| bad(line_no, reason))?;
        if let Some(prev) = out.last()
            && time_ms <= prev.time_ms
        {
            return Err(bad(line_no, format!("funding_time_ms {time_ms} is not after the previous {}", prev.time_ms)));
        }
        out.push(FundingSettlement { time_ms, rate });
    }
    Ok(out)
}

/// One `funding_time_ms,funding_rate` row.
pub(crate) fn parse_funding_row(row: &str) -> Result<FundingSettlement, String> {
    let (t, r) = row.split_once(',').ok_or_else(|| "expected funding_time_ms,funding_rate".to_owned())?;
    let time_ms: i64 = t.trim().parse().map_err(|_| format!("funding_time_ms: not an integer: {t:?}"))?;
    let rate: Decimal = r.trim().parse().map_err(|_| format!("funding_rate: not a decimal: {r:?}"))?;
    Ok(FundingSettlement { time_ms, rate })
}

/// The text of a funding file.
#[must_use]
pub fn funding_csv(settlements: &[FundingSettlement]) -> String {
    let mut out = format!("{FUNDING_CSV_HEADER}\n");
    for s in settlements {
        out.push_str(&format!("{},{}\n", s.time_ms, s.rate));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn round_trips_and_names_the_bad_line() {
        let dir = std::env::temp_dir().join(format!("gridbot-funding-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.csv");
        let rows = [
            FundingSettlement { time_ms: 0, rate: "0.0001".parse().unwrap() },
            FundingSettlement { time_ms: 28_800_000, rate: "-0.00005".parse().unwrap() },
        ];
        std::fs::write(&path, funding_csv(&rows)).unwrap();
        assert_eq!(load_funding(&path).unwrap(), rows);
        std::fs::write(&path, format!("{FUNDING_CSV_HEADER}\n0,0.0001\n0,0.0002\n")).unwrap();
        let e = load_funding(&path).unwrap_err().to_string();
        assert!(e.ends_with(":3: funding_time_ms 0 is not after the previous 0"), "{e}");
    }
}
