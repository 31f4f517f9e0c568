//! Running a verification: connections, tables one after another, chunks of a
//! table in parallel, bisection of disagreeing chunks, the journal.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, eyre};
use futures::future::try_join_all;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::bisect::{hash, key_order, localise, params};
use super::catalog::{self, Column, PORTABLE_SETTINGS, TableInfo, TableName};
use super::chunks::{self, Acc, ChunkSize, Progress};
use super::journal::{Entry, Prior, Resume, Writer};
use super::options::Options;
use super::sql::{Range, TableSql};
use super::{Difference, Mode, Report, TableReport, TableStatus};
use crate::endpoint::postgres::{Connector, Purpose, short_error};
use crate::events::{ChecksumProgress, name_of};
use crate::inventory::Endpoint;

/// Pauses between rechecks of a disagreeing chunk while replication flows.
pub const RECHECK_BACKOFF: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];
/// How long to wait for replication to catch up before rechecking a chunk.
pub const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(30);

/// `n` sessions on `endpoint` for a verification: read-only on the server
/// ([`Purpose::Reads`]), with the settings both sides hash under.
///
/// # Errors
/// The endpoint cannot be reached or refuses the settings.
pub async fn sessions(endpoint: &Endpoint, n: usize) -> Result<Vec<Client>> {
    let connector = Connector::new(endpoint).map_err(|e| eyre!("{}: TLS setup: {e}", endpoint.name))?;
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let session = connector
            .connect(Purpose::Reads { settings: PORTABLE_SETTINGS })
            .await
            .map_err(|e| eyre!("{} unreachable: {e}", endpoint.name))?;
        clients.push(session.client);
    }
    Ok(clients)
}

async fn major_version(client: &Client) -> Result<i32> {
    let row = client.query_one("SELECT current_setting('server_version_num')::int / 10000", &[]).await?;
    Ok(row.get(0))
}

/// Everything a table's verification shares.
struct Ctx<'a> {
    source: &'a [Client],
    target: &'a [Client],
    mode: Mode,
    options: &'a Options,
    journal: Option<&'a Mutex<Writer>>,
    resume: &'a Resume,
    /// The target subscribes (logical replication): recheck disagreeing
    /// chunks once it has caught up, and throttle on its lag.
    replicating: bool,
    progress: &'a Progress<'a>,
}

