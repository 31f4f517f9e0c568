//! `cutover run --yes` and `cutover resume --yes` against real PostgreSQL
//! clusters, checked from the outside: what the databases hold afterwards
//! (read with psql, not with cutover), the exit codes, and the journal.
//!
//! * the shipped logical-migration runbook moves a database between two
//!   clusters while a writer keeps writing, until the source turns read-only;
//!   its `cutover report` shows the phases, the write pause and a lag chart,
//!   and opens in headless Chromium without errors, the chart visible;
//! * a run killed (SIGKILL) during a wait resumes to completion; one killed
//!   during a statement that writes holds that step until `--held skip` or
//!   `--held rerun`; a torn last journal line is cut off on resume;
//! * a failing step with `retry 1 then rollback` runs the rollback phase;
//! * a password never reaches stdout, stderr or the journal.
//!
//! The small runbooks are in `tests/fixtures/run/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use support::pg::{Cluster, ClusterOptions};
use support::run::*;

const MIGRATION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/pg-logical-migration.toml");
/// How long a small fixture run may take (it takes a second or two).
const SMALL_RUN: Duration = Duration::from_secs(60);
/// How long the whole logical migration may take (it takes well under a minute).
const MIGRATION_RUN: Duration = Duration::from_secs(170);

// ---------------------------------------------------------------------------
// 1. The shipped logical migration, with a writer

const SCHEMA: &str = "
CREATE TABLE customers (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  balance numeric(12,2) NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00'
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers (id),
  amount numeric(10,2) NOT NULL,
  note text
);
CREATE TABLE tags (
  order_id bigint NOT NULL REFERENCES orders (id),
  tag text NOT NULL,
  PRIMARY KEY (order_id, tag)
);
CREATE TABLE coupons (id serial PRIMARY KEY, code text NOT NULL UNIQUE);
CREATE TABLE settings (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE SEQUENCE invoice_no START 1000;
INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, amount, note)
  SELECT 1 + g % 2000, (g % 997) / 10.0, CASE WHEN g % 3 = 0 THEN NULL ELSE 'order ' || g END
  FROM generate_series(1, 8000) g;
INSERT INTO tags SELECT id, 'bulk' FROM orders;
INSERT INTO settings SELECT 'key' || g, jsonb_build_object('n', g, 'even', g % 2 = 0) FROM generate_series(1, 50) g;
SELECT count(nextval('invoice_no')) FROM generate_series(1, 5);
";
const TABLES: [&str; 5] = ["coupons", "customers", "orders", "settings", "tags"];
const CUSTOMERS: u64 = 2000;
const ORDERS: u64 = 8000;
/// The writer's pause between commits.
const WRITE_EVERY: Duration = Duration::from_millis(20);

/// What the writer did: every commit's time, what it committed, and why it stopped.
#[derive(Debug, Default)]
struct Writes {
    commits: Vec<DateTime<Utc>>,
    orders: u64,
    customers: u64,
    tags_deleted: u64,
    read_only: bool,
    stopped_by: String,
}

/// A writer on the source: a new order (with a tag and an update of its
/// customer) most of the time, now and then a new customer or a deleted tag,
/// one autocommitted statement every [`WRITE_EVERY`], until a write fails as
/// read-only (or `stop` is set).
fn start_writer(dsn: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Writes> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let client = support::connect(&dsn).await;
            let mut w = Writes::default();
            for i in 1u64.. {
                if stop.load(Ordering::Relaxed) {
                    w.stopped_by = "the test stopped it".to_owned();
                    break;
                }
                let customer = 1 + (i * 7919) % CUSTOMERS;
                let kind = if i % 20 == 0 {
                    'c'
                } else if i % 15 == 0 {
                    'd'
                } else {
                    'o'
                };
                let sql = match kind {
                    'c' => format!("INSERT INTO customers (name) VALUES ('writer {i}')"),
                    'd' => "DELETE FROM tags WHERE (order_id, tag) IN \
                            (SELECT order_id, tag FROM tags WHERE tag = 'bulk' ORDER BY order_id LIMIT 1)"
                        .to_owned(),
                    _ => format!(
                        "WITH o AS (INSERT INTO orders (customer_id, amount, note) VALUES ({customer}, {}.{:02}, 'live {i}') RETURNING id), \
                         t AS (INSERT INTO tags (order_id, tag) SELECT id, 'live' FROM o) \
                         UPDATE customers SET balance = balance + 1, updated_at = now() WHERE id = {}",
                        i % 500,
                        i % 100,
                        1 + (i * 31) % CUSTOMERS
                    ),
                };
                match client.batch_execute(&sql).await {
                    Ok(()) => {
                        w.commits.push(Utc::now());
                        match kind {
                            'c' => w.customers += 1,
                            'd' => w.tags_deleted += 1,
                            _ => w.orders += 1,
                        }
                    }
                    Err(e) => {
                        w.read_only = e.code() == Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION);
                        w.stopped_by = format!("{e:?}");
                        break;
                    }
                }
                tokio::time::sleep(WRITE_EVERY).await;
            }
            w
        })
    })
}

