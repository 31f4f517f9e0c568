//! The cockpit's state as the figures conditions read: what `lag_bytes(target)`
//! means is decided here, once, for gates, waits and checks alike.
//!
//! A figure that cannot be trusted right now (no answer yet, unreachable,
//! stale) is unknown, and a comparison with an unknown is never true.

use crate::condition::{Gauge, Gauges, member_state_code};
use chrono::{DateTime, Utc};

use crate::events::{EndpointKind, EndpointSample, HIDDEN_SESSIONS, LinkKind, TableState, seconds_since};
use crate::state::{Freshness, GROWTH_MIN_SPAN_SECS, Metric, Projection, SeriesId, State, project};

impl State {
    /// The endpoint's figures, when they are live.
    fn live(&self, name: &str) -> Result<&EndpointSample, String> {
        let endpoint = self.endpoints.get(name).ok_or_else(|| format!("no figures from {name} yet"))?;
        match endpoint.freshness(self.now, self.sample_interval) {
            Freshness::Unreachable { error, .. } => Err(format!("{name} is unreachable ({error})")),
            Freshness::Stale { age } => Err(format!("{name}'s figures are {} old", crate::format::age(age))),
            Freshness::Live => endpoint.last.as_ref().ok_or_else(|| format!("no figures from {name} yet")),
        }
    }

    /// Lag into `name`: its own replay lag (a standby), and for each of its
    /// subscriptions the publisher's slot of the same name. The worst wins.
    fn lag(&self, name: &str, seconds: bool) -> Result<f64, String> {
        let own = self.live(name)?;
        let pick = |l: &crate::events::ReplicationLink| {
            if seconds { l.lag_seconds } else { l.lag_bytes.map(|b| b as f64) }
        };
        let mut worst: Option<f64> = None;
        let mut unknown = None;
        for link in &own.replication {
            match link.kind {
                // A standby's own replay: its lag is unknown while it does not stream.
                LinkKind::Physical if link.name == "replay" => match pick(link) {
                    Some(v) => worst = max(worst, Some(v)),
                    None => unknown = Some(format!("{name} reports no replay lag ({})", link.state)),
                },
                // A MySQL replica's own view: unknown while it does not hear its source.
                LinkKind::Binlog => match pick(link) {
                    Some(v) => worst = max(worst, Some(v)),
                    None => unknown = Some(format!("{name} reports no replica lag ({})", link.state)),
                },
                // A replica set: the member furthest behind (a member that
                // gives no optime makes the figure unknown).
                LinkKind::Member if seconds => match link.lag_seconds {
                    Some(v) => worst = max(worst, Some(v)),
                    None => unknown = Some(format!("member {} gives no optime ({})", link.name, link.state)),
                },
                LinkKind::Subscription => {
                    let slot =
                        self.endpoints.iter().filter(|(other, _)| other.as_str() != name).find_map(|(other, e)| {
                            let found = e
                                .last
                                .as_ref()?
                                .replication
                                .iter()
                                .find(|l| l.kind == LinkKind::Slot && l.name == link.name)?;
                            Some((other.clone(), found.clone()))
                        });
                    match slot {
                        Some((publisher, slot)) => match self.live(&publisher) {
                            Ok(_) => worst = max(worst, pick(&slot)),
                            Err(e) => unknown = Some(e),
                        },
                        None => unknown = Some(format!("the publisher's slot {} is not in sight", link.name)),
                    }
                }
                _ => {}
            }
        }
        match (worst, unknown) {
            (_, Some(why)) => Err(why),
            // A member connected to directly that is the primary: nothing behind.
            (None, None) if own.member.as_ref().is_some_and(|m| m.state == "PRIMARY") => Ok(0.0),
            (Some(v), None) => Ok(v),
            (None, None) => Err(format!("no replication link feeds {name}")),
        }
    }
}

impl State {
    /// When `name`'s filesystem is full at the growth of its recent history.
    fn seconds_to_full(&self, name: &str, s: &EndpointSample) -> Result<f64, String> {
        let disk = s.disk.as_ref().filter(|d| d.used_pct().is_some()).ok_or_else(|| no_disk(name))?;
        let history = self.series.get(&SeriesId::new(Metric::DiskUsedPct, name, &disk.mount));
        match project(history, 100.0) {
            Projection::In(secs) => Ok(secs),
            Projection::NotGrowing => Ok(f64::INFINITY),
            Projection::Reached => Ok(0.0),
            Projection::TooShort => Err(format!(
                "{name}'s disk has under {GROWTH_MIN_SPAN_SECS:.0} s of history: its growth is not known yet"
            )),
        }
    }
}

