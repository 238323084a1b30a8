//! The operator's commands as a person in a fresh shell meets them: `gridbot stop`, `resume`
//! and `status` work with none of the bot's `${VAR}` secrets set (Bybit keys, Telegram token,
//! web token) — the emergency stop must always work — while `gridbot run` still refuses the
//! same file, naming the variable.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{gridbot_bin, temp_dir};

/// Runs `gridbot ARGS` with no `GRIDBOT_*`/`BYBIT_*`/`TELEGRAM_*` variable set.
fn gridbot(args: &[&str]) -> Output {
    let mut cmd = Command::new(gridbot_bin());
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("GRIDBOT_") || k.starts_with("BYBIT_") || k.starts_with("TELEGRAM_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn bot_with_secrets(dir: &Path) -> String {
    std::fs::write(
        dir.join("acc1.yaml"),
        "account_id: acc1\nenvironment: mainnet\napi_key: ${BYBIT_OP_KEY}\napi_secret: ${BYBIT_OP_SECRET}\n\
         notifications:\n  telegram:\n    chat_id: ${TELEGRAM_OP_CHAT}\n\
         symbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      \
         base_qty: \"0.001\"\n      max_levels: 6\n",
    )
    .unwrap();
    let bot = dir.join("bot.yaml");
    std::fs::write(
        &bot,
        "data_dir: state\naccounts: [acc1.yaml]\n\
         notifications:\n  telegram:\n    bot_token: ${TELEGRAM_OP_TOKEN}\n    chat_id: ${TELEGRAM_OP_CHAT}\n\
         web:\n  bind: 127.0.0.1:0\n  token: ${GRIDBOT_OP_WEB_TOKEN}\n",
    )
    .unwrap();
    bot.to_str().unwrap().to_owned()
}

#[test]
fn stop_status_and_resume_need_no_secret() {
    let dir = temp_dir("operator-secrets");
    let bot = bot_with_secrets(&dir);
    let flag = dir.join("state/acc1/EMERGENCY_STOP");

    let stop = gridbot(&["stop", "--config", &bot, "--account", "acc1", "--reason", "fresh shell"]);
    assert!(stop.status.success(), "stop: {}", text(&stop));
    assert!(flag.exists(), "the flag file is written: {}", text(&stop));

    let status = gridbot(&["status", "--config", &bot]);
    assert!(status.status.success(), "status: {}", text(&status));
    assert!(text(&status).contains("acc1: not running, EMERGENCY STOP ON"), "{}", text(&status));
    let json = gridbot(&["status", "--json", "--config", &bot]);
    assert!(json.status.success(), "status --json: {}", text(&json));

    let resume = gridbot(&["resume", "--config", &bot, "--account", "acc1"]);
    assert!(resume.status.success(), "resume: {}", text(&resume));
    assert!(!flag.exists());

    // An unknown account is still a clear error (exit 2), secrets or not.
    let wrong = gridbot(&["stop", "--config", &bot, "--account", "nope"]);
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong));
    assert!(text(&wrong).contains("nope"), "{}", text(&wrong));

    // Trading still needs every secret, and says which is missing, before anything is sent.
    let run = gridbot(&["run", "--config", &bot]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    for var in ["BYBIT_OP_KEY", "TELEGRAM_OP_TOKEN", "GRIDBOT_OP_WEB_TOKEN"] {
        assert!(text(&run).contains(var), "run names {var}: {}", text(&run));
    }
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    // `gridbot data check F F F … | head`: more lines than a pipe buffers, so the command is
    // still writing when the reader goes away.
    let dir = temp_dir("operator-pipe");
    let file = dir.join("three.csv");
    std::fs::write(&file, "open_time_ms,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,1,1,1,1\n120000,1,1,1,1,1\n")
        .unwrap();
    let path = file.to_str().unwrap();
    let mut child = Command::new(gridbot_bin())
        .args(["data", "check"])
        .args(std::iter::repeat_n(path, 3_000))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "a closed pipe is not a failure: {stderr}");
}

