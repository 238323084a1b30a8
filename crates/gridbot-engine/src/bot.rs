//! `MultiAccountBot`: every account of a bot file, each with its own client, private stream,
//! queue and event worker; one public WebSocket per environment shared by all accounts and
//! fanned out by symbol (ARCHITECTURE §6).
//!
//! Start-up order, per account: client → private stream (events queue up) → `TradingAccount::open`
//! (recovery) → worker thread. The public hubs start once every account is registered.
//! `stop` closes the queues (each worker persists and exits), then stops the streams.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use gridbot_bybit::ws::stream::{
    Lifecycle, PrivateEvent, PrivateSink, PublicEvent, PublicHub, PublicSink, StreamConfig, StreamHandle,
    start_private_with,
};
use gridbot_bybit::{BybitClient, ClientConfig, Credentials, Environment};
use gridbot_core::{Clock, Exchange, Symbol, SystemClock};

use gridbot_strategy::{CoreTape, ReconcileReason, SymbolRecovery, check_symbols};

use crate::account::{AccountError, AccountParts, AccountSummary, OpenOptions, TapeSlot, TradingAccount};
use crate::alerts::{Alerts, Telegram};
use crate::chat::ChatCommands;
use crate::clock::MarketClock;
use crate::config::{AccountConfig, BotConfig, EnvironmentName};
use crate::latency::LatencyLog;
use crate::live::{LiveAccount, LiveBoard};
use crate::log_context;
use crate::queue::{Event, EventQueue, StreamNews};
use crate::webhook::Webhook;

/// Adjusts a client's settings (tests and benches lift rate limits, shorten timeouts).
pub type ClientTweak = Arc<dyn Fn(&mut ClientConfig) + Send + Sync>;
/// Adjusts a stream's settings.
pub type StreamTweak = Arc<dyn Fn(&mut StreamConfig) + Send + Sync>;

/// What recovery did for one account: its id and each symbol's report.
pub type AccountRecovery = (String, Vec<(Symbol, SymbolRecovery)>);

/// How to run the bot.
#[derive(Clone, Default)]
pub struct BotOptions {
    /// Engine time from exchange timestamps for `environment: sim` accounts (the replay's).
    pub market_clock: bool,
    /// Client settings hook.
    pub client: Option<ClientTweak>,
    /// Stream settings hook.
    pub stream: Option<StreamTweak>,
    /// Record every account core's inputs and sends ([`MultiAccountBot::tapes`]).
    pub record_cores: bool,
}

impl std::fmt::Debug for BotOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotOptions")
            .field("market_clock", &self.market_clock)
            .field("record_cores", &self.record_cores)
            .finish_non_exhaustive()
    }
}

/// Why the bot could not start.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// An account failed to open.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A thread or stream could not start.
    #[error("{0}")]
    Start(String),
}

struct Running {
    id: String,
    queue: Arc<EventQueue>,
    worker: JoinHandle<AccountSummary>,
    summary: Arc<Mutex<AccountSummary>>,
    live: LiveAccount,
    private: StreamHandle,
    tape: Option<TapeSlot>,
}

/// The running bot.
pub struct MultiAccountBot {
    accounts: Vec<Running>,
    hubs: Vec<StreamHandle>,
    telegram: Option<Arc<Telegram>>,
    chat: Option<ChatCommands>,
    webhook: Option<Arc<Webhook>>,
    latency: Arc<LatencyLog>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MultiAccountBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiAccountBot").field("accounts", &self.accounts.len()).finish_non_exhaustive()
    }
}

/// Market data of the shared public stream, routed to the queues of the accounts trading each
/// symbol.
struct FanOut {
    routes: HashMap<String, Vec<Arc<EventQueue>>>,
    all: Vec<Arc<EventQueue>>,
    clock: Option<Arc<MarketClock>>,
    /// The funding rate and next settlement last passed on per symbol: tickers repeat them,
    /// the queues get only changes.
    funding: Mutex<HashMap<String, (gridbot_core::Decimal, i64)>>,
}

