//! Drills: the simulator's faults, recorded like any run. A recorded drill
//! replays to the very screen the operator saw; its journal holds each fault
//! at the moment it struck; the real binary records one (`demo --journal`).

#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::path::Path;
use std::time::Duration;

use cutover::events::{Action, Awaiting, Reading, Record, RunCommand, RunEvent};
use cutover::journal::{self, Hub, OnJournalError, Recorder, Writer};
use cutover::replay::{Timeline, base_state};
use cutover::runbook::runner::Runner;
use cutover::sim::{self, Simulator, scenario};
use cutover::state::State;
use cutover::theme::ColorMode;
use support::tmux::Tmux;
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
const INTERVAL: Duration = Duration::from_secs(1);

/// Play `seconds` of a scenario's script through the demo's hub, recording
/// to `path`; the screen's state folded from everything the hub showed.
async fn play(name: &str, seconds: u32, path: &Path) -> State {
    let outline = cutover::runbook::demo().unwrap().outline;
    let recorder = Recorder::new(Writer::create(path).unwrap(), INTERVAL, INTERVAL);
    let (tx, mut rx) = mpsc::channel(1 << 20);
    let mut hub = Hub::new(Some(recorder), OnJournalError::Fail);
    hub.screen(tx);
    let mut sim = Simulator::new(scenario::by_name(name).unwrap(), 7, common::start());
    let started = cutover::runbook::simulated::started(&outline, "simulator", true);
    assert!(sim::begin(&sim, started, &mut hub));
    for _ in 0..seconds {
        assert!(sim::tick(&mut sim, INTERVAL, &mut hub));
    }
    drop(hub);
    // The screen as `cutover demo` sets it up, then everything it was sent.
    let mut live = State::new(&outline.name);
    live.sample_interval = INTERVAL;
    live.update(&Action::Runbook(outline));
    while let Some(action) = rx.recv().await {
        live.update(&action);
    }
    live
}

fn replayed(path: &Path) -> (State, Vec<Record>) {
    let records = journal::read(path).unwrap().records;
    let timeline = Timeline::new(base_state(path, &records), &records).unwrap();
    (timeline.state_at(timeline.end()), records)
}

