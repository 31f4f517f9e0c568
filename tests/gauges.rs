//! The PostgreSQL and PgBouncer gauges against real servers started here:
//! a primary with a streaming standby, a publisher and a subscriber, a
//! PgBouncer, a TLS-only server. What an operator relies on at the switch.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use cutover::collect::Collector;
use cutover::events::{Action, EndpointSample, LinkKind, Reading, Role};
use cutover::inventory::{self, Endpoint};
use support::bouncer::{Bouncer, BouncerOptions, PoolMode};
use support::certs::Certs;
use support::observe::{observe, observe_until};
use support::pg::{Cluster, ClusterOptions, publish_and_subscribe};

const MB: u64 = 1024 * 1024;
const WAIT: Duration = Duration::from_secs(60);

/// Endpoints from an inventory text, as `cutover` would read it.
fn endpoints(text: &str, env: &[(&str, &str)]) -> Vec<Endpoint> {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let lookup = move |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| (k == "USER").then(|| "postgres".to_owned()))
    };
    match inventory::parse("test-inventory.toml", text, &lookup) {
        Ok(inv) => inv.endpoints,
        Err(errors) => panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")),
    }
}

fn one(kind: &str, dsn: &str) -> Collector {
    let text = format!("[endpoints.e]\nkind = \"{kind}\"\ndsn = \"{dsn}\"\n");
    Collector::new(endpoints(&text, &[]).remove(0))
}

fn link<'a>(sample: &'a EndpointSample, kind: LinkKind, name: &str) -> Option<&'a cutover::events::ReplicationLink> {
    sample.replication.iter().find(|l| l.kind == kind && l.name == name)
}

