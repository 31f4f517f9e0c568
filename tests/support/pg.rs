//! Real PostgreSQL clusters for tests: [`Cluster::start`] (`initdb` +
//! `pg_ctl start`), [`Cluster::standby_of`] (`pg_basebackup`), logical
//! replication with [`publish_and_subscribe`], setup SQL with
//! [`Cluster::psql`], and [`Cluster::stop`] / [`Cluster::start_again`].
//!
//! Every cluster lives in its own scratch directory:
//!
//! ```text
//! <tmp>/cutover-pg-XXXXXX/   owned by postgres (when root), mode 0755
//!     data/                  the data directory (PGDATA)
//!         cutover_harness.conf   the harness's settings, included from postgresql.conf
//!     sock/                  unix_socket_directories
//!     postgres.log           pg_ctl -l
//! ```
//!
//! Settings are written to `data/cutover_harness.conf` (included at the end
//! of `postgresql.conf`) instead of `pg_ctl -o "-c …"`: no shell quoting of
//! paths, the same file serves `start_again`, and a standby made by
//! `pg_basebackup` inherits it and only needs its port and socket rewritten.
//! Always set: `port`, `listen_addresses = 127.0.0.1`,
//! `unix_socket_directories`, `wal_level = logical`, `max_wal_senders = 10`,
//! `max_replication_slots = 10`, `fsync`, `synchronous_commit` and
//! `full_page_writes` off, `shared_buffers = 16MB`, `max_connections`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use super::{ScratchDir, chown_to_server_user, free_port, run, scratch_dir, server_command, tail, write_server_file};

/// How long to wait for a standby or subscription to reach `streaming`.
pub const REPLICATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The PostgreSQL binaries the tests use. Found once per process:
/// `$CUTOVER_PG_BINDIR` (set by scripts/test), else the newest
/// `/usr/lib/postgresql/*/bin` with `initdb`, else `pg_config --bindir`.
/// Panics with install instructions when none has `initdb` and `pg_ctl`.
#[derive(Debug)]
pub struct PgBins {
    pub bindir: PathBuf,
    /// `postgres --version`, e.g. "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)".
    pub version: String,
}

impl PgBins {
    /// `bindir/name`; for `psql`, falls back to `psql` on `PATH`.
    pub fn tool(&self, name: &str) -> PathBuf {
        let path = self.bindir.join(name);
        if !super::is_executable(&path)
            && name == "psql"
            && let Some(found) = super::find_on_path("psql", &[])
        {
            return found;
        }
        path
    }
}

const INSTALL_HINT: &str = "The database integration tests need real PostgreSQL server binaries (initdb, pg_ctl, \
     postgres, pg_basebackup, psql). Install them (Debian/Ubuntu: `apt-get install postgresql postgresql-contrib`; \
     scripts/test does it when run as root) or point CUTOVER_PG_BINDIR at the directory holding initdb and pg_ctl.";

/// See [`PgBins`].
pub fn pg_bins() -> &'static PgBins {
    static BINS: OnceLock<PgBins> = OnceLock::new();
    BINS.get_or_init(|| {
        let has_server =
            |dir: &Path| super::is_executable(&dir.join("initdb")) && super::is_executable(&dir.join("pg_ctl"));
        let bindir = if let Some(dir) = std::env::var_os("CUTOVER_PG_BINDIR").filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            assert!(has_server(&dir), "CUTOVER_PG_BINDIR={} has no initdb and pg_ctl. {INSTALL_HINT}", dir.display());
            dir
        } else {
            let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let version = name.split('.').map(str::parse).collect::<Result<Vec<u32>, _>>().ok()?;
                    let bin = entry.path().join("bin");
                    has_server(&bin).then_some((version, bin))
                })
                .collect();
            versions.sort();
            match versions.pop() {
                Some((_, bin)) => bin,
                None => std::process::Command::new("pg_config")
                    .arg("--bindir")
                    .output()
                    .ok()
                    .filter(|out| out.status.success())
                    .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
                    .filter(|dir| has_server(dir))
                    .unwrap_or_else(|| panic!("PostgreSQL server binaries not found. {INSTALL_HINT}")),
            }
        };
        let version = run(std::process::Command::new(bindir.join("postgres")).arg("--version")).trim().to_owned();
        PgBins { bindir, version }
    })
}

