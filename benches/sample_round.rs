//! What one gauge round costs the database: `cargo bench --bench sample_round`.
//!
//! Starts a real primary (with a streaming standby and a logical slot, so
//! every query of the round has rows to return), runs the PostgreSQL
//! collector's round many times over one connection, and reports
//! - the round's wall time on loopback (an upper bound: it includes the
//!   client and the network), and
//! - the database's own time per round, from `pg_stat_statements`
//!   (execution + planning of every statement the round sent).
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a few
//! rounds only, to prove it still works.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::pg::{Cluster, ClusterOptions, publish_and_subscribe};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds: u32 = if full { 500 } else { 5 };
    let primary = Cluster::start(
        ClusterOptions::default()
            .setting("shared_preload_libraries", "pg_stat_statements")
            .setting("pg_stat_statements.track", "all"),
    );
    let _standby = Cluster::standby_of(&primary);
    let subscriber = Cluster::start(ClusterOptions::default());
    publish_and_subscribe(&primary, &subscriber, "CREATE TABLE t (id int PRIMARY KEY);");
    primary.psql("CREATE EXTENSION pg_stat_statements");

    let client = support::connect(&primary.dsn()).await;
    client.batch_execute("SET statement_timeout = 2000; SET lock_timeout = 2000").await.expect("session settings");
    let mut session = cutover::collect::postgres::Session::default();
    // Warm up: prepare statements, read sizes once.
    for _ in 0..cutover::collect::postgres::SIZES_EVERY_ROUNDS {
        session.sample(&client).await.expect("a round");
    }
    primary.psql("SELECT pg_stat_statements_reset()");
    let mut times: Vec<Duration> = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let start = Instant::now();
        let sample = session.sample(&client).await.expect("a round");
        times.push(start.elapsed());
        assert!(!sample.replication.is_empty(), "the round sees the standby and the slot");
    }
    let db_ms: f64 = primary
        .psql(
            "SELECT coalesce(sum(total_exec_time + total_plan_time), 0) FROM pg_stat_statements \
             WHERE query NOT LIKE '%pg_stat_statements%'",
        )
        .parse()
        .expect("a number");
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = times[times.len() / 2];
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / f64::from(rounds);
    println!(
        "sample_round: {rounds} rounds; wall per round mean {mean:.2} ms, p50 {:.2} ms, p99 {:.2} ms; \
         database time per round {:.3} ms (pg_stat_statements, sizes every {} rounds)",
        ms(p50),
        ms(p99),
        db_ms / f64::from(rounds),
        cutover::collect::postgres::SIZES_EVERY_ROUNDS
    );
}