fn no_disk(name: &str) -> String {
    format!("no disk figures for {name} (give disk_path in the inventory, or run on its host)")
}

/// The oldest open transaction: none open reads 0, but sessions hidden from
/// us (no `pg_monitor`) may hold an older one, so then it is unknown.
fn oldest_xact(name: &str, kind: EndpointKind, s: &EndpointSample) -> Result<f64, String> {
    let pool = s.pool.as_ref().filter(|_| matches!(kind, EndpointKind::Postgres | EndpointKind::Mysql));
    let pool = pool.ok_or_else(|| format!("{name} gives no PostgreSQL or MySQL session figures"))?;
    if let Some(hidden) = s.notes.iter().find(|n| n.contains(HIDDEN_SESSIONS)) {
        return Err(format!("{name}: {hidden}"));
    }
    Ok(pool.oldest_xact_seconds.unwrap_or(0.0))
}

/// The slot holding back the most WAL; a primary with no slot holds none.
fn slot_retained(name: &str, s: &EndpointSample) -> Result<f64, String> {
    let held = s.replication.iter().filter(|l| l.kind == LinkKind::Slot).filter_map(|l| l.retained_bytes);
    #[allow(clippy::cast_precision_loss)]
    let worst = held.max().map(|b| b as f64);
    match (worst, s.disk.as_ref().and_then(|d| d.slot_retained_bytes)) {
        (Some(worst), _) => Ok(worst),
        (None, Some(_)) => Ok(0.0),
        (None, None) => Err(format!("{name} gives no replication slot figures")),
    }
}

fn max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl Gauges for State {
    fn value(&self, gauge: Gauge, endpoint: Option<&str>) -> Result<f64, String> {
        if gauge == Gauge::VerifyDifferences {
            let progress = self.checksum.as_ref().ok_or("no verification has run")?;
            if let Some(t) = progress.tables.iter().find(|t| t.state == TableState::Failed) {
                return Err(format!("verification failed on {}", t.table));
            }
            if progress.tables.iter().any(|t| matches!(t.state, TableState::Running | TableState::Pending)) {
                return Err("verification is still running".to_owned());
            }
            return Ok(progress.tables.iter().map(|t| t.differences as f64).sum());
        }
        let name = endpoint.ok_or("this gauge needs an endpoint")?;
        if gauge == Gauge::Reachable {
            let endpoint = self.endpoints.get(name).ok_or_else(|| format!("no figures from {name} yet"))?;
            let up = endpoint.freshness(self.now, self.sample_interval).is_live() && endpoint.last.is_some();
            return Ok(if up { 1.0 } else { 0.0 });
        }
        let s = self.live(name)?;
        let kind = self.endpoints.get(name).map_or(EndpointKind::Postgres, |e| e.kind);
        let bouncer =
            |f: fn(&crate::events::BouncerPool) -> u32| -> f64 { s.bouncer.iter().map(|p| f64::from(f(p))).sum() };
        match gauge {
            Gauge::LagBytes => self.lag(name, false),
            Gauge::LagSeconds => self.lag(name, true),
            Gauge::PoolWaiting => match &s.pool {
                Some(p) => Ok(f64::from(p.waiting)),
                None if !s.bouncer.is_empty() => Ok(bouncer(|p| p.cl_waiting)),
                None => Err(format!("{name} gives no pool figures")),
            },
            Gauge::PoolActive => match &s.pool {
                Some(p) => Ok(f64::from(p.active)),
                None if !s.bouncer.is_empty() => Ok(bouncer(|p| p.cl_active)),
                None => Err(format!("{name} gives no pool figures")),
            },
            Gauge::PoolUsedPct => match &s.pool {
                Some(p) if p.max_connections > 0 => Ok(100.0 * f64::from(p.connections) / f64::from(p.max_connections)),
                None if bouncer(|p| p.pool_size) > 0.0 => {
                    Ok(100.0 * bouncer(|p| p.sv_active) / bouncer(|p| p.pool_size))
                }
                _ => Err(format!("{name} gives no pool figures")),
            },
            Gauge::DiskFreePct | Gauge::DiskFreeBytes => {
                let d = s.disk.as_ref();
                match (d.and_then(|d| d.free_bytes), d.and_then(|d| d.total_bytes)) {
                    (Some(free), Some(total)) if total > 0 => {
                        Ok(if gauge == Gauge::DiskFreePct { 100.0 * free as f64 / total as f64 } else { free as f64 })
                    }
                    _ => Err(no_disk(name)),
                }
            }
            Gauge::SubscriptionTablesReady | Gauge::SubscriptionTables => {
                let subs: Vec<_> = s.replication.iter().filter(|l| l.kind == LinkKind::Subscription).collect();
                if subs.is_empty() {
                    return Err(format!("{name} has no subscription"));
                }
                let pick = |l: &&crate::events::ReplicationLink| {
                    if gauge == Gauge::SubscriptionTables { l.tables_total } else { l.tables_ready }
                };
                Ok(subs.iter().map(|l| f64::from(pick(l).unwrap_or(0))).sum())
            }
            Gauge::OldestXactSeconds => oldest_xact(name, kind, s),
            Gauge::SlotRetainedBytes => slot_retained(name, s),
            Gauge::PoolMaxwaitSeconds => {
                if s.bouncer.is_empty() {
                    return Err(format!("{name} gives no pooler figures (maxwait is PgBouncer's)"));
                }
                Ok(s.bouncer.iter().map(|p| p.maxwait_seconds).fold(0.0, f64::max))
            }
            Gauge::DiskSecondsToFull => self.seconds_to_full(name, s),
            Gauge::MongoOplogWindowSeconds => s
                .oplog_window_seconds
                .ok_or_else(|| format!("{name} gives no oplog window (not a replica-set member, or oplog unreadable)")),
            Gauge::MongoState => {
                let member = s.member.as_ref().ok_or_else(|| {
                    format!("{name} is not one replica-set member (connect to it with directConnection=true)")
                })?;
                member_state_code(&member.state)
                    .map(f64::from)
                    .ok_or_else(|| format!("{name} is in state {}", member.state))
            }
            Gauge::MysqlReadOnly => {
                let server = s.mysql.as_ref().ok_or_else(|| format!("{name} is not a MySQL or MariaDB server"))?;
                Ok(if server.read_only == "off" { 0.0 } else { 1.0 })
            }
            Gauge::MysqlBinlogBytes => {
                let server = s.mysql.as_ref().ok_or_else(|| format!("{name} is not a MySQL or MariaDB server"))?;
                #[allow(clippy::cast_precision_loss)]
                server.binlog_bytes.map(|b| b as f64).ok_or_else(|| format!("{name} keeps no binary log we can see"))
            }
            Gauge::BackupConfigured
            | Gauge::BackupAgeSeconds
            | Gauge::BackupFullAgeSeconds
            | Gauge::ArchiveLagSeconds
            | Gauge::ArchiveAgeSeconds
            | Gauge::ArchiveFailing
            | Gauge::ArchiveWaiting => {
                let now = self.now.ok_or("the clock has not started")?;
                safety_net(gauge, name, s, now)
            }
            Gauge::Reachable | Gauge::VerifyDifferences => Err("unreachable".to_owned()),
        }
    }
}

