//! One parse test per WebSocket fixture in `test_data/`.

use gridbot_core::{ExecType, OrderStatus, Side};

use super::book::{BookUpdate, OrderBook};
use super::frames::{Frame, UpdateKind, parse_frame};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/", $name))
    };
}

#[test]
fn orderbook_snapshot_and_delta_build_a_book() {
    let mut book = OrderBook::default();
    let Frame::Book(snap) = parse_frame(fixture!("ws_orderbook_snapshot.json")).unwrap() else { panic!() };
    assert_eq!((snap.depth, snap.kind, snap.update_id), (50, UpdateKind::Snapshot, 18_521_288));
    assert_eq!(book.apply(&snap), BookUpdate::Reset);
    let Frame::Book(delta) = parse_frame(fixture!("ws_orderbook_delta.json")).unwrap() else { panic!() };
    assert_eq!(book.apply(&delta), BookUpdate::Applied);
    assert_eq!(book.best_bid().unwrap().price.to_string(), "16493");
    assert_eq!(book.best_ask().unwrap().qty.to_string(), "0.008");
}

#[test]
fn public_trade() {
    let Frame::Trades(t) = parse_frame(fixture!("ws_public_trade.json")).unwrap() else { panic!() };
    assert_eq!(
        (t[0].taker_side, t[0].price.to_string(), t[0].time_ms),
        (Side::Buy, "16578.5".to_owned(), 1_672_304_486_865)
    );
}

#[test]
fn tickers_snapshot_merged_with_a_delta() {
    let Frame::Ticker(snap) = parse_frame(fixture!("ws_tickers_snapshot.json")).unwrap() else { panic!() };
    let Frame::Ticker(delta) = parse_frame(fixture!("ws_tickers_delta.json")).unwrap() else { panic!() };
    assert_eq!(delta.kind, UpdateKind::Delta);
    let mut state = snap.fields;
    state.merge(delta.fields);
    let t = crate::Fields::new("tickers.BTCUSDT").ticker(&state.to_wire(), delta.ts).unwrap();
    assert_eq!(t.last_price.to_string(), "17217.5");
    assert_eq!(t.mark_price.to_string(), "17217.33", "unchanged fields keep the snapshot's value");
    assert_eq!(t.bid.unwrap().qty.to_string(), "10.1");
}

#[test]
fn kline() {
    let Frame::Klines(k) = parse_frame(fixture!("ws_kline.json")).unwrap() else { panic!() };
    assert_eq!(k[0].0.open_time_ms, 1_672_324_800_000);
    assert!(!k[0].1);
}

#[test]
fn private_topics() {
    let Frame::Orders(o) = parse_frame(fixture!("ws_order.json")).unwrap() else { panic!() };
    assert_eq!(o[0].status, OrderStatus::New);
    let Frame::Executions(e) = parse_frame(fixture!("ws_execution.json")).unwrap() else { panic!() };
    assert_eq!(e[0].exec_type, ExecType::Trade);
    let Frame::Positions(p) = parse_frame(fixture!("ws_position.json")).unwrap() else { panic!() };
    assert_eq!(p[0].avg_price.unwrap().to_string(), "29990.1", "entryPrice is the average price");
    let Frame::Wallets(w) = parse_frame(fixture!("ws_wallet.json")).unwrap() else { panic!() };
    assert_eq!(w[0].total_equity.to_string(), "10000.05");
}

#[test]
fn op_replies_and_pongs() {
    assert!(matches!(
        parse_frame(fixture!("ws_subscribe_reply.json")).unwrap(),
        Frame::OpReply { ref op, success: true, ref req_id, .. } if op == "subscribe" && req_id.as_deref() == Some("10001")
    ));
    assert!(matches!(parse_frame(fixture!("ws_auth_reply.json")).unwrap(), Frame::OpReply { success: true, .. }));
    assert_eq!(parse_frame(fixture!("ws_pong_public.json")).unwrap(), Frame::Pong);
    assert_eq!(parse_frame(fixture!("ws_pong_private.json")).unwrap(), Frame::Pong);
    // an auth failure as ccxt records it has no top-level op, only the request echo: an error
    assert!(parse_frame(fixture!("ws_auth_failure.json")).is_err());
    assert!(matches!(
        parse_frame(r#"{"success":true,"op":"subscribe","req_id":7}"#).unwrap(),
        Frame::OpReply { req_id: Some(ref r), .. } if r == "7"
    ));
}

#[test]
fn malformed_and_unknown_frames_are_errors_not_panics() {
    for text in [
        "",
        "[]",
        "{",
        r#"{"topic":"mystery.X","data":{}}"#,
        r#"{"topic":"orderbook.x.BTC","data":{}}"#,
        r#"{"topic":"orderbook.50.BTCUSDT","type":"delta"}"#,
        r#"{"topic":"order","data":[{"symbol":"btc"}]}"#,
    ] {
        assert!(parse_frame(text).is_err(), "{text}");
    }
}

mod never_panics {
    use proptest::prelude::*;

    use super::super::book::OrderBook;
    use super::super::frames::{Frame, parse_frame};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_frames(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(Frame::Book(b)) = parse_frame(&text) {
                OrderBook::default().apply(&b);
            }
        }

        #[test]
        fn mutated_book_frames(at in 0usize..400, insert in ".{0,6}", cut in 0usize..8) {
            let mut s = include_str!("../../test_data/ws_orderbook_delta.json").to_owned();
            let mut i = at.min(s.len());
            while !s.is_char_boundary(i) { i -= 1; }
            let mut j = (i + cut).min(s.len());
            while !s.is_char_boundary(j) { j -= 1; }
            s.replace_range(i..j, &insert);
            let mut book = OrderBook::default();
            let _ = book.apply(&match parse_frame(include_str!("../../test_data/ws_orderbook_snapshot.json")) { Ok(Frame::Book(b)) => b, _ => return Ok(()) });
            if let Ok(Frame::Book(b)) = parse_frame(&s) {
                book.apply(&b);
            }
        }
    }
}