impl PublicSink for FanOut {
    fn deliver(&self, read_at: Instant, event: &PublicEvent) -> bool {
        match event {
            PublicEvent::BookTop { symbol, bid, ask, ts } => {
                if let Some(c) = &self.clock {
                    c.observe(*ts);
                }
                let (Some(queues), Ok(sym)) = (self.routes.get(symbol), Symbol::new(symbol.clone())) else {
                    return true;
                };
                for q in queues {
                    q.push(Event::Book { symbol: sym.clone(), bid: *bid, ask: *ask, ts_ms: *ts }, read_at);
                }
            }
            PublicEvent::BookReset { symbol } => {
                for q in self.routes.get(symbol).into_iter().flatten() {
                    if let Ok(sym) = Symbol::new(symbol.clone()) {
                        q.push(Event::StreamNews(StreamNews::BookReset(sym)), read_at);
                    }
                }
            }
            PublicEvent::Lifecycle(l) => {
                for q in &self.all {
                    q.push(Event::StreamNews(StreamNews::Public(l.clone())), read_at);
                }
            }
            PublicEvent::Ticker(t) => {
                let key = t.symbol.as_str();
                let seen = (t.funding_rate, t.next_funding_time_ms);
                let changed =
                    self.funding.lock().map(|mut m| m.insert(key.to_owned(), seen) != Some(seen)).unwrap_or(true);
                if changed {
                    for q in self.routes.get(key).into_iter().flatten() {
                        let event = Event::Funding {
                            symbol: t.symbol.clone(),
                            rate: t.funding_rate,
                            next_funding_ms: t.next_funding_time_ms,
                        };
                        q.push(event, read_at);
                    }
                }
            }
            PublicEvent::Trades(_) | PublicEvent::Kline { .. } => {}
        }
        true
    }
}

/// One account's private stream, straight into its queue.
struct AccountSink {
    queue: Arc<EventQueue>,
    clock: Option<Arc<MarketClock>>,
}

impl PrivateSink for AccountSink {
    fn deliver(&mut self, read_at: Instant, event: PrivateEvent) {
        let event = match event {
            PrivateEvent::Executions(e) => {
                if let (Some(c), Some(t)) = (&self.clock, e.iter().map(|x| x.exec_time_ms).max()) {
                    c.observe(t);
                }
                Event::Executions(e)
            }
            PrivateEvent::Orders(o) => Event::Orders(o),
            PrivateEvent::Positions(p) => Event::Positions(p),
            PrivateEvent::Wallets(w) => match w.into_iter().last() {
                Some(w) => Event::Wallet(w),
                None => return,
            },
            PrivateEvent::Authenticated => Event::StreamNews(StreamNews::PrivateAuthenticated),
            PrivateEvent::Lifecycle(Lifecycle::Reconnected) => Event::Reconcile(ReconcileReason::StreamReconnected),
            PrivateEvent::Lifecycle(l) => Event::StreamNews(StreamNews::Private(l)),
        };
        self.queue.push(event, read_at);
    }
}

pub(crate) fn client(account: &AccountConfig, options: &BotOptions) -> Result<BybitClient, BotError> {
    let credentials = Credentials::new(account.api_key.expose(), account.api_secret.expose())
        .map_err(|e| BotError::Start(format!("{}: {e}", account.account_id)))?;
    let mut config = ClientConfig::new(Environment::custom(&account.rest_url), Some(credentials));
    config.recv_window_ms = account.recv_window_ms;
    if let Some(tweak) = &options.client {
        tweak(&mut config);
    }
    Ok(BybitClient::new(config))
}

/// Every symbol of every account checked against its exchange (exists, trades, leverage in
/// range) before any account opens: a configuration error (exit 2) with nothing sent, never
/// the first account's orders left resting behind the second one's failure.
fn check_instruments<'a>(
    accounts: impl Iterator<Item = &'a AccountConfig>,
    options: &BotOptions,
) -> Result<(), BotError> {
    for account in accounts {
        let client = client(account, options)?;
        log_context::with_account(&account.account_id, || check_symbols(&client, &account.symbols))
            .map_err(|e| AccountError::from_open(&account.account_id, e))?;
    }
    Ok(())
}

fn stream_config(url: &str, options: &BotOptions) -> StreamConfig {
    let mut config = StreamConfig::new(url);
    if let Some(tweak) = &options.stream {
        tweak(&mut config);
    }
    config
}

