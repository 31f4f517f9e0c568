//! Verifying a MySQL or MariaDB source against the PostgreSQL target it was
//! loaded into (by pgloader, or anything that keeps pgloader's casts or the
//! usual manual ones): are the target's rows the source's rows?
//!
//! Each table is cut into primary-key ranges, hashed **on both servers**
//! over a canonical text of each row ([`canonical`]: equal data gives equal
//! bytes across the two type systems, both sessions in UTC), several ranges
//! at a time (`--jobs`), chunk size adapting as for PostgreSQL (from at most
//! [`CHUNK_ROWS`] by default); a range
//! whose count or hash sum disagrees is cut until the differing rows are
//! listed by key as missing on the target, extra on the target or
//! different ([`bisect`]). Ranges on text keys compare UTF-8 bytes on both
//! sides ([`keys`]), so MySQL's case-insensitive collations cannot make the
//! two servers cut different ranges. Finished chunks go to the same journal
//! as the other engines' (`--journal` resumes).
//!
//! What cannot be compared is said, never passed silently: a column without
//! a canonical form (spatial types) is left out and named in the table's
//! warning, as are zero dates (`0000-00-00`: compared as the NULL pgloader
//! loads, and counted), pairs of types compared as text, and text keys whose
//! order the MySQL key index cannot serve.
//!
//! The MySQL database is the one in the source's URL; a table `t` is looked
//! for on PostgreSQL as `<database>.t` (pgloader's schema), then `public.t`,
//! each also downcased. There is no throttle or recheck for rows in flight:
//! verify a target that is not being written to, or expect those rows
//! reported.

mod bisect;
pub mod canonical;
mod catalog;
pub mod json;
pub mod keys;
pub mod queries;
mod side;

use std::sync::Mutex as StdMutex;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::Mutex;
use tokio_postgres::Client;

use self::bisect::{Sides, localise};
use self::canonical::{Canon, MyColumn, Pair, pair};
use self::catalog::MyTable;
use self::keys::KeyColumn;
use self::queries::{MySql, PgSql, RowForm};
use self::side::{MySide, PgSide};
use super::catalog::{Column, TableInfo};
use super::chunks::{self, Chunker, Request, Shared, Tables};
use super::options::Options;
use super::sql::Range;
use super::{DEFAULT_CHUNK_ROWS, Difference, Mode, Report, TableReport, TableStatus};
use crate::endpoint::mysql::{self as endpoint, Purpose};
use crate::events::name_of;
use crate::inventory::Endpoint;

/// Rows per chunk when `--chunk-rows` is left at its default (measured on
/// a 1M-row table: 10 scattered changes cost +41 % over one scan, against
/// +89 % with 50,000-row chunks; equal tables about the same).
pub const CHUNK_ROWS: u64 = 20_000;

/// Session settings on the MySQL side besides the endpoint module's (UTC,
/// read only): UTF-8 texts, and no SQL mode that changes what a SELECT
/// returns (`PAD_CHAR_TO_FULL_LENGTH`, `PIPES_AS_CONCAT`, …).
const MY_SETTINGS: [&str; 2] = ["SET NAMES utf8mb4", "SET SESSION sql_mode = ''"];

