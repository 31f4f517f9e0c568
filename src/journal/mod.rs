//! The run journal: append-only JSON lines of [`Record`]s, mode 0600, synced
//! to disk at every step boundary, secrets scrubbed before they are written.
//!
//! Reading tolerates a torn last line (the process was killed mid-write);
//! anything else that is not a record is an error naming its line.

mod actions;
mod hub;
mod lock;
mod recorder;
mod tail;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr, eyre};

pub use actions::actions;
pub use hub::{Hub, OnJournalError};
pub use recorder::{CHECKSUM_EVERY, Recorder, SAMPLE_EVERY};
pub use tail::Tail;

use crate::events::{Record, RunEvent};
use crate::secrets::Secrets;

/// A journal read back.
#[derive(Debug, Default)]
pub struct Journal {
    pub records: Vec<Record>,
    /// Bytes of good records: where a torn last line begins (equal to the file
    /// length when nothing is torn).
    pub good_len: u64,
    /// The last line was cut short.
    pub torn: bool,
}

/// Parse a journal's bytes.
///
/// # Errors
/// A line that is not a record, other than a torn last one: `FILE:LINE: message`.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Journal> {
    let mut journal = Journal::default();
    let mut offset = 0usize;
    let mut lines = bytes.split_inclusive(|b| *b == b'\n').enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let last = lines.peek().is_none();
        let complete = line.ends_with(b"\n");
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let parsed = std::str::from_utf8(body).map_err(|e| e.to_string()).and_then(|text| {
            if text.trim().is_empty() {
                Ok(None)
            } else {
                serde_json::from_str(text).map(Some).map_err(|e| e.to_string())
            }
        });
        match parsed {
            Ok(Some(record)) if complete => {
                journal.records.push(record);
                offset += line.len();
            }
            Ok(None) if complete => offset += line.len(),
            // Only the last line can lack its newline: a write cut short. A
            // complete line that does not parse is damage, not a torn write.
            _ if last && !complete => {
                journal.torn = true;
                break;
            }
            Err(message) => return Err(eyre!("{name}:{}: not a journal record: {message}", index + 1)),
            Ok(_) => break,
        }
    }
    journal.good_len = offset as u64;
    Ok(journal)
}

/// Read a journal file.
///
/// # Errors
/// An unreadable file, or a line that is not a record (see [`parse`]).
pub fn read(path: &Path) -> Result<Journal> {
    let bytes = std::fs::read(path).wrap_err_with(|| format!("cannot read journal {}", path.display()))?;
    parse(&path.display().to_string(), &bytes)
}

/// Appends records to a journal file; the only one that does while it lives
/// (it holds the journal's exclusive lock, see [`lock`]).
pub struct Writer {
    file: nix::fcntl::Flock<File>,
    path: PathBuf,
    /// What never to write, in any spelling.
    secrets: Secrets,
}

