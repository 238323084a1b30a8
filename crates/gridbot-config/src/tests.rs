//! The example files validate; every bad file names its problem, its line and never a secret.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;

fn env_with(key: &str, value: &str) -> HashMap<String, String> {
    let mut e = env();
    e.insert(key.to_owned(), value.to_owned());
    e
}

fn env() -> HashMap<String, String> {
    [
        ("BYBIT_API_KEY_1", "key-one-value"),
        ("BYBIT_API_SECRET_1", "secret-one-value"),
        ("BYBIT_API_KEY_2", "key-two-value"),
        ("BYBIT_API_SECRET_2", "secret-two-value"),
        ("TELEGRAM_BOT_TOKEN", "123456:telegram-token-value"),
        ("TELEGRAM_CHAT_ID", "-1001"),
        ("TELEGRAM_CHAT_MAIN", "-1002"),
        ("GRIDBOT_WEB_TOKEN", "web-token-value-0123456789"),
        ("SHORT_TOKEN", "short"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn repo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gridbot-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_example_files_validate() {
    let bot = load_bot(&repo_config().join("bot.yaml"), &env()).unwrap();
    assert_eq!(bot.accounts.len(), 2);
    assert!(bot.data_dir.ends_with("var"));
    let main = &bot.accounts[0];
    assert_eq!((main.account_id.as_str(), main.tag.as_str()), ("main", "main"));
    assert_eq!(main.rest_url, "https://api-testnet.bybit.com");
    assert_eq!(main.api_secret.expose(), "secret-one-value");
    assert_eq!(main.telegram_chat_id.as_deref(), Some("-1002"));
    let StrategyConfig::Progressive(p) = &main.symbols[0].strategy else { panic!() };
    assert_eq!((p.params.max_levels, p.params.ema_span), (6, 14));
    let range = &bot.accounts[1];
    assert_eq!(range.tag, "range");
    let StrategyConfig::Classic(c) = &range.symbols[0].strategy else { panic!() };
    assert!(matches!(c.settings.layout, gridbot_strategy::LayoutSpec::AroundMarket { levels_per_side: 6, .. }));
    assert_eq!(c.settings.recentre.pump_dump.unwrap().window_ms, 300_000);
    let t = bot.telegram.unwrap();
    assert_eq!((t.chat_id.as_str(), t.max_per_minute), ("-1001", 20));
    let web = bot.web.unwrap();
    assert_eq!(web.bind, WebConfig::DEFAULT_BIND);
    assert_eq!(web.token.unwrap().expose(), "web-token-value-0123456789");
    assert_eq!(file_kind(&repo_config().join("accounts/classic.yaml")).unwrap(), FileKind::Account);
}

#[test]
fn the_paper_trading_files_validate_without_any_variable() {
    let bot = load_bot(&repo_config().join("paper/bot.yaml"), &HashMap::<String, String>::new()).unwrap();
    assert_eq!(bot.accounts[0].rest_url, "http://127.0.0.1:8080");
    assert_eq!(bot.accounts[0].symbols.len(), 2);
}

#[test]
fn secrets_do_not_print() {
    let bot = load_bot(&repo_config().join("bot.yaml"), &env()).unwrap();
    let shown = format!("{bot:?}");
    for (_, value) in env() {
        if value.len() > 6 {
            assert!(!shown.contains(&value), "Debug shows {value}");
        }
    }
}

const GOOD: &str = "\
account_id: acc1
environment: sim
base_url: http://127.0.0.1:9
api_key: ${BYBIT_API_KEY_1}
api_secret: ${BYBIT_API_SECRET_1}
symbols:
  - symbol: BTCUSDT
    strategy: progressive
    leverage: 5
    progressive:
      base_qty: \"0.001\"
      max_levels: 6
";

/// (name, edit of GOOD, what the message must mention, the line it must name)
fn bad_accounts() -> Vec<(&'static str, String, &'static str, Option<usize>)> {
    let r = |from: &str, to: &str| GOOD.replace(from, to);
    vec![
        ("missing field", r("account_id: acc1\n", ""), "missing field `account_id`", Some(1)),
        ("wrong type", r("leverage: 5", "leverage: five"), "leverage", Some(9)),
        (
            "unknown strategy",
            r("strategy: progressive", "strategy: martingale"),
            "unknown variant `martingale`",
            Some(8),
        ),
        ("unset variable", r("${BYBIT_API_SECRET_1}", "${NOT_SET_ANYWHERE}"), "NOT_SET_ANYWHERE is not set", Some(5)),
        ("negative levels", r("max_levels: 6", "max_levels: -3"), "max_levels", Some(12)),
        ("too many levels", r("max_levels: 6", "max_levels: 64"), "expected 1 to 30 levels", Some(12)),
        ("leverage too high", r("leverage: 5", "leverage: 500"), "expected leverage from 1 to 100", Some(9)),
        ("leverage zero", r("leverage: 5", "leverage: 0"), "expected leverage from 1 to 100", Some(9)),
        ("unknown field", r("leverage: 5", "leverage: 5\n    levrage: 5"), "unknown field `levrage`", Some(10)),
        ("zero base qty", r("base_qty: \"0.001\"", "base_qty: \"0\""), "positive quantity", Some(11)),
        ("off-step base qty", r("base_qty: \"0.001\"", "base_qty: \"0.0015\""), "qty step", Some(11)),
        ("bad symbol", r("symbol: BTCUSDT", "symbol: btc usdt"), "expected a Bybit linear symbol", Some(7)),
        (
            "no symbols",
            r(
                "symbols:\n  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n",
                "symbols: []\n",
            ),
            "at least one symbol",
            Some(6),
        ),
        (
            "missing block",
            r("    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n", ""),
            "no `progressive:` block",
            Some(8),
        ),
        ("bad environment", r("environment: sim", "environment: prod"), "unknown variant `prod`", Some(2)),
        ("sim without url", r("base_url: http://127.0.0.1:9\n", ""), "needs `base_url:`", Some(2)),
        ("url scheme", r("http://127.0.0.1:9", "ftp://127.0.0.1:9"), "http:// or https://", Some(3)),
        (
            "literal secret on mainnet",
            r("environment: sim\nbase_url: http://127.0.0.1:9\n", "environment: mainnet\n")
                .replace("${BYBIT_API_SECRET_1}", "plain-text-secret"),
            "secrets come from the environment",
            Some(4),
        ),
        ("bad tag", r("account_id: acc1", "account_id: account-with-long-name"), "add `tag:`", Some(1)),
        ("risk out of range", format!("{GOOD}risk:\n  trailing_pullback: 1.5\n"), "risk.trailing_pullback", Some(14)),
        ("unknown risk field", format!("{GOOD}risk:\n  im_rate: 0.9\n"), "unknown field `im_rate`", Some(14)),
        (
            "take profit out of range",
            r("max_levels: 6", "max_levels: 6\n      take_profit: 0.9"),
            "take_profit",
            Some(13),
        ),
        (
            "duplicate symbol",
            format!(
                "{GOOD}  - symbol: BTCUSDT\n    strategy: progressive\n    leverage: 2\n    progressive:\n      base_qty: \"0.001\"\n"
            ),
            "listed twice",
            Some(13),
        ),
        ("malformed variable", r("${BYBIT_API_KEY_1}", "${BYBIT API}"), "bad variable reference", Some(4)),
        ("yaml syntax", r("leverage: 5", "leverage: [5"), "leverage", Some(9)),
        (
            "classic without layout",
            r(
                "strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n",
                "strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.001\"\n",
            ),
            "set a profile",
            Some(10),
        ),
        (
            "classic bounds inverted",
            r(
                "strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n",
                "strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.001\"\n      lower: 50000\n      upper: 40000\n      levels: 10\n",
            ),
            "expected upper above lower",
            Some(13),
        ),
        (
            "bollinger with bounds",
            r(
                "strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n",
                "strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.001\"\n      lower: 40000\n      bollinger: {period: 20, k: 2, interval: 1h}\n      levels: 9\n",
            ),
            "a Bollinger range sets the bounds",
            Some(12),
        ),
        (
            "bollinger period",
            r(
                "strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n",
                "strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.001\"\n      bollinger:\n        period: 1\n        k: 2\n        interval: 1w\n      levels: 9\n",
            ),
            "expected 2 to 1000 samples",
            Some(13),
        ),
        (
            "trigger price",
            r(
                "strategy: progressive\n    leverage: 5\n    progressive:\n      base_qty: \"0.001\"\n      max_levels: 6\n",
                "strategy: classic\n    leverage: 5\n    classic:\n      qty_per_level: \"0.001\"\n      spacing: 0.003\n      levels_per_side: 4\n      trigger_price: 0\n",
            ),
            "expected a positive price",
            Some(14),
        ),
    ]
}

#[test]
fn every_bad_account_file_names_its_problem_and_line() {
    let env = env();
    for (name, text, mention, line) in bad_accounts() {
        let path = temp(&format!("{}.yaml", name.replace(' ', "-")), &text);
        let err = match load_account(&path, &env) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => e,
        };
        let shown = err.to_string();
        assert!(shown.contains(mention), "{name}: {shown:?} does not mention {mention:?}");
        assert!(shown.starts_with(&path.display().to_string()), "{name}: {shown}");
        if let Some(line) = line {
            assert!(err.0.iter().any(|e| e.line == Some(line)), "{name}: expected line {line} in {:?}", err.0);
        }
        for value in env.values() {
            assert!(!shown.contains(value.as_str()), "{name}: message shows a secret: {shown}");
        }
    }
    assert!(bad_accounts().len() >= 20);
}

#[test]
fn a_secret_in_a_wrong_field_is_not_quoted() {
    let text = GOOD
        .replace("leverage: 5", "leverage: 5\n    extra: 1")
        .replace("account_id: acc1", "account_id: \"${BYBIT_API_SECRET_1}\"");
    let path = temp("quoted-secret.yaml", &text);
    let err = load_account(&path, &env()).unwrap_err().to_string();
    assert!(!err.contains("secret-one-value"), "{err}");
}

#[test]
fn a_bot_file_checks_its_accounts_and_their_uniqueness() {
    let account = temp("a.yaml", GOOD);
    let bot = temp("bot.yaml", &format!("accounts:\n  - {}\n  - {}\n", account.display(), account.display()));
    let err = load_bot(&bot, &env()).unwrap_err().to_string();
    assert!(err.contains("used by two accounts"), "{err}");
    let missing = temp("bot2.yaml", "accounts:\n  - does-not-exist.yaml\n");
    let err = load_bot(&missing, &env()).unwrap_err().to_string();
    assert!(
        err.contains("bot2.yaml:2: accounts[0]: cannot read account file") && err.contains("does-not-exist.yaml"),
        "{err}"
    );
    let token = temp(
        "bot3.yaml",
        &format!(
            "accounts:\n  - {}\nnotifications:\n  telegram:\n    bot_token: plain\n    chat_id: 1\n",
            account.display()
        ),
    );
    let err = load_bot(&token, &env()).unwrap_err().to_string();
    assert!(err.contains("bot3.yaml:5: notifications.telegram.bot_token"), "{err}");
    let one = load_any(&account, &env()).unwrap();
    assert_eq!(one.accounts.len(), 1);
}

#[test]
fn a_webhook_url_comes_from_the_environment_and_its_format_is_checked() {
    let account = temp("hook-account.yaml", GOOD);
    let bot = |name: &str, hook: &str| {
        temp(name, &format!("accounts:\n  - {}\nnotifications:\n  webhook:\n{hook}", account.display()))
    };
    let plain = load_bot(&bot("hook1.yaml", "    url: https://hooks.slack.com/services/T/B/x\n"), &env()).unwrap_err();
    assert!(
        plain.to_string().contains("hook1.yaml:5: notifications.webhook.url: a webhook URL carries its token"),
        "{plain}"
    );
    let bad =
        load_bot(&bot("hook2.yaml", "    url: ${HOOK}\n    format: teams\n"), &env_with("HOOK", "https://h.example/x"))
            .unwrap_err()
            .to_string();
    assert!(bad.contains("hook2.yaml:6: notifications.webhook.format: expected slack or discord"), "{bad}");
    let ok = load_bot(
        &bot("hook3.yaml", "    url: ${HOOK}\n    format: discord\n"),
        &env_with("HOOK", "https://h.example/x"),
    )
    .unwrap();
    let hook = ok.webhook.clone().unwrap();
    assert_eq!(
        (hook.url.expose(), hook.format, hook.max_per_minute),
        ("https://h.example/x", WebhookFormat::Discord, 20)
    );
    assert!(!format!("{ok:?}").contains("h.example"), "Debug output hides the webhook URL");
}

#[test]
fn the_web_section_is_loopback_by_default_and_never_open_beyond_it() {
    let account = temp("web-account.yaml", GOOD);
    let bot = |name: &str, web: &str| temp(name, &format!("accounts:\n  - {}\n{web}", account.display()));
    let none = load_bot(&bot("web0.yaml", ""), &env()).unwrap();
    assert_eq!(none.web, None, "no section, no server");
    let default = load_bot(&bot("web1.yaml", "web: {}\n"), &env()).unwrap().web.unwrap();
    assert_eq!((default.bind.to_string().as_str(), default.token.is_none()), ("127.0.0.1:8090", true));
    let port0 = load_bot(&bot("web2.yaml", "web:\n  bind: \"[::1]:0\"\n"), &env()).unwrap().web.unwrap();
    assert!(port0.bind.ip().is_loopback());
    let open = "web:\n  bind: 0.0.0.0:8090\n  token: ${GRIDBOT_WEB_TOKEN}\n";
    assert!(!load_bot(&bot("web3.yaml", open), &env()).unwrap().web.unwrap().bind.ip().is_loopback());
    let bad = [
        ("web4.yaml", "web:\n  bind: 0.0.0.0:8090\n", ":4: web.bind", "reachable from other machines"),
        ("web5.yaml", "web:\n  bind: localhost\n", ":4: web.bind", "expected an address like 127.0.0.1:8080"),
        ("web6.yaml", "web:\n  token: plain-text-token-0123456789\n", ":4: web.token", "from the environment"),
        ("web7.yaml", "web:\n  token: ${SHORT_TOKEN}\n", ":4: web.token", "at least 16 characters"),
        ("web8.yaml", "web:\n  token: ${NOT_SET_ANYWHERE}\n", ":4: web.token", "NOT_SET_ANYWHERE is not set"),
        ("web9.yaml", "web:\n  port: 8090\n", "", "unknown field `port`"),
    ];
    for (name, web, at, message) in bad {
        let err = load_bot(&bot(name, web), &env()).unwrap_err().to_string();
        assert!(err.contains(&format!("{name}{at}")) && err.contains(message), "{name}: {err}");
        assert!(!err.contains("short") && !err.contains("plain-text-token"), "{name} quotes its token: {err}");
    }
}

#[test]
fn operator_commands_load_the_bot_without_any_secret() {
    // The shipped two-account bot: Bybit keys, a Telegram token and chats, a web token — all
    // `${VAR}`s, none set here. Trading refuses it; `status`/`stop`/`resume` read it.
    let path = repo_config().join("bot.yaml");
    let none = HashMap::<String, String>::new();
    let err = load_bot(&path, &none).unwrap_err().to_string();
    assert!(err.contains("BYBIT_API_KEY_1") && err.contains("GRIDBOT_WEB_TOKEN"), "{err}");
    let bot = load_for_operator(&path).unwrap();
    assert_eq!(bot.data_dir, load_bot(&path, &env()).unwrap().data_dir);
    let ids: Vec<&str> = bot.accounts.iter().map(|a| a.account_id.as_str()).collect();
    assert_eq!(ids, ["main", "range"]);
    assert!(bot.telegram.is_none() && bot.web.is_none());
    assert!(bot.accounts.iter().all(|a| a.api_key.expose().is_empty() && a.telegram_chat_id.is_none()));
    // Everything that is not a secret is still checked.
    let account = temp("op-bad.yaml", &GOOD.replace("max_levels: 6", "max_levels: 0"));
    let err = load_for_operator(&account).unwrap_err().to_string();
    assert!(err.contains("max_levels"), "{err}");
}

#[test]
fn the_whole_risk_block_is_checked_at_once_including_thresholds_that_never_fire() {
    let text = GOOD.to_owned() + "risk:\n  im_rate_block: 5\n  trailing_pullback: 1.5\n  max_exposure: -1\n";
    let account = temp("risk-all.yaml", &text);
    let err = load_account(&account, &env()).unwrap_err().to_string();
    for field in ["risk.im_rate_block", "risk.trailing_pullback", "risk.max_exposure"] {
        assert!(err.contains(field), "{field} reported: {err}");
    }
    assert!(err.contains("(0, 1]"), "{err}");
}

#[test]
fn syntax_errors_say_so_and_bracket_bombs_are_refused_at_once() {
    let broken = temp("syntax.yaml", "account_id: acc1\nsymbols: [\n  - symbol: BTCUSDT\n");
    let err = load_account(&broken, &env()).unwrap_err().to_string();
    assert!(err.contains("YAML syntax error"), "{err}");
    let typo = temp("typo.yaml", &GOOD.replace("leverage: 5", "levrage: 5"));
    let err = load_account(&typo, &env()).unwrap_err().to_string();
    assert!(!err.contains("YAML syntax error") && err.contains("unknown field `levrage`"), "{err}");
    let bomb = temp("bomb.yaml", &format!("account_id: {}", "[".repeat(200_000)));
    let err = load_account(&bomb, &env()).unwrap_err().to_string();
    assert!(err.contains("nested deeper than 32"), "{err}");
}
