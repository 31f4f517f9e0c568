//! Runbooks on a real MariaDB, headless: `mysql` steps, checks and waits on
//! its gauges, the maintenance-mode switch, and the shipped
//! `runbooks/mysql-to-postgres.toml`.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use support::mariadb::{Mariadb, PASSWORD};
use support::pg::{Cluster, ClusterOptions};
use support::run::{cutover, fixture, journal_so_far, spawn};

const RUN: Duration = Duration::from_secs(120);

/// An inventory binding `source` to the MariaDB server (password from
/// `SOURCE_PW`) and `target` to `target_dsn`.
fn inventory(dir: &Path, server: &Mariadb, target_dsn: &str) -> PathBuf {
    let path = dir.join("inventory.toml");
    let text = format!(
        "interval = \"500ms\"\n[endpoints.source]\nkind = \"mysql\"\ndsn = \"{}\"\npassword_env = \"SOURCE_PW\"\n\
         [endpoints.target]\nkind = \"postgres\"\ndsn = \"{target_dsn}\"\n",
        server.url("app")
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn records(journal: &Path, event: &str) -> Vec<Value> {
    journal_so_far(journal).into_iter().filter(|r| r["event"] == event).collect()
}

#[test]
fn mysql_steps_run_and_maintenance_mode_pauses_writes_until_drained() {
    let server = Mariadb::start();
    server.sql("CREATE DATABASE app");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &server, "host=127.0.0.1 port=9 user=nobody dbname=none");
    let journal = dir.path().join("run.jsonl");
    let ended = cutover(
        dir.path(),
        "run",
        &[
            "run",
            &fixture("mysql-maintenance.toml"),
            "--inventory",
            inv.to_str().unwrap(),
            "--yes",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &[("SOURCE_PW", PASSWORD)],
        RUN,
    );
    assert_eq!(ended.code, Some(0), "{}", ended.describe());
    // The literal went through the step session's quoting as PostgreSQL's would.
    assert_eq!(server.sql("SELECT body FROM app.notes").trim_end_matches('\n'), "it's a \"quoted\" one");
    assert_eq!(server.sql("SELECT @@GLOBAL.read_only").trim(), "1");
    let error = server.try_sql("SET GLOBAL read_only = OFF; SELECT 1").map(|_| ()).err();
    assert!(error.is_none(), "root may leave maintenance mode: {error:?}");
    let finished = records(&journal, "step_finished");
    assert_eq!(finished.len(), 5, "{finished:#?}");
    assert!(finished.iter().all(|r| r["ok"] == true), "{finished:#?}");
    let report = dir.path().join("report.md");
    let made = cutover(
        dir.path(),
        "report",
        &["report", journal.to_str().unwrap(), "-o", report.to_str().unwrap(), "--format", "md"],
        &[],
        RUN,
    );
    assert_eq!(made.code, Some(0), "{}", made.describe());
    let report = std::fs::read_to_string(&report).unwrap();
    assert!(report.contains("Write pause"), "{report}");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains(PASSWORD), "the password reached the journal");
}

#[test]
fn a_pre_flight_failure_of_the_shipped_runbook_stops_the_run_with_a_non_zero_exit() {
    let server = Mariadb::start();
    server.sql("CREATE DATABASE app; CREATE TABLE app.keyless (v int); CREATE TABLE app.fine (id int PRIMARY KEY)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &server, "host=127.0.0.1 port=9 user=nobody dbname=none");
    let journal = dir.path().join("run.jsonl");
    let runbook = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/mysql-to-postgres.toml");
    let ended = cutover(
        dir.path(),
        "run",
        &[
            "run",
            runbook,
            "--inventory",
            inv.to_str().unwrap(),
            "--yes",
            "--allow-manual",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &[("SOURCE_PW", PASSWORD)],
        RUN,
    );
    assert_ne!(ended.code, Some(0), "{}", ended.describe());
    let failed: Vec<Value> = records(&journal, "step_finished").into_iter().filter(|r| r["ok"] == false).collect();
    assert_eq!(failed.len(), 1, "{:#?}", journal_so_far(&journal));
    assert_eq!(failed[0]["step"], "1.2", "{:#?}", failed);
    assert!(records(&journal, "step_started").iter().all(|r| r["step"].as_str().unwrap().starts_with("1.")));
}

/// Dual writes, as an application would make them: each new order to the
/// source and then to the target, until the source refuses writes
/// (maintenance mode). Returns how many orders landed on both.
fn dual_writer(source: &Mariadb, target_dsn: String, stop: Arc<AtomicBool>) -> impl FnOnce() -> u64 + Send + 'static {
    let socket = source.socket();
    let mariadb = support::mariadb::program("mariadb");
    move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let pg = support::connect(&target_dsn).await;
            let mut written = 0;
            let mut id = 1_000_000u64;
            while !stop.load(Ordering::Relaxed) {
                id += 1;
                let out = std::process::Command::new(&mariadb)
                    .args(["--no-defaults", "-uroot"])
                    .arg(format!("--socket={}", socket.display()))
                    .args([
                        "-e",
                        &format!(
                            "SET time_zone = '+00:00'; INSERT INTO app.orders (id, customer_id, note, placed) \
                             VALUES ({id}, {}, 'dual {id}', '2026-12-03 10:00:00')",
                            id % 50 + 1
                        ),
                    ])
                    .output()
                    .unwrap();
                if !out.status.success() {
                    // Maintenance mode: the system of record refuses the write, so the target never gets it.
                    let error = String::from_utf8_lossy(&out.stderr);
                    assert!(error.contains("read-only") || error.contains("read_only"), "{error}");
                    break;
                }
                // The same row on both sides, its timestamp too (not each server's own default).
                pg.execute(
                    &format!(
                        "INSERT INTO app.orders (id, customer_id, note, placed) \
                         VALUES ({id}, {}, 'dual {id}', '2026-12-03 10:00:00+00')",
                        id % 50 + 1
                    ),
                    &[],
                )
                .await
                .unwrap();
                written += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            written
        })
    }
}

