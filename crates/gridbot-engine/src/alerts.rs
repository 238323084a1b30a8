//! Alerts: every one is logged; with Telegram configured it is also sent through the Bot API
//! (`POST {base_url}/bot{token}/sendMessage`) by a thread of its own.
//!
//! Decisions:
//! - **Never blocks trading.** The event worker hands a message to a bounded queue and moves
//!   on; a full queue drops the message and counts it. HTTP happens on the notifier thread.
//! - **Rate-limited per chat** (a token bucket of `max_per_minute`); messages over the limit
//!   are counted and reported in one "N alerts suppressed" line once the bucket refills.
//!   A 429 from Telegram pauses that chat for its `retry_after`.
//! - **The token is a secret**: it is part of the URL, so no URL and no transport error text
//!   (which may quote the URL) is ever logged — only the HTTP status or the error kind.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub use gridbot_strategy::records::AlertKind;

use crate::config::{TelegramConfig, scrub};
use crate::outbox::Outbox;

/// The emoji a Telegram message starts with.
const fn icon(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::LevelUp => "⬇",
        AlertKind::TakeProfit => "✅",
        AlertKind::Risk => "⚠",
        AlertKind::EmergencyStop => "🛑",
        AlertKind::Error => "❌",
        AlertKind::Info => "ℹ",
    }
}

struct Job {
    chat_id: String,
    text: String,
}

/// Counters of the notifier.
#[derive(Debug, Default)]
pub struct TelegramStats {
    /// Messages delivered.
    pub sent: AtomicU64,
    /// Messages that failed (HTTP error or transport).
    pub failed: AtomicU64,
    /// Messages over the rate limit (summarised) or dropped on a full queue.
    pub suppressed: AtomicU64,
}

/// The Telegram notifier thread.
pub struct Telegram {
    outbox: Outbox<Job>,
    stats: Arc<TelegramStats>,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram").field("sent", &self.stats.sent.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
    suppressed: u64,
    paused_until: Option<Instant>,
}

struct Worker {
    config: TelegramConfig,
    agent: ureq::Agent,
    buckets: HashMap<String, Bucket>,
    stats: Arc<TelegramStats>,
}

