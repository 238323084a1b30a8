//! `gridbot data fetch` and `gridbot data check`: history from Bybit (or any server speaking
//! its v5 API, such as `gridbot sim`) into the candle and funding files backtests read, and a
//! report on what a file holds. The paging, resuming and checking live in gridbot-data; here
//! are the arguments, the client and the terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gridbot_bybit::{BybitClient, ClientConfig};
use gridbot_core::time::format_iso8601;
use gridbot_core::{Environment, Exchange, Interval, Symbol, TimeWindow};
use gridbot_data::{DataKind, DownloadError, DownloadPlan, check_file, download_candles};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Failure;

/// Bybit's kline page size.
const PAGE: i64 = 1_000;
/// Gaps listed one by one; more are counted.
const GAPS_LISTED: usize = 10;

/// What `gridbot data fetch` was asked.
pub(crate) struct FetchArgs {
    pub(crate) symbol: String,
    pub(crate) interval: String,
    pub(crate) from: String,
    pub(crate) to: Option<String>,
    pub(crate) out: PathBuf,
    pub(crate) funding: Option<PathBuf>,
    pub(crate) base_url: String,
    pub(crate) quiet: bool,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::new(2, message)
}

fn date(name: &str, text: &str) -> Result<i64, Failure> {
    gridbot_core::time::parse_utc(text)
        .ok_or_else(|| usage(format!("{name}: expected a UTC date like 2025-01-01 or 2025-01-01T12:00, got {text:?}")))
}

/// `gridbot data fetch`.
pub(crate) fn fetch(args: &FetchArgs) -> Result<(), Failure> {
    let symbol = Symbol::new(args.symbol.as_str()).map_err(|e| usage(format!("--symbol: {e}")))?;
    let interval: Interval = args.interval.parse().map_err(|_| {
        usage(format!(
            "--interval: expected a Bybit interval (1, 3, 5, 15, 30, 60, 120, 240, 360, 720, D, W), got {:?}",
            args.interval
        ))
    })?;
    let interval_ms = interval
        .fixed_ms()
        .ok_or_else(|| usage("--interval: months have no fixed length; fetch days and resample".to_owned()))?;
    let from_ms = date("--from", &args.from)?;
    let to_arg = args.to.as_deref().map(|t| date("--to", t)).transpose()?;
    if to_arg.is_some_and(|to| to <= from_ms) {
        return Err(usage("--to must be after --from"));
    }
    let base = args.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(usage(format!("--base-url: expected http:// or https://, got {base:?}")));
    }
    for path in std::iter::once(&args.out).chain(args.funding.as_ref()) {
        if path.exists() {
            return Err(usage(format!("{} exists: not overwriting it", path.display())));
        }
    }
    let client = BybitClient::new(ClientConfig::new(Environment::custom(base), None));
    let unreachable = |e: &dyn std::fmt::Display| Failure::new(1, format!("{base}: {e}"));
    let now = client.server_time().map_err(|e| unreachable(&e))?;
    if client.instruments(Some(&symbol)).map_err(|e| unreachable(&e))?.iter().all(|i| i.symbol() != &symbol) {
        return Err(usage(format!("--symbol: {symbol} is not a trading USDT perpetual on {base}")));
    }
    // Only finished candles: the one in progress would change after it is written.
    let to_ms = to_arg.unwrap_or(i64::MAX).min(interval.bucket_start(now));
    if to_ms <= from_ms {
        return Err(usage(format!(
            "nothing finished yet between --from and the server's time {}",
            format_iso8601(now)
        )));
    }
    let plan = DownloadPlan {
        label: format!("{base} linear {symbol} {}", interval.as_bybit()),
        interval_ms,
        from_ms,
        to_ms,
        page: PAGE,
    };
    let bar = progress_bar(args.quiet, (to_ms - from_ms) / interval_ms);
    let started = Instant::now();
    let result = download_candles(
        &args.out,
        &plan,
        &mut |start, end| client.klines_page(&symbol, interval, start, end, u32::try_from(PAGE).unwrap_or(1000)),
        &mut |p| {
            bar.set_position(u64::try_from((p.cursor_ms - from_ms) / interval_ms).unwrap_or(0));
            if !args.quiet
                && bar.is_hidden()
                && std::io::stderr().is_terminal()
                && started.elapsed() >= Duration::from_secs(1)
            {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        },
    );
    bar.finish_and_clear();
    let done = result.map_err(|e| match e {
        DownloadError::Plan(_) | DownloadError::Exists(_) | DownloadError::OtherDownload { .. } => usage(e.to_string()),
        other => Failure::new(1, other.to_string()),
    })?;
    if !args.quiet {
        let resumed = if done.resumed_rows > 0 { format!(" ({} resumed)", done.resumed_rows) } else { String::new() };
        outln!(
            "{}: {} candles{resumed}, {} → {}, {} requests in {:.1} s",
            args.out.display(),
            done.rows,
            format_iso8601(done.span_ms.0),
            format_iso8601(done.span_ms.1),
            done.requests,
            started.elapsed().as_secs_f64()
        );
        if done.span_ms.0 > from_ms {
            outln!("  starts {} (nothing earlier on the exchange)", format_iso8601(done.span_ms.0));
        }
        print_gaps(&done.gaps);
    }
    if let Some(path) = &args.funding {
        let window = TimeWindow { start_ms: from_ms, end_ms: to_ms - 1 };
        let rates = client.funding_history(&symbol, window).map_err(|e| unreachable(&e))?;
        let settlements: Vec<gridbot_data::FundingSettlement> =
            rates.iter().map(|r| gridbot_data::FundingSettlement { time_ms: r.time_ms, rate: r.rate }).collect();
        gridbot_data::write_gzip(path, &gridbot_data::funding_csv(&settlements))
            .map_err(|e| Failure::new(1, format!("{}: {e}", path.display())))?;
        if !args.quiet {
            outln!("{}: {} funding settlements", path.display(), settlements.len());
        }
    }
    Ok(())
}

