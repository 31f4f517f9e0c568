//! The safety net under a cutover, on real parts: a PostgreSQL cluster that
//! archives its WAL into a real pgBackRest repository (both started here).
//! The archive's figures when it works and when it fails, the gates on them,
//! the backup repository's figures, and the shipped runbook's pre-flight that
//! refuses a backup older than its limit.

#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use cutover::collect::Collector;
use cutover::events::{Action, EndpointKind, EndpointSample, Reading, Sample};
use cutover::inventory;
use cutover::state::State;
use support::observe::{observe, observe_until};
use support::pg::{Cluster, ClusterOptions};
use support::pgbackrest::Repo;
use support::run::{cutover, journal};

const WAIT: Duration = Duration::from_secs(60);

/// A cluster archiving into `repo`.
fn archiving(repo: &Repo) -> Cluster {
    let cluster = Cluster::start(
        ClusterOptions::default().setting("archive_mode", "on").setting("archive_command", &repo.archive_command()),
    );
    repo.attach(&cluster);
    cluster.psql("CREATE TABLE writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())");
    cluster
}

fn inventory_text(cluster: &Cluster, repo: &Repo) -> String {
    format!(
        "name = \"backups\"\ninterval = \"500ms\"\n[endpoints.source]\nkind = \"postgres\"\ndsn = \"{}\"\n\
         backup = {{ command = '{}', every = \"1s\" }}\n",
        cluster.dsn(),
        repo.info_command()
    )
}

fn collector(cluster: &Cluster, repo: &Repo) -> Collector {
    let lookup = |k: &str| (k == "USER").then(|| "postgres".to_owned());
    let inv = inventory::parse("backups.toml", &inventory_text(cluster, repo), &lookup).unwrap();
    Collector::new(inv.endpoints.into_iter().next().unwrap())
}