const PG16_INSTALL_HINT: &str = "The managed-PostgreSQL tests need PostgreSQL 16 server binaries (initdb, pg_ctl, \
     postgres, pg_dump, psql; Debian 12 ships only 15). scripts/test installs the pinned PyPI wheel pgserver==0.1.4 \
     (PostgreSQL 16.2) into target/pg16 and sets CUTOVER_PG16_BINDIR; by hand: `pip download pgserver==0.1.4 --no-deps \
     -d DIR`, `python3 -m zipfile -e DIR/pgserver-*.whl target/pg16`, `chmod -R a+rX target/pg16`, `chmod +x \
     target/pg16/pgserver/pginstall/bin/*`, then CUTOVER_PG16_BINDIR=$PWD/target/pg16/pgserver/pginstall/bin.";

/// PostgreSQL 16 binaries for the tests that need 16 (a non-superuser's
/// subscription): `$CUTOVER_PG16_BINDIR` (set by scripts/test). Panics with
/// install instructions when it is unset, has no server, or is not 16.
pub fn pg16_bins() -> &'static PgBins {
    static BINS: OnceLock<PgBins> = OnceLock::new();
    BINS.get_or_init(|| {
        let dir = std::env::var_os("CUTOVER_PG16_BINDIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("CUTOVER_PG16_BINDIR is not set. {PG16_INSTALL_HINT}"));
        for tool in ["initdb", "pg_ctl", "postgres", "pg_dump", "psql"] {
            assert!(
                super::is_executable(&dir.join(tool)),
                "CUTOVER_PG16_BINDIR={} has no {tool}. {PG16_INSTALL_HINT}",
                dir.display()
            );
        }
        let version = run(std::process::Command::new(dir.join("postgres")).arg("--version")).trim().to_owned();
        assert!(
            version.contains("PostgreSQL) 16."),
            "CUTOVER_PG16_BINDIR={} is not PostgreSQL 16: {version}. {PG16_INSTALL_HINT}",
            dir.display()
        );
        PgBins { bindir: dir, version }
    })
}

/// Where a cluster's TLS certificate and key come from (see
/// [`super::certs::Certs::server_files`]). They are copied into the data
/// directory as `server.crt` and `server.key` (mode 0600, owned by the server
/// user), so the originals may go away while the cluster runs.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How to set up a [`Cluster`]. `ClusterOptions::default()` is a plain
/// cluster: trust authentication for everyone from 127.0.0.1 and the socket.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// `max_connections`; `None` means 30.
    pub max_connections: Option<u32>,
    /// Turn `ssl = on` with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// Only accept TCP connections over TLS (`hostssl` lines instead of
    /// `host`); Unix-socket connections (used by [`Cluster::psql`]) stay
    /// trusted. Needs `tls`.
    pub tls_only: bool,
    /// `(user, password)`: create this login role with this password and
    /// require `scram-sha-256` for it over TCP. Other users stay trusted.
    pub password_user: Option<(String, String)>,
    /// Extra settings (`name`, `value`), written after the harness's own, so
    /// they win. Values are quoted for you.
    pub settings: Vec<(String, String)>,
    /// Extra `pg_hba.conf` lines, placed before the harness's (first match wins).
    pub extra_hba: Vec<String>,
    /// Run this cluster's `initdb`, `pg_ctl`, `pg_basebackup` and `psql` from
    /// this directory instead of [`pg_bins`]'s (e.g. [`pg16_bins`]'s).
    pub bindir: Option<PathBuf>,
}

impl ClusterOptions {
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = Some(n);
        self
    }

    /// `ssl = on` with the server certificate of `certs`.
    pub fn tls(mut self, certs: &super::certs::Certs) -> Self {
        self.tls = Some(certs.server_files());
        self
    }

    /// See [`ClusterOptions::tls_only`](field@ClusterOptions::tls_only).
    pub fn tls_only(mut self) -> Self {
        self.tls_only = true;
        self
    }

    pub fn password_user(mut self, user: &str, password: &str) -> Self {
        self.password_user = Some((user.to_owned(), password.to_owned()));
        self
    }

    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn hba(mut self, line: &str) -> Self {
        self.extra_hba.push(line.to_owned());
        self
    }

    /// See [`ClusterOptions::bindir`](field@ClusterOptions::bindir).
    pub fn bindir(mut self, dir: &Path) -> Self {
        self.bindir = Some(dir.to_path_buf());
        self
    }
}

