//! `cutover fleet run --yes` and `fleet resume --yes` on 8 real PostgreSQL
//! shard pairs (16 small clusters on loopback) with the shipped logical
//! migration, while a writer writes to every shard's source:
//!
//! * the waves `[1, 3, "rest"]` go in order; shard-3's target is down, so its
//!   pre-flight fails, the fleet rolls it back and the stop rule keeps the
//!   last wave from starting, while shard-2 and shard-4 finish;
//! * `fleet status --json` says so, worst first;
//! * with shard-3's target back, `fleet resume` runs shard-3 again (a new
//!   journal) and the last wave: every shard ends switched, its target
//!   holding what its source holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use support::pg::{Cluster, ClusterOptions};
use support::run::*;

const MIGRATION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/pg-logical-migration.toml");
const SHARDS: usize = 8;
/// The whole fleet, either run, may take this long (it takes a few minutes).
const FLEET_RUN: Duration = Duration::from_secs(600);

const SCHEMA: &str = "
CREATE TABLE items (id bigserial PRIMARY KEY, shard int NOT NULL, note text);
CREATE TABLE owners (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO owners SELECT g, 'owner ' || g FROM generate_series(1, 200) g;
";

struct Shard {
    source: Cluster,
    target: Cluster,
}

fn name(i: usize) -> String {
    format!("shard-{}", i + 1)
}

fn fingerprint(cluster: &Cluster, table: &str) -> String {
    cluster.psql(&format!(
        "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
    ))
}

/// One writer for every shard: an insert on each source in turn, every
/// 10 ms, until each source refuses writes (or `stop`).
fn start_writer(dsns: Vec<String>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let mut clients = Vec::new();
            for dsn in &dsns {
                clients.push(Some(support::connect(dsn).await));
            }
            let mut written = vec![0u64; dsns.len()];
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for (i, slot) in clients.iter_mut().enumerate() {
                    let Some(client) = slot else { continue };
                    n += 1;
                    let sql = format!("INSERT INTO items (shard, note) VALUES ({i}, 'write {n}')");
                    match client.batch_execute(&sql).await {
                        Ok(()) => written[i] += 1,
                        Err(e) => {
                            let read_only =
                                e.code() == Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION);
                            assert!(read_only, "shard {i}: a write failed for another reason than read-only: {e:?}");
                            *slot = None;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            written
        })
    })
}

