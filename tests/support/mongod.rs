//! Throwaway MongoDB replica sets for the tests: `mongod` (from
//! `CUTOVER_MONGOD`, which `scripts/test` installs) on free loopback ports,
//! small and quick to stop, initiated and waited for until there is a PRIMARY
//! and every other member is SECONDARY. Processes are killed and data
//! removed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mongodb::bson::{Document, doc};

/// The mongod binary, or a panic that says how to get one.
fn mongod() -> PathBuf {
    let path = std::env::var_os("CUTOVER_MONGOD")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("CUTOVER_MONGOD is not set: run scripts/test, which installs mongod and sets it"));
    assert!(super::is_executable(&path), "CUTOVER_MONGOD={} is not an executable", path.display());
    path
}

struct Member {
    port: u16,
    dir: super::ScratchDir,
    child: Option<Child>,
}

impl Member {
    fn log(&self) -> PathBuf {
        self.dir.path().join("mongod.log")
    }

    fn start(&mut self, set: &str) {
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).expect("create the member's data directory");
        let child = Command::new(mongod())
            .args(["--replSet", set, "--bind_ip", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dbpath")
            .arg(&data)
            .arg("--logpath")
            .arg(self.log())
            .args(["--oplogSize", "64", "--wiredTigerCacheSizeGB", "0.25"])
            .args(["--setParameter", "shutdownTimeoutMillisForSignaledShutdown=500"])
            .args(["--setParameter", "enableTestCommands=1"])
            .args(["--wiredTigerEngineConfigString", "log=(prealloc=false,file_max=20MB)"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mongod");
        self.child = Some(child);
        let port = self.port;
        super::wait_until(&format!("mongod on port {port} to listen"), Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0)),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while std::time::Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A replica set of `mongod` members on loopback.
pub struct ReplicaSet {
    name: String,
    members: Vec<Member>,
}

/// A driver client for `uri`.
pub async fn client(uri: &str) -> mongodb::Client {
    let mut options = mongodb::options::ClientOptions::parse(uri).await.expect("parse the uri");
    options.server_selection_timeout = Some(Duration::from_secs(20));
    mongodb::Client::with_options(options).expect("a driver client")
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(f)
}

impl ReplicaSet {
    /// Start `n` members and initiate; returns once there is a PRIMARY and
    /// every other member is SECONDARY.
    pub fn start(name: &str, n: usize) -> ReplicaSet {
        let mut members: Vec<Member> = (0..n)
            .map(|_| Member { port: super::free_port(), dir: super::scratch_dir("cutover-mongo-"), child: None })
            .collect();
        for m in &mut members {
            m.start(name);
        }
        let set = ReplicaSet { name: name.to_owned(), members };
        let config = doc! {
            "_id": name,
            "members": (0..n).map(|i| doc! { "_id": i as i32, "host": set.host(i) }).collect::<Vec<Document>>(),
            // Every secondary syncs from the primary: a stalled one cannot hold another back.
            "settings": { "chainingAllowed": false },
        };
        block_on(async {
            let c = client(&set.member_uri(0)).await;
            c.database("admin").run_command(doc! { "replSetInitiate": config }).await.expect("replSetInitiate");
        });
        set.wait_states(n);
        set
    }

    fn states(&self) -> Vec<String> {
        block_on(async {
            let c = client(&self.member_uri(self.first_up())).await;
            let Ok(status) = c.database("admin").run_command(doc! { "replSetGetStatus": 1 }).await else {
                return Vec::new();
            };
            status
                .get_array("members")
                .map(|m| {
                    m.iter()
                        .filter_map(|d| d.as_document())
                        .map(|d| d.get_str("stateStr").unwrap_or("?").to_owned())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn first_up(&self) -> usize {
        self.members.iter().position(|m| m.child.is_some()).unwrap_or(0)
    }

    fn wait_states(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            let states = self.states();
            if states.len() == n
                && states.iter().filter(|s| *s == "PRIMARY").count() == 1
                && states.iter().filter(|s| *s == "SECONDARY").count() == n - 1
            {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "replica set {} not ready: {states:?}\n--- member 0 log\n{}",
                self.name,
                super::tail(&self.members[0].log(), 30)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `mongodb://127.0.0.1:P1,…/?replicaSet=NAME`
    pub fn uri(&self) -> String {
        let hosts: Vec<String> = (0..self.members.len()).map(|i| self.host(i)).collect();
        format!("mongodb://{}/?replicaSet={}", hosts.join(","), self.name)
    }

    /// One member alone: `mongodb://127.0.0.1:P/?directConnection=true`
    pub fn member_uri(&self, i: usize) -> String {
        format!("mongodb://{}/?directConnection=true", self.host(i))
    }

    pub fn port(&self, i: usize) -> u16 {
        self.members[i].port
    }

    pub fn host(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.members[i].port)
    }

    /// The index of the current primary.
    pub fn primary(&self) -> usize {
        block_on(async {
            let c = client(&self.member_uri(self.first_up())).await;
            let status = c.database("admin").run_command(doc! { "replSetGetStatus": 1 }).await.expect("status");
            let members = status.get_array("members").expect("members");
            let host = members
                .iter()
                .filter_map(|d| d.as_document())
                .find(|d| d.get_str("stateStr") == Ok("PRIMARY"))
                .and_then(|d| d.get_str("name").ok())
                .expect("a primary")
                .to_owned();
            (0..self.members.len()).find(|i| self.host(*i) == host).expect("the primary is a member")
        })
    }

    /// Stop member `i` (SIGTERM, then wait for it to exit).
    pub fn stop(&mut self, i: usize) {
        self.members[i].stop();
    }
}

impl Drop for ReplicaSet {
    fn drop(&mut self) {
        for m in &mut self.members {
            m.stop();
        }
    }
}
