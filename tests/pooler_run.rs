//! The switch as clients feel it: a real `pgbench` (8 clients, TPC-B-like,
//! through a real PgBouncer in transaction pooling mode) writes while
//! `cutover run --yes` pauses the pooler, lets the target catch up by logical
//! replication, points the pooler at the target and resumes it.
//!
//! * pgbench reports 0 failed transactions and exits 0;
//! * every `pgbench_history` row of the source is on the target, and the
//!   target holds the rows written after the resume too; nothing was written
//!   on the source after the subscription was dropped;
//! * on both sides the accounts' balances add up to the history's deltas;
//! * the write pause cutover measured and the longest transaction latency in
//!   pgbench's per-transaction log agree within 0.5 s.
//!
//! The runbooks: the shipped `runbooks/pg-logical-migration-pooler.toml`, and
//! for the faults `tests/fixtures/run/pooler-switch.toml` (the same switch on
//! a target that already follows the source) and `pooler-budget.toml`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use chrono::{DateTime, Utc};
use support::bouncer::{Bouncer, BouncerOptions};
use support::pg::{Cluster, ClusterOptions, pg_bins, quote_literal};
use support::run::*;

/// One pgbench load at a time: two of them (16 clients and four clusters on
/// a 2-core machine) would make the latencies the tests compare with the
/// write pause those of the machine's contention.
static ONE_LOAD: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_load() -> std::sync::MutexGuard<'static, ()> {
    ONE_LOAD.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `pgbench` through the pooler, 8 clients, per-transaction log in `dir`.
