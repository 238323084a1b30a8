//! # gridbot-data
//!
//! Candle files: the I/O the pure crates must not do (`gridbot-core`, `gridbot-grid`,
//! `gridbot-risk` and `gridbot-strategy` read no files and no clock).
//!
//! - [`load_candles`] / [`read_candles`]: gzip (detected by its magic bytes) or plain CSV with
//!   the header [`CANDLE_CSV_HEADER`] (`open_time_ms,open,high,low,close,volume`), rows
//!   validated and strictly ascending; every problem names the file and its 1-based line.
//! - [`load_funding`]: funding-history files (`funding_time_ms,funding_rate`).
//! - [`write_gzip`] / [`candles_csv`]: writing files of the same format.
//! - [`check_file`]: what a candle or funding file holds, every bad row and gap listed.
//! - [`download_candles`]: resumable, checked downloads into the same format (the exchange
//!   is a closure; `gridbot data fetch` passes the Bybit client).
//! - [`resample`]: UTC-aligned aggregation to a longer [`Interval`](gridbot_core::Interval)
//!   (first open, max high, min low, last close, summed volume); gaps stay gaps.
//!
//! ```
//! use gridbot_core::Interval;
//!
//! let csv = "open_time_ms,open,high,low,close,volume\n\
//!            0,100,101,99,100.5,3\n\
//!            60000,100.5,103,100,102,1\n";
//! let minutes = gridbot_data::read_candles(csv.as_bytes(), "example.csv")?;
//! let hours = gridbot_data::resample(&minutes, Interval::H1)?;
//! assert_eq!(hours.len(), 1);
//! assert_eq!(hours[0].high.to_string(), "103");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod check;
mod csv;
mod download;
mod funding;
mod gaps;
mod resample;
mod write;

pub use check::{BAD_ROWS_LISTED, BadRow, CheckError, DataKind, FileReport, check_file};
pub use csv::{CANDLE_CSV_HEADER, CandleError, load_candles, read_candles};
pub use download::{DownloadError, DownloadPlan, DownloadProgress, Downloaded, download_candles, partial_path};
pub use funding::{FUNDING_CSV_HEADER, FundingError, FundingSettlement, funding_csv, load_funding};
pub use gaps::{Gap, gaps_of, interval_of};
pub use resample::{ResampleError, resample};
pub use write::{candles_csv, write_gzip};
