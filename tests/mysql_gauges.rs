//! MySQL-family endpoints against a real MariaDB primary and replica: the
//! sessions cutover opens, and the gauges it reads.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use cutover::collect::Collector;
use cutover::endpoint::mysql::{self, Flavor, Purpose};
use cutover::events::{Action, EndpointKind, EndpointSample, LinkKind, Reading, Role};
use cutover::inventory::{self, mysql_url};
use mysql_async::prelude::Queryable;
use support::mariadb::{Mariadb, PASSWORD};
use support::observe::{observe, observe_until};

/// A collector of `server` as the inventory names it (password from the environment).
fn collector(server: &Mariadb) -> Collector {
    let text = format!("[endpoints.e]\nkind = \"mysql\"\ndsn = \"{}\"\npassword_env = \"PW\"\n", server.url("app"));
    let env = |k: &str| (k == "PW").then(|| PASSWORD.to_owned());
    let inventory = inventory::parse("inv.toml", &text, &env).unwrap_or_else(|e| panic!("{e:?}"));
    Collector::new(inventory.endpoints.into_iter().next().unwrap())
}

fn replica_link(sample: &EndpointSample) -> &cutover::events::ReplicationLink {
    sample.replication.iter().find(|l| l.kind == LinkKind::Binlog).unwrap_or_else(|| panic!("no link: {sample:#?}"))
}

/// Whether `condition` holds on the cockpit's state after it heard `sample` from `e`, and why.
fn gate_on(sample: &EndpointSample, condition: &str) -> (bool, String) {
    let now = chrono::Utc::now();
    let mut state = cutover::state::State::new("test");
    let heard = cutover::events::Sample {
        at: now,
        endpoint: "e".to_owned(),
        kind: EndpointKind::Mysql,
        reading: Reading::Observed(sample.clone()),
    };
    state.update(&Action::Sample(heard));
    state.update(&Action::Tick { now });
    let verdict = cutover::condition::parse(condition).unwrap().eval(&state);
    (verdict.holds, verdict.reason)
}

/// Rows of about 1 kB each, in one transaction, on the primary.
fn write(primary: &Mariadb, rows: u32) {
    primary.sql(&format!("INSERT INTO app.events (body) SELECT REPEAT('x', 1000) FROM seq.seq_1_to_{rows}"));
}

fn url(server: &Mariadb, database: &str) -> cutover::inventory::MysqlUrl {
    let mut url = mysql_url::parse(&server.url(database), "nobody").unwrap();
    url.set_password(PASSWORD);
    url
}

