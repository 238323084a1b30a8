//! Steering from Telegram: `/status`, `/stop [ACCOUNT] [reason]`, `/resume [ACCOUNT]` and
//! `/help`, answered only in the configured chats, and a daily summary per account.
//!
//! Decisions:
//! - **Only configured chats.** A chat steers the accounts whose alerts go to it (an account's
//!   own `telegram.chat_id`, else the bot's). A message from any other chat is ignored and
//!   logged with its chat id — never answered, so a stranger learns nothing.
//! - **The same mechanism as the CLI.** `/stop` and `/resume` write the operator files of
//!   [`crate::operator`] (the running workers pick them up within a second and journal them as
//!   operator events); `/status` reads the same files as `gridbot status`.
//! - **No stale commands.** Messages sent while the bot was down are skipped at start (a
//!   `/resume` from last night must not lift this morning's stop); the count is logged.
//! - Long polling (`getUpdates`, 2 s) on a thread of its own; replies go through the alert
//!   notifier's queue and rate limit. The token is only ever in the URL, which is never logged.
//! - **Daily summary**: when the UTC day turns, each account's chat gets the day that ended —
//!   realised PnL, equity, fills, risk events — from the journal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use gridbot_core::time::{format_iso8601, utc_day_start};
use gridbot_core::{Clock, Decimal, SystemClock};

use crate::alerts::Telegram;
use crate::config::BotConfig;
use crate::operator::{self, AccountStatus, StatusReader};

/// How long one `getUpdates` waits for a message (also the longest a stop waits).
const POLL_SECONDS: u64 = 2;

/// The command thread; stops when dropped.
pub struct ChatCommands {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ChatCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatCommands").finish_non_exhaustive()
    }
}

/// A command as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Status,
    Stop {
        account: Option<String>,
        reason: String,
    },
    Resume {
        account: Option<String>,
    },
    Help,
    /// A command that cannot be carried out as typed; the reply says why.
    Refused(String),
}