#[test]
fn the_shipped_runbook_moves_a_database_with_dual_writes_and_leaves_the_source_read_only() {
    let source = Mariadb::start();
    source.sql(
        "CREATE DATABASE app; \
         CREATE TABLE app.customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, \
           balance decimal(12,2), vip tinyint(1) NOT NULL DEFAULT 0, created datetime(3)); \
         CREATE TABLE app.orders (id bigint AUTO_INCREMENT PRIMARY KEY, customer_id int NOT NULL, note text, \
           placed timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP); \
         INSERT INTO app.customers (name, balance, vip, created) \
           SELECT CONCAT('customer ', seq), seq * 1.25, seq % 2, '2026-01-01 00:00:00.125' + INTERVAL seq MINUTE FROM seq.seq_1_to_50; \
         INSERT INTO app.orders (customer_id, note) SELECT seq % 50 + 1, CONCAT('order ', seq) FROM seq.seq_1_to_2000",
    );
    let target = Cluster::start(ClusterOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &source, &target.dsn());
    let journal = dir.path().join("run.jsonl");
    let runbook = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/mysql-to-postgres.toml");
    let mut run = spawn(
        dir.path(),
        "run",
        &[
            "run",
            runbook,
            "--inventory",
            inv.to_str().unwrap(),
            "--yes",
            "--allow-manual",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &[("SOURCE_PW", PASSWORD)],
    );
    // Dual writes start once pgloader has copied the rows (the application is deployed with them in phase 3).
    run.wait_for_record(&journal, "pgloader done", |r| {
        r["event"] == "step_finished" && r["step"] == "2.1" && r["ok"] == true
    });
    let stop = Arc::new(AtomicBool::new(false));
    let writer = std::thread::spawn(dual_writer(&source, target.dsn(), Arc::clone(&stop)));
    let ended = run.wait(Duration::from_secs(300));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    if ended.code != Some(0) {
        let verify = cutover(
            dir.path(),
            "verify",
            &["verify", "--inventory", inv.to_str().unwrap(), "--source", "source", "--target", "target", "--json"],
            &[("SOURCE_PW", PASSWORD)],
            RUN,
        );
        let rows = (
            source.sql("SET time_zone = '+00:00'; SELECT * FROM app.orders WHERE id = 1000001"),
            target.psql("SET TimeZone = 'UTC'; SELECT * FROM app.orders WHERE id = 1000001"),
        );
        panic!("{}\nverify now: {}\nrows: {rows:?}", ended.describe(), verify.stdout);
    }
    assert!(written > 0, "the writer wrote nothing while the run went on");

    // The source is read-only; the target holds every row, verified inside the write pause.
    assert_eq!(source.sql("SELECT @@GLOBAL.read_only").trim(), "1");
    let verified: Vec<Value> = records(&journal, "step_finished").into_iter().filter(|r| r["step"] == "4.3").collect();
    assert_eq!(verified.len(), 1, "{:#?}", journal_so_far(&journal));
    assert_eq!(verified[0]["ok"], true, "{:#?}", verified);
    let count = |sql: &str| target.psql(sql).trim().to_owned();
    assert_eq!(count("SELECT count(*) FROM app.orders"), source.sql("SELECT COUNT(*) FROM app.orders").trim());
    assert_eq!(count("SELECT count(*) FROM app.customers"), "50");
    // AUTO_INCREMENT carried over: the next order id on the target follows the source's.
    let next_source = source.sql(
        "SELECT AUTO_INCREMENT FROM information_schema.tables WHERE table_schema = 'app' AND table_name = 'customers'",
    );
    let next_target = count("SELECT nextval(pg_get_serial_sequence('app.customers', 'id'))");
    assert_eq!(next_target, next_source.trim());
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains(PASSWORD), "the password reached the journal");
}

