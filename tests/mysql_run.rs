//! Runbooks on a real MariaDB, headless: `mysql` steps, checks and waits on
//! its gauges, the maintenance-mode switch, and the shipped
//! `runbooks/mysql-to-postgres.toml`.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::mariadb::{Mariadb, PASSWORD};
use support::run::{cutover, fixture, journal_so_far};

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
