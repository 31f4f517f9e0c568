//! The verification journal: a journal like a run's (`cutover replay`,
//! `report` and `follow` read it) whose chunk records — every planned chunk
//! and every finished one, synced per finished chunk — let a re-run with the
//! same journal reuse the planned boundaries and skip finished chunks.
//! Progress is kept at a bounded rate beside them. A torn last line (a kill
//! mid-write) is cut off; that chunk is simply done again.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::{Deserialize, Serialize};

use super::sql::Range;
use super::{Difference, Mode};
use crate::events::{ChecksumProgress, RunEvent};
use crate::journal::{self, CHECKSUM_EVERY, Recorder, SAMPLE_EVERY};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    VerifyStarted {
        mode: Mode,
        source: String,
        target: String,
        /// Where each is ([`crate::inventory::Endpoint::pin`]): a re-run
        /// against other servers must not reuse these chunks.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        source_at: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        target_at: String,
    },
    ChunkPlanned {
        table: String,
        index: u64,
        range: Range,
    },
    ChunkDone {
        table: String,
        index: u64,
        range: Range,
        rows_source: u64,
        rows_target: u64,
        differences: Vec<Difference>,
    },
}

/// A chunk known from an earlier run.
#[derive(Clone, Debug, PartialEq)]
pub struct Prior {
    pub index: u64,
    pub range: Range,
    /// Rows on each side and differences, when the chunk finished.
    pub done: Option<(u64, u64, Vec<Difference>)>,
}

/// What an earlier run left: per table, its chunks in index order.
#[derive(Debug, Default)]
pub struct Resume {
    pub mode: Option<Mode>,
    /// The last run's endpoints: names, and where each was (empty pins in a
    /// journal from before they were recorded).
    pub endpoints: Option<[String; 4]>,
    pub tables: BTreeMap<String, Vec<Prior>>,
}

impl Resume {
    /// Read a journal (missing: nothing to resume).
    ///
    /// # Errors
    /// An unreadable file, a line in the middle that is not a record, or a
    /// chunk record that is not a verification entry.
    pub fn load(path: &Path) -> Result<Self> {
        let mut resume = Self::default();
        if !path.exists() {
            return Ok(resume);
        }
        for (n, record) in journal::read(path)?.records.into_iter().enumerate() {
            let RunEvent::VerifyChunk { chunk } = record.event else { continue };
            let entry: Entry = serde_json::from_value(chunk)
                .map_err(|e| eyre!("{}: record {}: not a verification entry: {e}", path.display(), n + 1))?;
            match entry {
                Entry::VerifyStarted { mode, source, target, source_at, target_at } => {
                    resume.mode = Some(mode);
                    resume.endpoints = Some([source, source_at, target, target_at]);
                }
                Entry::ChunkPlanned { table, index, range } => {
                    let chunks = resume.tables.entry(table).or_default();
                    if !chunks.iter().any(|c| c.index == index) {
                        chunks.push(Prior { index, range, done: None });
                    }
                }
                Entry::ChunkDone { table, index, rows_source, rows_target, differences, .. } => {
                    if let Some(c) = resume.tables.entry(table).or_default().iter_mut().find(|c| c.index == index) {
                        c.done = Some((rows_source, rows_target, differences));
                    }
                }
            }
        }
        for chunks in resume.tables.values_mut() {
            chunks.sort_by_key(|c| c.index);
        }
        Ok(resume)
    }
}

/// Appends entries and progress; syncs to disk after each finished chunk.
pub struct Writer {
    recorder: Recorder,
}

impl Writer {
    /// Open (create, mode 0600) a journal for appending: a new one starts with
    /// the session (who verifies what, from where), a re-run says it resumed.
    ///
    /// # Errors
    /// The file cannot be read or opened.
    pub fn open(path: &Path, source: &str, target: &str) -> Result<Self> {
        let (writer, held) = journal::Writer::open_read(path)?;
        let fresh = held.records.is_empty();
        let mut recorder = Recorder::new(writer, SAMPLE_EVERY, CHECKSUM_EVERY);
        let operator = crate::operator::default_operator();
        let host = crate::operator::hostname();
        let pid = std::process::id();
        let event = if fresh {
            let title = format!("verify {source} → {target}");
            RunEvent::Session { command: "verify".to_owned(), title, operator, host, pid }
        } else {
            RunEvent::Resumed {
                operator,
                host,
                pid,
                headless: true,
                allow_manual: false,
                retargeted: Vec::new(),
                endpoints: BTreeMap::new(),
            }
        };
        recorder.append(Utc::now(), event)?;
        Ok(Self { recorder })
    }

    /// Append one entry.
    ///
    /// # Errors
    /// The write failed (disk full: the operator must know).
    pub fn append(&mut self, entry: &Entry) -> Result<()> {
        let chunk = serde_json::to_value(entry).wrap_err("encode a verification entry")?;
        self.recorder.append(Utc::now(), RunEvent::VerifyChunk { chunk })?;
        if matches!(entry, Entry::ChunkDone { .. }) {
            self.recorder.sync()?;
        }
        Ok(())
    }

    /// Progress, when due (see [`Recorder::checksum`]).
    ///
    /// # Errors
    /// The write failed.
    pub fn progress(&mut self, progress: &ChecksumProgress) -> Result<()> {
        self.recorder.checksum(progress).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_planned_and_done_chunks_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut w = Writer::open(&path, "s", "t").unwrap();
        w.append(&Entry::VerifyStarted {
            mode: Mode::Typed,
            source: "s".into(),
            target: "t".into(),
            source_at: String::new(),
            target_at: String::new(),
        })
        .unwrap();
        let r0 = Range { lo: None, hi: Some(vec!["10".into()]) };
        let r1 = Range { lo: Some(vec!["10".into()]), hi: None };
        w.append(&Entry::ChunkPlanned { table: "public.t".into(), index: 0, range: r0.clone() }).unwrap();
        w.append(&Entry::ChunkPlanned { table: "public.t".into(), index: 1, range: r1.clone() }).unwrap();
        w.append(&Entry::ChunkDone {
            table: "public.t".into(),
            index: 0,
            range: r0.clone(),
            rows_source: 10,
            rows_target: 10,
            differences: vec![],
        })
        .unwrap();
        std::io::Write::write_all(
            &mut std::fs::OpenOptions::new().append(true).open(&path).unwrap(),
            b"{\"at\":\"2026-11-21T10:00:00Z\",\"event\":\"verify_chunk\",\"chunk\":{\"event\":\"chunk_do",
        )
        .unwrap();
        drop(w);
        let resume = Resume::load(&path).unwrap();
        assert_eq!(resume.mode, Some(Mode::Typed));
        // Reopening cuts the torn line off; the next entry stands on its own line.
        let mut again = Writer::open(&path, "s", "t").unwrap();
        again.append(&Entry::ChunkPlanned { table: "public.t".into(), index: 2, range: r1.clone() }).unwrap();
        let records = journal::read(&path).unwrap();
        assert!(!records.torn);
        assert!(matches!(records.records[0].event, RunEvent::Session { .. }), "{:?}", records.records[0]);
        assert!(matches!(records.records[5].event, RunEvent::Resumed { .. }), "{:?}", records.records[5]);
        assert_eq!(records.records.len(), 7);
        let chunks = &resume.tables["public.t"];
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].done, Some((10, 10, vec![])));
        assert_eq!(chunks[1], Prior { index: 1, range: r1, done: None });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