/// Verify the request's tables (or every base table of the source's
/// database) of a MySQL source against a PostgreSQL target.
///
/// # Errors
/// A mode other than portable, a URL without a database, either side
/// unreachable, a target that is not UTF-8, or the journal unusable.
pub(super) async fn run(request: Request<'_>) -> Result<Report> {
    // A disagreeing chunk is hashed again on both servers while it is cut,
    // and a canonical row costs far more than PostgreSQL's typed hash:
    // smaller chunks by default keep a few scattered differences cheap.
    let mut defaults = request.options.clone();
    if defaults.chunk_rows == DEFAULT_CHUNK_ROWS {
        defaults.chunk_rows = CHUNK_ROWS;
    }
    let request = Request { options: &defaults, ..request };
    let Request { source, target, options, jobs, .. } = request;
    if let Some(mode) = options.mode.filter(|m| *m != Mode::Portable) {
        return Err(eyre!(
            "--mode {} does not apply: a MySQL source and a PostgreSQL target compare canonical text (portable)",
            name_of(&mode)
        ));
    }
    let url = source.mysql.as_ref().ok_or_else(|| eyre!("{} is not a MySQL endpoint", source.name))?;
    if url.database.is_empty() {
        return Err(eyre!(
            "{}: the dsn names no database; put the database to verify in its path, e.g. mysql://user@host:3306/app",
            source.name
        ));
    }
    let (mine, theirs) = tokio::try_join!(my_sessions(source, jobs + 1), super::sessions(target, jobs + 1))?;
    let encoding: String =
        theirs[0].query_one("SHOW server_encoding", &[]).await.map_err(|e| pg_error(&target.name, &e))?.get(0);
    if encoding != "UTF8" {
        return Err(eyre!("{}: the database's encoding is {encoding}; verify compares UTF-8 text", target.name));
    }
    let journal = chunks::open_journal(options.journal.as_deref(), Mode::Portable, source, target)?;
    let names: Vec<String> = if options.tables.is_empty() {
        let mut conn = mine[0].lock().await;
        catalog::tables(&mut conn, &source.name, &url.database).await?
    } else {
        options.tables.iter().map(|t| if t.schema == "public" { t.name.clone() } else { t.to_string() }).collect()
    };
    let ctx = Ctx { source, target, database: &url.database, mine: &mine, theirs: &theirs, options };
    Ok(request.verify_each(Mode::Portable, &journal, &names, &ctx).await)
}

/// `n` read-only sessions on a MySQL endpoint.
async fn my_sessions(endpoint: &Endpoint, n: usize) -> Result<Vec<Mutex<mysql_async::Conn>>> {
    let url = endpoint.mysql.as_ref().ok_or_else(|| eyre!("{} is not a MySQL endpoint", endpoint.name))?;
    let purpose = Purpose::Reads { statement_limit: None, settings: &MY_SETTINGS };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let session = endpoint::connect(url, purpose).await.map_err(|e| eyre!("{} unreachable: {e}", endpoint.name))?;
        out.push(Mutex::new(session.conn));
    }
    Ok(out)
}

fn pg_error(name: &str, e: &tokio_postgres::Error) -> color_eyre::Report {
    eyre!("{name}: {}", crate::endpoint::postgres::short_error(e))
}

/// Everything a table's verification shares.
struct Ctx<'a> {
    source: &'a Endpoint,
    target: &'a Endpoint,
    database: &'a str,
    /// Connection 0 of each side is the control connection (catalog, cuts);
    /// worker `job` uses `job + 1`.
    mine: &'a [Mutex<mysql_async::Conn>],
    theirs: &'a [Client],
    options: &'a Options,
}

impl Tables for Ctx<'_> {
    /// `table` (in the source's database) or `database.table`.
    type Table = String;

    async fn verify(&self, shared: Shared<'_>, table: &String) -> Result<TableReport> {
        verify_table(self, shared, table).await
    }

    fn failed(table: &String) -> TableReport {
        TableReport::named(table, TableStatus::Error)
    }
}

/// The compared columns, and notes on the others, for the table's warning.
struct Columns {
    pairs: Vec<(MyColumn, Pair)>,
    pg_names: Vec<String>,
    notes: Vec<String>,
    /// Columns only one side has.
    differ: bool,
}

/// A PostgreSQL column for a MySQL one: the same name, else downcased.
fn pg_column<'a>(info: &'a TableInfo, name: &str) -> Option<&'a Column> {
    info.columns.get(name).or_else(|| info.columns.get(&name.to_lowercase()))
}

fn columns(my: &MyTable, pg: &TableInfo) -> Columns {
    let mut out = Columns { pairs: Vec::new(), pg_names: Vec::new(), notes: Vec::new(), differ: false };
    let mut skipped = Vec::new();
    let mut only_source = Vec::new();
    for column in &my.columns {
        let Some(theirs) = pg_column(pg, &column.name) else {
            only_source.push(column.name.clone());
            continue;
        };
        let p = pair(column, theirs);
        match &p.canon {
            Canon::Skipped { reason } => skipped.push(reason.clone()),
            _ => out.notes.extend(p.note.clone()),
        }
        out.pairs.push((column.clone(), p));
        out.pg_names.push(theirs.name.clone());
    }
    let only_target: Vec<&str> = pg.columns.keys().filter(|k| !out.pg_names.contains(k)).map(String::as_str).collect();
    if !only_source.is_empty() || !only_target.is_empty() {
        out.differ = true;
        out.notes.insert(
            0,
            format!(
                "columns differ (compared the {} in common): only on source [{}], only on target [{}]",
                out.pairs.len(),
                only_source.join(", "),
                only_target.join(", ")
            ),
        );
    }
    if !skipped.is_empty() {
        out.notes.insert(0, format!("not compared: {}", skipped.join("; ")));
    }
    out
}

