//! What a session records: every event as it comes, and the gauges at a
//! bounded rate — a sample per endpoint when it is due, or at once when the
//! endpoint went up or down; verification progress when due, or when a table
//! finished — so a twelve-hour window makes a journal of a few megabytes.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;

use super::Writer;
use crate::events::{ChecksumProgress, Reading, RunEvent, Sample, TableState};

/// Keep one sample per endpoint at most this often in a real session.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Keep verification progress at most this often.
pub const CHECKSUM_EVERY: Duration = Duration::from_secs(5);

/// A journal writer with a rate bound on gauge figures.
pub struct Recorder {
    writer: Writer,
    sample_every: Duration,
    checksum_every: Duration,
    last_sample: HashMap<String, (DateTime<Utc>, bool)>,
    last_checksum: Option<(DateTime<Utc>, usize, u64)>,
}

impl Recorder {
    /// Record into `writer`, keeping a sample per endpoint at most every
    /// `sample_every`, and verification progress at most every `checksum_every`.
    #[must_use]
    pub fn new(writer: Writer, sample_every: Duration, checksum_every: Duration) -> Self {
        Self { writer, sample_every, checksum_every, last_sample: HashMap::new(), last_checksum: None }
    }

    /// Append an event.
    ///
    /// # Errors
    /// The disk refused the write.
    pub fn append(&mut self, at: DateTime<Utc>, event: RunEvent) -> Result<()> {
        self.writer.append(at, event)
    }

    /// Keep `sample` if it is due: the endpoint's first, one whose
    /// reachability changed, or one `sample_every` after the last kept.
    /// `true` when it was written.
    ///
    /// # Errors
    /// The disk refused the write.
    pub fn sample(&mut self, sample: &Sample) -> Result<bool> {
        self.sample_if(sample, false)
    }

    /// [`Recorder::sample`], or every sample when `every` — during a write
    /// pause, whose seconds the report measures from the pooler's own figures.
    ///
    /// # Errors
    /// The disk refused the write.
    pub fn sample_if(&mut self, sample: &Sample, every: bool) -> Result<bool> {
        let up = matches!(sample.reading, Reading::Observed(_));
        let due = every
            || self.last_sample.get(&sample.endpoint).is_none_or(|(at, was_up)| {
                *was_up != up || (sample.at - *at).to_std().unwrap_or_default() >= self.sample_every
            });
        if due {
            self.last_sample.insert(sample.endpoint.clone(), (sample.at, up));
            self.writer.append(sample.at, RunEvent::Sample { sample: sample.clone() })?;
        }
        Ok(due)
    }

    /// Keep verification progress if it is due: `checksum_every` after the
    /// last kept, or when another table finished or the differences found
    /// changed — so the journal always holds the verification's last word,
    /// which a resumed run's gates read. `true` when it was written.
    ///
    /// # Errors
    /// The disk refused the write.
    pub fn checksum(&mut self, progress: &ChecksumProgress) -> Result<bool> {
        let finished =
            progress.tables.iter().filter(|t| t.state != TableState::Running && t.state != TableState::Pending).count();
        let differences: u64 = progress.tables.iter().map(|t| t.differences).sum();
        let due = self.last_checksum.is_none_or(|(at, done, found)| {
            done != finished
                || found != differences
                || (progress.at - at).to_std().unwrap_or_default() >= self.checksum_every
        });
        if due {
            self.last_checksum = Some((progress.at, finished, differences));
            self.writer.append(progress.at, RunEvent::Checksum { progress: progress.clone() })?;
        }
        Ok(due)
    }

    /// Flush to disk.
    ///
    /// # Errors
    /// The disk refused.
    pub fn sync(&mut self) -> Result<()> {
        self.writer.sync()
    }

    /// Secrets to scrub from every record written from now on.
    pub fn scrub(&mut self, secrets: &crate::secrets::Secrets) {
        self.writer.scrub(secrets);
    }

    /// `event` as it will be written, its texts scrubbed (see [`Writer::scrubbed`]).
    #[must_use]
    pub fn scrubbed(&self, event: RunEvent) -> RunEvent {
        self.writer.scrubbed(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EndpointKind, TableProgress};

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc)
            + chrono::Duration::seconds(seconds)
    }

    fn sample(at: i64, endpoint: &str, up: bool) -> Sample {
        let reading = if up {
            Reading::Observed(crate::events::EndpointSample::default())
        } else {
            Reading::Unreachable { error: "refused".into() }
        };
        Sample { at: t(at), endpoint: endpoint.into(), kind: EndpointKind::Postgres, reading }
    }

    #[test]
    fn samples_are_kept_when_due_or_when_an_endpoint_goes_down_or_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut r = Recorder::new(Writer::open(&path).unwrap(), SAMPLE_EVERY, CHECKSUM_EVERY);
        let kept: Vec<bool> = [
            sample(0, "a", true),
            sample(0, "b", true),
            sample(2, "a", true),
            sample(5, "a", false),
            sample(7, "a", false),
            sample(9, "a", true),
            sample(12, "b", true),
            sample(19, "a", true),
        ]
        .iter()
        .map(|s| r.sample(s).unwrap())
        .collect();
        assert_eq!(kept, [true, true, false, true, false, true, true, true]);
        assert_eq!(super::super::read(&path).unwrap().records.len(), 6);
    }

    #[test]
    fn progress_is_kept_when_due_or_when_a_table_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Recorder::new(Writer::open(&dir.path().join("j.jsonl")).unwrap(), SAMPLE_EVERY, CHECKSUM_EVERY);
        let table = |state| TableProgress {
            table: "public.t".into(),
            state,
            chunks_done: 0,
            chunks_total: 1,
            rows: 0,
            rows_per_second: 0.0,
            differences: 0,
        };
        let at = |s, state| ChecksumProgress { at: t(s), tables: vec![table(state)] };
        assert!(r.checksum(&at(0, TableState::Running)).unwrap());
        assert!(!r.checksum(&at(1, TableState::Running)).unwrap());
        assert!(r.checksum(&at(2, TableState::Done)).unwrap(), "a table finished");
        assert!(!r.checksum(&at(3, TableState::Done)).unwrap());
        assert!(r.checksum(&at(8, TableState::Done)).unwrap());
        let mut found = at(9, TableState::Done);
        found.tables[0].differences = 2;
        assert!(r.checksum(&found).unwrap(), "the differences found changed");
    }
}
