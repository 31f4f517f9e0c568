//! The gauges conditions read from the cockpit's state: each figure, and
//! each way it can be unknown (which never lets a gate open).

use chrono::{DateTime, TimeZone, Utc};

use crate::condition::{Gauge, Gauges, parse};
use crate::events::{
    Action, BouncerPool, DiskReading, EndpointKind, EndpointSample, LinkKind, PoolReading, Reading, ReplicationLink,
    Sample,
};
use crate::state::State;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

/// A state that heard `sample` from `name` at `secs`, with the clock there too.
fn heard(state: &mut State, name: &str, kind: EndpointKind, secs: i64, sample: EndpointSample) {
    let sample = Sample { at: at(secs), endpoint: name.to_owned(), kind, reading: Reading::Observed(sample) };
    state.update(&Action::Sample(sample));
    state.update(&Action::Tick { now: at(secs) });
}

fn one(name: &str, kind: EndpointKind, sample: EndpointSample) -> State {
    let mut state = State::new("test");
    heard(&mut state, name, kind, 0, sample);
    state
}

fn pool(oldest: Option<f64>) -> PoolReading {
    PoolReading {
        connections: 5,
        max_connections: 100,
        active: 1,
        idle: 4,
        idle_in_transaction: 0,
        waiting: 0,
        oldest_xact_seconds: oldest,
        outgoing: None,
    }
}

fn postgres(oldest: Option<f64>) -> EndpointSample {
    EndpointSample { pool: Some(pool(oldest)), ..EndpointSample::default() }
}

/// Whether `condition` holds, and its reason.
fn gate(state: &State, condition: &str) -> (bool, String) {
    let verdict = parse(condition).unwrap().eval(state);
    (verdict.holds, verdict.reason)
}

#[test]
fn oldest_xact_seconds_reads_the_oldest_open_transaction() {
    let state = one("db", EndpointKind::Postgres, postgres(Some(75.0)));
    assert_eq!(state.value(Gauge::OldestXactSeconds, Some("db")), Ok(75.0));
    assert_eq!(
        gate(&state, "oldest_xact_seconds(db) < 5s"),
        (false, "oldest_xact_seconds(db) = 1m 15s, needs < 5 s".to_owned())
    );
    assert!(gate(&state, "oldest_xact_seconds(db) < 2m").0);
    // No transaction open: nothing is old.
    let idle = one("db", EndpointKind::Postgres, postgres(None));
    assert_eq!(idle.value(Gauge::OldestXactSeconds, Some("db")), Ok(0.0));
}

#[test]
fn oldest_xact_seconds_is_unknown_when_sessions_hide_or_the_server_is_not_postgres() {
    let mut hidden = postgres(None);
    hidden.notes.push("2 session(s) hidden from us: grant pg_monitor for their state and age".to_owned());
    let state = one("db", EndpointKind::Postgres, hidden);
    let (holds, reason) = gate(&state, "oldest_xact_seconds(db) < 5s");
    assert!(!holds);
    assert!(reason.contains("unknown") && reason.contains("hidden from us"), "{reason}");
    assert!(!gate(&state, "not (oldest_xact_seconds(db) >= 5s)").0, "unknown holds under not");

    let mongo = one("m", EndpointKind::Mongodb, postgres(None));
    let (holds, reason) = gate(&mongo, "oldest_xact_seconds(m) < 5s");
    assert!(!holds);
    assert_eq!(reason, "oldest_xact_seconds(m) unknown: m gives no PostgreSQL or MySQL session figures");
    let mysql = one("my", EndpointKind::Mysql, postgres(Some(7.0)));
    assert_eq!(mysql.value(Gauge::OldestXactSeconds, Some("my")), Ok(7.0));
    let no_pool = one("db", EndpointKind::Postgres, EndpointSample::default());
    assert!(no_pool.value(Gauge::OldestXactSeconds, Some("db")).is_err());
}

fn slot(name: &str, retained: u64) -> ReplicationLink {
    ReplicationLink {
        name: name.to_owned(),
        kind: LinkKind::Slot,
        state: "logical".to_owned(),
        retained_bytes: Some(retained),
        ..ReplicationLink::default()
    }
}

fn disk(slots_read: Option<u64>) -> DiskReading {
    DiskReading {
        mount: "/data".to_owned(),
        free_bytes: None,
        total_bytes: None,
        database_bytes: None,
        wal_bytes: None,
        slot_retained_bytes: slots_read,
    }
}

