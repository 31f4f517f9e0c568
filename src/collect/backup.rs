//! The backup repository's state, from the command the inventory gives
//! (`pgbackrest info --output=json`). It runs in a task of its own, every
//! [`BackupSource::every`], so a slow repository never holds a gauge round:
//! the round attaches the latest reading.

use std::time::Duration;

use chrono::DateTime;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::events::{BackupInfo, BackupReading};
use crate::inventory::backup::BackupSource;

/// The longest the command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the repository in the background; the latest reading on demand.
pub struct Reader {
    latest: watch::Receiver<Option<BackupReading>>,
    task: JoinHandle<()>,
}

impl Reader {
    /// Start reading `source` now and every `source.every`.
    #[must_use]
    pub fn start(source: BackupSource) -> Self {
        let (tx, latest) = watch::channel(None);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(source.every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if tx.send(Some(read(&source).await)).is_err() {
                    return;
                }
            }
        });
        Self { latest, task }
    }

    /// The latest reading; until the command has first answered, wait for
    /// that at most `limit` (so a run's first gauges, and a one-off status,
    /// never read "no repository" while the command is merely slow).
    pub async fn latest(&mut self, limit: Duration) -> Option<BackupReading> {
        let answered = tokio::time::timeout(limit, self.latest.wait_for(Option::is_some)).await;
        answered.ok().and_then(Result::ok).and_then(|r| r.clone())
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Run the command once and read what it printed.
pub async fn read(source: &BackupSource) -> BackupReading {
    let failed = |error: String| BackupReading {
        stanza: source.stanza.clone().unwrap_or_default(),
        status: "unknown".to_owned(),
        error: Some(error),
        ..BackupReading::default()
    };
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg(&source.command).stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = match tokio::time::timeout(COMMAND_TIMEOUT, command.output()).await {
        Err(_) => return failed(format!("the backup command gave no answer in {}s", COMMAND_TIMEOUT.as_secs())),
        Ok(Err(e)) => return failed(format!("cannot run the backup command: {e}")),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        return failed(format!("the backup command failed ({}): {last}", output.status));
    }
    parse_info(&String::from_utf8_lossy(&output.stdout), source.stanza.as_deref())
        .unwrap_or_else(|e| failed(format!("the backup command's output: {e}")))
}

#[derive(Deserialize)]
struct Stanza {
    name: String,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    backup: Vec<Backup>,
    #[serde(default)]
    archive: Vec<Archive>,
}

#[derive(Deserialize)]
struct Status {
    code: i64,
    message: String,
}

#[derive(Deserialize)]
struct Backup {
    label: String,
    #[serde(rename = "type")]
    kind: String,
    timestamp: Stamps,
    info: Sizes,
    #[serde(default)]
    archive: Option<WalRange>,
    #[serde(default)]
    error: Option<bool>,
}

#[derive(Deserialize)]
struct Stamps {
    start: i64,
    stop: i64,
}

#[derive(Deserialize)]
struct Sizes {
    size: u64,
    repository: RepoSize,
}

#[derive(Deserialize)]
struct RepoSize {
    size: u64,
}

#[derive(Deserialize)]
struct WalRange {
    #[serde(default)]
    stop: Option<String>,
}

#[derive(Deserialize)]
struct Archive {
    #[serde(default)]
    max: Option<String>,
}

/// `pgbackrest info --output=json`: the named stanza (or the only one), its
/// newest full backup, its newest backup, the newest archived WAL.
///
/// # Errors
/// Not that JSON, or no such stanza.
pub fn parse_info(json: &str, stanza: Option<&str>) -> Result<BackupReading, String> {
    let stanzas: Vec<Stanza> = serde_json::from_str(json).map_err(|e| format!("not pgBackRest's JSON ({e})"))?;
    let names = || stanzas.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    let one = match stanza {
        Some(name) => stanzas
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("no stanza \"{name}\" in the repository (it has: {})", names()))?,
        None if stanzas.len() == 1 => &stanzas[0],
        None if stanzas.is_empty() => return Err("the repository has no stanza".to_owned()),
        None => return Err(format!("the repository has several stanzas ({}): name one with `stanza`", names())),
    };
    let info = |b: &Backup| -> Option<BackupInfo> {
        Some(BackupInfo {
            kind: b.kind.clone(),
            label: b.label.clone(),
            started_at: DateTime::from_timestamp(b.timestamp.start, 0)?,
            finished_at: DateTime::from_timestamp(b.timestamp.stop, 0)?,
            size_bytes: b.info.size,
            repo_bytes: b.info.repository.size,
            wal_stop: b.archive.as_ref().and_then(|a| a.stop.clone()),
        })
    };
    // A backup that pgBackRest marks in error does not count as a way back.
    let good = || one.backup.iter().filter(|b| b.error != Some(true));
    let newest = good().max_by_key(|b| b.timestamp.stop).and_then(info);
    let last_full = good().filter(|b| b.kind == "full").max_by_key(|b| b.timestamp.stop).and_then(info);
    let latest = newest.filter(|n| last_full.as_ref().is_none_or(|f| f.label != n.label));
    let status = match &one.status {
        Some(s) if s.code == 0 => "ok".to_owned(),
        Some(s) => s.message.clone(),
        None => "unknown".to_owned(),
    };
    Ok(BackupReading {
        stanza: one.name.clone(),
        status,
        last_full,
        latest,
        wal_max: one.archive.iter().filter_map(|a| a.max.clone()).max_by(|a, b| a.get(8..).cmp(&b.get(8..))),
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What pgBackRest 2.45 printed for a stanza with one full backup, as it printed it.
    const ONE_FULL: &str = include_str!("testdata/pgbackrest-info-one-full.json");

    #[test]
    fn reads_the_newest_full_backup_and_the_archive() {
        let r = parse_info(ONE_FULL, None).unwrap();
        assert_eq!(r.stanza, "main");
        assert_eq!(r.status, "ok");
        let full = r.last_full.as_ref().unwrap();
        assert_eq!((full.kind.as_str(), full.label.as_str()), ("full", "20261204-014326F"));
        assert_eq!(full.size_bytes, 22_992_579);
        assert_eq!(full.finished_at.timestamp(), 1_796_348_608);
        assert_eq!(full.wal_stop.as_deref(), Some("000000010000000000000003"));
        assert!(r.latest.is_none(), "the newest backup is the full one");
        assert_eq!(r.wal_max.as_deref(), Some("000000010000000000000003"));
        assert_eq!(r.wal_since_newest_archived(), Some(true));
        assert_eq!(parse_info(ONE_FULL, Some("main")).unwrap(), r);
    }

    #[test]
    fn a_newer_incremental_backup_is_the_latest_and_one_in_error_does_not_count() {
        let mut v: serde_json::Value = serde_json::from_str(ONE_FULL).unwrap();
        let full = v[0]["backup"][0].clone();
        let mut incr = full.clone();
        incr["type"] = "incr".into();
        incr["label"] = "20261204-014326F_20261204-020000I".into();
        incr["timestamp"]["stop"] = 1_796_350_000.into();
        let mut broken = full;
        broken["type"] = "full".into();
        broken["label"] = "20261204-030000F".into();
        broken["timestamp"]["stop"] = 1_796_360_000.into();
        broken["error"] = true.into();
        v[0]["backup"] = serde_json::json!([v[0]["backup"][0], incr, broken]);
        let r = parse_info(&v.to_string(), None).unwrap();
        assert_eq!(r.last_full.unwrap().label, "20261204-014326F");
        assert_eq!(r.latest.unwrap().kind, "incr");
    }

    #[test]
    fn a_stanza_that_is_not_there_or_not_named_is_an_error_that_says_which_there_are() {
        let e = parse_info(ONE_FULL, Some("other")).unwrap_err();
        assert!(e.contains("no stanza \"other\"") && e.contains("main"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(ONE_FULL).unwrap();
        let mut second = v[0].clone();
        second["name"] = "reports".into();
        v.as_array_mut().unwrap().push(second);
        let e = parse_info(&v.to_string(), None).unwrap_err();
        assert!(e.contains("main, reports") && e.contains("stanza"), "{e}");
        assert!(parse_info("not json", None).unwrap_err().contains("pgBackRest"));
    }

    #[test]
    fn a_stanza_with_a_problem_says_what() {
        let mut v: serde_json::Value = serde_json::from_str(ONE_FULL).unwrap();
        v[0]["status"] = serde_json::json!({"code": 2, "message": "no valid backups"});
        v[0]["backup"] = serde_json::json!([]);
        let r = parse_info(&v.to_string(), None).unwrap();
        assert_eq!(r.status, "no valid backups");
        assert!(r.newest().is_none());
    }
}
