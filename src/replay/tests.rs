#![allow(clippy::unwrap_used)]

use chrono::TimeZone;

use super::*;
use crate::events::test_support::{lag_sample, phase, run_started, step};
use crate::events::{LinkKind, Outline, RunOutcome};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).single().unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

fn outline() -> Outline {
    Outline {
        name: "replayed".into(),
        phases: vec![
            phase("1", "Prepare", vec![step("1.1", "Look"), step("1.2", "Leap")]),
            phase("2", "Switch", vec![step("2.1", "Flip")]),
        ],
    }
}

fn lag(seconds: i64, bytes: u64) -> Record {
    record(seconds, lag_sample(at(seconds), "source", ("replica", LinkKind::Physical), bytes, 0.5))
}

fn lag_bytes() -> crate::state::SeriesId {
    crate::state::SeriesId::new(crate::state::Metric::LagBytes, "source", "replica")
}

fn record(seconds: i64, event: RunEvent) -> Record {
    Record { at: at(seconds), event }
}

fn started(id: &str) -> RunEvent {
    RunEvent::StepStarted { step: id.into(), attempt: 1 }
}

fn finished(id: &str) -> RunEvent {
    RunEvent::StepFinished { step: id.into(), attempt: 1, ok: true, summary: "ok".into() }
}

/// A 3-step run over two phases, with a lag sample every 10 s.
fn records() -> Vec<Record> {
    let mut records = vec![record(0, run_started(outline(), "ann", "h", true))];
    let steps = [(5, started("1.1")), (20, finished("1.1")), (30, started("1.2")), (50, finished("1.2"))];
    let more =
        [(70, started("2.1")), (95, finished("2.1")), (100, RunEvent::Finished { outcome: RunOutcome::Completed })];
    records.extend(steps.into_iter().chain(more).map(|(s, e)| record(s, e)));
    records.extend((0..10).map(|i| lag(i * 10 + 1, 1000 * u64::try_from(i).unwrap())));
    records.sort_by_key(|r| r.at);
    // A sample written late carries its collector's (earlier) time.
    records.push(lag(99, 42));
    records.push(record(101, RunEvent::Paused { reason: "done".into() }));
    records
}

fn timeline() -> Timeline {
    Timeline::new(State::new("replay"), &records()).unwrap()
}

fn screen(state: &State) -> String {
    let theme = crate::theme::Theme::load("dark", crate::theme::ColorMode::Ansi16, crate::theme::UNICODE).unwrap();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| crate::ui::draw(f, state, &theme)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let width = usize::from(buffer.area.width);
    let cells: Vec<&str> = buffer.content.iter().map(ratatui::buffer::Cell::symbol).collect();
    cells.chunks(width).map(|row| row.concat().trim_end().to_owned() + "\n").collect()
}

/// Everything the fold decides, plus the screen drawn from it.
fn assert_same(a: &State, b: &State, what: &str) {
    assert_eq!(a.now, b.now, "{what}: clock");
    assert_eq!(a.steps, b.steps, "{what}: steps");
    assert_eq!(a.current_step, b.current_step, "{what}: current step");
    assert_eq!(a.endpoints, b.endpoints, "{what}: endpoints");
    assert_eq!(a.series, b.series, "{what}: series");
    assert_eq!(a.log, b.log, "{what}: log");
    assert_eq!(screen(a), screen(b), "{what}: screen");
}

#[test]
fn seeking_back_and_forth_gives_the_state_of_folding_straight_there() {
    let timeline = timeline();
    let mut player = Player::new(timeline, 1.0);
    let path = [60, 10, 95, 0, 33, 101, 50, 5, 500, -20];
    for seconds in path {
        player.seek(at(seconds));
        let want = at(seconds).clamp(at(0), at(101));
        assert_eq!(player.cursor(), want);
        let mut straight = player.timeline().state_at(want);
        straight.update(&Action::Replay(player.state().replay.clone().unwrap()));
        assert_same(player.state(), &straight, &format!("at {seconds}s"));
    }
    // And the state at a time holds exactly the records at or before it.
    let state = player.timeline().state_at(at(25));
    assert_eq!(state.step_status("1.1"), crate::events::StepStatus::Done);
    assert_eq!(state.step_status("1.2"), crate::events::StepStatus::Pending);
    assert_eq!(state.points(&lag_bytes()).count(), 3, "samples at 1, 11 and 21 s");
}