/// The backup and archive gauges of a PostgreSQL endpoint, at `now`.
fn safety_net(gauge: Gauge, name: &str, s: &EndpointSample, now: DateTime<Utc>) -> Result<f64, String> {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let archive = || {
        s.archive.as_ref().ok_or_else(|| {
            format!("{name} does not archive WAL (archive_mode is off, or pg_stat_archiver cannot be read)")
        })
    };
    let backup = || {
        let b = s.backup.as_ref().ok_or_else(|| format!("{name} has no backup repository in the inventory"))?;
        match &b.error {
            Some(error) => Err(format!("{name}'s backups are not known: {error}")),
            None => Ok(b),
        }
    };
    let since = |at: DateTime<Utc>| seconds_since(at, now);
    match gauge {
        Gauge::BackupConfigured => Ok(flag(s.backup.is_some())),
        Gauge::BackupAgeSeconds => backup()?
            .newest()
            .map(|b| since(b.finished_at))
            .ok_or_else(|| format!("{name} has no backup in its repository")),
        Gauge::BackupFullAgeSeconds => backup()?
            .last_full
            .as_ref()
            .map(|b| since(b.finished_at))
            .ok_or_else(|| format!("{name} has no full backup in its repository")),
        Gauge::ArchiveLagSeconds => archive()?
            .lag_seconds(now)
            .ok_or_else(|| format!("{name} does not let us list the WAL waiting to be archived (grant pg_monitor)")),
        Gauge::ArchiveAgeSeconds => {
            archive()?.last_archived_at.map(since).ok_or_else(|| format!("{name} has archived nothing yet"))
        }
        Gauge::ArchiveFailing => Ok(flag(archive()?.failing())),
        Gauge::ArchiveWaiting => archive()?
            .waiting
            .map(f64::from)
            .ok_or_else(|| format!("{name} does not let us list the WAL waiting to be archived (grant pg_monitor)")),
        _ => Err(format!("{gauge:?} is not a backup or archive gauge")),
    }
}

#[cfg(test)]
#[path = "gauges_tests.rs"]
mod tests;
