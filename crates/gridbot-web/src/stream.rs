//! `GET /api/stream`: Server-Sent Events telling the dashboard what changed, so a fill shows on
//! the page within a second without polling every endpoint.
//!
//! Decisions:
//! - **Tell, don't carry.** Events name what changed (`change`: the accounts whose files moved;
//!   `prices`: the live top of book, at most once a second); the page fetches the figures
//!   from the same documented endpoints a script would. One truth, one code path.
//! - **Resuming is re-reading.** Every connection starts with `hello` (every account), so a
//!   page that reconnects after a network blip or a bot restart fetches everything once and
//!   misses nothing. `EventSource` reconnects by itself (`retry: 2000` ms).
//! - Files are stamped four times a second on the blocking pool (a `stat` per file and a lock
//!   probe per account); a comment line every 15 s keeps proxies from closing an idle stream.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use gridbot_engine::operator::{Stamps, StatusReader};

use crate::api::{AppState, Reply, authorise};

const LOOK_EVERY: Duration = Duration::from_millis(250);
const PRICES_EVERY: Duration = Duration::from_secs(1);

struct Watch {
    state: AppState,
    hello_sent: bool,
    stamps: Option<Vec<Stamps>>,
    prices: String,
    prices_sent: Instant,
}

impl Watch {
    fn ids(&self) -> Vec<String> {
        self.state.config.accounts.iter().map(|a| a.account_id.clone()).collect()
    }

    async fn next_event(&mut self) -> Option<Event> {
        if !self.hello_sent {
            self.hello_sent = true;
            // What the page is about to read is the baseline: a change after it is news.
            let config = std::sync::Arc::clone(&self.state.config);
            self.stamps = Some(tokio::task::spawn_blocking(move || StatusReader::stamps(&config)).await.ok()?);
            let data = serde_json::to_string(&self.ids()).ok()?;
            return Some(Event::default().event("hello").retry(Duration::from_secs(2)).data(data));
        }
        loop {
            tokio::time::sleep(LOOK_EVERY).await;
            if self.state.closing.load(std::sync::atomic::Ordering::Relaxed) {
                return None; // the server stops: end the stream, the page reconnects later
            }
            let config = std::sync::Arc::clone(&self.state.config);
            let stamps = tokio::task::spawn_blocking(move || StatusReader::stamps(&config)).await.ok()?;
            let changed: Vec<String> = match &self.stamps {
                Some(before) => self
                    .ids()
                    .into_iter()
                    .zip(before.iter().zip(&stamps))
                    .filter(|(_, (a, b))| a != b)
                    .map(|(id, _)| id)
                    .collect(),
                None => Vec::new(),
            };
            self.stamps = Some(stamps);
            if !changed.is_empty() {
                return Some(Event::default().event("change").data(serde_json::to_string(&changed).ok()?));
            }
            if self.prices_sent.elapsed() >= PRICES_EVERY {
                let readings =
                    self.state.live.read().ok().and_then(|l| l.as_ref().map(gridbot_engine::live::LiveBoard::all));
                let prices: Vec<_> = readings.unwrap_or_default().into_iter().map(|r| (r.account, r.prices)).collect();
                let text = serde_json::to_string(&prices).ok()?;
                if text != self.prices {
                    self.prices.clone_from(&text);
                    self.prices_sent = Instant::now();
                    return Some(Event::default().event("prices").data(text));
                }
            }
        }
    }
}

/// The change stream.
pub(crate) async fn changes(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    let watch = Watch { state, hello_sent: false, stamps: None, prices: "[]".to_owned(), prices_sent: Instant::now() };
    let events = futures_util::stream::unfold(watch, |mut w| async move {
        let event = w.next_event().await?;
        Some((Ok::<_, Infallible>(event), w))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}
