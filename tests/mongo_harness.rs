//! Proof that the MongoDB test harness (tests/support/mongo.rs) starts a real
//! replica set: writes replicate to the secondaries, `replSetGetStatus` shows
//! one PRIMARY and two SECONDARY, an fsync-locked secondary falls behind and
//! catches up after unlock, a stopped member is reported unhealthy and comes
//! back, and an extra member joins with `replSetReconfig`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use mongodb::bson::{Bson, DateTime, Document, Timestamp, doc};
use mongodb::options::WriteConcern;
use support::mongo::{ReplicaSet, client};
use support::wait_until_async;

const SOON: Duration = Duration::from_secs(30);

/// `replSetGetStatus` through `client` (a direct connection to one member).
async fn status(client: &mongodb::Client) -> Document {
    client.database("admin").run_command(doc! { "replSetGetStatus": 1 }).await.expect("replSetGetStatus")
}

/// The member named `host` in a `replSetGetStatus` reply.
fn member<'a>(status: &'a Document, host: &str) -> &'a Document {
    status
        .get_array("members")
        .unwrap()
        .iter()
        .filter_map(Bson::as_document)
        .find(|m| m.get_str("name") == Ok(host))
        .unwrap_or_else(|| panic!("no member {host} in {status:#?}"))
}

fn optime(member: &Document) -> Timestamp {
    member.get_document("optime").unwrap().get_timestamp("ts").unwrap()
}

fn optime_date(member: &Document) -> DateTime {
    *member.get_datetime("optimeDate").unwrap()
}

/// Insert `count` documents `{batch, i}` through `client` with `w: 1`.
async fn insert(client: &mongodb::Client, batch: i32, count: i32) {
    let docs: Vec<Document> = (0..count).map(|i| doc! { "batch": batch, "i": i }).collect();
    client
        .database("smoke")
        .collection::<Document>("notes")
        .insert_many(docs)
        .write_concern(WriteConcern::nodes(1))
        .await
        .expect("insert with w: 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_member_set_replicates_lags_under_fsync_lock_and_reports_a_stopped_member() {
    let mut set = ReplicaSet::start("smoke", 3);
    assert_eq!(set.name(), "smoke");
    assert_eq!(set.host(1), format!("127.0.0.1:{}", set.port(1)));
    assert_eq!(set.uri(), format!("mongodb://{},{},{}/?replicaSet=smoke", set.host(0), set.host(1), set.host(2)));
    assert_eq!(set.member_uri(2), format!("mongodb://{}/?directConnection=true", set.host(2)));

    // One PRIMARY, two SECONDARY, and primary() agrees.
    let p = set.primary();
    let on_primary = client(&set.member_uri(p)).await;
    let s = status(&on_primary).await;
    let states: Vec<&str> = (0..3).map(|i| member(&s, &set.host(i)).get_str("stateStr").unwrap()).collect();
    assert_eq!(states.iter().filter(|state| **state == "PRIMARY").count(), 1, "{states:?}");
    assert_eq!(states.iter().filter(|state| **state == "SECONDARY").count(), 2, "{states:?}");
    assert_eq!(states[p], "PRIMARY");
    let (locked, other) = match p {
        0 => (1, 2),
        1 => (2, 0),
        _ => (0, 1),
    };

    // Writes through the set's URI reach a secondary.
    let writer = client(&set.uri()).await;
    insert(&writer, 1, 10).await;
    let reader = client(&format!("{}&readPreference=secondary", set.member_uri(locked))).await;
    let notes = reader.database("smoke").collection::<Document>("notes");
    wait_until_async("the documents to reach a secondary", SOON, || async {
        notes.count_documents(doc! { "batch": 1 }).await.is_ok_and(|n| n == 10)
    })
    .await;

    // An fsync-locked secondary falls behind, the other one keeps up.
    let on_locked = client(&set.member_uri(locked)).await;
    on_locked.database("admin").run_command(doc! { "fsync": 1, "lock": true }).await.expect("fsyncLock");
    let (locked_host, other_host, primary_host) = (set.host(locked), set.host(other), set.host(p));
    let mut batch = 2;
    wait_until_async("the fsync-locked secondary to fall behind", SOON, || {
        batch += 1;
        let (writer, on_primary) = (&writer, &on_primary);
        let (locked_host, primary_host) = (&locked_host, &primary_host);
        async move {
            insert(writer, batch, 1).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let s = status(on_primary).await;
            optime_date(member(&s, locked_host)) < optime_date(member(&s, primary_host))
        }
    })
    .await;
    wait_until_async("the other secondary to keep up", SOON, || async {
        let s = status(&on_primary).await;
        optime(member(&s, &other_host)) == optime(member(&s, &primary_host))
    })
    .await;
    let s = status(&on_primary).await;
    assert!(optime(member(&s, &locked_host)) < optime(member(&s, &primary_host)), "{s:#?}");

    // Unlocked, it catches up.
    on_locked.database("admin").run_command(doc! { "fsyncUnlock": 1 }).await.expect("fsyncUnlock");
    wait_until_async("the unlocked secondary to catch up", SOON, || async {
        let s = status(&on_primary).await;
        optime(member(&s, &locked_host)) == optime(member(&s, &primary_host))
    })
    .await;
    assert_eq!(notes.count_documents(doc! {}).await.unwrap(), 10 + u64::try_from(batch - 2).unwrap());

    // A stopped member is unhealthy to the others, and comes back.
    set.stop(other);
    assert!(!set.is_running(other));
    let on_locked_secondary = client(&set.member_uri(locked)).await;
    for viewer in [&on_primary, &on_locked_secondary] {
        wait_until_async("the stopped member to be reported unhealthy", SOON, || async {
            let s = status(viewer).await;
            member(&s, &other_host).get_f64("health") == Ok(0.0)
        })
        .await;
    }
    set.start_again(other);
    set.wait_ready();
    let s = status(&on_primary).await;
    assert_eq!(member(&s, &other_host).get_str("stateStr"), Ok("SECONDARY"));
    assert_eq!(member(&s, &other_host).get_f64("health"), Ok(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_member_joins_with_replset_reconfig() {
    let mut set = ReplicaSet::start("grow", 1);
    assert_eq!(set.primary(), 0);
    let extra = set.spawn_extra();
    assert_eq!(extra, 1);
    assert_eq!(set.uri(), format!("mongodb://{},{}/?replicaSet=grow", set.host(0), set.host(1)));

    // Not in the set yet.
    let on_extra = client(&set.member_uri(extra)).await;
    let err = on_extra.database("admin").run_command(doc! { "replSetGetStatus": 1 }).await.unwrap_err();
    assert!(err.to_string().contains("NotYetInitialized"), "{err}");

    let admin = client(&set.member_uri(0)).await.database("admin");
    let mut config =
        admin.run_command(doc! { "replSetGetConfig": 1 }).await.unwrap().get_document("config").unwrap().clone();
    let version = config.get_i32("version").unwrap();
    let mut members = config.get_array("members").unwrap().clone();
    members.push(Bson::Document(doc! { "_id": 1, "host": set.host(extra) }));
    config.insert("members", members);
    config.insert("version", version + 1);
    admin.run_command(doc! { "replSetReconfig": config }).await.expect("replSetReconfig");

    set.wait_ready();
    let s = status(&client(&set.member_uri(0)).await).await;
    assert_eq!(member(&s, &set.host(extra)).get_str("stateStr"), Ok("SECONDARY"));
}