/// `count:md5` of a table's rows in a stable order and text form.
fn fingerprint(cluster: &Cluster, table: &str) -> String {
    cluster.psql(&format!(
        "SET TimeZone = 'UTC'; SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '-') FROM {table} t"
    ))
}

fn count(cluster: &Cluster, table: &str) -> u64 {
    cluster.psql(&format!("SELECT count(*) FROM {table}")).parse().unwrap()
}

/// Every sequence and its `last_value` in `pg_sequences` (`None`: never used).
fn sequences(cluster: &Cluster) -> Vec<(String, Option<i64>)> {
    cluster
        .psql("SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences ORDER BY 1")
        .lines()
        .map(|line| {
            let (name, value) = line.split_once('|').unwrap();
            (name.to_owned(), (!value.is_empty()).then(|| value.parse().unwrap()))
        })
        .collect()
}

/// A step of a runbook, as read from its TOML (not from cutover).
#[derive(Debug)]
struct Step {
    id: String,
    name: String,
    verify: bool,
    starts_write_pause: bool,
    ends_write_pause: bool,
}

/// The forward steps of a runbook, with the ids cutover gives them: phases
/// numbered from 1 (the rollback phase is `R`), steps from 1 within each.
fn forward_steps(runbook: &str) -> Vec<Step> {
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(runbook).unwrap()).unwrap();
    let mut steps = Vec::new();
    let mut number = 0;
    for phase in table["phase"].as_array().unwrap() {
        if phase.get("rollback").and_then(toml::Value::as_bool) == Some(true) {
            continue;
        }
        number += 1;
        for (i, step) in phase["step"].as_array().unwrap().iter().enumerate() {
            let flag = |key: &str| step.get(key).and_then(toml::Value::as_bool) == Some(true);
            steps.push(Step {
                id: format!("{number}.{}", i + 1),
                name: step["name"].as_str().unwrap().to_owned(),
                verify: step.get("verify").is_some(),
                starts_write_pause: flag("starts_write_pause"),
                ends_write_pause: flag("ends_write_pause"),
            });
        }
    }
    steps
}

