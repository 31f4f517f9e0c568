//! A real PgBouncer in front of a [`Cluster`]: [`Bouncer::start`] writes a
//! `pgbouncer.ini` into a scratch directory and runs `pgbouncer` in the
//! foreground as a child process (not `-d`), so `Drop` can kill it.
//!
//! The configuration:
//!
//! ```text
//! [databases]
//! app = host=127.0.0.1 port=<cluster port> dbname=postgres
//! [pgbouncer]
//! listen_addr = 127.0.0.1, listen_port = <free port>, unix_socket_dir = <dir>
//! auth_type = trust, auth_file = <dir>/userlist.txt ("postgres" "" and BouncerOptions::users)
//! admin_users = postgres, stats_users = postgres
//! pool_mode, default_pool_size, max_client_conn from BouncerOptions
//! server_login_retry = 1, ignore_startup_parameters = extra_float_digits
//! ```
//!
//! PgBouncer's admin console (`dbname=pgbouncer`) only speaks the simple
//! query protocol: use `client.simple_query` / [`super::simple_rows`] (or
//! [`Bouncer::show`]), not `client.query`. The same goes for the pooled
//! database in transaction mode, where tokio-postgres's named prepared
//! statements would break once the pool has more than one server connection.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::pg::Cluster;
use super::{ScratchDir, free_port, scratch_dir, server_command, tail, write_server_file};

/// `pool_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    Session,
    Transaction,
    Statement,
}

impl PoolMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
            PoolMode::Statement => "statement",
        }
    }
}

/// How to set up a [`Bouncer`]. Default: transaction pooling,
/// `default_pool_size = 5`, `max_client_conn = 100`.
#[derive(Clone, Debug)]
pub struct BouncerOptions {
    pub pool_mode: PoolMode,
    /// Server connections per user/database pair; 1 or 2 makes clients queue
    /// (`cl_waiting` in `SHOW POOLS`) as soon as that many hold transactions.
    pub default_pool_size: u32,
    pub max_client_conn: u32,
    /// Users besides `postgres` listed in the auth file (trust: no password).
    pub users: Vec<String>,
    /// Extra `[pgbouncer]` settings (`name`, `value`), written last.
    pub settings: Vec<(String, String)>,
}

impl Default for BouncerOptions {
    fn default() -> Self {
        BouncerOptions {
            pool_mode: PoolMode::Transaction,
            default_pool_size: 5,
            max_client_conn: 100,
            users: Vec::new(),
            settings: Vec::new(),
        }
    }
}

impl BouncerOptions {
    pub fn pool_mode(mut self, mode: PoolMode) -> Self {
        self.pool_mode = mode;
        self
    }

    pub fn default_pool_size(mut self, size: u32) -> Self {
        self.default_pool_size = size;
        self
    }

    pub fn max_client_conn(mut self, n: u32) -> Self {
        self.max_client_conn = n;
        self
    }