#[test]
fn playing_folds_forward_and_pauses_at_the_end() {
    let mut player = Player::new(timeline(), 4.0);
    assert!(player.playing());
    player.advance(Duration::from_secs(5));
    assert_eq!(player.cursor(), at(20));
    let banner = player.state().replay.clone().unwrap();
    assert_eq!((banner.position_secs, banner.length_secs), (20, 101), "where it stands, how long it is");
    assert_eq!(player.state().step_status("1.1"), crate::events::StepStatus::Done);
    assert_same(player.state(), &with_banner(&player, at(20)), "after 5 s at x4");
    player.control(Control::PlayPause);
    player.advance(Duration::from_secs(5));
    assert_eq!(player.cursor(), at(20), "paused");
    player.control(Control::PlayPause);
    player.advance(Duration::from_secs(3600));
    assert_eq!(player.cursor(), at(101));
    assert!(!player.playing(), "paused on the final screen");
    assert_eq!(player.state().replay.as_ref().map(|r| r.playing), Some(false));
    // Samples feed the gauges as in the live run, including one written late.
    let points: Vec<f64> = player.state().points(&lag_bytes()).map(|p| p.v).collect();
    assert_eq!(points.last(), Some(&42.0));
}

fn with_banner(player: &Player, t: DateTime<Utc>) -> State {
    let mut state = player.timeline().state_at(t);
    state.update(&Action::Replay(player.state().replay.clone().unwrap()));
    state
}

#[test]
fn step_and_phase_boundaries_land_on_their_records() {
    let timeline = timeline();
    assert_eq!(timeline.step_marks(), [5, 20, 30, 50, 70, 95].map(at));
    assert_eq!(timeline.phase_marks(), [5, 70].map(at));
    let mut player = Player::new(timeline, 1.0);
    let mut seen = Vec::new();
    for _ in 0..7 {
        player.control(Control::NextStep);
        seen.push(player.cursor());
    }
    assert_eq!(seen, [5, 20, 30, 50, 70, 95, 101].map(at), "then the end");
    player.control(Control::PrevStep);
    assert_eq!(player.cursor(), at(95));
    player.control(Control::PrevStep);
    assert_eq!(player.cursor(), at(70));
    assert_eq!(player.state().step_status("2.1"), crate::events::StepStatus::Running);
    assert_eq!(player.state().step_status("1.2"), crate::events::StepStatus::Done);
    player.control(Control::PrevPhase);
    assert_eq!(player.cursor(), at(5));
    assert_eq!(player.state().step_status("1.2"), crate::events::StepStatus::Pending, "refolded from the start");
    player.control(Control::NextPhase);
    assert_eq!(player.cursor(), at(70));
    player.control(Control::Seek(-10));
    assert_eq!(player.cursor(), at(60));
    player.control(Control::Home);
    assert_eq!(player.cursor(), at(0));
    player.control(Control::End);
    assert_eq!(player.cursor(), at(101));
}

#[test]
fn speed_doubles_and_halves_within_its_bounds() {
    let mut player = Player::new(timeline(), 50.0);
    player.control(Control::Faster);
    assert!((player.speed() - SPEED_MAX).abs() < f64::EPSILON);
    player.control(Control::Faster);
    assert!((player.speed() - SPEED_MAX).abs() < f64::EPSILON);
    for _ in 0..20 {
        player.control(Control::Slower);
    }
    assert!((player.speed() - SPEED_MIN).abs() < f64::EPSILON);
    assert!((Player::new(timeline(), 1000.0).speed() - SPEED_MAX).abs() < f64::EPSILON);
}

