//! # gridbot-web
//!
//! The operator's HTTP surfaces of a running bot (ARCHITECTURE §2: `engine ← web ← gridbot`):
//!
//! | endpoint | what | token |
//! |---|---|---|
//! | `GET /` | the dashboard ([`dashboard`]; its files under `/assets/`) | no¹ |
//! | `GET /healthz` | `ok` while the server answers | no |
//! | `GET /metrics` | Prometheus text format ([`metrics`]) | no¹ |
//! | `GET /api/status` | every account's status as JSON | no¹ |
//! | `GET /api/accounts/{id}` | one account's status | no¹ |
//! | `GET /api/accounts/{id}/symbols/{symbol}` | the grid ladder: plan, legs, levels, orders | no¹ |
//! | `GET /api/accounts/{id}/positions` | each leg's latest position report | no¹ |
//! | `GET /api/accounts/{id}/trades[.csv]` | fills, newest first (`symbol`, `side`, `day`, `page`, `per_page`) | no¹ |
//! | `GET /api/accounts/{id}/equity` | equity and drawdown (`days`) | no¹ |
//! | `GET /api/accounts/{id}/risk` | each risk level's threshold and state | no¹ |
//! | `GET /api/accounts/{id}/events` | events, newest first (`limit`) | no¹ |
//! | `GET /api/accounts/{id}/settings` | the validated configuration, no secret | no¹ |
//! | `GET /api/live` | the running bot's top of book and counters | no¹ |
//! | `GET /api/stream` | Server-Sent Events: what changed | no¹ |
//! | `POST /api/accounts/{id}/stop` | set the emergency stop (body: optional `{"reason": "…"}`) | yes |
//! | `POST /api/accounts/{id}/resume` | lift it and re-arm | yes |
//! | `POST /api/accounts/{id}/symbols/{symbol}/recentre` | recentre a classic grid (optional `{"profile": "…"}`) | yes |
//!
//! ¹ When the server listens on a non-loopback address, every endpoint but `/healthz` needs the
//! token.
//!
//! Decisions:
//! - **Files, not shared memory.** Status, metrics and every page are read from the same files
//!   as `gridbot status` (lock, emergency flag, snapshot, journal) through one
//!   [`gridbot_engine::operator::StatusReader`] that re-reads only what changed, and
//!   stop/resume/recentre write the same request files as the CLI
//!   ([`gridbot_engine::operator`]). The trading workers never wait for a web request, a slow
//!   scrape cannot delay an order, and the server shows the same truth a restart would recover
//!   from. The cost: figures are as fresh as the last snapshot and journal write (after every
//!   fill and order batch). The one exception is the market: the running bot's top of book per
//!   symbol, read from its [`gridbot_engine::live::LiveBoard`] once attached.
//! - **Loopback by default, a token for anything that changes something.** The token is a
//!   bearer token compared in constant time; it comes from `${VAR}` and never appears in logs,
//!   errors or `Debug` output. Without a configured token the mutating endpoints answer 403.
//!   Bound to loopback, the server answers only requests whose `Host` is loopback or
//!   `localhost` (a DNS-rebinding page gets 403).
//! - **tokio only here** (ARCHITECTURE §6): one current-thread runtime on its own thread; file and
//!   SQLite reads run on its blocking pool.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::sync::Arc;
//! use gridbot_engine::config::{BotConfig, LoggingConfig, WebConfig};
//! use gridbot_web::WebServer;
//!
//! let dir = std::env::temp_dir().join(format!("gridbot-web-doc-{}", std::process::id()));
//! let bot = BotConfig { path: dir.join("bot.yaml"), data_dir: dir.join("var"), accounts: Vec::new(), webhook: None,
//!     logging: LoggingConfig::default(), telegram: None, web: None };
//! let server = WebServer::start(Arc::new(bot), &WebConfig { bind: "127.0.0.1:0".parse()?, token: None })?;
//! let mut http = std::net::TcpStream::connect(server.addr())?;
//! http.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
//! let mut reply = String::new();
//! http.read_to_string(&mut reply)?;
//! assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("ok\n"), "{reply}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod api;
mod auth;
pub mod dashboard;
pub mod metrics;
mod pages;
mod process;
mod stream;
mod views;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use gridbot_engine::config::{BotConfig, WebConfig};
use gridbot_engine::live::LiveBoard;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The address could not be bound (in use, not permitted, …).
    #[error("web: cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The runtime or its thread could not be started.
    #[error("web: cannot start the server: {0}")]
    Runtime(std::io::Error),
}

/// A running web server; stops when dropped.
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    live: Arc<RwLock<Option<LiveBoard>>>,
    /// Set on stop: open change streams end, so the graceful shutdown does not wait forever.
    closing: Arc<std::sync::atomic::AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WebServer {
    /// Binds `web.bind` and serves the accounts of `config` on a thread of its own.
    pub fn start(config: Arc<BotConfig>, web: &WebConfig) -> Result<Self, WebError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(WebError::Runtime)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(web.bind))
            .map_err(|source| WebError::Bind { addr: web.bind, source })?;
        let addr = listener.local_addr().map_err(|source| WebError::Bind { addr: web.bind, source })?;
        let live = Arc::new(RwLock::new(None));
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let app = api::router(api::AppState::new(config, web, Arc::clone(&live), Arc::clone(&closing)));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("gridbot-web".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let served = axum::serve(listener, app.into_make_service())
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "web server stopped");
                    }
                });
            })
            .map_err(WebError::Runtime)?;
        tracing::info!(
            "web listening on http://{addr} (dashboard, control API and /metrics{})",
            if web.token.is_some() { "" } else { "; no token: stop/resume disabled" }
        );
        Ok(Self { addr, live, closing, shutdown: Some(tx), thread: Some(thread) })
    }

    /// The address it listens on (the real port when the configuration said 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shows the running bot's live prices and counters (the server starts before the bot, so
    /// a port in use stops the start before any order is sent; the bot is attached once it runs).
    pub fn attach(&self, board: LiveBoard) {
        if let Ok(mut live) = self.live.write() {
            *live = Some(board);
        }
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        self.closing.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}
