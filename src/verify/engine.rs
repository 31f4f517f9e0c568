//! Verifying PostgreSQL: sessions, each table's columns and key, its chunks
//! cut along the key index (or at the key's histogram bounds), rechecks while
//! replication flows, bisection of disagreeing chunks. The chunk loop and the
//! journal are both engines' ([`super::chunks`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, eyre};
use tokio_postgres::Client;

use super::bisect::{hash, key_order, localise, params};
use super::catalog::{self, Column, PORTABLE_SETTINGS, TableInfo, TableName};
use super::chunks::{self, Chunker, Request, Shared, Tables};
use super::options::Options;
use super::sql::{Range, TableSql};
use super::{Difference, Mode, Report, TableReport, TableStatus};
use crate::endpoint::postgres::{Connector, Purpose, short_error};
use crate::events::name_of;
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
    /// The target subscribes (logical replication): recheck disagreeing
    /// chunks once it has caught up, and throttle on its lag.
    replicating: bool,
}

impl Tables for Ctx<'_> {
    type Table = TableName;

    async fn verify(&self, shared: Shared<'_>, table: &TableName) -> Result<TableReport> {
        verify_table(self, shared, table).await
    }

    fn failed(table: &TableName) -> TableReport {
        TableReport::new(table, TableStatus::Error)
    }
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

/// Verify the request's tables (or every user table) of two PostgreSQL endpoints.
///
/// # Errors
/// Either side unreachable, a mode for MongoDB, or the journal unusable.
pub(super) async fn run(request: Request<'_>) -> Result<Report> {
    let Request { source, target, options, jobs, .. } = request;
    if let Some(mode) = options.mode.filter(|m| m.is_mongo()) {
        return Err(eyre!(
            "--mode {} is for MongoDB endpoints; PostgreSQL compares in typed or portable mode",
            name_of(&mode)
        ));
    }
    let (src, dst) = tokio::try_join!(sessions(source, jobs + 1), sessions(target, jobs + 1))?;
    let mode = match options.mode {
        Some(m) => m,
        None if major_version(&src[0]).await? == major_version(&dst[0]).await? => Mode::Typed,
        None => Mode::Portable,
    };
    let journal = chunks::open_journal(options.journal.as_deref(), mode, source, target)?;
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
    let ctx = Ctx { source: &src, target: &dst, mode, options, replicating };
    Ok(request.verify_each(mode, &journal, &tables, &ctx).await)
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

async fn verify_table(ctx: &Ctx<'_>, shared: Shared<'_>, table: &TableName) -> Result<TableReport> {
    let name = table.to_string();
    let (s, t) = tokio::try_join!(catalog::describe(&ctx.source[0], table), catalog::describe(&ctx.target[0], table))
        .map_err(pg)?;
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
        let (a, b) =
            tokio::try_join!(ctx.source[0].query_one(&q, &[]), ctx.target[0].query_one(&q2, &[])).map_err(pg)?;
        let (a, b): ((i64, String), (i64, String)) = ((a.get(0), a.get(1)), (b.get(0), b.get(1)));
        report.rows_source = u64::try_from(a.0).unwrap_or(0);
        report.rows_target = u64::try_from(b.0).unwrap_or(0);
        report.chunks = 1;
        report.status = if a == b { TableStatus::Equal } else { TableStatus::Different };
        let note = "no primary key: the table was hashed whole, differences cannot be localised";
        report.warning = Some(warning.map_or(note.to_owned(), |w| format!("{note}; {w}")));
        return Ok(report);
    }

    // A fresh single-column key with statistics: cut at the histogram's
    // bounds, which costs nothing; otherwise walk the key index.
    let fresh = shared.resume.tables.get(&name).is_none_or(Vec::is_empty);
    let histogram = match (fresh, key_names.as_slice(), collations_differ) {
        (true, [column], false) => catalog::histogram_bounds(&ctx.source[0], table, column).await.map_err(pg)?,
        _ => None,
    };
    let chunker = TableChunks {
        ctx,
        sql: (&src_sql, &dst_sql),
        histogram: histogram.map(|bounds| Histogram {
            bounds,
            estimated_rows: s.estimated_rows,
            at: AtomicUsize::new(0),
        }),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let estimated_rows = s.estimated_rows.max(0.0) as u64;
    let mut a = chunks::check_table(&chunker, &name, estimated_rows, &shared).await?;
    a.differences.sort_by(key_order(&key_names));
    a.differences.dedup();
    shared.progress.done(&name, &a);
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

/// A driver error as one line.
fn pg(e: tokio_postgres::Error) -> color_eyre::Report {
    eyre!("{}", short_error(&e))
}

/// The bounds of a key's histogram (`pg_stats`), and the last one cut at.
struct Histogram {
    bounds: Vec<String>,
    estimated_rows: f64,
    /// Only the planner cuts; atomic so that the workers may share the rest.
    at: AtomicUsize,
}

/// One table's chunks: cut along the key index (or at the histogram's
/// bounds), checked on both sides.
struct TableChunks<'a> {
    ctx: &'a Ctx<'a>,
    sql: (&'a TableSql, &'a TableSql),
    histogram: Option<Histogram>,
}

impl Chunker for TableChunks<'_> {
    type Range = Range;

    async fn throttle(&self) -> Result<()> {
        self.ctx.throttle().await.map_err(pg)
    }

    async fn cut(&self, lo: Option<&Vec<String>>, rows: u64) -> Result<Option<Vec<String>>> {
        if let Some(Histogram { bounds, estimated_rows, at }) = &self.histogram {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let per_bucket = (estimated_rows / (bounds.len() - 1) as f64).max(1.0);
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let step = ((rows as f64 / per_bucket).round() as usize).max(1);
            let bound = at.fetch_add(step, Ordering::Relaxed) + step;
            return Ok((bound < bounds.len() - 1).then(|| vec![bounds[bound].clone()]));
        }
        let from = Range { lo: lo.cloned(), hi: None };
        let (text, values) = self.sql.0.boundary(&from, rows);
        let row = self.ctx.source[0].query_opt(&text, &params(&values)).await.map_err(pg)?;
        Ok(row.map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect()))
    }

    async fn check(&self, job: usize, range: &Range) -> Result<(u64, u64, Vec<Difference>)> {
        self.ctx.check_range(job, self.sql, range).await.map_err(pg)
    }
}
