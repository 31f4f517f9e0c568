//! The shipped logical migration on "managed" PostgreSQL 16: no superuser on
//! either side, as on a hosted service.
//!
//! * The source's `migrator` is `LOGIN REPLICATION`, authenticates with a
//!   scram-sha-256 password over TCP (a non-superuser's subscription must send
//!   one and the source must ask for it: `password_required`), owns the tables
//!   and their sequences, and holds the few grants the cutover steps need
//!   (see [`SOURCE_GRANTS`]). The target's `migrator` is a member of
//!   `pg_create_subscription` with CREATE on the database and on `public`.
//!   `cutover run --yes --allow-manual` completes; the rows (read with psql,
//!   as postgres) and the sequences are equal on both sides; the publication
//!   lists the tables (FOR ALL TABLES needs a superuser) and the target's
//!   tables belong to `migrator`.
//! * On fresh clusters with one privilege taken away, the run stops in
//!   Pre-flight, and the failing step's journal text names what is missing.
//! * The shipped pooler runbook runs the same way through a real PgBouncer,
//!   its way back included (the target's migrator also has REPLICATION, the
//!   source's is a member of pg_create_subscription).
//! * The shipped dump and restore runs the same way (the source's grants on
//!   pg_catalog functions, which only a superuser may restore, are left out
//!   and listed), and still streams the dump for superusers.
//!
//! PostgreSQL 16 comes from `$CUTOVER_PG16_BINDIR` (scripts/test extracts the
//! pinned wheel pgserver==0.1.4, PostgreSQL 16.2, into target/pg16); the
//! cutover process gets that directory first on its PATH, so the runbook's
//! pg_dump and psql are 16's too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::pg::{Cluster, ClusterOptions, pg16_bins};
use support::run::*;

const MIGRATION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/pg-logical-migration.toml");
const DUMP_RESTORE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/pg-dump-restore.toml");
/// How long the whole migration may take (well under a minute).
const MIGRATION_RUN: Duration = Duration::from_secs(170);
/// How long a run that stops in Pre-flight may take.
const PREFLIGHT_RUN: Duration = Duration::from_secs(60);
const USER: &str = "migrator";
const PASSWORD: &str = "managed-pg-Pa55word";
const PASSWORD_ENV: &str = "CUTOVER_TEST_MIGRATOR_PASSWORD";

/// What `migrator` is given on the source (besides LOGIN REPLICATION and the
/// ownership of the tables): CREATE on the database (for the publication),
/// reading other roles' sessions (the wait for open
/// transactions), a restore point, and making the source read-only.
const SOURCE_GRANTS: &str = "
ALTER ROLE migrator REPLICATION;
GRANT CREATE ON DATABASE app TO migrator;
GRANT pg_read_all_stats TO migrator;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_create_restore_point(text) TO migrator;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO migrator;
GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO migrator;
";

const TARGET_GRANTS: &str = "
GRANT pg_create_subscription TO migrator;
GRANT CREATE ON DATABASE app TO migrator;
";

/// Made by `migrator` on the source: tables with primary keys, an identity,
/// a serial, a sequence of its own, and rows.
const SCHEMA: &str = "
CREATE TABLE customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers (id),
  amount numeric(10,2) NOT NULL
);
CREATE TABLE settings (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE SEQUENCE invoice_no START 1000;
INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 500) g;
INSERT INTO orders (customer_id, amount) SELECT 1 + g % 500, (g % 997) / 10.0 FROM generate_series(1, 3000) g;
INSERT INTO settings SELECT 'key' || g, jsonb_build_object('n', g) FROM generate_series(1, 20) g;
SELECT count(nextval('invoice_no')) FROM generate_series(1, 7);
";
const TABLES: [&str; 3] = ["customers", "orders", "settings"];

struct Pair {
    source: Cluster,
    target: Cluster,
}

/// Two fresh PostgreSQL 16 clusters set up as in the module docs, each with
/// database `app`.
fn managed_pair() -> Pair {
    managed_pair_with("app", false)
}

