//! PostgreSQL figures, from cheap catalog views only: `pg_stat_replication`,
//! `pg_replication_slots`, the standby's replay functions,
//! `pg_stat_subscription`, `pg_stat_activity`, and (every few rounds) database
//! and WAL directory sizes. A figure a privilege or version does not allow
//! becomes a note on the sample; only a broken connection makes the endpoint
//! unreachable.

use std::collections::HashMap;

use tokio_postgres::{Client, Row, Statement};

use crate::endpoint::postgres::short_error;
use crate::events::{
    ArchiveReading, DiskReading, EndpointSample, HIDDEN_SESSIONS, LinkKind, PoolReading, ReplicationLink, Role,
};

/// Sizes (database, WAL directory) walk directories: refresh them only every
/// this many rounds.
pub const SIZES_EVERY_ROUNDS: u32 = 10;

const INFO: &str = "SELECT pg_is_in_recovery(), current_setting('server_version'), \
    current_setting('server_version_num')::int, current_setting('max_connections')::int, \
    current_setting('superuser_reserved_connections')::int, \
    coalesce(current_setting('reserved_connections', true), '0')::int, \
    (SELECT count(*) FROM pg_publication)::int";

const ACTIVITY: &str = "SELECT count(*)::int, \
    (count(*) FILTER (WHERE state = 'active'))::int, \
    (count(*) FILTER (WHERE state = 'idle'))::int, \
    (count(*) FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')))::int, \
    (count(*) FILTER (WHERE wait_event_type = 'Lock'))::int, \
    extract(epoch FROM now() - min(xact_start) FILTER (WHERE pid <> pg_backend_pid()))::float8, \
    (count(*) FILTER (WHERE state IS NULL))::int \
    FROM pg_stat_activity WHERE backend_type = 'client backend'";

const WALSENDERS: &str = "SELECT r.application_name, coalesce(r.state, 'unknown'), r.sync_state, \
    greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), r.sent_lsn), 0)::bigint, \
    greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), r.flush_lsn), 0)::bigint, \
    greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn), 0)::bigint, \
    extract(epoch FROM r.write_lag)::float8, extract(epoch FROM r.flush_lag)::float8, \
    extract(epoch FROM r.replay_lag)::float8, s.slot_name::text \
    FROM pg_stat_replication r \
    LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid AND s.slot_type = 'logical' \
    ORDER BY r.application_name";

const SLOTS: &str = "SELECT slot_name::text, slot_type, active, coalesce(wal_status, ''), \
    greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint, \
    greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint \
    FROM pg_replication_slots ORDER BY slot_name";

const STANDBY: &str = "SELECT \
    greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint, \
    CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
         ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8, \
    pg_is_wal_replay_paused(), (SELECT status FROM pg_stat_wal_receiver LIMIT 1)";

/// `pg_stat_wal_receiver.status` of a standby receiving from its primary.
const STREAMING: &str = "streaming";
/// A standby's state when it has no WAL receiver at all (with one in
/// another state: `not streaming (starting)`, …).
pub const NOT_STREAMING: &str = "not streaming";

const SUBSCRIPTIONS: &str = "SELECT s.subname::text, s.subenabled, st.pid IS NOT NULL, \
    (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid AND r.srsubstate = 'r')::int, \
    (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid)::int \
    FROM pg_subscription s \
    LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL \
    WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
    ORDER BY s.subname";

const ARCHIVER: &str = "SELECT current_setting('archive_mode'), archived_count, last_archived_wal, \
    last_archived_time, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver";

/// WAL files waiting for the archiver (needs `pg_monitor` or a superuser).
const ARCHIVE_STATUS: &str = "SELECT count(*)::int, min(modification) FROM pg_ls_archive_statusdir() \
    WHERE name LIKE '%.ready'";

const DB_SIZE: &str = "SELECT coalesce(sum(pg_database_size(oid)), 0)::bigint FROM pg_database \
    WHERE has_database_privilege(oid, 'CONNECT')";

const WAL_SIZE: &str = "SELECT coalesce(sum(size), 0)::bigint FROM pg_ls_waldir()";

const DATA_DIRECTORY: &str = "SELECT current_setting('data_directory')";

