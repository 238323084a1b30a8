//! A minimal Chrome DevTools Protocol client for the tests that drive a real page: headless
//! Chromium with `--remote-debugging-port=0`, one page target attached in flat mode, and
//! `Runtime.evaluate` / `Page.captureScreenshot` over its WebSocket (tungstenite, blocking).
//! The including test also includes `support/chromium.rs` (the browser's arguments).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// A headless Chromium with one page, killed when dropped.
pub struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    user_dir: std::path::PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.user_dir);
    }
}

impl Browser {
    /// Starts Chromium and opens `url` in a `width`×`height` page.
    pub fn open(url: &str, width: u32, height: u32) -> Self {
        let user_dir = std::env::temp_dir().join(format!("gridbot-cdp-{}-{}", std::process::id(), width));
        let mut child = Command::new("chromium")
            .args(crate::chromium::HEADLESS)
            .args(["--remote-debugging-port=0", "--remote-allow-origins=*"])
            .arg(format!("--user-data-dir={}", user_dir.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromium is needed (Debian: apt-get install chromium; .ci/run installs it): {e}")
            });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_owned());
                }
            }
        });
        let ws_url = rx.recv_timeout(Duration::from_secs(30)).expect("chromium printed no DevTools address");
        let (socket, _) = tungstenite::connect(ws_url.as_str()).unwrap();
        if let MaybeTlsStream::Plain(s) = socket.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        let mut browser = Self { child, socket, session: String::new(), next_id: 0, user_dir };
        let target = browser.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call_browser("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700}),
        );
        browser.call("Page.enable", json!({}));
        browser.call("Page.navigate", json!({"url": url}));
        browser
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            message["sessionId"] = Value::String(s);
        }
        self.socket.send(Message::text(message.to_string())).unwrap();
        loop {
            let reply = self.socket.read().unwrap_or_else(|e| panic!("DevTools {method}: {e}"));
            let Message::Text(text) = reply else { continue };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["id"].as_u64() == Some(id) {
                assert!(value.get("error").is_none(), "DevTools {method}: {value}");
                return value["result"].clone();
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A DevTools command on the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(method, params, Some(session))
    }

    /// Evaluates `expression` in the page (promises awaited) and returns its JSON value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({"expression": expression, "awaitPromise": true, "returnByValue": true}));
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("page threw on {expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Waits until `condition` (a JS expression) is truthy; panics with `what` after `timeout`.
    pub fn wait_until(&mut self, condition: &str, timeout: Duration, what: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.eval(&format!("Boolean({condition})"));
            if v == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.eval("document.body ? document.body.innerText.slice(0, 3000) : ''");
                panic!("{what}: not within {timeout:?}; the page shows:\n{}", body.as_str().unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks the first element matching `selector` (the DOM's `click()`, in one turn of the
    /// page's event loop: a re-render pushed by the server cannot move it between finding and
    /// clicking, as it could a mouse event aimed at coordinates).
    pub fn click(&mut self, selector: &str) {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (!e) return false; e.click(); return true; }})()"
        ));
        assert_eq!(found, Value::Bool(true), "nothing matches {selector}");
    }

    /// Types `text` into the element matching `selector` (focus, then key input).
    pub fn type_into(&mut self, selector: &str, text: &str) {
        self.eval(&format!("document.querySelector({selector:?}).focus()"));
        self.call("Input.insertText", json!({"text": text}));
    }

    /// A PNG of the page as it is now.
    pub fn screenshot(&mut self, full_page: bool) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": full_page}));
        base64_decode(shot["data"].as_str().unwrap())
    }
}

/// Standard base64 (the screenshot's encoding), padding allowed.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()).map(value).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0_u32;
        for (i, v) in chunk.iter().enumerate() {
            n |= u32::from(*v) << (18 - 6 * i);
        }
        let [_, a, b, c] = n.to_be_bytes();
        out.push(a);
        if chunk.len() > 2 {
            out.push(b);
        }
        if chunk.len() > 3 {
            out.push(c);
        }
    }
    out
}
