//! What both verification engines (PostgreSQL tables, MongoDB collections)
//! do the same way around their chunks: the loop that plans, journals and
//! checks a table's chunks ([`check_table`], generic over the engine's
//! [`Chunker`]), the adaptive chunk size, a table's running tally, progress
//! for the screen, and the journal.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};
use futures::future::try_join_all;
use tokio::sync::mpsc;

use super::journal::{Entry, Resume, Writer};
use super::options::Options;
use super::sql::Range;
use super::{Difference, Mode, Report, TableReport};
use crate::events::{ChecksumProgress, TableProgress, TableState, name_of};
use crate::inventory::Endpoint;

/// A chunk's range of keys as one engine holds it: `lo <= key < hi`, `None`
/// open; in the journal, as a [`Range`] of texts.
pub trait KeyRange: Clone + Sized {
    type Key: Clone;

    fn new(lo: Option<Self::Key>, hi: Option<Self::Key>) -> Self;

    fn hi(&self) -> Option<&Self::Key>;

    /// The journal's form.
    fn to_journal(&self) -> Range;

    /// Back from the journal's form.
    ///
    /// # Errors
    /// A bound this engine cannot read.
    fn from_journal(range: &Range) -> Result<Self, String>;
}

/// PostgreSQL's keys are texts already.
impl KeyRange for Range {
    type Key = Vec<String>;

    fn new(lo: Option<Vec<String>>, hi: Option<Vec<String>>) -> Self {
        Self { lo, hi }
    }

    fn hi(&self) -> Option<&Vec<String>> {
        self.hi.as_ref()
    }

    fn to_journal(&self) -> Range {
        self.clone()
    }

    fn from_journal(range: &Range) -> Result<Self, String> {
        Ok(range.clone())
    }
}

/// The key type of a chunker's ranges.
pub type Key<C> = <<C as Chunker>::Range as KeyRange>::Key;

/// What one engine does for [`check_table`]: where the next chunk ends, and
/// how one chunk compares. Its errors are one line each, ready to report.
pub trait Chunker {
    type Range: KeyRange;

    /// Wait until the next chunk may be cut (PostgreSQL: while the target's
    /// replication lag is too high); at once by default.
    async fn throttle(&self) -> Result<()> {
        Ok(())
    }

    /// Where the chunk of about `rows` rows from `lo` (`None`: the first key)
    /// ends; `None`: it takes the rest of the table.
    async fn cut(&self, lo: Option<&Key<Self>>, rows: u64) -> Result<Option<Key<Self>>>;

    /// The rows of one chunk on each side and its differences, on worker
    /// `job`'s connections.
    async fn check(&self, job: usize, range: &Self::Range) -> Result<(u64, u64, Vec<Difference>)>;
}

/// What `verify` was asked, for either engine.
pub struct Request<'a> {
    pub source: &'a Endpoint,
    pub target: &'a Endpoint,
    pub options: &'a Options,
    pub progress: Option<mpsc::Sender<ChecksumProgress>>,
    /// `options.jobs`, within bounds.
    pub jobs: usize,
    pub started: Instant,
}

/// What an earlier run with the journal left, and the journal to write to.
pub type Journal = (Resume, Option<Mutex<Writer>>);

impl Request<'_> {
    /// Verify `tables` one after another, a table that cannot be verified
    /// reported with its error, and sum up.
    pub async fn verify_each<E: Tables>(
        &self,
        mode: Mode,
        (resume, journal): &Journal,
        tables: &[E::Table],
        engine: &E,
    ) -> Report {
        let progress = Progress::new(self.progress.as_ref(), journal.as_ref());
        let shared =
            Shared { options: self.options, jobs: self.jobs, journal: journal.as_ref(), resume, progress: &progress };
        let mut reports = Vec::new();
        for table in tables {
            let report = match engine.verify(shared, table).await {
                Ok(r) => r,
                Err(e) => TableReport { error: Some(format!("{e:#}")), ..E::failed(table) },
            };
            reports.push(report);
        }
        Report::new(mode, (&self.source.name, &self.target.name), reports, self.started)
    }
}

/// One engine's tables, as [`Request::verify_each`] verifies them.
pub trait Tables {
    /// A table's (or collection's) name.
    type Table;