/// [`managed_pair`] with database `db` (`postgres`: the one the test pooler
/// serves), on clusters with `wal_level = logical` on both sides when
/// `both_logical` (the pooler runbook's way back publishes from the target).
fn managed_pair_with(db: &str, both_logical: bool) -> Pair {
    let bins = pg16_bins();
    println!("PostgreSQL 16 for the managed-PostgreSQL tests: {} ({})", bins.version, bins.bindir.display());
    let options = ClusterOptions::default().bindir(&bins.bindir).password_user(USER, PASSWORD);
    let source = Cluster::start(options.clone().setting("wal_level", "logical"));
    let target = Cluster::start(if both_logical { options.setting("wal_level", "logical") } else { options });
    for cluster in [&source, &target] {
        assert!(cluster.psql("SELECT version()").starts_with("PostgreSQL 16."), "not a PostgreSQL 16 cluster");
        if db != "postgres" {
            cluster.create_database(db);
        }
        cluster.psql_in(db, "GRANT CREATE ON SCHEMA public TO migrator");
        assert_eq!(cluster.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'migrator'"), "f");
    }
    // In `db`: EXECUTE on a function is granted per database.
    source.psql_in(db, &SOURCE_GRANTS.replace(" app ", &format!(" {db} ")));
    target.psql_in(db, &TARGET_GRANTS.replace(" app ", &format!(" {db} ")));
    let conninfo = format!("host={} port={} user={USER} dbname={db}", source.socket_dir.display(), source.port);
    source.psql_conninfo(&conninfo, SCHEMA).unwrap();
    Pair { source, target }
}

/// `sql` in database `app` as `migrator` (over the trusted socket).
fn as_migrator(cluster: &Cluster, sql: &str) -> String {
    let conninfo = format!("host={} port={} user={USER} dbname=app", cluster.socket_dir.display(), cluster.port);
    cluster.psql_conninfo(&conninfo, sql).unwrap_or_else(|e| panic!("psql as {USER} failed: {e}\n--- sql\n{sql}"))
}

/// The inventory: both endpoints as `migrator` with its password from
/// [`PASSWORD_ENV`], over TCP (scram-sha-256). `disk_path`: a non-superuser
/// cannot read `data_directory`, and the pre-flight disk check needs a figure.
fn inventory(dir: &Path, pair: &Pair) -> std::path::PathBuf {
    let mut text = String::from("name = \"managed-pg\"\ninterval = \"500ms\"\n");
    for (name, cluster) in [("source", &pair.source), ("target", &pair.target)] {
        text.push_str(&format!(
            "[endpoints.{name}]\nkind = \"postgres\"\ndsn = \"{}\"\npassword_env = \"{PASSWORD_ENV}\"\ndisk_path = \"{}\"\n",
            cluster.dsn_as(USER, "app"),
            cluster.dir.display()
        ));
    }
    let path = dir.join("inventory.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `cutover run` of the shipped migration, headless, with PostgreSQL 16
/// first on the PATH.
fn run_migration(pair: &Pair, dir: &Path, timeout: Duration) -> (Ended, Vec<Value>) {
    run_runbook(MIGRATION, pair, dir, timeout)
}

fn run_runbook(runbook: &str, pair: &Pair, dir: &Path, timeout: Duration) -> (Ended, Vec<Value>) {
    let inv = inventory(dir, pair);
    let journal_path = dir.join("journal").join("migration.jsonl");
    let path = format!("{}:{}", pg16_bins().bindir.display(), std::env::var("PATH").unwrap_or_default());
    let args = [run_args(runbook, &inv, &journal_path, "managed-bot").as_slice(), &["--allow-manual"]].concat();
    let env = [("PATH", path.as_str()), (PASSWORD_ENV, PASSWORD)];
    let run = spawn(dir, "run", &args, &env).wait(timeout);
    let records = journal(&journal_path);
    (run, records)
}

/// `count:md5` of a table's rows, read as postgres.
fn fingerprint(cluster: &Cluster, table: &str) -> String {
    cluster.psql_in(
        "app",
        &format!(
            "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '-') FROM {table} t"
        ),
    )
}

fn sequences(cluster: &Cluster) -> String {
    cluster.psql_in(
        "app",
        "SELECT sequencename || '=' || coalesce(last_value::text, 'unused') FROM pg_sequences ORDER BY 1",
    )
}

/// The step ids of a run's outline, by name.
fn step_id(records: &[Value], name: &str) -> String {
    records[0]["outline"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["steps"].as_array().unwrap())
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name:?} in the outline"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_logical_migration_runs_without_superusers_on_postgres_16() {
    let pair = managed_pair();
    let dir = tempfile::tempdir().unwrap();
    let (run, records) = run_migration(&pair, dir.path(), MIGRATION_RUN);
    let trail = events(&records);
    assert_eq!(run.code, Some(0), "the migration did not complete:\n{}\n{trail:#?}", run.describe());
    assert!(run.stdout.contains("run completed"), "{}", run.describe());
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD), "the password was shown");
    let last = records.last().unwrap();
    assert_eq!((&last["event"], &last["outcome"]), (&Value::from("finished"), &Value::from("completed")), "{trail:?}");

    let (source, target) = (&pair.source, &pair.target);
    for table in TABLES {
        assert_eq!(fingerprint(target, table), fingerprint(source, table), "table {table} differs");
    }
    assert_eq!(fingerprint(target, "orders").split(':').next(), Some("3000"));
    assert_eq!(
        sequences(source),
        "customers_id_seq=500\ninvoice_no=1006\norders_id_seq=3000",
        "the source's sequences as the schema left them"
    );
    assert_eq!(sequences(target), sequences(source), "the sequences are synced");
    let next: i64 =
        as_migrator(target, "INSERT INTO orders (customer_id, amount) VALUES (1, 1) RETURNING id").parse().unwrap();
    assert_eq!(next, 3001, "the target's orders sequence continues the source's");

    // Without a superuser: a publication of the tables, not FOR ALL TABLES;
    // the target's copy belongs to migrator; the subscription and its slot are gone.
    assert_eq!(source.psql_in("app", "SELECT puballtables FROM pg_publication WHERE pubname = 'cutover_pub'"), "f");
    assert_eq!(
        source.psql_in(
            "app",
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'cutover_pub'"
        ),
        TABLES.join(",")
    );
    assert_eq!(
        target.psql_in("app", "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'"),
        USER
    );
    assert_eq!(target.psql_in("app", "SELECT count(*) FROM pg_subscription"), "0");
    assert_eq!(source.psql("SELECT count(*) FROM pg_replication_slots"), "0");
    assert_eq!(source.psql_in("app", "SHOW default_transaction_read_only"), "on", "the source was made read-only");

    // Every pre-flight role check ran and read ok.
    for name in [
        "Source user may replicate",
        "Source user owns the tables to publish",
        "Source user may create a publication",
        "Source user can read the sequences",
        "Source user can make the source read-only",
        "Source user sees every session",
        "Target user may subscribe",
        "Target user may create in the database",
        "Target user may create in the source's schemas",
        "Source can make a restore point",
    ] {
        let id = step_id(&records, name);
        assert!(
            records.iter().any(|r| is(r, "step_finished", &id) && r["ok"] == true),
            "{name} did not pass: {trail:?}"
        );
    }
    let copy = step_id(&records, "Copy the schema");
    assert!(
        output_of(&records, &copy).iter().any(|l| l.contains("without owners and grants")),
        "{:?}",
        output_of(&records, &copy)
    );
}

