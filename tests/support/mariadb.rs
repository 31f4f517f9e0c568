//! Real MariaDB servers for tests: [`Mariadb::start`] makes a throwaway
//! instance with `mariadb-install-db` in a scratch directory and runs
//! `mariadbd` as a direct child on a free loopback port, binlog on
//! (`binlog_format=ROW`, GTIDs); [`Mariadb::replica_of`] starts a second one
//! replicating from it (`MASTER_USE_GTID=slave_pos`).
//!
//! `mariadbd` and `mariadb-install-db` come from the OS package
//! (`mariadb-server`, which `scripts/test` installs); `$CUTOVER_MARIADB_BINDIR`
//! wins when set. Missing is a loud failure, never a silent skip.
//!
//! Every server has a `cutover` user (password [`PASSWORD`], every privilege)
//! reachable over TCP, made on the primary and replicated to its replicas;
//! [`Mariadb::sql`] runs statements as `root` over the server's socket with
//! the `mariadb` client. When the tests run as root the servers run as the
//! `postgres` system user, like PostgreSQL ([`super::server_command`]).
//!
//! Small and quick: 32 MB buffer pool, 16 MB redo log, no name resolution.
//! Dropping a server SIGKILLs it and removes its directory
//! (`CUTOVER_KEEP_TEST_DIRS=1` keeps it); a panicking test gets the tail of
//! its error log on stderr.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{ScratchDir, free_port, scratch_dir, server_command, tail, wait_until};

/// The `cutover` user's password on every test server.
pub const PASSWORD: &str = "maria-test-pw";
/// How long a server may take to accept connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

const INSTALL_HINT: &str = "The MySQL-family tests need a real MariaDB server (mariadbd, mariadb-install-db and the \
     mariadb client). Run scripts/test, which installs it (Debian: apt-get install mariadb-server mariadb-client), or \
     set CUTOVER_MARIADB_BINDIR to the directory that holds mariadbd.";

/// Where a MariaDB program is: `$CUTOVER_MARIADB_BINDIR`, then `PATH`, then
/// `/usr/sbin` and `/usr/bin`; panics with install instructions otherwise.
pub fn program(name: &str) -> PathBuf {
    static BINDIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    let bindir = BINDIR.get_or_init(|| std::env::var_os("CUTOVER_MARIADB_BINDIR").map(PathBuf::from));
    if let Some(dir) = bindir {
        let path = dir.join(name);
        if super::is_executable(&path) {
            return path;
        }
    }
    super::find_on_path(name, &["/usr/sbin", "/usr/bin"]).unwrap_or_else(|| panic!("{name} not found. {INSTALL_HINT}"))
}

/// One running `mariadbd`.
pub struct Mariadb {
    pub port: u16,
    pub server_id: u32,
    child: Option<Child>,
    dir: ScratchDir,
}

impl Mariadb {
    /// A primary with binlog on and a `cutover` user.
    pub fn start() -> Self {
        let server = Self::spawn(1, &[]);
        server.sql(&format!(
            "CREATE USER cutover@'%' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON *.* TO cutover@'%' WITH GRANT OPTION; \
             CREATE USER repl@'%' IDENTIFIED BY '{PASSWORD}'; GRANT REPLICATION SLAVE ON *.* TO repl@'%'"
        ));
        server
    }

    /// A replica of `primary`, `read_only`, replicating everything the
    /// primary's binlog holds (its users too), caught up when this returns.
    pub fn replica_of(primary: &Self) -> Self {
        static NEXT_ID: AtomicU32 = AtomicU32::new(2);
        let server = Self::spawn(NEXT_ID.fetch_add(1, Ordering::Relaxed), &["--read-only"]);
        server.sql(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl', \
             MASTER_PASSWORD='{PASSWORD}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START REPLICA",
            primary.port
        ));
        server.wait_caught_up(primary);
        server
    }

    fn spawn(server_id: u32, extra: &[&str]) -> Self {
        let dir = scratch_dir("cutover-mariadb-");
        let data = dir.path().join("data");
        // Its own temporary directory: concurrent bootstraps sharing /tmp
        // trip over each other's temporary tables.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        super::chown_to_server_user(&tmp);
        let install = server_command(program("mariadb-install-db"), dir.path())
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run mariadb-install-db: {e}. {INSTALL_HINT}"));
        assert!(
            install.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&install.stdout),
            String::from_utf8_lossy(&install.stderr)
        );
        let mut server = Self { port: 0, server_id, child: None, dir };
        // Another process may take the port between free_port and the bind: retry.
        for _ in 0..3 {
            server.port = free_port();
            server.child = Some(server.launch(extra));
            if server.wait_listening() {
                return server;
            }
        }
        panic!("mariadbd did not start:\n{}", tail(&server.error_log(), 30));
    }

    fn launch(&self, extra: &[&str]) -> Child {
        let dir = self.dir.path();
        server_command(program("mariadbd"), dir)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
            .arg(format!("--tmpdir={}", dir.join("tmp").display()))
            .arg(format!("--log-error={}", self.error_log().display()))
            .arg(format!("--log-bin={}", dir.join("data/binlog").display()))
            .arg(format!("--server-id={}", self.server_id))
            .args([
                "--bind-address=127.0.0.1",
                "--binlog-format=ROW",
                "--log-slave-updates",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--skip-name-resolve",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mariadbd: {e}. {INSTALL_HINT}"))
    }

    /// Wait until the server answers on its socket; false when it exited (a
    /// port taken by someone else).
    fn wait_listening(&mut self) -> bool {
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        while std::time::Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().ok().flatten().is_some()
            {
                self.child = None;
                return false;
            }
            if self.try_sql("SELECT 1").is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("mariadbd did not answer in {START_TIMEOUT:?}:\n{}", tail(&self.error_log(), 30));
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("mariadbd.sock")
    }

    pub fn error_log(&self) -> PathBuf {
        self.dir.path().join("mariadbd.err")
    }

    /// The `cutover` user's URL without its password, for an inventory.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://cutover@127.0.0.1:{}/{database}", self.port)
    }

    /// The `cutover` user's URL with its password (for pgloader).
    pub fn url_with_password(&self, database: &str) -> String {
        format!("mysql://cutover:{PASSWORD}@127.0.0.1:{}/{database}", self.port)
    }

    /// Run `sql` as root over the socket; its output (tab-separated, no
    /// column names).
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(program("mariadb"))
            .args(["--no-defaults", "-uroot", "--batch", "--skip-column-names"])
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-e", sql])
            .output()
            .map_err(|e| format!("cannot run the mariadb client: {e}. {INSTALL_HINT}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// [`Self::try_sql`], panicking on error.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("`{sql}` on mariadb :{}: {e}", self.port))
    }

    /// The primary's GTID position (`@@gtid_binlog_pos`).
    pub fn gtid_position(&self) -> String {
        self.sql("SELECT @@gtid_binlog_pos").trim().to_owned()
    }

    /// Wait until this replica has applied everything `primary` has written.
    pub fn wait_caught_up(&self, primary: &Self) {
        let target = primary.gtid_position();
        wait_until(&format!("replica :{} to apply {target}", self.port), Duration::from_secs(60), || {
            self.try_sql("SELECT @@gtid_slave_pos").is_ok_and(|p| p.trim() == target)
        });
    }

    /// SIGKILL the server (it does not come back).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- mariadbd :{} error log\n{}", self.port, tail(&self.error_log(), 25));
        }
        self.kill();
    }
}
