//! Prometheus text exposition (format 0.0.4) of the accounts' status.
//!
//! Every family is written whole (HELP, TYPE, then all its samples), as the format requires.
//! Money and sizes are the exact decimals of the journal and snapshot, printed as they are
//! (`1234.5678`), which Prometheus parses as floats. A leg's `gridbot_leg_level` is absent
//! while the leg is flat, so `gridbot_leg_level > 3` alerts only on legs that are in a cycle.

use std::fmt::Write as _;

use gridbot_engine::operator::AccountStatus;

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(&'static str, String, String)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Self { name, kind, help, samples: Vec::new() }
    }

    fn add(&mut self, labels: &[(&str, &str)], value: impl ToString) {
        self.add_named("", labels, value);
    }

    /// A sample of the family's `name` + `suffix` (a histogram's `_bucket`, `_sum`, `_count`).
    fn add_named(&mut self, suffix: &'static str, labels: &[(&str, &str)], value: impl ToString) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        self.samples.push((suffix, labels.join(","), value.to_string()));
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (suffix, labels, value) in &self.samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{}{suffix} {value}", self.name);
            } else {
                let _ = writeln!(out, "{}{suffix}{{{labels}}} {value}", self.name);
            }
        }
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// The metrics of `accounts`.
#[must_use]
pub fn render(accounts: &[AccountStatus]) -> String {
    let mut up = Family::new("gridbot_up", "gauge", "1 while the web server answers.");
    up.add(&[], 1);
    let mut running = Family::new("gridbot_account_running", "gauge", "1 while a bot holds the account's lock.");
    let mut stop = Family::new(
        "gridbot_account_emergency_stop",
        "gauge",
        "1 while the account's emergency-stop flag exists (nothing is sent).",
    );
    let mut executions = Family::new("gridbot_executions_total", "counter", "Executions in the account's journal.");
    let mut realised = Family::new(
        "gridbot_realised_pnl_usdt",
        "gauge",
        "Realised PnL net of fees and funding since the journal began, USDT.",
    );
    let mut today =
        Family::new("gridbot_realised_pnl_today_usdt", "gauge", "Realised PnL net of fees and funding, this UTC day.");
    let mut equity = Family::new("gridbot_equity_usdt", "gauge", "Total equity at the last wallet snapshot, USDT.");
    let mut equity_time = Family::new(
        "gridbot_equity_timestamp_seconds",
        "gauge",
        "When the last wallet snapshot was taken (exchange time, Unix seconds).",
    );
    let mut open_orders =
        Family::new("gridbot_open_orders", "gauge", "Orders the bot believes are working, per symbol.");
    let mut level =
        Family::new("gridbot_leg_level", "gauge", "The grid level a leg reached in its cycle (absent while flat).");
    let mut size = Family::new("gridbot_leg_size", "gauge", "A leg's open size, in the symbol's base coin.");
    let mut cycle = Family::new("gridbot_leg_cycle", "gauge", "A leg's cycle number.");
    let mut stopped = Family::new(
        "gridbot_classic_stopped",
        "gauge",
        "1 when a classic grid's stop-loss stopped it (resume restarts it).",
    );
    let mut im_rate = Family::new(
        "gridbot_im_rate",
        "gauge",
        "Account initial-margin rate at the last wallet snapshot (0.25 = 25%).",
    );
    let mut kill_switch = Family::new(
        "gridbot_kill_switch_tripped",
        "gauge",
        "1 while the daily drawdown kill switch holds the account (resume re-arms it).",
    );
    let mut risk_active = Family::new(
        "gridbot_risk_active",
        "gauge",
        "1 for each risk condition in force at the last decision, by level (absent otherwise).",
    );
    for a in accounts {
        let account = a.account.as_str();
        kill_switch.add(&[("account", account)], flag(a.kill_switch.is_some()));
        if let Some(w) = &a.wallet {
            im_rate.add(&[("account", account)], w.im_rate);
        }
        for r in &a.active_risk {
            let level =
                serde_json::to_value(r.level).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            let leg = r.leg.map_or("", |l| if l == gridbot_core::Leg::Long { "long" } else { "short" });
            risk_active.add(&[("account", account), ("symbol", r.symbol.as_str()), ("level", &level), ("leg", leg)], 1);
        }
        running.add(&[("account", account)], flag(a.running));
        stop.add(&[("account", account)], flag(a.emergency_stop));
        executions.add(&[("account", account)], a.executions);
        if let Some(pnl) = &a.realised_pnl {
            realised.add(&[("account", account)], pnl.total);
            today.add(&[("account", account)], pnl.today);
        }
        if let Some(e) = &a.equity {
            let ms = e.at_ms;
            equity.add(&[("account", account)], e.usdt);
            equity_time.add(&[("account", account)], format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000)));
        }
        for s in &a.symbols {
            let symbol = s.symbol.as_str();
            open_orders.add(&[("account", account), ("symbol", symbol)], s.open_orders);
            if s.generation.is_some() {
                stopped.add(&[("account", account), ("symbol", symbol)], flag(s.stopped.is_some()));
            }
            for (leg, state) in [("long", &s.long), ("short", &s.short)] {
                let labels = [("account", account), ("symbol", symbol), ("leg", leg)];
                if let Some(l) = state.level {
                    level.add(&labels, l);
                }
                size.add(&labels, state.size);
                cycle.add(&labels, state.cycle);
            }
        }
    }
    let mut out = String::new();
    for family in [
        up,
        running,
        stop,
        kill_switch,
        executions,
        realised,
        today,
        equity,
        equity_time,
        im_rate,
        risk_active,
        open_orders,
        level,
        size,
        cycle,
        stopped,
    ] {
        family.write(&mut out);
    }
    for family in process_families() {
        family.write(&mut out);
    }
    out
}

