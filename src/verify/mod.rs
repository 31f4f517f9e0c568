//! The verification engine: are the target's rows the source's rows?
//!
//! Each table is cut into primary-key ranges; each range is hashed **on the
//! servers** (one small row per chunk crosses the network), both sides and
//! several chunks at a time; chunk size adapts to a target time per chunk;
//! a disagreeing chunk is split until the differing rows are found and listed
//! by key. Two hashing modes per database (see [`Mode`]); finished chunks go
//! to a journal so a re-run skips them; memory stays flat whatever the table
//! size. MongoDB endpoints are verified the same way, collection by
//! collection in `_id` ranges ([`mongo`]), and a MySQL or MariaDB source
//! against the PostgreSQL target it was loaded into, over a canonical text
//! of each row computed on both servers ([`mysql`]).

mod bisect;
pub mod catalog;
mod chunks;
mod engine;
pub mod journal;
pub mod mongo;
pub mod mysql;
mod options;
pub mod sql;

use std::time::Instant;

use color_eyre::eyre::{Result, eyre};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub use bisect::ROW_FETCH_MAX;
pub use engine::sessions;
pub use options::{DEFAULT_CHUNK_ROWS, Options};

use crate::events::ChecksumProgress;
use crate::inventory::Endpoint;

/// Verify `options.tables` of `source` against `target`: two PostgreSQL
/// endpoints (every user table by default), two MongoDB ones (see
/// [`mongo`]), or a MySQL/MariaDB source and the PostgreSQL target it was
/// loaded into (see [`mysql`]). Progress goes to `progress` as it is made.
///
/// # Errors
/// Either side unreachable, endpoints of kinds that are not compared, a
/// mode for another kind, or the journal unusable.
pub async fn run(
    source: &Endpoint,
    target: &Endpoint,
    options: &Options,
    progress: Option<mpsc::Sender<ChecksumProgress>>,
) -> Result<Report> {
    let request =
        chunks::Request { source, target, options, progress, jobs: options.jobs.clamp(1, 32), started: Instant::now() };
    let engine = |e: &Endpoint| match (e.mongo.is_some(), e.mysql.is_some()) {
        (true, _) => "MongoDB",
        (false, true) => "MySQL",
        (false, false) => "PostgreSQL",
    };
    match (engine(source), engine(target)) {
        ("MongoDB", "MongoDB") => mongo::run(request).await,
        ("PostgreSQL", "PostgreSQL") => engine::run(request).await,
        ("MySQL", "PostgreSQL") => mysql::run(request).await,
        ("MySQL", "MySQL") | ("PostgreSQL", "MySQL") => Err(eyre!(
            "{} is a {} endpoint and {} a MySQL one: verify compares a MySQL source with its PostgreSQL target \
             (MySQL as the target is not supported)",
            source.name,
            engine(source),
            target.name
        )),
        (a, b) => Err(eyre!(
            "{} is a {a} endpoint and {} a {b} one: verify compares two endpoints of the same kind, \
             or a MySQL source with a PostgreSQL target",
            source.name,
            target.name
        )),
    }
}

/// How rows (PostgreSQL) or documents (MongoDB) are hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// PostgreSQL: `hash_record_extended` over typed values: fast,
    /// independent of session settings; for servers of the same major version.
    Typed,
    /// PostgreSQL: a hash of the text form with the same session settings
    /// forced on both sides: across versions.
    Portable,
    /// MongoDB (the default): documents compared by field name, so
    /// `{a: 1, b: 2}` equals `{b: 2, a: 1}`, in embedded documents too.
    #[serde(rename = "by_name")]
    #[value(name = "by_name", alias = "by-name")]
    ByName,
    /// MongoDB: field order matters too, as MongoDB itself compares documents.
    Strict,
}

impl Mode {
    /// Whether this mode is one for MongoDB endpoints.
    #[must_use]
    pub fn is_mongo(self) -> bool {
        matches!(self, Self::ByName | Self::Strict)
    }
}

/// How a row differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    MissingOnTarget,
    ExtraOnTarget,
    Different,
}

/// One differing row, by primary key (a JSON object of column → value).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub key: serde_json::Value,
    pub kind: DiffKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    Equal,
    Different,
    MissingOnTarget,
    MissingOnSource,
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableReport {
    pub table: String,
    pub status: TableStatus,
    pub primary_key: Option<Vec<String>>,
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    pub differences: Vec<Difference>,
    pub warning: Option<String>,
    pub error: Option<String>,
}

impl TableReport {
    /// A report with nothing counted yet.
    #[must_use]
    pub fn new(table: &catalog::TableName, status: TableStatus) -> Self {
        Self::named(&table.to_string(), status)
    }

    /// A report with nothing counted yet, for a table or collection by name.
    #[must_use]
    pub fn named(table: &str, status: TableStatus) -> Self {
        Self {
            table: table.to_owned(),
            status,
            primary_key: None,
            rows_source: 0,
            rows_target: 0,
            chunks: 0,
            differences: Vec::new(),
            warning: None,
            error: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub tables: u64,
    pub tables_different: u64,
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    pub differences: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub source: String,
    pub target: String,
    pub tables: Vec<TableReport>,
    pub totals: Totals,
    pub elapsed_seconds: f64,
}

impl Report {
    /// The report of a finished run: `tables` in order, their totals, the
    /// time since `started` (to the millisecond).
    #[must_use]
    pub fn new(
        mode: Mode,
        (source, target): (&str, &str),
        tables: Vec<TableReport>,
        started: std::time::Instant,
    ) -> Self {
        let mut totals = Totals::default();
        for t in &tables {
            totals.tables += 1;
            totals.tables_different += u64::from(t.status != TableStatus::Equal);
            totals.rows_source += t.rows_source;
            totals.rows_target += t.rows_target;
            totals.chunks += t.chunks;
            totals.differences += t.differences.len() as u64;
        }
        Self {
            mode,
            source: source.to_owned(),
            target: target.to_owned(),
            tables,
            totals,
            elapsed_seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        }
    }

    /// 0 when everything matches, 1 when differences were found, 2 when a
    /// table could not be verified.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        if self.tables.iter().any(|t| t.status == TableStatus::Error) {
            2
        } else if self.tables.iter().any(|t| t.status != TableStatus::Equal) {
            1
        } else {
            0
        }
    }
}
