//! How fast `cutover verify` compares a MongoDB collection:
//! `cargo bench --bench mongo_verify` (or `scripts/mongo-verify-bench.sh`).
//!
//! `BENCH_DOCS` orders (default 100000; ~400 bytes, nested documents, arrays
//! of documents, doubles) in two databases of one local mongod (a 1-member
//! replica set, so both sides share its CPU), verified by the release binary
//! in by_name and strict mode against the floor — both collections read once,
//! each document hashed as stored — then with 10 documents changed. Each
//! figure is the best of `BENCH_REPEAT` runs (default 3).
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs on 2000
//! documents once, to prove it still works (and still finds the 10).

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use mongodb::bson::{Bson, Document, doc};
use support::mongo::{ReplicaSet, client};
use support::mongo_verify::{inventory, oid, order, uri, verify_json};

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { env_or("BENCH_DOCS", 100_000) } else { 2_000 };
    let repeat = if full { env_or("BENCH_REPEAT", 3) } else { 1 };
    let set = ReplicaSet::start("verify-bench", 1);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &uri(&set, "src"), &uri(&set, "dst"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let load = Instant::now();
    rt.block_on(async {
        let c = client(&set.uri()).await;
        for db in ["src", "dst"] {
            let coll = c.database(db).collection::<Document>("orders");
            for start in (0..n).step_by(10_000) {
                coll.insert_many((start..n.min(start + 10_000)).map(order)).await.unwrap();
            }
        }
    });
    println!("mongo_verify: loaded 2 x {n} documents in {:.1}s", load.elapsed().as_secs_f64());
    let best = |what: &dyn Fn() -> f64| (0..repeat).map(|_| what()).fold(f64::INFINITY, f64::min);
    let floor = best(&|| {
        rt.block_on(async {
            let c = client(&set.uri()).await;
            let sum = |db: &'static str| {
                let coll = c.database(db).collection::<Document>("orders");
                async move {
                    let pipeline = [doc! { "$group": {
                        "_id": Bson::Null,
                        "s": { "$sum": { "$toDecimal": { "$toHashedIndexKey": "$$ROOT" } } },
                    } }];
                    let mut cursor = coll.aggregate(pipeline).await.unwrap();
                    while cursor.advance().await.unwrap() {}
                }
            };
            let started = Instant::now();
            let _ = tokio::join!(sum("src"), sum("dst"));
            started.elapsed().as_secs_f64()
        })
    });
    let rate = |secs: f64| f64::from(n) / secs;
    println!(
        "mongo_verify: floor (both sides read once, raw hash): {floor:.2}s, {:.0} documents/s per side",
        rate(floor)
    );
    for mode in ["by_name", "strict"] {
        let secs = best(&|| {
            let started = Instant::now();
            let (code, report) = verify_json(&inv, &["--mode", mode]);
            assert_eq!(code, Some(0), "{report:#}");
            started.elapsed().as_secs_f64()
        });
        println!(
            "mongo_verify: --mode {mode}: {secs:.2}s, {:.0} documents/s per side, {:.1}x the floor",
            rate(secs),
            secs / floor
        );
    }
    rt.block_on(async {
        let c = client(&set.uri()).await;
        let coll = c.database("dst").collection::<Document>("orders");
        for i in 0..10 {
            coll.update_one(doc! { "_id": oid(i * (n / 10) + 7) }, doc! { "$set": { "total": 0.5 } }).await.unwrap();
        }
    });
    let secs = best(&|| {
        let started = Instant::now();
        let (code, report) = verify_json(&inv, &[]);
        assert_eq!(code, Some(1), "{report:#}");
        assert_eq!(report["totals"]["differences"], 10);
        started.elapsed().as_secs_f64()
    });
    println!("mongo_verify: 10 documents changed: {secs:.2}s");
}
