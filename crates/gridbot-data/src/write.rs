//! Writing data files in the format the loaders read: CSV text, gzip-compressed, replaced
//! atomically (a crash mid-write leaves the old file or the new one, never half of one).

use std::io::Write;
use std::path::Path;

use gridbot_core::Candle;

use crate::csv::CANDLE_CSV_HEADER;

/// The CSV text of `candles`.
#[must_use]
pub fn candles_csv(candles: &[Candle]) -> String {
    let mut out = String::with_capacity(candles.len() * 64 + 48);
    out.push_str(CANDLE_CSV_HEADER);
    out.push('\n');
    for c in candles {
        out.push_str(&format!("{},{},{},{},{},{}\n", c.open_time_ms, c.open, c.high, c.low, c.close, c.volume));
    }
    out
}

/// Writes `text` gzip-compressed to `path`, atomically.
pub fn write_gzip(path: &Path, text: &str) -> std::io::Result<()> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes())?;
    let bytes = gz.finish()?;
    gridbot_core::fs::write_atomic(path, &bytes)
}
