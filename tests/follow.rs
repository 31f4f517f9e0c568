//! `cutover follow`: a second engineer follows a run that another process is
//! making, from its journal alone, in a real terminal — steps appear as they
//! happen, and nothing pressed on the follower reaches the run.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

#[test]
fn follow_shows_a_live_run_s_steps_as_they_happen_and_acts_on_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = support::headless::unreachable_inventory(dir.path());
    let journal = dir.path().join("run.jsonl");
    let flag = dir.path().join("flag");
    let runbook = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run/follow-flag.toml");
    let mut run = Command::new(BIN)
        .args(["run", runbook, "--yes", "--inventory"])
        .arg(&inventory)
        .arg("--journal")
        .arg(&journal)
        .env("CUTOVER_TEST_FLAG", &flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    support::wait_until("the run's first step", Duration::from_secs(30), || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("waiting for the flag"))
    });

    let follow = Tmux::start("follow", 120, 36, &format!("{BIN} follow {}", journal.display()));
    let screen = follow.wait_for("1.1 running", |s| s.contains("▶ 1.1 Wait for the flag file"));
    assert!(screen.contains("FOLLOW run.jsonl"), "{screen}");
    assert!(screen.contains("· 2 Finish"), "phase 2 has not started:\n{screen}");

    // The follower's keys act on nothing: go, rollback, cancel.
    for key in ["g", "R", "x"] {
        follow.send(key);
    }
    follow.wait_for("the refusal", |s| s.contains("read-only: this screen observes"));
    assert!(run.try_wait().unwrap().is_none(), "the run goes on, untouched");

    std::fs::write(&flag, "").unwrap();
    let screen = follow.wait_for("the run's end", |s| s.contains("run completed"));
    assert!(screen.contains("✔ 1 Hold") && screen.contains("✔ 2.1 Wrap up"), "{screen}");
    assert!(run.wait().unwrap().success(), "the followed run completed");
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert!(!journal_text.contains("\"event\":\"rollback\""), "the follower's R reached the run:\n{journal_text}");

    follow.send("q");
    assert_eq!(follow.wait_exit(), 0, "{}", follow.stderr());
}

#[test]
fn follow_of_a_missing_journal_says_which() {
    let out = Command::new(BIN).args(["follow", "/nonexistent/run.jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read journal /nonexistent/run.jsonl"), "{stderr}");
}
