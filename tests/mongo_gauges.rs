//! MongoDB gauges against a real 3-member replica set started by the test:
//! member lag from `replSetGetStatus` grows while a secondary is fsync-locked
//! and comes back after unlock; connections rise with clients; disk figures
//! are real; a stopped member shows as unreachable while the screen runs on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use mongodb::bson::doc;
use serde_json::Value;
use support::mongo::{ReplicaSet, client};
use support::tmux::Tmux;

fn inventory(dir: &std::path::Path, set: &ReplicaSet) -> std::path::PathBuf {
    let path = dir.join("inventory.toml");
    let text = format!(
        "name = \"mongo\"\ninterval = \"500ms\"\n[endpoints.set]\nkind = \"mongodb\"\nuri = \"{}\"\n",
        set.uri()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `cutover status --json`'s document for the endpoint `set`.
fn status(inv: &std::path::Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["status", "--json", "--inventory"])
        .arg(inv)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["endpoints"][0].clone()
}

fn member<'a>(endpoint: &'a Value, host: &str) -> &'a Value {
    endpoint["replication"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == host)
        .unwrap_or_else(|| panic!("no member {host} in {endpoint:#}"))
}

/// Wait until `check` holds for a fresh status document.
fn wait_status(what: &str, inv: &std::path::Path, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let e = status(inv);
        if check(&e) {
            return e;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}:\n{e:#}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn member_lag_connections_and_disk_from_a_real_replica_set() {
    let set = ReplicaSet::start("gauges", 3);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &set);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let primary = set.primary();
    let secondary = (0..3).find(|i| *i != primary).unwrap();

    let e = wait_status("two secondaries in sight", &inv, |e| {
        e["reachable"] == true
            && e["replication"]
                .as_array()
                .is_some_and(|l| l.len() == 2 && l.iter().all(|m| m["state"] == "SECONDARY" && m["kind"] == "member"))
    });
    assert!(e["roles"].as_array().unwrap().iter().any(|r| r == "primary"), "{e:#}");
    assert!(e["server_version"].as_str().unwrap().starts_with("MongoDB "), "{e:#}");
    assert!(e["disk"]["total_bytes"].as_u64().unwrap() > 0, "{e:#}");
    assert!(e["disk"]["free_bytes"].as_u64().unwrap() > 0, "{e:#}");
    assert!(e["oplog_window_seconds"].as_f64().is_some(), "{e:#}");
    // connPoolStats: the primary's own connections to the other members.
    assert!(e["pool"]["outgoing"]["created"].as_u64().unwrap() > 0, "{e:#}");
    let before = e["pool"]["connections"].as_u64().unwrap();

    // Connections rise when clients connect.
    let clients: Vec<mongodb::Client> = rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..8 {
            let c = client(&set.member_uri(primary)).await;
            c.database("admin").run_command(doc! { "ping": 1 }).await.unwrap();
            clients.push(c);
        }
        clients
    });
    wait_status("more connections", &inv, |e| e["pool"]["connections"].as_u64().unwrap_or(0) >= before + 6);
    drop(clients);

    // A locked secondary falls behind while the primary takes writes, then catches up.
    let host = set.host(secondary);
    rt.block_on(async {
        let c = client(&set.member_uri(secondary)).await;
        // Right after initiation a checkpoint may not be possible yet: retry.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match c.database("admin").run_command(doc! { "fsync": 1, "lock": true }).await {
                Ok(_) => break,
                Err(e) => assert!(std::time::Instant::now() < deadline, "fsyncLock: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let writer = {
        let uri = set.member_uri(primary);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let c = client(&uri).await;
                let coll = c.database("app").collection::<mongodb::bson::Document>("events");
                for i in 0..80 {
                    coll.insert_one(doc! { "i": i }).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            });
        })
    };
    let other = set.host((0..3).find(|i| *i != primary && *i != secondary).unwrap());
    // The primary learns members' positions with a little delay, so the free
    // secondary may show a second or two; the locked one falls further behind.
    wait_status("the locked secondary behind, the other not", &inv, |e| {
        let locked = member(e, &host)["lag_seconds"].as_f64().unwrap_or(0.0);
        let free = member(e, &other)["lag_seconds"].as_f64().unwrap_or(f64::MAX);
        locked >= 3.0 && free + 2.0 <= locked
    });
    writer.join().unwrap();
    rt.block_on(async {
        let c = client(&set.member_uri(secondary)).await;
        c.database("admin").run_command(doc! { "fsyncUnlock": 1 }).await.unwrap();
    });
    wait_status("the secondary caught up", &inv, |e| member(e, &host)["lag_seconds"].as_f64().is_some_and(|s| s < 1.0));
}

#[test]
fn a_stopped_member_shows_unreachable_and_the_screen_runs_on() {
    let mut set = ReplicaSet::start("down", 3);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &set);
    let primary = set.primary();
    let victim = (0..3).find(|i| *i != primary).unwrap();
    let command = format!(
        "env TERM=xterm-256color LANG=C.UTF-8 {} watch --inventory {}",
        env!("CARGO_BIN_EXE_cutover"),
        inv.display()
    );
    let tmux = Tmux::start("mongo-watch", 200, 36, &command);
    tmux.wait_for("both secondaries on screen", |s| s.matches("SECONDARY").count() >= 2);
    set.stop(victim);
    let e = wait_status("the member unreachable", &inv, |e| member(e, &set.host(victim))["state"] == "unreachable");
    assert!(member(&e, &set.host(victim))["lag_seconds"].is_null(), "no lag for a member that does not answer");
    tmux.wait_for("the member unreachable on screen", |s| s.contains("unreachable"));
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.stderr());
}

#[test]
fn a_runbook_runs_mongo_commands_headless() {
    let set = ReplicaSet::start("steps", 3);
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.toml");
    let uri = set.uri().replace("/?", "/app?");
    std::fs::write(
        &inv,
        format!("name = \"m\"\ninterval = \"500ms\"\n[endpoints.set]\nkind = \"mongodb\"\nuri = \"{uri}\"\n"),
    )
    .unwrap();
    let journal = dir.path().join("run.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "tests/fixtures/run/mongo-steps.toml", "--yes", "--operator", "bot", "--inventory"])
        .arg(&inv)
        .arg("--journal")
        .arg(&journal)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1.3 ok: ok on set"), "{stdout}");
    assert!(stdout.contains("\"n\":2"), "count's reply is the output:\n{stdout}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let names: Vec<String> = rt.block_on(async {
        let c = client(&set.uri()).await;
        let coll = c.database("app").collection::<mongodb::bson::Document>("markers");
        let mut cursor = coll.find(doc! {}).sort(doc! { "n": 1 }).await.unwrap();
        let mut names = Vec::new();
        while cursor.advance().await.unwrap() {
            names.push(cursor.deserialize_current().unwrap().get_str("name").unwrap().to_owned());
        }
        names
    });
    assert_eq!(names, vec!["cutover", "drill"]);
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("\"event\":\"finished\",\"outcome\":\"completed\""), "{text}");
}
