//! One parse test per recorded-shape fixture in `test_data/` (every REST endpoint the bot uses
//! and the error envelopes), through the wire layer and the domain layer.

use gridbot_core::{ExecType, OrderStatus, OrderType, PositionIdx, Side};

use crate::convert::Fields;
use crate::wire::{self, Page, RestReply, decode_reply};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/", $name))
    };
}

fn ok<T: serde::de::DeserializeOwned>(endpoint: &str, body: &str) -> T {
    let env: RestReply<T> = decode_reply(endpoint, body).unwrap();
    assert_eq!(env.ret_code, 0);
    env.result.unwrap()
}

#[test]
fn market_time() {
    let t: wire::market::ServerTime = ok("/v5/market/time", fixture!("market_time.json"));
    assert_eq!(t.time_nano, "1700000000123456789");
}

#[test]
fn market_kline_newest_first() {
    let k: wire::market::Klines = ok("/v5/market/kline", fixture!("market_kline.json"));
    let f = Fields::new("/v5/market/kline");
    let candles: Vec<_> = k.list.iter().map(|r| f.kline(r).unwrap()).collect();
    assert_eq!(candles[0].open_time_ms, 1_700_000_060_000);
    assert_eq!(candles[1].close.to_string(), "30110.5");
    assert!(f.kline(&["1".into(), "2".into()]).unwrap_err().reason.contains("2 fields"));
}

#[test]
fn market_tickers() {
    let page: Page<wire::market::Ticker> = ok("/v5/market/tickers", fixture!("market_tickers.json"));
    let t = Fields::new("/v5/market/tickers").ticker(&page.list[0], 5).unwrap();
    assert_eq!(t.last_price.to_string(), "30100.5");
    assert_eq!(t.bid.unwrap().qty.to_string(), "2.5");
    assert_eq!(t.next_funding_time_ms, 1_700_006_400_000);
}

#[test]
fn market_instruments_info() {
    let page: Page<wire::market::Instrument> =
        ok("/v5/market/instruments-info", fixture!("market_instruments_info.json"));
    assert!(page.next_page_cursor.is_empty());
    let f = Fields::new("/v5/market/instruments-info");
    let btc = f.instrument(&page.list[0]).unwrap();
    assert_eq!(btc, gridbot_core::reference::bybit_btcusdt());
    let eth = f.instrument(&page.list[1]).unwrap();
    assert_eq!(eth.tick_size().to_string(), "0.01");
    let mut broken = page.list[0].clone();
    broken.price_filter.tick_size = "abc".into();
    let err = f.instrument(&broken).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/v5/market/instruments-info: cannot decode the reply: field priceFilter.tickSize: expected a decimal string, got \"abc\""
    );
}

#[test]
fn market_orderbook() {
    let b: wire::market::Orderbook = ok("/v5/market/orderbook", fixture!("market_orderbook.json"));
    let top = Fields::new("/v5/market/orderbook").book_top(&b).unwrap();
    assert_eq!(top.bid.unwrap().price.to_string(), "30100.4");
    assert_eq!(top.ask.unwrap().price.to_string(), "30100.5");
    assert_eq!(b.u, 18_521_288);
}

#[test]
fn market_funding_history_and_recent_trade() {
    let page: Page<wire::market::FundingRate> =
        ok("/v5/market/funding/history", fixture!("market_funding_history.json"));
    let f = Fields::new("/v5/market/funding/history");
    assert_eq!(f.funding(&page.list[1]).unwrap().rate.to_string(), "-0.00005");
    let page: Page<wire::market::RecentTrade> = ok("/v5/market/recent-trade", fixture!("market_recent_trade.json"));
    let t = Fields::new("/v5/market/recent-trade").recent_trade(&page.list[0]).unwrap();
    assert_eq!((t.taker_side, t.qty.to_string()), (Side::Buy, "0.004".to_owned()));
}