impl Writer {
    /// Open (or create) a journal for appending, mode 0600, and take its lock.
    /// A torn last line left by a killed process is cut off first (only once
    /// the lock is held: a live writer's half-written line is never cut).
    ///
    /// # Errors
    /// Another process writes the journal; the file cannot be created, read or opened.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self::open_read(path)?.0)
    }

    /// [`Writer::open`], and what the journal held once the lock was taken.
    ///
    /// # Errors
    /// As [`Writer::open`].
    pub fn open_read(path: &Path) -> Result<(Self, Journal)> {
        let file = crate::secrets::open_private(path, OpenOptions::new().create(true).append(true))
            .wrap_err_with(|| format!("cannot open journal {} (mode 0600)", path.display()))?;
        let file = lock::exclusive(file, path)?;
        let journal = read(path)?;
        if journal.torn {
            file.set_len(journal.good_len)
                .wrap_err_with(|| format!("cannot cut the torn line of {}", path.display()))?;
        }
        Ok((Self { file, path: path.to_owned(), secrets: Secrets::default() }, journal))
    }

    /// A new journal (its directory made if need be): one that already holds
    /// records is refused — a recording is never appended to another.
    ///
    /// # Errors
    /// The journal holds records already or another process writes it; the
    /// file or directory cannot be made.
    pub fn create(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot make {}", dir.display()))?;
        }
        let (writer, journal) = Self::open_read(path)?;
        if !journal.records.is_empty() {
            return Err(eyre!(
                "{} already holds a recording: choose another --journal (a run's journal continues with `cutover resume {}`)",
                path.display(),
                path.display()
            ));
        }
        Ok(writer)
    }

    /// Secrets to scrub from every record written from now on.
    pub fn scrub(&mut self, secrets: &Secrets) {
        self.secrets.extend(secrets);
    }

    /// `event` as it will be written: its free texts scrubbed (see
    /// [`RunEvent::texts_mut`]) — never the serialized line, whose keys,
    /// numbers and times a secret like `2026` or `true` would break.
    #[must_use]
    pub fn scrubbed(&self, mut event: RunEvent) -> RunEvent {
        if !self.secrets.is_empty() {
            event.texts_mut(&mut |text| self.secrets.scrub_in_place(text));
        }
        event
    }

    /// Append one record; at a step boundary, sync it to disk.
    ///
    /// # Errors
    /// The disk refused the write.
    pub fn append(&mut self, at: DateTime<Utc>, event: RunEvent) -> Result<()> {
        let boundary = event.is_boundary();
        let event = self.scrubbed(event);
        let mut line = serde_json::to_string(&Record { at, event }).wrap_err("encode a journal record")?;
        line.push('\n');
        // One write per line, so a kill tears at most the last line.
        (&*self.file)
            .write_all(line.as_bytes())
            .wrap_err_with(|| format!("cannot write journal {}", self.path.display()))?;
        if boundary {
            self.sync()?;
        }
        Ok(())
    }

    /// Flush to disk.
    ///
    /// # Errors
    /// The disk refused.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync_data().wrap_err_with(|| format!("cannot sync journal {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_torn_last_line_is_tolerated_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let mut w = Writer::open(&path).unwrap();
        w.append(at(), RunEvent::StepStarted { step: "1.1".into(), attempt: 1 }).unwrap();
        drop(w);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"at\":\"2026-11-21T1").unwrap();
        let j = read(&path).unwrap();
        assert!(j.torn);
        assert_eq!(j.records.len(), 1);
        let mut w = Writer::open(&path).unwrap();
        w.append(at(), RunEvent::Interrupted { step: "1.1".into() }).unwrap();
        let j = read(&path).unwrap();
        assert!(!j.torn);
        assert_eq!(j.records.len(), 2);
        assert_eq!(j.records[1].event, RunEvent::Interrupted { step: "1.1".into() });
    }

    #[test]
    fn one_writer_at_a_time_and_readers_are_never_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let mut first = Writer::create(&path).unwrap();
        first
            .append(
                at(),
                RunEvent::Resumed {
                    operator: "ann".into(),
                    host: "jump7".into(),
                    pid: 4242,
                    headless: true,
                    allow_manual: false,
                    retargeted: Vec::new(),
                    endpoints: Default::default(),
                },
            )
            .unwrap();
        // Half a line, as a live writer between two writes could leave it.
        (&*first.file).write_all(b"{\"at\":\"2026-11-21T1").unwrap();
        for second in [Writer::open(&path).err(), Writer::create(&path).err()] {
            let err = second.expect("a second writer is refused").to_string();
            assert!(err.contains("pid 4242 on host jump7") && err.contains("resumed by ann"), "{err}");
            assert!(err.contains("cutover follow"), "{err}");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("{\"at\":\"2026-11-21T1"), "the live writer's line was cut: {text}");
        let journal = read(&path).unwrap();
        assert_eq!((journal.records.len(), journal.torn), (1, true), "a reader reads while the writer writes");
        drop(first);
        let _again = Writer::open(&path).expect("the lock goes with its writer");
        assert!(!read(&path).unwrap().torn, "the next writer cuts the torn line");
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_with_its_line() {
        let text = "{\"at\":\"2026-11-21T10:00:00Z\",\"event\":\"interrupted\",\"step\":\"1\"}\nnot json\n{\"at\":\"2026-11-21T10:00:00Z\",\"event\":\"interrupted\",\"step\":\"1\"}\n";
        let err = parse("j.jsonl", text.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("j.jsonl:2: not a journal record"), "{err}");
    }

    fn secrets(passwords: &[&str]) -> Secrets {
        let mut secrets = Secrets::default();
        for p in passwords {
            secrets.add("a password", p).unwrap();
        }
        secrets
    }

    #[test]
    fn secrets_are_scrubbed_even_when_json_escapes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let mut w = Writer::open(&path).unwrap();
        w.scrub(&secrets(&["pa\"ss word", "hunter2"]));
        let text = "password=hunter2 and 'pa\"ss word'".to_owned();
        w.append(at(), RunEvent::Output { step: "1.1".into(), text }).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(!written.contains("hunter2") && !written.contains("ss word"), "{written}");
        assert!(written.contains("password=******"), "{written}");
    }

    #[test]
    fn secrets_that_look_like_keys_numbers_or_times_leave_the_journal_readable() {
        use crate::events::{EndpointKind, Reading, Sample};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let mut w = Writer::create(&path).unwrap();
        w.scrub(&secrets(&["2026", "true", "event"]));
        let step = "1.1".to_owned();
        let events = vec![
            RunEvent::StepStarted { step: step.clone(), attempt: 2026 },
            RunEvent::Output { step: step.clone(), text: "the event of 2026 is true".into() },
            RunEvent::Gate { step: step.clone(), holds: true, reason: "true since 2026".into() },
            RunEvent::StepFinished { step: step.clone(), attempt: 1, ok: true, summary: "event: true".into() },
            RunEvent::Sample {
                sample: Sample {
                    at: at(),
                    endpoint: "event".into(),
                    kind: EndpointKind::Postgres,
                    reading: Reading::Unreachable { error: "password true refused".into() },
                },
            },
            RunEvent::Finished { outcome: crate::events::RunOutcome::Completed },
        ];
        for event in events {
            w.append(at(), event).unwrap();
        }
        drop(w);
        let journal = read(&path).expect("the journal reads back strictly");
        assert!(!journal.torn);
        assert_eq!(journal.records.len(), 6);
        assert!(journal.records.iter().all(|r| r.at == at()), "times are untouched");
        assert_eq!(journal.records[0].event, RunEvent::StepStarted { step: step.clone(), attempt: 2026 });
        let RunEvent::Output { text, .. } = &journal.records[1].event else { panic!("{:?}", journal.records[1]) };
        assert_eq!(text, "the ****** of ****** is ******");
        let RunEvent::Sample { sample } = &journal.records[4].event else { panic!("{:?}", journal.records[4]) };
        assert_eq!(sample.endpoint, "event", "an endpoint's name is not text to scrub");
        assert_eq!(sample.reading, Reading::Unreachable { error: "password ****** refused".into() });
        let texts: Vec<String> = journal
            .records
            .iter()
            .map(|r| {
                let mut texts = Vec::new();
                r.event.clone().texts_mut(&mut |t| texts.push(t.clone()));
                texts.join("\n")
            })
            .collect();
        for secret in ["2026", "true", "event"] {
            assert!(texts.iter().all(|t| !t.contains(secret)), "{secret} in {texts:?}");
        }
    }
}
