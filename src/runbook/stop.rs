//! Stopping a running step from outside it: what the step holds that can be
//! stopped (its statement's cancel token and backend, its process group), and
//! how to tell afterwards whether it did stop. The executor fills it in as the
//! step goes; the runner, which owns the timeout, the operator's cancel and
//! the quit, uses it while the step's future is still being polled — so a
//! cancelled statement's error, or a killed command's exit, is still seen.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::endpoint::postgres::{self as pg, Connector, Purpose};
use crate::events::StopState;
use crate::inventory::Endpoint;

/// How long a step has to end after its statement is cancelled or its
/// process group gets SIGTERM, before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(10);
/// How long after SIGKILL before cutover says the step may still be running.
pub const KILL_GRACE: Duration = Duration::from_secs(3);
/// How long a cancel request or a probe's query may take (its connection:
/// [`crate::endpoint::CONNECT_TIMEOUT`]).
const ASK: Duration = Duration::from_secs(5);

/// A statement running on an endpoint.
#[derive(Clone)]
pub struct Query {
    pub endpoint: Endpoint,
    pub token: tokio_postgres::CancelToken,
    /// The step's backend (`pg_backend_pid()` at connect; `None` through a pooler).
    pub backend: Option<i32>,
}

/// A statement running on a MySQL endpoint: the session's id, for
/// `KILL QUERY` and the probe.
#[derive(Clone)]
pub struct MysqlQuery {
    pub url: crate::inventory::MysqlUrl,
    pub id: u32,
}

#[derive(Clone, Default)]
struct Running {
    /// Told to stop: the step must start nothing more (no next statement,
    /// no command).
    stopping: bool,
    query: Option<Query>,
    mysql: Option<MysqlQuery>,
    /// The process group of the step's `sh -c` (its leader's pid).
    group: Option<i32>,
}

/// A handle on the running step, shared by the executor and the runner.
#[derive(Clone, Default)]
pub struct Stopper {
    running: Arc<Mutex<Running>>,
}

