//! One writer per journal: an exclusive `flock(2)` on the journal file itself,
//! taken before anything is read or cut, and held for as long as the writer
//! lives (the life of the run). Readers (`follow`, `replay`, `report`) take no
//! lock and are never refused.
//!
//! The lock goes with the process: a killed run leaves none behind, and a
//! step's child processes do not inherit it (the file is opened close-on-exec).
//!
//! On NFS, Linux turns `flock` into a lock on the server (NLM for NFSv3, NFSv4
//! locks), so two jump hosts writing one journal on a share are kept apart too
//! — unless the share is mounted with `nolock` or `local_lock=flock|all`, where
//! the lock is only seen on the host that took it.

use std::fs::File;
use std::path::Path;

use color_eyre::eyre::{Result, eyre};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::events::RunEvent;

/// Take the journal's exclusive lock, without waiting.
///
/// # Errors
/// Another process holds it (the message names the pid and host the journal
/// says it is), or the file system refused to lock.
pub(super) fn exclusive(file: File, path: &Path) -> Result<Flock<File>> {
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => Ok(locked),
        Err((_, Errno::EWOULDBLOCK)) => Err(eyre!(
            "{} is being written by another cutover ({}): one process writes a journal at a time. \
             Watch it with `cutover follow {}`; if that process is gone, its lock went with it — try again.",
            path.display(),
            holder(path),
            path.display()
        )),
        Err((_, errno)) => Err(eyre!("cannot lock journal {}: {errno}", path.display())),
    }
}

/// Who holds the lock, as the journal says: the last process that started,
/// resumed or recorded in it.
fn holder(path: &Path) -> String {
    let Ok(journal) = super::read(path) else { return "its journal cannot be read".to_owned() };
    let last = journal.records.iter().rev().find_map(|r| match &r.event {
        RunEvent::Started { operator, host, pid, .. } => Some(("started", operator, host, *pid, r.at)),
        RunEvent::Resumed { operator, host, pid, .. } => Some(("resumed", operator, host, *pid, r.at)),
        RunEvent::Session { operator, host, pid, .. } => Some(("recording", operator, host, *pid, r.at)),
        _ => None,
    });
    match last {
        Some((what, operator, host, pid, at)) => {
            format!("pid {pid} on host {host}, {what} by {operator} at {}", at.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        None => "a process that has not written its first record yet".to_owned(),
    }
}