/// [`render`], plus what only the running bot's workers know: per account the events processed,
/// orders placed, fills, reconciliations, and its REST requests — counts by endpoint class and
/// outcome, and a latency histogram per class.
#[must_use]
pub fn render_with_live(accounts: &[AccountStatus], live: &[gridbot_engine::live::LiveReading]) -> String {
    let mut out = render(accounts);
    if live.is_empty() {
        return out;
    }
    let mut events = Family::new("gridbot_events_processed_total", "counter", "Events the account's worker processed.");
    let mut placed = Family::new("gridbot_orders_placed_total", "counter", "Orders the account's strategies placed.");
    let mut fills = Family::new("gridbot_fills_total", "counter", "Fills of the account's orders the worker applied.");
    let mut reconciliations =
        Family::new("gridbot_reconciliations_total", "counter", "Reconciliations with the exchange after start.");
    let mut requests =
        Family::new("gridbot_rest_requests_total", "counter", "REST request attempts by endpoint class and outcome.");
    let mut latency = Family::new(
        "gridbot_rest_request_duration_seconds",
        "histogram",
        "REST request attempts by endpoint class: time from send to the whole reply read.",
    );
    for r in live {
        let account = r.account.as_str();
        events.add(&[("account", account)], r.summary.events);
        placed.add(&[("account", account)], r.summary.strategy.orders_placed);
        fills.add(&[("account", account)], r.summary.strategy.fills);
        reconciliations.add(&[("account", account)], r.summary.reconciliations);
        let Some(classes) = &r.requests else { continue };
        for (class, c) in ["orders", "queries", "public"].iter().zip(classes) {
            requests.add(&[("account", account), ("class", class), ("outcome", "ok")], c.ok);
            requests.add(&[("account", account), ("class", class), ("outcome", "error")], c.failed);
            for (bound, n) in gridbot_engine::live::LATENCY_BUCKETS_S.iter().zip(&c.buckets) {
                let le = bound.to_string();
                latency.add_named("_bucket", &[("account", account), ("class", class), ("le", &le)], n);
            }
            latency.add_named("_bucket", &[("account", account), ("class", class), ("le", "+Inf")], c.count);
            #[allow(clippy::cast_precision_loss)]
            let sum = c.sum_us as f64 / 1e6;
            latency.add_named("_sum", &[("account", account), ("class", class)], format!("{sum:.6}"));
            latency.add_named("_count", &[("account", account), ("class", class)], c.count);
        }
    }
    for family in [events, placed, fills, reconciliations, requests, latency] {
        family.write(&mut out);
    }
    out
}

/// The process figures Prometheus users expect (`process_*`, as the official clients name them),
/// read from `/proc/self` on Linux; elsewhere none.
fn process_families() -> Vec<Family> {
    let Some(p) = crate::process::read() else { return Vec::new() };
    let mut out = Vec::new();
    let mut one = |name, kind, help, value: String| {
        let mut f = Family::new(name, kind, help);
        f.add(&[], value);
        out.push(f);
    };
    one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.resident_bytes.to_string());
    one(
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time spent in seconds.",
        format!("{:.2}", p.cpu_seconds),
    );
    one("process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds.to_string());
    one("process_threads", "gauge", "Number of OS threads in the process.", p.threads.to_string());
    one(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch in seconds.",
        format!("{:.2}", p.start_time_seconds),
    );
    out
}

#[cfg(test)]
mod tests {
    use gridbot_engine::operator::{LegStatus, SymbolStatus};

    use super::*;

    fn leg(level: Option<u32>, size: &str) -> LegStatus {
        LegStatus { cycle: 3, level, size: size.parse().unwrap(), avg_entry: None }
    }

