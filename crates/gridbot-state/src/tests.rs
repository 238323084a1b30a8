//! Snapshot and journal unit tests.

use std::path::PathBuf;

use gridbot_core::reference::bybit_btcusdt;
use gridbot_core::{
    CancelType, Decimal, ExecType, Execution, Order, OrderStatus, OrderType, PositionIdx, Qty, RejectReason, Side,
    Symbol, TimeInForce,
};
use gridbot_grid::{GridPlan, ProgressiveParams};

use crate::journal;
use crate::*;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gridbot-state-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn snapshot() -> AccountSnapshot {
    let plan = GridPlan::from_atr_pct_ema(
        &ProgressiveParams::with_base_qty("0.001".parse().unwrap()),
        0.02,
        &bybit_btcusdt(),
        5,
    )
    .unwrap();
    let mut s = AccountSnapshot::new("acc1", 1_000);
    s.symbols.insert(
        btc(),
        SymbolState {
            plan: Some(plan),
            long: LegState {
                cycle: 3,
                level: Some(2),
                anchor: Some("30000".parse().unwrap()),
                avg_entry: Some("29500.5".parse().unwrap()),
                size: "0.007".parse().unwrap(),
                ..LegState::default()
            },
            short: LegState { cycle: 1, ..LegState::default() },
            risk: Default::default(),
            orders: vec![TrackedOrder {
                link_id: "g2acc1-L3-T2-1".into(),
                order_id: Some("1000".into()),
                leg: gridbot_core::Leg::Long,
                role: gridbot_core::OrderRole::TakeProfit,
                level: 2,
                side: Side::Sell,
                price: Some("30100".parse().unwrap()),
                qty: "0.007".parse().unwrap(),
            }],
            classic: None,
            classic_trigger: None,
        },
    );
    s.symbols.insert(Symbol::new("ETHUSDT").unwrap(), classic_symbol());
    s.last_execution_id = Some("e-42".into());
    s.last_execution_ms = Some(999);
    s
}

#[test]
fn snapshot_round_trips_and_is_missing_before_the_first_save() {
    let d = dir("rt");
    let store = SnapshotStore::new(&d, "acc1");
    assert_eq!(store.load(0).unwrap(), Loaded::Missing);
    store.save(&snapshot()).unwrap();
    assert_eq!(store.load(0).unwrap(), Loaded::Snapshot { snapshot: snapshot(), migrated_from: None });
}

#[test]
fn a_version_1_snapshot_is_migrated() {
    let d = dir("v1");
    let store = SnapshotStore::new(&d, "acc1");
    let mut v: serde_json::Value = serde_json::to_value(snapshot()).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.insert("schema_version".into(), 1.into());
    obj.remove("account_risk");
    obj.remove("last_execution_id");
    obj.remove("last_execution_ms");
    obj["symbols"]["BTCUSDT"].as_object_mut().unwrap().remove("risk");
    obj["symbols"]["BTCUSDT"].as_object_mut().unwrap().remove("classic");
    obj["symbols"].as_object_mut().unwrap().remove("ETHUSDT");
    std::fs::write(store.path(), serde_json::to_vec(&v).unwrap()).unwrap();
    match store.load(0).unwrap() {
        Loaded::Snapshot { snapshot: s, migrated_from } => {
            assert_eq!(migrated_from, Some(1));
            assert_eq!(s.schema_version, SCHEMA_VERSION);
            assert_eq!(s.last_execution_id, None);
            assert_eq!(s.symbols[&btc()].long, snapshot().symbols[&btc()].long);
        }
        other => panic!("{other:?}"),
    }
}

/// A classic grid on ETHUSDT, long leg holding one level's inventory.
fn classic_symbol() -> SymbolState {
    use gridbot_grid::{Bias, ClassicPlan, Profile};
    let eth = gridbot_core::reference::bybit_ethusdt();
    let centre: gridbot_core::Price = "2000".parse().unwrap();
    let plan = ClassicPlan::build(&Profile::Normal.params(centre, "0.1".parse().unwrap(), Bias::Neutral), centre, &eth)
        .unwrap();
    let slots = plan
        .levels()
        .iter()
        .filter_map(|l| {
            let side = l.initial_side?;
            let leg = if side == Side::Buy { gridbot_core::Leg::Long } else { gridbot_core::Leg::Short };
            Some(ClassicSlot { index: l.index, side, leg, qty: l.qty })
        })
        .collect();
    SymbolState {
        plan: None,
        long: LegState { cycle: 1, size: "0.1".parse().unwrap(), ..LegState::default() },
        short: LegState { cycle: 1, ..LegState::default() },
        risk: Default::default(),
        orders: vec![],
        classic: Some(ClassicState {
            generation: 2,
            plan,
            slots,
            built_at_ms: 500,
            realised_pnl: "1.25".parse().unwrap(),
            fees: "0.04".parse().unwrap(),
            stopped: None,
            rebuilding: Some(Rebuilding {
                reason: "mid 101 left the range".into(),
                stops_the_grid: false,
                keeps_inventory: false,
            }),
        }),
        classic_trigger: None,
    }
}

