//! `State::update` without a terminal: every change to the cockpit is an
//! action, and these are the rules it follows.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::start;
use cutover::events::{
    Action, ChecksumProgress, DiskReading, EndpointKind, EndpointSample, LogLevel, Pane, Reading, Sample, StepStatus,
    StepUpdate, TableProgress, TableState,
};
use cutover::state::{Effect, Freshness, Metric, SERIES_CAPACITY, SeriesId, State};

fn at(secs: i64) -> DateTime<Utc> {
    start() + chrono::Duration::seconds(secs)
}

fn disk_sample(secs: i64, free: u64) -> Action {
    Action::Sample(Sample {
        at: at(secs),
        endpoint: "source".into(),
        kind: EndpointKind::Postgres,
        reading: Reading::Observed(EndpointSample {
            disk: Some(DiskReading {
                mount: "/data".into(),
                free_bytes: Some(free),
                total_bytes: Some(100),
                database_bytes: None,
                wal_bytes: None,
                slot_retained_bytes: None,
            }),
            ..EndpointSample::default()
        }),
    })
}

fn down(secs: i64) -> Action {
    Action::Sample(Sample {
        at: at(secs),
        endpoint: "source".into(),
        kind: EndpointKind::Postgres,
        reading: Reading::Unreachable { error: "connection refused".into() },
    })
}

#[test]
fn quit_closes_overlays_before_leaving() {
    let mut state = State::new("t");
    state.update(&Action::ToggleHelp);
    assert!(state.update(&Action::Quit).is_empty());
    assert!(!state.ui.help);
    state.update(&Action::Zoom { pane: Some(Pane::Disk) });
    assert_eq!(state.ui.zoom, Some(Pane::Disk));
    assert_eq!(state.ui.focus, Pane::Disk);
    assert!(state.update(&Action::Quit).is_empty());
    assert_eq!(state.ui.zoom, None);
    assert_eq!(state.update(&Action::Quit), vec![Effect::Quit]);
    assert!(state.ui.quit);
}

#[test]
fn force_quit_leaves_from_anywhere() {
    let mut state = State::new("t");
    state.update(&Action::ToggleHelp);
    assert_eq!(state.update(&Action::ForceQuit), vec![Effect::Quit]);
}

#[test]
fn zoom_without_a_pane_zooms_the_focused_one() {
    let mut state = State::new("t");
    state.update(&Action::FocusNext);
    state.update(&Action::FocusNext);
    assert_eq!(state.ui.focus, Pane::Disk);
    state.update(&Action::Zoom { pane: None });
    assert_eq!(state.ui.zoom, Some(Pane::Disk));
    state.update(&Action::Back);
    assert_eq!(state.ui.zoom, None);
}

#[test]
fn focus_moves_like_the_layout() {
    let mut state = State::new("t");
    for (action, expected) in [
        (Action::FocusDown, Pane::Pool),
        (Action::FocusRight, Pane::Runbook),
        (Action::FocusDown, Pane::Log),
        (Action::FocusUp, Pane::Checksum),
        (Action::FocusLeft, Pane::Checksum),
        (Action::FocusPrev, Pane::Disk),
    ] {
        state.update(&action);
        assert_eq!(state.ui.focus, expected, "after {action:?}");
    }
}

#[test]
fn an_unreachable_endpoint_keeps_its_last_values_and_says_since_when() {
    let mut state = State::new("t");
    state.update(&Action::Tick { now: at(0) });
    state.update(&disk_sample(0, 40));
    state.update(&down(5));
    state.update(&Action::Tick { now: at(20) });
    state.update(&down(20));
    let source = &state.endpoints["source"];
    assert_eq!(source.last.as_ref().and_then(|s| s.disk.as_ref()).and_then(|d| d.free_bytes), Some(40));
    assert_eq!(source.down.as_ref().map(|(since, _)| *since), Some(at(5)), "the outage starts at the first failure");
    assert_eq!(
        source.freshness(state.now, Duration::from_secs(1)),
        Freshness::Unreachable { age: Some(chrono::Duration::seconds(20)), error: "connection refused".into() }
    );
    let errors: Vec<_> = state.log.iter().filter(|e| e.level == LogLevel::Error).collect();
    assert_eq!(errors.len(), 1, "one log line per outage, not per failed sample");

    state.update(&disk_sample(21, 39));
    assert!(state.endpoints["source"].down.is_none());
    assert!(state.log.last().is_some_and(|e| e.text == "source answers again after 16s"), "{:?}", state.log.last());
}

