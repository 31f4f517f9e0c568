//! `cutover watch` and `cutover status` as an operator runs them, against
//! real servers: the screen keeps running when a server goes away, figures
//! come back by themselves, and the password never shows.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::pg::{Cluster, ClusterOptions};
use support::tmux::Tmux;

const PASSWORD: &str = "Tr0ub4dor-and-3";

fn inventory(dir: &std::path::Path, primary: &Cluster, standby: &Cluster) -> std::path::PathBuf {
    let path = dir.join("inventory.toml");
    let text = format!(
        "name = \"test\"\ninterval = \"500ms\"\n\
         [endpoints.primary]\nkind = \"postgres\"\ndsn = \"{}\"\npassword_env = \"CUTOVER_TEST_PW\"\n\
         [endpoints.standby]\nkind = \"postgres\"\ndsn = \"{}\"\npassword_env = \"CUTOVER_TEST_PW\"\n",
        primary.dsn_as("watcher", "postgres"),
        standby.dsn_as("watcher", "postgres"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn watch_keeps_running_when_a_standby_goes_away_and_shows_it_coming_back() {
    let primary = Cluster::start(ClusterOptions::default().password_user("watcher", PASSWORD));
    primary.psql("GRANT pg_monitor TO watcher");
    let mut standby = Cluster::standby_of(&primary);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &primary, &standby);
    let journal = dir.path().join("watch.jsonl");
    let command = format!(
        "env TERM=xterm-256color LANG=C.UTF-8 CUTOVER_TEST_PW={PASSWORD} {} watch --inventory {} --read-only --journal {}",
        env!("CARGO_BIN_EXE_cutover"),
        inv.display(),
        journal.display()
    );
    let tmux = Tmux::start("watch", 120, 36, &command);
    let screen = tmux.wait_for("both replication rows", |s| s.contains("primary phys") && s.contains("standby phys"));
    assert!(screen.contains("WATCH · read-only"), "{screen}");
    tmux.send("g");
    tmux.wait_for("the refusal", |s| s.contains("read-only: this screen observes"));

    // The password is nowhere on screen, nor in the process list.
    let pid = tmux.program_pid().expect("cutover's pid");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(PASSWORD));
    assert!(String::from_utf8_lossy(&cmdline).contains("watch"), "that is the cutover process");

    standby.stop();
    let screen = tmux.wait_for("the standby shown unreachable", |s| s.contains("standby unreachable"));
    assert!(!screen.contains(PASSWORD));
    standby.start_again();
    tmux.wait_for("the standby answering again", |s| s.contains("standby answers again"));
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 0, "watch's exit code after q; stderr:\n{}", tmux.stderr());

    // The session is recorded: who watched what, and the standby's samples —
    // up, down the moment it went away (not 10 s later), up again — at a bounded rate.
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains(PASSWORD), "the password reached the journal");
    let records = cutover::journal::read(&journal).unwrap().records;
    assert!(
        matches!(&records[0].event, cutover::events::RunEvent::Session { command, title, .. } if command == "watch" && title == "watch test"),
        "{:?}",
        records[0]
    );
    let standby: Vec<(chrono::DateTime<chrono::Utc>, bool)> = records
        .iter()
        .filter_map(|r| match &r.event {
            cutover::events::RunEvent::Sample { sample } if sample.endpoint == "standby" => {
                Some((sample.at, matches!(sample.reading, cutover::events::Reading::Observed(_))))
            }
            _ => None,
        })
        .collect();
    let mut ups: Vec<bool> = standby.iter().map(|s| s.1).collect();
    ups.dedup();
    assert_eq!(ups, [true, false, true], "standby samples {standby:?}");
    for pair in standby.windows(2).filter(|w| w[0].1 == w[1].1) {
        assert!((pair[1].0 - pair[0].0).num_milliseconds() >= 10_000, "samples closer than 10 s: {pair:?}");
    }
}

#[test]
fn status_json_reports_every_endpoint_and_never_the_password() {
    let primary = Cluster::start(ClusterOptions::default().password_user("watcher", PASSWORD));
    primary.psql("GRANT pg_monitor TO watcher");
    let mut standby = Cluster::standby_of(&primary);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &primary, &standby);
    let status = || {
        let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["status", "--json", "--inventory"])
            .arg(&inv)
            .env("CUTOVER_TEST_PW", PASSWORD)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains(PASSWORD));
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let doc = status();
    let endpoint = |doc: &serde_json::Value, name: &str| {
        doc["endpoints"].as_array().unwrap().iter().find(|e| e["name"] == name).cloned().unwrap()
    };
    let p = endpoint(&doc, "primary");
    assert_eq!(p["kind"], "postgres");
    assert_eq!(p["reachable"], true);
    assert!(p["error"].is_null());
    assert_eq!(p["roles"][0], "primary");
    let standby_link = p["replication"].as_array().unwrap().iter().find(|l| l["name"] == "standby1").unwrap();
    assert_eq!(standby_link["kind"], "physical");
    assert!(standby_link["lag_bytes"].is_u64());
    assert!(standby_link.as_object().unwrap().contains_key("lag_seconds"));
    for key in ["connections", "max_connections", "waiting", "oldest_xact_seconds"] {
        assert!(p["pool"].as_object().unwrap().contains_key(key), "pool.{key}");
    }
    assert_eq!(p["pool"]["max_connections"], 27, "30 minus 3 reserved for superusers");
    for key in ["free_bytes", "total_bytes", "wal_bytes", "slot_retained_bytes"] {
        assert!(p["disk"].as_object().unwrap().contains_key(key), "disk.{key}");
    }
    assert!(p["disk"]["wal_bytes"].as_u64().unwrap() > 0);
    // A local server: its filesystem's figures come from sysinfo.
    assert!(p["disk"]["total_bytes"].as_u64().unwrap() >= p["disk"]["free_bytes"].as_u64().unwrap(), "{}", p["disk"]);
    assert!(p["disk"]["used_pct"].is_f64());
    assert!(p["dsn"].as_str().unwrap().contains("password=******"));
    let s = endpoint(&doc, "standby");
    assert_eq!(s["roles"][0], "standby");
    assert_eq!(s["replication"][0]["name"], "replay");

    standby.stop();
    let doc = status();
    let s = endpoint(&doc, "standby");
    assert_eq!(s["reachable"], false);
    assert!(s["error"].as_str().unwrap().contains("refused"), "{s}");
}

#[test]
fn status_exits_non_zero_only_for_an_unusable_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[endpoints.db]\nkind = \"postgres\"\ndsn = \"host=x port=notaport\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["status", "--json", "--inventory"])
        .arg(&path)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:7: endpoint \"db\":", path.display())), "{err}");
}