#[test]
fn keys_that_would_act_on_a_run_are_refused_and_viewing_keys_work() {
    let mut player = Player::new(timeline(), 1.0);
    player.seek(at(40));
    for action in [Action::Go, Action::RollbackAsk, Action::CancelAsk] {
        assert!(!player.view(&action));
        assert!(player.state().run.prompt.is_none(), "{action:?}");
        assert_eq!(player.state().replay.as_ref().unwrap().notice.as_deref(), Some(READ_ONLY));
    }
    assert!(screen(player.state()).contains(READ_ONLY));
    player.view(&Action::Zoom { pane: Some(crate::events::Pane::Log) });
    player.seek(at(10));
    assert_eq!(player.state().ui.zoom, Some(crate::events::Pane::Log), "the view survives a refold");
    assert!(!player.view(&Action::Quit), "q closes the zoom first");
    assert!(player.view(&Action::Quit));
}

#[test]
fn an_empty_journal_is_an_error() {
    let err = Timeline::new(State::new("x"), &[]).unwrap_err().to_string();
    assert!(err.contains("no records"), "{err}");
}

#[test]
fn marks_name_every_phase_and_step_boundary_at_its_record() {
    let mut records = records();
    // 2.1 fails once and is re-run: two more boundaries, the phase entered once.
    let failed = RunEvent::StepFinished { step: "2.1".into(), attempt: 1, ok: false, summary: "no".into() };
    let at_80 = records.iter().position(|r| r.at >= at(80)).unwrap();
    records.insert(at_80, record(80, failed));
    records.insert(at_80 + 1, record(85, RunEvent::StepStarted { step: "2.1".into(), attempt: 2 }));
    let timeline = Timeline::new(State::new("replay"), &records).unwrap();
    let marks: Vec<(i64, MarkKind, &str)> =
        timeline.marks().iter().map(|m| ((m.at - t0()).num_seconds(), m.kind, m.label.as_str())).collect();
    assert_eq!(
        marks,
        [
            (5, MarkKind::Phase, "phase 1 Prepare"),
            (5, MarkKind::Step, "1.1 Look: started"),
            (20, MarkKind::Step, "1.1 Look: done"),
            (30, MarkKind::Step, "1.2 Leap: started"),
            (50, MarkKind::Step, "1.2 Leap: done"),
            (70, MarkKind::Phase, "phase 2 Switch"),
            (70, MarkKind::Step, "2.1 Flip: started"),
            (80, MarkKind::Step, "2.1 Flip: FAILED"),
            (85, MarkKind::Step, "2.1 Flip: started"),
            (95, MarkKind::Step, "2.1 Flip: done"),
        ]
    );
    // The same boundaries as the seek marks.
    let phases: Vec<_> = timeline.marks().iter().filter(|m| m.kind == MarkKind::Phase).map(|m| m.at).collect();
    assert_eq!(phases, timeline.phase_marks());
    let mut steps: Vec<_> = timeline.marks().iter().filter(|m| m.kind == MarkKind::Step).map(|m| m.at).collect();
    steps.dedup();
    assert_eq!(steps, timeline.step_marks());
}

#[test]
fn activity_is_the_run_records_not_the_samples() {
    let timeline = timeline();
    assert_eq!(timeline.activity(), [0, 5, 20, 30, 50, 70, 95, 100, 101].map(at));
    assert_eq!(timeline.times().count(), records().len());
}

#[test]
fn a_sweep_gives_the_state_of_folding_straight_there_without_a_banner() {
    let timeline = timeline();
    let mut sweep = timeline.sweep();
    for seconds in [0, 5, 5, 21, 60, 101, 30, 200] {
        let want = at(seconds).clamp(at(0), at(101));
        let state = sweep.state_at(at(seconds));
        assert!(state.replay.is_none(), "no replay banner");
        let straight = timeline.state_at(want);
        assert_same(state, &straight, &format!("at {seconds}s"));
    }
}
