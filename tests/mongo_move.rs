//! The shipped `runbooks/mongo-replicaset-move.toml`, run headless by the real
//! binary against a real 3-member replica set and 3 new empty mongod: it must
//! end with a new member as primary, only new members in the config, every
//! document on every new member, the application's connection writing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use mongodb::bson::{Document, doc};
use support::mongo::{ReplicaSet, client};

const DOCS: i32 = 3_000;
const RUNBOOK: &str = "runbooks/mongo-replicaset-move.toml";

fn inventory(dir: &std::path::Path, set: &ReplicaSet) -> std::path::PathBuf {
    let mut text = format!(
        "name = \"move\"\ninterval = \"500ms\"\n[endpoints.set]\nkind = \"mongodb\"\nuri = \"{}\"\n",
        set.uri().replace("/?", "/app?")
    );
    for (name, i) in [("old1", 0), ("old2", 1), ("old3", 2), ("new1", 3), ("new2", 4), ("new3", 5)] {
        let uri = set.member_uri(i).replace("/?", "/app?");
        text.push_str(&format!("[endpoints.{name}]\nkind = \"mongodb\"\nuri = \"{uri}\"\n"));
    }
    let path = dir.join("inventory.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A 3-member set holding [`DOCS`] documents, and 3 new empty mongod.
fn start(name: &str) -> (ReplicaSet, Vec<usize>, tokio::runtime::Runtime) {
    let mut set = ReplicaSet::start(name, 3);
    let new: Vec<usize> = (0..3).map(|_| set.spawn_extra()).collect();
    assert_eq!(new, vec![3, 4, 5]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client(&set.uri()).await;
        let docs: Vec<Document> =
            (0..DOCS).map(|i| doc! { "_id": i, "n": i, "tags": ["a", "b"], "at": { "x": i } }).collect();
        let coll = c.database("app").collection::<Document>("items");
        coll.insert_many(docs).await.unwrap();
    });
    (set, new, rt)
}

fn cutover(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.current_dir(env!("CARGO_MANIFEST_DIR")).args(args).env("RUST_BACKTRACE", "0");
    c
}

/// The hosts in the set's config, as `member` sees it.
fn config_hosts(set: &ReplicaSet, rt: &tokio::runtime::Runtime, member: usize) -> BTreeSet<String> {
    let config = rt.block_on(async {
        let c = client(&set.member_uri(member)).await;
        c.database("admin").run_command(doc! { "replSetGetConfig": 1 }).await.unwrap()
    });
    config
        .get_document("config")
        .unwrap()
        .get_array("members")
        .unwrap()
        .iter()
        .map(|m| m.as_document().unwrap().get_str("host").unwrap().to_owned())
        .collect()
}

fn count(set: &ReplicaSet, rt: &tokio::runtime::Runtime, member: usize, collection: &str) -> u64 {
    rt.block_on(async {
        let c = client(&set.member_uri(member)).await;
        c.database("app").collection::<Document>(collection).count_documents(doc! {}).await.unwrap()
    })
}

#[test]
fn the_replica_set_moves_to_three_new_members() {
    let (set, new, rt) = start("move");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &set);
    let journal = dir.path().join("move.jsonl");
    let out = cutover(&["run", RUNBOOK, "--yes", "--allow-manual", "--operator", "drill", "--inventory"])
        .arg(&inv)
        .arg("--journal")
        .arg(&journal)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Each membership change was its own reconfig.
    for made in ["2.1 ok: 3 of 3 change(s) made on set", "5.1 ok: 1 of 1 change(s)", "6.2 ok: 3 of 3 change(s)"] {
        assert!(stdout.contains(made), "{made}:\n{stdout}");
    }
    assert!(stdout.contains("4.1 ok: 1 collection equal"), "{stdout}");

    // A new member is primary, and the config holds the new members only.
    let primary = set.primary();
    assert!(new.contains(&primary), "member {primary} is primary, not one of {new:?}\n{stdout}");
    assert_eq!(config_hosts(&set, &rt, primary), new.iter().map(|i| set.host(*i)).collect::<BTreeSet<_>>());

    // Every document on every new member; the application's write landed.
    for i in &new {
        assert_eq!(count(&set, &rt, *i, "items"), u64::try_from(DOCS).unwrap(), "documents on member {i}");
        assert_eq!(count(&set, &rt, *i, "cutover_probe"), 1, "the probe written through the set's uri, on {i}");
    }
    // The old members know they are out.
    for i in 0..3 {
        let err = set.status(i).unwrap_err().to_string();
        assert!(err.contains("InvalidReplicaSetConfig") || err.contains("not a member"), "member {i}: {err}");
    }
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("\"event\":\"finished\",\"outcome\":\"completed\""), "{text}");
    assert!(!text.contains("\"outcome\":\"rolled_back\""), "{text}");
}

/// Killed after the switch, the run is rolled back from the command line:
/// the old members are primary again, the new ones out, nothing lost.
#[test]
fn a_move_killed_after_the_switch_rolls_back() {
    let (set, new, rt) = start("back");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &set);
    let journal = dir.path().join("move.jsonl");
    let mut child = cutover(&["run", RUNBOOK, "--yes", "--allow-manual", "--operator", "drill", "--inventory"])
        .arg(&inv)
        .arg("--journal")
        .arg(&journal)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Step 6.1 holds its condition for 10 s: kill it there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while !std::fs::read_to_string(&journal).unwrap_or_default().contains(r#""event":"step_started","step":"6.1""#) {
        assert!(std::time::Instant::now() < deadline, "the run never reached 6.1");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(new.contains(&set.primary()), "the switch happened before the kill");

    let out = cutover(&["resume", "--yes", "--allow-manual", "--rollback", "--operator", "night-shift"])
        .arg(&journal)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "rolled back:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let primary = set.primary();
    assert!(primary < 3, "member {primary} is primary, not an old one\n{stdout}");
    assert_eq!(config_hosts(&set, &rt, primary), (0..3).map(|i| set.host(i)).collect::<BTreeSet<_>>());
    assert_eq!(count(&set, &rt, primary, "items"), u64::try_from(DOCS).unwrap());
    assert_eq!(count(&set, &rt, primary, "cutover_probe"), 1, "the write made on the new primary survives");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains(r#""event":"interrupted","step":"6.1""#), "{text}");
    assert!(text.contains("resume --rollback"), "{text}");
}
