//! What a verification is asked to do, for both engines (PostgreSQL tables,
//! MongoDB collections).

use std::path::PathBuf;

use super::Mode;
use super::bisect::ROW_FETCH_MAX;
use super::catalog::TableName;

/// Default first (and largest) chunk. Measured: 50k-row chunks cost the same
/// as 100k on equal tables and halve what a disagreeing chunk costs to localise.
pub const DEFAULT_CHUNK_ROWS: u64 = 50_000;

#[derive(Clone, Debug)]
pub struct Options {
    /// Tables to verify; empty: every user table of the source.
    pub tables: Vec<TableName>,
    /// `None`: typed when both servers run the same major version.
    pub mode: Option<Mode>,
    /// Chunks in flight at once (connections per side).
    pub jobs: usize,
    /// First and largest chunk, in rows.
    pub chunk_rows: u64,
    pub journal: Option<PathBuf>,
    /// PostgreSQL: pause while the target's replication lag is over this many bytes.
    pub max_lag_bytes: u64,
    /// MongoDB, a target that is a secondary: pause while it is more than
    /// this many seconds behind its primary.
    pub max_lag_seconds: f64,
    /// A disagreeing range of up to this many rows is compared row by row;
    /// larger ones are split 16 ways first.
    pub row_fetch_max: u64,
    /// MySQL source: how long a disagreeing chunk is looked at again before
    /// it is localised, for rows in flight (dual writes land on one side a
    /// moment before the other). Zero: not at all.
    pub settle: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            tables: Vec::new(),
            mode: None,
            jobs: 2,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            journal: None,
            max_lag_bytes: 64 * 1024 * 1024,
            max_lag_seconds: 10.0,
            row_fetch_max: ROW_FETCH_MAX,
            settle: std::time::Duration::ZERO,
        }
    }
}
