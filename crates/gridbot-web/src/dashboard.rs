//! The dashboard's own files: one HTML page, one script, one stylesheet, compiled into the
//! binary (no CDN, works offline), served with a strict Content-Security-Policy.
//!
//! Decisions:
//! - **No framework, no chart library.** The page is plain DOM and inline SVG drawn by
//!   `app.js` (≈ 38 KB all told, far under the 500 KB budget); there is nothing to vendor,
//!   licence or keep patched, and the charts are as exact as the JSON behind them.
//! - **The token lives in the page's memory only** (typed into the header field, sent as
//!   `Authorization: Bearer` on the actions, never stored in a cookie or `localStorage`), so
//!   another site cannot make the browser act, and a reload forgets it.
//! - CSP: scripts, styles and fetches from this origin only, no inline script, no framing.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The policy every dashboard file is served with.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /`.
pub(crate) async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "app.js" => page("text/javascript; charset=utf-8", APP_JS),
        "app.css" => page("text/css; charset=utf-8", APP_CSS),
        _ => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}

/// The dashboard's weight in bytes (HTML, script and styles).
#[must_use]
pub fn weight() -> usize {
    INDEX.len() + APP_JS.len() + APP_CSS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_light_and_loads_nothing_from_elsewhere() {
        assert!(weight() < 500 * 1024, "{} bytes", weight());
        for text in [INDEX, APP_JS, APP_CSS] {
            let text = text.replace("'http://www.w3.org/2000/svg'", "SVG namespace");
            assert!(!text.contains("http://") && !text.contains("https://"), "no external URL");
        }
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style="), "no inline script or style (CSP)");
    }
}
