//! The run engine's safety promises, tried against a real PostgreSQL cluster
//! (one shared by the tests of this file, each in a database of its own) with
//! the real binary:
//!
//! * one writer per journal: a second `resume --yes` beside a live run is
//!   refused, names the live run's pid and host, and changes nothing;
//!
//! The runbooks are in `tests/fixtures/run/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::pg::shared_cluster;
use support::run::*;

/// How long a small fixture run may take (it takes a second or two).
const SMALL_RUN: Duration = Duration::from_secs(60);

#[test]
fn a_second_writer_beside_a_live_run_is_refused_and_changes_nothing() {
    let cluster = shared_cluster();
    cluster.create_database("lock");
    cluster.psql_in("lock", "CREATE TABLE done (x int)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", cluster.dsn_as("postgres", "lock"), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let journal_arg = journal_path.to_str().unwrap();

    let mut live = spawn(dir.path(), "live", &run_args(&fixture("wait-for-flag.toml"), &inv, &journal_path, "ann"), &[]);
    live.wait_for_record(&journal_path, "step 1.2 started", |r| is(r, "step_started", "1.2"));
    let before = journal_so_far(&journal_path);

    let second = cutover(dir.path(), "second", &["resume", journal_arg, "--yes", "--held", "rerun"], &[], SMALL_RUN);
    assert_eq!(second.code, Some(2), "{}", second.describe());
    let host = sysinfo::System::host_name().unwrap();
    assert!(
        second.stderr.contains(&format!("pid {} on host {host}", live.pid())),
        "the refusal names the live run: {}",
        second.describe()
    );
    assert!(second.stderr.contains("cutover follow"), "{}", second.describe());
    let after = journal_so_far(&journal_path);
    assert!(
        !after.iter().any(|r| r["event"] == "resumed" || r["event"] == "interrupted"),
        "the second writer wrote: {:?}",
        events(&after)
    );
    assert_eq!(indexes(&after, "step_started", "1.1").len(), 1, "1.1 ran once: {:?}", events(&after));
    assert!(after.len() >= before.len());

    // The live run goes on, unharmed.
    cluster.psql_in("lock", "INSERT INTO gate_flag VALUES (1)");
    let ended = live.wait(SMALL_RUN);
    assert_eq!(ended.code, Some(0), "{}", ended.describe());
    let records = journal(&journal_path);
    for step in ["1.1", "1.2", "1.3"] {
        assert_eq!(indexes(&records, "step_started", step).len(), 1, "{step}: {:?}", events(&records));
    }
    assert_eq!(cluster.psql_in("lock", "SELECT count(*) FROM done"), "1");
}