impl MultiAccountBot {
    /// Opens every account (with recovery) and starts trading.
    pub fn start(config: &BotConfig, options: &BotOptions) -> Result<Self, BotError> {
        // Against the simulator, engine time is the replay's: one market clock per public
        // stream, moved by its market data and by each account's fills.
        let mut market_clocks: HashMap<String, Arc<MarketClock>> = HashMap::new();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let telegram = match &config.telegram {
            Some(t) => {
                Some(Arc::new(Telegram::start(t.clone()).map_err(|e| BotError::Start(format!("telegram: {e}")))?))
            }
            None => None,
        };
        let webhook = match &config.webhook {
            Some(w) => Some(Arc::new(Webhook::start(w.clone()).map_err(|e| BotError::Start(format!("webhook: {e}")))?)),
            None => None,
        };
        let latency = Arc::new(LatencyLog::default());
        let mut bot = Self { accounts: Vec::new(), hubs: Vec::new(), telegram, chat: None, webhook, latency, clock };
        check_instruments(config.accounts.iter(), options)?;
        let mut routes: BTreeMap<String, HashMap<String, Vec<Arc<EventQueue>>>> = BTreeMap::new();
        let mut all: BTreeMap<String, Vec<Arc<EventQueue>>> = BTreeMap::new();
        let mut funding_symbols: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for account in &config.accounts {
            let client = client(account, options)?;
            let requests = client.stats();
            let client: Arc<dyn Exchange + Send + Sync> = Arc::new(client);
            let market_clock = (options.market_clock && account.environment == EnvironmentName::Sim)
                .then(|| Arc::clone(market_clocks.entry(account.ws_public_url.clone()).or_default()));
            if let (Some(mc), Some(first)) = (&market_clock, account.symbols.first())
                && let Ok(top) = client.orderbook_top(&first.symbol)
            {
                mc.observe(top.time_ms);
            }
            let clock: Arc<dyn Clock> = match &market_clock {
                Some(c) => Arc::clone(c) as Arc<dyn Clock>,
                None => Arc::new(SystemClock),
            };
            if bot.accounts.is_empty() {
                bot.clock = Arc::clone(&clock);
            }
            let queue = Arc::new(EventQueue::new());
            let credentials = Credentials::new(account.api_key.expose(), account.api_secret.expose())
                .map_err(|e| BotError::Start(format!("{}: {e}", account.account_id)))?;
            let sink = AccountSink { queue: Arc::clone(&queue), clock: market_clock.clone() };
            let private = start_private_with(
                stream_config(&account.ws_private_url, options),
                credentials,
                Arc::new(SystemClock),
                sink,
            )
            .map_err(|e| BotError::Start(format!("{}: private stream: {e}", account.account_id)))?;
            let chat = account.telegram_chat_id.clone().or_else(|| config.telegram.as_ref().map(|t| t.chat_id.clone()));
            let tg = bot.telegram.clone().filter(|_| account.telegram_enabled).zip(chat);
            let tape: Option<TapeSlot> = options.record_cores.then(|| Arc::new(Mutex::new(None)));
            let parts = AccountParts {
                config: account.clone(),
                dir: config.account_dir(&account.account_id),
                exchange: client,
                clock: Arc::clone(&clock),
                queue: Arc::clone(&queue),
                alerts: Alerts::new(&account.account_id, tg).with_webhook(bot.webhook.clone()),
                latency: Arc::clone(&bot.latency),
                tape: tape.clone(),
            };
            let opened =
                log_context::with_account(&account.account_id, || TradingAccount::open(parts, OpenOptions::default()));
            let (trading, _reports) = match opened {
                Ok(x) => x,
                Err(e) => {
                    private.stop();
                    bot.stop();
                    return Err(e.into());
                }
            };
            let summary = trading.summary_handle();
            let mut live = trading.live_handle();
            live.requests = Some(requests);
            let id = account.account_id.clone();
            let worker = std::thread::Builder::new()
                .name(format!("gridbot-{id}"))
                .spawn(move || {
                    log_context::set_account(trading.id());
                    trading.run()
                })
                .map_err(|e| BotError::Start(format!("{id}: worker: {e}")))?;
            for s in &account.symbols {
                if let gridbot_strategy::config::StrategyConfig::Progressive(p) = &s.strategy
                    && p.settings.funding_guard.is_on()
                {
                    funding_symbols
                        .entry(account.ws_public_url.clone())
                        .or_default()
                        .insert(s.symbol.as_str().to_owned());
                }
                routes
                    .entry(account.ws_public_url.clone())
                    .or_default()
                    .entry(s.symbol.as_str().to_owned())
                    .or_default()
                    .push(Arc::clone(&queue));
            }
            all.entry(account.ws_public_url.clone()).or_default().push(Arc::clone(&queue));
            bot.accounts.push(Running { id, queue, worker, summary, live, private, tape });
        }
        for (url, by_symbol) in routes {
            let mut topics: Vec<String> = by_symbol.keys().map(|s| format!("orderbook.1.{s}")).collect();
            // Tickers (funding rate, next settlement) only where a funding guard needs them.
            topics.extend(funding_symbols.remove(&url).into_iter().flatten().map(|s| format!("tickers.{s}")));
            let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
            let mut hub = PublicHub::new(stream_config(&url, options));
            let fan = FanOut {
                routes: by_symbol,
                all: all.remove(&url).unwrap_or_default(),
                clock: market_clocks.get(&url).cloned(),
                funding: Mutex::new(HashMap::new()),
            };
            hub.subscribe_with(&topic_refs, Arc::new(fan));
            let handle =
                hub.start(Arc::new(SystemClock)).map_err(|e| BotError::Start(format!("public stream {url}: {e}")))?;
            tracing::info!(url, symbols = topics.len(), "public stream shared by every account on it");
            bot.hubs.push(handle);
        }
        for a in &bot.accounts {
            tracing::info!(account = %a.id, "trading");
        }
        if let Some(t) = &bot.telegram {
            bot.chat = ChatCommands::start(Arc::new(config.clone()), Arc::clone(t))
                .map_err(|e| BotError::Start(format!("telegram commands: {e}")))?;
            tracing::info!("telegram: /status, /stop and /resume answered in the configured chats");
        }
        Ok(bot)
    }

