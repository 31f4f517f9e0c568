//! The verification journal: every planned chunk and every finished one, as
//! JSON lines, flushed and synced per finished chunk. A re-run with the same
//! journal reuses the planned boundaries and skips finished chunks. A torn
//! last line (a kill mid-write) is ignored.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::{Deserialize, Serialize};

use super::sql::Range;
use super::{Difference, Mode};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    VerifyStarted {
        mode: Mode,
        source: String,
        target: String,
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
    pub tables: BTreeMap<String, Vec<Prior>>,
}

impl Resume {
    /// Read a journal (missing: nothing to resume).
    ///
    /// # Errors
    /// An unreadable file, or a line in the middle that is not an entry.
    pub fn load(path: &Path) -> Result<Self> {
        let mut resume = Self::default();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(resume),
            Err(e) => return Err(e).wrap_err_with(|| format!("cannot read journal {}", path.display())),
        };
        let lines: Vec<String> = BufReader::new(file).lines().collect::<Result<_, _>>()?;
        let last = lines.len().saturating_sub(1);
        for (n, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = match serde_json::from_str(line) {
                Ok(e) => e,
                // A kill during the last write leaves half a line: that chunk is simply redone.
                Err(_) if n == last => break,
                Err(e) => return Err(eyre!("{}:{}: not a journal entry: {e}", path.display(), n + 1)),
            };
            match entry {
                Entry::VerifyStarted { mode, .. } => resume.mode = Some(mode),
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

/// A kill mid-write leaves half a line at the end: cut it off, so the next
/// entry starts on a line of its own. (That chunk is simply done again.)
fn drop_torn_tail(file: &File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut reader = file;
    let tail_start = len.saturating_sub(64 * 1024);
    reader.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::new();
    reader.read_to_end(&mut tail)?;
    if tail.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = tail.iter().rposition(|b| *b == b'\n').map_or(tail_start, |i| tail_start + i as u64 + 1);
    file.set_len(keep)?;
    file.sync_data()
}

/// Appends entries; syncs to disk after each finished chunk.
pub struct Writer {
    file: File,
}

impl Writer {
    /// Open (create, mode 0600) a journal for appending.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(path: &Path) -> Result<Self> {
        let mut options = OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).wrap_err_with(|| format!("cannot open journal {}", path.display()))?;
        drop_torn_tail(&file).wrap_err_with(|| format!("cannot repair journal {}", path.display()))?;
        Ok(Self { file })
    }

    /// Append one entry.
    ///
    /// # Errors
    /// The write failed (disk full: the operator must know).
    pub fn append(&mut self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_string(entry)?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).wrap_err("write to the journal")?;
        if matches!(entry, Entry::ChunkDone { .. }) {
            self.file.sync_data().wrap_err("sync the journal")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_planned_and_done_chunks_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut w = Writer::open(&path).unwrap();
        w.append(&Entry::VerifyStarted { mode: Mode::Typed, source: "s".into(), target: "t".into() }).unwrap();
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
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"event\":\"chunk_do").unwrap();
        let resume = Resume::load(&path).unwrap();
        assert_eq!(resume.mode, Some(Mode::Typed));
        // Reopening cuts the torn line off; the next entry stands on its own line.
        let mut again = Writer::open(&path).unwrap();
        again.append(&Entry::ChunkPlanned { table: "public.t".into(), index: 2, range: r1.clone() }).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().all(|l| serde_json::from_str::<Entry>(l).is_ok()), "{text}");
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