#[test]
fn an_unknown_symbol_anywhere_stops_the_start_before_any_order() {
    let dir = temp_dir("operator-unknown-symbol");
    let (_sim, url) = support::sim_on_btc(
        &dir,
        1,
        "lockstep_quiet_ms: 20\n",
        &[("key-a", "secret-a", 10000), ("key-b", "secret-b", 10000)],
    );
    let progressive = |symbol: &str| {
        format!(
            "  - symbol: {symbol}\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.002\"\n      \
             max_levels: 5\n      atr_pct: 0.02\n"
        )
    };
    let account = |id: &str, key: &str, symbols: &str| {
        format!(
            "account_id: {id}\nenvironment: sim\nbase_url: {url}\napi_key: {key}\napi_secret: {}\nsymbols:\n{symbols}",
            key.replace("key", "secret")
        )
    };
    std::fs::write(dir.join("a.yaml"), account("a", "key-a", &progressive("BTCUSDT"))).unwrap();
    std::fs::write(dir.join("b.yaml"), account("b", "key-b", &(progressive("BTCUSDT") + &progressive("NOPEUSDT"))))
        .unwrap();
    std::fs::write(dir.join("bot.yaml"), "data_dir: var\naccounts: [a.yaml, b.yaml]\n").unwrap();

    let run =
        Command::new(gridbot_bin()).args(["run", "--config", dir.join("bot.yaml").to_str().unwrap()]).output().unwrap();
    assert_eq!(run.status.code(), Some(2), "a configuration error: {}", text(&run));
    assert!(text(&run).contains("NOPEUSDT: not a trading USDT perpetual"), "{}", text(&run));
    let btc = gridbot_core::Symbol::new("BTCUSDT").unwrap();
    for (key, secret) in [("key-a", "secret-a"), ("key-b", "secret-b")] {
        let open = support::client(&url, key, secret).open_orders(&btc).unwrap();
        assert!(open.is_empty(), "{key}: nothing was sent, yet {} orders rest", open.len());
    }
}

