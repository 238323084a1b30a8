//! Logging: readable (or JSON) lines on the terminal, and JSON lines into each account's own
//! file (`{data_dir}/{account}/logs/gridbot.YYYY-MM-DD.log`, rotated daily in UTC). Lines of
//! threads that work for no account go to `{data_dir}/logs/`.
//!
//! Routing: event workers, persisters and account start-up mark their thread with the account
//! (`gridbot_engine::log_context`); the file writer reads that mark.

use std::collections::HashMap;
use std::path::Path;

use gridbot_engine::config::{LogLevel, TerminalFormat};
use gridbot_engine::log_context;
use tracing_appender::rolling::{RollingFileAppender, RollingWriter, Rotation};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Per-account log files.
struct Router {
    accounts: HashMap<String, RollingFileAppender>,
    fallback: RollingFileAppender,
}

impl<'a> MakeWriter<'a> for Router {
    type Writer = RollingWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        match log_context::current_account().and_then(|a| self.accounts.get(&*a)) {
            Some(file) => file.make_writer(),
            None => self.fallback.make_writer(),
        }
    }
}

fn appender(dir: &Path) -> Result<RollingFileAppender, String> {
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("gridbot")
        .filename_suffix("log")
        .build(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
}

const fn filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// `--log-level`, when given: it wins over the configuration's level.
static LEVEL_OVERRIDE: std::sync::OnceLock<LogLevel> = std::sync::OnceLock::new();

/// Sets the level every later [`init`] uses, whatever its configuration says.
pub(crate) fn override_level(level: LogLevel) {
    let _ = LEVEL_OVERRIDE.set(level);
}

/// Installs the global subscriber. `files`: the data directory and the account ids.
pub(crate) fn init(
    level: LogLevel,
    terminal: TerminalFormat,
    files: Option<(&Path, Vec<String>)>,
) -> Result<(), String> {
    // gridbot's own lines at the configured level; the libraries below it (TLS, WebSocket,
    // HTTP) at most at WARN — at debug or trace they would bury the lines that explain the bot.
    let ours = filter(LEVEL_OVERRIDE.get().copied().unwrap_or(level));
    let level = tracing_subscriber::filter::Targets::new()
        .with_default(std::cmp::min(ours, LevelFilter::WARN))
        .with_target("gridbot", ours);
    // Colour only for a person at a terminal: a pipe, a file or journald gets plain text
    // (NO_COLOR is honoured too).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let terminal_layer = match terminal {
        TerminalFormat::Pretty => Some(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(colour)
                .with_target(false)
                .with_filter(level.clone())
                .boxed(),
        ),
        TerminalFormat::Json => Some(
            tracing_subscriber::fmt::layer()
                .json()
                .with_ansi(false)
                .with_writer(std::io::stderr)
                .with_filter(level.clone())
                .boxed(),
        ),
        TerminalFormat::Off => None,
    };
    let file_layer = match files {
        Some((data_dir, accounts)) => {
            let mut router = Router { accounts: HashMap::new(), fallback: appender(&data_dir.join("logs"))? };
            for a in accounts {
                let file = appender(&data_dir.join(&a).join("logs"))?;
                router.accounts.insert(a, file);
            }
            Some(
                tracing_subscriber::fmt::layer().json().with_ansi(false).with_writer(router).with_filter(level).boxed(),
            )
        }
        None => None,
    };
    tracing_subscriber::registry().with(terminal_layer).with(file_layer).try_init().map_err(|e| format!("logging: {e}"))
}
