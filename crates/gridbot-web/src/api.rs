//! Routes and handlers. Reads and writes go through `gridbot_engine::operator` on tokio's
//! blocking pool; every reply is JSON except `/metrics`, `/healthz`, the CSV download, the
//! change stream and the dashboard's own files.

use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gridbot_engine::config::{BotConfig, Secret, WebConfig};
use gridbot_engine::live::{LiveBoard, LivePrice};
use gridbot_engine::operator::{self, StatusReader};

use crate::auth::bearer_matches;
use crate::{dashboard, metrics, pages, stream};

/// The longest stop reason kept (it goes into the flag file and the alert).
const MAX_REASON_CHARS: usize = 200;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) config: Arc<BotConfig>,
    token: Option<Secret>,
    /// Off loopback, reads need the token too.
    reads_need_token: bool,
    /// Every page reads through it: only what changed on disk is read again.
    pub(crate) reader: Arc<Mutex<StatusReader>>,
    /// The running bot's prices and counters, once it is attached.
    pub(crate) live: Arc<RwLock<Option<LiveBoard>>>,
    /// The server is stopping: long-lived responses (the change stream) end.
    pub(crate) closing: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    pub(crate) fn new(
        config: Arc<BotConfig>,
        web: &WebConfig,
        live: Arc<RwLock<Option<LiveBoard>>>,
        closing: Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        Self {
            config,
            token: web.token.clone(),
            reads_need_token: !web.bind.ip().is_loopback(),
            reader: Arc::new(Mutex::new(StatusReader::new())),
            live,
            closing,
        }
    }

    /// The live top of book of `account`'s `symbol`, while the bot runs in this process.
    pub(crate) fn live_price(&self, account: &str, symbol: &str) -> Option<LivePrice> {
        let live = self.live.read().ok()?;
        let reading = live.as_ref()?.account(account)?;
        reading.prices.into_iter().find(|p| p.symbol.as_str() == symbol && p.ts_ms > 0)
    }

    /// `Ok` if `account` is in the bot file (only such ids ever reach a path on disk).
    pub(crate) fn known(&self, account: &str) -> Result<(), ApiError> {
        if self.config.accounts.iter().any(|a| a.account_id == account) {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::NOT_FOUND, "no such account in the bot file"))
        }
    }
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics_page))
        .route("/api/status", get(all_status))
        .route("/api/accounts/{id}", get(one_status))
        .route("/api/accounts/{id}/stop", post(stop))
        .route("/api/accounts/{id}/resume", post(resume))
        .route("/api/accounts/{id}/symbols/{symbol}", get(pages::symbol))
        .route("/api/accounts/{id}/symbols/{symbol}/recentre", post(recentre))
        .route("/api/accounts/{id}/positions", get(pages::positions))
        .route("/api/accounts/{id}/trades", get(pages::trades))
        .route("/api/accounts/{id}/trades.csv", get(pages::trades_csv))
        .route("/api/accounts/{id}/equity", get(pages::equity))
        .route("/api/accounts/{id}/risk", get(pages::risk))
        .route("/api/accounts/{id}/events", get(pages::events))
        .route("/api/accounts/{id}/settings", get(pages::settings))
        .route("/api/live", get(pages::live))
        .route("/api/stream", get(stream::changes))
        .route("/", get(dashboard::index))
        .route("/assets/{file}", get(dashboard::asset))
        .fallback(not_found)
        .with_state(state)
}

/// A JSON reply (axum's `json` feature is off: serde_json writes, we set the type).
pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")).into_response(),
    }
}

/// A refusal or failure: `{"error": "…"}` with its status (401s carry the Bearer challenge).
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, String);

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self(StatusCode::INTERNAL_SERVER_ERROR, message.into())
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.0
    }
}

impl From<gridbot_state::JournalError> for ApiError {
    fn from(e: gridbot_state::JournalError) -> Self {
        Self::internal(e.to_string())
    }
}

impl From<operator::OperatorError> for ApiError {
    fn from(e: operator::OperatorError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json(self.0, &serde_json::json!({ "error": self.1 }));
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub(crate) type Reply = Result<Response, ApiError>;

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint; see the gridbot-web crate docs")
}

/// `Ok` if the request may go on.
pub(crate) fn authorise(state: &AppState, headers: &HeaderMap, mutating: bool) -> Result<(), ApiError> {
    if !state.reads_need_token && !headers.get(header::HOST).and_then(|h| h.to_str().ok()).is_some_and(loopback_host) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "expected a loopback Host (127.0.0.1, [::1] or localhost)"));
    }
    if !mutating && !state.reads_need_token {
        return Ok(());
    }
    match &state.token {
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "disabled: set web.token in the bot file to enable stop and resume",
        )),
        Some(token) if bearer_matches(headers, token.expose()) => Ok(()),
        Some(_) => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "expected the header `Authorization: Bearer <web.token>`"))
        }
    }
}

/// Whether a `Host` header names this machine. A loopback-bound server answers only such
/// requests, so a web page whose name was re-bound to 127.0.0.1 (DNS rebinding) reads nothing.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(bracketed) = host.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Runs blocking file work off the reactor.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))
}

