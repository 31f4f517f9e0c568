//! Test-support harness that starts REAL PostgreSQL clusters and PgBouncer
//! instances for integration tests, each in its own scratch directory on its
//! own free port, so tests can run in parallel.
//!
//! * [`pg::Cluster`]: `initdb` + `pg_ctl start`, standbys via `pg_basebackup`,
//!   logical replication helpers, `psql` for setup SQL, stop / start again.
//! * [`bouncer::Bouncer`]: a foreground `pgbouncer` child in front of a cluster.
//! * [`certs::Certs`]: a throw-away CA and a `localhost` / `127.0.0.1` server
//!   certificate made with the `openssl` command, for TLS tests.
//!
//! Missing binaries are a loud failure (a panic telling how to install them),
//! never a silent skip.
//!
//! # Running as root
//!
//! PostgreSQL and PgBouncer refuse to run as root. When the test process is
//! root (as in CI), every server-side command (`initdb`, `pg_ctl`,
//! `pg_basebackup`, `psql`, `pgbouncer`) runs as the `postgres` system user:
//! the child gets that uid/gid (and no supplementary groups) through
//! [`std::os::unix::process::CommandExt`], which is what `runuser -u postgres`
//! would do, minus the extra wrapper process (so a foreground `pgbouncer` is a
//! direct child that `Drop` can kill). Scratch directories are chowned to that
//! user. Otherwise everything runs as the current user.
//!
//! Server-side commands run with a cleaned environment: every `PG*` variable
//! is removed (a developer's `PGHOST` or `PGSSLMODE` must not leak into the
//! tests), `HOME` is the scratch directory (no `~/.pgpass`, `~/.psqlrc` or
//! `~/.postgresql/` of the developer) and `LC_ALL=C`.
//!
//! # Lifetimes
//!
//! `Drop` stops every server and removes its directory, also when a test
//! panics (drop runs on unwind); a panicking test also gets the tail of the
//! server log on stderr. Only a SIGKILLed test process can leave servers
//! behind. Set `CUTOVER_KEEP_TEST_DIRS=1` to keep the directories (servers are
//! still stopped) for post-mortem.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod bouncer;
pub mod certs;
pub mod chromium;
pub mod headless;
pub mod mariadb;
pub mod mongo;
pub mod mongo_verify;
pub mod observe;
pub mod pg;
pub mod pgbackrest;
pub mod run;
pub mod tmux;

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A TCP port on 127.0.0.1 that was free a moment ago: bind port 0, read the
/// port the kernel chose, drop the listener. Never returns the same port twice
/// within one test process, so parallel tests do not race each other for it
/// (other processes still can: [`pg::Cluster::start`] and
/// [`bouncer::Bouncer::start`] retry on a new port when the bind fails).
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 to find a free port");
        let port = listener.local_addr().expect("local address of a bound listener").port();
        drop(listener);
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// Whether the test process runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        let out = Command::new("id").arg("-u").output().expect("run `id -u`");
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    })
}

/// The uid and gid servers run as when the tests run as root: the `postgres`
/// system user. `None` when not root (servers run as the current user).
pub fn server_user() -> Option<(u32, u32)> {
    static USER: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *USER.get_or_init(|| {
        if !is_root() {
            return None;
        }
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, "postgres"]).output().expect("run `id postgres`");
            assert!(
                out.status.success(),
                "the tests run as root, and PostgreSQL and PgBouncer refuse to run as root, so they run as the \
                 `postgres` user, but there is no such user ({}). Install the server (Debian/Ubuntu: \
                 `apt-get install postgresql`, which creates it) or run scripts/test.",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            String::from_utf8_lossy(&out.stdout).trim().parse().expect("numeric id")
        };
        Some((id("-u"), id("-g")))
    })
}

/// A command for a server-side program: run as the server user when root, in
/// `cwd`, with `HOME=cwd`, `LC_ALL=C` and no `PG*` variables.
pub fn server_command(program: impl AsRef<OsStr>, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", cwd).env("LC_ALL", "C").current_dir(cwd);
    if let Some((uid, gid)) = server_user() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Give `path` (recursively) to the server user when root; no-op otherwise.
pub fn chown_to_server_user(path: &Path) {
    let Some((uid, gid)) = server_user() else { return };
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {} to the postgres user: {e}", path.display()));
    let meta = std::fs::symlink_metadata(path).expect("stat");
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read_dir") {
            chown_to_server_user(&entry.expect("dir entry").path());
        }
    }
}

/// A fresh scratch directory under the system temp dir, named `prefix…`,
/// mode 0755 and owned by the server user (when root), removed on drop unless
/// `CUTOVER_KEEP_TEST_DIRS` is set.
pub fn scratch_dir(prefix: &str) -> ScratchDir {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::Builder::new().prefix(prefix).tempdir().expect("create a temporary directory");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod 0755");
    chown_to_server_user(tmp.path());
    ScratchDir { path: tmp.path().to_path_buf(), tmp: Some(tmp) }
}

/// See [`scratch_dir`].
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    tmp: Option<tempfile::TempDir>,
}

impl ScratchDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::env::var_os("CUTOVER_KEEP_TEST_DIRS").is_some()
            && let Some(tmp) = self.tmp.take()
        {
            eprintln!("kept {}", tmp.keep().display());
        }
    }
}

/// Write `contents` to `path` and give it to the server user.
pub fn write_server_file(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    chown_to_server_user(path);
}

/// Run `cmd` to completion; panic with its stdout and stderr when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The last `lines` lines of a (log) file, or a note that it cannot be read.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Poll `check` every 50 ms until it returns true; panic after `timeout`
/// saying what was awaited. Blocking: in an async test use [`wait_until_async`].
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// [`wait_until`] for async checks, sleeping with tokio.
pub async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Connect with tokio-postgres (no TLS) and spawn the connection task on the
/// current tokio runtime. Must be called inside a runtime (`#[tokio::test]`).
pub async fn try_connect(dsn: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(dsn, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        // An error here is the server (or a test) closing the connection.
        let _ = connection.await;
    });
    Ok(client)
}

/// [`try_connect`], panicking with the DSN and error on failure.
pub async fn connect(dsn: &str) -> tokio_postgres::Client {
    try_connect(dsn).await.unwrap_or_else(|e| panic!("connect to `{dsn}`: {e}"))
}

/// Run `sql` with the simple query protocol (the only one PgBouncer's admin
/// console speaks) and return the rows as column → text maps (NULL as "").
pub async fn simple_rows(client: &tokio_postgres::Client, sql: &str) -> Vec<BTreeMap<String, String>> {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    messages
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                row.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, column)| (column.name().to_owned(), row.get(i).unwrap_or("").to_owned()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// Find an executable: `name` on `PATH`, then in the `extra` directories.
pub fn find_on_path(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