impl Ctx<'_> {
    /// Wait until the target has received everything the source had written
    /// when this was called (bounded by [`CATCH_UP_TIMEOUT`]).
    async fn wait_caught_up(&self) -> Result<(), tokio_postgres::Error> {
        let lsn: String = self.source[0].query_one("SELECT pg_current_wal_lsn()::text", &[]).await?.get(0);
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        while Instant::now() < deadline {
            let row = self.target[0]
                .query_one(
                    "SELECT coalesce(bool_and(received_lsn >= $1::text::pg_lsn), true) FROM pg_stat_subscription \
                     WHERE relid IS NULL AND pid IS NOT NULL",
                    &[&lsn],
                )
                .await?;
            if row.get::<_, bool>(0) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Pause while the target's replication lag is over the limit.
    async fn throttle(&self) -> Result<(), tokio_postgres::Error> {
        if !self.replicating {
            return Ok(());
        }
        loop {
            let row = self.source[0]
                .query_one(
                    "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::int8 \
                     FROM pg_replication_slots WHERE slot_type = 'logical' AND active",
                    &[],
                )
                .await?;
            let lag = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
            if lag <= self.options.max_lag_bytes {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Compare one range; on disagreement, find the differing rows.
    async fn check_range(
        &self,
        job: usize,
        sql: (&TableSql, &TableSql),
        range: &Range,
    ) -> Result<(u64, u64, Vec<Difference>), tokio_postgres::Error> {
        // Connection 0 of each side is the control connection (catalog, chunk
        // boundaries, lag); chunk work runs on 1..=jobs, so cutting the next
        // boundary never waits behind a chunk's hash.
        let (src, dst) = (&self.source[job + 1], &self.target[job + 1]);
        let (a, b) = tokio::try_join!(hash(src, sql.0, range), hash(dst, sql.1, range))?;
        if a == b {
            return Ok((a.0, b.0, Vec::new()));
        }
        let (mut a, mut b) = (a, b);
        if self.replicating {
            // Rows in flight are not differences: once the target has received
            // what the source had written, look again, giving the apply worker
            // a little longer each time, before reporting anything.
            for pause in RECHECK_BACKOFF {
                self.wait_caught_up().await?;
                tokio::time::sleep(pause).await;
                (a, b) = tokio::try_join!(hash(src, sql.0, range), hash(dst, sql.1, range))?;
                if a == b {
                    return Ok((a.0, b.0, Vec::new()));
                }
            }
        }
        let rows = a.0.max(b.0);
        let mut differences = localise(src, dst, sql, range.clone(), rows, self.options.row_fetch_max).await?;
        if self.replicating {
            // Each pass reads both sides at one moment, and under steady writes
            // some rows are always in flight at that moment. A row counts only
            // if it differs the same way in every pass.
            for pause in RECHECK_BACKOFF {
                if differences.is_empty() {
                    break;
                }
                self.wait_caught_up().await?;
                tokio::time::sleep(pause).await;
                let again = localise(src, dst, sql, range.clone(), rows, self.options.row_fetch_max).await?;
                differences.retain(|d| again.contains(d));
            }
            if differences.is_empty() {
                // Every row that differed was in flight: the range agrees, and
                // its counts at the first look do not say otherwise.
                return Ok((a.0, a.0, differences));
            }
        }
        Ok((a.0, b.0, differences))
    }
}

/// Verify `options.tables` (or every user table) of `source` against `target`
/// (two MongoDB endpoints: see [`super::mongo::run`]).
///
/// # Errors
/// Either side unreachable, endpoints of two kinds, a mode for the other
/// kind, or the journal unusable.
pub async fn run(
    source: &Endpoint,
    target: &Endpoint,
    options: &Options,
    progress: Option<mpsc::Sender<ChecksumProgress>>,
) -> Result<Report> {
    match (source.mongo.is_some(), target.mongo.is_some()) {
        (true, true) => return super::mongo::run(source, target, options, progress).await,
        (false, false) => {}
        (true, false) | (false, true) => {
            let (mongo, postgres) = if source.mongo.is_some() { (source, target) } else { (target, source) };
            return Err(eyre!(
                "{} is a MongoDB endpoint and {} a PostgreSQL one: verify compares two endpoints of the same kind",
                mongo.name,
                postgres.name
            ));
        }
    }
    if let Some(mode) = options.mode.filter(|m| m.is_mongo()) {
        return Err(eyre!(
            "--mode {} is for MongoDB endpoints; PostgreSQL compares in typed or portable mode",
            name_of(&mode)
        ));
    }
    let started = Instant::now();
    let jobs = options.jobs.clamp(1, 32);
    let (src, dst) = tokio::try_join!(sessions(source, jobs + 1), sessions(target, jobs + 1))?;
    let mode = match options.mode {
        Some(m) => m,
        None if major_version(&src[0]).await? == major_version(&dst[0]).await? => Mode::Typed,
        None => Mode::Portable,
    };
    let (resume, journal) = chunks::open_journal(options.journal.as_deref(), mode, source, target)?;
    let replicating = dst[0]
        .query_one("SELECT count(*) > 0 FROM pg_stat_subscription WHERE relid IS NULL AND pid IS NOT NULL", &[])
        .await
        .map(|r| r.get::<_, bool>(0))
        .unwrap_or(false);
    let tables = if options.tables.is_empty() {
        catalog::user_tables(&src[0]).await.wrap_err("list the source's tables")?
    } else {
        options.tables.clone()
    };
    let progress = Progress::new(progress.as_ref(), journal.as_ref());
    let ctx = Ctx {
        source: &src,
        target: &dst,
        mode,
        options,
        journal: journal.as_ref(),
        resume: &resume,
        replicating,
        progress: &progress,
    };
    let mut reports = Vec::new();
    for table in &tables {
        let report = match verify_table(&ctx, table, jobs).await {
            Ok(r) => r,
            Err(e) => TableReport { error: Some(format!("{e:#}")), ..TableReport::new(table, TableStatus::Error) },
        };
        reports.push(report);
    }
    Ok(Report::new(mode, (&source.name, &target.name), reports, started))
}

fn common_columns<'a>(s: &'a TableInfo, t: &TableInfo) -> (Vec<&'a Column>, Option<String>) {
    let common: Vec<&Column> = s.columns.values().filter(|c| t.columns.contains_key(&c.name)).collect();
    let only_source: Vec<&str> = s.columns.keys().filter(|k| !t.columns.contains_key(*k)).map(String::as_str).collect();
    let only_target: Vec<&str> = t.columns.keys().filter(|k| !s.columns.contains_key(*k)).map(String::as_str).collect();
    let warning = (!only_source.is_empty() || !only_target.is_empty()).then(|| {
        format!(
            "columns differ (compared the {} in common): only on source [{}], only on target [{}]",
            common.len(),
            only_source.join(", "),
            only_target.join(", ")
        )
    });
    (common, warning)
}

async fn verify_table(ctx: &Ctx<'_>, table: &TableName, jobs: usize) -> Result<TableReport> {
    let name = table.to_string();
    let (s, t) = tokio::try_join!(catalog::describe(&ctx.source[0], table), catalog::describe(&ctx.target[0], table))
        .map_err(|e| eyre!("{}", short_error(&e)))?;
    let mut report = TableReport::new(table, TableStatus::Equal);
    let (s, t) = match (s, t) {
        (Some(s), Some(t)) => (s, t),
        (None, _) => {
            report.status = TableStatus::MissingOnSource;
            return Ok(report);
        }
        (Some(_), None) => {
            report.status = TableStatus::MissingOnTarget;
            return Ok(report);
        }
    };
    let (common, mut warning) = common_columns(&s, &t);
    let key_names = s.primary_key.clone();
    let typed_key = |info: &TableInfo| -> Option<Vec<Column>> {
        key_names.iter().map(|k| info.columns.get(k).cloned()).collect::<Option<Vec<_>>>()
    };
    let target_common: Vec<&Column> = common.iter().filter_map(|c| t.columns.get(&c.name)).collect();
    let (Some(src_key), Some(dst_key)) = (typed_key(&s), typed_key(&t)) else {
        return Err(eyre!("the target lacks primary-key columns {:?}", key_names));
    };
    // Ranges must hold the same keys on both sides: if text keys collate
    // differently, both sides order and compare them bytewise (slower: the
    // key index cannot serve "C" comparisons unless it is in "C").
    let collations_differ = src_key.iter().zip(&dst_key).any(|(a, b)| a.collation != b.collation);
    let mut src_sql = TableSql::new(table, &common, src_key, ctx.mode);
    let mut dst_sql = TableSql::new(table, &target_common, dst_key, ctx.mode);
    if collations_differ {
        src_sql = src_sql.bytewise();
        dst_sql = dst_sql.bytewise();
        let note = "key collations differ between source and target: keys are compared bytewise (COLLATE \"C\"), \
                    which the key index may not serve";
        warning = Some(warning.map_or(note.to_owned(), |w| format!("{w}; {note}")));
    }

    if key_names.is_empty() {
        let q = src_sql.whole_table();
        let q2 = dst_sql.whole_table();
        let (a, b) = tokio::try_join!(ctx.source[0].query_one(&q, &[]), ctx.target[0].query_one(&q2, &[]))
            .map_err(|e| eyre!("{}", short_error(&e)))?;
        let (a, b): ((i64, String), (i64, String)) = ((a.get(0), a.get(1)), (b.get(0), b.get(1)));
        report.rows_source = u64::try_from(a.0).unwrap_or(0);
        report.rows_target = u64::try_from(b.0).unwrap_or(0);
        report.chunks = 1;
        report.status = if a == b { TableStatus::Equal } else { TableStatus::Different };
        let note = "no primary key: the table was hashed whole, differences cannot be localised";
        report.warning = Some(warning.map_or(note.to_owned(), |w| format!("{note}; {w}")));
        return Ok(report);
    }

    let acc = Mutex::new(Acc::new());
    let chunk_rows = ChunkSize::new(ctx.options.chunk_rows);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let estimated_rows = s.estimated_rows.max(0.0) as u64;
    let prior: Vec<Prior> = ctx.resume.tables.get(&name).cloned().unwrap_or_default();
    let (tx, rx) = mpsc::channel::<(u64, Range)>(jobs * 2);
    let rx = tokio::sync::Mutex::new(rx);
    let sqls = (&src_sql, &dst_sql);

    let planner = async {
        let tx = tx;
        let mut next_index = 0;
        let mut lo: Option<Vec<String>> = None;
        let mut planned_all = false;
        for chunk in &prior {
            next_index = chunk.index + 1;
            lo.clone_from(&chunk.range.hi);
            planned_all = chunk.range.hi.is_none();
            match &chunk.done {
                Some((rs, rt, diffs)) => {
                    acc.lock().map_err(|_| eyre!("lock poisoned"))?.add(*rs, *rt, diffs.iter().cloned());
                }
                None => {
                    if tx.send((chunk.index, chunk.range.clone())).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
        if !prior.is_empty() && lo.is_none() && planned_all {
            return Ok(());
        }
        // A fresh single-column key with statistics: cut at the histogram's
        // bounds, which costs nothing; otherwise walk the key index.
        let histogram = match (prior.is_empty(), key_names.as_slice(), collations_differ) {
            (true, [column], false) => catalog::histogram_bounds(&ctx.source[0], table, column)
                .await
                .map_err(|e| eyre!("{}", short_error(&e)))?,
            _ => None,
        };
        let mut bound = 0;
        loop {
            ctx.throttle().await.map_err(|e| eyre!("{}", short_error(&e)))?;
            let size = chunk_rows.get();
            let hi: Option<Vec<String>> = if let Some(bounds) = &histogram {
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let per_bucket = (s.estimated_rows / (bounds.len() - 1) as f64).max(1.0);
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let step = ((size as f64 / per_bucket).round() as usize).max(1);
                bound += step;
                (bound < bounds.len() - 1).then(|| vec![bounds[bound].clone()])
            } else {
                let from = Range { lo: lo.clone(), hi: None };
                let (text, values) = src_sql.boundary(&from, size);
                let row =
                    ctx.source[0].query_opt(&text, &params(&values)).await.map_err(|e| eyre!("{}", short_error(&e)))?;
                row.map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect())
            };
            let range = Range { lo: lo.clone(), hi: hi.clone() };
            chunks::append(
                ctx.journal,
                &Entry::ChunkPlanned { table: name.clone(), index: next_index, range: range.clone() },
            )?;
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
    let workers = (0..jobs).map(|job| {
        let (rx, acc, chunk_rows, name, sqls) = (&rx, &acc, &chunk_rows, &name, sqls);
        async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some((index, range)) = next else { return Ok::<(), color_eyre::Report>(()) };
                let began = Instant::now();
                let (rs, rt, diffs) =
                    ctx.check_range(job, sqls, &range).await.map_err(|e| eyre!("{}", short_error(&e)))?;
                chunk_rows.observe(rs.max(rt), began.elapsed());
                chunks::append(
                    ctx.journal,
                    &Entry::ChunkDone {
                        table: name.clone(),
                        index,
                        range,
                        rows_source: rs,
                        rows_target: rt,
                        differences: diffs.clone(),
                    },
                )?;
                let mut a = acc.lock().map_err(|_| eyre!("lock poisoned"))?;
                a.add(rs, rt, diffs);
                ctx.progress.running(name, &a, estimated_rows, chunk_rows.get());
            }
        }
    });
    // The first error ends both: a planner blocked on a full queue must not
    // wait for workers that have all failed.
    tokio::try_join!(planner, try_join_all(workers))?;

    let mut a = acc.into_inner().map_err(|_| eyre!("lock poisoned"))?;
    a.differences.sort_by(key_order(&key_names));
    a.differences.dedup();
    ctx.progress.done(&name, &a);
    report.primary_key = Some(key_names);
    report.rows_source = a.rows_source;
    report.rows_target = a.rows_target;
    report.chunks = a.chunks;
    let columns_differ = common.len() != s.columns.len() || common.len() != t.columns.len();
    report.status = if a.differences.is_empty() && a.rows_source == a.rows_target && !columns_differ {
        TableStatus::Equal
    } else {
        TableStatus::Different
    };
    report.differences = a.differences;
    report.warning = warning.take();
    Ok(report)
}