#[test]
fn order_create_cancel_cancel_all() {
    let f = Fields::new("/v5/order/create");
    let ids: wire::trade::OrderIds = ok("/v5/order/create", fixture!("order_create.json"));
    assert_eq!(f.ack(&ids).order_link_id, "g1L0003B00abcd");
    let ids: wire::trade::OrderIds = ok("/v5/order/cancel", fixture!("order_cancel.json"));
    assert_eq!(ids.order_id, "1321003749386327552");
    let all: wire::trade::CancelAll = ok("/v5/order/cancel-all", fixture!("order_cancel_all.json"));
    assert_eq!(all.list.len(), 2);
}

#[test]
fn order_realtime_and_history() {
    let f = Fields::new("/v5/order/realtime");
    let page: Page<wire::trade::Order> = ok("/v5/order/realtime", fixture!("order_realtime.json"));
    assert_eq!(page.next_page_cursor, "page_args%3D1321003749386327552%26symbol%3D6%26");
    let o = f.order(&page.list[0]).unwrap();
    assert_eq!((o.status, o.position_idx, o.avg_price), (OrderStatus::New, PositionIdx::Long, None));
    assert_eq!(o.price.unwrap().to_string(), "30000");
    let page: Page<wire::trade::Order> = ok("/v5/order/history", fixture!("order_history.json"));
    let cancelled = f.order(&page.list[0]).unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        cancelled.cum_exec_qty.to_string(),
        "0.0005",
        "a linear partial fill then cancel is Cancelled with fills"
    );
    let market = f.order(&page.list[1]).unwrap();
    assert_eq!((market.order_type, market.price, market.reduce_only), (OrderType::Market, None, true));
}

#[test]
fn execution_list_with_funding() {
    let f = Fields::new("/v5/execution/list");
    let page: Page<wire::trade::Execution> = ok("/v5/execution/list", fixture!("execution_list.json"));
    let fill = f.execution(&page.list[0]).unwrap();
    assert!(fill.is_maker);
    assert_eq!(fill.exec_fee.to_string(), "0.00299901");
    let funding = f.execution(&page.list[1]).unwrap();
    assert_eq!((funding.exec_type, funding.order_type), (ExecType::Funding, OrderType::Unknown));
}

#[test]
fn position_list_open_and_flat() {
    let f = Fields::new("/v5/position/list");
    let page: Page<wire::account::Position> = ok("/v5/position/list", fixture!("position_list.json"));
    let long = f.position(&page.list[0]).unwrap();
    assert_eq!((long.side, long.size.to_string()), (Some(Side::Buy), "0.0005".to_owned()));
    assert_eq!(long.position_im.to_string(), "1.50850");
    let flat = f.position(&page.list[1]).unwrap();
    assert!(flat.is_flat());
    assert_eq!((flat.side, flat.avg_price, flat.liq_price), (None, None, None));
    for name in ["position_set_leverage.json", "position_switch_mode.json", "position_trading_stop.json"] {
        let body = match name {
            "position_set_leverage.json" => fixture!("position_set_leverage.json"),
            "position_switch_mode.json" => fixture!("position_switch_mode.json"),
            _ => fixture!("position_trading_stop.json"),
        };
        let _: wire::Empty = ok(name, body);
    }
}

#[test]
fn wallet_balance() {
    let account: Page<wire::account::WalletAccount> =
        ok("/v5/account/wallet-balance", fixture!("account_wallet_balance.json"));
    let w = Fields::new("/v5/account/wallet-balance").wallet(&account.list[0]).unwrap();
    assert_eq!(w.account_im_rate.to_string(), "0.0152");
    assert_eq!(w.coins[0].coin, "USDT");
    assert_eq!(w.total_available_balance.to_string(), "9848.55");
}