impl Worker {
    fn refill(&mut self, chat: &str) -> &mut Bucket {
        let per_min = f64::from(self.config.max_per_minute);
        let b = self.buckets.entry(chat.to_owned()).or_insert(Bucket {
            tokens: per_min,
            at: Instant::now(),
            suppressed: 0,
            paused_until: None,
        });
        let now = Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per_min / 60.0).min(per_min);
        b.at = now;
        if b.paused_until.is_some_and(|t| now >= t) {
            b.paused_until = None;
        }
        b
    }

    fn handle(&mut self, job: Job) {
        let b = self.refill(&job.chat_id);
        if b.paused_until.is_some() || b.tokens < 1.0 {
            b.suppressed += 1;
            self.stats.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        b.tokens -= 1.0;
        let summary = std::mem::take(&mut b.suppressed);
        let text = if summary > 0 {
            format!("({summary} alerts suppressed by the rate limit)\n{}", job.text)
        } else {
            job.text
        };
        self.post(&job.chat_id, &text);
    }

    /// Reports chats whose suppressed alerts can now be summarised.
    fn flush_summaries(&mut self) {
        let chats: Vec<String> =
            self.buckets.iter().filter(|(_, b)| b.suppressed > 0).map(|(c, _)| c.clone()).collect();
        for chat in chats {
            let b = self.refill(&chat);
            if b.paused_until.is_none() && b.tokens >= 1.0 {
                b.tokens -= 1.0;
                let n = std::mem::take(&mut b.suppressed);
                self.post(&chat, &format!("{n} alerts suppressed by the rate limit"));
            }
        }
    }

    fn post(&mut self, chat_id: &str, text: &str) {
        let url = format!("{}/bot{}/sendMessage", self.config.base_url, self.config.bot_token.expose());
        let body =
            serde_json::json!({ "chat_id": chat_id, "text": text, "disable_web_page_preview": true }).to_string();
        let result = self.agent.post(&url).header("Content-Type", "application/json").send(body.as_str());
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if status == 200 {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                let reply = response.body_mut().read_to_string().unwrap_or_default();
                let parsed = serde_json::from_str::<serde_json::Value>(&reply).ok();
                let retry_after = parsed
                    .as_ref()
                    .and_then(|v| v.pointer("/parameters/retry_after").and_then(serde_json::Value::as_u64));
                if let Some(secs) = retry_after {
                    let b = self.refill(chat_id);
                    b.paused_until = Some(Instant::now() + Duration::from_secs(secs.min(3_600)));
                }
                // Telegram says why; the reply never holds the token (it is only in the URL).
                let description = parsed
                    .as_ref()
                    .and_then(|v| v.get("description").and_then(serde_json::Value::as_str))
                    .unwrap_or("")
                    .to_owned();
                tracing::warn!(
                    target: "gridbot::telegram",
                    status,
                    retry_after,
                    description = %scrub(&description, &[self.config.bot_token.expose().to_owned()]),
                    hint = refusal_hint(status),
                    "telegram: sendMessage refused"
                );
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "gridbot::telegram", kind = error_kind(&e), "telegram: sendMessage failed");
            }
        }
    }

    fn run(mut self, rx: &Receiver<Job>) {
        loop {
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(job) => self.handle(job),
                Err(RecvTimeoutError::Timeout) => self.flush_summaries(),
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// The kind of a transport failure, never its text (which may quote the URL and its token).
/// What a Telegram refusal usually means, for the operator reading the log.
fn refusal_hint(status: u16) -> &'static str {
    match status {
        401 | 404 => "the bot token is wrong (notifications.telegram.bot_token)",
        400 => "the chat_id is wrong, or the bot has not been added to that chat",
        403 => "the bot was blocked or removed from the chat",
        429 => "rate limited by Telegram: alerts wait retry_after seconds",
        _ => "Telegram could not take the message",
    }
}

pub(crate) fn error_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(_) => "i/o",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
        ureq::Error::Tls(_) => "tls",
        _ => "transport",
    }
}

