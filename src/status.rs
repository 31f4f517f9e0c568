//! `cutover status --json`: one sample of every gauge as one JSON document,
//! for scripts and monitoring. The schema is explicit (every field present,
//! `null` where a figure is not defined) and documented in the README.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::events::{EndpointKind, LinkKind, Reading, Role, Sample, seconds_since};
use crate::inventory::Inventory;

#[derive(Debug, Serialize)]
pub struct StatusDoc {
    pub inventory: String,
    pub at: DateTime<Utc>,
    pub endpoints: Vec<EndpointStatus>,
}

#[derive(Debug, Serialize)]
pub struct EndpointStatus {
    pub name: String,
    pub kind: EndpointKind,
    /// The connection string with any password masked.
    pub dsn: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub roles: Vec<Role>,
    pub server_version: Option<String>,
    pub replication: Vec<LinkStatus>,
    pub pool: Option<PoolStatus>,
    pub pgbouncer: Vec<BouncerStatus>,
    pub disk: Option<DiskStatus>,
    /// MongoDB: how far back the oplog reaches, in seconds.
    pub oplog_window_seconds: Option<f64>,
    /// MongoDB, one member reached directly: its name and state.
    pub member: Option<crate::events::MemberSelf>,
    /// MySQL and MariaDB: read-only state, binary logs, position.
    pub mysql: Option<crate::events::MysqlServer>,
    /// PostgreSQL with `archive_mode` on: the archiver's figures.
    pub archive: Option<ArchiveStatus>,
    /// Where the inventory gives a backup repository: its newest backups.
    pub backup: Option<BackupStatus>,
    /// Figures this sample could not give, and why.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ArchiveStatus {
    pub mode: String,
    pub archived_count: u64,
    pub last_archived_wal: Option<String>,
    pub last_archived_at: Option<DateTime<Utc>>,
    /// Seconds since the last file was archived.
    pub last_archived_age_seconds: Option<f64>,
    pub failed_count: u64,
    pub last_failed_wal: Option<String>,
    pub last_failed_at: Option<DateTime<Utc>>,
    /// The last attempt failed.
    pub failing: bool,
    /// WAL files waiting to be archived (`null`: the server does not let us list them).
    pub waiting: Option<u32>,
    /// How long the oldest of them has waited.
    pub lag_seconds: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct BackupStatus {
    pub stanza: String,
    pub status: String,
    pub last_full: Option<crate::events::BackupInfo>,
    /// The newest backup when it is not the full one (diff, incr).
    pub latest: Option<crate::events::BackupInfo>,
    /// Seconds since the newest backup of any kind finished.
    pub age_seconds: Option<f64>,
    pub wal_max: Option<String>,
    /// The WAL from the newest backup on is in the repository's archive.
    pub wal_since_newest_archived: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LinkStatus {
    pub name: String,
    pub kind: LinkKind,
    pub state: String,
    pub lag_bytes: Option<u64>,
    pub lag_seconds: Option<f64>,
    pub sync_state: Option<String>,
    pub sent_lag_bytes: Option<u64>,
    pub flush_lag_bytes: Option<u64>,
    pub write_lag_seconds: Option<f64>,
    pub flush_lag_seconds: Option<f64>,
    pub retained_bytes: Option<u64>,
    pub wal_status: Option<String>,
    pub replay_paused: Option<bool>,
    pub tables_ready: Option<u32>,
    pub tables_total: Option<u32>,
    /// A MySQL replica: how far it has applied.
    pub position: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PoolStatus {
    pub connections: u32,
    pub max_connections: u32,
    pub active: u32,
    pub idle: u32,
    pub idle_in_transaction: u32,
    pub waiting: u32,
    pub oldest_xact_seconds: Option<f64>,
    /// MongoDB: connections this server holds to other members.
    pub outgoing: Option<crate::events::OutgoingPool>,
}

#[derive(Debug, Serialize)]
pub struct BouncerStatus {
    pub database: String,
    pub user: String,
    pub cl_active: u32,
    pub cl_waiting: u32,
    pub sv_active: u32,
    pub sv_idle: u32,
    pub pool_size: u32,
    pub maxwait_seconds: f64,
    pub xacts_per_second: Option<f64>,
    pub avg_query_ms: Option<f64>,
    pub avg_wait_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct DiskStatus {
    pub mount: Option<String>,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub used_pct: Option<f64>,
    pub database_bytes: Option<u64>,
    pub wal_bytes: Option<u64>,
    pub slot_retained_bytes: Option<u64>,
}

impl StatusDoc {
    /// The document for one sample of every endpoint of `inventory`.
    #[must_use]
    pub fn new(inventory: &Inventory, samples: &[Sample], at: DateTime<Utc>) -> Self {
        let endpoints = inventory
            .endpoints
            .iter()
            .map(|endpoint| {
                let sample = samples.iter().find(|s| s.endpoint == endpoint.name);
                let mut status = EndpointStatus {
                    name: endpoint.name.clone(),
                    kind: endpoint.kind,
                    dsn: endpoint.shown(),
                    reachable: false,
                    error: Some("not sampled".to_owned()),
                    roles: Vec::new(),
                    server_version: None,
                    replication: Vec::new(),
                    pool: None,
                    pgbouncer: Vec::new(),
                    disk: None,
                    oplog_window_seconds: None,
                    member: None,
                    mysql: None,
                    archive: None,
                    backup: None,
                    notes: Vec::new(),
                };
                match sample.map(|s| &s.reading) {
                    Some(Reading::Observed(o)) => {
                        status.reachable = true;
                        status.error = None;
                        status.roles.clone_from(&o.roles);
                        status.server_version.clone_from(&o.server_version);
                        status.notes.clone_from(&o.notes);
                        status.replication = o.replication.iter().map(link).collect();
                        status.pool = o.pool.as_ref().map(|p| PoolStatus {
                            connections: p.connections,
                            max_connections: p.max_connections,
                            active: p.active,
                            idle: p.idle,
                            idle_in_transaction: p.idle_in_transaction,
                            waiting: p.waiting,
                            oldest_xact_seconds: p.oldest_xact_seconds,
                            outgoing: p.outgoing,
                        });
                        status.pgbouncer = o
                            .bouncer
                            .iter()
                            .map(|b| BouncerStatus {
                                database: b.database.clone(),
                                user: b.user.clone(),
                                cl_active: b.cl_active,
                                cl_waiting: b.cl_waiting,
                                sv_active: b.sv_active,
                                sv_idle: b.sv_idle,
                                pool_size: b.pool_size,
                                maxwait_seconds: b.maxwait_seconds,
                                xacts_per_second: b.xacts_per_second,
                                avg_query_ms: b.avg_query_ms,
                                avg_wait_ms: b.avg_wait_ms,
                            })
                            .collect();
                        status.oplog_window_seconds = o.oplog_window_seconds;
                        status.member.clone_from(&o.member);
                        status.mysql.clone_from(&o.mysql);
                        let now = sample.map_or(at, |s| s.at);
                        status.archive = o.archive.as_ref().map(|a| ArchiveStatus {
                            mode: a.mode.clone(),
                            archived_count: a.archived_count,
                            last_archived_wal: a.last_archived_wal.clone(),
                            last_archived_at: a.last_archived_at,
                            last_archived_age_seconds: a.last_archived_at.map(|t| seconds_since(t, now)),
                            failed_count: a.failed_count,
                            last_failed_wal: a.last_failed_wal.clone(),
                            last_failed_at: a.last_failed_at,
                            failing: a.failing(),
                            waiting: a.waiting,
                            lag_seconds: a.lag_seconds(now),
                        });
                        status.backup = o.backup.as_ref().map(|b| BackupStatus {
                            stanza: b.stanza.clone(),
                            status: b.status.clone(),
                            last_full: b.last_full.clone(),
                            latest: b.latest.clone(),
                            age_seconds: b.newest().map(|n| seconds_since(n.finished_at, now)),
                            wal_max: b.wal_max.clone(),
                            wal_since_newest_archived: b.wal_since_newest_archived(),
                            error: b.error.clone(),
                        });
                        status.disk = o.disk.as_ref().map(|d| DiskStatus {
                            mount: (!d.mount.is_empty()).then(|| d.mount.clone()),
                            free_bytes: d.free_bytes,
                            total_bytes: d.total_bytes,
                            used_pct: d.used_pct().map(|p| (p * 10.0).round() / 10.0),
                            database_bytes: d.database_bytes,
                            wal_bytes: d.wal_bytes,
                            slot_retained_bytes: d.slot_retained_bytes,
                        });
                    }
                    Some(Reading::Unreachable { error }) => status.error = Some(error.clone()),
                    None => {}
                }
                status
            })
            .collect();
        Self { inventory: inventory.name.clone(), at, endpoints }
    }
}

fn link(l: &crate::events::ReplicationLink) -> LinkStatus {
    LinkStatus {
        name: l.name.clone(),
        kind: l.kind,
        state: l.state.clone(),
        lag_bytes: l.lag_bytes,
        lag_seconds: l.lag_seconds,
        sync_state: l.sync_state.clone(),
        sent_lag_bytes: l.sent_lag_bytes,
        flush_lag_bytes: l.flush_lag_bytes,
        write_lag_seconds: l.write_lag_seconds,
        flush_lag_seconds: l.flush_lag_seconds,
        retained_bytes: l.retained_bytes,
        wal_status: l.wal_status.clone(),
        replay_paused: l.replay_paused,
        tables_ready: l.tables_ready,
        tables_total: l.tables_total,
        position: l.position.clone(),
    }
}