#[test]
fn slot_retained_bytes_is_the_slot_holding_the_most() {
    const MB: u64 = 1024 * 1024;
    let sample = EndpointSample {
        replication: vec![slot("a", 3 * MB), slot("b", 40 * MB), slot("c", MB)],
        disk: Some(disk(Some(44 * MB))),
        ..EndpointSample::default()
    };
    let state = one("src", EndpointKind::Postgres, sample);
    #[allow(clippy::cast_precision_loss)]
    let expected = (40 * MB) as f64;
    assert_eq!(state.value(Gauge::SlotRetainedBytes, Some("src")), Ok(expected));
    assert_eq!(
        gate(&state, "slot.retained_bytes(src) < 10MB"),
        (false, "slot.retained_bytes(src) = 40 MB, needs < 10 MB".to_owned())
    );
    // A primary without slots holds nothing back.
    let none = EndpointSample { disk: Some(disk(Some(0))), ..EndpointSample::default() };
    assert_eq!(one("src", EndpointKind::Postgres, none).value(Gauge::SlotRetainedBytes, Some("src")), Ok(0.0));
}

#[test]
fn slot_retained_bytes_is_unknown_where_slots_were_not_read() {
    // A standby, or a primary whose slots the collector could not read.
    let state =
        one("src", EndpointKind::Postgres, EndpointSample { disk: Some(disk(None)), ..EndpointSample::default() });
    let (holds, reason) = gate(&state, "slot.retained_bytes(src) < 10MB");
    assert!(!holds);
    assert_eq!(reason, "slot.retained_bytes(src) unknown: src gives no replication slot figures");
}

fn bouncer_pool(database: &str, waiting: u32, maxwait: f64) -> BouncerPool {
    BouncerPool {
        database: database.to_owned(),
        user: "app".to_owned(),
        cl_active: 2,
        cl_waiting: waiting,
        sv_active: 1,
        sv_idle: 0,
        pool_size: 2,
        maxwait_seconds: maxwait,
        xacts_per_second: None,
        avg_query_ms: None,
        avg_wait_ms: None,
    }
}

#[test]
fn pool_maxwait_seconds_is_the_longest_wait_of_any_pool() {
    let sample = EndpointSample {
        bouncer: vec![bouncer_pool("app", 3, 2.5), bouncer_pool("reports", 1, 0.25)],
        ..EndpointSample::default()
    };
    let state = one("pooler", EndpointKind::Pgbouncer, sample);
    assert_eq!(state.value(Gauge::PoolMaxwaitSeconds, Some("pooler")), Ok(2.5));
    assert_eq!(state.value(Gauge::PoolWaiting, Some("pooler")), Ok(4.0));
    assert_eq!(
        gate(&state, "pool.maxwait_seconds(pooler) < 1s"),
        (false, "pool.maxwait_seconds(pooler) = 2.5 s, needs < 1 s".to_owned())
    );
    assert!(gate(&state, "pool.maxwait_seconds(pooler) < 3s and pool.waiting(pooler) == 4").0);
}

#[test]
fn pool_maxwait_seconds_is_unknown_on_a_server_that_is_no_pooler() {
    let state = one("db", EndpointKind::Postgres, postgres(None));
    let (holds, reason) = gate(&state, "pool.maxwait_seconds(db) < 1s");
    assert!(!holds);
    assert!(reason.starts_with("pool.maxwait_seconds(db) unknown: db gives no pooler figures"), "{reason}");
}

#[test]
fn mongo_oplog_window_seconds_reads_the_window_and_unknown_without_one() {
    let sample = EndpointSample { oplog_window_seconds: Some(7200.0), ..EndpointSample::default() };
    let state = one("rs", EndpointKind::Mongodb, sample);
    assert_eq!(state.value(Gauge::MongoOplogWindowSeconds, Some("rs")), Ok(7200.0));
    assert!(gate(&state, "mongo.oplog_window_seconds(rs) > 1h").0);
    assert_eq!(
        gate(&state, "mongo.oplog_window_seconds(rs) > 1d"),
        (false, "mongo.oplog_window_seconds(rs) = 2h, needs > 1d".to_owned())
    );
    let none = one("rs", EndpointKind::Mongodb, EndpointSample::default());
    let (holds, reason) = gate(&none, "mongo.oplog_window_seconds(rs) > 1h");
    assert!(!holds);
    assert!(reason.starts_with("mongo.oplog_window_seconds(rs) unknown: rs gives no oplog window"), "{reason}");
}

/// A disk `used` percent full (of 1000 bytes) at each of `points` (seconds, percent).
fn disk_over_time(points: &[(i64, u64)]) -> State {
    let mut state = State::new("test");
    for &(secs, used) in points {
        let mut d = disk(None);
        d.total_bytes = Some(1000);
        d.free_bytes = Some(1000 - used * 10);
        heard(&mut state, "db", EndpointKind::Postgres, secs, EndpointSample { disk: Some(d), ..Default::default() });
    }
    state
}