#[test]
fn sigterm_during_start_up_stops_the_bot_promptly() {
    // An "exchange" that accepts connections and never answers: start-up waits on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let dir = temp_dir("operator-sigterm-start");
    std::fs::write(
        dir.join("slow.yaml"),
        format!(
            "account_id: slow\nenvironment: sim\nbase_url: {url}\napi_key: k\napi_secret: s\nsymbols:\n  - symbol: BTCUSDT\n    \
             strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 5\n"
        ),
    )
    .unwrap();
    let mut bot = support::Proc::gridbot(&["run", "--config", dir.join("slow.yaml").to_str().unwrap()], &[]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(bot.child.try_wait().unwrap().is_none(), "still starting: {}", bot.output());
    let sent = std::time::Instant::now();
    let pid = bot.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let code = loop {
        if let Some(status) = bot.child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            sent.elapsed() < std::time::Duration::from_secs(5),
            "SIGTERM ignored during start-up:\n{}",
            bot.output()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(code, Some(0), "a clean stop: {}", bot.output());
}

#[test]
fn recover_dry_run_reads_beside_a_running_bot_and_speaks_plainly() {
    let dir = temp_dir("operator-recover-dry");
    let (_sim, url) = support::sim_on_btc(&dir, 1, "candles_per_second: 5\n", &[("key-r", "secret-r", 10000)]);
    std::fs::write(
        dir.join("r.yaml"),
        format!(
            "account_id: r\nenvironment: sim\nbase_url: {url}\napi_key: key-r\napi_secret: secret-r\nsymbols:\n  - symbol: BTCUSDT\n    \
             strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.002\"\n      max_levels: 5\n      atr_pct: 0.02\n"
        ),
    )
    .unwrap();
    let bot_yaml = dir.join("bot.yaml");
    std::fs::write(&bot_yaml, "data_dir: var\naccounts: [r.yaml]\nlogging: {level: debug}\n").unwrap();
    let mut bot = support::Proc::gridbot(&["run", "--config", bot_yaml.to_str().unwrap()], &[]);
    bot.wait_for("trading", std::time::Duration::from_secs(60));
    // At debug the account's log explains what the bot did, without the libraries' chatter.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let logs: String = std::fs::read_dir(dir.join("var/r/logs"))
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .collect();
    assert!(logs.contains("\"message\":\"placed\""), "debug shows each order placed: {logs}");
    for noise in ["\"target\":\"tungstenite", "\"target\":\"rustls", "\"target\":\"ureq", "\"target\":\"hyper"] {
        assert!(!logs.contains(noise), "no library debug lines ({noise})");
    }

    let dry = gridbot(&["recover", "--dry-run", "--config", bot_yaml.to_str().unwrap()]);
    let out = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "a dry run reads beside the running bot: {out}");
    assert!(
        out.contains("r BTCUSDT: both legs flat") || out.contains("leg open") || out.contains("legs open"),
        "{out}"
    );
    // Whatever the market did meanwhile, each order is one plain line: "in place: long
    // take-profit, level 0: sell 0.002 at 97387.7".
    let orders: Vec<&str> =
        out.lines().filter(|l| l.starts_with("  in place: ") || l.starts_with("  would place: ")).collect();
    assert!(!orders.is_empty(), "{out}");
    assert!(orders.iter().all(|l| l.contains(", level ") && l.contains(" at ")), "{out}");
    assert!(out.contains("dry run: nothing was sent"), "{out}");
    assert!(!out.contains('\u{1b}'), "no ANSI colour codes when the output is not a terminal: {out:?}");
    for debug in ["Some(", "None", "Price(", "Qty(", "findings []"] {
        assert!(!out.contains(debug), "no Rust Debug in the output ({debug}): {out}");
    }
    // status: plain sentences, ISO-8601 times, and JSON with named fields.
    let status = gridbot(&["status", "--config", bot_yaml.to_str().unwrap()]);
    assert!(text(&status).contains("r: running"), "{}", text(&status));
    let json = gridbot(&["status", "--json", "--config", bot_yaml.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    if let Some(e) = v[0]["recent_events"].as_array().and_then(|l| l.first()) {
        assert!(e["at"].as_str().is_some_and(|t| t.ends_with('Z')) && e["message"].is_string(), "{v}");
    }
    // A real recover still refuses while the bot holds the account (exit 4).
    let real = gridbot(&["recover", "--config", bot_yaml.to_str().unwrap()]);
    assert_eq!(real.status.code(), Some(4), "{}", text(&real));
    drop(bot);
}

#[test]
fn the_demo_runs_from_any_directory_and_never_mixes_runs() {
    let dir = temp_dir("operator-demo");
    let out = dir.join("out");
    let run = |args: &[&str]| Command::new(gridbot_bin()).args(args).current_dir(&dir).output().unwrap();
    let first = run(&["demo", "--days", "0.1", "--speed", "5000", "--out", out.to_str().unwrap()]);
    assert!(first.status.success(), "from a directory without data/: {}", text(&first));
    assert!(text(&first).contains("funding: net funding paid"), "the columns are explained: {}", text(&first));
    let report = out.join("backtest/report.html");
    assert!(report.is_file(), "the demo writes a backtest report too: {}", text(&first));
    assert!(std::fs::read_to_string(&report).unwrap().contains("<svg"), "a report with charts");
    // The same --out again would add the old journals to the new summary: refused.
    let again = run(&["demo", "--days", "0.1", "--out", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("earlier demo"), "{}", text(&again));
    // A --data without the bundled files: a clear error, exit 2.
    let nowhere = run(&["demo", "--data", "no-such-dir", "--out", dir.join("out2").to_str().unwrap()]);
    assert_eq!(nowhere.status.code(), Some(2), "{}", text(&nowhere));
    assert!(text(&nowhere).contains("are not in no-such-dir"), "{}", text(&nowhere));
    assert!(!dir.join("out2").exists(), "nothing created before the data was found");
}

#[test]
fn doctor_checks_an_account_against_the_exchange_and_sends_nothing() {
    let dir = temp_dir("operator-doctor");
    let (_sim, url) = support::sim_on_btc(&dir, 1, "candles_per_second: 0\n", &[("key-d", "secret-d", 10000)]);
    let account = |name: &str, secret: &str, base_qty: &str| {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "account_id: {name}\nenvironment: sim\nbase_url: {url}\napi_key: key-d\napi_secret: {secret}\nsymbols:\n  - symbol: BTCUSDT\n    \
                 strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"{base_qty}\"\n      max_levels: 5\n      atr_pct: 0.02\n"
            ),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    // A sound account: every check ok or warn (one-way mode and leverage are what the start sets).
    let good = gridbot(&["doctor", "--config", &account("good", "secret-d", "0.001")]);
    let out = text(&good);
    assert!(good.status.success(), "{out}");
    for what in [
        "keys: accepted",
        "clock:",
        "sizes: 6 levels from 0.001 to 0.032",
        "position mode:",
        "balance: ",
        "data directory:",
    ] {
        assert!(out.contains(what), "{what}: {out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
    // Too big for the wallet: the balance check fails, exit 1.
    let big = gridbot(&["doctor", "--config", &account("big", "secret-d", "0.01")]);
    assert_eq!(big.status.code(), Some(1), "{}", text(&big));
    assert!(text(&big).contains("FAIL big: balance: "), "{}", text(&big));
    // A wrong secret: the keys are refused.
    let wrong = gridbot(&["doctor", "--config", &account("wrong", "not-the-secret", "0.001")]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(text(&wrong).contains("FAIL wrong: keys: refused"), "{}", text(&wrong));
    // Read only: nothing was placed or switched on the exchange.
    let ex = support::client(&url, "key-d", "secret-d");
    let btc = gridbot_core::Symbol::new("BTCUSDT").unwrap();
    assert!(gridbot_core::Exchange::open_orders(&ex, &btc).unwrap().is_empty());
    let rows = gridbot_core::Exchange::positions(&ex, &btc).unwrap();
    assert!(rows.iter().all(|p| p.position_idx == gridbot_core::PositionIdx::OneWay), "mode untouched: {rows:?}");
    // `config check --online` asks the exchange's instrument list: ETHUSDT is not listed here.
    let eth = account("eth", "secret-d", "0.01");
    std::fs::write(&eth, std::fs::read_to_string(&eth).unwrap().replace("BTCUSDT", "ETHUSDT")).unwrap();
    let offline = gridbot(&["config", "check", &eth]);
    assert!(offline.status.success(), "built-in filters offline: {}", text(&offline));
    let online = gridbot(&["config", "check", "--online", &eth]);
    assert_eq!(online.status.code(), Some(2), "{}", text(&online));
    assert!(
        text(&online).contains("eth.yaml:7: symbols[0].symbol: ETHUSDT is not a trading USDT perpetual"),
        "{}",
        text(&online)
    );
}

#[test]
fn config_check_catches_what_run_would_reject() {
    let dir = temp_dir("operator-config-check");
    let check = |file: &Path| {
        Command::new(gridbot_bin())
            .args(["config", "check"])
            .arg(file)
            .env("CC_KEY", "k")
            .env("CC_SECRET", "s")
            .output()
            .unwrap()
    };
    let file = dir.join("deep.yaml");
    // 1 BTC doubled over 12 levels reaches 4096 BTC: beyond Bybit's 1190 BTC per order.
    std::fs::write(
        &file,
        "account_id: deep\nenvironment: testnet\napi_key: ${CC_KEY}\napi_secret: ${CC_SECRET}\nsymbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    \
         leverage: 5\n    progressive:\n      base_qty: \"1\"\n      max_levels: 12\n",
    )
    .unwrap();
    let out = check(&file);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("deep.yaml:10: symbols[0].progressive.base_qty"), "{}", text(&out));
    // A symbol the binary does not know offline is said to be unchecked, not passed in silence.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("BTCUSDT", "SOLUSDT")
            .replace("\"1\"", "\"0.1\"")
            .replace("12", "3"),
    )
    .unwrap();
    let out = check(&file);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("SOLUSDT is not one of the built-in instruments") && text(&out).contains("--online"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_lockstep_demo_gives_the_same_results_every_run() {
    let dir = temp_dir("operator-demo-lockstep");
    let table = |out: &str| {
        let run = Command::new(gridbot_bin())
            .args(["demo", "--lockstep", "--days", "0.1", "--out", dir.join(out).to_str().unwrap()])
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", text(&run));
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(stdout.contains("paced to the bot"), "{stdout}");
        stdout
            .lines()
            .filter(|l| l.starts_with("main ") || l.starts_with("range "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let first = table("one");
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(first, table("two"), "same data and options, same results");
}

#[test]
fn a_wall_clock_simulator_answers_in_todays_time() {
    use gridbot_core::{Exchange, Interval, KlineQuery, OrderRequest, PositionIdx, PositionMode, Side, TimeWindow};
    let dir = temp_dir("operator-wall-clock");
    let (sim, url) =
        support::sim_on_btc(&dir, 1, "candles_per_second: 0\nclock: wall\n", &[("key-w", "secret-w", 10000)]);
    assert!(sim.output().contains("clock: wall"), "{}", sim.output());
    let ex = support::client(&url, "key-w", "secret-w");
    let btc = gridbot_core::Symbol::new("BTCUSDT").unwrap();
    let now = ex.server_time().unwrap();
    // The market's latest candle is today's, not the data's 2025 date.
    let candles = ex
        .klines(&KlineQuery {
            symbol: btc.clone(),
            interval: Interval::M1,
            window: TimeWindow { start_ms: now - 3_600_000, end_ms: now + 60_000 },
        })
        .unwrap();
    let last = candles.last().expect("candles of the last hour").open_time_ms;
    assert!((now - last).abs() <= 120_000, "the replay is re-based to now: {last} vs {now}");
    // "Executions since an hour ago" finds a fill made now.
    ex.set_position_mode(&btc, PositionMode::Hedge).unwrap();
    let id = gridbot_core::OrderLinkId::new("wall-1").unwrap();
    ex.place(&OrderRequest::market(btc.clone(), Side::Buy, "0.001".parse().unwrap(), PositionIdx::Long, id)).unwrap();
    let fills = ex.executions(&btc, TimeWindow { start_ms: now - 3_600_000, end_ms: now + 3_600_000 }).unwrap();
    assert_eq!(fills.len(), 1, "{fills:?}");
}