fn pgbench(bouncer: &Bouncer, dir: &Path, seconds: u32) -> Child {
    Command::new(pg_bins().tool("pgbench"))
        .args(["-h", "127.0.0.1", "-p", &bouncer.port.to_string(), "-U", "postgres"])
        .args(["-c", "8", "-j", "2", "-T", &seconds.to_string(), "-n", "-l", "--log-prefix"])
        .arg(dir.join("pgbench_log"))
        .arg("app")
        .current_dir(dir)
        .stdout(std::fs::File::create(dir.join("pgbench.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("pgbench.err")).unwrap())
        .spawn()
        .expect("start pgbench")
}

/// The longest transaction latency in pgbench's per-transaction logs, and
/// when that transaction ended.
fn longest_latency(dir: &Path) -> (Duration, DateTime<Utc>) {
    let mut longest = 0u64;
    let mut when = 0i64;
    let mut transactions = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_string_lossy().starts_with("pgbench_log") {
            continue;
        }
        // client_id transaction_no time_us script_no time_epoch time_us
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let latency: u64 = fields[2].parse().unwrap();
            if latency > longest {
                longest = latency;
                when = fields[4].parse::<i64>().unwrap() * 1_000_000 + fields[5].parse::<i64>().unwrap();
            }
            transactions += 1;
        }
    }
    assert!(transactions > 100, "pgbench logged {transactions} transactions");
    (Duration::from_micros(longest), DateTime::from_timestamp_micros(when).unwrap())
}

fn history(cluster: &Cluster) -> Vec<String> {
    let rows = cluster.psql("SELECT tid, bid, aid, delta, mtime FROM pgbench_history ORDER BY 1, 2, 3, 4, 5");
    rows.lines().map(str::to_owned).collect()
}

fn at(record: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(record["at"].as_str().unwrap()).unwrap().with_timezone(&Utc)
}

/// A source publishing every table to a target, pgbench's tables on both,
/// and PgBouncer in front of the source (`app`, transaction pooling).
struct Setup {
    source: Cluster,
    target: Cluster,
    bouncer: Bouncer,
    dir: tempfile::TempDir,
    inventory: std::path::PathBuf,
}

/// `replicating`: the target already has the schema and follows the source
/// (else it is empty, for a runbook that sets it all up).
fn setup(replicating: bool) -> Setup {
    let source = Cluster::start(ClusterOptions::default().setting("wal_level", "logical"));
    // wal_level = logical on the target too: it publishes back after the switch.
    let target = Cluster::start(ClusterOptions::default().setting("wal_level", "logical"));
    let bench = |cluster: &Cluster, init: &str| {
        let out = Command::new(pg_bins().tool("pgbench"))
            .args(["-i", "-I", init, "-s", "1", "-h", "127.0.0.1", "-p", &cluster.port.to_string(), "-U", "postgres"])
            .arg("postgres")
            .output()
            .unwrap();
        assert!(out.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&out.stderr));
    };
    bench(&source, "dtgp");
    // pgbench_history has no key: the whole row identifies it.
    source.psql("ALTER TABLE pgbench_history REPLICA IDENTITY FULL");
    if replicating {
        bench(&target, "dtp");
        source.psql("CREATE PUBLICATION pub FOR ALL TABLES");
        target.psql(&format!("CREATE SUBSCRIPTION sub CONNECTION {} PUBLICATION pub", quote_literal(&source.dsn())));
        support::wait_until("the initial copy", Duration::from_secs(60), || {
            target.psql("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == "0"
        });
    }
    let bouncer = Bouncer::start(&source, BouncerOptions::default().default_pool_size(8));
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(
        &inventory,
        format!(
            "name = \"pooler\"\ninterval = \"500ms\"\n\
             [endpoints.source]\nkind = \"postgres\"\ndsn = \"{}\"\n\
             [endpoints.target]\nkind = \"postgres\"\ndsn = \"{}\"\n\
             [endpoints.pooler]\nkind = \"pgbouncer\"\ndsn = \"{}\"\nini = \"{}\"\n",
            source.dsn(),
            target.dsn(),
            bouncer.admin_dsn(),
            bouncer.config_file.display()
        ),
    )
    .unwrap();
    Setup { source, target, bouncer, dir, inventory }
}

/// pgbench ended well: exit 0 and no failed transaction.
fn assert_no_failed_transaction(dir: &Path, status: std::process::ExitStatus) {
    let out = std::fs::read_to_string(dir.join("pgbench.out")).unwrap();
    let err = std::fs::read_to_string(dir.join("pgbench.err")).unwrap();
    assert!(status.success(), "pgbench failed: {status}\n{out}\n{err}");
    assert!(out.contains("number of failed transactions: 0 "), "{out}");
}

/// The accounts' balances add up to the history's deltas.
fn assert_balances_match_history(cluster: &Cluster) {
    assert_eq!(
        cluster.psql(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
        ),
        "t",
        "balances and history disagree on port {}",
        cluster.port
    );
}

/// The shipped `runbooks/pg-logical-migration-pooler.toml`, end to end.
#[test]
fn a_pooler_switch_under_pgbench_loses_nothing_and_fails_no_transaction() {
    let _load = one_load();
    let Setup { source, target, bouncer, dir, inventory } = setup(false);
    let journal_path = dir.path().join("switch.jsonl");

    // `plan` shows the ini line before and after.
    let runbook = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/pg-logical-migration-pooler.toml").to_owned();
    let plan = cutover(dir.path(), "plan", &["plan", &runbook, "--inventory", inventory.to_str().unwrap()], &[], REACH);
    assert_eq!(plan.code, Some(0), "{}", plan.describe());
    let before = format!("before: app = host=127.0.0.1 port={} dbname=postgres", source.port);
    let after = format!("after:  app = host=127.0.0.1 port={} dbname=postgres", target.port);
    assert!(plan.stdout.contains(&before) && plan.stdout.contains(&after), "{}", plan.stdout);

    // The load starts once the target follows and the verification is done
    // (under 8 clients hammering 100k accounts it would chase rows in flight
    // for long), and outlasts the switch, which waits 5 s for the target to
    // keep up first.
    let mut args = run_args(&runbook, &inventory, &journal_path, "ann");
    args.push("--allow-manual");
    let mut run = spawn(dir.path(), "run", &args, &[]);
    let verified = |r: &serde_json::Value| is(r, "step_finished", "4.1") && r["ok"] == true;
    run.wait_for_record(&journal_path, "the verification", verified);
    let mut load = pgbench(&bouncer, dir.path(), 30);
    let run = run.wait(Duration::from_secs(120));
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_no_failed_transaction(dir.path(), load.wait().unwrap());

    // The pooler points at the target now, and says so in its file.
    let ini = std::fs::read_to_string(&bouncer.config_file).unwrap();
    assert!(ini.contains(&format!("app = host=127.0.0.1 port={} dbname=postgres", target.port)), "{ini}");

    // Nothing lost: the source's history is on the target, plus what came after.
    let (on_source, on_target) = (history(&source), history(&target));
    let mut missing = on_source.clone();
    for row in &on_target {
        if let Some(i) = missing.iter().position(|r| r == row) {
            missing.swap_remove(i);
        }
    }
    assert!(
        missing.is_empty(),
        "{} source rows are not on the target: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_balances_match_history(&source);
    assert_balances_match_history(&target);

    // The pause as cutover measured it is the pause the clients felt.
    let records = journal(&journal_path);
    let flagged = |flag: &str| {
        let phases = records[0]["outline"]["phases"].as_array().unwrap();
        let step = phases.iter().flat_map(|p| p["steps"].as_array().unwrap()).find(|s| s[flag] == true).unwrap();
        step["id"].as_str().unwrap().to_owned()
    };
    let (pause_step, resume_step) = (flagged("starts_write_pause"), flagged("ends_write_pause"));
    let paused = at(&records[first(&records, |r| is(r, "step_started", &pause_step)).unwrap()]);
    let resumed = at(&records[first(&records, |r| is(r, "step_finished", &resume_step) && r["ok"] == true).unwrap()]);
    let pause = (resumed - paused).to_std().unwrap();
    // The clients wrote on the target after the resume, and the way back
    // carried those rows to the old side until it was retired; then it was
    // torn down (the source's subscription, its slot on the target).
    let after_resume = |cluster: &Cluster| {
        let since = resumed.timestamp_micros() as f64 / 1e6;
        let n = cluster
            .psql(&format!("SELECT count(*) FROM pgbench_history WHERE mtime > to_timestamp({since})::timestamp"));
        n.parse::<u64>().unwrap()
    };
    assert!(
        after_resume(&target) > 100,
        "{} rows written on the target after the resume at {resumed}; the target's latest: {}\n{}",
        after_resume(&target),
        target.psql("SELECT max(mtime), now(), current_setting('TimeZone') FROM pgbench_history"),
        std::fs::read_to_string(dir.path().join("pgbench.out")).unwrap()
            + &std::fs::read_to_string(dir.path().join("pgbench.err")).unwrap()
            + &format!("{:#?}", events(&journal(&journal_path)))
    );
    assert!(after_resume(&source) > 0, "the way back carried no row to the source");
    assert_eq!(source.psql("SELECT count(*) FROM pg_subscription"), "0", "the way back is torn down");
    assert_eq!(target.psql("SELECT count(*) FROM pg_replication_slots"), "0", "no slot left on the target");
    let (longest, ended) = longest_latency(dir.path());
    eprintln!("write pause (cutover) {pause:?}; longest pgbench transaction {longest:?}");
    let gap = pause.abs_diff(longest);
    assert!(
        gap <= Duration::from_millis(500),
        "cutover measured a {pause:?} pause ({paused} to {resumed}), pgbench's longest transaction took {longest:?} (ended {ended})"
    );
    // The report sets the pause beside the longest wait the pooler counted.
    let html = dir.path().join("report.html");
    let report = cutover(
        dir.path(),
        "report",
        &["report", journal_path.to_str().unwrap(), "-o", html.to_str().unwrap()],
        &[],
        REACH,
    );
    assert_eq!(report.code, Some(0), "{}", report.describe());
    let page = std::fs::read_to_string(&html).unwrap();
    let figure = page.split("id=\"pooler-longest-wait\">").nth(1).expect("the pooler's longest wait in the report");
    let waited: f64 =
        figure.split(' ').next().unwrap().trim_end_matches('s').parse().unwrap_or_else(|e| panic!("{e}: {figure}"));
    eprintln!("the pooler's longest wait: {waited} s");
    assert!(waited > 0.0 && waited <= pause.as_secs_f64() + 1.0, "{waited} s against a {pause:?} pause");

    // pgbench still ran after the switch: the clients wrote on the target.
    let resume_at = resumed.timestamp_micros();
    let after: usize = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("pgbench_log"))
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter(|l| {
                    let f: Vec<i64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
                    f[4] * 1_000_000 + f[5] > resume_at
                })
                .count()
        })
        .sum();
    assert!(after > 100, "only {after} transactions after the resume");
}