/// How to make a standby with [`Cluster::standby`].
#[derive(Clone, Debug)]
pub struct StandbyOptions {
    /// `application_name` in the standby's `primary_conninfo`: the name the
    /// primary shows in `pg_stat_replication`. Default "standby1".
    pub application_name: String,
    /// Stream through this physical replication slot, created on the primary
    /// by `pg_basebackup -C -S`. Default none.
    pub slot: Option<String>,
    /// Wait until the primary shows the standby `streaming`. Default true.
    pub wait_for_streaming: bool,
}

impl Default for StandbyOptions {
    fn default() -> Self {
        StandbyOptions { application_name: "standby1".to_owned(), slot: None, wait_for_streaming: true }
    }
}

/// A running PostgreSQL cluster in its own scratch directory (see the module
/// docs). Dropping it stops the server (`pg_ctl -m immediate stop`) and
/// removes the directory; a panicking test also gets the log tail on stderr.
#[derive(Debug)]
pub struct Cluster {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The scratch directory holding everything below.
    pub dir: PathBuf,
    pub data_dir: PathBuf,
    pub socket_dir: PathBuf,
    pub log_file: PathBuf,
    /// For a standby: the `application_name` it streams under.
    pub application_name: Option<String>,
    pub options: ClusterOptions,
    // Last, so the directory goes after Drop::drop has stopped the server.
    scratch: ScratchDir,
}

impl Cluster {
    /// This cluster's `name` program: from [`ClusterOptions::bindir`] if
    /// given, else from [`pg_bins`].
    pub fn tool(&self, name: &str) -> PathBuf {
        match &self.options.bindir {
            Some(dir) => dir.join(name),
            None => pg_bins().tool(name),
        }
    }