#[test]
fn a_version_2_snapshot_without_classic_grids_is_migrated() {
    let d = dir("v2");
    let store = SnapshotStore::new(&d, "acc1");
    let mut v: serde_json::Value = serde_json::to_value(snapshot()).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.insert("schema_version".into(), 2.into());
    obj["symbols"]["BTCUSDT"].as_object_mut().unwrap().remove("classic");
    obj["symbols"].as_object_mut().unwrap().remove("ETHUSDT");
    std::fs::write(store.path(), serde_json::to_vec(&v).unwrap()).unwrap();
    match store.load(0).unwrap() {
        Loaded::Snapshot { snapshot: s, migrated_from } => {
            assert_eq!(migrated_from, Some(2));
            assert_eq!(s.symbols[&btc()], snapshot().symbols[&btc()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupt_truncated_invalid_and_future_files_are_moved_aside() {
    let d = dir("corrupt");
    let store = SnapshotStore::new(&d, "acc1");
    let good = serde_json::to_string(&snapshot()).unwrap();
    let mut invalid: serde_json::Value = serde_json::from_str(&good).unwrap();
    invalid["symbols"]["BTCUSDT"]["long"]["anchor"] = serde_json::Value::Null;
    let mut future: serde_json::Value = serde_json::from_str(&good).unwrap();
    future["schema_version"] = 99.into();
    let cases = [
        ("truncated", good[..good.len() / 2].to_owned(), "EOF"),
        ("garbage", "\u{0}\u{1}not json".to_owned(), "expected"),
        ("invalid", invalid.to_string(), "without an anchor"),
        ("future", future.to_string(), "newer than this build"),
        ("typo", good.replace("\"cycle\"", "\"cylce\""), "unknown field"),
    ];
    for (i, (name, text, needle)) in cases.into_iter().enumerate() {
        std::fs::write(store.path(), &text).unwrap();
        let now = 10_000 + i64::try_from(i).unwrap();
        match store.load(now).unwrap() {
            Loaded::Corrupt { moved_to, reason } => {
                assert!(reason.contains(needle), "{name}: {reason}");
                assert_eq!(std::fs::read_to_string(&moved_to).unwrap(), text, "{name}: kept, not deleted");
                assert!(moved_to.to_string_lossy().ends_with(&format!(".corrupt-{now}")));
                assert!(!store.path().exists());
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

fn execution(id: &str, kind: ExecType, fee: &str, ms: i64) -> Execution {
    Execution {
        exec_id: id.into(),
        order_id: "o1".into(),
        order_link_id: "l1".into(),
        symbol: btc(),
        side: Side::Buy,
        exec_type: kind,
        order_type: OrderType::Limit,
        exec_price: "30000".parse().unwrap(),
        exec_qty: "0.01".parse().unwrap(),
        exec_value: "300".parse().unwrap(),
        exec_fee: fee.parse().unwrap(),
        fee_rate: "0.0002".parse().unwrap(),
        is_maker: true,
        closed_size: Qty::ZERO,
        exec_time_ms: ms,
    }
}

#[test]
fn journal_is_idempotent_on_exec_id_and_reports_by_utc_day() {
    let d = dir("journal");
    let j = Journal::open(&d.join("acc1.sqlite")).unwrap();
    assert_eq!(j.schema_version().unwrap(), 4);
    let day = 20_000 * 86_400_000;
    assert!(j.record_execution(&execution("e1", ExecType::Trade, "0.06", day + 1_000), None).unwrap());
    assert!(
        !j.record_execution(&execution("e1", ExecType::Trade, "0.06", day + 1_000), None).unwrap(),
        "a replayed fill is ignored"
    );
    j.record_execution(&execution("e2", ExecType::Trade, "0.06", day + 2_000), None).unwrap();
    assert!(j.lacks_pnl("e2").unwrap());
    assert!(
        j.record_execution(&execution("e2", ExecType::Trade, "0.06", day + 2_000), Some("12.5".parse().unwrap()))
            .unwrap(),
        "a fill journaled without its PnL takes it when it comes"
    );
    assert!(!j.lacks_pnl("e2").unwrap());
    assert!(
        !j.record_execution(&execution("e2", ExecType::Trade, "0.06", day + 2_000), Some("99".parse().unwrap()))
            .unwrap(),
        "never overwritten once known"
    );
    j.record_execution(&execution("f1", ExecType::Funding, "0.03", day + 86_400_000 + 5), None).unwrap();
    assert!(!j.lacks_pnl("f1").unwrap(), "funding has no PnL to wait for");
    assert_eq!(j.execution_count().unwrap(), 3);
    let trades = j.trades_between(day, day + 10_000).unwrap();
    assert_eq!(trades.iter().map(|t| t.exec_id.as_str()).collect::<Vec<_>>(), ["e1", "e2"]);
    assert_eq!(trades[1].realised_pnl, Some("12.5".parse().unwrap()));
    let by_day = j.realised_pnl_by_day().unwrap();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    assert_eq!(by_day, vec![(day, d("12.38")), (day + 86_400_000, d("-0.03"))]);
    assert_eq!(j.fees_and_funding(0, i64::MAX).unwrap(), (d("0.12"), d("0.03")));
    assert_eq!(j.last_execution().unwrap(), Some(("f1".into(), day + 86_400_005)));
}

#[test]
fn running_pnl_totals_equal_a_full_reread_and_pages_filter() {
    let d = dir("journal-incremental");
    let j = Journal::open(&d.join("acc1.sqlite")).unwrap();
    let day = 20_000 * 86_400_000;
    let mut totals: std::collections::BTreeMap<i64, Decimal> = std::collections::BTreeMap::new();
    let mut cursor = 0;
    let mut count = 0;
    for n in 0..30_i64 {
        let kind = if n % 10 == 9 { ExecType::Funding } else { ExecType::Trade };
        let pnl = (n % 3 == 0).then(|| Decimal::new(n * 7 - 50, 2));
        j.record_execution(&execution(&format!("e{n}"), kind.clone(), "0.01", day + n * 3_600_000), pnl).unwrap();
        // a replayed fill changes nothing
        j.record_execution(&execution(&format!("e{n}"), kind, "0.01", day + n * 3_600_000), pnl).unwrap();
        if n % 7 == 0 {
            let read = j.pnl_since(cursor).unwrap();
            for (d, v) in read.by_day {
                *totals.entry(d).or_default() += v;
            }
            count += read.count;
            cursor = read.last_row;
        }
    }
    let read = j.pnl_since(cursor).unwrap();
    for (d, v) in read.by_day {
        *totals.entry(d).or_default() += v;
    }
    count += read.count;
    assert_eq!(count, 30);
    assert_eq!(totals.into_iter().collect::<Vec<_>>(), j.realised_pnl_by_day().unwrap());
    assert_eq!(j.pnl_since(read.last_row).unwrap().count, 0);

    let all = TradeFilter::default();
    let (page, total) = j.trades_page(&all, 0, 10).unwrap();
    assert_eq!(total, 30);
    assert_eq!(page.iter().map(|f| f.exec_id.as_str()).collect::<Vec<_>>()[..3], ["e29", "e28", "e27"], "newest first");
    let (page, _) = j.trades_page(&all, 25, 10).unwrap();
    assert_eq!(page.len(), 5);
    let second_day = TradeFilter { day_start_ms: Some(day + 86_400_000), ..all.clone() };
    let (page, total) = j.trades_page(&second_day, 0, 100).unwrap();
    assert_eq!(total, 6, "hours 24..29");
    assert!(page.iter().all(|f| f.exec_ms >= day + 86_400_000));
    let sells = TradeFilter { side: Some("Sell".into()), ..all.clone() };
    assert_eq!(j.trades_page(&sells, 0, 10).unwrap().1, 0);
    let other = TradeFilter { symbol: Some("ETHUSDT".into()), ..all };
    assert_eq!(j.trades_page(&other, 0, 10).unwrap().1, 0);
}

#[test]
fn journal_orders_equity_grid_and_events() {
    let d = dir("journal2");
    let j = Journal::open(&d.join("acc1.sqlite")).unwrap();
    let mut o = Order {
        order_id: "1".into(),
        order_link_id: "l1".into(),
        symbol: btc(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Some("30000".parse().unwrap()),
        qty: "0.01".parse().unwrap(),
        time_in_force: TimeInForce::PostOnly,
        position_idx: PositionIdx::Long,
        status: OrderStatus::New,
        cancel_type: CancelType::Unknown,
        reject_reason: RejectReason::NoError,
        avg_price: None,
        leaves_qty: "0.01".parse().unwrap(),
        cum_exec_qty: Qty::ZERO,
        cum_exec_value: Decimal::ZERO,
        cum_exec_fee: Decimal::ZERO,
        reduce_only: false,
        created_time_ms: 1,
        updated_time_ms: 1,
    };
    j.record_order(&o).unwrap();
    o.status = OrderStatus::Filled;
    o.updated_time_ms = 2;
    j.record_order(&o).unwrap();
    let status: String =
        j.conn_for_tests().query_row("SELECT status FROM orders WHERE order_id = '1'", [], |r| r.get(0)).unwrap();
    assert_eq!(status, "Filled");
    assert_eq!(j.open_order_count("BTCUSDT").unwrap(), 0);
    // A refusal keeps Bybit's reason with the order.
    let mut refused = o.clone();
    refused.order_id = "2".into();
    refused.order_link_id = "l2".into();
    refused.status = OrderStatus::Cancelled;
    refused.reject_reason = RejectReason::PostOnlyWillTakeLiquidity;
    refused.updated_time_ms = 3;
    j.record_order(&refused).unwrap();
    let mut open = o.clone();
    open.order_id = "3".into();
    open.status = OrderStatus::New;
    j.record_order(&open).unwrap();
    assert_eq!(j.open_order_count("BTCUSDT").unwrap(), 1);
    let refusals = j.refusals(10).unwrap();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(
        (refusals[0].order_link_id.as_str(), refusals[0].reject_reason.as_str()),
        ("l2", "EC_PostOnlyWillTakeLiquidity")
    );
    let wallet = gridbot_core::Wallet {
        total_equity: "1000".parse().unwrap(),
        total_wallet_balance: "1000".parse().unwrap(),
        total_margin_balance: "1000".parse().unwrap(),
        total_available_balance: "900".parse().unwrap(),
        total_perp_upl: Decimal::ZERO,
        total_initial_margin: "100".parse().unwrap(),
        total_maintenance_margin: "5".parse().unwrap(),
        account_im_rate: "0.1".parse().unwrap(),
        account_mm_rate: "0.005".parse().unwrap(),
        coins: vec![],
    };
    assert_eq!(j.latest_equity().unwrap(), None);
    j.record_equity(&wallet, 10).unwrap();
    let mut richer = wallet.clone();
    richer.total_equity = "1000.5".parse().unwrap();
    j.record_equity(&richer, 20).unwrap();
    assert_eq!(j.latest_equity().unwrap(), Some((20, "1000.5".parse().unwrap())));
    assert_eq!(j.equity_curve(0, 15).unwrap(), vec![(10, "1000".parse().unwrap())]);
    j.record_grid(5, "BTCUSDT", "plan", r#"{"base_step":"0.02"}"#).unwrap();
    assert_eq!(j.first_order_ms().unwrap(), Some(1), "the oldest order journaled above");
    j.record_grid(4, "ETHUSDT", "recentre", r#"{"generation":2}"#).unwrap();
    j.record_grid(9, "BTCUSDT", "recentre", r#"{"generation":1}"#).unwrap();
    let btc = j.grid_history("BTCUSDT").unwrap();
    assert_eq!(btc.iter().map(|r| (r.0, r.2.as_str())).collect::<Vec<_>>(), vec![(5, "plan"), (9, "recentre")]);
    j.record_event(6, "risk", Some("BTCUSDT"), "L1 IM-rate block").unwrap();
    j.record_event(7, "operator", None, "stop").unwrap();
    let events = j.recent_events(10).unwrap();
    assert_eq!(events[0], (7, "operator".into(), None, "stop".into()));
}

#[test]
fn journal_migrates_an_old_database_and_refuses_a_newer_one() {
    let d = dir("migrate");
    let path = d.join("old.sqlite");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(journal::MIGRATIONS_FOR_TESTS[0]).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute(
            "INSERT INTO executions VALUES ('old', 'o', 'l', 'BTCUSDT', 'Buy', 'Trade', '1', '1', '1', '0.5', 1, '0', 5)",
            [],
        )
        .unwrap();
    }
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 4);
    assert_eq!(j.trades_between(0, 10).unwrap()[0].realised_pnl, None, "old rows keep their data, new column empty");
    drop(j);
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    assert!(matches!(Journal::open(&path), Err(JournalError::TooNew { found: 99, .. })));
}