/// The way back, after the switch: the clients write on the target for a
/// while, then the run is stopped and rolled back (`resume --rollback`). The
/// rollback pauses the pooler, lets the source catch up by the reverse
/// subscription, copies the sequences back, points the pooler at the source
/// and resumes it: every row written on the target is on the source, and
/// pgbench fails no transaction across both switches.
#[test]
fn a_rollback_after_the_switch_loses_nothing() {
    let _load = one_load();
    use nix::sys::signal::Signal;
    let Setup { source, target, bouncer, dir, inventory } = setup(false);
    source.psql("CREATE SEQUENCE app_seq; SELECT setval('app_seq', 42)");
    let journal_path = dir.path().join("switch.jsonl");
    let runbook = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/pg-logical-migration-pooler.toml").to_owned();
    let mut args = run_args(&runbook, &inventory, &journal_path, "ann");
    args.push("--allow-manual");
    let mut run = spawn(dir.path(), "run", &args, &[]);
    let verified = |r: &serde_json::Value| is(r, "step_finished", "4.1") && r["ok"] == true;
    run.wait_for_record(&journal_path, "the verification", verified);
    // Long enough to outlast the switch, the watch after it and the rollback
    // on a loaded 2-core machine.
    let mut load = pgbench(&bouncer, dir.path(), 45);
    let outline = journal(&journal_path)[0]["outline"].clone();
    let id = |name: &str| {
        let phases = outline["phases"].as_array().unwrap();
        let step = phases.iter().flat_map(|p| p["steps"].as_array().unwrap()).find(|s| s["name"] == name);
        step.unwrap_or_else(|| panic!("no step {name}"))["id"].as_str().unwrap().to_owned()
    };
    let watching = id("The old side follows the target");
    run.wait_for_record(&journal_path, "the watch after the switch", |r| is(r, "step_started", &watching));
    // The application uses the target for a while, a sequence too.
    std::thread::sleep(Duration::from_secs(3));
    target.psql("SELECT setval('app_seq', 100)");
    run.signal(Signal::SIGTERM);
    let stopped = run.wait(REACH);
    assert_eq!(stopped.code, Some(1), "{}", stopped.describe());
    let back = cutover(
        dir.path(),
        "rollback",
        &["resume", journal_path.to_str().unwrap(), "--yes", "--rollback", "--allow-manual"],
        &[],
        REACH,
    );
    assert_eq!(back.code, Some(3), "rolled back: {}", back.describe());
    // The rollback's steps after the switch ran, none was skipped.
    let records = journal(&journal_path);
    for name in ["Pause the pooler", "The source has all the target wrote", "Copy the sequences back"] {
        let step = outline["phases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["rollback"] == true)
            .flat_map(|p| p["steps"].as_array().unwrap())
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            records.iter().any(|r| is(r, "step_finished", &step) && r["ok"] == true),
            "{name} ({step}) did not run: {:?}",
            events(&records)
        );
    }
    let on_target = history(&target);
    assert!(load.try_wait().unwrap().is_none(), "pgbench ended before the rollback: lengthen its run");
    assert_no_failed_transaction(dir.path(), load.wait().unwrap());

    // Every row written on the target is on the source, and the clients
    // wrote on the source again after the rollback.
    let on_source = history(&source);
    let mut missing = on_target.clone();
    for row in &on_source {
        if let Some(i) = missing.iter().position(|r| r == row) {
            missing.swap_remove(i);
        }
    }
    assert!(
        missing.is_empty(),
        "{} target rows are not on the source: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(on_source.len() > on_target.len(), "no write reached the source after the rollback");
    assert_balances_match_history(&source);
    assert_eq!(source.psql("SELECT last_value FROM app_seq"), "100", "the sequence came back");
    assert_eq!(source.psql("SELECT count(*) FROM pg_subscription"), "0", "the source replicates no more");
    let ini = std::fs::read_to_string(&bouncer.config_file).unwrap();
    assert!(ini.contains(&format!("app = host=127.0.0.1 port={} dbname=postgres", source.port)), "{ini}");
}

/// A repoint of a database the pooler's file lacks is refused by `check
/// --inventory` (and `plan`), at the database's place in the runbook, with
/// the databases the file has.
#[test]
fn a_repoint_of_a_database_the_pooler_lacks_is_refused_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("pgbouncer.ini");
    std::fs::write(&ini, "[databases]\nshop = host=10.0.0.5 dbname=shop\n[pgbouncer]\nlisten_port = 6432\n").unwrap();
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(
        &inventory,
        format!(
            "[endpoints.source]\nkind = \"postgres\"\ndsn = \"host=10.0.0.5 dbname=shop\"\n\
             [endpoints.target]\nkind = \"postgres\"\ndsn = \"host=10.0.0.9 dbname=shop\"\n\
             [endpoints.pooler]\nkind = \"pgbouncer\"\ndsn = \"host=10.0.0.2 port=6432 dbname=pgbouncer\"\nini = \"{}\"\n",
            ini.display()
        ),
    )
    .unwrap();
    let runbook = fixture("pooler-switch.toml");
    for command in ["check", "plan"] {
        let out =
            cutover(dir.path(), command, &[command, &runbook, "--inventory", inventory.to_str().unwrap()], &[], REACH);
        assert_eq!(out.code, Some(1), "{}", out.describe());
        // `repoint = "${database}"` in the forward phase (line 41) and the rollback (line 56).
        for line in [41, 56] {
            let place = format!("{runbook}:{line}:");
            assert!(
                out.stderr
                    .lines()
                    .any(|l| l.starts_with(&place)
                        && l.contains("has no database \"app\" in [databases] (it has: shop)")),
                "{command}: {}",
                out.describe()
            );
        }
    }
}