#[test]
fn pg_logical_migration_moves_the_data_while_a_writer_writes() {
    // The harness leaves synchronous_commit off (its default for speed), the
    // hard case: the source's walsender sends only what the WAL writer has
    // flushed (every 200 ms), so under a steady writer some commit is always
    // in flight, and verification must not count those rows as differences.
    let source = Cluster::start(ClusterOptions::default().setting("wal_level", "logical"));
    let target = Cluster::start(ClusterOptions::default());
    source.psql(SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("source", source.dsn(), None), ("target", target.dsn(), None)]);
    let journal_path = dir.path().join("journal").join("migration.jsonl");

    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_writer(source.dsn(), Arc::clone(&stop));
    // The shipped runbook has manual steps: unattended, they pass by themselves only when allowed.
    let args = [run_args(MIGRATION, &inv, &journal_path, "rehearsal-bot").as_slice(), &["--allow-manual"]].concat();
    let run = spawn(dir.path(), "run", &args, &[]).wait(MIGRATION_RUN);
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert_eq!(run.code, Some(0), "the migration did not complete:\n{}", run.describe());
    assert!(run.stdout.contains("run completed"), "{}", run.describe());

    // The writer ran until the runbook made the source read-only.
    assert!(writes.read_only, "the writer stopped for another reason than a read-only source: {}", writes.stopped_by);
    assert!(writes.orders > 0 && writes.customers > 0 && writes.tags_deleted > 0, "{writes:?}");
    assert_eq!(source.psql("SHOW default_transaction_read_only"), "on", "a new session on the source is read-only");

    // Independently of cutover: every table holds the same rows on both sides,
    // and the source holds exactly what the writer committed.
    let tables =
        source.psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'");
    assert_eq!(tables, TABLES.join(","));
    assert_eq!(count(&source, "customers"), CUSTOMERS + writes.customers);
    assert_eq!(count(&source, "orders"), ORDERS + writes.orders);
    assert_eq!(count(&source, "tags"), ORDERS + writes.orders - writes.tags_deleted);
    for table in TABLES {
        assert_eq!(fingerprint(&target, table), fingerprint(&source, table), "table {table} differs");
    }

    // Sequences: the used ones where the source left them, the never-used
    // one still unused, so the application's next inserts on the target work.
    let (on_source, on_target) = (sequences(&source), sequences(&target));
    assert_eq!(
        on_source.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["public.coupons_id_seq", "public.customers_id_seq", "public.invoice_no", "public.orders_id_seq"]
    );
    assert_eq!(on_target.len(), on_source.len(), "{on_target:?}");
    for ((name, s), (target_name, t)) in on_source.iter().zip(&on_target) {
        assert_eq!(name, target_name);
        if name == "public.coupons_id_seq" {
            assert_eq!((*s, *t), (None, None), "{name} was never used");
        } else {
            let (s, t) = (s.expect("used on the source"), t.unwrap_or_else(|| panic!("{name} unset on the target")));
            assert!(t >= s, "{name}: target {t} < source {s}");
            assert_eq!(t, s, "{name}");
        }
    }
    let max_order: i64 = source.psql("SELECT max(id) FROM orders").parse().unwrap();
    let next_order: i64 =
        target.psql("INSERT INTO orders (customer_id, amount) VALUES (1, 1) RETURNING id").parse().unwrap();
    assert_eq!(next_order, max_order + 1, "the target's orders sequence continues the source's");
    assert_eq!(target.psql("INSERT INTO coupons (code) VALUES ('FIRST') RETURNING id"), "1");
    assert_eq!(target.psql("SELECT count(*) FROM pg_subscription"), "0", "the subscription is dropped");
    assert_eq!(source.psql("SELECT count(*) FROM pg_replication_slots"), "0", "and its slot with it");

    // The journal.
    let records = journal(&journal_path);
    let trail = events(&records);
    assert_eq!(mode(&journal_path), 0o600);
    for (i, r) in records.iter().enumerate() {
        let at = r["at"].as_str().unwrap_or_else(|| panic!("record {i} has no `at`: {r}"));
        DateTime::parse_from_rfc3339(at).unwrap_or_else(|e| panic!("record {i}: `at` {at}: {e}"));
    }
    assert_eq!(records[0]["event"], "started");
    assert_eq!(records[0]["operator"], "rehearsal-bot");
    let last = records.last().unwrap();
    assert_eq!((&last["event"], &last["outcome"]), (&Value::from("finished"), &Value::from("completed")), "{trail:?}");
    assert!(!records.iter().any(|r| r["event"] == "rollback"), "{trail:?}");
    assert!(!records.iter().any(|r| r["event"] == "step_started" && r["step"].as_str().unwrap().starts_with("R.")));

    let steps = forward_steps(MIGRATION);
    assert!(steps.len() > 20, "{steps:?}");
    for step in &steps {
        let id = step.id.as_str();
        assert!(first(&records, |r| is(r, "planned", id)).is_some(), "no plan for {id} {}", step.name);
        if step.name == "A recent backup and a working WAL archive" {
            // This inventory gives the source no backup repository (tests/backup_gauges.rs runs the step).
            let skipped = records.iter().find(|r| is(r, "skipped", id)).unwrap_or_else(|| panic!("{id} not skipped"));
            assert!(skipped["reason"].as_str().unwrap().contains("backup.configured(source)"), "{skipped}");
            continue;
        }
        let started = indexes(&records, "step_started", id);
        assert!(!started.is_empty(), "{id} {} never started: {trail:?}", step.name);
        assert!(
            records.iter().any(|r| is(r, "step_finished", id) && r["ok"] == true),
            "{id} {} did not finish ok: {trail:?}",
            step.name
        );
        // Each start follows its own confirmation, by the operator.
        for &s in &started {
            let before = records[..s]
                .iter()
                .rev()
                .find(|r| is(r, "confirmed", id) || is(r, "step_started", id))
                .unwrap_or_else(|| panic!("{id} started without a confirmation: {trail:?}"));
            assert_eq!(before["event"], "confirmed", "{id} started again without a confirmation: {trail:?}");
            let operator = before["operator"].as_str().unwrap();
            assert!(operator.contains("rehearsal-bot"), "{id} confirmed by {operator}");
        }
    }

    // The write pause: started by one step, ended by a later one.
    let pause_start = steps.iter().find(|s| s.starts_write_pause).unwrap();
    let pause_end = steps.iter().find(|s| s.ends_write_pause).unwrap();
    let paused_at = first(&records, |r| is(r, "step_started", &pause_start.id)).unwrap();
    let resumed_at = first(&records, |r| is(r, "step_finished", &pause_end.id) && r["ok"] == true).unwrap();
    assert!(paused_at < resumed_at, "the write pause ends before it starts: {trail:?}");
    let outline: Vec<&Value> = records[0]["outline"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rollback"] == false)
        .flat_map(|p| p["steps"].as_array().unwrap())
        .collect();
    let ids = |f: &dyn Fn(&Value) -> bool| outline.iter().filter(|s| f(s)).map(|s| s["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&|_| true), steps.iter().map(|s| Value::from(s.id.as_str())).collect::<Vec<_>>());
    assert_eq!(ids(&|s| s["starts_write_pause"] == true), [Value::from(pause_start.id.as_str())]);
    assert_eq!(ids(&|s| s["ends_write_pause"] == true), [Value::from(pause_end.id.as_str())]);
    let planned = records.iter().find(|r| is(r, "planned", &pause_start.id)).unwrap().to_string();
    assert!(planned.contains("starts the write pause"), "{planned}");
    let confirmed = records.iter().find(|r| is(r, "confirmed", &pause_start.id)).unwrap();
    assert_eq!(confirmed["headless"], true, "a destructive step confirmed by --yes, as such: {confirmed}");
    assert!(confirmed.get("typed").is_none(), "nobody typed the endpoint's name: {confirmed}");
    assert!(
        records.iter().any(|r| is(r, "gate", &pause_start.id) && r["holds"] == true),
        "the gate of {} was never seen open: {trail:?}",
        pause_start.id
    );

    // The writer wrote while the target followed: after the initial copy,
    // before the source turned read-only.
    let copied = steps.iter().find(|s| s.name == "Wait for the initial copy").unwrap();
    let at = |i: usize| DateTime::parse_from_rfc3339(records[i]["at"].as_str().unwrap()).unwrap().with_timezone(&Utc);
    let copy_done = at(first(&records, |r| is(r, "step_finished", &copied.id) && r["ok"] == true).unwrap());
    let read_only_from = at(paused_at);
    let streamed = writes.commits.iter().filter(|c| **c > copy_done && **c < read_only_from).count();
    assert!(
        streamed > 0,
        "no write between the end of the initial copy ({copy_done}) and read-only ({read_only_from})"
    );

    // Both verifications found every table equal.
    let verifies: Vec<&Step> = steps.iter().filter(|s| s.verify).collect();
    assert_eq!(verifies.len(), 2, "{steps:?}");
    for step in verifies {
        let finished = records.iter().rev().find(|r| is(r, "step_finished", &step.id)).unwrap();
        assert_eq!(finished["summary"], format!("{} tables equal", TABLES.len()), "{}", step.name);
        let output = output_of(&records, &step.id);
        for table in TABLES {
            assert!(
                output.iter().any(|line| line.starts_with(&format!("public.{table}: equal ("))),
                "{} does not show {table} equal: {output:#?}",
                step.name
            );
        }
    }

    // A restore point on the source, made while its writes were stopped, named after the run and the step.
    let point = steps.iter().find(|s| s.name == "Restore point on the source").unwrap();
    let made = records.iter().find(|r| r["event"] == "restore_point").expect("no restore point in the journal");
    assert_eq!((made["step"].as_str(), made["endpoint"].as_str()), (Some(point.id.as_str()), Some("source")));
    let name = made["name"].as_str().unwrap().to_owned();
    let started = records[0]["at"].as_str().unwrap();
    let stamp = format!(
        "{}{}{}T{}{}{}Z",
        &started[0..4],
        &started[5..7],
        &started[8..10],
        &started[11..13],
        &started[14..16],
        &started[17..19]
    );
    assert_eq!(name, format!("cutover-{stamp}-{}", point.id));
    let made_at = at(records.iter().position(|r| r["event"] == "restore_point").unwrap());
    assert!(made_at > read_only_from && made_at < at(resumed_at), "the restore point was not made with writes stopped");
    assert!(made["lsn"].as_str().unwrap().contains('/'), "{made}");

    // The run's report.
    let pause = at(resumed_at) - at(paused_at);
    check_the_report(dir.path(), &journal_path, &records, pause);
}

/// `cutover report` on the migration's journal shows the phases, the write
/// pause's length and the lag as an SVG chart; the page loads in headless
/// Chromium without a console message, and its screenshot shows the lag line.
/// `CUTOVER_KEEP_TEST_DIRS=1` keeps the page and the screenshot.
fn check_the_report(dir: &Path, journal: &Path, records: &[Value], pause: chrono::Duration) {
    let out = support::scratch_dir("cutover-migration-report-");
    let html = out.path().join("migration.html");
    let args = ["report", journal.to_str().unwrap(), "-o", html.to_str().unwrap()];
    let report = cutover(dir, "report", &args, &[], SMALL_RUN);
    assert_eq!(report.code, Some(0), "cutover report failed:\n{}", report.describe());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h1>pg-logical-migration</h1>"), "{page}");
    for phase in records[0]["outline"]["phases"].as_array().unwrap() {
        let (id, name) = (phase["id"].as_str().unwrap(), phase["name"].as_str().unwrap());
        let row = format!("{} {}", id, cutover::report::html::escape(name));
        assert!(page.contains(&row), "the report has no phase {row}");
    }
    let length = cutover::report::duration_text(pause);
    assert!(
        page.contains(&format!("id=\"write-pause-length\">{length}<")),
        "the report does not say the write pause lasted {length}"
    );
    assert!(page.contains(&format!("{} tables equal", TABLES.len())), "the verify steps' verdicts");
    assert!(
        records.iter().filter(|r| r["event"] == "confirmed").all(|r| r["headless"] == true),
        "every confirmation of a --yes run is headless"
    );
    assert!(
        page.contains("<td>rehearsal-bot</td><td>unattended (--yes)</td>"),
        "the report says the switch was confirmed by nobody"
    );
    assert!(page.contains("completed"));
    let point = records.iter().find(|r| r["event"] == "restore_point").unwrap();
    assert!(
        page.contains("The way back") && page.contains(point["name"].as_str().unwrap()),
        "the report does not name the restore point"
    );
    let start = page.find("id=\"chart-lag-bytes\"").expect("a lag chart");
    let lag = &page[start..start + page[start..].find("</figure>").unwrap()];
    let c = cutover::report::svg::LAG_COLOUR;
    let colour = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
    assert!(lag.contains("<svg") && lag.contains("<polyline") && lag.contains(&colour), "{lag}");

    let loaded = support::chromium::dump_dom(&html);
    assert!(loaded.console().is_empty(), "the report's console is not clean:\n{}", loaded.stderr);
    assert!(loaded.stdout.contains("pg-logical-migration") && loaded.stdout.contains("<polyline"));
    let png = out.path().join("migration.png");
    support::chromium::screenshot(&html, &png, (1100, 9000));
    let image = support::chromium::Image::read(&png);
    support::chromium::assert_lag_line_visible(&image, (c.0, c.1, c.2), 100);
}

// ---------------------------------------------------------------------------
// 2. and 3. Killed runs

#[test]
fn a_kill_during_a_wait_step_resumes_to_completion() {
    let db = Cluster::start(ClusterOptions::default());
    db.psql("CREATE TABLE done (x int)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", db.dsn(), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let runbook = fixture("wait-for-flag.toml");

    let mut run = spawn(dir.path(), "run", &run_args(&runbook, &inv, &journal_path, "ann"), &[]);
    run.wait_for_record(&journal_path, "step 1.2 started", |r| is(r, "step_started", "1.2"));
    assert_eq!(count(&db, "gate_flag"), 0, "1.1 ran and nothing set the flag");
    run.kill();
    db.psql("INSERT INTO gate_flag VALUES (1)");
    let killed = journal(&journal_path).len();

    let resumed = cutover(dir.path(), "resume", &["resume", journal_path.to_str().unwrap(), "--yes"], &[], SMALL_RUN);
    assert_eq!(resumed.code, Some(0), "{}", resumed.describe());
    assert!(resumed.stdout.contains("1.2 Wait for the flag was interrupted"), "{}", resumed.describe());
    assert!(resumed.stdout.contains("run completed"), "{}", resumed.describe());

    let records = journal(&journal_path);
    let trail = events(&records);
    let interrupted = indexes(&records, "interrupted", "1.2");
    let resumed_at = first(&records, |r| r["event"] == "resumed").expect("a resumed record");
    assert_eq!(interrupted.len(), 1, "{trail:?}");
    assert!(resumed_at >= killed && interrupted[0] > resumed_at, "{trail:?}");
    assert_eq!(records[resumed_at]["operator"], "ann", "the run's operator by default");
    // The wait only reads: it ran again by itself, after the interruption.
    let started = indexes(&records, "step_started", "1.2");
    assert_eq!(started.len(), 2, "{trail:?}");
    assert!(started[0] < killed && started[1] > interrupted[0], "{trail:?}");
    for step in ["1.2", "1.3"] {
        let finished = indexes(&records, "step_finished", step);
        assert_eq!(finished.len(), 1, "{trail:?}");
        assert_eq!(records[finished[0]]["ok"], true, "{step}: {}", records[finished[0]]);
    }
    assert!(!records.iter().any(|r| is(r, "skipped", "1.2") || is(r, "rerun", "1.2")), "{trail:?}");
    assert_eq!(indexes(&records, "step_started", "1.1").len(), 1, "1.1 ran once: {trail:?}");
    assert_eq!(records.last().unwrap()["outcome"], "completed", "{trail:?}");
    assert_eq!(count(&db, "done"), 1);
}

/// A fresh database with the `hits`, `after` and `go` tables, an inventory for it,
/// and a run of `runbook` killed while step 1.1 runs, after its first
/// statement (`INSERT INTO hits`) committed.
fn killed_during_first_step(runbook: &str) -> (Cluster, tempfile::TempDir, PathBuf) {
    let db = Cluster::start(ClusterOptions::default());
    db.psql("CREATE TABLE hits (x int); CREATE TABLE after (x int); CREATE TABLE go (x int);");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", db.dsn(), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let mut run = spawn(dir.path(), "run", &run_args(&fixture(runbook), &inv, &journal_path, "ann"), &[]);
    run.wait_for_record(&journal_path, "step 1.1 started", |r| is(r, "step_started", "1.1"));
    support::wait_until("the INSERT of 1.1 committed", REACH, || count(&db, "hits") == 1);
    // Still in its second statement.
    assert!(!journal_so_far(&journal_path).iter().any(|r| is(r, "step_finished", "1.1")));
    run.kill();
    (db, dir, journal_path)
}

#[test]
fn a_kill_during_a_sql_step_holds_it_as_interrupted() {
    let (db, dir, journal_path) = killed_during_first_step("sleep-in-sql.toml");
    let journal_arg = journal_path.to_str().unwrap();
    let killed = journal(&journal_path).len();
    assert!(!journal_so_far(&journal_path).iter().any(|r| r["event"] == "finished"));

    // As if the process had died in the middle of writing a line.
    const TORN: &str = r#"{"at":"2026-01-01T00:00:00Z","event":"outp"#;
    std::fs::OpenOptions::new().append(true).open(&journal_path).unwrap().write_all(TORN.as_bytes()).unwrap();

    // Unattended, an interrupted step that writes is held, not run again.
    let held = cutover(dir.path(), "resume", &["resume", journal_arg, "--yes"], &[], SMALL_RUN);
    assert_eq!(held.code, Some(1), "{}", held.describe());
    assert!(held.stderr.contains("step 1.1 was interrupted"), "{}", held.describe());
    assert!(held.stderr.contains("--held rerun") && held.stderr.contains("--held skip"), "{}", held.describe());
    let text = std::fs::read_to_string(&journal_path).unwrap();
    assert!(!text.contains(TORN), "the torn line is still there:\n{text}");
    let records = journal(&journal_path);
    let trail = events(&records);
    // What the resume added, gauge samples aside.
    let added: Vec<&Value> = records[killed..].iter().filter(|r| r["event"] != "sample").collect();
    assert_eq!(added.len(), 3, "{trail:?}");
    assert_eq!(added[0]["event"], "resumed", "{trail:?}");
    assert!(is(added[1], "interrupted", "1.1"), "{trail:?}");
    assert_eq!(added[2]["event"], "paused", "{trail:?}");
    assert!(added[2]["reason"].as_str().unwrap().contains("1.1"), "{}", added[2]);
    assert_eq!(indexes(&records, "step_started", "1.1").len(), 1, "not run again: {trail:?}");
    assert_eq!(count(&db, "hits"), 1);
    assert_eq!(count(&db, "after"), 0);

    // The operator checked that 1.1 took effect: skip it and go on.
    let skipped = cutover(dir.path(), "skip", &["resume", journal_arg, "--yes", "--held", "skip"], &[], SMALL_RUN);
    assert_eq!(skipped.code, Some(0), "{}", skipped.describe());
    let records = journal(&journal_path);
    let trail = events(&records);
    let skip = indexes(&records, "skipped", "1.1");
    assert_eq!(skip.len(), 1, "{trail:?}");
    assert_eq!(records[skip[0]]["operator"], "ann");
    assert_eq!(indexes(&records, "interrupted", "1.1").len(), 1, "interrupted once, not again: {trail:?}");
    assert_eq!(indexes(&records, "step_started", "1.1").len(), 1, "{trail:?}");
    assert!(!records.iter().any(|r| is(r, "step_finished", "1.1")), "{trail:?}");
    let done = indexes(&records, "step_finished", "1.2");
    assert_eq!(done.len(), 1, "{trail:?}");
    assert_eq!(records[done[0]]["ok"], true);
    assert!(done[0] > skip[0]);
    assert_eq!(records.last().unwrap()["outcome"], "completed", "{trail:?}");
    assert_eq!(count(&db, "hits"), 1, "1.1 was skipped, not run again");
    assert_eq!(count(&db, "after"), 1);
}

#[test]
fn a_held_step_runs_again_with_held_rerun() {
    let (db, dir, journal_path) = killed_during_first_step("hold-until-go.toml");
    let journal_arg = journal_path.to_str().unwrap();
    db.psql("INSERT INTO go VALUES (1)");
    let rerun = cutover(dir.path(), "rerun", &["resume", journal_arg, "--yes", "--held", "rerun"], &[], SMALL_RUN);
    assert_eq!(rerun.code, Some(0), "{}", rerun.describe());
    let records = journal(&journal_path);
    let trail = events(&records);
    let interrupted = indexes(&records, "interrupted", "1.1");
    let again = indexes(&records, "rerun", "1.1");
    let started = indexes(&records, "step_started", "1.1");
    assert_eq!((interrupted.len(), again.len(), started.len()), (1, 1, 2), "{trail:?}");
    assert!(started[0] < interrupted[0] && interrupted[0] < again[0] && again[0] < started[1], "{trail:?}");
    assert_eq!(records[again[0]]["operator"], "ann");
    let finished = indexes(&records, "step_finished", "1.1");
    assert_eq!(finished.len(), 1, "{trail:?}");
    assert_eq!(records[finished[0]]["ok"], true);
    assert_eq!(records.last().unwrap()["outcome"], "completed", "{trail:?}");
    assert_eq!(count(&db, "hits"), 2, "1.1 ran again from its first statement");
    assert_eq!(count(&db, "after"), 1);
}

// ---------------------------------------------------------------------------
// 4. Rollback

#[test]
fn a_failure_with_rollback_policy_runs_the_rollback_phase() {
    let db = Cluster::start(ClusterOptions::default());
    db.psql("CREATE TABLE rolled_back (x int); CREATE TABLE never (x int);");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", db.dsn(), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let runbook = fixture("retry-then-rollback.toml");
    let run = cutover(dir.path(), "run", &run_args(&runbook, &inv, &journal_path, "ann"), &[], SMALL_RUN);
    assert_eq!(run.code, Some(3), "{}", run.describe());
    assert!(run.stdout.contains("ROLLBACK"), "{}", run.describe());
    assert!(run.stdout.contains("run rolled back"), "{}", run.describe());

    let records = journal(&journal_path);
    let trail = events(&records);
    let attempts: Vec<&Value> =
        records.iter().filter(|r| is(r, "step_started", "1.1")).map(|r| &r["attempt"]).collect();
    assert_eq!(attempts, [1, 2], "{trail:?}");
    let failures: Vec<&Value> = records.iter().filter(|r| is(r, "step_finished", "1.1")).collect();
    assert_eq!(failures.len(), 2, "{trail:?}");
    for f in &failures {
        assert_eq!(f["ok"], false, "{f}");
        assert!(f["summary"].as_str().unwrap().contains("division by zero"), "{f}");
    }
    let rollback = first(&records, |r| r["event"] == "rollback").expect("a rollback record");
    assert!(rollback > indexes(&records, "step_finished", "1.1")[1], "{trail:?}");
    assert!(records[rollback]["reason"].as_str().unwrap().contains("1.1"), "{}", records[rollback]);
    let undo = indexes(&records, "step_finished", "R.1");
    assert_eq!(undo.len(), 1, "{trail:?}");
    assert!(undo[0] > rollback && records[undo[0]]["ok"] == true, "{trail:?}");
    assert!(indexes(&records, "step_started", "1.2").is_empty(), "{trail:?}");
    assert_eq!(records.last().unwrap()["outcome"], "rolled_back", "{trail:?}");
    assert_eq!(count(&db, "rolled_back"), 1);
    assert_eq!(count(&db, "never"), 0);
}

/// A journal written by cutover before the run driver's redesign (issue 15:
/// `tests/fixtures/journals/wait-for-flag-killed.jsonl`, killed while step
/// 1.2 waited, paths and port left as placeholders) still resumes to the
/// end, and still replays and reports. It pins `fixtures/run/wait-for-flag.toml`
/// by its hash: that file must not change.
#[test]
fn a_journal_from_before_the_redesign_resumes_replays_and_reports() {
    let db = Cluster::start(ClusterOptions::default());
    // What step 1.1 had made before the kill, and the flag 1.2 waits for.
    db.psql("CREATE TABLE done (x int); CREATE TABLE gate_flag (x int); INSERT INTO gate_flag VALUES (1)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", db.dsn(), None)]);
    let fixture_journal = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/journals/wait-for-flag-killed.jsonl"
    ))
    .unwrap();
    let journal_path = dir.path().join("old.jsonl");
    let port = db.dsn().split_whitespace().find_map(|w| w.strip_prefix("port=")).unwrap().to_owned();
    std::fs::write(
        &journal_path,
        fixture_journal
            .replace("{RUNBOOK}", &fixture("wait-for-flag.toml"))
            .replace("{INVENTORY}", inv.to_str().unwrap())
            .replace("{PORT}", &port),
    )
    .unwrap();
    let html = dir.path().join("old.html");
    let report = cutover(
        dir.path(),
        "report",
        &["report", journal_path.to_str().unwrap(), "-o", html.to_str().unwrap()],
        &[],
        SMALL_RUN,
    );
    assert_eq!(report.code, Some(0), "{}", report.describe());
    assert!(std::fs::read_to_string(&html).unwrap().contains("wait-for-flag"));
    // The replay's screens, as a recording.
    let cast = dir.path().join("old.cast");
    let replay = cutover(
        dir.path(),
        "export",
        &["export", journal_path.to_str().unwrap(), "--asciicast", cast.to_str().unwrap()],
        &[],
        SMALL_RUN,
    );
    assert_eq!(replay.code, Some(0), "{}", replay.describe());
    assert!(std::fs::read_to_string(&cast).unwrap().contains("Wait for the flag"), "{}", replay.describe());

    let resumed = cutover(dir.path(), "resume", &["resume", journal_path.to_str().unwrap(), "--yes"], &[], SMALL_RUN);
    assert_eq!(resumed.code, Some(0), "{}", resumed.describe());
    assert_eq!(count(&db, "done"), 1, "step 1.3 ran");
    let records = journal(&journal_path);
    assert_eq!(records.last().unwrap()["outcome"], "completed", "{:?}", events(&records));
}

