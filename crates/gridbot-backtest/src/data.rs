//! The market a backtest replays: one candle series per symbol, loaded once and shared
//! (`Arc<[Candle]>`) by every run that uses it — a parameter search loads its files once.
//!
//! Decisions:
//! - The interval is read from the data (the smallest step between candles) and must be the same
//!   for every symbol; a series whose times are not on that interval is refused.
//! - **Gaps are reported, never filled.** A missing candle is exchange maintenance or a halt; the
//!   replay jumps over it (the price jumps too, as it did) and the result lists every gap.
//! - Prices are written at one scale per series once, here, so the matcher never rescales.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gridbot_core::{Candle, Symbol};
pub use gridbot_data::Gap;
use gridbot_data::{gaps_of, interval_of};

/// Why market data could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Candles(#[from] gridbot_data::CandleError),
    /// No symbol of the account appears in the file's name (or in `SYMBOL=FILE`).
    #[error(
        "{file}: which symbol is this? Name it in the file name or write SYMBOL=FILE (the account trades {symbols})"
    )]
    UnknownSymbol {
        /// The file.
        file: PathBuf,
        /// The account's symbols.
        symbols: String,
    },
    /// Two files for one symbol.
    #[error("{symbol}: two data files ({first} and {second})")]
    Duplicate {
        /// The symbol.
        symbol: Symbol,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// A symbol the account trades has no data.
    #[error("{0}: no data file (pass one with --data)")]
    Missing(Symbol),
    /// The files do not share one interval.
    #[error("{file}: candles every {found_ms} ms, the other files every {expected_ms} ms")]
    Interval {
        /// The file.
        file: PathBuf,
        /// Its interval.
        found_ms: i64,
        /// The others'.
        expected_ms: i64,
    },
    /// A candle is not on the series' interval.
    #[error("{file}: candle at {open_time_ms} is not on the {interval_ms} ms grid")]
    OffGrid {
        /// The file.
        file: PathBuf,
        /// The candle.
        open_time_ms: i64,
        /// The interval.
        interval_ms: i64,
    },
    /// Nothing left once the window is applied.
    #[error("{symbol}: no candles between {from_ms} and {to_ms}")]
    Empty {
        /// The symbol.
        symbol: Symbol,
        /// Window start.
        from_ms: i64,
        /// Window end.
        to_ms: i64,
    },
}

/// One symbol's candles.
#[derive(Debug, Clone)]
pub struct Series {
    /// The symbol.
    pub symbol: Symbol,
    /// Where they came from.
    pub file: PathBuf,
    /// The candles, ascending, prices at one scale.
    pub candles: Arc<[Candle]>,
    /// The gaps in them.
    pub gaps: Vec<Gap>,
}

/// Every symbol's candles at one interval.
#[derive(Debug, Clone)]
pub struct MarketData {
    /// Candle interval, ms.
    pub interval_ms: i64,
    /// One series per symbol, in symbol order.
    pub series: Vec<Series>,
}

