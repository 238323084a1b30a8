//! Criterion: the client's hot paths (`cargo bench -p gridbot-bybit`) — signing a request,
//! decoding an `execution` frame into core `Execution`s (target ≤ 5 µs), applying an
//! `orderbook.50` delta to a 50-level book.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridbot_bybit::Credentials;
use gridbot_bybit::ws::book::OrderBook;
use gridbot_bybit::ws::frames::{BookFrame, Frame, UpdateKind, parse_frame};

fn book_frame(kind: UpdateKind, u: i64, levels: usize, offset: usize) -> BookFrame {
    let side = |base: f64, dir: f64| {
        (0..levels)
            .map(|i| {
                [format!("{:.1}", base + dir * 0.1 * (i + offset) as f64), format!("{:.3}", 0.001 * (1 + i % 7) as f64)]
            })
            .collect()
    };
    BookFrame {
        depth: 50,
        symbol: "BTCUSDT".into(),
        kind,
        update_id: u,
        seq: u,
        bids: side(30_000.0, -1.0),
        asks: side(30_000.1, 1.0),
        ts: u,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("bybit_client");
    g.throughput(Throughput::Elements(1));

    let credentials = Credentials::new("testApiKey123", "testSecret456").unwrap();
    let body = r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","timeInForce":"PostOnly","positionIdx":1,"orderLinkId":"grid-1","reduceOnly":false}"#;
    g.bench_function("sign_create_order", |b| {
        b.iter(|| credentials.sign_rest(black_box(1_700_000_000_000), 5000, black_box(body)))
    });

    let frame = include_str!("../test_data/ws_execution.json");
    g.bench_function("decode_execution_frame", |b| {
        b.iter(|| match parse_frame(black_box(frame)).unwrap() {
            Frame::Executions(e) => e,
            _ => panic!(),
        })
    });

    let snapshot = book_frame(UpdateKind::Snapshot, 1_000, 50, 0);
    let deltas: Vec<BookFrame> =
        (0..64usize).map(|i| book_frame(UpdateKind::Delta, 1_001 + i64::try_from(i).unwrap(), 5, i % 40)).collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("apply_64_orderbook50_deltas_5_levels_per_side", |b| {
        b.iter_batched(
            || {
                let mut book = OrderBook::default();
                book.apply(&snapshot);
                book
            },
            |mut book| {
                for d in &deltas {
                    black_box(book.apply(d));
                }
                book
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