    /// Runs recovery for the accounts of `config` (all, or `only`) without trading, and
    /// returns each symbol's report; `dry_run` sends nothing.
    pub fn recover(
        config: &BotConfig,
        only: Option<&str>,
        dry_run: bool,
        options: &BotOptions,
    ) -> Result<Vec<AccountRecovery>, BotError> {
        let mut out = Vec::new();
        check_instruments(config.accounts.iter().filter(|a| only.is_none_or(|o| o == a.account_id)), options)?;
        for account in config.accounts.iter().filter(|a| only.is_none_or(|o| o == a.account_id)) {
            let client: Arc<dyn Exchange + Send + Sync> = Arc::new(client(account, options)?);
            let clock: Arc<dyn Clock> = if options.market_clock && account.environment == EnvironmentName::Sim {
                let mc = Arc::new(MarketClock::new());
                if let Some(first) = account.symbols.first()
                    && let Ok(top) = client.orderbook_top(&first.symbol)
                {
                    mc.observe(top.time_ms);
                }
                mc
            } else {
                Arc::new(SystemClock)
            };
            let parts = AccountParts {
                config: account.clone(),
                dir: config.account_dir(&account.account_id),
                exchange: client,
                clock,
                queue: Arc::new(EventQueue::new()),
                alerts: Alerts::new(&account.account_id, None),
                latency: Arc::new(LatencyLog::default()),
                tape: None,
            };
            let (trading, reports) = log_context::with_account(&account.account_id, || {
                TradingAccount::open(parts, OpenOptions { dry_run })
            })?;
            trading.close();
            out.push((account.account_id.clone(), reports));
        }
        Ok(out)
    }

    /// Live counters of every account.
    #[must_use]
    pub fn summaries(&self) -> Vec<AccountSummary> {
        self.accounts.iter().map(|a| a.summary.lock().map(|s| s.clone()).unwrap_or_default()).collect()
    }

    /// What the dashboard reads while the bot runs (prices and counters of every account).
    #[must_use]
    pub fn live(&self) -> LiveBoard {
        LiveBoard::new(self.accounts.iter().map(|a| a.live.clone()).collect())
    }

    /// True while every worker runs.
    #[must_use]
    pub fn healthy(&self) -> bool {
        self.accounts.iter().all(|a| !a.worker.is_finished())
    }

    /// The engine's clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Event-to-order latencies so far, ns.
    #[must_use]
    pub fn latency(&self) -> &Arc<LatencyLog> {
        &self.latency
    }

    /// The recordings of every account's core so far (with `record_cores`).
    #[must_use]
    pub fn tapes(&self) -> Vec<(String, Option<CoreTape>)> {
        self.accounts
            .iter()
            .map(|a| (a.id.clone(), a.tape.as_ref().and_then(|t| t.lock().ok().and_then(|t| t.clone()))))
            .collect()
    }

    /// Events waiting in every queue.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.accounts.iter().map(|a| a.queue.len()).sum()
    }

    /// Stops placing, persists every account, stops the streams; returns the summaries.
    pub fn stop(mut self) -> Vec<AccountSummary> {
        for a in &self.accounts {
            a.queue.close();
        }
        let mut out = Vec::new();
        for a in std::mem::take(&mut self.accounts) {
            match a.worker.join() {
                Ok(summary) => out.push(summary),
                Err(_) => tracing::error!(account = %a.id, "the worker panicked"),
            }
            a.private.stop();
        }
        for h in std::mem::take(&mut self.hubs) {
            h.stop();
        }
        if let Some(c) = self.chat.take() {
            c.stop();
        }
        if let Some(w) = self.webhook.take().and_then(Arc::into_inner) {
            w.stop();
        }
        if let Some(t) = self.telegram.take().and_then(Arc::into_inner) {
            t.stop();
        }
        out
    }
}