fn faults(records: &[Record]) -> Vec<(i64, String)> {
    let start = records[0].at;
    records
        .iter()
        .filter_map(|r| match &r.event {
            RunEvent::Fault { fault, .. } => Some(((r.at - start).num_seconds(), fault.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_recorded_drill_replays_to_the_screen_the_operator_saw() {
    let theme = common::theme("dark", ColorMode::TrueColor, false);
    for (name, seconds, on_screen) in [
        ("switch-outage", 300, "Source back to read-write"),
        ("replication-stall", 190, "Wait for lag under 1 MB"),
        ("checksum-mismatch", 250, "public.orders"),
        ("full", 330, "apply worker exited"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drill.jsonl");
        let live = play(name, seconds, &path).await;
        let (replay, _) = replayed(&path);
        let (live_screen, replay_screen) =
            (common::render(&live, &theme, 160, 48), common::render(&replay, &theme, 160, 48));
        let text = common::text(&live_screen);
        assert!(text.contains(on_screen), "{name}: the live screen lacks {on_screen:?}:\n{text}");
        assert_eq!(common::text(&replay_screen), text, "{name}: the replay's final screen is not the live one");
        assert_eq!(replay_screen, live_screen, "{name}: same text, different styles");
    }
}

/// The operator's side of a drill (`demo --interactive`, the run driver of
/// `cutover run` on the simulator): the first step is confirmed as it is
/// offered, and the drill is left at the next offer.
#[tokio::test]
async fn an_interactive_drill_replays_to_the_screen_and_prompt_line_the_operator_saw() {
    let theme = common::theme("dark", ColorMode::TrueColor, false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interactive.jsonl");
    let runbook = cutover::runbook::demo().unwrap();
    let outline = runbook.outline.clone();
    let first = outline.phases[0].steps[0].id.clone();
    let (tx, mut rx) = mpsc::channel(1 << 20);
    let sim = Simulator::new(scenario::by_name("full").unwrap(), 7, common::start()).unscripted();
    let runner =
        Runner::drill(sim, runbook, "ann".to_owned(), Some(Writer::create(&path).unwrap()), INTERVAL, 50.0).unwrap();
    let (commands, command_rx) = mpsc::channel(16);
    // The screen starts from the run's own fold, as `cutover demo` shows it.
    let (runner, mut live) = runner.attach(tx, command_rx);
    let driving = tokio::spawn(runner.run());
    let mut next = None;
    while let Some(action) = rx.recv().await {
        live.update(&action);
        match &action {
            Action::Awaiting(Awaiting::Confirm { step }) if *step == first => {
                commands.send(RunCommand::Confirm { step: step.clone(), typed: None }).await.unwrap();
            }
            Action::Awaiting(Awaiting::Confirm { step }) => {
                next = Some(step.clone());
                break;
            }
            _ => {}
        }
    }
    // The drill ends with its commands; whatever it still showed, the live screen shows too.
    drop(commands);
    assert_eq!(driving.await.unwrap().unwrap(), cutover::runbook::runner::EXIT_STOPPED);
    while let Some(action) = rx.recv().await {
        live.update(&action);
    }
    let next = next.expect("the drill offers the step after the first");

    let (replay, records) = replayed(&path);
    assert!(records.iter().any(|r| matches!(&r.event, RunEvent::Confirmed { step, .. } if *step == first)));
    let (live_screen, replay_screen) =
        (common::render(&live, &theme, 160, 48), common::render(&replay, &theme, 160, 48));
    let text = common::text(&live_screen);
    assert!(text.contains(&format!("next: {next} ")), "the live screen lacks the prompt line:\n{text}");
    assert_eq!(common::text(&replay_screen), text, "the replay's final screen is not the live one");
    assert_eq!(replay_screen, live_screen, "same text, different styles");
}

/// A drill's step is stopped as a real one is: the operator's cancel reaches
/// the simulated attempt, which ends; the journal says who stopped it, and
/// the step is held for the operator's decision.
#[tokio::test]
async fn a_cancelled_drill_step_stops_and_waits_for_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cancel.jsonl");
    let runbook = cutover::runbook::demo().unwrap();
    let first = runbook.outline.phases[0].steps[0].id.clone();
    let (tx, mut rx) = mpsc::channel(1 << 20);
    let sim = Simulator::new(scenario::by_name("calm").unwrap(), 7, common::start()).unscripted();
    // Real time: the simulated attempt (2 s) is still running when the cancel comes.
    let runner =
        Runner::drill(sim, runbook, "ann".to_owned(), Some(Writer::create(&path).unwrap()), INTERVAL, 1.0).unwrap();
    let (commands, command_rx) = mpsc::channel(16);
    let (runner, _) = runner.attach(tx, command_rx);
    let driving = tokio::spawn(runner.run());
    let mut decided = false;
    while let Some(action) = rx.recv().await {
        match &action {
            Action::Awaiting(Awaiting::Confirm { step }) if *step == first => {
                commands.send(RunCommand::Confirm { step: step.clone(), typed: None }).await.unwrap();
            }
            Action::Awaiting(Awaiting::Running { step }) if *step == first => {
                commands.send(RunCommand::Cancel).await.unwrap();
            }
            Action::Awaiting(Awaiting::Decide { step, .. }) if *step == first => {
                decided = true;
                break;
            }
            _ => {}
        }
    }
    assert!(decided, "the cancelled step is not held for the operator");
    drop(commands);
    assert_eq!(driving.await.unwrap().unwrap(), cutover::runbook::runner::EXIT_STOPPED);
    let records = journal::read(&path).unwrap().records;
    let stopped = records.iter().find_map(|r| match &r.event {
        RunEvent::StepStopped { step, why, state, summary, .. } if *step == first => {
            Some((*why, *state, summary.clone()))
        }
        _ => None,
    });
    let (why, state, summary) = stopped.expect("the journal holds the stop");
    assert_eq!((why, state), (cutover::events::StopReason::Cancel, cutover::events::StopState::Stopped));
    assert_eq!(summary, "cancelled by ann: stopped (simulated)");
    assert!(
        !records.iter().any(|r| matches!(&r.event, RunEvent::StepFinished { step, .. } if *step == first)),
        "a cancelled step must not also finish"
    );
}

#[tokio::test]
async fn each_drill_journals_its_faults_when_they_strike() {
    let dir = tempfile::tempdir().unwrap();
    let expect = [
        ("replication-stall", 200, vec![(120, "replication-stall")]),
        ("stuck-slot", 130, vec![(120, "slot-stall")]),
        ("pool-storm", 70, vec![(60, "pool-saturation")]),
        // Chunk 9 of public.orders, at ~90k rows a second from 118 s.
        ("checksum-mismatch", 140, vec![(129, "checksum-mismatch")]),
        // Half a second into step 4.4 ("Sync sequences", on the target), started at 261 s.
        ("switch-outage", 270, vec![(262, "target-unreachable")]),
        ("lost-replica", 220, vec![(40, "replica-unreachable"), (200, "target-unreachable")]),
    ];
    for (name, seconds, want) in expect {
        let path = dir.path().join(format!("{name}.jsonl"));
        play(name, seconds, &path).await;
        let (_, records) = replayed(&path);
        let got = faults(&records);
        let got: Vec<(i64, &str)> = got.iter().map(|(t, f)| (*t, f.as_str())).collect();
        let close = got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g.1 == w.1 && (g.0 - w.0).abs() <= 2);
        assert!(close, "{name}: faults {got:?}, expected about {want:?}");
    }
}

#[tokio::test]
async fn a_replication_stall_keeps_the_slot_active_while_lag_climbs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stall.jsonl");
    play("replication-stall", 200, &path).await;
    let (_, records) = replayed(&path);
    let target_lag = |at: i64| {
        let start = records[0].at;
        records.iter().rev().find_map(|r| match &r.event {
            RunEvent::Sample { sample } if sample.endpoint == "target" && (r.at - start).num_seconds() <= at => {
                match &sample.reading {
                    Reading::Observed(s) => s.replication.first().and_then(|l| l.lag_seconds),
                    Reading::Unreachable { .. } => None,
                }
            }
            _ => None,
        })
    };
    let (before, during) = (target_lag(115).unwrap(), target_lag(195).unwrap());
    assert!(before < 5.0 && during > 30.0, "lag before the stall {before}s, during {during}s");
    let slot_state = records.iter().rev().find_map(|r| match &r.event {
        RunEvent::Sample { sample } if sample.endpoint == "source" => match &sample.reading {
            Reading::Observed(s) => s.replication.iter().find(|l| l.name == "cutover_sub").map(|l| l.state.clone()),
            Reading::Unreachable { .. } => None,
        },
        _ => None,
    });
    assert_eq!(slot_state.as_deref(), Some("active"), "a stalled apply is not a dead slot");
}

#[test]
fn a_fault_tied_to_a_step_strikes_when_the_operator_starts_that_step() {
    let mut sim = Simulator::new(scenario::by_name("switch-outage").unwrap(), 7, common::start()).unscripted();
    sim.run_for(30, INTERVAL);
    assert_eq!(sim.down("target"), None);
    sim.step_started("4.4");
    sim.advance(Duration::from_secs(1));
    assert!(sim.down("target").is_some(), "the target answers 1 s into the switch");
    assert_eq!(sim.take_faults().len(), 1);
    sim.run_for(60, INTERVAL);
    assert_eq!(sim.down("target"), None, "the outage is over 50 s later");
    sim.step_started("4.4");
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.down("target"), None, "a fault strikes once");
}

/// The real binary records a scripted drill in a real terminal, and the
/// journal replays: `demo --scenario --journal`, then `replay`.
#[test]
fn the_binary_records_a_drill_that_replays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drill.jsonl");
    let cmd = format!("{BIN} demo --scenario switch-outage --speed 200 --journal {}", path.display());
    let tmux = Tmux::start("drill", 120, 36, &cmd);
    tmux.wait_for("the switch", |s| s.contains("Point the pooler"));
    support::wait_until("the outage in the journal", Duration::from_secs(30), || {
        journal::read(&path).is_ok_and(|j| !faults(&j.records).is_empty())
    });
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.stderr());
    assert!(tmux.stderr().contains("drill recorded in"), "{}", tmux.stderr());
    let records = journal::read(&path).unwrap().records;
    assert!(matches!(&records[0].event, RunEvent::Started { headless: true, .. }), "{:?}", records[0]);
    assert_eq!(faults(&records).first().map(|f| f.1.as_str()), Some("target-unreachable"));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let again =
        std::process::Command::new(BIN).args(["demo", "--scenario", "calm", "--journal"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success() && stderr.contains("already holds a recording"), "{stderr}");

    let replay = Tmux::start("drill-replay", 120, 36, &format!("{BIN} replay {} --speed 64", path.display()));
    replay.send("End");
    replay.wait_for("the end of the drill", |s| s.contains("REPLAY PAUSED") && s.contains("4.4"));
    replay.send("q");
    assert_eq!(replay.wait_exit(), 0, "{}", replay.stderr());
}
