//! Verification while logical replication still flows: rows in flight (sent
//! but not yet applied on the target) are not reported as differences.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use support::pg::{Cluster, ClusterOptions, publish_and_subscribe};

/// An inventory naming the two clusters `source` and `target`.
fn inventory(dir: &std::path::Path, source: &Cluster, target: &Cluster) -> std::path::PathBuf {
    let path = dir.join("inv.toml");
    let text = format!(
        "[endpoints.source]\nkind = \"postgres\"\ndsn = \"{}\"\n[endpoints.target]\nkind = \"postgres\"\ndsn = \"{}\"\n",
        source.dsn(),
        target.dsn()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `cutover verify --json` of `source` against `target`: exit code and report.
fn verify(inventory: &std::path::Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["verify", "--source", "source", "--target", "target", "--json", "--inventory"])
        .arg(inventory)
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), report)
}

#[test]
fn rows_in_flight_are_rechecked_not_reported() {
    let source = Cluster::start(ClusterOptions::default());
    let target = Cluster::start(ClusterOptions::default());
    publish_and_subscribe(&source, &target, "CREATE TABLE t (id int PRIMARY KEY, v text);");
    source.psql("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;");
    support::wait_until("the initial rows replicated", Duration::from_secs(30), || {
        target.psql("SELECT count(*) FROM t") == "1000"
    });

    // Hold the apply worker back for 2 s (SHARE blocks its inserts, not our reads),
    // write on the source, and verify at once: the new rows are in flight.
    let sql = "BEGIN; LOCK TABLE t IN SHARE MODE; SELECT pg_sleep(2); COMMIT;";
    std::thread::scope(|scope| {
        let lock = scope.spawn(|| target.psql(sql));
        std::thread::sleep(Duration::from_millis(300));
        source.psql("INSERT INTO t SELECT g, 'late' FROM generate_series(1001, 1050) g; UPDATE t SET v = 'changed' WHERE id = 7;");
        let dir = tempfile::tempdir().unwrap();
        let inventory = inventory(dir.path(), &source, &target);
        // Right now the target lacks the new rows.
        assert_eq!(target.psql("SELECT count(*) FROM t"), "1000");
        let (code, report) = verify(&inventory, &["--chunk-rows", "200"]);
        assert_eq!(code, Some(0), "{report:#}");
        assert_eq!(report["totals"]["differences"], 0);
        assert_eq!(report["tables"][0]["rows_source"], 1050);
        lock.join().unwrap();
    });
}

#[test]
fn analyzed_tables_are_cut_at_histogram_bounds_and_still_compared_exactly() {
    let source = Cluster::start(ClusterOptions::default());
    let target = Cluster::start(ClusterOptions::default());
    for c in [&source, &target] {
        c.psql("CREATE TABLE h (id bigint PRIMARY KEY, v text); INSERT INTO h SELECT g * 3, 'v' || g FROM generate_series(1, 30000) g;");
    }
    // Statistics first, then rows outside what they know of, on both sides.
    source.psql("ANALYZE h;");
    for c in [&source, &target] {
        c.psql("INSERT INTO h VALUES (-5, 'before'), (100000, 'after'), (100001, 'after');");
    }
    target.psql("UPDATE h SET v = 'x' WHERE id IN (3, 45000, 90000); DELETE FROM h WHERE id = 100001; INSERT INTO h VALUES (7, 'extra');");
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), &source, &target);
    let journal = dir.path().join("journal.jsonl");
    let (code, report) = verify(&inventory, &["--chunk-rows", "2000", "--journal", journal.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{report:#}");
    let t = &report["tables"][0];
    assert_eq!(t["rows_source"], 30003);
    let found: Vec<(i64, String)> = t["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["key"]["id"].as_i64().unwrap(), d["kind"].as_str().unwrap().to_owned()))
        .collect();
    let want: Vec<(i64, String)> = [
        (3, "different"),
        (7, "extra_on_target"),
        (45000, "different"),
        (90000, "different"),
        (100_001, "missing_on_target"),
    ]
    .iter()
    .map(|(k, s)| (*k, (*s).to_owned()))
    .collect();
    assert_eq!(found, want);
    // Cut at histogram bounds (ids of the form 3n), not at every 2000th key from the start.
    let planned: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["event"] == "verify_chunk")
        .map(|r| r["chunk"].clone())
        .filter(|e| e["event"] == "chunk_planned")
        .collect();
    assert!(planned.len() >= 10, "{} chunks", planned.len());
    assert!(planned.first().unwrap()["range"]["lo"].is_null() && planned.last().unwrap()["range"]["hi"].is_null());
    // Walking the index would cut the first chunk at the 2001st key, id 6000.
    assert_ne!(planned[0]["range"]["hi"][0], "6000", "expected a cut at a histogram bound");
}

#[test]
fn large_disagreeing_chunks_are_split_until_the_rows_are_found() {
    let source = Cluster::start(ClusterOptions::default());
    let target = Cluster::start(ClusterOptions::default());
    for c in [&source, &target] {
        c.psql("CREATE TABLE s (region text, id int, v text, PRIMARY KEY (region, id)); \
                INSERT INTO s SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g, 'v' || g FROM generate_series(1, 40000) g;");
    }
    target.psql("UPDATE s SET v = 'x' WHERE id IN (2, 20001, 39999); DELETE FROM s WHERE id = 1000; INSERT INTO s VALUES ('zz', 1, 'extra');");
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), &source, &target);
    // One 40k-row chunk; rows compared directly only below 300: two levels of 16-way splits.
    let (code, report) = verify(&inventory, &["--chunk-rows", "50000", "--rows-per-fetch", "300"]);
    assert_eq!(code, Some(1), "{report:#}");
    let t = &report["tables"][0];
    assert_eq!(t["chunks"], 1);
    let mut found: Vec<String> = t["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{}/{} {}", d["key"]["region"].as_str().unwrap(), d["key"]["id"], d["kind"].as_str().unwrap()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            "eu/1000 missing_on_target",
            "eu/2 different",
            "us/20001 different",
            "us/39999 different",
            "zz/1 extra_on_target",
        ]
    );
}

/// Every worker failing (here: the target's table locked past the session's
/// `lock_timeout`) ends the verification with the table in error — it must
/// not leave the chunk planner waiting on a queue nobody reads.
#[test]
fn failing_workers_end_the_table_with_an_error_instead_of_hanging() {
    let source = Cluster::start(ClusterOptions::default());
    let target = Cluster::start(ClusterOptions::default());
    for c in [&source, &target] {
        c.psql(
            "CREATE TABLE l (id int PRIMARY KEY, v text); INSERT INTO l SELECT g, 'v' FROM generate_series(1, 3000) g;",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), &source, &target);
    std::thread::scope(|scope| {
        let lock =
            scope.spawn(|| target.psql("BEGIN; LOCK TABLE l IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(12); COMMIT;"));
        std::thread::sleep(Duration::from_millis(500));
        let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args([
                "verify",
                "--source",
                "source",
                "--target",
                "target",
                "--json",
                "--chunk-rows",
                "100",
                "--inventory",
            ])
            .arg(&inventory)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Liveness, not speed: before the fix this never returned.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("verify hung with every worker failed");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = child.wait_with_output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(2), "{report:#}");
        assert_eq!(report["tables"][0]["status"], "error", "{report:#}");
        assert!(report["tables"][0]["error"].as_str().unwrap().contains("lock"), "{report:#}");
        lock.join().unwrap();
    });
}
