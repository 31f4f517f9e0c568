//! The restore drill on real parts: a source archiving into a real pgBackRest
//! repository is moved by the shipped logical migration (its pre-flight
//! requires the recent backup; its switch takes a restore point), then the
//! shipped `pg-restore-drill.toml` restores the backup into a scratch copy up
//! to that restore point, starts it, verifies it against the source and
//! measures the recovery time. Rows the application wrote to the target
//! after the switch are not in the copy; everything the source held is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::pg::{Cluster, ClusterOptions, pg_bins};
use support::pgbackrest::Repo;
use support::run::{cutover, journal, run_args};

const RUNBOOKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks");
const RUN: Duration = Duration::from_secs(240);

/// Stops a restored copy left running by a failed drill.
struct Copy(std::path::PathBuf);

impl Drop for Copy {
    fn drop(&mut self) {
        if self.0.join("postmaster.pid").exists() {
            let _ = support::server_command(pg_bins().tool("pg_ctl"), self.0.parent().unwrap())
                .arg("-D")
                .arg(&self.0)
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

#[test]
fn the_restore_drill_restores_to_the_switch_s_restore_point_verifies_and_measures_the_recovery_time() {
    let repo = Repo::new();
    let source = Cluster::start(
        ClusterOptions::default().setting("archive_mode", "on").setting("archive_command", &repo.archive_command()),
    );
    repo.attach(&source);
    let target = Cluster::start(ClusterOptions::default());
    source.psql(
        "CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL);
         INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 5000) g;
         CREATE TABLE history (id bigserial PRIMARY KEY, account int NOT NULL, delta numeric NOT NULL);
         INSERT INTO history (account, delta) SELECT g % 5000 + 1, g FROM generate_series(1, 20000) g;",
    );
    repo.backup("full");
    // Written after the backup: the replay, not the backup, brings these.
    source.psql("INSERT INTO history (account, delta) SELECT g % 5000 + 1, -g FROM generate_series(1, 3000) g");

    let dir = support::scratch_dir("cutover-restore-drill-");
    // The source with its backup repository, and one more endpoint.
    let inventory = |file: &str, other: &str, dsn: &str| {
        let path = dir.path().join(file);
        let text = format!(
            "interval = \"500ms\"\n[endpoints.source]\nkind = \"postgres\"\ndsn = \"{}\"\n\
             backup = {{ command = '{}' }}\n[endpoints.{other}]\nkind = \"postgres\"\ndsn = \"{dsn}\"\n",
            source.dsn(),
            repo.info_command()
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let inv = inventory("migration.toml", "target", &target.dsn());

    // The migration, headless: its pre-flight reads the backup, its switch makes the restore point.
    let migration = dir.path().join("migration.jsonl");
    let runbook = format!("{RUNBOOKS}/pg-logical-migration.toml");
    let args = [run_args(&runbook, &inv, &migration, "drill-bot").as_slice(), &["--allow-manual"]].concat();
    let ran = cutover(dir.path(), "migration", &args, &[], RUN);
    assert_eq!(ran.code, Some(0), "{}", ran.describe());
    let records = journal(&migration);
    let pre_flight = records
        .iter()
        .filter(|r| r["event"] == "step_finished")
        .find(|r| r["summary"].as_str().is_some_and(|s| s.contains("backup.age(source)")))
        .expect("the backup pre-flight did not run");
    assert_eq!(pre_flight["ok"], true, "{pre_flight}");
    let point = records.iter().find(|r| r["event"] == "restore_point").expect("no restore point");
    let name = point["name"].as_str().unwrap().to_owned();
    let held_at_switch = source.psql("SELECT count(*) FROM history");

    // The application writes to the target after the switch: none of it may be in the copy.
    target.psql("INSERT INTO history (account, delta) SELECT 1, 0.5 FROM generate_series(1, 700)");

    // The drill.
    let scratch = dir.path().join("copy");
    let _copy = Copy(scratch.clone());
    let port = support::free_port();
    let drill_inv =
        inventory("drill.toml", "restored", &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"));
    let drill_journal = dir.path().join("drill.jsonl");
    let runbook = format!("{RUNBOOKS}/pg-restore-drill.toml");
    let pgbackrest = format!("pgbackrest --config={}", repo.conf.display());
    let bindir = pg_bins().bindir.display().to_string();
    let as_postgres = if support::is_root() { "runuser -u postgres --" } else { "" };
    let vars = [
        format!("restore_point={name}"),
        format!("pgbackrest={pgbackrest}"),
        format!("scratch={}", scratch.display()),
        format!("pg_bindir={bindir}"),
        format!("as_postgres={as_postgres}"),
    ];
    let mut args = run_args(&runbook, &drill_inv, &drill_journal, "drill-bot");
    for v in &vars {
        args.extend(["--var", v.as_str()]);
    }
    let ran = cutover(dir.path(), "drill", &args, &[], RUN);
    assert_eq!(ran.code, Some(0), "{}", ran.describe());
    let records = journal(&drill_journal);
    let last = records.last().unwrap();
    assert_eq!(last["outcome"], "completed", "{last}");

    // The recovery time: journaled, positive, no longer than the restore phase's own steps took.
    let rto = records.iter().find(|r| r["event"] == "recovery_time").expect("no recovery time in the journal");
    assert_eq!(rto["phase"], "2");
    let seconds = rto["seconds"].as_f64().unwrap();
    assert!(seconds > 0.0 && seconds < RUN.as_secs_f64(), "{rto}");
    let said: Vec<&Value> = records.iter().filter(|r| r["event"] == "step_finished").collect();
    let stopped = said.iter().find(|r| r["step"] == "3.1").unwrap();
    assert_eq!(stopped["ok"], true, "the copy's log does not say it stopped at the restore point: {stopped}");
    let verified = said.iter().find(|r| r["step"] == "3.2").unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(!scratch.exists(), "the drill did not remove its copy");

    // What the copy held, from the drill's own verification: every table of the
    // source equal; and the rows written to the target after the switch are absent
    // because the source never had them (its count at the switch is what verify compared).
    let output: Vec<&str> = records
        .iter()
        .filter(|r| r["event"] == "output" && r["step"] == "3.2")
        .filter_map(|r| r["text"].as_str())
        .collect();
    for table in ["accounts", "history"] {
        assert!(output.iter().any(|l| l.starts_with(&format!("public.{table}: equal ("))), "{output:#?}");
    }
    assert_eq!(source.psql("SELECT count(*) FROM history"), held_at_switch, "the source took writes after the switch");
    assert_ne!(target.psql("SELECT count(*) FROM history"), held_at_switch);

    // The report says the recovery time.
    let html = dir.path().join("drill.html");
    let report = cutover(
        dir.path(),
        "report",
        &["report", drill_journal.to_str().unwrap(), "-o", html.to_str().unwrap()],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(report.code, Some(0), "{}", report.describe());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"recovery-time\""), "the report has no recovery time");
}
