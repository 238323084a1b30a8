//! The binary's command line: help, the example configuration, exit codes, operator commands.
//! (The end-to-end tests against the simulator live in the workspace's `tests/`.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn gridbot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gridbot"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const ENV: [(&str, &str); 8] = [
    ("BYBIT_API_KEY_1", "k1"),
    ("BYBIT_API_SECRET_1", "s1-value"),
    ("BYBIT_API_KEY_2", "k2"),
    ("BYBIT_API_SECRET_2", "s2-value"),
    ("TELEGRAM_BOT_TOKEN", "1:token-value"),
    ("TELEGRAM_CHAT_ID", "-1"),
    ("TELEGRAM_CHAT_MAIN", "-2"),
    ("GRIDBOT_WEB_TOKEN", "web-token-value-for-cli-test"),
];

#[test]
fn help_documents_the_commands_and_exit_codes() {
    let out = gridbot().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["run", "sim", "demo", "recover", "status", "stop", "resume", "config", "Exit codes"] {
        assert!(text.contains(word), "{word} missing from --help:\n{text}");
    }
}

#[test]
fn the_example_bot_configuration_checks_and_usage_errors_exit_2() {
    let out = gridbot().args(["config", "check"]).arg(repo().join("config/bot.yaml")).envs(ENV).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("main (Testnet"), "{stdout}");
    assert!(stdout.contains("web: http://127.0.0.1:8090 (token set)"), "{stdout}");
    assert!(!stdout.contains("web-token-value-for-cli-test"), "{stdout}");
    let out = gridbot().args(["config", "check"]).arg(repo().join("config/bot.yaml")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BYBIT_API_KEY_1 is not set"));
    assert_eq!(gridbot().arg("frobnicate").output().unwrap().status.code(), Some(2));
}

#[test]
fn stop_resume_and_status_work_on_the_account_files() {
    let dir = std::env::temp_dir().join(format!("gridbot-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let account = dir.join("acc.yaml");
    std::fs::write(
        &account,
        "account_id: acc1\nenvironment: sim\nbase_url: http://127.0.0.1:9\napi_key: k\napi_secret: s\nsymbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 2\n    progressive: {base_qty: \"0.001\"}\n",
    )
    .unwrap();
    let run = |args: &[&str]| gridbot().args(args).arg("--config").arg(&account).output().unwrap();
    let out = run(&["stop", "--account", "acc1", "--reason", "test"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let flag = dir.join("var/acc1/EMERGENCY_STOP");
    assert!(std::fs::read_to_string(&flag).unwrap().contains("test"));
    let out = run(&["status"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("acc1: not running, EMERGENCY STOP ON"));
    let out = run(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((json[0]["account"].as_str(), json[0]["emergency_stop"].as_bool()), (Some("acc1"), Some(true)));
    let out = run(&["resume", "--account", "acc1"]);
    assert!(out.status.success());
    assert!(!flag.exists());
    assert!(dir.join("var/acc1/RESUME").exists());
    assert_eq!(run(&["stop", "--account", "nobody"]).status.code(), Some(2));
}
