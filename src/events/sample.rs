//! Timestamped observations of the databases and hosts.
//!
//! The real collectors and the simulator produce exactly these types, so the
//! screen cannot tell them apart (and does not need to).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::backup::{ArchiveReading, BackupReading};

/// What kind of server an endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    Postgres,
    Pgbouncer,
    Mongodb,
    Mysql,
}

impl EndpointKind {
    /// The name used in inventories and JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Pgbouncer => "pgbouncer",
            Self::Mongodb => "mongodb",
            Self::Mysql => "mysql",
        }
    }
}

/// One round of observation of one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the observation was taken (the source's clock, UTC).
    pub at: DateTime<Utc>,
    /// The endpoint's logical name (`source`, `target`, `replica`, `bouncer`, …).
    pub endpoint: String,
    pub kind: EndpointKind,
    pub reading: Reading,
}

impl Sample {
    /// Apply `f` to every free-text field (see [`super::RunEvent::texts_mut`]):
    /// an unreachable endpoint's error, an observed one's notes and version.
    /// Names (the endpoint's, links', pools', members') and figures are not text.
    pub fn texts_mut(&mut self, f: &mut dyn FnMut(&mut String)) {
        let Self { at: _, endpoint: _, kind: _, reading } = self;
        match reading {
            Reading::Unreachable { error } => f(error),
            Reading::Observed(EndpointSample {
                roles: _,
                server_version,
                notes,
                replication: _,
                pool: _,
                bouncer: _,
                disk: _,
                oplog_window_seconds: _,
                member: _,
                mysql: _,
                archive: _,
                backup,
            }) => {
                server_version.iter_mut().for_each(&mut *f);
                notes.iter_mut().for_each(&mut *f);
                // What the backup command said (its error, the stanza's status) is its text.
                if let Some(backup) = backup {
                    f(&mut backup.status);
                    backup.error.iter_mut().for_each(f);
                }
            }
        }
    }
}

/// What the endpoint said — or that it did not answer.
#[allow(clippy::large_enum_variant)] // one per sample, moved not copied
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Reading {
    Observed(EndpointSample),
    Unreachable { error: String },
}

/// What an endpoint is in the replication topology; one server may be several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Primary,
    Standby,
    Publisher,
    Subscriber,
    Pooler,
}

/// Every gauge figure one endpoint gave in one round. Figures a server cannot
/// give (a standby has no slots, a pooler no disk) are empty or `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSample {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Figures this round could not give, and why (a missing privilege, an
    /// old version): the rest of the endpoint still counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replication: Vec<ReplicationLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolReading>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bouncer: Vec<BouncerPool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskReading>,
    /// MongoDB: how far back the oplog reaches, in seconds — the headroom of
    /// a member that falls behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oplog_window_seconds: Option<f64>,
    /// MongoDB, connected to one member directly (`directConnection=true`):
    /// that member as the set sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberSelf>,
    /// MySQL and MariaDB: what only that family has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MysqlServer>,
    /// PostgreSQL: WAL archiving (`pg_stat_archiver`, `archive_status`).
    /// Boxed, as `backup`: most samples have neither, and every sample is
    /// moved and kept (a fleet keeps hundreds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<Box<ArchiveReading>>,
    /// The backup repository, where the inventory gives a command to read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Box<BackupReading>>,
}

/// What a MySQL or MariaDB server says of itself beyond the common figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MysqlServer {
    /// `read_only`: `off`, `on`, or `super` (MySQL's `super_read_only`, which
    /// holds accounts with SUPER too).
    pub read_only: String,
    /// Binary log files kept on the server and their total size: a
    /// replica that falls far behind, or a purge that stopped, fills the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_files: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_bytes: Option<u64>,
    /// Where the server's binlog is: its GTID position (MariaDB
    /// `gtid_binlog_pos`, MySQL `gtid_executed`), else `file:offset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

/// The replica-set member an endpoint connects to directly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberSelf {
    /// `host:port` as in the set's config.
    pub name: String,
    /// `PRIMARY`, `SECONDARY`, `STARTUP2`, `REMOVED`, …
    pub state: String,
}

/// How a replication link is observed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A streaming standby seen from its primary (`pg_stat_replication`) or itself.
    #[default]
    Physical,
    /// A logical replication slot on the publisher (`pg_replication_slots`).
    Slot,
    /// A subscription on the subscriber (`pg_stat_subscription`).
    Subscription,
    /// A replica-set member (`replSetGetStatus`).
    Member,
    /// A MySQL or MariaDB replica's own view of its binlog replication
    /// (`SHOW REPLICA STATUS`).
    Binlog,
}