/// Write about `mb` megabytes of WAL on the primary.
fn write_wal(cluster: &Cluster, mb: u32) {
    cluster.psql(&format!(
        "CREATE TABLE IF NOT EXISTS filler (id serial, pad text); \
         INSERT INTO filler (pad) SELECT repeat(md5(g::text), 30) FROM generate_series(1, {}) g;",
        mb * 1000
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_replay_shows_lag_in_bytes_and_seconds_and_resuming_clears_it() {
    let primary = Cluster::start(ClusterOptions::default());
    let standby = Cluster::standby_of(&primary);
    let mut on_primary = one("postgres", &primary.dsn());
    let mut on_standby = one("postgres", &standby.dsn());

    let first = observe_until(&mut on_primary, "the standby streaming", |s| {
        link(s, LinkKind::Physical, "standby1").is_some_and(|l| l.state == "streaming")
    })
    .await;
    assert!(first.roles.contains(&Role::Primary));
    let standby_first = observe(&mut on_standby).await;
    assert!(standby_first.roles.contains(&Role::Standby));
    assert_eq!(link(&standby_first, LinkKind::Physical, "replay").and_then(|l| l.replay_paused), Some(false));

    // A standby that has replayed nothing has no replay timestamp yet: let it
    // replay one transaction first, as any standby in service has.
    primary.psql("CREATE TABLE warmup (id int); INSERT INTO warmup VALUES (1);");
    support::wait_until("the standby replays a transaction", WAIT, || {
        standby.psql("SELECT pg_last_xact_replay_timestamp() IS NOT NULL") == "t"
    });
    standby.psql("SELECT pg_wal_replay_pause()");
    write_wal(&primary, 12);
    let behind = observe_until(&mut on_primary, "replay lag past 5 MB", |s| {
        link(s, LinkKind::Physical, "standby1").and_then(|l| l.lag_bytes).is_some_and(|b| b > 5 * MB)
    })
    .await;
    let l = link(&behind, LinkKind::Physical, "standby1").unwrap();
    assert!(l.sent_lag_bytes.unwrap() < l.lag_bytes.unwrap(), "sent is ahead of replay: {l:?}");
    assert_eq!(l.sync_state.as_deref(), Some("async"));

    let seen_by_standby = observe_until(&mut on_standby, "the standby's own view of the pause", |s| {
        link(s, LinkKind::Physical, "replay").is_some_and(|l| l.lag_bytes.unwrap_or(0) > 5 * MB)
    })
    .await;
    let own = link(&seen_by_standby, LinkKind::Physical, "replay").unwrap();
    assert_eq!(own.replay_paused, Some(true));
    assert_eq!(own.state, "replay paused");
    assert!(own.lag_seconds.is_some_and(|s| s > 0.0), "a paused replay has lag in seconds too: {own:?}");

    standby.psql("SELECT pg_wal_replay_resume()");
    observe_until(&mut on_primary, "replay lag back near zero", |s| {
        link(s, LinkKind::Physical, "standby1").and_then(|l| l.lag_bytes).is_some_and(|b| b < 64 * 1024)
    })
    .await;
    observe_until(&mut on_standby, "the standby caught up", |s| {
        link(s, LinkKind::Physical, "replay").is_some_and(|l| l.lag_bytes == Some(0) && l.replay_paused == Some(false))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_queued_behind_a_small_pool_show_as_waiting() {
    let cluster = Cluster::start(ClusterOptions::default());
    let bouncer = Bouncer::start(&cluster, BouncerOptions::default().pool_mode(PoolMode::Session).default_pool_size(1));
    let holder = bouncer.app_client().await;
    let hold = tokio::spawn(async move { holder.simple_query("SELECT pg_sleep(4)").await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let app_dsn = bouncer.app_dsn();
    let queued = tokio::spawn(async move {
        let client = support::connect(&app_dsn).await;
        client.simple_query("SELECT 1").await.map(|_| ())
    });

    let mut collector = one("pgbouncer", &bouncer.admin_dsn());
    let sample = observe_until(&mut collector, "a waiting client", |s| {
        s.bouncer.iter().any(|p| p.database == "app" && p.cl_waiting >= 1)
    })
    .await;
    let pool = sample.bouncer.iter().find(|p| p.database == "app").unwrap();
    assert_eq!(pool.pool_size, 1);
    assert_eq!(pool.sv_active, 1);
    assert!(sample.roles.contains(&Role::Pooler));
    assert!(sample.bouncer.iter().all(|p| p.database != "pgbouncer"), "the admin pseudo-database is not a pool");
    hold.await.unwrap().unwrap();
    queued.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_whose_subscriber_is_disabled_retains_growing_wal() {
    let source = Cluster::start(ClusterOptions::default());
    let target = Cluster::start(ClusterOptions::default());
    publish_and_subscribe(&source, &target, "CREATE TABLE orders (id bigint PRIMARY KEY, note text);");
    let mut on_source = one("postgres", &source.dsn());
    let mut on_target = one("postgres", &target.dsn());

    let streaming = observe(&mut on_target).await;
    let sub = link(&streaming, LinkKind::Subscription, "s").expect("the subscription");
    assert_eq!(sub.state, "streaming");
    assert_eq!((sub.tables_ready, sub.tables_total), (Some(1), Some(1)));
    assert!(streaming.roles.contains(&Role::Subscriber));
    let live = observe_until(&mut on_source, "an active logical slot", |s| {
        link(s, LinkKind::Slot, "s").is_some_and(|l| l.state == "logical")
    })
    .await;
    assert!(live.roles.contains(&Role::Publisher));
    assert_eq!(link(&live, LinkKind::Slot, "s").unwrap().wal_status.as_deref(), Some("reserved"));

    target.psql("ALTER SUBSCRIPTION s DISABLE");
    let stopped = observe_until(&mut on_target, "the subscription disabled", |s| {
        link(s, LinkKind::Subscription, "s").is_some_and(|l| l.state == "disabled")
    })
    .await;
    assert!(stopped.roles.contains(&Role::Subscriber));
    let before = observe_until(&mut on_source, "the slot inactive", |s| {
        link(s, LinkKind::Slot, "s").is_some_and(|l| l.state == "inactive logical")
    })
    .await;
    let retained_before = link(&before, LinkKind::Slot, "s").unwrap().retained_bytes.unwrap();
    source.psql(
        "INSERT INTO orders SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 20000) g; SELECT pg_switch_wal();",
    );
    let after = observe_until(&mut on_source, "retained WAL growing", |s| {
        link(s, LinkKind::Slot, "s").and_then(|l| l.retained_bytes).is_some_and(|r| r > retained_before + 5 * MB)
    })
    .await;
    let slot = link(&after, LinkKind::Slot, "s").unwrap();
    assert!(slot.lag_bytes.unwrap() > 5 * MB, "confirmed_flush_lsn falls behind: {slot:?}");
    let disk = after.disk.as_ref().unwrap();
    assert_eq!(disk.slot_retained_bytes, slot.retained_bytes, "the disk pane counts what the slot holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_stops_is_unreachable_and_comes_back_by_itself() {
    let primary = Cluster::start(ClusterOptions::default());
    let mut standby = Cluster::standby_of(&primary);
    let text = format!(
        "[endpoints.primary]\nkind = \"postgres\"\ndsn = \"{}\"\n[endpoints.standby]\nkind = \"postgres\"\ndsn = \"{}\"\n",
        primary.dsn(),
        standby.dsn()
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let tasks = cutover::collect::spawn(endpoints(&text, &[]), Duration::from_millis(200), &tx);
    let mut next = async |want_up: bool| {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let action =
                tokio::time::timeout_at(deadline, rx.recv()).await.expect("a sample in time").expect("channel open");
            if let Action::Sample(s) = action {
                if s.endpoint == "standby" && matches!(s.reading, Reading::Observed(_)) == want_up {
                    return s;
                }
            }
        }
    };
    next(true).await;
    standby.stop();
    let down = next(false).await;
    let Reading::Unreachable { error } = &down.reading else { unreachable!() };
    assert!(!error.is_empty());
    standby.start_again();
    let back = next(true).await;
    assert!(back.at > down.at);
    for task in tasks {
        task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_require_and_verify_full_against_a_real_certificate() {
    let certs = Certs::generate();
    let cluster = Cluster::start(ClusterOptions::default().tls(&certs).tls_only().password_user("watcher", "pw-1234"));
    let base = format!("host=localhost port={} user=watcher dbname=postgres", cluster.port);
    let ca = certs.ca_cert.display().to_string();
    let inventory = |mode: &str, extra: &str| {
        format!(
            "[endpoints.db]\nkind = \"postgres\"\ndsn = \"{base} sslmode={mode} {extra}\"\npassword_env = \"DB_PASSWORD\"\n"
        )
    };
    let env = [("DB_PASSWORD", "pw-1234")];
    for (mode, extra) in [("require", String::new()), ("verify-full", format!("sslrootcert={ca}"))] {
        let mut collector = Collector::new(endpoints(&inventory(mode, &extra), &env).remove(0));
        let sample = observe(&mut collector).await;
        assert!(sample.pool.is_some(), "{mode}: {sample:?}");
    }
    // A server certificate from another CA fails verify-full, with a reason.
    let other = Certs::generate();
    let wrong = format!("sslrootcert={}", other.ca_cert.display());
    let mut collector = Collector::new(endpoints(&inventory("verify-full", &wrong), &env).remove(0));
    match collector.sample().await {
        Reading::Unreachable { error } => assert!(error.to_lowercase().contains("certificate"), "{error}"),
        Reading::Observed(_) => panic!("verify-full accepted a certificate from an unknown CA"),
    }
    // Without TLS the server refuses (hostssl only).
    let mut plain = Collector::new(endpoints(&inventory("disable", ""), &env).remove(0));
    assert!(matches!(plain.sample().await, Reading::Unreachable { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_privilege_degrades_one_figure_not_the_endpoint() {
    let cluster = Cluster::start(ClusterOptions::default().password_user("plain", "pw-plain"));
    let text = format!(
        "[endpoints.db]\nkind = \"postgres\"\ndsn = \"{}\"\npassword_env = \"PW\"\n",
        cluster.dsn_as("plain", "postgres")
    );
    let mut collector = Collector::new(endpoints(&text, &[("PW", "pw-plain")]).remove(0));
    let sample = observe(&mut collector).await;
    assert!(sample.pool.is_some());
    let disk = sample.disk.as_ref().unwrap();
    assert!(disk.database_bytes.is_some(), "database sizes need only CONNECT");
    assert_eq!(disk.wal_bytes, None);
    assert!(sample.notes.iter().any(|n| n.starts_with("wal_bytes: permission denied")), "{:?}", sample.notes);

    cluster.psql("GRANT pg_monitor TO plain");
    let mut again = Collector::new(endpoints(&text, &[("PW", "pw-plain")]).remove(0));
    let sample = observe(&mut again).await;
    assert!(sample.disk.as_ref().unwrap().wal_bytes.is_some_and(|b| b > 0), "{:?}", sample.notes);
}

/// `statement` through `client` is refused as a write in a read-only transaction.
async fn refused_as_a_write(client: &tokio_postgres::Client, statement: &str) {
    let err = client.batch_execute(statement).await.expect_err("a write through a read-only session");
    let message = err.as_db_error().map(|e| e.message().to_owned()).unwrap_or_else(|| err.to_string());
    assert!(message.contains("read-only transaction"), "{statement}: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauge_and_verification_sessions_cannot_write() {
    let cluster = support::pg::shared_cluster();
    cluster.psql("CREATE TABLE IF NOT EXISTS read_only_probe (id int)");
    let insert = "INSERT INTO read_only_probe VALUES (1)";

    // The collector's own session, as it sampled with it.
    let mut collector = one("postgres", &cluster.dsn());
    observe(&mut collector).await;
    let session = collector.client().expect("the collector is connected");
    let shown = support::simple_rows(session, "SHOW default_transaction_read_only").await;
    assert_eq!(shown[0]["default_transaction_read_only"], "on");
    refused_as_a_write(session, insert).await;
    refused_as_a_write(session, "CREATE TABLE read_only_new (id int)").await;

    // Every session a verification opens.
    let endpoint = collector.endpoint().clone();
    let sessions = cutover::verify::sessions(&endpoint, 2).await.unwrap();
    assert_eq!(sessions.len(), 2);
    for session in &sessions {
        refused_as_a_write(session, insert).await;
    }
    assert_eq!(cluster.psql("SELECT count(*) FROM read_only_probe"), "0");
}

/// Whether `condition` holds on the cockpit's state after it heard `sample` from `name`, and why.
fn gate_on(name: &str, sample: &EndpointSample, condition: &str) -> (bool, String) {
    let now = chrono::Utc::now();
    let mut state = cutover::state::State::new("test");
    let heard = cutover::events::Sample {
        at: now,
        endpoint: name.to_owned(),
        kind: cutover::events::EndpointKind::Postgres,
        reading: Reading::Observed(sample.clone()),
    };
    state.update(&Action::Sample(heard));
    state.update(&Action::Tick { now });
    let verdict = cutover::condition::parse(condition).unwrap().eval(&state);
    (verdict.holds, verdict.reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_that_stops_receiving_has_no_lag_figure_and_its_gate_stays_shut() {
    let primary = Cluster::start(ClusterOptions::default());
    let standby = Cluster::standby_of(&primary);
    let mut on_standby = one("postgres", &standby.dsn());
    let streaming = observe_until(&mut on_standby, "the standby streaming", |s| {
        link(s, LinkKind::Physical, "replay").is_some_and(|l| l.state == "streaming" && l.lag_bytes.is_some())
    })
    .await;
    assert!(gate_on("standby", &streaming, "lag_bytes(standby) < 1MB").0, "a streaming standby's gate opens");

    // Stop its WAL receiver; the primary goes on writing.
    standby.psql("ALTER SYSTEM SET primary_conninfo = ''");
    standby.psql("SELECT pg_reload_conf()");
    support::wait_until("the WAL receiver gone", WAIT, || {
        standby.psql("SELECT count(*) FROM pg_stat_wal_receiver") == "0"
    });
    write_wal(&primary, 4);
    let behind: i64 = primary
        .psql(&format!(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{}')::bigint",
            standby.psql("SELECT pg_last_wal_receive_lsn()")
        ))
        .parse()
        .unwrap();
    assert!(behind > 2 * 1024 * 1024, "the primary moved on: {behind} bytes");

    let stopped = observe(&mut on_standby).await;
    let own = link(&stopped, LinkKind::Physical, "replay").expect("the standby's own replay link");
    assert_eq!((own.lag_bytes, own.lag_seconds), (None, None), "{own:?}");
    assert!(own.state.starts_with("not streaming"), "{own:?}");
    for condition in ["lag_bytes(standby) < 1MB", "lag_seconds(standby) < 5s", "not (lag_bytes(standby) >= 1MB)"] {
        let (holds, reason) = gate_on("standby", &stopped, condition);
        assert!(!holds, "{condition} held on a standby that receives nothing: {reason}");
        assert!(reason.contains("unknown") && reason.contains("not streaming"), "{condition}: {reason}");
    }
}