    /// `initdb -U postgres --auth=trust -E UTF8 --locale=C --no-sync`, write
    /// the settings and `pg_hba.conf`, `pg_ctl -w start` on a free port
    /// (retrying on another port if the bind fails), and create
    /// `options.password_user` if any.
    pub fn start(options: ClusterOptions) -> Cluster {
        assert!(!options.tls_only || options.tls.is_some(), "ClusterOptions::tls_only needs ClusterOptions::tls");
        let mut cluster = Cluster::new_dir(options);
        run(server_command(cluster.tool("initdb"), &cluster.dir).arg("-D").arg(&cluster.data_dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]));
        if let Some(tls) = &cluster.options.tls {
            copy_server_file(&tls.cert, &cluster.data_dir.join("server.crt"), 0o644);
            copy_server_file(&tls.key, &cluster.data_dir.join("server.key"), 0o600);
        }
        write_server_file(&cluster.data_dir.join("pg_hba.conf"), &cluster.hba_conf());
        append_server_file(&cluster.data_dir.join("postgresql.conf"), "\ninclude 'cutover_harness.conf'\n");
        cluster.start_on_some_port();
        if let Some((user, password)) = cluster.options.password_user.clone() {
            cluster.psql(&format!("CREATE ROLE {} LOGIN PASSWORD {}", quote_ident(&user), quote_literal(&password)));
        }
        cluster
    }

    /// A streaming standby of `primary` named "standby1" (see
    /// [`StandbyOptions::default`]); returns once the primary shows it
    /// `streaming` in `pg_stat_replication`.
    pub fn standby_of(primary: &Cluster) -> Cluster {
        Cluster::standby(primary, StandbyOptions::default())
    }

    /// `pg_basebackup -R -X stream --checkpoint=fast --no-sync` from
    /// `primary`, `primary_conninfo` with `options.application_name`
    /// (appended to `postgresql.auto.conf`), then start on its own free port.
    /// The standby inherits the primary's options (TLS, pg_hba.conf, …).
    pub fn standby(primary: &Cluster, options: StandbyOptions) -> Cluster {
        let mut standby = Cluster::new_dir(primary.options.clone());
        standby.application_name = Some(options.application_name.clone());
        let mut basebackup = server_command(standby.tool("pg_basebackup"), &standby.dir);
        basebackup
            .arg("-D")
            .arg(&standby.data_dir)
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string(), "-U", "postgres"])
            .args(["-R", "-X", "stream", "--checkpoint=fast", "--no-sync"]);
        if let Some(slot) = &options.slot {
            basebackup.args(["-C", "-S", slot]);
        }
        run(&mut basebackup);
        let conninfo =
            format!("host=127.0.0.1 port={} user=postgres application_name={}", primary.port, options.application_name);
        append_server_file(
            &standby.data_dir.join("postgresql.auto.conf"),
            &format!("\n# cutover test harness\nprimary_conninfo = {}\n", quote_literal(&conninfo)),
        );
        standby.start_on_some_port();
        if options.wait_for_streaming {
            primary.wait_for_standby(&options.application_name);
        }
        standby
    }

    fn new_dir(options: ClusterOptions) -> Cluster {
        let scratch = scratch_dir("cutover-pg-");
        let dir = scratch.path().to_path_buf();
        let socket_dir = dir.join("sock");
        std::fs::create_dir(&socket_dir).expect("create the socket directory");
        chown_to_server_user(&socket_dir);
        Cluster {
            port: 0,
            data_dir: dir.join("data"),
            log_file: dir.join("postgres.log"),
            socket_dir,
            dir,
            application_name: None,
            options,
            scratch,
        }
    }

    /// Start on a fresh free port; if another process took it in the
    /// meantime, try another one (a few times).
    fn start_on_some_port(&mut self) {
        for attempt in 1.. {
            self.port = free_port();
            match self.pg_ctl_start() {
                Ok(()) => return,
                Err(log) if attempt < 5 && log.contains("Address already in use") => continue,
                Err(log) => panic!("cannot start the PostgreSQL cluster in {}:\n{log}", self.dir.display()),
            }
        }
    }

    /// Write the settings file and `pg_ctl -w start`; on failure, the pg_ctl
    /// output and what the server logged.
    fn pg_ctl_start(&mut self) -> Result<(), String> {
        write_server_file(&self.data_dir.join("cutover_harness.conf"), &self.settings_conf());
        let log_len = std::fs::metadata(&self.log_file).map_or(0, |meta| meta.len() as usize);
        let out = server_command(self.tool("pg_ctl"), &self.dir)
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&self.log_file)
            .args(["-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl");
        if out.status.success() {
            return Ok(());
        }
        // pg_ctl -w gave up: make sure nothing is left half started.
        self.stop_quietly();
        let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        Err(format!(
            "pg_ctl start on port {} failed ({}): {}{}\n--- server log\n{}",
            self.port,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            log.get(log_len..).unwrap_or(&log)
        ))
    }

    fn settings_conf(&self) -> String {
        let mut settings: Vec<(String, String)> = [
            ("port", self.port.to_string()),
            ("listen_addresses", "127.0.0.1".to_owned()),
            ("unix_socket_directories", self.socket_dir.display().to_string()),
            ("wal_level", "logical".to_owned()),
            ("max_wal_senders", "10".to_owned()),
            ("max_replication_slots", "10".to_owned()),
            ("fsync", "off".to_owned()),
            ("synchronous_commit", "off".to_owned()),
            ("full_page_writes", "off".to_owned()),
            ("shared_buffers", "16MB".to_owned()),
            ("max_connections", self.options.max_connections.unwrap_or(30).to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        if self.options.tls.is_some() {
            settings.push(("ssl".to_owned(), "on".to_owned()));
            settings.push(("ssl_cert_file".to_owned(), "server.crt".to_owned()));
            settings.push(("ssl_key_file".to_owned(), "server.key".to_owned()));
        }
        settings.extend(self.options.settings.iter().cloned());
        let mut conf = String::from("# Written by the cutover test harness (tests/support/pg.rs).\n");
        for (name, value) in settings {
            conf.push_str(&format!("{name} = {}\n", quote_literal(&value)));
        }
        conf
    }

    fn hba_conf(&self) -> String {
        let host = if self.options.tls_only { "hostssl" } else { "host" };
        let mut lines = vec!["# Written by the cutover test harness (tests/support/pg.rs).".to_owned()];
        lines.extend(self.options.extra_hba.iter().cloned());
        lines.push("local all all trust".to_owned());
        lines.push("local replication all trust".to_owned());
        if let Some((user, _)) = &self.options.password_user {
            lines.push(format!("{host} all {} 127.0.0.1/32 scram-sha-256", quote_ident(user)));
        }
        for address in ["127.0.0.1/32", "::1/128"] {
            lines.push(format!("{host} all all {address} trust"));
            lines.push(format!("{host} replication all {address} trust"));
        }
        lines.join("\n") + "\n"
    }

    /// `host=127.0.0.1 port=… user=postgres dbname=postgres`.
    pub fn dsn(&self) -> String {
        self.dsn_as("postgres", "postgres")
    }

    /// `host=127.0.0.1 port=… user=<user> dbname=<dbname>`.
    pub fn dsn_as(&self, user: &str, dbname: &str) -> String {
        format!("host=127.0.0.1 port={} user={user} dbname={dbname}", self.port)
    }

    /// The Unix-socket connection string `psql` uses (always trusted).
    pub fn socket_dsn(&self) -> String {
        format!("host={} port={} user=postgres dbname=postgres", self.socket_dir.display(), self.port)
    }

    /// A tokio-postgres client on [`Cluster::dsn`] without TLS (so not for a
    /// `tls_only` cluster), its connection task spawned on the current runtime.
    pub async fn client(&self) -> tokio_postgres::Client {
        super::connect(&self.dsn()).await
    }

    /// [`Cluster::client`], returning the error instead of panicking.
    pub async fn try_client(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        super::try_connect(&self.dsn()).await
    }

    /// Run `sql` (one or more statements; each is sent on its own, so
    /// `CREATE SUBSCRIPTION` and `VACUUM` work) with this cluster's
    /// `psql -X -At -q -v ON_ERROR_STOP=1` over the Unix socket, as the
    /// server user when root. Returns the output without the final newline:
    /// one line per row, columns separated by `|`. Panics with psql's stderr
    /// when anything fails.
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql).unwrap_or_else(|e| panic!("psql on port {} failed: {e}\n--- sql\n{sql}", self.port))
    }

    /// [`Cluster::psql`], returning stderr instead of panicking.
    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        self.psql_conninfo(&self.socket_dsn(), sql)
    }

    /// Run `sql` with this cluster's `psql` against any connection string
    /// (e.g. `host=localhost hostaddr=127.0.0.1 port=… sslmode=verify-full
    /// sslrootcert=…`), as the server user when root (so files it names must
    /// be readable by that user). `Err` holds psql's exit status and stderr.
    pub fn psql_conninfo(&self, conninfo: &str, sql: &str) -> Result<String, String> {
        let mut child = server_command(self.tool("psql"), &self.dir)
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", "-d", conninfo])
            .env("PGCLIENTENCODING", "UTF8")
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run psql");
        let mut stdin = child.stdin.take().expect("psql stdin");
        let input = sql.to_owned();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let out = child.wait_with_output().expect("wait for psql");
        let _ = writer.join();
        if out.status.success() {
            let stdout = String::from_utf8_lossy(&out.stdout);
            Ok(stdout.strip_suffix('\n').unwrap_or(&stdout).to_owned())
        } else {
            Err(format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim_end()))
        }
    }

    /// [`Cluster::psql`] in database `dbname`.
    pub fn psql_in(&self, dbname: &str, sql: &str) -> String {
        let conninfo = format!("host={} port={} user=postgres dbname={dbname}", self.socket_dir.display(), self.port);
        self.psql_conninfo(&conninfo, sql)
            .unwrap_or_else(|e| panic!("psql on port {} (database {dbname}) failed: {e}\n--- sql\n{sql}", self.port))
    }

    /// A new database of this name (for tests that share a cluster).
    pub fn create_database(&self, dbname: &str) {
        self.psql(&format!("CREATE DATABASE {}", quote_ident(dbname)));
    }

    /// Whether a postmaster runs on this data directory (its
    /// `postmaster.pid` exists).
    pub fn is_running(&self) -> bool {
        self.data_dir.join("postmaster.pid").exists()
    }

    /// `pg_ctl -m immediate -w stop`: the server is gone when this returns
    /// (connections are refused). Does nothing if it is not running.
    ///
    /// Immediate is a crash as far as the server is concerned, and the
    /// harness runs with `synchronous_commit = off`: transactions committed
    /// in the last few hundred milliseconds may be gone after
    /// [`Cluster::start_again`]. Use [`Cluster::stop_fast`] when they matter.
    pub fn stop(&mut self) {
        self.pg_ctl_stop("immediate");
    }

    /// `pg_ctl -m fast -w stop`: a clean shutdown (disconnect clients,
    /// checkpoint) that keeps every committed transaction. Does nothing if
    /// the server is not running.
    pub fn stop_fast(&mut self) {
        self.pg_ctl_stop("fast");
    }

    fn pg_ctl_stop(&mut self, mode: &str) {
        if self.is_running() {
            run(server_command(self.tool("pg_ctl"), &self.dir)
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", mode, "-w", "-t", "60", "stop"]));
        }
    }

    /// Start the same data directory again on the same port (after
    /// [`Cluster::stop`]): for "a standby goes away and comes back". After an
    /// immediate stop the server runs crash recovery first (well under a
    /// second here). Does nothing if it is running. A standby resumes
    /// streaming on its own; wait for it with [`Cluster::wait_for_standby`]
    /// on the primary.
    pub fn start_again(&mut self) {
        if !self.is_running()
            && let Err(e) = self.pg_ctl_start()
        {
            panic!("cannot start the PostgreSQL cluster in {} again:\n{e}", self.dir.display());
        }
    }

    /// [`Cluster::stop`] then [`Cluster::start_again`].
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// On a primary: wait (up to [`REPLICATION_TIMEOUT`]) until
    /// `pg_stat_replication` shows `application_name` in state `streaming`.
    pub fn wait_for_standby(&self, application_name: &str) {
        let sql = format!(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = {} AND state = 'streaming'",
            quote_literal(application_name)
        );
        super::wait_until(
            &format!("`{application_name}` streaming from the cluster on port {}", self.port),
            REPLICATION_TIMEOUT,
            || self.psql(&sql) != "0",
        );
    }

    /// The whole server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// Stop without panicking (for Drop and failed starts): `pg_ctl -m
    /// immediate stop`, and if that fails while our postmaster still runs,
    /// SIGKILL it.
    fn stop_quietly(&mut self) {
        if !self.is_running() {
            return;
        }
        let stopped = server_command(self.tool("pg_ctl"), &self.dir)
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if stopped {
            return;
        }
        // Only kill the pid in postmaster.pid if it really is our postmaster
        // (its command line names our data directory), never a reused pid.
        let pid = std::fs::read_to_string(self.data_dir.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().and_then(|line| line.trim().parse::<u32>().ok()));
        if let Some(pid) = pid
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&*self.data_dir.to_string_lossy()))
        {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- PostgreSQL log of the cluster on port {} ({}):", self.port, self.log_file.display());
            eprintln!("{}", tail(&self.log_file, 40));
        }
        self.stop_quietly();
    }
}

