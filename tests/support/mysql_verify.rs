//! What the MySQL → PostgreSQL verification tests share: one MariaDB primary
//! and one PostgreSQL cluster for all the tests running at once (each test
//! works in databases of its own), a database loaded from MariaDB into
//! PostgreSQL by real pgloader (both sessions in UTC), and `cutover verify`
//! run on it with its JSON report read back.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde_json::Value;

use crate::support::mariadb::{Mariadb, PASSWORD};
use crate::support::pg::{Cluster, ClusterOptions};
use crate::support::run::{Ended, cutover};

/// A verify run that takes longer than this is hung.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The servers the tests share.
pub struct Servers {
    pub mariadb: Mariadb,
    pub pg: Cluster,
}

/// The shared servers, started by the first test that asks and stopped when
/// the last one drops its handle.
pub fn servers() -> Arc<Servers> {
    static SHARED: Mutex<Weak<Servers>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(servers) = shared.upgrade() {
        return servers;
    }
    let servers = std::thread::scope(|scope| {
        let pg = scope.spawn(|| Cluster::start(ClusterOptions::default().max_connections(60)));
        let mariadb = Mariadb::start();
        // pgloader reads DATETIME and TIMESTAMP in the server's default zone.
        mariadb.sql("SET GLOBAL time_zone = '+00:00'");
        Servers { mariadb, pg: pg.join().unwrap() }
    });
    let servers = Arc::new(servers);
    *shared = Arc::downgrade(&servers);
    servers
}

/// A database of one name on both servers, and an inventory naming them
/// `source` (MariaDB) and `target` (PostgreSQL).
pub struct Db {
    pub servers: Arc<Servers>,
    pub name: String,
    pub dir: tempfile::TempDir,
    pub inventory: PathBuf,
}

impl Db {
    /// Create the database on MariaDB (utf8mb4) and run `sql` in it.
    pub fn create(name: &str, sql: &str) -> Db {
        let servers = servers();
        servers.mariadb.sql(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"));
        servers.pg.create_database(name);
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("inventory.toml");
        let text = format!(
            "[endpoints.source]\nkind = \"mysql\"\ndsn = \"{}\"\npassword_env = \"CUTOVER_TEST_MYSQL_PASSWORD\"\n\n\
             [endpoints.target]\nkind = \"postgres\"\ndsn = \"{}\"\n",
            servers.mariadb.url(name),
            servers.pg.dsn_as("postgres", name)
        );
        std::fs::write(&inventory, text).unwrap();
        let db = Db { servers, name: name.to_owned(), dir, inventory };
        db.mariadb(sql);
        db
    }

    /// Statements in the MariaDB database (utf8mb4 client).
    pub fn mariadb(&self, sql: &str) -> String {
        self.servers.mariadb.sql(&format!("SET NAMES utf8mb4; SET time_zone = '+00:00'; USE {}; {sql}", self.name))
    }

    /// Statements in the PostgreSQL database.
    pub fn pg(&self, sql: &str) -> String {
        self.servers.pg.psql_in(&self.name, sql)
    }

    /// Load the MariaDB database into PostgreSQL with pgloader: its default
    /// casts, the target session in UTC, and `casts` (pgloader's `CAST`
    /// clause, e.g. `column docs.body to jsonb drop typemod`).
    pub fn pgloader(&self, casts: &[&str]) {
        let mut command = format!(
            "LOAD DATABASE FROM {} INTO postgresql://postgres@127.0.0.1:{}/{}\n SET PostgreSQL PARAMETERS timezone = 'UTC'\n",
            self.servers.mariadb.url_with_password(&self.name),
            self.servers.pg.port,
            self.name
        );
        if !casts.is_empty() {
            command.push_str(&format!(" CAST {}\n", casts.join(", ")));
        }
        command.push_str(";\n");
        let file = self.dir.path().join("load.load");
        std::fs::write(&file, command).unwrap();
        let root = self.dir.path().join("pgloader");
        let out = Command::new("pgloader").arg("--root-dir").arg(&root).arg(&file).output().unwrap_or_else(|e| {
            panic!("cannot run pgloader: {e}. Install it: apt-get install pgloader (scripts/test does)")
        });
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && !log.contains("ERROR"), "pgloader failed:\n{log}");
    }

    /// `cutover verify --json --inventory … --source source --target target ARGS`.
    pub fn verify(&self, args: &[&str]) -> Ended {
        let mut all = vec!["verify", "--json", "--inventory", self.inventory.to_str().unwrap()];
        all.extend(["--source", "source", "--target", "target"]);
        all.extend_from_slice(args);
        cutover(self.dir.path(), "verify", &all, &[("CUTOVER_TEST_MYSQL_PASSWORD", PASSWORD)], RUN_TIMEOUT)
    }

    /// [`Db::verify`] that must exit with `code`: its JSON report.
    pub fn report(&self, args: &[&str], code: i32) -> Value {
        let ended = self.verify(args);
        assert_eq!(ended.code, Some(code), "{}", ended.describe());
        serde_json::from_str(&ended.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", ended.describe()))
    }
}

/// The report of `table` (`database.table`).
pub fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {report:#}"))
}

/// A table's differences as (key, kind) texts, e.g. (`{"id":3}`, `different`).
pub fn differences(table: &Value) -> BTreeSet<(String, String)> {
    table["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["key"].to_string(), d["kind"].as_str().unwrap().to_owned()))
        .collect()
}

/// (key JSON, kind) pairs as [`differences`] gives them.
pub fn expect(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}