#[test]
fn figures_go_stale_after_three_missed_intervals() {
    let mut state = State::new("t");
    state.update(&disk_sample(0, 40));
    state.update(&Action::Tick { now: at(3) });
    assert_eq!(state.endpoints["source"].freshness(state.now, state.sample_interval), Freshness::Live);
    state.update(&Action::Tick { now: at(4) });
    assert_eq!(
        state.endpoints["source"].freshness(state.now, state.sample_interval),
        Freshness::Stale { age: chrono::Duration::seconds(4) }
    );
}

#[test]
fn the_clock_never_runs_backwards() {
    let mut state = State::new("t");
    state.update(&Action::Tick { now: at(10) });
    state.update(&Action::Tick { now: at(5) });
    assert_eq!(state.now, Some(at(10)));
    assert_eq!(state.started, Some(at(10)));
}

#[test]
fn history_is_bounded() {
    let mut state = State::new("t");
    for s in 0..(i64::try_from(SERIES_CAPACITY).unwrap() + 500) {
        state.update(&disk_sample(s, 40));
    }
    let id = SeriesId::new(Metric::DiskUsedPct, "source", "/data");
    assert_eq!(state.series[&id].len(), SERIES_CAPACITY);
    assert_eq!(state.points(&id).next().map(|p| p.v), Some(60.0));
}

#[test]
fn the_write_pause_runs_from_its_first_step_to_its_last() {
    let mut state = State::new("t");
    state.update(&Action::Runbook(cutover::runbook::demo().unwrap().outline));
    let step = |secs, id: &str, status| Action::Step(StepUpdate { at: at(secs), step: id.into(), status });
    state.update(&Action::Tick { now: at(0) });
    assert_eq!(state.write_pause_elapsed(), None);
    state.update(&step(10, "4.1", StepStatus::Running));
    state.update(&Action::Tick { now: at(25) });
    assert_eq!(state.write_pause_elapsed(), Some(chrono::Duration::seconds(15)));
    assert_eq!(state.current_phase().map(|(_, p)| p.name.as_str()), Some("Cutover"));
    state.update(&step(40, "4.5", StepStatus::Done));
    state.update(&Action::Tick { now: at(100) });
    assert_eq!(state.write_pause_elapsed(), Some(chrono::Duration::seconds(30)), "the stopwatch stops at resume");
}

#[test]
fn new_checksum_differences_are_logged_once() {
    let mut state = State::new("t");
    let progress = |secs, differences| {
        Action::Checksum(ChecksumProgress {
            at: at(secs),
            tables: vec![TableProgress {
                table: "public.orders".into(),
                state: TableState::Running,
                chunks_done: 3,
                chunks_total: 10,
                rows: 300,
                rows_per_second: 10.0,
                differences,
            }],
        })
    };
    state.update(&progress(1, 0));
    state.update(&progress(2, 2));
    state.update(&progress(3, 2));
    let warnings: Vec<_> = state.log.iter().filter(|e| e.level == LogLevel::Warn).collect();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].text.contains("2 difference(s) in public.orders"));
}

#[test]
fn log_scroll_stops_at_the_oldest_line() {
    let mut state = common::sim_state("full", 60);
    state.update(&Action::FocusPrev);
    assert_eq!(state.ui.focus, Pane::Log);
    for _ in 0..10_000 {
        state.update(&Action::ScrollUp);
    }
    assert_eq!(state.ui.log_scroll, state.log.len() - 1);
    state.update(&Action::ScrollDown);
    assert_eq!(state.ui.log_scroll, state.log.len() - 2);
}
