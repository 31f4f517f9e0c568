//! What both verification engines (PostgreSQL tables, MongoDB collections)
//! do the same way around their chunks: the adaptive chunk size, a table's
//! running tally, progress for the screen, and the journal.

use crate::inventory::Endpoint;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use super::journal::{Entry, Resume, Writer};
use super::{Difference, Mode};
use crate::events::{ChecksumProgress, TableProgress, TableState, name_of};

/// The time one chunk should take on the servers (the established figure).
pub const TARGET_CHUNK: Duration = Duration::from_millis(500);
pub const MIN_CHUNK_ROWS: u64 = 1_000;
pub const MAX_CHUNK_ROWS: u64 = 500_000;

/// The chunk size the next chunks are cut at, aimed at [`TARGET_CHUNK`]
/// per chunk, changing by at most 2x a step, between a floor and the
/// configured (largest) size.
pub struct ChunkSize {
    rows: AtomicU64,
    floor: u64,
    cap: u64,
}

impl ChunkSize {
    /// Starting (and largest) at `configured` rows.
    #[must_use]
    pub fn new(configured: u64) -> Self {
        let cap = configured.clamp(1, MAX_CHUNK_ROWS);
        Self { rows: AtomicU64::new(cap), floor: MIN_CHUNK_ROWS.min(cap), cap }
    }

    #[must_use]
    pub fn get(&self) -> u64 {
        self.rows.load(Ordering::Relaxed).max(1)
    }

    /// A chunk of `rows` took `took`: adjust (a small last chunk says nothing).
    pub fn observe(&self, rows: u64, took: Duration) {
        let took = took.as_secs_f64().max(0.001);
        let current = self.rows.load(Ordering::Relaxed);
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ideal = (rows as f64 * TARGET_CHUNK.as_secs_f64() / took) as u64;
        if rows >= current / 2 {
            self.rows.store(ideal.clamp(current / 2, current * 2).clamp(self.floor, self.cap), Ordering::Relaxed);
        }
    }
}

/// One table's running tally.
pub struct Acc {
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    pub differences: Vec<Difference>,
    started: Instant,
}

impl Acc {
    #[must_use]
    pub fn new() -> Self {
        Self { rows_source: 0, rows_target: 0, chunks: 0, differences: Vec::new(), started: Instant::now() }
    }

    /// A finished chunk: its rows on each side and its differences.
    pub fn add(&mut self, rows_source: u64, rows_target: u64, differences: impl IntoIterator<Item = Difference>) {
        self.rows_source += rows_source;
        self.rows_target += rows_target;
        self.chunks += 1;
        self.differences.extend(differences);
    }

    #[must_use]
    pub fn progress(&self, table: &str, chunks_total: u64, state: TableState) -> TableProgress {
        let rows = self.rows_source.max(self.rows_target);
        #[allow(clippy::cast_precision_loss)]
        TableProgress {
            table: table.to_owned(),
            state,
            chunks_done: self.chunks,
            chunks_total,
            rows,
            rows_per_second: rows as f64 / self.started.elapsed().as_secs_f64().max(0.001),
            differences: self.differences.len() as u64,
        }
    }
}

/// Progress for whoever shows it: the finished tables, then the current one.
pub struct Progress<'a> {
    tx: Option<&'a mpsc::Sender<ChecksumProgress>>,
    journal: Option<&'a Mutex<Writer>>,
    finished: Mutex<Vec<TableProgress>>,
}

impl<'a> Progress<'a> {
    /// Progress to `tx`, and to the journal (at its bounded rate).
    #[must_use]
    pub fn new(tx: Option<&'a mpsc::Sender<ChecksumProgress>>, journal: Option<&'a Mutex<Writer>>) -> Self {
        Self { tx, journal, finished: Mutex::new(Vec::new()) }
    }

    fn send(&self, progress: ChecksumProgress) {
        if let Some(journal) = self.journal {
            // A journal that cannot be written fails the next chunk's entry, loudly.
            let _ = journal.lock().map(|mut j| j.progress(&progress));
        }
        if let Some(tx) = self.tx {
            let _ = tx.try_send(progress);
        }
    }

    /// The table is under way; about `estimated_rows` rows in chunks of `chunk_rows`.
    pub fn running(&self, table: &str, acc: &Acc, estimated_rows: u64, chunk_rows: u64) {
        let estimated_chunks = estimated_rows.div_ceil(chunk_rows.max(1));
        let mut tables = self.finished.lock().map(|f| f.clone()).unwrap_or_default();
        tables.push(acc.progress(table, estimated_chunks.max(acc.chunks + 1), TableState::Running));
        self.send(ChecksumProgress { at: Utc::now(), tables });
    }