/// Fresh clusters with one privilege taken away: the run stops in Pre-flight
/// at `step`, whose journal text says `missing` and nothing was set up.
fn fails_in_preflight(revoke_on_source: &str, revoke_on_target: &str, step: &str, missing: &str) {
    let pair = managed_pair();
    if !revoke_on_source.is_empty() {
        pair.source.psql_in("app", revoke_on_source);
    }
    if !revoke_on_target.is_empty() {
        pair.target.psql_in("app", revoke_on_target);
    }
    let dir = tempfile::tempdir().unwrap();
    let (run, records) = run_migration(&pair, dir.path(), PREFLIGHT_RUN);
    let trail = events(&records);
    assert_ne!(run.code, Some(0), "the run went through without the privilege:\n{}", run.describe());
    let id = step_id(&records, step);
    assert!(id.starts_with("1."), "{step} is not in Pre-flight ({id})");
    let failed = records
        .iter()
        .find(|r| is(r, "step_finished", &id) && r["ok"] == false)
        .unwrap_or_else(|| panic!("{step} ({id}) did not fail: {trail:#?}\n{}", run.describe()));
    let texts: Vec<String> = records.iter().filter(|r| r["step"] == id.as_str()).map(Value::to_string).collect();
    assert!(
        texts.iter().any(|t| t.contains(missing)),
        "the journal of {step} does not say `{missing}`: {failed}\n{texts:#?}"
    );
    assert!(
        !records.iter().any(|r| r["event"] == "step_started" && r["step"].as_str().unwrap().starts_with("2.")),
        "Replication setup started: {trail:?}"
    );
    assert_eq!(pair.source.psql_in("app", "SELECT count(*) FROM pg_publication"), "0");
    assert_eq!(
        pair.target.psql_in("app", "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"),
        "0"
    );
}

