//! Loading candles from gzip or plain CSV files.
//!
//! Format: optional gzip; header `open_time_ms,open,high,low,close,volume`; one candle per line;
//! timestamps strictly ascending (see the README's Data section).
//!
//! Decisions:
//! - gzip is detected from the file's magic bytes, not its name, so a renamed file still loads.
//! - Every problem names the source and the 1-based line (the header is line 1); the first bad
//!   row stops the load. A half-loaded series would silently change a backtest.
//! - Rows are checked for shape (six fields, integer time, decimal prices), sanity
//!   (`low ≤ min(open, close)`, `high ≥ max(open, close)`, prices > 0) and strictly ascending
//!   time. Gaps are allowed: a gap is a gap (exchange maintenance), never filled.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use gridbot_core::{Candle, Price, Qty};

/// The header every candle file starts with.
pub const CANDLE_CSV_HEADER: &str = "open_time_ms,open,high,low,close,volume";

/// Why a candle file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CandleError {
    /// The file could not be opened or read (including a broken gzip stream).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The first line is not the expected header.
    #[error("{source_name}:1: expected header {CANDLE_CSV_HEADER:?}, found {found:?}")]
    Header {
        /// File name or description.
        source_name: String,
        /// What line 1 said (truncated to 80 chars).
        found: String,
    },
    /// A row could not be parsed or is not a sane candle.
    #[error("{source_name}:{line}: {reason}")]
    Malformed {
        /// File name or description.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A row's time is not after the previous row's.
    #[error("{source_name}:{line}: open_time_ms {found_ms} is not after the previous row's {previous_ms}")]
    NotAscending {
        /// File name or description.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// The previous row's time.
        previous_ms: i64,
        /// This row's time.
        found_ms: i64,
    },
    /// The file has a header but no candles.
    #[error("{source_name}: no candles after the header")]
    Empty {
        /// File name or description.
        source_name: String,
    },
}

/// Opens a plain or gzip file (gzip told by its magic bytes) for buffered reading.
pub(crate) fn open_text(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic)?;
    let file = File::open(path)?;
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// Loads a plain or gzip candle CSV file.
pub fn load_candles(path: impl AsRef<Path>) -> Result<Vec<Candle>, CandleError> {
    let path = path.as_ref();
    let io_err = |source| CandleError::Io { path: path.to_path_buf(), source };
    let reader = open_text(path).map_err(io_err)?;
    let name = path.display().to_string();
    let result = read_candles(reader, &name);
    // Read errors inside the reader carry no path; attach it here.
    result.map_err(|e| match e {
        CandleError::Io { source, .. } => io_err(source),
        other => other,
    })
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads candles from any buffered reader; `source_name` appears in error messages.
pub fn read_candles(mut reader: impl BufRead, source_name: &str) -> Result<Vec<Candle>, CandleError> {
    let mut candles = Vec::new();
    let mut line = String::new();
    let mut line_no = 0usize;
    let malformed =
        |line: usize, reason: String| CandleError::Malformed { source_name: source_name.to_owned(), line, reason };
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(|source| {
            if source.kind() == std::io::ErrorKind::InvalidData {
                malformed(line_no + 1, "not valid UTF-8 text".to_owned())
            } else {
                CandleError::Io { path: PathBuf::from(source_name), source }
            }
        })?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let row = line.trim_end_matches(['\n', '\r']);
        if line_no == 1 {
            if row.trim() != CANDLE_CSV_HEADER {
                return Err(CandleError::Header {
                    source_name: source_name.to_owned(),
                    found: row.chars().take(80).collect(),
                });
            }
            continue;
        }
        if row.trim().is_empty() {
            continue;
        }
        let candle = parse_row(row).map_err(|reason| malformed(line_no, reason))?;
        if let Some(prev) = candles.last().map(|c: &Candle| c.open_time_ms)
            && candle.open_time_ms <= prev
        {
            return Err(CandleError::NotAscending {
                source_name: source_name.to_owned(),
                line: line_no,
                previous_ms: prev,
                found_ms: candle.open_time_ms,
            });
        }
        candles.push(candle);
    }
    if line_no == 0 {
        return Err(CandleError::Header { source_name: source_name.to_owned(), found: String::new() });
    }
    if candles.is_empty() {
        return Err(CandleError::Empty { source_name: source_name.to_owned() });
    }
    Ok(candles)
}

