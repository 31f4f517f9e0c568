//! The fleet's own journal: its decisions (which wave, which member started
//! with which journal, how it ended, why the fleet stopped), one JSON record
//! a line, synced at each. The members' runs keep journals of their own.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::{Deserialize, Serialize};

use super::row::MemberPhase;

/// One decision of the fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FleetEvent {
    Started {
        fleet: String,
        file: String,
        runbook: String,
        /// The members of each wave, by name.
        waves: Vec<Vec<String>>,
        operator: String,
        host: String,
        pid: u32,
    },
    Resumed {
        operator: String,
        host: String,
        pid: u32,
    },
    WaveStarted {
        wave: usize,
        members: Vec<String>,
    },
    /// A member's run started (`resumed`: its journal went on).
    MemberStarted {
        member: String,
        journal: PathBuf,
        attempt: u32,
        resumed: bool,
    },
    MemberEnded {
        member: String,
        phase: MemberPhase,
        code: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A failed member is rolled back by the fleet (`on_failure = "rollback"`).
    RollingBack {
        member: String,
        reason: String,
    },
    /// The operator paused the fleet (no member starts), or let it go on.
    Paused {
        reason: String,
    },
    Continued,
    /// The fleet starts no more members.
    Stopped {
        reason: String,
    },
    Finished {
        done: usize,
        failed: usize,
        waiting: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetRecord {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: FleetEvent,
}

/// The fleet journal's path in its journals directory.
#[must_use]
pub fn path(journals: &Path) -> PathBuf {
    journals.join("fleet.jsonl")
}

/// Appends records, mode 0600, each synced.
pub struct FleetJournal {
    file: std::fs::File,
}

impl FleetJournal {
    /// A new fleet journal (refused when one exists: `fleet resume` goes on with it).
    ///
    /// # Errors
    /// It exists already, or cannot be made.
    pub fn create(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot make {}", dir.display()))?;
        }
        let file = open(path, true).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                eyre!("{} exists: this fleet has started already; go on with `cutover fleet resume`", path.display())
            } else {
                eyre!("cannot create {}: {e}", path.display())
            }
        })?;
        Ok(Self { file })
    }

    /// An existing fleet journal, to go on with; its records so far.
    ///
    /// # Errors
    /// It cannot be read or holds a bad record.
    pub fn open(path: &Path) -> Result<(Self, Vec<FleetRecord>)> {
        let records = read(path)?;
        let file = open(path, false).wrap_err_with(|| format!("cannot open {}", path.display()))?;
        Ok((Self { file }, records))
    }

    /// Append a record and sync it.
    ///
    /// # Errors
    /// The disk refused it.
    pub fn append(&mut self, event: FleetEvent) -> Result<()> {
        let record = FleetRecord { at: Utc::now(), event };
        let mut line = serde_json::to_string(&record).wrap_err("cannot write a fleet record")?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).wrap_err("cannot append to the fleet journal")?;
        self.file.sync_data().wrap_err("cannot sync the fleet journal")
    }
}

fn open(path: &Path, new: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.append(true).mode(0o600);
    if new {
        options.create_new(true);
    }
    options.open(path)
}

/// A fleet journal's records (a torn last line, from a kill, is left out).
///
/// # Errors
/// It cannot be read, or a line other than the last is not a record.
pub fn read(path: &Path) -> Result<Vec<FleetRecord>> {
    let text = std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => return Err(eyre!("{}:{}: not a fleet record: {e}", path.display(), i + 1)),
        }
    }
    Ok(records)
}
