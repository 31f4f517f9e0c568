//! Proof that the test-support harness (tests/support) starts real servers:
//! streaming replication, logical replication, PgBouncer queueing, TLS with
//! certificate verification, and a cluster that stops and starts again.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod support;

use std::time::Duration;

use support::bouncer::{Bouncer, BouncerOptions, PoolMode};
use support::certs::Certs;
use support::pg::{Cluster, ClusterOptions, publish_and_subscribe};
use support::{simple_rows, wait_until, wait_until_async};

const SOON: Duration = Duration::from_secs(15);

#[test]
fn standby_replays_the_primary_and_the_primary_sees_it_streaming() {
    let primary = Cluster::start(ClusterOptions::default());
    primary.psql("CREATE TABLE notes (id int PRIMARY KEY, body text)");
    let standby = Cluster::standby_of(&primary);
    assert_ne!(standby.port, primary.port);
    assert_eq!(standby.application_name.as_deref(), Some("standby1"));
    assert_eq!(standby.psql("SELECT pg_is_in_recovery()"), "t");

    primary.psql("INSERT INTO notes VALUES (1, 'written on the primary')");
    wait_until("the row to reach the standby", SOON, || {
        standby.try_psql("SELECT body FROM notes WHERE id = 1").is_ok_and(|body| body == "written on the primary")
    });

    let replication = primary.psql("SELECT application_name, state FROM pg_stat_replication");
    assert!(replication.lines().any(|line| line == "standby1|streaming"), "pg_stat_replication:\n{replication}");
    // A standby is read-only.
    assert!(standby.try_psql("INSERT INTO notes VALUES (2, 'nope')").is_err());
}

#[test]
fn subscriber_receives_rows_inserted_on_the_publisher() {
    let publisher = Cluster::start(ClusterOptions::default());
    let subscriber = Cluster::start(ClusterOptions::default());
    publish_and_subscribe(&publisher, &subscriber, "CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL)");
    assert_eq!(subscriber.psql("SELECT count(*) FROM orders"), "0");

    publisher.psql("INSERT INTO orders VALUES (1, 42)");
    wait_until("the row to reach the subscriber", SOON, || {
        subscriber.psql("SELECT coalesce(sum(amount), 0) FROM orders WHERE id = 1") == "42"
    });
    let replication = publisher.psql("SELECT state FROM pg_stat_replication WHERE application_name = 's'");
    assert_eq!(replication, "streaming");
}

/// `cl_waiting` of the `app` pool.
async fn cl_waiting(admin: &tokio_postgres::Client) -> u32 {
    let pools = simple_rows(admin, "SHOW POOLS").await;
    let app = pools.iter().find(|pool| pool["database"] == "app").expect("an `app` row in SHOW POOLS");
    app["cl_waiting"].parse().expect("cl_waiting is a number")
}

#[tokio::test]
async fn pgbouncer_queues_clients_beyond_the_pool_size() {
    let cluster = Cluster::start(ClusterOptions::default());
    let bouncer =
        Bouncer::start(&cluster, BouncerOptions::default().pool_mode(PoolMode::Transaction).default_pool_size(1));
    let admin = bouncer.admin_client().await;

    // An open transaction holds the pool's only server connection...
    let holder = bouncer.app_client().await;
    holder.simple_query("BEGIN; SELECT 1").await.expect("BEGIN through pgbouncer");
    assert_eq!(cl_waiting(&admin).await, 0);

    // ...so the next client's query waits for it.
    let waiter = bouncer.app_client().await;
    let waiting = tokio::spawn(async move { simple_rows(&waiter, "SELECT 2 AS two").await });
    let admin_ref = &admin;
    wait_until_async("a client waiting in SHOW POOLS", SOON, || async move { cl_waiting(admin_ref).await >= 1 }).await;
    assert!(!waiting.is_finished(), "the second client got a server connection while the pool was full");

    // Once the transaction ends, the waiting client gets the connection.
    holder.simple_query("COMMIT").await.expect("COMMIT through pgbouncer");
    let rows = tokio::time::timeout(SOON, waiting).await.expect("the waiting client to finish").expect("join");
    assert_eq!(rows[0]["two"], "2");
    assert_eq!(cl_waiting(&admin).await, 0);
}

#[test]
fn tls_cluster_verifies_against_the_test_ca() {
    let certs = Certs::generate();
    let cluster =
        Cluster::start(ClusterOptions::default().tls(&certs).tls_only().password_user("app_user", "s3cret pass"));
    let verify_full = format!(
        "host=localhost port={} dbname=postgres sslmode=verify-full sslrootcert={}",
        cluster.port,
        certs.ca_cert.display()
    );
    let ssl_in_use = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    assert_eq!(cluster.psql_conninfo(&format!("{verify_full} user=postgres"), ssl_in_use).unwrap(), "t");

    // The password user: scram over TLS, with the right password only.
    let app_user = format!("{verify_full} user=app_user password='s3cret pass'");
    assert_eq!(cluster.psql_conninfo(&app_user, "SELECT current_user").unwrap(), "app_user");
    let wrong = format!("{verify_full} user=app_user password=wrong");
    let err = cluster.psql_conninfo(&wrong, "SELECT 1").unwrap_err();
    assert!(err.contains("password authentication failed"), "{err}");

    // hostssl only: a plain TCP connection is turned away.
    let err = cluster.psql_conninfo(&format!("{} sslmode=disable", cluster.dsn()), "SELECT 1").unwrap_err();
    assert!(err.contains("no encryption"), "{err}");

    // Another CA does not vouch for this server.
    let other = Certs::generate();
    let err = cluster
        .psql_conninfo(
            &format!(
                "host=localhost port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
                cluster.port,
                other.ca_cert.display()
            ),
            "SELECT 1",
        )
        .unwrap_err();
    assert!(err.contains("certificate verify failed"), "{err}");
}

#[tokio::test]
async fn stopped_cluster_refuses_connections_and_accepts_them_when_started_again() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let port = cluster.port;
    let client = cluster.client().await;
    assert_eq!(client.query_one("SELECT 1::int4", &[]).await.unwrap().get::<_, i32>(0), 1);

    cluster.stop();
    assert!(!cluster.is_running());
    assert!(client.simple_query("SELECT 1").await.is_err(), "a connection survived the stop");
    assert!(cluster.try_client().await.is_err(), "a stopped cluster accepted a connection");
    assert!(cluster.try_psql("SELECT 1").is_err());
    cluster.stop(); // idempotent

    cluster.start_again();
    assert_eq!(cluster.port, port);
    let client = cluster.client().await;
    assert_eq!(client.query_one("SELECT 2::int4", &[]).await.unwrap().get::<_, i32>(0), 2);

    // A fast stop keeps what was committed just before it.
    cluster.psql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)");
    cluster.stop_fast();
    cluster.start_again();
    assert_eq!(cluster.psql("SELECT v FROM kept"), "7");
}