#[test]
fn a_missing_replication_attribute_stops_the_run_in_preflight() {
    fails_in_preflight(
        "ALTER ROLE migrator NOREPLICATION",
        "",
        "Source user may replicate",
        "missing: the REPLICATION attribute (ALTER ROLE migrator REPLICATION)",
    );
}

#[test]
fn a_missing_pg_create_subscription_stops_the_run_in_preflight() {
    fails_in_preflight(
        "",
        "REVOKE pg_create_subscription FROM migrator",
        "Target user may subscribe",
        "missing: membership in pg_create_subscription (PostgreSQL 16+",
    );
}

#[test]
fn a_table_of_another_owner_stops_the_run_in_preflight() {
    fails_in_preflight(
        "CREATE TABLE audit (id int PRIMARY KEY)",
        "",
        "Source user owns the tables to publish",
        "missing: ownership of public.audit",
    );
}

#[test]
fn a_missing_alter_system_grant_stops_the_run_in_preflight() {
    fails_in_preflight(
        "REVOKE ALTER SYSTEM ON PARAMETER default_transaction_read_only FROM migrator",
        "",
        "Source user can make the source read-only",
        "missing: ALTER SYSTEM on default_transaction_read_only (GRANT ALTER SYSTEM ON PARAMETER",
    );
}

#[test]
fn the_dump_and_restore_runs_without_superusers_on_postgres_16() {
    let pair = managed_pair();
    let dir = tempfile::tempdir().unwrap();
    let (run, records) = run_runbook(DUMP_RESTORE, &pair, dir.path(), MIGRATION_RUN);
    let trail = events(&records);
    assert_eq!(run.code, Some(0), "the dump and restore did not complete:\n{}\n{trail:#?}", run.describe());
    let (source, target) = (&pair.source, &pair.target);
    for table in TABLES {
        assert_eq!(fingerprint(target, table), fingerprint(source, table), "table {table} differs");
    }
    assert_eq!(sequences(target), sequences(source), "the sequences are copied");
    assert_eq!(
        target.psql_in("app", "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'"),
        USER
    );
    let dump = step_id(&records, "Dump source into target");
    let output = output_of(&records, &dump);
    assert!(
        output
            .iter()
            .any(|l| l.starts_with("not restored (grant on a system object") && l.contains("pg_create_restore_point")),
        "the source's grant on pg_create_restore_point is left out, and said: {output:#?}"
    );
    for name in [
        "Source user can read every table",
        "Target user may create in the database",
        "Target user may create in the source's schemas",
        "Source user can make the source read-only",
        "Source user sees every session",
        "Source can make a restore point",
    ] {
        let id = step_id(&records, name);
        assert!(
            records.iter().any(|r| is(r, "step_finished", &id) && r["ok"] == true),
            "{name} did not pass: {trail:?}"
        );
    }
}