/// Faults under the same load, each ending with the clients on the source
/// and pgbench failing no transaction:
/// * SIGTERM while paused: cutover resumes the pooler on the source before
///   it exits, and the run is rolled back;
/// * SIGKILL while paused: the pooler stays paused; `resume` says so first,
///   and `--rollback` resumes it on the source;
/// * the target gone and the pause past its `max_pause`: the run rolls back
///   by itself.
#[test]
fn a_paused_pooler_is_never_left_paused() {
    let _load = one_load();
    use nix::sys::signal::Signal;
    let Setup { source, target, bouncer, dir, inventory } = setup(true);
    // The target stops following: the wait for it never ends.
    target.psql("ALTER SUBSCRIPTION sub DISABLE");
    let ini = std::fs::read_to_string(&bouncer.config_file).unwrap();
    let switch = fixture("pooler-switch.toml");
    let mut load = pgbench(&bouncer, dir.path(), 40);
    std::thread::sleep(Duration::from_secs(3));
    let waits = |r: &serde_json::Value| is(r, "step_started", "1.2");

    // SIGTERM while paused.
    let journal_path = dir.path().join("sigterm.jsonl");
    let mut run = spawn(dir.path(), "sigterm", &run_args(&switch, &inventory, &journal_path, "ann"), &[]);
    run.wait_for_record(&journal_path, "the wait while paused", waits);
    run.signal(Signal::SIGTERM);
    let ended = run.wait(REACH);
    assert_eq!(ended.code, Some(1), "{}", ended.describe());
    assert!(ended.stderr.contains("with the pooler pooler paused: RESUME app on the source"), "{}", ended.describe());
    let records = journal(&journal_path);
    assert!(records.iter().any(|r| r["event"] == "rollback"), "{:?}", events(&records));
    let back = cutover(dir.path(), "sigterm-resume", &["resume", journal_path.to_str().unwrap(), "--yes"], &[], REACH);
    assert_eq!(back.code, Some(3), "the run resumes into its rollback: {}", back.describe());

    // SIGKILL while paused: nothing can resume the pooler but the next cutover.
    let journal_path = dir.path().join("sigkill.jsonl");
    let mut run = spawn(dir.path(), "sigkill", &run_args(&switch, &inventory, &journal_path, "ann"), &[]);
    run.wait_for_record(&journal_path, "the wait while paused", waits);
    run.kill();
    let resumed = cutover(
        dir.path(),
        "sigkill-resume",
        &["resume", journal_path.to_str().unwrap(), "--yes", "--rollback"],
        &[],
        REACH,
    );
    assert_eq!(resumed.code, Some(3), "{}", resumed.describe());
    assert!(
        resumed.stderr.contains("the pooler pooler is PAUSED (app, by step 1.1"),
        "said first: {}",
        resumed.describe()
    );

    // The target gone, and the pause past its budget.
    let mut target = target;
    target.stop_fast();
    let journal_path = dir.path().join("budget.jsonl");
    let run = cutover(
        dir.path(),
        "budget",
        &run_args(&fixture("pooler-budget.toml"), &inventory, &journal_path, "ann"),
        &[],
        REACH,
    );
    assert_eq!(run.code, Some(3), "{}", run.describe());
    let records = journal(&journal_path);
    let rollback = records.iter().find(|r| r["event"] == "rollback").expect("a rollback");
    assert!(rollback["reason"].as_str().unwrap().contains("max_pause of 3s"), "{rollback}");
    assert_eq!(rollback["operator"], "cutover");

    let before = source.psql("SELECT count(*) FROM pgbench_history");
    std::thread::sleep(Duration::from_secs(1));
    assert_ne!(
        source.psql("SELECT count(*) FROM pgbench_history"),
        before,
        "the clients no longer write to the source"
    );
    assert_no_failed_transaction(dir.path(), load.wait().unwrap());
    assert_eq!(std::fs::read_to_string(&bouncer.config_file).unwrap(), ini, "the pooler still points at the source");
    assert_balances_match_history(&source);
}