/// A step's `when` decides whether it is needed: read before the step, it
/// runs it, skips it (journaled with what it read), or, unreadable, fails it
/// rather than guess.
#[test]
fn a_step_runs_only_when_its_guard_says_it_is_needed() {
    let db = Cluster::start(ClusterOptions::default());
    db.psql("CREATE TABLE marks (mark text)");
    let dir = tempfile::tempdir().unwrap();
    let ghost = "host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=2".to_owned();
    let inv = inventory(dir.path(), &[("db", db.dsn(), None), ("ghost", ghost, None)]);
    let journal_path = dir.path().join("run.jsonl");
    let run = cutover(dir.path(), "run", &run_args(&fixture("when.toml"), &inv, &journal_path, "ann"), &[], SMALL_RUN);
    assert_eq!(run.code, Some(1), "held at the step it cannot decide: {}", run.describe());
    assert_eq!(db.psql("SELECT string_agg(mark, ',') FROM marks"), "needed");
    let records = journal(&journal_path);
    let trail = events(&records);
    let skipped = records.iter().find(|r| is(r, "skipped", "1.2")).unwrap_or_else(|| panic!("{trail:?}"));
    assert_eq!(skipped["operator"], "cutover");
    assert!(skipped["reason"].as_str().unwrap().contains("read \"0\" on db, not 1"), "{skipped}");
    assert!(indexes(&records, "step_started", "1.2").is_empty(), "{trail:?}");
    let failed = &records[indexes(&records, "step_finished", "1.3")[0]];
    assert_eq!(failed["ok"], false);
    assert!(failed["summary"].as_str().unwrap().contains("could not tell whether the step is needed"), "{failed}");
}