    /// Verify one table.
    async fn verify(&self, shared: Shared<'_>, table: &Self::Table) -> Result<TableReport>;

    /// The report of a table that could not be verified, before its error.
    fn failed(table: &Self::Table) -> TableReport;
}

/// What every table of one verification shares, whatever the engine.
#[derive(Clone, Copy)]
pub struct Shared<'a> {
    pub options: &'a Options,
    /// Chunks in flight at once.
    pub jobs: usize,
    pub journal: Option<&'a Mutex<Writer>>,
    pub resume: &'a Resume,
    pub progress: &'a Progress<'a>,
}

/// Check one table in chunks, `shared.jobs` at a time: first the chunks an
/// earlier run with the same journal planned (those it finished are counted,
/// not checked again), then new ones cut from where it stopped, each chunk
/// journalled when planned and when done, progress reported as each is done.
/// Returns the table's tally (its differences in the order found).
///
/// # Errors
/// The first error of the engine or the journal ends the table.
pub async fn check_table<C: Chunker>(
    chunker: &C,
    table: &str,
    estimated_rows: u64,
    shared: &Shared<'_>,
) -> Result<Acc> {
    let acc = Mutex::new(Acc::new());
    let chunk_rows = ChunkSize::new(shared.options.chunk_rows);
    let prior = shared.resume.tables.get(table).map(Vec::as_slice).unwrap_or_default();
    let (tx, rx) = mpsc::channel::<(u64, C::Range)>(shared.jobs * 2);
    let rx = tokio::sync::Mutex::new(rx);

    let planner = async {
        let tx = tx;
        let mut next_index = 0;
        let mut lo: Option<Key<C>> = None;
        let mut planned_all = false;
        for chunk in prior {
            let range = C::Range::from_journal(&chunk.range).map_err(|m| eyre!("{table}: journal: {m}"))?;
            next_index = chunk.index + 1;
            lo = range.hi().cloned();
            planned_all = lo.is_none();
            match &chunk.done {
                Some((rs, rt, diffs)) => {
                    acc.lock().map_err(|_| eyre!("lock poisoned"))?.add(*rs, *rt, diffs.iter().cloned());
                }
                None => {
                    if tx.send((chunk.index, range)).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
        if planned_all {
            return Ok(());
        }
        loop {
            chunker.throttle().await?;
            let hi = chunker.cut(lo.as_ref(), chunk_rows.get()).await?;
            let range = C::Range::new(lo.clone(), hi.clone());
            let planned = Entry::ChunkPlanned { table: table.to_owned(), index: next_index, range: range.to_journal() };
            append(shared.journal, &planned)?;
            if tx.send((next_index, range)).await.is_err() {
                return Ok(());
            }
            next_index += 1;
            match hi {
                Some(hi) => lo = Some(hi),
                None => return Ok::<(), color_eyre::Report>(()),
            }
        }
    };
    let workers = (0..shared.jobs).map(|job| {
        let (rx, acc, chunk_rows) = (&rx, &acc, &chunk_rows);
        async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some((index, range)) = next else { return Ok::<(), color_eyre::Report>(()) };
                let began = Instant::now();
                let (rs, rt, diffs) = chunker.check(job, &range).await?;
                chunk_rows.observe(rs.max(rt), began.elapsed());
                append(
                    shared.journal,
                    &Entry::ChunkDone {
                        table: table.to_owned(),
                        index,
                        range: range.to_journal(),
                        rows_source: rs,
                        rows_target: rt,
                        differences: diffs.clone(),
                    },
                )?;
                let mut a = acc.lock().map_err(|_| eyre!("lock poisoned"))?;
                a.add(rs, rt, diffs);
                shared.progress.running(table, &a, estimated_rows, chunk_rows.get());
            }
        }
    });
    // The first error ends both: a planner blocked on a full queue must not
    // wait for workers that have all failed.
    tokio::try_join!(planner, try_join_all(workers))?;
    acc.into_inner().map_err(|_| eyre!("lock poisoned"))
}

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
pub fn open_journal(path: Option<&Path>, mode: Mode, source: &Endpoint, target: &Endpoint) -> Result<Journal> {
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