#[tokio::test]
async fn a_session_to_read_from_cannot_write_and_runs_in_utc() {
    let server = Mariadb::start();
    server.sql("CREATE DATABASE app; CREATE TABLE app.t (id int primary key)");
    let mut reads =
        mysql::connect(&url(&server, "app"), Purpose::Reads { statement_limit: None, settings: &[] }).await.unwrap();
    assert_eq!(reads.flavor, Flavor::Mariadb, "{}", reads.version);
    let error = reads.conn.query_drop("INSERT INTO t VALUES (1)").await.unwrap_err();
    assert_eq!(mysql::error_code(&error), Some(1792), "{error}"); // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
    let zone: String = reads.conn.query_first("SELECT @@session.time_zone").await.unwrap().unwrap();
    assert_eq!(zone, "+00:00");
    let mut steps = mysql::connect(&url(&server, "app"), Purpose::Steps).await.unwrap();
    steps.conn.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    assert_eq!(server.sql("SELECT COUNT(*) FROM app.t").trim(), "1");
    let program: String = steps
        .conn
        .query_first(format!(
            "SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs \
             WHERE PROCESSLIST_ID = {} AND ATTR_NAME = 'program_name'",
            steps.id()
        ))
        .await
        .unwrap()
        .unwrap_or_default();
    // performance_schema is off by default on MariaDB: then no attribute is kept.
    assert!(program.is_empty() || program == "cutover", "{program}");
    let mut wrong = url(&server, "app");
    wrong.set_password("not-the-password");
    let refused = mysql::connect(&wrong, Purpose::Steps).await.err().unwrap().to_string();
    assert!(refused.contains("1045"), "{refused}");
    assert!(!refused.contains("not-the-password"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_sql_thread_stops_shows_growing_lag_that_drains_after_start() {
    let primary = Mariadb::start();
    primary.sql("CREATE DATABASE app; CREATE TABLE app.events (id bigint AUTO_INCREMENT PRIMARY KEY, body text)");
    let mut replica = Mariadb::replica_of(&primary);
    let mut on_replica = collector(&replica);
    let mut on_primary = collector(&primary);

    let caught_up = observe_until(&mut on_replica, "a streaming replica with no lag", |s| {
        s.replication
            .first()
            .is_some_and(|l| l.state == "streaming" && l.lag_bytes == Some(0) && l.lag_seconds == Some(0.0))
    })
    .await;
    assert_eq!(caught_up.roles, vec![Role::Standby]);
    assert_eq!(caught_up.mysql.as_ref().unwrap().read_only, "on");
    assert!(caught_up.server_version.as_deref().unwrap().starts_with("MariaDB 10."), "{caught_up:?}");
    assert_eq!(replica_link(&caught_up).name, format!("127.0.0.1:{}", primary.port));
    assert!(gate_on(&caught_up, "lag_bytes(e) == 0 and mysql.read_only(e) == true").0);

    let source = observe(&mut on_primary).await;
    assert_eq!(source.roles, vec![Role::Primary]);
    let server = source.mysql.as_ref().unwrap();
    assert_eq!(server.read_only, "off");
    assert!(server.binlog_files.unwrap() >= 1 && server.binlog_bytes.unwrap() > 0, "{server:?}");
    assert_eq!(server.position.as_deref(), Some(primary.gtid_position().as_str()));
    let pool = source.pool.as_ref().unwrap();
    assert!(pool.connections >= 2 && pool.max_connections >= 100, "{pool:?}"); // our session and the replica's
    assert_eq!(pool.oldest_xact_seconds, None, "no transaction is open");

    replica.sql("STOP REPLICA SQL_THREAD");
    write(&primary, 500);
    let behind = observe_until(&mut on_replica, "lag while the SQL thread is stopped", |s| {
        replica_link(s).lag_bytes.is_some_and(|b| b > 400_000)
    })
    .await;
    let link = replica_link(&behind);
    assert_eq!(link.state, "sql stopped");
    assert_eq!(link.lag_seconds, None, "the server gives no seconds while the SQL thread is stopped");
    let first = link.lag_bytes.unwrap();
    write(&primary, 500);
    let more = observe_until(&mut on_replica, "growing lag", |s| {
        replica_link(s).lag_bytes.is_some_and(|b| b > first + 400_000)
    })
    .await;
    let (open, why) = gate_on(&more, "lag_bytes(e) < 512kB");
    assert!(!open, "{why}");
    assert!(gate_on(&more, "lag_seconds(e) < 1h").1.contains("no replica lag (sql stopped)"), "{more:?}");

    replica.sql("START REPLICA SQL_THREAD");
    let drained = observe_until(&mut on_replica, "lag drained after START", |s| {
        let l = replica_link(s);
        l.state == "streaming" && l.lag_bytes == Some(0)
    })
    .await;
    assert!(gate_on(&drained, "lag_bytes(e) < 1MB").0);

    // The IO thread stopped: the replica no longer hears the source, so its lag is unknown, not 0.
    replica.sql("STOP REPLICA IO_THREAD");
    let deaf = observe_until(&mut on_replica, "io stopped", |s| replica_link(s).state == "io stopped").await;
    assert_eq!((replica_link(&deaf).lag_bytes, replica_link(&deaf).lag_seconds), (None, None));
    assert!(!gate_on(&deaf, "lag_bytes(e) < 1MB").0);

    replica.kill();
    match on_replica.sample().await {
        Reading::Unreachable { error } => assert!(!error.is_empty()),
        Reading::Observed(o) => panic!("a killed replica answered: {o:?}"),
    }
    assert!(matches!(on_primary.sample().await, Reading::Observed(_)), "the primary still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_transaction_and_a_lock_wait_show_on_the_primary() {
    let primary = Mariadb::start();
    primary.sql("CREATE DATABASE app; CREATE TABLE app.t (id int PRIMARY KEY, v int); INSERT INTO app.t VALUES (1, 0)");
    let mut gauges = collector(&primary);
    let mut holder = mysql::connect(&url(&primary, "app"), Purpose::Steps).await.unwrap();
    holder.conn.query_drop("BEGIN; UPDATE t SET v = 1 WHERE id = 1").await.unwrap();
    let mut waiter = mysql::connect(&url(&primary, "app"), Purpose::Steps).await.unwrap();
    let blocked = tokio::spawn(async move {
        let _ = waiter.conn.query_drop("UPDATE t SET v = 2 WHERE id = 1").await;
    });
    let seen = observe_until(&mut gauges, "a lock waiter behind an open transaction", |s| {
        s.pool.as_ref().is_some_and(|p| p.waiting == 1 && p.idle_in_transaction == 1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let older = observe(&mut gauges).await;
    let age = older.pool.as_ref().unwrap().oldest_xact_seconds.unwrap();
    assert!(age >= 1.0, "{seen:?} then {older:?}");
    assert!(gate_on(&older, "oldest_xact_seconds(e) > 1s").0);
    holder.conn.query_drop("ROLLBACK").await.unwrap();
    blocked.await.unwrap();
    let clear = observe_until(&mut gauges, "no open transaction", |s| {
        s.pool.as_ref().is_some_and(|p| p.oldest_xact_seconds.is_none())
    })
    .await;
    assert_eq!(clear.pool.as_ref().unwrap().waiting, 0);
    // Without PROCESS the open transactions are hidden, and the figure is unknown, not 0.
    primary.sql(&format!("CREATE USER lowly@'%' IDENTIFIED BY '{PASSWORD}'; GRANT SELECT ON app.* TO lowly@'%'"));
    let text = format!(
        "[endpoints.e]\nkind = \"mysql\"\ndsn = \"mysql://lowly@127.0.0.1:{}/app\"\npassword_env = \"PW\"\n",
        primary.port
    );
    let env = |k: &str| (k == "PW").then(|| PASSWORD.to_owned());
    let mut lowly = Collector::new(inventory::parse("inv.toml", &text, &env).unwrap().endpoints.remove(0));
    let hidden = observe(&mut lowly).await;
    assert!(hidden.notes.iter().any(|n| n.contains("grant PROCESS")), "{hidden:?}");
    assert!(!gate_on(&hidden, "oldest_xact_seconds(e) < 1h").0);
}