/// A writer inserting a row every 50 ms, and ending a WAL segment every
/// 500 ms, until dropped.
struct Writer(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Writer {
    fn start(cluster: &Cluster) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let dsn = cluster.dsn();
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut client = postgres_client(&dsn);
            let mut n = 0u32;
            while !flag.load(Ordering::Relaxed) {
                client.batch_execute("INSERT INTO writes DEFAULT VALUES").unwrap();
                // A segment every half second: the archiver gets a file to
                // archive at a pace the test controls.
                n += 1;
                if n % 10 == 0 {
                    client.batch_execute("SELECT pg_switch_wal()").unwrap();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Writer(stop, Some(handle))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        if let Some(h) = self.1.take() {
            let _ = h.join();
        }
    }
}

fn postgres_client(dsn: &str) -> SyncClient {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (client, connection) = runtime.block_on(tokio_postgres::connect(dsn, tokio_postgres::NoTls)).unwrap();
    runtime.spawn(connection);
    SyncClient { runtime, client }
}

struct SyncClient {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl SyncClient {
    fn batch_execute(&mut self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.runtime.block_on(self.client.batch_execute(sql))
    }
}

/// The cockpit's state after hearing `sample` now.
fn state_with(sample: &EndpointSample) -> State {
    let now = Utc::now();
    let mut state = State::new("test");
    let heard = Sample {
        at: now,
        endpoint: "source".to_owned(),
        kind: EndpointKind::Postgres,
        reading: Reading::Observed(sample.clone()),
    };
    state.update(&Action::Sample(heard));
    state.update(&Action::Tick { now });
    state
}

fn gate(state: &State, condition: &str) -> (bool, String) {
    let verdict = cutover::condition::parse(condition).unwrap().eval(state);
    (verdict.holds, verdict.reason)
}

fn disk_pane(state: &State) -> String {
    let theme = common::theme("dark", cutover::theme::ColorMode::Ansi16, false);
    let mut state = state.clone();
    state.update(&Action::Zoom { pane: Some(cutover::events::Pane::Disk) });
    common::screen(&state, &theme, 100, 30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_archive_is_current_and_a_failing_one_shows_failures_a_growing_lag_and_shuts_its_gate() {
    let repo = Repo::new();
    let cluster = archiving(&repo);
    let _writer = Writer::start(&cluster);
    let mut source = collector(&cluster, &repo);

    // Working: the last WAL archived within a few seconds, nothing waits, nothing fails.
    let working = observe_until(&mut source, "a WAL file archived in the last 3 s", |s| {
        s.archive.as_ref().is_some_and(|a| {
            a.last_archived_at.is_some_and(|at| (Utc::now() - at).num_milliseconds() < 3000) && a.waiting.is_some()
        })
    })
    .await;
    let archive = working.archive.as_ref().unwrap();
    assert_eq!(archive.mode, "on");
    assert!(archive.archived_count > 0 && !archive.failing(), "{archive:?}");
    let state = state_with(&working);
    let healthy = "archive.age(source) < 5s and archive.lag(source) < 60s and archive.failing(source) == false";
    let (holds, reason) = gate(&state, healthy);
    assert!(holds, "{reason}");
    let pane = disk_pane(&state);
    let wal = archive.last_archived_wal.clone().unwrap();
    assert!(pane.contains("archive") && pane.contains(&wal[..16]), "{pane}");

    // Failing: the archiver's command now fails; failures count up, WAL waits, and the wait grows.
    cluster.psql("ALTER SYSTEM SET archive_command = 'false'");
    cluster.psql("SELECT pg_reload_conf()");
    let failing = observe_until(&mut source, "two WAL files waiting behind a failing archiver", |s| {
        s.archive.as_ref().is_some_and(|a| a.failing() && a.failed_count > 0 && a.waiting.is_some_and(|n| n >= 2))
    })
    .await;
    let first_lag = failing.archive.as_ref().unwrap().lag_seconds(Utc::now()).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = observe(&mut source).await;
    let archive = later.archive.as_ref().unwrap();
    let later_lag = archive.lag_seconds(Utc::now()).unwrap();
    assert!(later_lag >= first_lag + 1.5, "the archive lag does not grow: {first_lag} then {later_lag}");
    assert!(archive.last_failed_wal.is_some() && archive.last_failed_at.is_some(), "{archive:?}");
    let state = state_with(&later);
    let (holds, reason) = gate(&state, healthy);
    assert!(!holds, "the gate opened on a failing archive: {reason}");
    assert!(reason.contains("archive.failing(source)"), "the reason does not name the failing archive: {reason}");
    let (holds, reason) = gate(&state, "archive.lag(source) < 1s");
    assert!(!holds, "{reason}");
    let pane = disk_pane(&state);
    assert!(pane.contains("FAILING"), "{pane}");

    // Mended: the archive catches up by itself, and the gate opens again.
    cluster
        .psql(&format!("ALTER SYSTEM SET archive_command = {}", support::pg::quote_literal(&repo.archive_command())));
    cluster.psql("SELECT pg_reload_conf()");
    let mended = observe_until(&mut source, "the archive caught up", |s| {
        s.archive.as_ref().is_some_and(|a| !a.failing() && a.waiting == Some(0))
    })
    .await;
    let (holds, reason) = gate(&state_with(&mended), "archive.failing(source) == false and archive.lag(source) < 60s");
    assert!(holds, "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_shows_its_age_and_size_in_the_pane_and_in_status_json() {
    let repo = Repo::new();
    let cluster = archiving(&repo);
    let mut source = collector(&cluster, &repo);

    // No backup yet: the repository answers, and the gate on the backup's age says why it stays shut.
    let none = observe(&mut source).await;
    let backup = none.backup.as_ref().expect("the inventory gives a backup command");
    assert!(backup.error.is_none() && backup.newest().is_none(), "{backup:?}");
    let (holds, reason) = gate(&state_with(&none), "backup.age(source) < 1h");
    assert!(!holds && reason.contains("no backup"), "{reason}");

    repo.backup("full");
    let after =
        observe_until(&mut source, "the full backup", |s| s.backup.as_ref().is_some_and(|b| b.last_full.is_some()))
            .await;
    let full = after.backup.as_ref().unwrap().last_full.clone().unwrap();
    assert_eq!(full.kind, "full");
    assert!(full.size_bytes > 1_000_000, "{full:?}");
    let state = state_with(&after);
    let (holds, reason) = gate(&state, "backup.age(source) < 1h and backup.full_age(source) < 1h");
    assert!(holds, "{reason}");
    let (holds, _) = gate(&state, "backup.age(source) < 0s");
    assert!(!holds);
    let pane = disk_pane(&state);
    assert!(pane.contains("backup") && pane.contains("full") && pane.contains("ago"), "{pane}");

    // `status --json` carries both, as the collector reads them.
    let dir = support::scratch_dir("cutover-backup-status-");
    let inv = dir.path().join("inventory.toml");
    std::fs::write(&inv, inventory_text(&cluster, &repo)).unwrap();
    let ended = cutover(dir.path(), "status", &["status", "--inventory", inv.to_str().unwrap(), "--json"], &[], WAIT);
    assert_eq!(ended.code, Some(0), "{}", ended.describe());
    let json: serde_json::Value = serde_json::from_str(&ended.stdout).unwrap();
    let text = json.to_string();
    assert!(text.contains(&full.label), "status --json lacks the backup: {text}");
    assert!(
        text.contains("\"archive\"") && text.contains("last_archived_wal"),
        "status --json lacks the archive: {text}"
    );
}

#[test]
fn the_shipped_pre_flight_refuses_a_backup_older_than_its_limit_and_passes_after_a_new_one() {
    let repo = Repo::new();
    let cluster = archiving(&repo);
    let target = Cluster::start(ClusterOptions::default());
    repo.backup("full");
    let dir = support::scratch_dir("cutover-backup-preflight-");
    let text = format!(
        "{}[endpoints.target]\nkind = \"postgres\"\ndsn = \"{}\"\n",
        inventory_text(&cluster, &repo),
        target.dsn()
    );
    let inv = dir.path().join("inventory.toml");
    std::fs::write(&inv, text).unwrap();
    // The shipped runbook, its limit made small: 24h becomes 10s.
    let shipped =
        std::fs::read_to_string(format!("{}/runbooks/pg-logical-migration.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let limit = "backup.age(source) < 24h";
    assert!(shipped.contains(limit), "the shipped pre-flight no longer reads {limit}");
    let runbook = dir.path().join("pg-logical-migration.toml");
    std::fs::write(&runbook, shipped.replace(limit, "backup.age(source) < 10s")).unwrap();
    let runbook = runbook.to_str().unwrap().to_owned();
    let start = |journal_name: &str| {
        let path = dir.path().join(journal_name);
        let mut args = support::run::run_args(&runbook, &inv, &path, "ana");
        args.push("--allow-manual");
        (support::run::spawn(dir.path(), journal_name, &args, &[]), path)
    };
    let step_named = |records: &[serde_json::Value]| -> String {
        let outline = &records[0]["outline"]["phases"];
        let steps = outline.as_array().unwrap().iter().flat_map(|p| p["steps"].as_array().unwrap().iter());
        let step = steps.clone().find(|s| s["name"] == "A recent backup and a working WAL archive");
        step.unwrap_or_else(|| panic!("no backup pre-flight in {outline}"))["id"].as_str().unwrap().to_owned()
    };

    std::thread::sleep(Duration::from_secs(11));
    let (old, path) = start("old.jsonl");
    let ended = old.wait(WAIT);
    assert_ne!(ended.code, Some(0), "{}", ended.describe());
    assert!(path.exists(), "no journal: {}", ended.describe());
    let records = journal(&path);
    let step = step_named(&records);
    let finished = records.iter().find(|r| support::run::is(r, "step_finished", &step)).unwrap_or_else(|| {
        panic!("no end of the backup check {step} in {records:#?}");
    });
    assert_eq!(finished["ok"], false, "{finished}");
    let said = finished.to_string();
    assert!(said.contains("backup.age(source)"), "the refusal does not name the backup's age: {said}");
    assert!(
        !records.iter().any(|r| r["event"] == "step_started" && r["step"].as_str().is_some_and(|s| s.starts_with('2'))),
        "the run went past a refused backup check"
    );

    repo.backup("incr");
    let (mut new, path) = start("new.jsonl");
    new.wait_for_record(&path, "the backup check's end", |r| support::run::is(r, "step_finished", &step));
    let records = support::run::journal_so_far(&path);
    let finished = records.iter().find(|r| support::run::is(r, "step_finished", &step)).unwrap();
    assert_eq!(finished["ok"], true, "{finished}");
    new.kill();
}
