//! Following a journal another process is writing: each poll reads what was
//! appended since the last, returns the complete records, and keeps a line
//! still being written for the next poll.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, eyre};

use crate::events::Record;

/// A journal being followed.
pub struct Tail {
    path: PathBuf,
    /// Bytes consumed: complete lines only.
    offset: u64,
    /// Lines consumed, for error messages.
    line: usize,
}

impl Tail {
    /// Follow `path` from its start.
    #[must_use]
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), offset: 0, line: 0 }
    }

    /// The records appended since the last poll. A journal cut shorter than
    /// what was read (a resume cuts a torn last line) is read again from where
    /// it now ends.
    ///
    /// # Errors
    /// The file cannot be read, or a complete line is not a record (`FILE:LINE: message`).
    pub fn poll(&mut self) -> Result<Vec<Record>> {
        let mut file =
            File::open(&self.path).wrap_err_with(|| format!("cannot read journal {}", self.path.display()))?;
        let len = file.metadata().wrap_err_with(|| format!("cannot read journal {}", self.path.display()))?.len();
        if len < self.offset {
            self.offset = len;
        }
        file.seek(SeekFrom::Start(self.offset))
            .wrap_err_with(|| format!("cannot read journal {}", self.path.display()))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).wrap_err_with(|| format!("cannot read journal {}", self.path.display()))?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let mut records = Vec::new();
        for line in bytes[..complete].split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            self.line += 1;
            let record = serde_json::from_slice(line)
                .map_err(|e| eyre!("{}:{}: not a journal record: {e}", self.path.display(), self.line))?;
            records.push(record);
        }
        self.offset += complete as u64;
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::events::RunEvent;

    #[test]
    fn a_line_being_written_waits_for_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let line =
            |step: &str| format!("{{\"at\":\"2026-11-21T10:00:00Z\",\"event\":\"interrupted\",\"step\":\"{step}\"}}\n");
        std::fs::write(&path, line("1.1")).unwrap();
        let mut tail = Tail::new(&path);
        assert_eq!(tail.poll().unwrap().len(), 1);
        assert!(tail.poll().unwrap().is_empty());
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let second = line("1.2");
        file.write_all(&second.as_bytes()[..20]).unwrap();
        assert!(tail.poll().unwrap().is_empty(), "half a line is not a record yet");
        file.write_all(&second.as_bytes()[20..]).unwrap();
        let records = tail.poll().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].event, RunEvent::Interrupted { step: "1.2".into() });
        file.write_all(b"not json\n").unwrap();
        let err = tail.poll().unwrap_err().to_string();
        assert!(err.ends_with("run.jsonl:3: not a journal record: expected ident at line 1 column 2"), "{err}");
    }
}