// ---------------------------------------------------------------------------
// 5. Secrets

#[test]
fn secrets_never_reach_the_journal_or_stdout() {
    const PASSWORD: &str = "Zq8-hunter-77xK";
    const PASSWORD_ENV: &str = "RUN_LIVE_APP_PASSWORD";
    let db = Cluster::start(ClusterOptions::default().password_user("app", PASSWORD));
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", db.dsn_as("app", "postgres"), Some(PASSWORD_ENV))]);
    let journal_path = dir.path().join("run.jsonl");
    let runbook = fixture("secrets.toml");
    let run = cutover(
        dir.path(),
        "run",
        &run_args(&runbook, &inv, &journal_path, "ann"),
        &[(PASSWORD_ENV, PASSWORD)],
        SMALL_RUN,
    );
    let text = std::fs::read_to_string(&journal_path).unwrap();
    assert!(!run.stdout.contains(PASSWORD), "the password reached stdout:\n{}", run.stdout);
    assert!(!run.stderr.contains(PASSWORD), "the password reached stderr:\n{}", run.stderr);
    assert!(!text.contains(PASSWORD), "the password reached the journal:\n{text}");
    // The last step fails, and its policy is to stop.
    assert_eq!(run.code, Some(1), "{}", run.describe());

    let records = journal(&journal_path);
    let trail = events(&records);
    let finished =
        |step: &str| records.iter().find(|r| is(r, "step_finished", step)).unwrap_or_else(|| panic!("{trail:?}"));
    let planned = records.iter().find(|r| is(r, "planned", "1.1")).unwrap();
    let shows = planned["shows"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join("\n");
    assert!(shows.contains("password=******") && shows.contains("user=app"), "{shows}");
    // The database's answer quotes the DSN: masked.
    assert_eq!(finished("1.1")["ok"], true);
    assert!(
        output_of(&records, "1.1").iter().any(|l| l.contains("user=app") && l.contains("password=******")),
        "{text}"
    );
    // psql found the password in PGPASSFILE: the command line had none.
    assert_eq!(finished("1.2")["ok"], true, "{text}");
    assert!(output_of(&records, "1.2").iter().any(|l| l.trim() == "42"), "{text}");
    let shell_plan = records.iter().find(|r| is(r, "planned", "1.2")).unwrap().to_string();
    assert!(!shell_plan.contains("password="), "a shell command's DSN carries no password: {shell_plan}");
    // A command that prints the password file: masked.
    assert_eq!(finished("1.3")["ok"], true, "{text}");
    let printed = output_of(&records, "1.3");
    assert!(printed.iter().any(|l| l.contains(":app:") && l.ends_with("******")), "{printed:?}");
    // An error that quotes the DSN: masked too.
    let failed = finished("1.4");
    assert_eq!(failed["ok"], false);
    let summary = failed["summary"].as_str().unwrap();
    assert!(summary.contains("invalid input syntax") && summary.contains("password=******"), "{summary}");
    assert!(run.stdout.contains("password=******"), "{}", run.stdout);
}