async fn metrics_page(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    let s = state.clone();
    let text = blocking(move || {
        let mut reader = s.reader.lock().map_err(|_| ApiError::internal("status reader poisoned"))?;
        let live = s.live.read().ok().and_then(|l| l.as_ref().map(LiveBoard::all)).unwrap_or_default();
        Ok::<_, ApiError>(metrics::render_with_live(&reader.all(&s.config), &live))
    })
    .await??;
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}

async fn all_status(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    let s = state.clone();
    let status = blocking(move || {
        let mut reader = s.reader.lock().map_err(|_| ApiError::internal("status reader poisoned"))?;
        Ok::<_, ApiError>(reader.all(&s.config))
    })
    .await??;
    Ok(json(StatusCode::OK, &status))
}

async fn one_status(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, false)?;
    state.known(&id)?;
    let s = state.clone();
    let status = blocking(move || {
        let mut reader = s.reader.lock().map_err(|_| ApiError::internal("status reader poisoned"))?;
        Ok::<_, ApiError>(reader.account(&s.config, &id))
    })
    .await??;
    Ok(json(StatusCode::OK, &status))
}

/// The body of a stop request: empty, or `{"reason": "…"}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StopBody {
    #[serde(default)]
    reason: Option<String>,
}

fn stop_reason(body: &[u8]) -> Result<String, ApiError> {
    let parsed: StopBody = if body.iter().all(u8::is_ascii_whitespace) {
        StopBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("expected an empty body or {{\"reason\": \"...\"}}: {e}"))
        })?
    };
    let reason = parsed.reason.unwrap_or_else(|| "no reason given".into());
    let reason: String = reason.chars().take(MAX_REASON_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    Ok(format!("web API: {reason}"))
}

async fn stop(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Reply {
    authorise(&state, &headers, true)?;
    state.known(&id)?;
    let reason = stop_reason(&body)?;
    let config = Arc::clone(&state.config);
    let account = id.clone();
    blocking(move || operator::stop(&config, &account, &reason)).await??;
    tracing::warn!(account = %id, "emergency stop set through the web API");
    Ok(json(StatusCode::OK, &serde_json::json!({ "account": id, "emergency_stop": true })))
}

/// The body of a recentre request: empty, or `{"profile": "conservative" | "normal" | "aggressive"}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RecentreBody {
    #[serde(default)]
    profile: Option<String>,
}

async fn recentre(
    State(state): State<AppState>,
    Path((id, symbol)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorise(&state, &headers, true)?;
    state.known(&id)?;
    let parsed: RecentreBody = if body.iter().all(u8::is_ascii_whitespace) {
        RecentreBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("expected an empty body or {{\"profile\": \"...\"}}: {e}"))
        })?
    };
    let profile = match parsed.profile.as_deref() {
        Some(name) => Some(gridbot_strategy::Profile::from_name(name).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "profile: expected conservative, normal or aggressive")
        })?),
        None => None,
    };
    let config = Arc::clone(&state.config);
    let (account, sym) = (id.clone(), symbol.clone());
    blocking(move || operator::recentre(&config, &account, &sym, profile)).await?.map_err(|e| match e {
        operator::OperatorError::Refused(why) => ApiError::new(StatusCode::CONFLICT, why),
        other => ApiError::from(other),
    })?;
    tracing::warn!(account = %id, %symbol, ?profile, "recentre requested through the web API");
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "account": id, "symbol": symbol, "recentre": true,
            "profile": profile.map(gridbot_strategy::Profile::name) }),
    ))
}

async fn resume(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Reply {
    authorise(&state, &headers, true)?;
    state.known(&id)?;
    let config = Arc::clone(&state.config);
    let account = id.clone();
    let was_on = blocking(move || operator::resume(&config, &account)).await??;
    tracing::warn!(account = %id, was_on, "resume requested through the web API");
    Ok(json(StatusCode::OK, &serde_json::json!({ "account": id, "emergency_stop": false, "was_on": was_on })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_are_local() {
        for host in ["127.0.0.1", "127.0.0.1:8090", "localhost", "LOCALHOST:1", "[::1]:8090", "[::1]", "127.1.2.3:80"] {
            assert!(loopback_host(host), "{host}");
        }
        for host in ["evil.example", "evil.example:8090", "10.0.0.1:8090", "[2001:db8::1]:80", "localhost.evil:80", ""]
        {
            assert!(!loopback_host(host), "{host}");
        }
    }

    #[test]
    fn stop_reasons_are_optional_bounded_and_single_line() {
        assert_eq!(stop_reason(b"").ok().unwrap(), "web API: no reason given");
        assert_eq!(stop_reason(b"  \n").ok().unwrap(), "web API: no reason given");
        assert_eq!(stop_reason(br#"{"reason":"news\nspike"}"#).ok().unwrap(), "web API: news spike");
        let long = format!(r#"{{"reason":"{}"}}"#, "x".repeat(1000));
        assert_eq!(stop_reason(long.as_bytes()).ok().unwrap().len(), "web API: ".len() + MAX_REASON_CHARS);
        assert_eq!(stop_reason(b"{").err().unwrap().0, StatusCode::BAD_REQUEST);
        assert_eq!(stop_reason(br#"{"why":"x"}"#).err().unwrap().0, StatusCode::BAD_REQUEST);
    }
}