    pub fn user(mut self, name: &str) -> Self {
        self.users.push(name.to_owned());
        self
    }

    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A running `pgbouncer` (a child of the test process, as the server user
/// when root). Dropping it kills the process and removes its directory.
#[derive(Debug)]
pub struct Bouncer {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The port of the cluster the `app` database points at.
    pub target_port: u16,
    pub dir: PathBuf,
    pub config_file: PathBuf,
    /// pgbouncer's stdout and stderr.
    pub log_file: PathBuf,
    pub options: BouncerOptions,
    child: Option<Child>,
    // Last, so the directory goes after Drop::drop has killed the process.
    scratch: ScratchDir,
}

impl Bouncer {
    /// Write the configuration, start `pgbouncer` on a free port (retrying on
    /// another port if the bind fails) and wait until it logs that it listens
    /// there. Panics, telling how to install it, when `pgbouncer` is
    /// missing.
    pub fn start(target: &Cluster, options: BouncerOptions) -> Bouncer {
        let program = pgbouncer();
        let scratch = scratch_dir("cutover-pgbouncer-");
        let dir = scratch.path().to_path_buf();
        let mut bouncer = Bouncer {
            port: 0,
            target_port: target.port,
            config_file: dir.join("pgbouncer.ini"),
            log_file: dir.join("pgbouncer.log"),
            dir,
            options,
            child: None,
            scratch,
        };
        let mut users = vec!["postgres".to_owned()];
        users.extend(bouncer.options.users.iter().cloned());
        let userlist: String = users.iter().map(|user| format!("\"{user}\" \"\"\n")).collect();
        write_server_file(&bouncer.dir.join("userlist.txt"), &userlist);
        for attempt in 1.. {
            bouncer.port = free_port();
            write_server_file(&bouncer.config_file, &bouncer.ini());
            match bouncer.spawn(program) {
                Ok(()) => break,
                Err(log) if attempt < 5 && log.contains("Address already in use") => continue,
                Err(log) => panic!("cannot start pgbouncer in {}:\n{log}", bouncer.dir.display()),
            }
        }
        bouncer
    }

    fn ini(&self) -> String {
        let dir = self.dir.display();
        let o = &self.options;
        let mut ini = format!(
            "; Written by the cutover test harness (tests/support/bouncer.rs).\n\
             [databases]\n\
             app = host=127.0.0.1 port={target} dbname=postgres\n\
             \n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir = {dir}\n\
             auth_type = trust\n\
             auth_file = {dir}/userlist.txt\n\
             admin_users = postgres\n\
             stats_users = postgres\n\
             pool_mode = {mode}\n\
             default_pool_size = {pool}\n\
             max_client_conn = {max_client}\n\
             server_login_retry = 1\n\
             ignore_startup_parameters = extra_float_digits\n",
            target = self.target_port,
            port = self.port,
            mode = o.pool_mode.as_str(),
            pool = o.default_pool_size,
            max_client = o.max_client_conn,
        );
        for (name, value) in &o.settings {
            ini.push_str(&format!("{name} = {value}\n"));
        }
        ini
    }

    /// Spawn pgbouncer and wait until it listens; on failure, kill it and
    /// return what it logged.
    fn spawn(&mut self, program: &std::path::Path) -> Result<(), String> {
        let log_start = std::fs::metadata(&self.log_file).map_or(0, |meta| meta.len() as usize);
        let log = File::options().create(true).append(true).open(&self.log_file).expect("open the pgbouncer log");
        let child = server_command(program, &self.dir)
            .arg(&self.config_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        self.child = Some(child);
        let logged = |this: &Bouncer| {
            let text = std::fs::read_to_string(&this.log_file).unwrap_or_default();
            text.get(log_start..).unwrap_or(&text).to_owned()
        };
        // Readiness comes from the log, not from a TCP probe: when the port
        // is taken, pgbouncer 1.18 only warns ("cannot listen on …: bind():
        // Address already in use") and keeps running on its Unix socket, and
        // a probe would reach whoever holds the port.
        let listening = format!("listening on 127.0.0.1:{}", self.port);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                self.child = None;
                return Err(format!("pgbouncer on port {} exited ({status}):\n{}", self.port, logged(self)));
            }
            let log = logged(self);
            if log.contains("cannot listen on") {
                self.kill();
                return Err(format!("pgbouncer could not listen on port {}:\n{log}", self.port));
            }
            if log.contains(&listening) && log.contains("process up") {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!("pgbouncer did not listen on port {} within 10 s:\n{log}", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `host=127.0.0.1 port=… user=postgres dbname=pgbouncer`: the admin console.
    pub fn admin_dsn(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=pgbouncer", self.port)
    }

    /// `host=127.0.0.1 port=… user=postgres dbname=app`: the pooled database.
    pub fn app_dsn(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=app", self.port)
    }

    /// A tokio-postgres client on the admin console (simple queries only).
    pub async fn admin_client(&self) -> tokio_postgres::Client {
        super::connect(&self.admin_dsn()).await
    }

    /// A tokio-postgres client on the pooled `app` database.
    pub async fn app_client(&self) -> tokio_postgres::Client {
        super::connect(&self.app_dsn()).await
    }

    /// `SHOW <what>` (POOLS, CLIENTS, SERVERS, STATS, DATABASES, …) on a fresh
    /// admin connection, rows as column → text maps.
    pub async fn show(&self, what: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        let admin = self.admin_client().await;
        super::simple_rows(&admin, &format!("SHOW {what}")).await
    }

    /// Whether the pgbouncer process is running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }

    /// Kill pgbouncer (SIGKILL: clients and servers see their connections
    /// drop). Idempotent.
    pub fn stop(&mut self) {
        self.kill();
    }

    /// Start pgbouncer again with the same configuration and port.
    pub fn start_again(&mut self) {
        if self.is_running() {
            return;
        }
        if let Err(log) = self.spawn(pgbouncer()) {
            panic!("cannot start pgbouncer in {} again:\n{log}", self.dir.display());
        }
    }

    /// What pgbouncer logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- pgbouncer log of port {} ({}):", self.port, self.log_file.display());
            eprintln!("{}", tail(&self.log_file, 40));
        }
        self.kill();
    }
}

/// `pgbouncer` from `PATH` (or /usr/sbin, /usr/local/sbin, /usr/bin); panics
/// with install instructions when missing.
pub fn pgbouncer() -> &'static std::path::Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        super::find_on_path("pgbouncer", &["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"])
            .unwrap_or_else(|| {
                panic!(
                    "pgbouncer not found on PATH (nor in /usr/sbin, /usr/local/sbin). The PgBouncer integration \
                     tests need it: install it (Debian/Ubuntu: `apt-get install pgbouncer`; scripts/test does it \
                     when run as root) and run again."
                )
            })
    })
}