/// Parses `/cmd[@bot] args…`; `None` for anything else. `accounts` are the ids this chat
/// steers (a first word naming one of them is the target).
fn parse(text: &str, accounts: &[String]) -> Option<Command> {
    let text = text.trim();
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let name = head.strip_prefix('/')?.split('@').next()?.to_ascii_lowercase();
    let rest = rest.trim();
    let (first, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let target = accounts.iter().find(|a| a.as_str() == first).cloned();
    let remainder = if target.is_some() { after.trim() } else { rest };
    match name.as_str() {
        "status" => Some(Command::Status),
        "stop" => Some(Command::Stop {
            account: target,
            reason: if remainder.is_empty() { "no reason given".into() } else { remainder.chars().take(200).collect() },
        }),
        // A resume lifts a stop: an unknown name must not fall back to every account.
        "resume" if target.is_none() && !rest.is_empty() => {
            Some(Command::Refused(format!("/resume: no account {first:?} here (accounts: {})", accounts.join(", "))))
        }
        "resume" => Some(Command::Resume { account: target }),
        "help" | "start" => Some(Command::Help),
        _ => None,
    }
}

/// The chat an account's alerts go to.
fn chat_of(config: &BotConfig, account: &crate::config::AccountConfig) -> Option<String> {
    account.telegram_chat_id.clone().or_else(|| config.telegram.as_ref().map(|t| t.chat_id.clone()))
}

/// The accounts a chat steers.
fn accounts_of(config: &BotConfig, chat: &str) -> Vec<String> {
    config
        .accounts
        .iter()
        .filter(|a| chat_of(config, a).as_deref() == Some(chat))
        .map(|a| a.account_id.clone())
        .collect()
}

fn money(d: Decimal) -> String {
    let rounded = d.round_dp(2);
    if rounded > Decimal::ZERO { format!("+{rounded}") } else { rounded.to_string() }
}

/// One account in a few lines, for `/status`.
fn status_text(s: &AccountStatus) -> String {
    let mut out = format!(
        "{} — {}{}{}",
        s.account,
        if s.running { "running" } else { "NOT running" },
        if s.emergency_stop { ", EMERGENCY STOP" } else { "" },
        if s.kill_switch.is_some() { ", KILL SWITCH" } else { "" }
    );
    if let Some(w) = &s.wallet {
        out.push_str(&format!(
            "\nequity {} USDT, IM rate {}%",
            w.equity.round_dp(2),
            (w.im_rate * Decimal::ONE_HUNDRED).round_dp(2)
        ));
    }
    if let Some(p) = &s.realised_pnl {
        out.push_str(&format!(
            "\nPnL {} today ({}), {} all time; {} fills",
            money(p.today),
            p.day,
            money(p.total),
            s.executions
        ));
    }
    for sym in &s.symbols {
        out.push_str(&format!("\n• {}", sym.line()));
    }
    if !s.active_risk.is_empty() {
        let risk: Vec<String> = s.active_risk.iter().map(|r| format!("{} {}", r.level, r.symbol)).collect();
        out.push_str(&format!("\nrisk in force: {}", risk.join(", ")));
    }
    out
}

/// What the command did, as the reply.
fn act(config: &BotConfig, reader: &mut StatusReader, chat: &str, command: &Command) -> String {
    let mine = accounts_of(config, chat);
    let targets = |account: &Option<String>| account.clone().map_or_else(|| mine.clone(), |a| vec![a]);
    match command {
        Command::Help => "/status — every account of this chat\n/stop [ACCOUNT] [reason] — emergency stop (all of this chat's accounts without ACCOUNT)\n/resume [ACCOUNT] — lift it\naccounts here: "
            .to_owned()
            + &mine.join(", "),
        Command::Refused(why) => why.clone(),
        Command::Status => {
            let texts: Vec<String> = mine.iter().map(|a| status_text(&reader.account(config, a))).collect();
            if texts.is_empty() { "no account reports to this chat".into() } else { texts.join("\n\n") }
        }
        Command::Stop { account, reason } => targets(account)
            .iter()
            .map(|a| match operator::stop(config, a, &format!("Telegram /stop from chat {chat}: {reason}")) {
                Ok(_) => format!("🛑 {a}: emergency stop ON — nothing more is sent until /resume"),
                Err(e) => format!("{a}: {e}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Command::Resume { account } => targets(account)
            .iter()
            .map(|a| match operator::resume(config, a) {
                Ok(true) => format!("▶ {a}: emergency stop lifted; the bot resumes on its next tick"),
                Ok(false) => format!("{a}: no emergency stop was set; kill switch re-armed"),
                Err(e) => format!("{a}: {e}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The day that ended for one account: realised PnL, equity, fills, risk events.
fn daily_summary(config: &BotConfig, reader: &mut StatusReader, account: &str, day_start: i64) -> String {
    let day = format_iso8601(day_start).chars().take(10).collect::<String>();
    let status = reader.account(config, account);
    let Some(j) = reader.journal(config, account) else { return format!("📅 {account} {day}: no journal yet") };
    let pnl: Decimal =
        j.realised_pnl_by_day().unwrap_or_default().iter().filter(|(d, _)| *d == day_start).map(|(_, v)| *v).sum();
    let filter = gridbot_state::TradeFilter { day_start_ms: Some(day_start), ..Default::default() };
    let fills = j.trades_page(&filter, 0, 1).map(|(_, n)| n).unwrap_or(0);
    let risk = j
        .recent_events(1_000)
        .unwrap_or_default()
        .iter()
        .filter(|(at, kind, _, _)| kind == "risk" && utc_day_start(*at) == day_start)
        .count();
    let equity = status.wallet.map_or_else(|| "–".into(), |w| format!("{} USDT", w.equity.round_dp(2)));
    format!("📅 {account} {day}: realised PnL {} USDT, {fills} fills, {risk} risk events; equity {equity}", money(pnl))
}

struct Poller {
    config: Arc<BotConfig>,
    telegram: Arc<Telegram>,
    agent: ureq::Agent,
    url: String,
    offset: i64,
    reader: StatusReader,
    day: i64,
}

impl Poller {
    /// `getUpdates` from `offset`: the updates' `(update_id, chat id, text)`.
    fn updates(&mut self, timeout: u64) -> Option<Vec<(i64, String, String)>> {
        let url = format!("{}/getUpdates?offset={}&timeout={timeout}", self.url, self.offset);
        let mut response = match self.agent.get(&url).call() {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(target: "gridbot::telegram", kind = %crate::alerts::error_kind(&e), "telegram: getUpdates failed");
                return None;
            }
        };
        if response.status().as_u16() != 200 {
            tracing::warn!(target: "gridbot::telegram", status = response.status().as_u16(), "telegram: getUpdates refused");
            return None;
        }
        let body = response.body_mut().read_to_string().ok()?;
        let value: serde_json::Value = serde_json::from_str(&body).ok()?;
        let list = value.get("result")?.as_array()?;
        Some(
            list.iter()
                .filter_map(|u| {
                    let id = u.get("update_id")?.as_i64()?;
                    let message = u.get("message").or_else(|| u.get("channel_post"));
                    let chat = message.and_then(|m| m.pointer("/chat/id")).map(|c| match c {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    let text = message.and_then(|m| m.get("text")).and_then(serde_json::Value::as_str);
                    Some((id, chat.unwrap_or_default(), text.unwrap_or_default().to_owned()))
                })
                .collect(),
        )
    }

    fn skip_backlog(&mut self) {
        let mut skipped = 0;
        while let Some(list) = self.updates(0) {
            if list.is_empty() {
                break;
            }
            skipped += list.len();
            self.offset = list.iter().map(|(id, _, _)| id + 1).max().unwrap_or(self.offset);
        }
        if skipped > 0 {
            tracing::info!(target: "gridbot::telegram", skipped, "telegram: skipped messages sent before the start");
        }
    }

    fn handle(&mut self, chat: &str, text: &str) {
        let mine = accounts_of(&self.config, chat);
        if mine.is_empty() {
            tracing::info!(target: "gridbot::telegram", chat, "telegram: ignored a message from a chat that is not configured");
            return;
        }
        let Some(command) = parse(text, &mine) else { return };
        tracing::warn!(target: "gridbot::telegram", chat, ?command, "telegram command");
        let reply = act(&self.config, &mut self.reader, chat, &command);
        self.telegram.send(chat, reply);
    }

    fn maybe_summarise(&mut self) {
        let today = utc_day_start(SystemClock.now_ms());
        if today <= self.day {
            return;
        }
        let ended = self.day;
        self.day = today;
        let config = Arc::clone(&self.config);
        for account in config.accounts.iter().filter(|a| a.telegram_enabled) {
            if let Some(chat) = chat_of(&config, account) {
                let text = daily_summary(&config, &mut self.reader, &account.account_id, ended);
                self.telegram.send(&chat, text);
            }
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        self.skip_backlog();
        while !stop.load(Ordering::Relaxed) {
            self.maybe_summarise();
            let Some(list) = self.updates(POLL_SECONDS) else {
                std::thread::sleep(Duration::from_secs(POLL_SECONDS));
                continue;
            };
            for (id, chat, text) in list {
                self.offset = self.offset.max(id + 1);
                self.handle(&chat, &text);
            }
        }
    }
}

impl ChatCommands {
    /// Starts answering the configured chats (nothing without a `telegram:` section).
    pub fn start(config: Arc<BotConfig>, telegram: Arc<Telegram>) -> std::io::Result<Option<Self>> {
        let Some(t) = config.telegram.clone() else { return Ok(None) };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(POLL_SECONDS + 10)))
            .build()
            .into();
        let url = format!("{}/bot{}", t.base_url, t.bot_token.expose());
        let day = utc_day_start(SystemClock.now_ms());
        let poller = Poller { config, telegram, agent, url, offset: 0, reader: StatusReader::new(), day };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread =
            std::thread::Builder::new().name("gridbot-telegram-commands".into()).spawn(move || poller.run(&flag))?;
        Ok(Some(Self { stop, thread: Some(thread) }))
    }

    /// Stops polling and waits for the thread (at most one poll).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ChatCommands {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    type Sent = Arc<Mutex<Vec<(String, String)>>>;

    /// A Bot API on loopback: `getUpdates` hands out `batches` one per call (the first is the
    /// backlog), `sendMessage` is recorded.
    fn fake_telegram(batches: Vec<serde_json::Value>) -> (String, Sent) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let sent: Sent = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&sent);
        std::thread::spawn(move || {
            let mut batches = batches.into_iter();
            while let Ok(Some(mut request)) = server.recv_timeout(Duration::from_secs(20)) {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let reply = if request.url().contains("/getUpdates") {
                    let batch = batches.next().unwrap_or_else(|| serde_json::json!([]));
                    serde_json::json!({"ok": true, "result": batch}).to_string()
                } else {
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let chat = v["chat_id"].as_str().unwrap_or_default().to_owned();
                    record.lock().unwrap().push((chat, v["text"].as_str().unwrap_or_default().to_owned()));
                    r#"{"ok":true}"#.to_owned()
                };
                let _ = request.respond(tiny_http::Response::from_string(reply));
            }
        });
        (url, sent)
    }

    fn message(id: i64, chat: i64, text: &str) -> serde_json::Value {
        serde_json::json!({"update_id": id, "message": {"message_id": id, "chat": {"id": chat}, "text": text}})
    }

    #[test]
    fn configured_chats_steer_their_accounts_and_strangers_are_ignored() {
        let dir = std::env::temp_dir().join(format!("gridbot-chat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (url, sent) = fake_telegram(vec![
            serde_json::json!([message(1, -100, "/resume main")]), // sent while down: skipped
            serde_json::json!([]),
            serde_json::json!([
                message(2, -100, "/stop main CPI in five"),
                message(3, -999, "/stop"),
                message(4, -200, "/status"),
                message(5, -200, "/resume main"),
            ]),
        ]);
        let account = |id: &str, chat: &str| {
            format!(
                "account_id: {id}\nenvironment: sim\nbase_url: http://127.0.0.1:9\napi_key: k\napi_secret: s\n{chat}symbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive: {{base_qty: \"0.002\"}}\n"
            )
        };
        std::fs::write(dir.join("main.yaml"), account("main", "")).unwrap();
        std::fs::write(dir.join("other.yaml"), account("other", "notifications: {telegram: {chat_id: \"-200\"}}\n"))
            .unwrap();
        std::fs::write(
            dir.join("bot.yaml"),
            format!(
                "data_dir: var\naccounts: [main.yaml, other.yaml]\nnotifications:\n  telegram: {{bot_token: \"${{TG_TOKEN}}\", chat_id: -100, base_url: \"{url}\"}}\n"
            ),
        )
        .unwrap();
        let config = Arc::new(
            crate::config::load_bot(
                &dir.join("bot.yaml"),
                &HashMap::from([("TG_TOKEN".to_owned(), "42:tok".to_owned())]),
            )
            .unwrap(),
        );
        let telegram = Arc::new(Telegram::start(config.telegram.clone().unwrap()).unwrap());
        let chat = ChatCommands::start(Arc::clone(&config), Arc::clone(&telegram)).unwrap().unwrap();
        let flag = config.account_dir("main").join(crate::account::files::EMERGENCY_STOP);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while sent.lock().unwrap().len() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        chat.stop();
        let sent = sent.lock().unwrap().clone();
        assert!(flag.exists(), "/stop from the account's chat set the flag: {sent:?}");
        assert!(std::fs::read_to_string(&flag).unwrap().contains("CPI in five"));
        assert!(!config.account_dir("other").join(crate::account::files::EMERGENCY_STOP).exists());
        assert!(
            !config.account_dir("main").join(crate::account::files::RESUME).exists(),
            "the backlog's /resume was skipped"
        );
        assert!(sent.iter().all(|(c, _)| c != "-999"), "a stranger gets no answer: {sent:?}");
        assert!(sent.iter().any(|(c, t)| c == "-100" && t.contains("main: emergency stop ON")), "{sent:?}");
        assert!(sent.iter().any(|(c, t)| c == "-200" && t.starts_with("other — NOT running")), "{sent:?}");
        assert!(
            sent.iter().any(|(c, t)| c == "-200" && t.contains("no account \"main\" here")),
            "a chat cannot resume another chat's account: {sent:?}"
        );
        assert!(sent.iter().all(|(_, t)| !t.contains("42:tok")), "the token is never in a message");

        // The daily summary of a day: its realised PnL net of fees, fills and risk events.
        let day = utc_day_start(1_750_000_000_000);
        let journal =
            gridbot_state::Journal::open(&config.account_dir("main").join(crate::account::files::JOURNAL)).unwrap();
        let fill = gridbot_core::Execution {
            exec_id: "e1".into(),
            order_id: "o1".into(),
            order_link_id: "l1".into(),
            symbol: gridbot_core::Symbol::new("BTCUSDT").unwrap(),
            side: gridbot_core::Side::Sell,
            exec_type: gridbot_core::ExecType::Trade,
            order_type: gridbot_core::OrderType::Limit,
            exec_price: "60000".parse().unwrap(),
            exec_qty: "0.002".parse().unwrap(),
            exec_value: "120".parse().unwrap(),
            exec_fee: "0.02".parse().unwrap(),
            fee_rate: "0.0002".parse().unwrap(),
            is_maker: true,
            closed_size: "0.002".parse().unwrap(),
            exec_time_ms: day + 3_600_000,
        };
        journal.record_execution(&fill, Some("2.52".parse().unwrap())).unwrap();
        journal.record_event(day + 7_200_000, "risk", Some("BTCUSDT"), "L9 level-up budget").unwrap();
        journal.record_event(day - 1, "risk", Some("BTCUSDT"), "the day before").unwrap();
        let text = daily_summary(&config, &mut StatusReader::new(), "main", day);
        assert!(text.contains("realised PnL +2.50 USDT, 1 fills, 1 risk events"), "{text}");
    }

    #[test]
    fn commands_parse_with_an_optional_account_and_reason() {
        let accounts = vec!["main".to_owned(), "range".to_owned()];
        assert_eq!(parse("/status", &accounts), Some(Command::Status));
        assert_eq!(parse("/status@gridbot_bot", &accounts), Some(Command::Status));
        assert_eq!(
            parse("/stop main CPI in 5 minutes", &accounts),
            Some(Command::Stop { account: Some("main".into()), reason: "CPI in 5 minutes".into() })
        );
        assert_eq!(
            parse("/stop news spike", &accounts),
            Some(Command::Stop { account: None, reason: "news spike".into() })
        );
        assert_eq!(parse("/stop", &accounts), Some(Command::Stop { account: None, reason: "no reason given".into() }));
        assert_eq!(parse("/resume range", &accounts), Some(Command::Resume { account: Some("range".into()) }));
        assert_eq!(parse("/resume", &accounts), Some(Command::Resume { account: None }));
        assert!(
            matches!(parse("/resume other", &accounts), Some(Command::Refused(_))),
            "never every account by mistake"
        );
        assert_eq!(parse("hello", &accounts), None);
        assert_eq!(parse("/buy 1 btc", &accounts), None);
    }
}
