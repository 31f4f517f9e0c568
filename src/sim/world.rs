//! The simulated servers: a PostgreSQL source primary with a streaming
//! replica, a logical subscriber target, a PgBouncer, and the hosts' disks.
//!
//! Numbers move the way real ones do (WAL accumulates while a slot holds it,
//! a replica replays faster than the source writes, a pooler queues clients
//! once its server connections are busy); the scenario decides when.

use chrono::{DateTime, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::scenario::Scenario;
use crate::events::{
    BouncerPool, ChecksumProgress, DiskReading, EndpointKind, EndpointSample, LinkKind, PoolReading, Reading,
    ReplicationLink, Sample, TableProgress, TableState,
};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const BASE_WAL_BYTES_PER_S: f64 = 1.5e6;
const REPLICA_REPLAY_BYTES_PER_S: f64 = 80.0e6;
const SUBSCRIBER_APPLY_BYTES_PER_S: f64 = 30.0e6;
const DISK_TOTAL_BYTES: f64 = 40.0 * GIB;
const SOURCE_DATA_BYTES: f64 = 25.0 * GIB;
const WAL_DIR_BASE_BYTES: f64 = 1.0 * GIB;
const MAX_CONNECTIONS: u32 = 97; // 100 minus 3 superuser_reserved_connections
const BOUNCER_POOL_SIZE: u32 = 40;
const CHUNK_ROWS: u64 = 100_000;
const VERIFY_ROWS_PER_S: f64 = 90_000.0;
/// Tables the demo verifies, with their row counts.
pub const TABLES: [(&str, u64); 4] = [
    ("public.orders", 2_400_000),
    ("public.order_items", 7_100_000),
    ("public.customers", 310_000),
    ("public.payments", 1_200_000),
];

pub struct World {
    rng: ChaCha8Rng,
    /// Simulated seconds since the start.
    pub t: f64,
    wal: f64,
    replica_replayed: f64,
    slot_confirmed: f64,
    /// WAL written over the last seconds, for lag in seconds.
    recent_rate: f64,
    target_data: f64,
    verified_rows: f64,
}

impl World {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            t: 0.0,
            wal: 0.0,
            replica_replayed: 0.0,
            slot_confirmed: 0.0,
            recent_rate: BASE_WAL_BYTES_PER_S,
            target_data: 0.5 * GIB,
            verified_rows: 0.0,
        }
    }

    fn noise(&mut self, spread: f64) -> f64 {
        1.0 + self.rng.random_range(-spread..=spread)
    }

    /// Move the world `dt` simulated seconds forward.
    pub fn advance(&mut self, scenario: &Scenario, dt: f64) {
        self.t += dt;
        let t = self.t;
        let burst =
            scenario.bursts.iter().filter(|b| b.window.contains(t)).map(|b| b.wal_bytes_per_s).fold(0.0, f64::max);
        let rate = BASE_WAL_BYTES_PER_S.max(burst) * self.noise(0.25);
        self.wal += rate * dt;
        self.recent_rate = 0.8 * self.recent_rate + 0.2 * rate;

        let replica_down = self.down(scenario, "replica").is_some();
        if !replica_down {
            self.replica_replayed = (self.replica_replayed + REPLICA_REPLAY_BYTES_PER_S * dt).min(self.wal);
        }

        let copying = scenario.initial_copy.contains(t);
        let stalled =
            scenario.slot_stall.is_some_and(|w| w.contains(t)) || scenario.apply_stall.is_some_and(|w| w.contains(t));
        if copying {
            let copy_len = scenario.initial_copy.end.unwrap_or(t + 1.0) - scenario.initial_copy.start;
            self.target_data += SOURCE_DATA_BYTES / copy_len * dt * self.noise(0.2);
        } else if !stalled && t >= scenario.initial_copy.start {
            let apply = SUBSCRIBER_APPLY_BYTES_PER_S * self.noise(0.15);
            self.slot_confirmed = (self.slot_confirmed + apply * dt).min(self.wal);
            self.target_data += rate * 0.4 * dt;
        }
        if t < scenario.initial_copy.start {
            self.slot_confirmed = self.wal;
        }
        if let Some(start) = scenario.checksum_start {
            if t >= start {
                self.verified_rows += VERIFY_ROWS_PER_S * dt * self.noise(0.1);
            }
        }
    }

    /// The error an endpoint answers with right now, if it is in an outage.
    #[must_use]
    pub fn down(&self, scenario: &Scenario, endpoint: &str) -> Option<&'static str> {
        scenario.outages.iter().find(|(name, w, _)| *name == endpoint && w.contains(self.t)).map(|(_, _, e)| *e)
    }

    /// One sample of every endpoint, as the collectors would give them.
    pub fn samples(&mut self, scenario: &Scenario, at: DateTime<Utc>) -> Vec<Sample> {
        let sources = [
            ("source", EndpointKind::Postgres),
            ("replica", EndpointKind::Postgres),
            ("target", EndpointKind::Postgres),
            ("bouncer", EndpointKind::Pgbouncer),
        ];
        sources
            .into_iter()
            .map(|(name, kind)| {
                let reading = match self.down(scenario, name) {
                    Some(error) => Reading::Unreachable { error: error.to_owned() },
                    None => Reading::Observed(match name {
                        "source" => self.source(scenario),
                        "replica" => self.replica(),
                        "target" => self.target(scenario),
                        _ => self.bouncer(scenario),
                    }),
                };
                Sample { at, endpoint: name.to_owned(), kind, reading }
            })
            .collect()
    }

    fn lag_seconds(&self, bytes: f64) -> f64 {
        (bytes / self.recent_rate.max(1.0) * 10.0).round() / 10.0
    }

    fn pressure(&self, scenario: &Scenario) -> f64 {
        match scenario.pool_pressure {
            Some(w) if w.contains(self.t) => {
                let into = self.t - w.start;
                // Rises over 20 s, then surges and eases in waves.
                (into / 20.0).min(1.0) * (0.75 + 0.25 * (into / 9.0).sin())
            }
            _ => 0.0,
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn source(&mut self, scenario: &Scenario) -> EndpointSample {
        let replica_lag = self.wal - self.replica_replayed;
        let slot_lag = self.wal - self.slot_confirmed;
        let stalled = scenario.slot_stall.is_some_and(|w| w.contains(self.t));
        let pressure = self.pressure(scenario);
        let base_conns = 42.0 * self.noise(0.08);
        let connections = (base_conns + pressure * 52.0).min(f64::from(MAX_CONNECTIONS)) as u32;
        let retained = slot_lag + 16.0 * 1024.0 * 1024.0;
        let used = SOURCE_DATA_BYTES + WAL_DIR_BASE_BYTES + retained + self.wal * 0.3;
        let replica_down = self.down(scenario, "replica").is_some();
        let mut replication = Vec::new();
        if !replica_down {
            replication.push(ReplicationLink {
                name: "replica".into(),
                kind: LinkKind::Physical,
                state: "streaming".into(),
                lag_bytes: Some(replica_lag as u64),
                lag_seconds: Some(self.lag_seconds(replica_lag)),
                retained_bytes: None,
                ..ReplicationLink::default()
            });
        }
        if self.t >= scenario.initial_copy.start {
            replication.push(ReplicationLink {
                name: "cutover_sub".into(),
                kind: LinkKind::Slot,
                state: if stalled { "inactive".into() } else { "active".into() },
                lag_bytes: Some(slot_lag as u64),
                lag_seconds: Some(self.lag_seconds(slot_lag)),
                retained_bytes: Some(retained as u64),
                ..ReplicationLink::default()
            });
        }
        EndpointSample {
            archive: None,
            backup: None,
            roles: Vec::new(),
            server_version: None,
            notes: Vec::new(),
            replication,
            pool: Some(PoolReading {
                connections,
                max_connections: MAX_CONNECTIONS,
                active: (f64::from(connections) * (0.2 + pressure * 0.6)) as u32,
                idle: 0,
                idle_in_transaction: (pressure * 6.0) as u32,
                waiting: (pressure * 7.0 * self.noise(0.3)) as u32,
                oldest_xact_seconds: Some(((0.8 + pressure * 95.0) * self.noise(0.2) * 10.0).round() / 10.0),
                outgoing: None,
            }),
            bouncer: Vec::new(),
            oplog_window_seconds: None,
            member: None,
            mysql: None,
            disk: Some(DiskReading {
                mount: "/var/lib/postgresql".into(),
                free_bytes: Some((DISK_TOTAL_BYTES - used).max(0.0) as u64),
                total_bytes: Some(DISK_TOTAL_BYTES as u64),
                database_bytes: Some((SOURCE_DATA_BYTES + self.wal * 0.3) as u64),
                wal_bytes: Some((WAL_DIR_BASE_BYTES + retained) as u64),
                slot_retained_bytes: (self.t >= scenario.initial_copy.start).then_some(retained as u64),
            }),
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn replica(&mut self) -> EndpointSample {
        let used = SOURCE_DATA_BYTES + WAL_DIR_BASE_BYTES + self.replica_replayed * 0.3;
        EndpointSample {
            archive: None,
            backup: None,
            roles: Vec::new(),
            server_version: None,
            notes: Vec::new(),
            replication: Vec::new(),
            pool: Some(PoolReading {
                connections: (6.0 * self.noise(0.3)) as u32,
                max_connections: MAX_CONNECTIONS,
                active: 1,
                idle: 0,
                idle_in_transaction: 0,
                waiting: 0,
                oldest_xact_seconds: None,
                outgoing: None,
            }),
            bouncer: Vec::new(),
            oplog_window_seconds: None,
            member: None,
            mysql: None,
            disk: Some(DiskReading {
                mount: "/var/lib/postgresql".into(),
                free_bytes: Some((DISK_TOTAL_BYTES - used) as u64),
                total_bytes: Some(DISK_TOTAL_BYTES as u64),
                database_bytes: Some((SOURCE_DATA_BYTES + self.replica_replayed * 0.3) as u64),
                wal_bytes: Some(WAL_DIR_BASE_BYTES as u64),
                slot_retained_bytes: None,
            }),
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn target(&mut self, scenario: &Scenario) -> EndpointSample {
        let lag = self.wal - self.slot_confirmed;
        let copying = scenario.initial_copy.contains(self.t);
        let stalled = scenario.slot_stall.is_some_and(|w| w.contains(self.t));
        let apply_stalled = scenario.apply_stall.is_some_and(|w| w.contains(self.t));
        let mut replication = Vec::new();
        if self.t >= scenario.initial_copy.start {
            let state = if copying {
                let done = ((self.t - scenario.initial_copy.start)
                    / (scenario.initial_copy.end.unwrap_or(self.t + 1.0) - scenario.initial_copy.start)
                    * 4.0) as u32;
                format!("copying {done}/4 tables")
            } else if stalled {
                "apply stopped".into()
            } else {
                "streaming".into()
            };
            replication.push(ReplicationLink {
                name: "cutover_sub".into(),
                kind: LinkKind::Subscription,
                state,
                lag_bytes: Some(lag as u64),
                lag_seconds: Some(self.lag_seconds(lag)),
                retained_bytes: None,
                ..ReplicationLink::default()
            });
        }
        EndpointSample {
            archive: None,
            backup: None,
            roles: Vec::new(),
            server_version: None,
            notes: Vec::new(),
            replication,
            pool: Some(PoolReading {
                connections: 5 + self.rng.random_range(0..2),
                max_connections: MAX_CONNECTIONS,
                active: 3,
                idle: 0,
                idle_in_transaction: u32::from(apply_stalled),
                // The apply worker waits on the lock a forgotten transaction holds.
                waiting: u32::from(apply_stalled),
                oldest_xact_seconds: Some(match scenario.apply_stall {
                    Some(w) if apply_stalled => (self.t - w.start + 40.0).round(),
                    _ => 0.2,
                }),
                outgoing: None,
            }),
            bouncer: Vec::new(),
            oplog_window_seconds: None,
            member: None,
            mysql: None,
            disk: Some(DiskReading {
                mount: "/var/lib/postgresql".into(),
                free_bytes: Some((DISK_TOTAL_BYTES - self.target_data - WAL_DIR_BASE_BYTES).max(0.0) as u64),
                total_bytes: Some(DISK_TOTAL_BYTES as u64),
                database_bytes: Some(self.target_data as u64),
                wal_bytes: Some(WAL_DIR_BASE_BYTES as u64),
                slot_retained_bytes: None,
            }),
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn bouncer(&mut self, scenario: &Scenario) -> EndpointSample {
        let pressure = self.pressure(scenario);
        let clients = 30.0 * self.noise(0.15) + pressure * 70.0;
        let paused = scenario.pooler_paused.is_some_and(|w| w.contains(self.t));
        // A paused pooler holds every client until RESUME.
        let active = if paused { 0.0 } else { clients.min(f64::from(BOUNCER_POOL_SIZE)) };
        let waiting = (clients - active).max(0.0);
        let maxwait = match scenario.pooler_paused {
            Some(w) if paused => self.t - w.start,
            _ if waiting >= 1.0 => (waiting / 6.0 * self.noise(0.3) * 10.0).round() / 10.0,
            _ => 0.0,
        };
        EndpointSample {
            archive: None,
            backup: None,
            roles: Vec::new(),
            server_version: None,
            notes: Vec::new(),
            replication: Vec::new(),
            pool: None,
            bouncer: vec![BouncerPool {
                database: "app".into(),
                user: "app".into(),
                cl_active: active as u32,
                cl_waiting: waiting as u32,
                sv_active: (active * 0.7) as u32,
                sv_idle: (f64::from(BOUNCER_POOL_SIZE) - active * 0.7).max(0.0) as u32,
                pool_size: BOUNCER_POOL_SIZE,
                maxwait_seconds: maxwait,
                xacts_per_second: Some((active * 11.0 * self.noise(0.2)).round()),
                avg_query_ms: Some((2.0 * self.noise(0.3) * 100.0).round() / 100.0),
                avg_wait_ms: Some((maxwait * 250.0).round()),
            }],
            disk: None,
            oplog_window_seconds: None,
            member: None,
            mysql: None,
        }
    }

    /// Verification progress, table after table.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    pub fn checksum(&self, scenario: &Scenario, at: DateTime<Utc>) -> Option<ChecksumProgress> {
        let start = scenario.checksum_start?;
        if self.t < start {
            return None;
        }
        let mut left = self.verified_rows as u64;
        let mut tables = Vec::new();
        for (i, (table, rows)) in TABLES.iter().enumerate() {
            let chunks_total = rows.div_ceil(CHUNK_ROWS);
            let done_rows = left.min(*rows);
            left -= done_rows;
            let chunks_done = if done_rows == *rows { chunks_total } else { done_rows / CHUNK_ROWS };
            let state = if done_rows == *rows {
                TableState::Done
            } else if done_rows > 0 || (i == 0) {
                TableState::Running
            } else {
                TableState::Pending
            };
            let differences = match scenario.checksum_mismatch {
                Some(chunk) if i == 0 && chunks_done > chunk => 2,
                _ => 0,
            };
            let running = state == TableState::Running;
            tables.push(TableProgress {
                table: (*table).to_owned(),
                state,
                chunks_done,
                chunks_total,
                rows: done_rows,
                rows_per_second: if running { VERIFY_ROWS_PER_S } else { 0.0 },
                differences,
            });
        }
        Some(ChecksumProgress { at, tables })
    }
}