impl LinkKind {
    /// A short label for narrow panes.
    #[must_use]
    pub fn short(self) -> &'static str {
        match self {
            Self::Physical => "phys",
            Self::Slot => "slot",
            Self::Subscription => "sub",
            Self::Member => "member",
            Self::Binlog => "bin",
        }
    }
}

/// Lag of one replica, slot, subscription or member — in bytes *and* seconds,
/// because a paused replay can show a few seconds and tens of MB at once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicationLink {
    /// The standby's `application_name`, the slot, subscription or member name.
    pub name: String,
    pub kind: LinkKind,
    /// The server's own word for it: `streaming`, `catchup`, `SECONDARY`, …
    pub state: String,
    pub lag_bytes: Option<u64>,
    pub lag_seconds: Option<f64>,
    /// WAL kept on the primary for this link (slots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained_bytes: Option<u64>,
    /// `pg_stat_replication.sync_state`: async, sync, quorum, potential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_state: Option<String>,
    /// Bytes not yet sent / flushed by the standby (`lag_bytes` is to replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_lag_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_lag_bytes: Option<u64>,
    /// `write_lag` / `flush_lag` in seconds (`lag_seconds` is `replay_lag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_lag_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_lag_seconds: Option<f64>,
    /// A standby's own view: is WAL replay paused?
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_paused: Option<bool>,
    /// A slot's `wal_status`: reserved, extended, unreserved, lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_status: Option<String>,
    /// A subscription's tables: how many are ready, of how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables_ready: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables_total: Option<u32>,
    /// A MySQL replica: how far it has applied (its GTID position, else the
    /// source's `file:offset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

/// Part of the note a PostgreSQL collector adds when sessions hide their
/// state and age from it (no `pg_monitor`): its oldest transaction is then
/// not known.
pub const HIDDEN_SESSIONS: &str = "hidden from us";

/// Connections on a database server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolReading {
    pub connections: u32,
    /// `max_connections` minus the reserved slots: what clients can really use.
    pub max_connections: u32,
    pub active: u32,
    #[serde(default)]
    pub idle: u32,
    pub idle_in_transaction: u32,
    /// Sessions waiting on a lock.
    pub waiting: u32,
    /// Age of the oldest open transaction (it blocks the switch).
    pub oldest_xact_seconds: Option<f64>,
    /// MongoDB: this server's own outgoing pools to other members
    /// (`connPoolStats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing: Option<OutgoingPool>,
}

/// A MongoDB server's connections to other servers (`connPoolStats` totals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutgoingPool {
    pub in_use: u32,
    pub available: u32,
    /// Opened since the server started.
    pub created: u64,
}

/// One pool of a PgBouncer (`SHOW POOLS`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BouncerPool {
    pub database: String,
    pub user: String,
    pub cl_active: u32,
    pub cl_waiting: u32,
    pub sv_active: u32,
    pub sv_idle: u32,
    /// Configured server connections for the pool.
    pub pool_size: u32,
    pub maxwait_seconds: f64,
    /// From `SHOW STATS`: transactions per second and average query / wait
    /// times over the pooler's last stats period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xacts_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_query_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_wait_ms: Option<f64>,
}

/// Disk headroom where a database keeps its data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskReading {
    /// The filesystem (mount point) the figures are for; empty when the
    /// server is remote and only its own sizes are known.
    pub mount: String,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_bytes: Option<u64>,
    /// WAL held back by replication slots: a stuck slot fills the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_retained_bytes: Option<u64>,
}

impl DiskReading {
    /// Used share of the filesystem, 0–100, when the filesystem is known.
    #[must_use]
    pub fn used_pct(&self) -> Option<f64> {
        let (free, total) = (self.free_bytes?, self.total_bytes?);
        if total == 0 {
            return None;
        }
        let used = total.saturating_sub(free);
        #[allow(clippy::cast_precision_loss)]
        let pct = used as f64 * 100.0 / total as f64;
        Some(pct)
    }
}

/// Progress of the verification engine, all tables at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecksumProgress {
    pub at: DateTime<Utc>,
    pub tables: Vec<TableProgress>,
}

/// Where one table's verification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableState {
    Pending,
    Running,
    Done,
    Failed,
}

/// Verification progress of one table or collection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableProgress {
    pub table: String,
    pub state: TableState,
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub rows: u64,
    pub rows_per_second: f64,
    pub differences: u64,
}

impl TableProgress {
    /// Share of chunks done, 0–100.
    #[must_use]
    pub fn pct(&self) -> f64 {
        if self.chunks_total == 0 {
            return if self.state == TableState::Done { 100.0 } else { 0.0 };
        }
        #[allow(clippy::cast_precision_loss)]
        let pct = self.chunks_done as f64 * 100.0 / self.chunks_total as f64;
        pct
    }
}