/// One candle row, checked for shape and sanity.
pub(crate) fn parse_row(row: &str) -> Result<Candle, String> {
    let mut fields = row.split(',');
    let mut next =
        |name: &str| fields.next().map(str::trim).ok_or_else(|| format!("expected 6 fields, {name} is missing"));
    let time_text = next("open_time_ms")?;
    let open_time_ms: i64 =
        time_text.parse().map_err(|_| format!("open_time_ms is not an integer: {:?}", clip(time_text)))?;
    let price = |name: &str, text: &str| -> Result<Price, String> {
        let p: Price = text.parse().map_err(|_| format!("{name} is not a price: {:?}", clip(text)))?;
        if p.is_zero() {
            return Err(format!("{name} must be positive"));
        }
        Ok(p)
    };
    let open = price("open", next("open")?)?;
    let high = price("high", next("high")?)?;
    let low = price("low", next("low")?)?;
    let close = price("close", next("close")?)?;
    let volume_text = next("volume")?;
    let volume: Qty =
        volume_text.parse().map_err(|_| format!("volume is not a non-negative number: {:?}", clip(volume_text)))?;
    if fields.next().is_some() {
        return Err("expected 6 fields, found more".to_owned());
    }
    if high < open.max(close) || low > open.min(close) {
        return Err(format!(
            "not a sane candle: open {open} high {high} low {low} close {close} (need low <= open, close <= high)"
        ));
    }
    Ok(Candle { open_time_ms, open, high, low, close, volume })
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Candle>, CandleError> {
        read_candles(text.as_bytes(), "test.csv")
    }

    #[test]
    fn reads_rows_with_exact_prices() {
        let c = read("open_time_ms,open,high,low,close,volume\n0,10.5,11,10,10.75,3\n60000,10.75,10.8,10.7,10.7,0\n")
            .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].close.to_string(), "10.75");
        assert_eq!(c[1].open_time_ms, 60_000);
    }

    #[test]
    fn names_the_line_of_a_bad_row() {
        let h = "open_time_ms,open,high,low,close,volume\n";
        let cases = [
            ("0,1,2,1,1\n", 2, "volume is missing"),
            ("0,1,2,1,1,1,9\n", 2, "found more"),
            ("x,1,2,1,1,1\n", 2, "not an integer"),
            ("0,1,2,1,abc,1\n", 2, "close is not a price"),
            ("0,1,2,1,1,-1\n", 2, "volume"),
            ("0,1,2,1,1,1\n60000,5,4,3,3,1\n", 3, "not a sane candle"),
            ("0,1,2,1,1,1\n60000,0,0,0,0,1\n", 3, "must be positive"),
        ];
        for (rows, line, needle) in cases {
            match read(&format!("{h}{rows}")) {
                Err(CandleError::Malformed { line: l, reason, .. }) => {
                    assert_eq!(l, line, "{rows}");
                    assert!(reason.contains(needle), "{reason} lacks {needle}");
                }
                other => panic!("{rows}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_header_empty_and_unordered() {
        assert!(matches!(read("time,o,h,l,c,v\n1,1,1,1,1,1\n"), Err(CandleError::Header { .. })));
        assert!(matches!(read(""), Err(CandleError::Header { .. })));
        assert!(matches!(read("open_time_ms,open,high,low,close,volume\n"), Err(CandleError::Empty { .. })));
        let dup = "open_time_ms,open,high,low,close,volume\n60000,1,1,1,1,1\n60000,1,1,1,1,1\n";
        match read(dup) {
            Err(CandleError::NotAscending { line, previous_ms, found_ms, .. }) => {
                assert_eq!((line, previous_ms, found_ms), (3, 60_000, 60_000));
            }
            other => panic!("{other:?}"),
        }
        let msg = read(dup).unwrap_err().to_string();
        assert!(msg.starts_with("test.csv:3:"), "{msg}");
    }

    #[test]
    fn loads_gzip_by_magic_and_reports_missing_files() {
        let dir = std::env::temp_dir().join(format!("gridbot-core-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("renamed.csv");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"open_time_ms,open,high,low,close,volume\r\n0,1,2,0.5,1.5,7\r\n").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let c = load_candles(&path).unwrap();
        assert_eq!(c[0].low.to_string(), "0.5");
        std::fs::write(&path, [0x1f, 0x8b, 0, 1, 2]).unwrap();
        assert!(matches!(load_candles(&path), Err(CandleError::Io { .. })));
        let missing = load_candles(dir.join("nope.csv")).unwrap_err();
        assert!(missing.to_string().contains("nope.csv"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