async fn verify_table(ctx: &Ctx<'_>, shared: Shared<'_>, name: &str) -> Result<TableReport> {
    let (database, table) = name.split_once('.').unwrap_or((ctx.database, name));
    let shown = format!("{database}.{table}");
    let mut report = TableReport::named(&shown, TableStatus::Equal);
    let my = {
        let mut conn = ctx.mine[0].lock().await;
        catalog::describe(&mut conn, &ctx.source.name, database, table).await?
    };
    let Some(my) = my else {
        report.status = TableStatus::MissingOnSource;
        return Ok(report);
    };
    let Some((pg_name, pg)) = catalog::pg_table(&ctx.theirs[0], &ctx.target.name, database, table).await? else {
        report.status = TableStatus::MissingOnTarget;
        return Ok(report);
    };
    let cols = columns(&my, &pg);
    let mut notes = cols.notes.clone();
    let mut key = Vec::new();
    for k in &my.primary_key {
        let mine =
            my.columns.iter().find(|c| &c.name == k).ok_or_else(|| eyre!("{shown}: key column {k} not described"))?;
        let theirs = pg_column(&pg, k).ok_or_else(|| eyre!("{shown}: the target lacks primary-key column {k}"))?;
        key.push(keys::key_column(mine, theirs).map_err(|m| eyre!("{shown}: {m}"))?);
    }
    let row = RowForm::new(&cols.pairs, &cols.pg_names);
    let my_sql = MySql::new(
        format!("{}.{}", canonical::my_ident(database), canonical::my_ident(table)),
        key.clone(),
        row.clone(),
    );
    let pg_sql = PgSql { table: pg_name.sql(), key: key.clone(), hash: row.pg_hash.clone() };
    if key.iter().any(|k| !k.my_native) {
        let pg_native = key.iter().all(|k| k.pg_native);
        notes.push(format!(
            "text key compared bytewise: MySQL's key index cannot serve that order{}",
            if pg_native { " (chunks are cut on PostgreSQL)" } else { "" }
        ));
    }
    let chunker = TableChunks {
        ctx,
        shown: &shown,
        my_sql: &my_sql,
        pg_sql: &pg_sql,
        key: &key,
        zeros: StdMutex::new(vec![0; row.my_zero_dates.len()]),
    };
    let (rows_source, rows_target, chunks_done, differences) = if key.is_empty() {
        let ((a, zeros), b) = chunker.whole().await?;
        chunker.count_zeros(&zeros);
        notes.insert(0, "no primary key: the table was hashed whole, differences cannot be localised".to_owned());
        report.status = if a == b { TableStatus::Equal } else { TableStatus::Different };
        (a.0, b.0, 1, Vec::new())
    } else {
        let mut a = chunks::check_table(&chunker, &shown, my.estimated_rows, &shared).await?;
        a.differences.sort_by(super::bisect::key_order(&my.primary_key));
        a.differences.dedup();
        shared.progress.done(&shown, &a);
        report.primary_key = Some(my.primary_key.clone());
        if !a.differences.is_empty() || a.rows_source != a.rows_target {
            report.status = TableStatus::Different;
        }
        (a.rows_source, a.rows_target, a.chunks, a.differences)
    };
    let zeros = chunker.zeros.lock().map(|z| z.clone()).unwrap_or_default();
    for ((column, _), count) in row.my_zero_dates.iter().zip(zeros) {
        if count > 0 {
            let resumed = shared.resume.tables.get(&shown).is_some_and(|c| c.iter().any(|c| c.done.is_some()));
            notes.push(format!(
                "{column}: {count} zero dates (0000-00-00 or a zero month or day), which PostgreSQL cannot hold: \
                 compared as NULL{}",
                if resumed { " (chunks finished by an earlier run not counted)" } else { "" }
            ));
        }
    }
    if cols.differ {
        report.status = TableStatus::Different;
    }
    report.rows_source = rows_source;
    report.rows_target = rows_target;
    report.chunks = chunks_done;
    report.differences = differences;
    report.warning = (!notes.is_empty()).then(|| notes.join("; "));
    Ok(report)
}