/// Which symbol a `--data` argument is for: `SYMBOL=FILE`, or the one of `symbols` its file name
/// contains.
pub fn symbol_of(arg: &str, symbols: &[Symbol]) -> Result<(Symbol, PathBuf), DataError> {
    if let Some((name, file)) = arg.split_once('=')
        && let Some(s) = symbols.iter().find(|s| s.as_str() == name)
    {
        return Ok((s.clone(), PathBuf::from(file)));
    }
    let path = PathBuf::from(arg);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_uppercase();
    // The longest match wins (ETHUSDT, not a hypothetical THUSDT).
    let found = symbols.iter().filter(|s| name.contains(s.as_str())).max_by_key(|s| s.as_str().len());
    match found {
        Some(s) => Ok((s.clone(), path)),
        None => Err(DataError::UnknownSymbol {
            file: path,
            symbols: symbols.iter().map(Symbol::as_str).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Writes every price of a series with the same number of decimals (the largest found).
fn align_scales(candles: &mut [Candle]) {
    let scale = candles
        .iter()
        .flat_map(|c| [c.open, c.high, c.low, c.close])
        .map(|p| p.as_decimal().scale())
        .max()
        .unwrap_or(0);
    let align = |p: &mut gridbot_core::Price| {
        let mut d = p.as_decimal();
        d.rescale(scale);
        if d == p.as_decimal()
            && let Ok(aligned) = gridbot_core::Price::new(d)
        {
            *p = aligned;
        }
    };
    for c in candles {
        align(&mut c.open);
        align(&mut c.high);
        align(&mut c.low);
        align(&mut c.close);
    }
}

impl MarketData {
    /// Loads one file per symbol (`(symbol, path)`), checks they share an interval, finds the
    /// gaps.
    pub fn load(files: &[(Symbol, PathBuf)]) -> Result<Self, DataError> {
        let mut loaded: Vec<(Symbol, PathBuf, Vec<Candle>)> = Vec::new();
        for (symbol, path) in files {
            if let Some((_, first, _)) = loaded.iter().find(|(s, _, _)| s == symbol) {
                return Err(DataError::Duplicate {
                    symbol: symbol.clone(),
                    first: first.clone(),
                    second: path.clone(),
                });
            }
            loaded.push((symbol.clone(), path.clone(), gridbot_data::load_candles(path)?));
        }
        Self::from_candles(loaded)
    }

    /// The same from candles in memory (tests, generated data).
    pub fn from_candles(mut loaded: Vec<(Symbol, PathBuf, Vec<Candle>)>) -> Result<Self, DataError> {
        loaded.sort_by(|a, b| a.0.cmp(&b.0));
        let mut interval: Option<(i64, PathBuf)> = None;
        for (_, path, candles) in &loaded {
            let Some(found) = interval_of(candles) else { continue };
            match &interval {
                None => interval = Some((found, path.clone())),
                Some((expected, _)) if *expected != found => {
                    return Err(DataError::Interval { file: path.clone(), found_ms: found, expected_ms: *expected });
                }
                Some(_) => {}
            }
        }
        let interval_ms = interval.map_or(60_000, |(i, _)| i);
        let mut series = Vec::with_capacity(loaded.len());
        for (symbol, file, mut candles) in loaded {
            if let Some(c) = candles.iter().find(|c| c.open_time_ms.rem_euclid(interval_ms) != 0) {
                return Err(DataError::OffGrid { file, open_time_ms: c.open_time_ms, interval_ms });
            }
            align_scales(&mut candles);
            let gaps = gaps_of(&candles, interval_ms);
            series.push(Series { symbol, file, candles: candles.into(), gaps });
        }
        Ok(Self { interval_ms, series })
    }

    /// The series of `symbol`.
    #[must_use]
    pub fn get(&self, symbol: &Symbol) -> Option<&Series> {
        self.series.iter().find(|s| &s.symbol == symbol)
    }

    /// Open time of the first candle of every series (the latest of the firsts).
    #[must_use]
    pub fn common_start_ms(&self) -> Option<i64> {
        self.series.iter().filter_map(|s| s.candles.first().map(|c| c.open_time_ms)).max()
    }

    /// Open time of the last candle of every series (the earliest of the lasts).
    #[must_use]
    pub fn common_end_ms(&self) -> Option<i64> {
        self.series.iter().filter_map(|s| s.candles.last().map(|c| c.open_time_ms)).min()
    }

    /// Candles replayed in `[from, to]` over every symbol.
    #[must_use]
    pub fn candles_between(&self, from_ms: i64, to_ms: i64) -> usize {
        self.series
            .iter()
            .map(|s| {
                let a = s.candles.partition_point(|c| c.open_time_ms < from_ms);
                let b = s.candles.partition_point(|c| c.open_time_ms <= to_ms);
                b.saturating_sub(a)
            })
            .sum()
    }

    /// The file a `path` argument names, shown as given.
    #[must_use]
    pub fn describe(path: &Path) -> String {
        path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn candle(t: i64, p: &str) -> Candle {
        let p: gridbot_core::Price = p.parse().unwrap();
        Candle { open_time_ms: t, open: p, high: p, low: p, close: p, volume: gridbot_core::Qty::ZERO }
    }

    #[test]
    fn gaps_are_listed_not_filled_and_intervals_must_agree() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let eth = Symbol::new("ETHUSDT").unwrap();
        let minutes = vec![candle(0, "1"), candle(60_000, "1.5"), candle(300_000, "2")];
        let data = MarketData::from_candles(vec![(btc.clone(), "btc".into(), minutes)]).unwrap();
        assert_eq!(data.interval_ms, 60_000);
        assert_eq!(data.series[0].gaps, [Gap { after_ms: 60_000, until_ms: 300_000, missing: 3 }]);
        assert_eq!(data.series[0].candles.len(), 3, "nothing interpolated");
        assert_eq!(data.series[0].candles[0].open.as_decimal().scale(), 1, "one scale per series");
        let fives = vec![candle(0, "1"), candle(300_000, "1")];
        let mixed = MarketData::from_candles(vec![
            (btc.clone(), "btc".into(), vec![candle(0, "1"), candle(60_000, "1")]),
            (eth, "eth".into(), fives),
        ]);
        assert!(matches!(mixed, Err(DataError::Interval { found_ms: 300_000, expected_ms: 60_000, .. })), "{mixed:?}");
    }

    #[test]
    fn a_file_names_its_symbol_or_says_it() {
        let symbols = [Symbol::new("BTCUSDT").unwrap(), Symbol::new("ETHUSDT").unwrap()];
        assert_eq!(symbol_of("data/binance_ethusdt_1m.csv.gz", &symbols).unwrap().0.as_str(), "ETHUSDT");
        assert_eq!(symbol_of("BTCUSDT=prices.csv", &symbols).unwrap(), (symbols[0].clone(), "prices.csv".into()));
        assert!(matches!(symbol_of("prices.csv", &symbols), Err(DataError::UnknownSymbol { .. })));
    }
}