/// The superuser path of the dump and restore is the one it always was (the
/// streamed dump), on the default PostgreSQL of the tests.
#[test]
fn the_dump_and_restore_still_streams_for_superusers() {
    let source = Cluster::start(ClusterOptions::default());
    let target = Cluster::start(ClusterOptions::default());
    for cluster in [&source, &target] {
        cluster.create_database("app");
    }
    source.psql_in("app", SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("name = \"superuser\"\ninterval = \"500ms\"\n");
    for (name, cluster) in [("source", &source), ("target", &target)] {
        text.push_str(&format!(
            "[endpoints.{name}]\nkind = \"postgres\"\ndsn = \"{}\"\n",
            cluster.dsn_as("postgres", "app")
        ));
    }
    let inv = dir.path().join("inventory.toml");
    std::fs::write(&inv, text).unwrap();
    let journal_path = dir.path().join("dump.jsonl");
    let args = [run_args(DUMP_RESTORE, &inv, &journal_path, "superuser-bot").as_slice(), &["--allow-manual"]].concat();
    let run = spawn(dir.path(), "run", &args, &[]).wait(MIGRATION_RUN);
    let records = journal(&journal_path);
    assert_eq!(run.code, Some(0), "the dump and restore did not complete:\n{}", run.describe());
    for table in TABLES {
        assert_eq!(fingerprint(&target, table), fingerprint(&source, table), "table {table} differs");
    }
    let dump = step_id(&records, "Dump source into target");
    assert!(output_of(&records, &dump).iter().all(|l| !l.contains("not restored")), "{:?}", output_of(&records, &dump));
}

/// The pooler runbook without superusers, its way back included: the
/// target's migrator may replicate, the source's may subscribe.
#[test]
fn the_pooler_migration_runs_without_superusers_on_postgres_16() {
    const POOLER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/pg-logical-migration-pooler.toml");
    let pair = managed_pair_with("postgres", true);
    pair.target.psql("ALTER ROLE migrator REPLICATION");
    pair.source.psql("GRANT pg_create_subscription TO migrator");
    let bouncer = support::bouncer::Bouncer::start(&pair.source, support::bouncer::BouncerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("name = \"managed-pooler\"\ninterval = \"500ms\"\n");
    for (name, cluster) in [("source", &pair.source), ("target", &pair.target)] {
        text.push_str(&format!(
            "[endpoints.{name}]\nkind = \"postgres\"\ndsn = \"{}\"\npassword_env = \"{PASSWORD_ENV}\"\ndisk_path = \"{}\"\n",
            cluster.dsn_as(USER, "postgres"),
            cluster.dir.display()
        ));
    }
    text.push_str(&format!(
        "[endpoints.pooler]\nkind = \"pgbouncer\"\ndsn = \"{}\"\nini = \"{}\"\n",
        bouncer.admin_dsn(),
        bouncer.config_file.display()
    ));
    let inv = dir.path().join("inventory.toml");
    std::fs::write(&inv, text).unwrap();
    let journal_path = dir.path().join("pooler.jsonl");
    let path = format!("{}:{}", pg16_bins().bindir.display(), std::env::var("PATH").unwrap_or_default());
    let args = [run_args(POOLER, &inv, &journal_path, "managed-bot").as_slice(), &["--allow-manual"]].concat();
    let run = spawn(dir.path(), "run", &args, &[("PATH", path.as_str()), (PASSWORD_ENV, PASSWORD)]).wait(MIGRATION_RUN);
    let records = journal(&journal_path);
    let trail = events(&records);
    assert_eq!(run.code, Some(0), "the pooler migration did not complete:\n{}\n{trail:#?}", run.describe());
    let (source, target) = (&pair.source, &pair.target);
    for table in TABLES {
        let read = |c: &Cluster| {
            c.psql(&format!(
                "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '-') FROM {table} t"
            ))
        };
        assert_eq!(read(target), read(source), "table {table} differs");
    }
    let seqs = "SELECT sequencename || '=' || coalesce(last_value::text, 'unused') FROM pg_sequences ORDER BY 1";
    assert_eq!(target.psql(seqs), source.psql(seqs), "the sequences are synced");
    // The way back was a publication of the tables (the last phase dropped it).
    let back = output_of(&records, &step_id(&records, "Create the publication for the way back"));
    assert!(back.iter().any(|l| l.contains("FOR TABLE public.customers, public.orders, public.settings")), "{back:#?}");
    assert_eq!(target.psql("SELECT count(*) FROM pg_publication"), "0", "{trail:?}");
    for name in [
        "Target user may replicate back",
        "Source user may subscribe back",
        "Source user can read and set the sequences",
    ] {
        let id = step_id(&records, name);
        assert!(
            records.iter().any(|r| is(r, "step_finished", &id) && r["ok"] == true),
            "{name} did not pass: {trail:?}"
        );
    }
}