/// One table's chunks: cut along the key, checked on both sides.
struct TableChunks<'a> {
    ctx: &'a Ctx<'a>,
    shown: &'a str,
    my_sql: &'a MySql,
    pg_sql: &'a PgSql,
    key: &'a [KeyColumn],
    /// Zero dates seen per dated column, in the chunks this run checked.
    zeros: StdMutex<Vec<u64>>,
}

impl TableChunks<'_> {
    fn sides(&self, connection: usize) -> Sides<'_> {
        Sides {
            my: MySide { name: &self.ctx.source.name, conn: &self.ctx.mine[connection], sql: self.my_sql },
            pg: PgSide { name: &self.ctx.target.name, client: &self.ctx.theirs[connection], sql: self.pg_sql },
            key: self.key,
        }
    }

    fn count_zeros(&self, seen: &[u64]) {
        if let Ok(mut zeros) = self.zeros.lock() {
            for (total, n) in zeros.iter_mut().zip(seen) {
                *total += n;
            }
        }
    }

    /// The whole table's hashes, each side (a table without a primary key).
    async fn whole(&self) -> Result<(((u64, String), Vec<u64>), (u64, String))> {
        let sides = self.sides(0);
        let all = Range::default();
        tokio::try_join!(sides.my.hash(&all), sides.pg.hash(&all))
    }
}

/// Pauses between looks at a disagreeing chunk within the options' `settle`
/// (see [`TableChunks::check`]), the last one repeated.
const IN_FLIGHT_BACKOFF: [std::time::Duration; 5] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(250),
    std::time::Duration::from_millis(500),
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
];

impl Chunker for TableChunks<'_> {
    type Range = Range;

    async fn cut(&self, lo: Option<&Vec<String>>, rows: u64) -> Result<Option<Vec<String>>> {
        let sides = self.sides(0);
        // Cut where the key index serves the order: MySQL, unless only
        // PostgreSQL's index does (a text key under a non-binary collation).
        let on_target = self.key.iter().any(|k| !k.my_native) && self.key.iter().all(|k| k.pg_native);
        let cut = if on_target { sides.pg.boundary(lo, rows).await } else { sides.my.boundary(lo, rows).await };
        cut.map_err(|e| eyre!("{}: {e:#}", self.shown))
    }

    async fn check(&self, job: usize, range: &Range) -> Result<(u64, u64, Vec<Difference>)> {
        let sides = self.sides(job + 1);
        let ((mine, zeros), theirs) =
            tokio::try_join!(sides.my.hash(range), sides.pg.hash(range)).map_err(|e| eyre!("{}: {e:#}", self.shown))?;
        self.count_zeros(&zeros);
        if mine == theirs {
            return Ok((mine.0, theirs.0, Vec::new()));
        }
        // Rows in flight: dual writes land on the source, then the target, a
        // moment apart. Within `settle`, look again after growing pauses; what
        // still differs then is localised.
        let (mut mine, mut theirs) = (mine, theirs);
        let settle = self.ctx.options.settle;
        let deadline = std::time::Instant::now() + settle;
        let last = IN_FLIGHT_BACKOFF[IN_FLIGHT_BACKOFF.len() - 1];
        for pause in IN_FLIGHT_BACKOFF.iter().chain(std::iter::repeat(&last)).take_while(|_| !settle.is_zero()) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            tokio::time::sleep((*pause).min(left)).await;
            let ((again_mine, zeros), again_theirs) = tokio::try_join!(sides.my.hash(range), sides.pg.hash(range))
                .map_err(|e| eyre!("{}: {e:#}", self.shown))?;
            if again_mine == again_theirs {
                self.count_zeros(&zeros);
                return Ok((again_mine.0, again_theirs.0, Vec::new()));
            }
            (mine, theirs) = (again_mine, again_theirs);
        }
        let rows = mine.0.max(theirs.0);
        let differences = localise(&sides, range.clone(), rows, self.ctx.options.row_fetch_max)
            .await
            .map_err(|e| eyre!("{}: {e:#}", self.shown))?;
        Ok((mine.0, theirs.0, differences))
    }
}