fn progress_bar(quiet: bool, len: i64) -> ProgressBar {
    let bar = ProgressBar::hidden();
    if quiet {
        return bar;
    }
    bar.set_length(u64::try_from(len).unwrap_or(0));
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} candles  eta {eta}") {
        bar.set_style(style);
    }
    bar
}

fn print_gaps(gaps: &[gridbot_data::Gap]) {
    if gaps.is_empty() {
        outln!("  no gaps");
        return;
    }
    let missing: i64 = gaps.iter().map(|g| g.missing).sum();
    outln!("  {}, {missing} candles missing (reported, never filled):", count(gaps.len() as u64, "gap"));
    for g in gaps.iter().take(GAPS_LISTED) {
        outln!("    {} candles after {}", g.missing, format_iso8601(g.after_ms));
    }
    if gaps.len() > GAPS_LISTED {
        outln!("    … and {} more", gaps.len() - GAPS_LISTED);
    }
}

/// `gridbot data check`: exit 0 when every file is usable (gaps are reported, not errors), 2
/// when one has bad rows or is not a data file, 1 when one cannot be read.
pub(crate) fn check(files: &[PathBuf]) -> Result<(), Failure> {
    if files.is_empty() {
        return Err(usage("data check: name at least one file"));
    }
    let mut worst = 0u8;
    for path in files {
        worst = worst.max(check_one(path));
    }
    match worst {
        0 => Ok(()),
        code => Err(Failure::new(code, "some files have problems (see above)")),
    }
}

fn check_one(path: &Path) -> u8 {
    let report = match check_file(path) {
        Ok(r) => r,
        Err(e) => {
            outln!("{e}");
            return if matches!(e, gridbot_data::CheckError::Io { .. }) { 1 } else { 2 };
        }
    };
    let kind = match report.kind {
        DataKind::Candles => "candle",
        DataKind::Funding => "funding settlement",
    };
    let span = report
        .span_ms
        .map_or_else(|| "empty".to_owned(), |(a, b)| format!("{} → {}", format_iso8601(a), format_iso8601(b)));
    let interval = report.interval_ms.map_or_else(String::new, |ms| format!(", every {}", human_interval(ms)));
    outln!("{}: {}, {span}{interval}", path.display(), count(report.rows, kind));
    if report.kind == DataKind::Candles {
        print_gaps(&report.gaps);
    }
    if report.bad_count == 0 {
        outln!("  no bad rows");
        return 0;
    }
    outln!("  {}:", count(report.bad_count, "bad row"));
    for bad in &report.bad_rows {
        outln!("    {}:{}: {}", path.display(), bad.line, bad.reason);
    }
    if report.bad_count > report.bad_rows.len() as u64 {
        outln!("    … and {} more", report.bad_count - report.bad_rows.len() as u64);
    }
    2
}

/// `n word` or `n words`.
fn count(n: u64, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

fn human_interval(ms: i64) -> String {
    match ms {
        ms if ms % 86_400_000 == 0 => format!("{} d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms => format!("{ms} ms"),
    }
}