impl Telegram {
    /// Starts the notifier thread.
    pub fn start(config: TelegramConfig) -> std::io::Result<Self> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let stats = Arc::new(TelegramStats::default());
        let worker = Worker { config, agent, buckets: HashMap::new(), stats: Arc::clone(&stats) };
        let outbox = Outbox::start("gridbot-telegram", 256, move |rx| worker.run(rx))?;
        Ok(Self { outbox, stats })
    }

    /// Queues `text` for `chat_id`; never waits. False when the queue was full (dropped).
    pub fn send(&self, chat_id: &str, text: String) -> bool {
        let sent = self.outbox.send(Job { chat_id: chat_id.to_owned(), text });
        if !sent {
            self.stats.suppressed.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &TelegramStats {
        &self.stats
    }

    /// Sends what is queued, then stops the thread.
    pub fn stop(mut self) {
        self.outbox.stop();
    }
}

/// One account's alert channel: log line always, Telegram when configured and enabled.
#[derive(Debug, Clone)]
pub struct Alerts {
    account: String,
    telegram: Option<(Arc<Telegram>, String)>,
    webhook: Option<Arc<crate::webhook::Webhook>>,
}

impl Alerts {
    /// Alerts of `account`, to `telegram`'s `chat_id` if given.
    #[must_use]
    pub fn new(account: &str, telegram: Option<(Arc<Telegram>, String)>) -> Self {
        Self { account: account.to_owned(), telegram, webhook: None }
    }

    /// Also sends every alert to this webhook.
    #[must_use]
    pub fn with_webhook(mut self, webhook: Option<Arc<crate::webhook::Webhook>>) -> Self {
        self.webhook = webhook;
        self
    }

    /// Logs and sends one of the core's alerts.
    pub fn send(&self, alert: &gridbot_strategy::Alert) {
        self.raise(alert.kind, alert.symbol.as_ref().map(gridbot_core::Symbol::as_str), &alert.text);
    }

    /// Logs and sends an alert.
    pub fn raise(&self, kind: AlertKind, symbol: Option<&str>, text: &str) {
        match kind {
            AlertKind::Error | AlertKind::EmergencyStop | AlertKind::Risk => {
                tracing::warn!(account = %self.account, symbol, kind = ?kind, "{text}");
            }
            _ => tracing::info!(account = %self.account, symbol, kind = ?kind, "{text}"),
        }
        if self.telegram.is_none() && self.webhook.is_none() {
            return;
        }
        let head = match symbol {
            Some(s) => format!("{} [{}] {s}", icon(kind), self.account),
            None => format!("{} [{}]", icon(kind), self.account),
        };
        if let Some((telegram, chat)) = &self.telegram {
            telegram.send(chat, format!("{head}: {text}"));
        }
        if let Some(webhook) = &self.webhook {
            webhook.send(format!("{head}: {text}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::config::Secret;

    /// A loopback Bot API that records requests; answers 429 to the third one.
    /// (path, body) of every request.
    type Seen = Arc<Mutex<Vec<(String, String)>>>;

    fn server() -> (String, Seen, std::thread::JoinHandle<()>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while let Ok(Some(mut request)) = server.recv_timeout(Duration::from_secs(5)) {
                n += 1;
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                record.lock().unwrap().push((request.url().to_owned(), body));
                let reply = if n == 3 {
                    tiny_http::Response::from_string(r#"{"ok":false,"error_code":429,"parameters":{"retry_after":1}}"#)
                        .with_status_code(429)
                } else {
                    tiny_http::Response::from_string(r#"{"ok":true}"#)
                };
                let _ = request.respond(reply);
            }
        });
        (url, seen, thread)
    }

    fn config(base_url: String, max_per_minute: u32) -> TelegramConfig {
        TelegramConfig {
            bot_token: Secret::new("4242:secret-token".into()),
            chat_id: "-100".into(),
            base_url,
            max_per_minute,
        }
    }

    #[test]
    fn alerts_reach_the_bot_api_with_chat_and_text() {
        let (url, seen, server) = server();
        let telegram = Arc::new(Telegram::start(config(url, 20)).unwrap());
        let alerts = Alerts::new("main", Some((Arc::clone(&telegram), "-100".into())));
        alerts.raise(AlertKind::TakeProfit, Some("BTCUSDT"), "long cycle 3 closed");
        alerts.raise(AlertKind::LevelUp, Some("BTCUSDT"), "short level 2");
        drop(alerts);
        Arc::into_inner(telegram).unwrap().stop();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, "/bot4242:secret-token/sendMessage");
        let body: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
        assert_eq!(body["chat_id"], "-100");
        assert!(body["text"].as_str().unwrap().contains("[main] BTCUSDT: long cycle 3 closed"));
        drop(server);
    }

    #[test]
    fn the_rate_limit_suppresses_and_a_429_pauses_without_blocking_the_sender() {
        let (url, seen, _server) = server();
        let telegram = Telegram::start(config(url, 2)).unwrap();
        let started = Instant::now();
        for i in 0..10 {
            assert!(telegram.send("-100", format!("alert {i}")));
        }
        assert!(started.elapsed() < Duration::from_millis(50), "sending must not wait for HTTP");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(seen.lock().unwrap().len(), 2, "two per minute");
        assert_eq!(telegram.stats().suppressed.load(Ordering::Relaxed), 8);
        telegram.stop();
    }

    #[test]
    fn an_unreachable_api_is_counted_and_never_panics() {
        let telegram = Telegram::start(config("http://127.0.0.1:9".into(), 20)).unwrap();
        telegram.send("-100", "hello".into());
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(telegram.stats().failed.load(Ordering::Relaxed), 1);
        telegram.stop();
    }
}

#[cfg(test)]
mod refusal_tests {
    #[test]
    fn a_refusal_says_why_and_what_to_check() {
        assert!(super::refusal_hint(400).contains("chat_id"));
        assert!(super::refusal_hint(401).contains("bot token"));
        assert!(super::refusal_hint(403).contains("blocked"));
        let token = "4242:secret-token".to_owned();
        let text = crate::config::scrub("Unauthorized for 4242:secret-token", std::slice::from_ref(&token));
        assert!(!text.contains("secret-token"), "{text}");
    }
}