impl Stopper {
    fn with<T>(&self, f: impl FnOnce(&mut Running) -> T) -> T {
        f(&mut self.running.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The step runs this statement now (`None`: no longer).
    pub fn query(&self, query: Option<Query>) {
        self.with(|r| r.query = query);
    }

    /// The step runs this MySQL statement now (`None`: no longer).
    pub fn mysql_query(&self, query: Option<MysqlQuery>) {
        self.with(|r| r.mysql = query);
    }

    /// The step's command leads this process group now (`None`: it ended).
    pub fn group(&self, leader: Option<u32>) {
        self.with(|r| r.group = leader.and_then(|pid| i32::try_from(pid).ok()));
    }

    /// A step begins: nothing of an earlier one is left to stop.
    pub fn clear(&self) {
        self.with(|r| *r = Running::default());
    }

    /// Whether the step was told to stop: it starts nothing more.
    #[must_use]
    pub fn stopping(&self) -> bool {
        self.with(|r| r.stopping)
    }

    /// Ask the step to stop: cancel its statement on the server
    /// (`pg_cancel_backend`, by the cancel token), SIGTERM its whole process
    /// group — `sh` and everything it started.
    pub async fn interrupt(&self) {
        let running = self.with(|r| {
            r.stopping = true;
            r.clone()
        });
        if let Some(group) = running.group {
            let _ = killpg(Pid::from_raw(group), Signal::SIGTERM);
        }
        if let Some(query) = running.query {
            if let Ok(connector) = Connector::new(&query.endpoint) {
                let _ = tokio::time::timeout(ASK, connector.cancel(&query.token)).await;
            }
        }
        if let Some(query) = running.mysql {
            let _ = tokio::time::timeout(ASK, mysql_kill(&query)).await;
        }
    }

    /// SIGKILL the step's process group (a statement has no such thing: it
    /// is cancelled or still runs).
    pub fn kill(&self) {
        if let Some(group) = self.with(|r| r.group) {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }

    /// Whether the step, whose future did not end after [`Stopper::interrupt`]
    /// and [`Stopper::kill`], still runs. `reads_only`: the step cannot have
    /// changed anything, so one that cutover stops waiting for is stopped.
    pub async fn state(&self, reads_only: bool) -> StopState {
        let running = self.with(|r| r.clone());
        if let Some(group) = running.group {
            return if group_alive(group) { StopState::StillRunning } else { StopState::Stopped };
        }
        if let Some(query) = running.query {
            return backend_state(&query).await;
        }
        if let Some(query) = running.mysql {
            return mysql_state(&query).await;
        }
        if reads_only { StopState::Stopped } else { StopState::Unknown }
    }
}

/// Ask the server, on a connection of its own, whether the step's backend
/// still runs a statement.
async fn backend_state(query: &Query) -> StopState {
    let Some(backend) = query.backend else { return StopState::Unknown };
    // A session to read from (the probe cannot write), within CONNECT_TIMEOUT.
    let Ok(pg::Session { client, .. }) = pg::connect(&query.endpoint, Purpose::Reads { settings: "" }).await else {
        return StopState::Unknown;
    };
    let sql = format!("SELECT state FROM pg_stat_activity WHERE pid = {backend}");
    match tokio::time::timeout(ASK, client.simple_query(&sql)).await {
        Ok(Ok(messages)) => {
            let state = messages.iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
                _ => None,
            });
            match state {
                // The backend is gone: its statement with it (rolled back).
                None => StopState::Stopped,
                Some(Some(s)) if s == "active" => StopState::StillRunning,
                // Idle, but the answer never reached the step: did it commit?
                Some(_) => StopState::Unknown,
            }
        }
        _ => StopState::Unknown,
    }
}

/// `KILL QUERY` the step's statement from a session of its own.
async fn mysql_kill(query: &MysqlQuery) {
    use mysql_async::prelude::Queryable;
    let reads = crate::endpoint::mysql::Purpose::Reads { statement_limit: None, settings: &[] };
    if let Ok(mut session) = crate::endpoint::mysql::connect(&query.url, reads).await {
        let _ = session.conn.query_drop(format!("KILL QUERY {}", query.id)).await;
    }
}

/// Whether the step's MySQL session still runs a statement.
async fn mysql_state(query: &MysqlQuery) -> StopState {
    use mysql_async::prelude::Queryable;
    let reads = crate::endpoint::mysql::Purpose::Reads { statement_limit: None, settings: &[] };
    let Ok(mut session) = crate::endpoint::mysql::connect(&query.url, reads).await else {
        return StopState::Unknown;
    };
    let sql = format!("SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = {}", query.id);
    match tokio::time::timeout(ASK, session.conn.query_first::<String, _>(sql)).await {
        // The session is gone: its statement with it (rolled back).
        Ok(Ok(None)) => StopState::Stopped,
        Ok(Ok(Some(command))) if command == "Query" => StopState::StillRunning,
        // Idle (`Sleep`), but the answer never reached the step: did it commit?
        _ => StopState::Unknown,
    }
}

/// Whether a process of the group led by `leader` still runs. A zombie does
/// not count: it is over, only not yet reaped by whoever inherited it.
#[must_use]
pub fn group_alive(leader: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No /proc: signal 0 asks whether the group has any process at all.
        return !matches!(killpg(Pid::from_raw(leader), None), Err(Errno::ESRCH));
    };
    entries.filter_map(Result::ok).any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { return false };
        // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|g| g.parse::<i32>().ok());
        pgrp == Some(leader) && state != Some("Z")
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    #[test]
    fn a_group_is_alive_while_a_member_runs_and_not_once_all_are_zombies_or_gone() {
        let mut child = std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        let leader = i32::try_from(child.id()).unwrap();
        assert!(group_alive(leader));
        killpg(Pid::from_raw(leader), Signal::SIGKILL).unwrap();
        // Killed but not reaped: a zombie, which no longer runs.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while group_alive(leader) {
            assert!(std::time::Instant::now() < deadline, "the killed group still runs");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait().unwrap();
        assert!(!group_alive(leader));
    }
}