#[test]
fn error_envelopes_carry_code_and_message_only() {
    let cases = [
        (fixture!("error_10001_params.json"), 10_001),
        (fixture!("error_10002_timestamp.json"), 10_002),
        (fixture!("error_10004_sign.json"), 10_004),
        (fixture!("error_10006_rate_limit.json"), 10_006),
        (fixture!("error_110001_not_found.json"), 110_001),
        (fixture!("error_110043_not_modified.json"), 110_043),
        (fixture!("error_110072_duplicate_link_id.json"), 110_072),
    ];
    for (body, code) in cases {
        let env: RestReply<wire::trade::OrderIds> = decode_reply("/v5/order/create", body).unwrap();
        assert_eq!(env.ret_code, code);
        assert!(env.result.is_none());
        assert!(!env.ret_msg.is_empty());
    }
}

#[test]
fn bodies_that_are_not_envelopes_are_decode_errors() {
    for body in [
        "",
        "<html>502 Bad Gateway</html>",
        "{}",
        r#"{"retCode":"zero"}"#,
        r#"{"retCode":0,"retMsg":"OK"}"#,
        r#"{"retCode":0,"result":{"list":"x"}}"#,
    ] {
        let err = decode_reply::<Page<wire::trade::Order>>("/v5/order/realtime", body).unwrap_err();
        assert_eq!(err.endpoint, "/v5/order/realtime", "{body}");
    }
}

mod never_panics {
    use proptest::prelude::*;

    use crate::convert::Fields;
    use crate::wire::{self, Page, decode_reply};

    fn decode_all(body: &str) {
        let f = Fields::new("/fuzz");
        if let Ok(e) = decode_reply::<Page<wire::trade::Order>>("/fuzz", body)
            && let Some(p) = e.result
        {
            p.list.iter().for_each(|o| drop(f.order(o)));
        }
        if let Ok(e) = decode_reply::<Page<wire::trade::Execution>>("/fuzz", body)
            && let Some(p) = e.result
        {
            p.list.iter().for_each(|x| drop(f.execution(x)));
        }
        if let Ok(e) = decode_reply::<Page<wire::account::Position>>("/fuzz", body)
            && let Some(p) = e.result
        {
            p.list.iter().for_each(|x| drop(f.position(x)));
        }
        if let Ok(e) = decode_reply::<Page<wire::account::WalletAccount>>("/fuzz", body)
            && let Some(p) = e.result
        {
            p.list.iter().for_each(|x| drop(f.wallet(x)));
        }
        if let Ok(e) = decode_reply::<Page<wire::market::Instrument>>("/fuzz", body)
            && let Some(p) = e.result
        {
            p.list.iter().for_each(|x| drop(f.instrument(x)));
        }
        if let Ok(e) = decode_reply::<wire::market::Klines>("/fuzz", body)
            && let Some(k) = e.result
        {
            k.list.iter().for_each(|r| drop(f.kline(r)));
        }
        let _ = decode_reply::<wire::market::Orderbook>("/fuzz", body).map(|e| e.result.map(|b| f.book_top(&b)));
        let _ = decode_reply::<Page<wire::market::Ticker>>("/fuzz", body);
        let _ = decode_reply::<wire::market::ServerTime>("/fuzz", body);
    }

    /// Mutates a real fixture: keeps the JSON shape mostly intact so decoding goes deep.
    fn mutated_fixture() -> impl Strategy<Value = String> {
        let fixtures = vec![
            include_str!("../test_data/order_realtime.json"),
            include_str!("../test_data/execution_list.json"),
            include_str!("../test_data/position_list.json"),
            include_str!("../test_data/account_wallet_balance.json"),
            include_str!("../test_data/market_instruments_info.json"),
            include_str!("../test_data/market_kline.json"),
            include_str!("../test_data/market_orderbook.json"),
        ];
        (prop::sample::select(fixtures), any::<prop::sample::Index>(), ".{0,8}", 0usize..16).prop_map(
            |(text, at, insert, cut)| {
                let mut s = text.to_owned();
                let mut i = at.index(s.len());
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                let end = (i + cut).min(s.len());
                let mut j = end;
                while !s.is_char_boundary(j) {
                    j -= 1;
                }
                s.replace_range(i..j, &insert);
                s
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            decode_all(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn mutated_fixtures_never_panic(body in mutated_fixture()) {
            decode_all(&body);
        }
    }
}