/// One connection's prepared statements and slow-changing figures.
#[derive(Default)]
pub struct Session {
    statements: HashMap<&'static str, Statement>,
    round: u32,
    database_bytes: Option<u64>,
    wal_bytes: Option<u64>,
    size_notes: Vec<String>,
    data_directory: Option<String>,
}

/// Whether an error means the connection is gone (rather than one query failing).
#[must_use]
pub fn connection_lost(error: &tokio_postgres::Error) -> bool {
    error.is_closed() || error.as_db_error().is_none()
}

impl Session {
    async fn query(&mut self, client: &Client, sql: &'static str) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = match self.statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = client.prepare(sql).await?;
                self.statements.insert(sql, s.clone());
                s
            }
        };
        client.query(&statement, &[]).await
    }

    /// The data directory, if the server lets us read it (for local disks).
    #[must_use]
    pub fn data_directory(&self) -> Option<&str> {
        self.data_directory.as_deref()
    }

    /// One round of figures. A query refused for privilege or version gives a
    /// note; a lost connection is an error.
    ///
    /// # Errors
    /// The connection broke.
    pub async fn sample(&mut self, client: &Client) -> Result<EndpointSample, tokio_postgres::Error> {
        let mut out = EndpointSample::default();
        let info = self.query(client, INFO).await?;
        let Some(info) = info.first() else { return Ok(out) };
        let in_recovery: bool = info.try_get(0)?;
        out.server_version = Some(info.try_get(1)?);
        let version: i32 = info.try_get(2)?;
        let max: i32 = info.try_get(3)?;
        let reserved: i32 = info.try_get::<_, i32>(4)? + info.try_get::<_, i32>(5)?;
        let publications: i32 = info.try_get(6)?;
        out.roles.push(if in_recovery { Role::Standby } else { Role::Primary });
        if publications > 0 {
            out.roles.push(Role::Publisher);
        }
        if version < 130_000 {
            out.notes.push(format!("PostgreSQL {version} is older than 13: replication figures need 13 or newer"));
        }

        match self.query(client, ACTIVITY).await {
            Ok(rows) => out.pool = rows.first().map(|r| pool(r, max, reserved, &mut out.notes)).transpose()?,
            Err(e) => self.degrade(e, "connections", &mut out.notes)?,
        }
        if in_recovery {
            match self.query(client, STANDBY).await {
                Ok(rows) => out.replication.extend(rows.first().map(standby).transpose()?),
                Err(e) => self.degrade(e, "standby replay", &mut out.notes)?,
            }
        }
        let mut slots_read = false;
        if !in_recovery && version >= 130_000 {
            slots_read = self.primary_links(client, &mut out).await?;
        }
        match self.query(client, SUBSCRIPTIONS).await {
            Ok(rows) => {
                for row in &rows {
                    out.replication.push(subscription(row)?);
                }
                if !rows.is_empty() {
                    out.roles.push(Role::Subscriber);
                }
            }
            Err(e) => self.degrade(e, "subscriptions", &mut out.notes)?,
        }
        if version >= 120_000 {
            out.archive = self.archive(client, &mut out.notes).await?.map(Box::new);
        }
        self.sizes(client).await?;
        out.notes.extend(self.size_notes.iter().cloned());
        let retained = out.replication.iter().filter_map(|l| l.retained_bytes).reduce(|a, b| a + b);
        out.disk = Some(DiskReading {
            mount: String::new(),
            free_bytes: None,
            total_bytes: None,
            database_bytes: self.database_bytes,
            wal_bytes: self.wal_bytes,
            // Known only where the slots could be read: a primary with none holds nothing.
            slot_retained_bytes: slots_read.then(|| retained.unwrap_or(0)),
        });
        self.round = self.round.wrapping_add(1);
        Ok(out)
    }

    /// A primary's standbys and slots; whether the slots could be read.
    async fn primary_links(
        &mut self,
        client: &Client,
        out: &mut EndpointSample,
    ) -> Result<bool, tokio_postgres::Error> {
        let mut slot_seconds: HashMap<String, Option<f64>> = HashMap::new();
        match self.query(client, WALSENDERS).await {
            Ok(rows) => {
                for row in &rows {
                    let slot: Option<String> = row.try_get(9)?;
                    if let Some(slot) = slot {
                        slot_seconds.insert(slot, row.try_get(8)?);
                    } else {
                        out.replication.push(walsender(row)?);
                    }
                }
            }
            Err(e) => self.degrade(e, "standbys", &mut out.notes)?,
        }
        match self.query(client, SLOTS).await {
            Ok(rows) => {
                for row in &rows {
                    let mut link = slot(row)?;
                    if let Some(seconds) = slot_seconds.get(&link.name) {
                        // An active logical walsender: its replay_lag is the slot's lag in time.
                        link.lag_seconds = Some(seconds.unwrap_or(0.0));
                    }
                    out.replication.push(link);
                }
                Ok(true)
            }
            Err(e) => self.degrade(e, "replication slots", &mut out.notes).map(|()| false),
        }
    }

    /// The archiver's figures, and the files waiting for it where the server
    /// lets us list them. `None` with archiving off.
    async fn archive(
        &mut self,
        client: &Client,
        notes: &mut Vec<String>,
    ) -> Result<Option<ArchiveReading>, tokio_postgres::Error> {
        let rows = match self.query(client, ARCHIVER).await {
            Ok(rows) => rows,
            Err(e) => return self.degrade(e, "archiver", notes).map(|()| None),
        };
        let Some(row) = rows.first() else { return Ok(None) };
        let mut archive = ArchiveReading {
            mode: row.try_get(0)?,
            archived_count: to_u64(row.try_get(1)?),
            last_archived_wal: row.try_get(2)?,
            last_archived_at: row.try_get(3)?,
            failed_count: to_u64(row.try_get(4)?),
            last_failed_wal: row.try_get(5)?,
            last_failed_at: row.try_get(6)?,
            ..ArchiveReading::default()
        };
        if !archive.enabled() {
            return Ok(None);
        }
        match self.query(client, ARCHIVE_STATUS).await {
            Ok(rows) => {
                if let Some(row) = rows.first() {
                    archive.waiting = Some(to_u32(row.try_get(0)?));
                    archive.oldest_waiting_at = row.try_get(1)?;
                }
            }
            Err(e) => self.degrade(e, "WAL waiting to be archived (grant pg_monitor)", notes)?,
        }
        Ok(Some(archive))
    }

    async fn sizes(&mut self, client: &Client) -> Result<(), tokio_postgres::Error> {
        if self.round % SIZES_EVERY_ROUNDS != 0 {
            return Ok(());
        }
        let mut notes = Vec::new();
        match self.query(client, DB_SIZE).await {
            Ok(rows) => self.database_bytes = rows.first().map(|r| r.try_get::<_, i64>(0)).transpose()?.map(to_u64),
            Err(e) => self.degrade(e, "database_bytes", &mut notes)?,
        }
        match self.query(client, WAL_SIZE).await {
            Ok(rows) => self.wal_bytes = rows.first().map(|r| r.try_get::<_, i64>(0)).transpose()?.map(to_u64),
            Err(e) => self.degrade(e, "wal_bytes", &mut notes)?,
        }
        if self.data_directory.is_none() {
            match self.query(client, DATA_DIRECTORY).await {
                Ok(rows) => self.data_directory = rows.first().map(|r| r.try_get(0)).transpose()?,
                Err(e) => self.degrade(e, "data_directory (local disk)", &mut notes)?,
            }
        }
        self.size_notes = notes;
        Ok(())
    }

    /// A query error that is the server refusing (privilege, version,
    /// timeout) becomes a note; anything else is passed up.
    fn degrade(
        &self,
        error: tokio_postgres::Error,
        what: &str,
        notes: &mut Vec<String>,
    ) -> Result<(), tokio_postgres::Error> {
        if connection_lost(&error) {
            return Err(error);
        }
        notes.push(format!("{what}: {}", short_error(&error)));
        Ok(())
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn pool(row: &Row, max: i32, reserved: i32, notes: &mut Vec<String>) -> Result<PoolReading, tokio_postgres::Error> {
    let hidden: i32 = row.try_get(6)?;
    if hidden > 0 {
        notes.push(format!("{hidden} session(s) {HIDDEN_SESSIONS}: grant pg_monitor for their state and age"));
    }
    Ok(PoolReading {
        connections: to_u32(row.try_get(0)?),
        max_connections: to_u32(max - reserved),
        active: to_u32(row.try_get(1)?),
        idle: to_u32(row.try_get(2)?),
        idle_in_transaction: to_u32(row.try_get(3)?),
        waiting: to_u32(row.try_get(4)?),
        oldest_xact_seconds: row.try_get(5)?,
        outgoing: None,
    })
}

fn walsender(row: &Row) -> Result<ReplicationLink, tokio_postgres::Error> {
    let replay_bytes: Option<i64> = row.try_get(5)?;
    let replay_seconds: Option<f64> = row.try_get(8)?;
    Ok(ReplicationLink {
        name: row.try_get(0)?,
        kind: LinkKind::Physical,
        state: row.try_get(1)?,
        sync_state: row.try_get(2)?,
        sent_lag_bytes: row.try_get::<_, Option<i64>>(3)?.map(to_u64),
        flush_lag_bytes: row.try_get::<_, Option<i64>>(4)?.map(to_u64),
        lag_bytes: replay_bytes.map(to_u64),
        write_lag_seconds: row.try_get(6)?,
        flush_lag_seconds: row.try_get(7)?,
        // PostgreSQL clears the lag times once a standby is caught up and idle.
        lag_seconds: replay_seconds.or(match replay_bytes {
            Some(0) => Some(0.0),
            _ => None,
        }),
        ..ReplicationLink::default()
    })
}

fn slot(row: &Row) -> Result<ReplicationLink, tokio_postgres::Error> {
    let slot_type: String = row.try_get(1)?;
    let active: bool = row.try_get(2)?;
    let wal_status: String = row.try_get(3)?;
    let confirmed: Option<i64> = row.try_get(4)?;
    let retained: Option<i64> = row.try_get(5)?;
    Ok(ReplicationLink {
        name: row.try_get(0)?,
        kind: LinkKind::Slot,
        state: format!("{}{slot_type}", if active { "" } else { "inactive " }),
        lag_bytes: if slot_type == "logical" { confirmed.map(to_u64) } else { retained.map(to_u64) },
        lag_seconds: None,
        retained_bytes: Some(retained.map_or(0, to_u64)),
        wal_status: (!wal_status.is_empty()).then_some(wal_status),
        ..ReplicationLink::default()
    })
}

/// What a standby says of itself. Its lag is WAL received and not yet
/// replayed, which is only the whole lag while it streams: a standby whose
/// WAL receiver stopped has replayed all it received and would read 0 however
/// far its primary moved on. So unless the receiver is `streaming`, the lag is
/// not known (and a gate on it does not open).
fn standby(row: &Row) -> Result<ReplicationLink, tokio_postgres::Error> {
    let paused: bool = row.try_get(2)?;
    let receiver: Option<String> = row.try_get(3)?;
    let streaming = receiver.as_deref() == Some(STREAMING);
    let state = match (&receiver, paused) {
        (Some(status), _) if status != STREAMING => format!("not streaming ({status})"),
        (None, _) => NOT_STREAMING.to_owned(),
        (Some(_), true) => "replay paused".to_owned(),
        (Some(status), false) => status.clone(),
    };
    let (lag_bytes, lag_seconds) =
        if streaming { (row.try_get::<_, Option<i64>>(0)?.map(to_u64), row.try_get(1)?) } else { (None, None) };
    Ok(ReplicationLink {
        name: "replay".to_owned(),
        kind: LinkKind::Physical,
        state,
        lag_bytes,
        lag_seconds,
        replay_paused: Some(paused),
        ..ReplicationLink::default()
    })
}

fn subscription(row: &Row) -> Result<ReplicationLink, tokio_postgres::Error> {
    let enabled: bool = row.try_get(1)?;
    let running: bool = row.try_get(2)?;
    let ready = to_u32(row.try_get(3)?);
    let total = to_u32(row.try_get(4)?);
    let state = if !enabled {
        "disabled".to_owned()
    } else if !running {
        "apply stopped".to_owned()
    } else if ready < total {
        format!("copying {ready}/{total} tables")
    } else {
        "streaming".to_owned()
    };
    Ok(ReplicationLink {
        name: row.try_get(0)?,
        kind: LinkKind::Subscription,
        state,
        tables_ready: Some(ready),
        tables_total: Some(total),
        ..ReplicationLink::default()
    })
}
