//! The run engine's safety promises, tried against a real PostgreSQL cluster
//! (one shared by the tests of this file, each in a database of its own) with
//! the real binary:
//!
//! * one writer per journal: a second `resume --yes` beside a live run is
//!   refused, names the live run's pid and host, and changes nothing;
//! * a check or wait that is not destructive cannot write (a READ ONLY
//!   transaction, one statement); a destructive check killed mid-run is held
//!   on resume, never rerun by itself;
//!
//! The runbooks are in `tests/fixtures/run/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use cutover::runbook::stop::group_alive;
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

    let mut live =
        spawn(dir.path(), "live", &run_args(&fixture("wait-for-flag.toml"), &inv, &journal_path, "ann"), &[]);
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

#[test]
fn read_only_checks_cannot_write_and_a_destructive_check_is_held_on_resume() {
    let cluster = shared_cluster();
    cluster.create_database("readonly");
    let db = |sql: &str| cluster.psql_in("readonly", sql);
    db("CREATE TABLE writes (x int); CREATE TABLE keep (x int); INSERT INTO keep VALUES (1); CREATE SEQUENCE seq;");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", cluster.dsn_as("postgres", "readonly"), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let journal_arg = journal_path.to_str().unwrap();
    let finished = |step: &str| {
        let records = journal(&journal_path);
        records.iter().rev().find(|r| is(r, "step_finished", step)).cloned().unwrap_or_else(|| {
            panic!("{step} did not finish: {:?}", events(&records));
        })
    };

    // 1.1: the INSERT of a check fails, read-only.
    let run = cutover(
        dir.path(),
        "run",
        &run_args(&fixture("read-only-checks.toml"), &inv, &journal_path, "ann"),
        &[],
        SMALL_RUN,
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let f = finished("1.1");
    assert_eq!(f["ok"], false, "{f}");
    assert!(f["summary"].as_str().unwrap().contains("read-only transaction"), "{f}");
    // 1.2: a second statement is refused before anything runs.
    let skip = ["resume", journal_arg, "--yes", "--held", "skip"];
    let again = cutover(dir.path(), "skip-1", &skip, &[], SMALL_RUN);
    assert_eq!(again.code, Some(1), "{}", again.describe());
    let f = finished("1.2");
    assert_eq!(f["ok"], false, "{f}");
    assert!(f["summary"].as_str().unwrap().contains("one statement"), "{f}");
    // 1.3: nextval() in a wait is refused at every poll until the timeout.
    let again = cutover(dir.path(), "skip-2", &skip, &[], SMALL_RUN);
    assert_eq!(again.code, Some(1), "{}", again.describe());
    let records = journal(&journal_path);
    let timed_out = records.iter().find(|r| is(r, "step_stopped", "1.3")).expect("1.3 timed out");
    assert_eq!((timed_out["why"].as_str(), timed_out["state"].as_str()), (Some("timeout"), Some("stopped")));
    assert!(
        output_of(&journal(&journal_path), "1.3").iter().any(|l| l.contains("read-only transaction")),
        "{:?}",
        output_of(&journal(&journal_path), "1.3")
    );
    assert_eq!(db("SELECT count(*) FROM writes"), "0", "a check wrote");
    assert_eq!(db("SELECT count(*) FROM keep"), "1", "a check deleted");
    assert_eq!(db("SELECT is_called FROM seq"), "f", "a wait called nextval()");

    // 1.4, destructive, is killed while it runs: resume holds it.
    let mut run = spawn(dir.path(), "skip-3", &skip, &[]);
    run.wait_for_record(&journal_path, "step 1.4 started", |r| is(r, "step_started", "1.4"));
    run.kill();
    let held = cutover(dir.path(), "held", &["resume", journal_arg, "--yes"], &[], SMALL_RUN);
    assert_eq!(held.code, Some(1), "{}", held.describe());
    assert!(held.stderr.contains("step 1.4 was interrupted"), "{}", held.describe());
    let records = journal(&journal_path);
    assert_eq!(indexes(&records, "step_started", "1.4").len(), 1, "1.4 ran again: {:?}", events(&records));
}

#[test]
fn a_resumed_run_knows_the_verification_result_its_journal_holds() {
    let cluster = shared_cluster();
    let table = "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;";
    cluster.create_database("known_src");
    cluster.psql_in("known_src", table);
    cluster.create_database("known_dst");
    cluster.psql_in("known_dst", table);
    cluster.psql_in(
        "known_dst",
        "CREATE TABLE gate_flag (x int); CREATE TABLE done (x int); CREATE TABLE rolled_back (x int);",
    );
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(
        dir.path(),
        &[
            ("source", cluster.dsn_as("postgres", "known_src"), None),
            ("target", cluster.dsn_as("postgres", "known_dst"), None),
        ],
    );
    let journal_path = dir.path().join("run.jsonl");
    let journal_arg = journal_path.to_str().unwrap();

    // Killed while 1.2 waits, after the verification found nothing.
    let mut run =
        spawn(dir.path(), "run", &run_args(&fixture("resume-after-verify.toml"), &inv, &journal_path, "ann"), &[]);
    run.wait_for_record(&journal_path, "step 1.2 started", |r| is(r, "step_started", "1.2"));
    let records = journal_so_far(&journal_path);
    let verified = records.iter().rev().find(|r| is(r, "step_finished", "1.1")).expect("1.1 finished");
    assert_eq!(verified["ok"], true, "{verified}");
    run.kill();

    cluster.psql_in("known_dst", "INSERT INTO gate_flag VALUES (1)");
    let resumed = cutover(dir.path(), "resume", &["resume", journal_arg, "--yes"], &[], SMALL_RUN);
    assert_eq!(resumed.code, Some(0), "{}", resumed.describe());
    let records = journal(&journal_path);
    let check = records.iter().rev().find(|r| is(r, "step_finished", "1.3")).expect("1.3 finished");
    assert_eq!(check["ok"], true, "the check forgot the verification: {check}");
    let gate = records.iter().rev().find(|r| is(r, "gate", "1.4")).expect("1.4's gate was evaluated");
    assert_eq!(gate["holds"], true, "{gate}");
    assert!(!records.iter().any(|r| r["event"] == "rollback"), "rolled back: {:?}", events(&records));
    assert_eq!(indexes(&records, "step_started", "1.1").len(), 1, "verified again: {:?}", events(&records));
    assert_eq!(cluster.psql_in("known_dst", "SELECT count(*) FROM done"), "1");
    assert_eq!(cluster.psql_in("known_dst", "SELECT count(*) FROM rolled_back"), "0");
}

fn read_pid(path: &std::path::Path) -> i32 {
    std::fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

#[test]
fn quitting_stops_the_running_step_for_real_and_resume_holds_it() {
    use nix::sys::signal::Signal;
    let cluster = shared_cluster();
    cluster.create_database("quit");
    cluster.psql_in("quit", "CREATE TABLE t (x int)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", cluster.dsn_as("postgres", "quit"), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let journal_arg = journal_path.to_str().unwrap();
    let test_dir = ("CUTOVER_TEST_DIR", dir.path().to_str().unwrap());
    let stopped = |step: &str| {
        let records = journal(&journal_path);
        records.iter().rev().find(|r| is(r, "step_stopped", step)).cloned().unwrap_or_else(|| {
            panic!("{step} was not journaled as stopped: {:?}", events(&records));
        })
    };

    // SIGTERM while a shell pipeline runs: the whole process group goes.
    let mut run =
        spawn(dir.path(), "run", &run_args(&fixture("quit-mid-step.toml"), &inv, &journal_path, "ann"), &[test_dir]);
    run.wait_for_record(&journal_path, "the pipeline started", |r| is(r, "output", "1.1") && r["text"] == "started");
    let group = read_pid(&dir.path().join("sh.pid"));
    let child = read_pid(&dir.path().join("child.pid"));
    assert!(group_alive(group));
    run.signal(Signal::SIGTERM);
    let ended = run.wait(SMALL_RUN);
    assert_eq!(ended.code, Some(1), "{}", ended.describe());
    assert!(!group_alive(group), "the step's processes outlived the quit (sh's group {group})");
    let cat_state = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
    assert!(cat_state.is_empty() || cat_state.contains(") Z"), "`cat` (pid {child}) outlived the quit: {cat_state}");
    let s = stopped("1.1");
    assert_eq!((s["why"].as_str(), s["state"].as_str()), (Some("quit"), Some("stopped")), "{s}");
    assert!(s["summary"].as_str().unwrap().contains("SIGTERM"), "{s}");
    assert!(ended.stderr.contains("stopping step 1.1"), "{}", ended.describe());
    // Resume holds it for the operator: it is never run again by itself.
    let held = cutover(dir.path(), "held", &["resume", journal_arg, "--yes"], &[test_dir], SMALL_RUN);
    assert_eq!(held.code, Some(1), "{}", held.describe());
    assert!(held.stderr.contains("step 1.1 was stopped when cutover quit"), "{}", held.describe());
    assert_eq!(indexes(&journal(&journal_path), "step_started", "1.1").len(), 1);

    // SIGINT while a statement runs: it is cancelled on the server, and the
    // step's next statement never runs.
    let mut run = spawn(dir.path(), "skip", &["resume", journal_arg, "--yes", "--held", "skip"], &[test_dir]);
    run.wait_for_record(&journal_path, "step 1.2 started", |r| is(r, "step_started", "1.2"));
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)' AND state = 'active'";
    support::wait_until("pg_sleep runs on the server", REACH, || cluster.psql_in("quit", sleeping) == "1");
    run.signal(Signal::SIGINT);
    let ended = run.wait(SMALL_RUN);
    assert_eq!(ended.code, Some(1), "{}", ended.describe());
    assert_eq!(cluster.psql_in("quit", sleeping), "0", "the statement still runs on the server");
    let s = stopped("1.2");
    assert_eq!((s["why"].as_str(), s["state"].as_str()), (Some("quit"), Some("stopped")), "{s}");
    assert!(s["summary"].as_str().unwrap().contains("canceling statement"), "{s}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(cluster.psql_in("quit", "SELECT count(*) FROM t"), "0", "the step went on to its INSERT");
    let held = cutover(dir.path(), "held-2", &["resume", journal_arg, "--yes"], &[test_dir], SMALL_RUN);
    assert_eq!(held.code, Some(1), "{}", held.describe());
    assert!(held.stderr.contains("step 1.2 was stopped when cutover quit"), "{}", held.describe());
    assert_eq!(indexes(&journal(&journal_path), "step_started", "1.2").len(), 1);
}

#[test]
fn unattended_runs_refuse_manual_steps_unless_allowed_and_journal_confirmations_as_headless() {
    let cluster = shared_cluster();
    cluster.create_database("unattended");
    cluster.psql_in("unattended", "CREATE TABLE marks (x int)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", cluster.dsn_as("postgres", "unattended"), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let runbook = fixture("unattended.toml");
    let args = run_args(&runbook, &inv, &journal_path, "ann");

    let refused = cutover(dir.path(), "refused", &args, &[], SMALL_RUN);
    assert_eq!(refused.code, Some(2), "{}", refused.describe());
    assert!(refused.stderr.contains("1.1 Tell the application team"), "{}", refused.describe());
    assert!(refused.stderr.contains("--allow-manual"), "{}", refused.describe());
    assert!(!journal_path.exists(), "a refused run left a journal");
    assert_eq!(cluster.psql_in("unattended", "SELECT count(*) FROM marks"), "0");

    let allowed = [args.as_slice(), &["--allow-manual"]].concat();
    let run = cutover(dir.path(), "allowed", &allowed, &[], SMALL_RUN);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let records = journal(&journal_path);
    assert_eq!(records[0]["allow_manual"], true, "the journal records --allow-manual: {}", records[0]);
    let confirmed: Vec<&serde_json::Value> = records.iter().filter(|r| r["event"] == "confirmed").collect();
    assert_eq!(confirmed.len(), 2, "{:?}", events(&records));
    for c in &confirmed {
        assert_eq!(c["headless"], true, "{c}");
        assert!(c.get("typed").is_none(), "nobody typed an endpoint's name: {c}");
        assert_eq!(c["operator"], "ann");
    }
    let md = dir.path().join("report.md");
    let report_args = ["report", journal_path.to_str().unwrap(), "--format", "md", "-o", md.to_str().unwrap()];
    let report = cutover(dir.path(), "report", &report_args, &[], SMALL_RUN);
    assert_eq!(report.code, Some(0), "{}", report.describe());
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("| 1.2 Mark it | ann | unattended (--yes) |"),
        "the report says nobody confirmed 1.2:\n{text}"
    );
}

#[test]
fn a_step_that_half_ran_is_not_retried_by_itself_but_one_transaction_is() {
    let cluster = shared_cluster();
    cluster.create_database("partial");
    cluster.psql_in("partial", "CREATE TABLE hits (x int); CREATE TABLE tx_hits (x int)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", cluster.dsn_as("postgres", "partial"), None)]);
    let journal_path = dir.path().join("run.jsonl");

    let run = cutover(
        dir.path(),
        "run",
        &run_args(&fixture("retry-partial.toml"), &inv, &journal_path, "ann"),
        &[],
        SMALL_RUN,
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stderr.contains("step 1.1 failed"), "{}", run.describe());
    assert_eq!(indexes(&journal(&journal_path), "step_started", "1.1").len(), 1, "1.1 was retried");
    assert_eq!(cluster.psql_in("partial", "SELECT count(*) FROM hits"), "1");

    let skip = ["resume", journal_path.to_str().unwrap(), "--yes", "--held", "skip"];
    let run = cutover(dir.path(), "skip", &skip, &[], SMALL_RUN);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let records = journal(&journal_path);
    assert_eq!(indexes(&records, "step_started", "1.2").len(), 3, "1.2 is retried twice: {:?}", events(&records));
    assert_eq!(cluster.psql_in("partial", "SELECT count(*) FROM tx_hits"), "0", "a failed transaction committed");
    let last = records.iter().rev().find(|r| is(r, "step_finished", "1.2")).unwrap();
    assert!(last["summary"].as_str().unwrap().contains("rolled back"), "{last}");
}

#[test]
fn a_resume_against_other_endpoints_is_refused_unless_retargeted() {
    let cluster = shared_cluster();
    cluster.create_database("pinned");
    cluster.psql_in("pinned", "CREATE TABLE done (x int)");
    let dir = tempfile::tempdir().unwrap();
    let dsn = cluster.dsn_as("postgres", "pinned");
    let inv = inventory(dir.path(), &[("db", dsn.clone(), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let journal_arg = journal_path.to_str().unwrap();

    let mut run = spawn(dir.path(), "run", &run_args(&fixture("wait-for-flag.toml"), &inv, &journal_path, "ann"), &[]);
    run.wait_for_record(&journal_path, "step 1.2 started", |r| is(r, "step_started", "1.2"));
    run.kill();
    let started = &journal(&journal_path)[0];
    assert!(started["endpoints"]["db"].as_str().unwrap().contains("/pinned"), "{started}");

    // The inventory is edited: the same server, spelled by another host name.
    let moved = dsn.replace("127.0.0.1", "localhost");
    assert_ne!(moved, dsn, "{dsn}");
    inventory(dir.path(), &[("db", moved, None)]);
    let before = journal(&journal_path).len();
    let refused = cutover(dir.path(), "refused", &["resume", journal_arg, "--yes"], &[], SMALL_RUN);
    assert_eq!(refused.code, Some(2), "{}", refused.describe());
    assert!(refused.stderr.contains("endpoint db: was postgres postgres@127.0.0.1:"), "{}", refused.describe());
    assert!(refused.stderr.contains("now postgres postgres@localhost:"), "{}", refused.describe());
    assert!(refused.stderr.contains("--retarget"), "{}", refused.describe());
    assert_eq!(journal(&journal_path).len(), before, "a refused resume wrote to the journal");

    // Told so, it goes on, and the journal says what the operator accepted.
    cluster.psql_in("pinned", "INSERT INTO gate_flag VALUES (1)");
    let resumed = cutover(dir.path(), "retarget", &["resume", journal_arg, "--yes", "--retarget"], &[], SMALL_RUN);
    assert_eq!(resumed.code, Some(0), "{}", resumed.describe());
    let records = journal(&journal_path);
    let resumed = records.iter().find(|r| r["event"] == "resumed").unwrap();
    assert!(resumed["retargeted"][0].as_str().unwrap().starts_with("endpoint db: was"), "{resumed}");
    assert!(resumed["endpoints"]["db"].as_str().unwrap().contains("@localhost:"), "{resumed}");
    assert_eq!(cluster.psql_in("pinned", "SELECT count(*) FROM done"), "1");
}

#[test]
fn a_verification_journal_is_not_reused_against_other_endpoints() {
    let cluster = shared_cluster();
    for db in ["vpin_a", "vpin_b", "vpin_c"] {
        cluster.create_database(db);
        cluster.psql_in(db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);");
    }
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("verify.jsonl");
    let verify = |label: &str, target_db: &str| {
        let inv = inventory(
            dir.path(),
            &[
                ("source", cluster.dsn_as("postgres", "vpin_a"), None),
                ("target", cluster.dsn_as("postgres", target_db), None),
            ],
        );
        let args = [
            "verify",
            "--inventory",
            inv.to_str().unwrap(),
            "--source",
            "source",
            "--target",
            "target",
            "--journal",
            journal_path.to_str().unwrap(),
        ];
        cutover(dir.path(), label, &args, &[], SMALL_RUN)
    };
    let first = verify("first", "vpin_b");
    assert_eq!(first.code, Some(0), "{}", first.describe());
    let again = verify("again", "vpin_b");
    assert_eq!(again.code, Some(0), "the same endpoints reuse the journal: {}", again.describe());
    let before = std::fs::read_to_string(&journal_path).unwrap();
    let other = verify("other", "vpin_c");
    assert_eq!(other.code, Some(2), "{}", other.describe());
    assert!(other.stderr.contains("/vpin_b") && other.stderr.contains("/vpin_c"), "{}", other.describe());
    assert!(other.stderr.contains("use a new journal"), "{}", other.describe());
    assert_eq!(std::fs::read_to_string(&journal_path).unwrap(), before, "the refused run wrote to the journal");
}
