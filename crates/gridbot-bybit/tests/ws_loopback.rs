//! The WebSocket streams against a scripted tungstenite server on 127.0.0.1: subscribe, book
//! snapshot + delta, a malformed frame skipped, a gap that triggers a resubscription, a dropped
//! socket that is reconnected and resubscribed, fan-out to two subscribers, private auth.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use gridbot_bybit::Credentials;
use gridbot_bybit::sign::sign_ws_auth;
use gridbot_bybit::ws::stream::{Lifecycle, PrivateEvent, PublicEvent, PublicHub, StreamConfig, start_private};
use gridbot_core::SystemClock;
use tungstenite::{Message, WebSocket};

const TOPIC: &str = "orderbook.50.BTCUSDT";

fn next_text(ws: &mut WebSocket<TcpStream>) -> serde_json::Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            _ => continue,
        }
    }
}

fn book(kind: &str, u: i64, bid: &str) -> String {
    format!(
        r#"{{"topic":"{TOPIC}","type":"{kind}","ts":{u},"data":{{"s":"BTCUSDT","b":[["{bid}","1"]],"a":[["30001","2"]],"u":{u},"seq":{u}}},"cts":{u}}}"#
    )
}

fn send(ws: &mut WebSocket<TcpStream>, text: &str) {
    ws.send(Message::text(text.to_owned())).unwrap();
}

fn config(port: u16, path: &str) -> StreamConfig {
    let mut c = StreamConfig::new(format!("ws://127.0.0.1:{port}{path}"));
    c.read_timeout = Duration::from_millis(20);
    c.reconnect_min = Duration::from_millis(20);
    c
}

fn recv<T>(rx: &Receiver<T>) -> T {
    rx.recv_timeout(Duration::from_secs(10)).expect("event within 10 s")
}

fn next_book_event(rx: &Receiver<PublicEvent>) -> PublicEvent {
    loop {
        match recv(rx) {
            PublicEvent::Lifecycle(Lifecycle::Disconnected(_)) => continue,
            other => return other,
        }
    }
}

#[test]
fn public_stream_books_gaps_malformed_frames_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // connection 1
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(tcp).unwrap();
        let sub = next_text(&mut ws);
        assert_eq!(sub["op"], "subscribe");
        assert_eq!(sub["args"][0], TOPIC);
        send(
            &mut ws,
            &format!(r#"{{"success":true,"ret_msg":"","conn_id":"c1","req_id":{},"op":"subscribe"}}"#, sub["req_id"]),
        );
        send(&mut ws, &book("snapshot", 10, "30000"));
        send(&mut ws, &book("delta", 11, "30000.5"));
        send(&mut ws, "{garbage");
        send(&mut ws, &book("delta", 13, "29999")); // gap: 12 is missing
        let unsub = next_text(&mut ws);
        assert_eq!((unsub["op"].as_str(), unsub["args"][0].as_str()), (Some("unsubscribe"), Some(TOPIC)));
        let resub = next_text(&mut ws);
        assert_eq!((resub["op"].as_str(), resub["args"][0].as_str()), (Some("subscribe"), Some(TOPIC)));
        send(&mut ws, &book("snapshot", 20, "29990"));
        // drop the socket without a close frame
        drop(ws);
        // connection 2: the client must come back and resubscribe
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(tcp).unwrap();
        let sub = next_text(&mut ws);
        assert_eq!((sub["op"].as_str(), sub["args"][0].as_str()), (Some("subscribe"), Some(TOPIC)));
        send(&mut ws, &book("snapshot", 1, "29980"));
        // answer pings until the client goes away
        while let Ok(msg) = ws.read() {
            if let Message::Text(t) = msg
                && t.as_str().contains("\"ping\"")
            {
                send(&mut ws, r#"{"success":true,"ret_msg":"pong","conn_id":"c2","req_id":"","op":"ping"}"#);
            }
        }
    });

    let mut hub = PublicHub::new(config(port, "/v5/public/linear"));
    let a = hub.subscribe(&[TOPIC]);
    let b = hub.subscribe(&[TOPIC]);
    let handle = hub.start(Arc::new(SystemClock)).unwrap();

    assert_eq!(recv(&a), PublicEvent::Lifecycle(Lifecycle::Connected));
    let top = |rx: &Receiver<PublicEvent>| match next_book_event(rx) {
        PublicEvent::BookTop { bid, .. } => bid.unwrap().price.to_string(),
        other => panic!("expected a book top, got {other:?}"),
    };
    assert_eq!(top(&a), "30000");
    assert_eq!(top(&a), "30000.5");
    assert!(matches!(recv(&a), PublicEvent::Lifecycle(Lifecycle::Skipped(_))), "malformed frame reported and skipped");
    assert_eq!(recv(&a), PublicEvent::BookReset { symbol: "BTCUSDT".into() });
    assert_eq!(top(&a), "29990");
    assert_eq!(next_book_event(&a), PublicEvent::Lifecycle(Lifecycle::Reconnected));
    assert_eq!(top(&a), "29980");

    // the second subscriber saw the same events over the same connection
    assert_eq!(recv(&b), PublicEvent::Lifecycle(Lifecycle::Connected));
    assert_eq!(top(&b), "30000");

    handle.stop();
    server.join().unwrap();
}

#[test]
fn private_stream_authenticates_then_delivers_executions() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(tcp).unwrap();
        let auth = next_text(&mut ws);
        assert_eq!(auth["op"], "auth");
        let expires = auth["args"][1].as_i64().unwrap();
        assert_eq!(auth["args"][0], "testApiKey123");
        assert_eq!(
            auth["args"][2].as_str().unwrap(),
            sign_ws_auth("testSecret456", expires),
            "signature over GET/realtime + expires"
        );
        send(&mut ws, r#"{"success":true,"ret_msg":"","op":"auth","conn_id":"p1"}"#);
        let sub = next_text(&mut ws);
        let topics: Vec<&str> = sub["args"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(topics, ["order", "execution", "position", "wallet"]);
        send(&mut ws, r#"{"success":true,"ret_msg":"","op":"subscribe","conn_id":"p1"}"#);
        send(&mut ws, include_str!("../test_data/ws_execution.json"));
        send(&mut ws, r#"{"topic":"execution","data":[{"symbol":"??"}]}"#);
        send(&mut ws, include_str!("../test_data/ws_position.json"));
        while ws.read().is_ok() {}
    });
    let credentials = Credentials::new("testApiKey123", "testSecret456").unwrap();
    let (handle, rx) = start_private(config(port, "/v5/private"), credentials, Arc::new(SystemClock)).unwrap();
    assert_eq!(recv(&rx), PrivateEvent::Lifecycle(Lifecycle::Connected));
    assert_eq!(recv(&rx), PrivateEvent::Authenticated);
    match recv(&rx) {
        PrivateEvent::Executions(e) => assert_eq!(e[0].exec_qty.to_string(), "0.0005"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(recv(&rx), PrivateEvent::Lifecycle(Lifecycle::Skipped(_))));
    assert!(matches!(recv(&rx), PrivateEvent::Positions(_)));
    handle.stop();
    server.join().unwrap();
}
