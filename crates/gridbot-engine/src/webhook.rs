//! Alerts to a generic webhook — Slack's `{"text": …}` or Discord's `{"content": …}` — for
//! teams not on Telegram.
//!
//! Decisions (as for Telegram, see [`crate::alerts`]):
//! - **Never blocks trading**: a bounded queue and a thread of its own; a full queue drops and
//!   counts.
//! - **Rate-limited** (a token bucket of `max_per_minute`); what is over the limit is counted
//!   and said in one line once the bucket refills; a 429 pauses for its `Retry-After`.
//! - **The URL is a secret** (it carries the webhook's token): it is never logged, nor any
//!   transport error text that could quote it — only the status or the error kind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::config::{WebhookConfig, WebhookFormat};
use crate::outbox::Outbox;

/// Counters of the webhook notifier.
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Messages delivered (2xx).
    pub sent: AtomicU64,
    /// Messages that failed.
    pub failed: AtomicU64,
    /// Messages over the rate limit or dropped on a full queue.
    pub suppressed: AtomicU64,
}

/// The webhook notifier thread; stops (after sending what is queued) when stopped or dropped.
pub struct Webhook {
    outbox: Outbox<String>,
    stats: Arc<WebhookStats>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("sent", &self.stats.sent.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

struct Worker {
    config: WebhookConfig,
    agent: ureq::Agent,
    tokens: f64,
    at: Instant,
    suppressed: u64,
    paused_until: Option<Instant>,
    stats: Arc<WebhookStats>,
}

/// The body a webhook of `format` expects.
fn body(format: WebhookFormat, text: &str) -> String {
    match format {
        WebhookFormat::Slack => serde_json::json!({ "text": text }),
        WebhookFormat::Discord => serde_json::json!({ "content": text, "allowed_mentions": { "parse": [] } }),
    }
    .to_string()
}

impl Worker {
    fn refill(&mut self) {
        let per_min = f64::from(self.config.max_per_minute);
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * per_min / 60.0).min(per_min);
        self.at = now;
        if self.paused_until.is_some_and(|t| now >= t) {
            self.paused_until = None;
        }
    }

    fn handle(&mut self, text: &str) {
        self.refill();
        if self.paused_until.is_some() || self.tokens < 1.0 {
            self.suppressed += 1;
            self.stats.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.tokens -= 1.0;
        let n = std::mem::take(&mut self.suppressed);
        let text = if n > 0 { format!("({n} alerts suppressed by the rate limit)\n{text}") } else { text.to_owned() };
        self.post(&text);
    }

    fn post(&mut self, text: &str) {
        let result = self
            .agent
            .post(self.config.url.expose())
            .header("Content-Type", "application/json")
            .send(body(self.config.format, text).as_str());
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok());
                if status == 429 {
                    let secs = retry_after.unwrap_or(5.0).clamp(0.0, 3_600.0);
                    self.paused_until = Some(Instant::now() + Duration::from_secs_f64(secs));
                }
                tracing::warn!(target: "gridbot::webhook", status, retry_after, "webhook: the alert was refused");
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "gridbot::webhook", kind = crate::alerts::error_kind(&e), "webhook: the alert could not be sent");
            }
        }
    }

    fn run(mut self, rx: &Receiver<String>) {
        loop {
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(text) => self.handle(&text),
                Err(RecvTimeoutError::Timeout) => {
                    self.refill();
                    if self.suppressed > 0 && self.paused_until.is_none() && self.tokens >= 1.0 {
                        self.tokens -= 1.0;
                        let n = std::mem::take(&mut self.suppressed);
                        self.post(&format!("{n} alerts suppressed by the rate limit"));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

impl Webhook {
    /// Starts the notifier thread.
    pub fn start(config: WebhookConfig) -> std::io::Result<Self> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let stats = Arc::new(WebhookStats::default());
        let tokens = f64::from(config.max_per_minute);
        let worker = Worker {
            config,
            agent,
            tokens,
            at: Instant::now(),
            suppressed: 0,
            paused_until: None,
            stats: Arc::clone(&stats),
        };
        let outbox = Outbox::start("gridbot-webhook", 256, move |rx| worker.run(rx))?;
        Ok(Self { outbox, stats })
    }

    /// Queues `text`; false when it was dropped (queue full).
    pub fn send(&self, text: String) -> bool {
        let sent = self.outbox.send(text);
        if !sent {
            self.stats.suppressed.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Its counters.
    #[must_use]
    pub fn stats(&self) -> &WebhookStats {
        &self.stats
    }

    /// Sends what is queued and stops.
    pub fn stop(mut self) {
        self.outbox.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::config::Secret;

    #[test]
    fn slack_and_discord_bodies_reach_the_url_and_the_url_is_never_logged() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let thread = std::thread::spawn(move || {
            while let Ok(Some(mut request)) = server.recv_timeout(Duration::from_secs(3)) {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                record.lock().unwrap().push((request.url().to_owned(), body));
                let _ = request.respond(tiny_http::Response::from_string("ok").with_status_code(204));
            }
        });
        for (format, path) in
            [(WebhookFormat::Slack, "/services/T0/B0/secret1"), (WebhookFormat::Discord, "/api/webhooks/1/secret2")]
        {
            let hook =
                Webhook::start(WebhookConfig { url: Secret::new(format!("{base}{path}")), format, max_per_minute: 20 })
                    .unwrap();
            assert!(hook.send("⚠ [main] BTCUSDT: L9 level-up budget".into()));
            let deadline = Instant::now() + Duration::from_secs(5);
            while hook.stats().sent.load(Ordering::Relaxed) < 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert_eq!(hook.stats().sent.load(Ordering::Relaxed), 1);
            assert!(!format!("{hook:?}").contains("secret"), "Debug hides the URL");
            hook.stop();
        }
        thread.join().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0, "/services/T0/B0/secret1");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&seen[0].1).unwrap()["text"],
            "⚠ [main] BTCUSDT: L9 level-up budget"
        );
        assert_eq!(seen[1].0, "/api/webhooks/1/secret2");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&seen[1].1).unwrap()["content"],
            "⚠ [main] BTCUSDT: L9 level-up budget"
        );
    }

    #[test]
    fn over_the_limit_alerts_are_counted_not_sent() {
        // Nothing listens on this port: sends fail fast; the bucket still limits.
        let hook = Webhook::start(WebhookConfig {
            url: Secret::new("http://127.0.0.1:9/hook".into()),
            format: WebhookFormat::Slack,
            max_per_minute: 2,
        })
        .unwrap();
        for i in 0..5 {
            hook.send(format!("alert {i}"));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while hook.stats().failed.load(Ordering::Relaxed) + hook.stats().suppressed.load(Ordering::Relaxed) < 5
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(hook.stats().failed.load(Ordering::Relaxed), 2);
        assert_eq!(hook.stats().suppressed.load(Ordering::Relaxed), 3);
        hook.stop();
    }
}