#[test]
fn disk_seconds_to_full_projects_the_recent_growth() {
    // 50% → 60% in 100 s: 0.1 %/s, 40 % left: 400 s.
    let filling = disk_over_time(&[(0, 50), (50, 55), (100, 60)]);
    let secs = filling.value(Gauge::DiskSecondsToFull, Some("db")).unwrap();
    assert!((secs - 400.0).abs() < 1e-6, "{secs}");
    assert_eq!(
        gate(&filling, "disk.seconds_to_full(db) > 1h"),
        (false, "disk.seconds_to_full(db) = 6m 40s, needs > 1h".to_owned())
    );
    // Not filling: never full, so any "at least" gate holds.
    let steady = disk_over_time(&[(0, 50), (60, 50)]);
    assert_eq!(steady.value(Gauge::DiskSecondsToFull, Some("db")), Ok(f64::INFINITY));
    assert_eq!(
        gate(&steady, "disk.seconds_to_full(db) > 1h"),
        (true, "disk.seconds_to_full(db) = never > 1h".to_owned())
    );
    let full = disk_over_time(&[(0, 90), (60, 100)]);
    assert_eq!(full.value(Gauge::DiskSecondsToFull, Some("db")), Ok(0.0));
}

#[test]
fn disk_seconds_to_full_is_unknown_without_enough_history_or_disk_figures() {
    let fresh = disk_over_time(&[(0, 50), (5, 55)]);
    let (holds, reason) = gate(&fresh, "disk.seconds_to_full(db) > 1h");
    assert!(!holds);
    assert!(reason.contains("unknown") && reason.contains("growth is not known yet"), "{reason}");
    let remote = one("db", EndpointKind::Postgres, EndpointSample { disk: Some(disk(None)), ..Default::default() });
    let (holds, reason) = gate(&remote, "disk.seconds_to_full(db) > 1h");
    assert!(!holds);
    assert!(reason.contains("no disk figures for db"), "{reason}");
}

#[test]
fn every_new_gauge_is_unknown_when_its_endpoint_is_unreachable() {
    let mut state = one("db", EndpointKind::Postgres, postgres(Some(1.0)));
    let down = Sample {
        at: at(1),
        endpoint: "db".to_owned(),
        kind: EndpointKind::Postgres,
        reading: Reading::Unreachable { error: "connection refused".to_owned() },
    };
    state.update(&Action::Sample(down));
    for condition in [
        "oldest_xact_seconds(db) < 1h",
        "slot.retained_bytes(db) < 1GB",
        "pool.maxwait_seconds(db) < 1h",
        "mongo.oplog_window_seconds(db) > 0s",
        "disk.seconds_to_full(db) > 0s",
    ] {
        let (holds, reason) = gate(&state, condition);
        assert!(!holds, "{condition}");
        assert!(reason.contains("db is unreachable (connection refused)"), "{condition}: {reason}");
    }
}

#[test]
fn a_mysql_replica_s_lag_and_its_server_s_read_only_state_and_binlog() {
    use crate::events::MysqlServer;
    let link = |lag_bytes, state: &str| ReplicationLink {
        name: "db1:3306".to_owned(),
        kind: LinkKind::Binlog,
        state: state.to_owned(),
        lag_bytes,
        lag_seconds: lag_bytes.map(|_| 2.0),
        ..ReplicationLink::default()
    };
    let server = |read_only: &str| MysqlServer {
        read_only: read_only.to_owned(),
        binlog_bytes: Some(4096),
        ..MysqlServer::default()
    };
    let streaming = EndpointSample {
        replication: vec![link(Some(512), "streaming")],
        mysql: Some(server("super")),
        ..EndpointSample::default()
    };
    let state = one("r", EndpointKind::Mysql, streaming);
    assert_eq!(state.value(Gauge::LagBytes, Some("r")), Ok(512.0));
    assert_eq!(state.value(Gauge::LagSeconds, Some("r")), Ok(2.0));
    assert!(gate(&state, "mysql.read_only(r) == true and mysql.binlog_bytes(r) == 4kB").0);
    let deaf = EndpointSample {
        replication: vec![link(None, "io stopped")],
        mysql: Some(server("off")),
        ..EndpointSample::default()
    };
    let state = one("r", EndpointKind::Mysql, deaf);
    let (holds, reason) = gate(&state, "lag_bytes(r) < 1MB");
    assert!(!holds);
    assert!(reason.contains("no replica lag (io stopped)"), "{reason}");
    assert!(gate(&state, "mysql.read_only(r) == false").0);
    let postgres = one("p", EndpointKind::Postgres, postgres(None));
    assert!(postgres.value(Gauge::MysqlReadOnly, Some("p")).unwrap_err().contains("not a MySQL"));
}