/// `cutover verify --json` of the inventory's source against its target.
fn verify(dir: &Path, inventory: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec![
        "verify",
        "--inventory",
        inventory.to_str().unwrap(),
        "--source",
        "source",
        "--target",
        "target",
        "--json",
    ];
    args.extend_from_slice(extra);
    let ended = cutover(dir, "verify", &args, &[("SOURCE_PW", PASSWORD)], RUN);
    let report = serde_json::from_str(&ended.stdout).unwrap_or_else(|e| panic!("{e}: {}", ended.describe()));
    (ended.code, report)
}

#[test]
fn a_dual_write_in_flight_settles_instead_of_counting_as_a_difference() {
    let source = Mariadb::start();
    source.sql("CREATE DATABASE app; CREATE TABLE app.t (id int PRIMARY KEY, v varchar(20)); INSERT INTO app.t VALUES (1, 'a'), (2, 'b')");
    let target = Cluster::start(ClusterOptions::default());
    target.psql("CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, v varchar(20)); INSERT INTO app.t VALUES (1, 'a'), (2, 'b')");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &source, &target.dsn());
    assert_eq!(verify(dir.path(), &inv, &[]).0, Some(0));

    // A write that lands on the target 1.5 s after the source: in flight while verify looks.
    let late = |id: u32| {
        source.sql(&format!("INSERT INTO app.t VALUES ({id}, 'late')"));
        let dsn = target.dsn();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let out = std::process::Command::new(support::pg::pg_bins().tool("psql"))
                .args([&dsn, "-c", &format!("INSERT INTO app.t VALUES ({id}, 'late')")])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        })
    };
    let landing = late(3);
    let (code, report) = verify(dir.path(), &inv, &["--settle", "6s"]);
    landing.join().unwrap();
    assert_eq!(code, Some(0), "{report:#}");

    // Without settling, the same write in flight is a row missing on the target.
    let landing = late(4);
    let (code, report) = verify(dir.path(), &inv, &[]);
    landing.join().unwrap();
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["tables"][0]["differences"][0]["key"]["id"], 4, "{report:#}");
    assert_eq!(report["tables"][0]["differences"][0]["kind"], "missing_on_target", "{report:#}");

    // A real difference still counts once the settling time is over.
    source.sql("UPDATE app.t SET v = 'changed' WHERE id = 2");
    let (code, report) = verify(dir.path(), &inv, &["--settle", "1s"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["tables"][0]["differences"][0]["key"]["id"], 2, "{report:#}");
    assert_eq!(report["tables"][0]["differences"][0]["kind"], "different", "{report:#}");
}