/// Logical replication from `publisher` to `subscriber`: run `tables_sql`
/// (the `CREATE TABLE`s) on both, `CREATE PUBLICATION p FOR ALL TABLES` on the
/// publisher, `CREATE SUBSCRIPTION s CONNECTION '<publisher dsn>' PUBLICATION
/// p` on the subscriber, then wait until the publisher shows `s` streaming
/// and every table has finished its initial copy (`pg_subscription_rel` all
/// `r`). Rows inserted on the publisher afterwards show up on the subscriber
/// within milliseconds.
/// A default cluster shared by the tests of one test binary that run at the
/// same time (each in a database of its own); stopped when the last of them
/// drops its handle.
pub fn shared_cluster() -> Arc<Cluster> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(Cluster::start(ClusterOptions::default()));
    *shared = Arc::downgrade(&cluster);
    cluster
}

pub fn publish_and_subscribe(publisher: &Cluster, subscriber: &Cluster, tables_sql: &str) {
    publish_and_subscribe_as(publisher, subscriber, tables_sql, "p", "s");
}

/// [`publish_and_subscribe`] with chosen publication and subscription names
/// (the subscription name is the `application_name` in the publisher's
/// `pg_stat_replication`).
pub fn publish_and_subscribe_as(
    publisher: &Cluster,
    subscriber: &Cluster,
    tables_sql: &str,
    publication: &str,
    subscription: &str,
) {
    if !tables_sql.trim().is_empty() {
        publisher.psql(tables_sql);
        subscriber.psql(tables_sql);
    }
    publisher.psql(&format!("CREATE PUBLICATION {} FOR ALL TABLES", quote_ident(publication)));
    subscriber.psql(&format!(
        "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}",
        quote_ident(subscription),
        quote_literal(&publisher.dsn()),
        quote_ident(publication)
    ));
    publisher.wait_for_standby(subscription);
    super::wait_until(
        &format!("the tables of subscription `{subscription}` to finish their initial copy"),
        REPLICATION_TIMEOUT,
        || subscriber.psql("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == "0",
    );
}

/// `'text'` with quotes doubled: an SQL string literal, also valid in
/// postgresql.conf.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"name"` with quotes doubled: an SQL identifier (also fine in pg_hba.conf).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn copy_server_file(from: &Path, to: &Path, mode: u32) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).expect("chmod");
    chown_to_server_user(to);
}

fn append_server_file(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {} to append: {e}", path.display()));
    file.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}
