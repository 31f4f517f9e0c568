//! Verification while logical replication still flows: rows in flight (sent
//! but not yet applied on the target) are not reported as differences.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use support::pg::{Cluster, ClusterOptions, publish_and_subscribe};

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
        let inventory = dir.path().join("inv.toml");
        std::fs::write(
            &inventory,
            format!(
                "[endpoints.source]\nkind = \"postgres\"\ndsn = \"{}\"\n[endpoints.target]\nkind = \"postgres\"\ndsn = \"{}\"\n",
                source.dsn(),
                target.dsn()
            ),
        )
        .unwrap();
        // Right now the target lacks the new rows.
        assert_eq!(target.psql("SELECT count(*) FROM t"), "1000");
        let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args([
                "verify",
                "--source",
                "source",
                "--target",
                "target",
                "--json",
                "--chunk-rows",
                "200",
                "--inventory",
            ])
            .arg(&inventory)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        });
        assert_eq!(out.status.code(), Some(0), "{report:#}");
        assert_eq!(report["totals"]["differences"], 0);
        assert_eq!(report["tables"][0]["rows_source"], 1050);
        lock.join().unwrap();
    });
}
