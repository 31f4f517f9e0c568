//! `cutover replay`: a journal made by a real headless run (shell and manual
//! steps, an endpoint on a closed port: no database) plays back to the screen
//! `resume` rebuilds from it, and drives through a real terminal (tmux).

#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::path::Path;
use std::process::Command;

use cutover::events::{Action, RunEvent};
use cutover::replay::{Control, Player, Timeline};
use cutover::state::State;
use cutover::theme::ColorMode;
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

#[test]
fn the_final_screen_of_a_replay_is_the_screen_resume_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let journal = cutover::journal::read(&support::headless::run(dir.path(), "replay-drill.toml")).unwrap();
    let Some(RunEvent::Started { outline, inventory, .. }) = journal.records.first().map(|r| r.event.clone()) else {
        panic!("the journal starts with a run")
    };
    let inventory = cutover::inventory::load(Path::new(&inventory.unwrap())).unwrap();

    // As Runner::attach does it: a fresh state named after the runbook, the
    // inventory's thresholds and interval, every record's actions folded; the
    // clock at the last record (a live resume would tick on from there).
    let mut resumed = State::new(outline.name.clone());
    resumed.thresholds = inventory.thresholds;
    resumed.sample_interval = inventory.interval;
    for record in &journal.records {
        for action in cutover::journal::actions(record) {
            resumed.update(&action);
        }
    }
    let end = journal.records.iter().map(|r| r.at).max().unwrap();
    resumed.update(&Action::Tick { now: end });

    let mut base = State::new(outline.name.clone());
    base.thresholds = inventory.thresholds;
    base.sample_interval = inventory.interval;
    let mut player = Player::new(Timeline::new(base, &journal.records).unwrap(), 64.0);
    // Played to the end through a seek back and forth, not folded straight.
    player.control(Control::End);
    player.control(Control::Home);
    player.control(Control::NextPhase);
    assert!(!player.playing(), "a seek keeps the replay paused");
    player.control(Control::PlayPause);
    player.advance(std::time::Duration::from_secs(3600));
    assert!(!player.playing(), "paused at the end");

    let theme = common::theme("dark", ColorMode::Ansi16, false);
    for (cols, rows) in [(80, 24), (120, 40)] {
        let replayed = common::screen(player.state(), &theme, cols, rows);
        let rebuilt = common::screen(&resumed, &theme, cols, rows);
        assert!(rebuilt.contains("2.1 Flip the switch: done"), "{rebuilt}");
        let (replay_header, replay_body) = replayed.split_once('\n').unwrap();
        let (_, rebuilt_body) = rebuilt.split_once('\n').unwrap();
        assert_eq!(replay_body, rebuilt_body, "{cols}x{rows}");
        assert!(replay_header.starts_with(" REPLAY PAUSED x64"), "{replay_header}");
        assert!(replay_header.contains(&cutover::format::clock(end)), "{replay_header}");
    }
}

#[test]
fn replay_plays_pauses_jumps_and_quits_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = support::headless::run(dir.path(), "replay-drill.toml");
    let stty = dir.path().join("stty");
    let command = format!(
        "{{ env TERM=xterm-256color LANG=C.UTF-8 {BIN} replay {} --speed 50; c=$?; stty -a >{}; echo REPLAY-EXITED; sleep 3; (exit $c); }}",
        journal.display(),
        stty.display()
    );
    let tmux = Tmux::start("replay", 120, 40, &command);

    // 3 s of journal at x50: it plays to the end and pauses on the final screen.
    let screen = tmux.wait_for("the end of the replay", |s| s.contains("REPLAY PAUSED x50"));
    for step in ["1 Prepare", "2 Switch", "2.1 Flip the switch"] {
        assert!(screen.contains(step), "{step}:\n{screen}");
    }
    assert!(screen.contains("✔ 2.1 Flip the switch"), "{screen}");
    assert!(screen.contains("run completed"), "{screen}");

    // Home, then ] to the first step boundary: 1.1 is running, nothing after it is done.
    tmux.send("Home");
    tmux.wait_for("the start", |s| !s.contains("run completed") && s.contains("· 1.1 Say hello"));
    tmux.send("]");
    let screen = tmux.wait_for("1.1 running", |s| s.contains("▶ 1.1 Say hello"));
    assert!(screen.contains("· 1.2 Tell the team"), "{screen}");
    assert!(screen.contains("REPLAY PAUSED"), "{screen}");

    // Keys that would act on a run are refused.
    tmux.send("g");
    tmux.wait_for("read-only", |s| s.contains("replay: read-only"));

    // space plays on to the end.
    tmux.send("Space");
    tmux.wait_for("played to the end", |s| s.contains("run completed") && s.contains("REPLAY PAUSED"));

    tmux.send("q");
    tmux.wait_for("the shell's screen", |s| s.contains("REPLAY-EXITED"));
    assert_eq!(tmux.run(&["display-message", "-p", "-t", "t", "#{alternate_on}"]).trim(), "0");
    let flags = std::fs::read_to_string(&stty).unwrap();
    assert!(flags.split_whitespace().any(|f| f == "icanon"), "{flags}");
    assert!(flags.split_whitespace().any(|f| f == "echo"), "{flags}");
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.stderr());
}

#[test]
fn a_bad_journal_line_is_named_and_a_missing_journal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let journal = support::headless::run(dir.path(), "replay-drill.toml");
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.insert_str(text.find('\n').unwrap() + 1, "not json\n");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, text).unwrap();
    let out = Command::new(BIN).args(["replay"]).arg(&bad).env("NO_COLOR", "1").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2: not a journal record", bad.display())), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b[?1049h"), "the screen never started");

    let missing = dir.path().join("missing.jsonl");
    let out = Command::new(BIN).args(["replay"]).arg(&missing).env("NO_COLOR", "1").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read journal") && err.contains("missing.jsonl"), "{err}");
}
