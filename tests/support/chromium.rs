//! Debian's headless Chromium for the tests that open a page in a real browser
//! (`--dump-dom`, `--screenshot`); `.ci/run` installs it.
#![allow(dead_code, unreachable_pub, clippy::panic)]

use std::process::{Command, Output};

/// Headless, sandbox-free, nothing fetched in the background (a fresh profile is the caller's).
pub const HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Runs headless Chromium with `args` (a fresh profile, nothing fetched in the background).
pub fn chromium(args: &[&str]) -> Output {
    let user_dir = std::env::temp_dir().join(format!("gridbot-chromium-{}", std::process::id()));
    let out = Command::new("chromium")
        .args(HEADLESS)
        .arg(format!("--user-data-dir={}", user_dir.display()))
        .args(args)
        .output();
    match out {
        Ok(o) => o,
        Err(e) => {
            panic!("chromium is needed for this test (Debian: apt-get install chromium; .ci/run installs it): {e}")
        }
    }
}
