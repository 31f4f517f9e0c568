//! The way back that does not depend on the migration: WAL archiving
//! (`pg_stat_archiver`, the WAL files waiting in `archive_status`) and the
//! backup repository (`pgbackrest info --output=json`, through the command
//! the inventory gives).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A PostgreSQL server's WAL archiving, as the server sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchiveReading {
    /// `archive_mode`: `off`, `on` or `always`.
    pub mode: String,
    /// WAL files (and history, backup labels) archived since the statistics were reset.
    pub archived_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_archived_wal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_archived_at: Option<DateTime<Utc>>,
    pub failed_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failed_wal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failed_at: Option<DateTime<Utc>>,
    /// WAL files waiting to be archived (`.ready` in `archive_status`);
    /// `None` where the server does not let us list the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<u32>,
    /// When the oldest of them was written: the archive lag is how long it has waited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_waiting_at: Option<DateTime<Utc>>,
}

impl ArchiveReading {
    /// Archiving is configured at all.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.mode != "off" && !self.mode.is_empty()
    }

    /// The archiver's last attempt failed: a failure newer than the last success.
    #[must_use]
    pub fn failing(&self) -> bool {
        match (self.last_failed_at, self.last_archived_at) {
            (Some(failed), Some(archived)) => failed > archived,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// How long the oldest WAL file not yet archived has waited, at `now`
    /// (0 with none waiting); `None` when the waiting files are not known.
    #[must_use]
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> Option<f64> {
        match (self.waiting?, self.oldest_waiting_at) {
            (0, _) | (_, None) => Some(0.0),
            (_, Some(oldest)) => Some(seconds_since(oldest, now)),
        }
    }
}

/// One backup in the repository.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// `full`, `diff` or `incr`.
    pub kind: String,
    pub label: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The database's size as backed up.
    pub size_bytes: u64,
    /// What it takes in the repository.
    pub repo_bytes: u64,
    /// The last WAL file the backup needs (restoring it needs the WAL up to here archived).
    #[serde(default)]
    pub wal_stop: Option<String>,
}

/// A backup repository's state for one stanza.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupReading {
    /// The stanza (pgBackRest's name for one cluster's backups).
    pub stanza: String,
    /// `ok`, or what the repository says is wrong with the stanza.
    pub status: String,
    /// The newest full backup, and the newest backup of any kind (when it is not that one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full: Option<BackupInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<BackupInfo>,
    /// The newest WAL file in the repository's archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_max: Option<String>,
    /// The command could not be run or its output not read (the rest is then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BackupReading {
    /// The newest backup of any kind.
    #[must_use]
    pub fn newest(&self) -> Option<&BackupInfo> {
        self.latest.as_ref().or(self.last_full.as_ref())
    }

    /// The WAL from the newest backup on is in the archive: WAL file names of
    /// one timeline sort in the order they were written.
    #[must_use]
    pub fn wal_since_newest_archived(&self) -> Option<bool> {
        let stop = self.newest()?.wal_stop.as_deref()?;
        let max = self.wal_max.as_deref()?;
        Some(max.get(8..) >= stop.get(8..))
    }
}

/// Seconds from `then` to `now`, never negative (clocks of two hosts).
#[must_use]
pub fn seconds_since(then: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let ms = (now - then).num_milliseconds().max(0) as f64;
    ms / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn failing_means_the_last_attempt_failed() {
        let mut a = ArchiveReading { mode: "on".into(), ..ArchiveReading::default() };
        assert!(!a.failing(), "nothing tried yet");
        a.last_failed_at = Some(at(10));
        assert!(a.failing(), "only failures");
        a.last_archived_at = Some(at(20));
        assert!(!a.failing(), "a success after the failure");
        a.last_failed_at = Some(at(30));
        assert!(a.failing());
    }

    #[test]
    fn the_archive_lag_is_the_age_of_the_oldest_waiting_file() {
        let mut a = ArchiveReading { mode: "on".into(), ..ArchiveReading::default() };
        assert_eq!(a.lag_seconds(at(100)), None, "the directory could not be listed");
        a.waiting = Some(0);
        assert_eq!(a.lag_seconds(at(100)), Some(0.0));
        a.waiting = Some(3);
        a.oldest_waiting_at = Some(at(40));
        assert_eq!(a.lag_seconds(at(100)), Some(60.0));
        assert_eq!(a.lag_seconds(at(10)), Some(0.0), "a clock behind the server's");
    }

    #[test]
    fn wal_since_the_backup_is_archived_when_the_archive_reaches_its_stop() {
        let backup = |stop: &str| BackupInfo {
            kind: "full".into(),
            label: "x".into(),
            started_at: at(0),
            finished_at: at(1),
            size_bytes: 1,
            repo_bytes: 1,
            wal_stop: Some(stop.into()),
        };
        let mut r = BackupReading {
            last_full: Some(backup("000000010000000000000003")),
            wal_max: Some("000000010000000000000003".into()),
            ..BackupReading::default()
        };
        assert_eq!(r.wal_since_newest_archived(), Some(true));
        r.latest = Some(backup("00000001000000000000000A"));
        assert_eq!(r.wal_since_newest_archived(), Some(false), "the newest backup is an incremental one");
        // A promotion moved to timeline 2: the segment number still counts.
        r.wal_max = Some("00000002000000000000000B".into());
        assert_eq!(r.wal_since_newest_archived(), Some(true));
    }
}