fn fleet_files(dir: &Path, shards: &[Shard]) -> std::path::PathBuf {
    std::fs::write(
        dir.join("shard.inventory.toml"),
        "name = \"${member}\"\ninterval = \"500ms\"\n\
         [endpoints.source]\nkind = \"postgres\"\ndsn = \"host=127.0.0.1 port=${source_port} user=postgres dbname=postgres\"\n\
         [endpoints.target]\nkind = \"postgres\"\ndsn = \"host=127.0.0.1 port=${target_port} user=postgres dbname=postgres\"\n",
    )
    .unwrap();
    let mut text = format!(
        "name = \"orders shards\"\nrunbook = \"{MIGRATION}\"\ninventory = \"shard.inventory.toml\"\n\
         [waves]\nsizes = [1, 3, \"rest\"]\nconcurrency = 4\n"
    );
    for (i, s) in shards.iter().enumerate() {
        text.push_str(&format!(
            "[[member]]\nname = \"{}\"\nvars = {{ source_port = \"{}\", target_port = \"{}\" }}\n",
            name(i),
            s.source.port,
            s.target.port
        ));
    }
    let path = dir.join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn fleet_events(dir: &Path) -> Vec<Value> {
    journal(&dir.join("fleet-journals").join("fleet.jsonl"))
}

fn last_outcome(path: &Path) -> Option<String> {
    journal(path).iter().rev().find(|r| r["event"] == "finished").map(|r| r["outcome"].as_str().unwrap().to_owned())
}

fn switched(shard: &Shard, i: usize) {
    assert_eq!(shard.source.psql("SHOW default_transaction_read_only"), "on", "{}'s source is read-only", name(i));
    for table in ["items", "owners"] {
        assert_eq!(
            fingerprint(&shard.target, table),
            fingerprint(&shard.source, table),
            "{}: {table} differs",
            name(i)
        );
    }
    assert_eq!(shard.target.psql("SELECT count(*) FROM pg_subscription"), "0", "{}: subscription dropped", name(i));
}

fn untouched(shard: &Shard, i: usize) {
    assert_eq!(shard.source.psql("SHOW default_transaction_read_only"), "off", "{} was left writable", name(i));
    assert_eq!(shard.source.psql("SELECT count(*) FROM pg_publication"), "0", "{} has no publication", name(i));
}

#[test]
fn a_fleet_moves_eight_shards_in_waves_and_a_failed_shard_stops_the_waves() {
    let shards: Vec<Shard> = (0..SHARDS)
        .map(|_| {
            let source = Cluster::start(ClusterOptions::default().setting("wal_level", "logical"));
            let target = Cluster::start(ClusterOptions::default());
            source.psql(SCHEMA);
            Shard { source, target }
        })
        .collect();
    let mut shards = shards;
    shards[2].target.stop();
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_files(dir.path(), &shards);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_writer(shards.iter().map(|s| s.source.dsn()).collect(), Arc::clone(&stop));

    // 1. The first run: shard-3 fails, the last wave never starts.
    let args = ["fleet", "run", fleet.to_str().unwrap(), "--yes", "--allow-manual", "--operator", "fleet-bot"];
    let first = spawn(dir.path(), "fleet-run", &args, &[]).wait(FLEET_RUN);
    assert_eq!(first.code, Some(1), "not every member completed:\n{}", first.describe());
    let journals = dir.path().join("fleet-journals");
    let events = fleet_events(dir.path());
    let waves: Vec<i64> =
        events.iter().filter(|r| r["event"] == "wave_started").map(|r| r["wave"].as_i64().unwrap()).collect();
    assert_eq!(waves, [1, 2], "the third wave must not start after a failure: {events:?}");
    let stopped = events.iter().find(|r| r["event"] == "stopped").expect("the stop rule fired");
    assert!(stopped["reason"].as_str().unwrap().starts_with("shard-3 "), "{stopped}");
    assert!(events.iter().any(|r| r["event"] == "rolling_back" && r["member"] == "shard-3"), "{events:?}");
    // The canary finished before the second wave started.
    let canary_done = events.iter().position(|r| r["event"] == "member_ended" && r["member"] == "shard-1").unwrap();
    let wave2 = events.iter().position(|r| r["event"] == "wave_started" && r["wave"] == 2).unwrap();
    assert!(canary_done < wave2, "{events:?}");
    assert_eq!(last_outcome(&journals.join("shard-3.jsonl")).as_deref(), Some("rolled_back"));
    for i in [0, 1, 3] {
        assert_eq!(last_outcome(&journals.join(format!("{}.jsonl", name(i)))).as_deref(), Some("completed"));
        switched(&shards[i], i);
    }
    untouched(&shards[2], 2);
    for (i, shard) in shards.iter().enumerate().skip(4) {
        assert!(!journals.join(format!("{}.jsonl", name(i))).exists(), "{} must not have started", name(i));
        untouched(shard, i);
    }
    // Progress lines say which member they are about.
    assert!(
        first.stdout.lines().any(|l| l.starts_with("[shard-2] ") && l.contains("run completed")),
        "{}",
        first.describe()
    );
    assert!(first.stdout.contains("[fleet] wave 2 of 3: shard-2, shard-3, shard-4"), "{}", first.describe());

    // 2. The status, worst first.
    let status = spawn(dir.path(), "fleet-status", &["fleet", "status", fleet.to_str().unwrap(), "--json"], &[])
        .wait(Duration::from_secs(30));
    assert_eq!(status.code, Some(0), "{}", status.describe());
    let doc: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(doc["totals"]["done"], 3, "{doc}");
    assert_eq!(doc["totals"]["failed"], 1, "{doc}");
    assert_eq!(doc["totals"]["waiting"], 4, "{doc}");
    assert_eq!(doc["members"][0]["name"], "shard-3", "the failed member first: {doc}");
    assert_eq!(doc["members"][0]["phase"], "rolled_back", "{doc}");
    assert!(doc["members"][0]["reason"].as_str().unwrap().contains("failed"), "{doc}");
    assert!(doc["stopped"].as_str().unwrap().starts_with("shard-3"), "{doc}");

    // 3. Shard-3's target is back: the fleet goes on to the end.
    shards[2].target.start_again();
    let args = ["fleet", "resume", fleet.to_str().unwrap(), "--yes", "--allow-manual", "--operator", "fleet-bot"];
    let second = spawn(dir.path(), "fleet-resume", &args, &[]).wait(FLEET_RUN);
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert_eq!(second.code, Some(0), "every member completes:\n{}", second.describe());
    assert_eq!(last_outcome(&journals.join("shard-3.2.jsonl")).as_deref(), Some("completed"), "a new run of shard-3");
    for (i, shard) in shards.iter().enumerate() {
        switched(shard, i);
        assert!(written[i] > 0, "the writer wrote to {}", name(i));
    }
    let events = fleet_events(dir.path());
    let waves: Vec<i64> =
        events.iter().filter(|r| r["event"] == "wave_started").map(|r| r["wave"].as_i64().unwrap()).collect();
    assert_eq!(waves, [1, 2, 2, 3], "{events:?}");
    assert_eq!(events.last().unwrap()["event"], "finished");
    assert_eq!(events.last().unwrap()["done"], 8);
}