    /// The table is done.
    pub fn done(&self, table: &str, acc: &Acc) {
        if let Ok(mut finished) = self.finished.lock() {
            finished.push(acc.progress(table, acc.chunks, TableState::Done));
            let tables = finished.clone();
            drop(finished);
            self.send(ChecksumProgress { at: Utc::now(), tables });
        }
    }
}

/// The verification journal, if asked for: what an earlier run with it left,
/// and the writer, with this run's start appended. A journal written in
/// another mode, or against other endpoints, is refused: its chunks say
/// nothing about these servers.
///
/// # Errors
/// The journal cannot be read or written, or was written in another mode or
/// against other endpoints.
pub fn open_journal(
    path: Option<&Path>,
    mode: Mode,
    source: &Endpoint,
    target: &Endpoint,
) -> Result<(Resume, Option<Mutex<Writer>>)> {
    let Some(path) = path else { return Ok((Resume::default(), None)) };
    let resume = Resume::load(path)?;
    if let Some(previous) = resume.mode.filter(|m| *m != mode) {
        let previous = name_of(&previous);
        return Err(eyre!("the journal was written in {previous} mode; run with --mode {previous} or a new journal"));
    }
    let now = [source.name.clone(), source.pin(), target.name.clone(), target.pin()];
    if let Some(was) = &resume.endpoints {
        // A journal from before pins: only the names can be compared.
        let same =
            if was[1].is_empty() || was[3].is_empty() { was[0] == now[0] && was[2] == now[2] } else { *was == now };
        if !same {
            return Err(eyre!(
                "the journal verified {} ({}) against {} ({}); this run verifies {} ({}) against {} ({}): \
                 its chunks say nothing about these servers, use a new journal",
                was[0],
                was[1],
                was[2],
                was[3],
                now[0],
                now[1],
                now[2],
                now[3]
            ));
        }
    }
    let mut writer = Writer::open(path, &source.name, &target.name)?;
    let [source, source_at, target, target_at] = now;
    writer.append(&Entry::VerifyStarted { mode, source, target, source_at, target_at })?;
    Ok((resume, Some(Mutex::new(writer))))
}

/// Append to the journal, if there is one.
///
/// # Errors
/// The journal cannot be written.
pub fn append(journal: Option<&Mutex<Writer>>, entry: &Entry) -> Result<()> {
    if let Some(journal) = journal {
        journal.lock().map_err(|_| eyre!("journal lock poisoned"))?.append(entry)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_moves_toward_the_target_time_by_at_most_two_times() {
        let size = ChunkSize::new(50_000);
        // Fast chunks would want far more rows: capped at the configured size.
        size.observe(50_000, Duration::from_millis(10));
        assert_eq!(size.get(), 50_000);
        // Slow ones halve it at most per step, never under the floor.
        size.observe(50_000, Duration::from_secs(10));
        assert_eq!(size.get(), 25_000);
        for _ in 0..20 {
            size.observe(size.get(), Duration::from_secs(10));
        }
        assert_eq!(size.get(), MIN_CHUNK_ROWS);
        // A small last chunk says nothing about speed.
        size.observe(10, Duration::from_secs(10));
        assert_eq!(size.get(), MIN_CHUNK_ROWS);
    }

    #[test]
    fn progress_lists_finished_tables_then_the_current_one() {
        let (tx, mut rx) = mpsc::channel(8);
        let progress = Progress::new(Some(&tx), None);
        let mut a = Acc::new();
        a.add(10, 9, []);
        progress.running("a", &a, 100, 10);
        let p = rx.try_recv().unwrap();
        assert_eq!((p.tables.len(), p.tables[0].chunks_total, p.tables[0].state), (1, 10, TableState::Running));
        progress.done("a", &a);
        progress.running("b", &Acc::new(), 0, 10);
        let _ = rx.try_recv().unwrap();
        let p = rx.try_recv().unwrap();
        let names: Vec<(&str, TableState)> = p.tables.iter().map(|t| (t.table.as_str(), t.state)).collect();
        assert_eq!(names, vec![("a", TableState::Done), ("b", TableState::Running)]);
        assert_eq!(p.tables[0].rows, 10);
    }
}