    #[test]
    fn families_are_whole_and_values_exact() {
        let status = AccountStatus {
            account: "main".into(),
            running: true,
            emergency_stop: false,
            symbols: vec![SymbolStatus {
                symbol: "BTCUSDT".into(),
                strategy: "progressive",
                generation: None,
                stopped: None,
                long: leg(Some(2), "0.006"),
                short: leg(None, "0"),
                open_orders: 4,
                exchange_open_orders: Some(4),
            }],
            executions: 17,
            realised_pnl: Some(gridbot_engine::operator::RealisedPnl {
                total: "12.3456789".parse().unwrap(),
                today: "-0.5".parse().unwrap(),
                day: "2023-11-14".into(),
            }),
            equity: Some(gridbot_engine::operator::EquityReading {
                at_ms: 1_700_000_000_123,
                at: "2023-11-14T22:13:20.123Z".into(),
                usdt: "100012.25".parse().unwrap(),
            }),
            recent_events: vec![],
            kill_switch: None,
            active_risk: vec![],
            wallet: Some(gridbot_engine::operator::WalletStatus {
                at_ms: 1_700_000_000_123,
                at: "2023-11-14T22:13:20.123Z".into(),
                equity: "100012.25".parse().unwrap(),
                wallet_balance: "100000".parse().unwrap(),
                available: "90000".parse().unwrap(),
                im_rate: "0.0123".parse().unwrap(),
            }),
            last_fill: None,
        };
        let mut other = status.clone();
        other.account = "we\"ird\\acct".into();
        other.running = false;
        other.emergency_stop = true;
        other.symbols[0].generation = Some(2);
        other.symbols[0].stopped = Some("stop-loss".into());
        let text = render(&[status, other]);
        for line in [
            "gridbot_up 1",
            "gridbot_account_running{account=\"main\"} 1",
            "gridbot_account_emergency_stop{account=\"we\\\"ird\\\\acct\"} 1",
            "gridbot_executions_total{account=\"main\"} 17",
            "gridbot_realised_pnl_usdt{account=\"main\"} 12.3456789",
            "gridbot_realised_pnl_today_usdt{account=\"main\"} -0.5",
            "gridbot_equity_usdt{account=\"main\"} 100012.25",
            "gridbot_equity_timestamp_seconds{account=\"main\"} 1700000000.123",
            "gridbot_open_orders{account=\"main\",symbol=\"BTCUSDT\"} 4",
            "gridbot_leg_level{account=\"main\",symbol=\"BTCUSDT\",leg=\"long\"} 2",
            "gridbot_leg_size{account=\"main\",symbol=\"BTCUSDT\",leg=\"long\"} 0.006",
            "gridbot_leg_cycle{account=\"main\",symbol=\"BTCUSDT\",leg=\"short\"} 3",
            "gridbot_classic_stopped{account=\"we\\\"ird\\\\acct\",symbol=\"BTCUSDT\"} 1",
            "gridbot_im_rate{account=\"main\"} 0.0123",
            "gridbot_kill_switch_tripped{account=\"main\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        assert!(!text.lines().any(|l| l.starts_with("gridbot_leg_level") && l.contains("short")), "{text}");
        // Each family appears as one contiguous block introduced by its HELP and TYPE.
        let mut seen = std::collections::HashSet::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap().to_owned();
                assert!(seen.insert(current.clone()), "{current} twice");
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(name, current, "sample outside its family: {line}");
            }
        }
    }

    #[test]
    fn live_counters_and_rest_latency_histograms() {
        let stats = gridbot_engine::live::RequestStats::default();
        let orders = gridbot_bybit_class("orders");
        stats.record(orders, std::time::Duration::from_millis(3), true);
        stats.record(orders, std::time::Duration::from_millis(40), false);
        let mut summary = gridbot_engine::AccountSummary { account: "main".into(), events: 12, ..Default::default() };
        summary.strategy.orders_placed = 5;
        let live = gridbot_engine::live::LiveReading {
            account: "main".into(),
            summary,
            prices: vec![],
            requests: Some(stats.read()),
        };
        let text = render_with_live(&[], &[live]);
        for line in [
            "# TYPE gridbot_rest_request_duration_seconds histogram",
            "gridbot_events_processed_total{account=\"main\"} 12",
            "gridbot_orders_placed_total{account=\"main\"} 5",
            "gridbot_rest_requests_total{account=\"main\",class=\"orders\",outcome=\"ok\"} 1",
            "gridbot_rest_requests_total{account=\"main\",class=\"orders\",outcome=\"error\"} 1",
            "gridbot_rest_request_duration_seconds_bucket{account=\"main\",class=\"orders\",le=\"0.005\"} 1",
            "gridbot_rest_request_duration_seconds_bucket{account=\"main\",class=\"orders\",le=\"0.05\"} 2",
            "gridbot_rest_request_duration_seconds_bucket{account=\"main\",class=\"orders\",le=\"+Inf\"} 2",
            "gridbot_rest_request_duration_seconds_sum{account=\"main\",class=\"orders\"} 0.043000",
            "gridbot_rest_request_duration_seconds_count{account=\"main\",class=\"orders\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
    }

    fn gridbot_bybit_class(name: &str) -> gridbot_bybit::rest::limits::EndpointClass {
        match name {
            "orders" => gridbot_bybit::rest::limits::EndpointClass::Orders,
            _ => gridbot_bybit::rest::limits::EndpointClass::Queries,
        }
    }
}
