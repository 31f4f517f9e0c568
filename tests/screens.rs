//! Screen snapshots: the whole cockpit rendered on ratatui's TestBackend from
//! simulator states at a fixed clock, compared as text (and, for themes, with
//! styles). `INSTA_UPDATE=always cargo test --test screens` rewrites them after
//! a deliberate change; review the diff.

mod common;

use common::{render, screen, sim_state, theme};
use cutover::events::{Action, Pane};
use cutover::state::State;
use cutover::theme::ColorMode;

fn dark() -> cutover::theme::Theme {
    theme("dark", ColorMode::Ansi16, false)
}

#[test]
fn cockpit_80x24() {
    let state = sim_state("full", 250);
    insta::assert_snapshot!(screen(&state, &dark(), 80, 24));
}

#[test]
fn cockpit_160x48() {
    let state = sim_state("full", 250);
    insta::assert_snapshot!(screen(&state, &dark(), 160, 48));
}

#[test]
fn cockpit_with_an_unreachable_replica() {
    let state = sim_state("lost-replica", 100);
    let text = screen(&state, &dark(), 80, 24);
    assert!(text.contains("replica unreachable"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn cockpit_during_the_write_pause() {
    let state = sim_state("calm", 262);
    let text = screen(&state, &dark(), 100, 30);
    assert!(text.contains("WRITES PAUSED 00:00:12"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn cockpit_in_ascii() {
    let state = sim_state("full", 350);
    let text = screen(&state, &theme("dark", ColorMode::Ansi16, true), 80, 24);
    assert!(text.is_ascii(), "non-ASCII in --ascii output:\n{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn zoomed_pane_in_ascii_is_ascii_too() {
    let mut state = sim_state("full", 350);
    state.update(&Action::Zoom { pane: Some(Pane::Lag) });
    let text = screen(&state, &theme("dark", ColorMode::Ansi16, true), 100, 30);
    assert!(text.is_ascii(), "{text}");
}

#[test]
fn default_theme_styles_at_80x24() {
    let state = sim_state("full", 250);
    insta::assert_debug_snapshot!(render(&state, &dark(), 80, 24));
}

#[test]
fn mono_theme_styles_at_80x24() {
    let state = sim_state("full", 250);
    let buffer = render(&state, &theme("mono", ColorMode::Mono, false), 80, 24);
    for cell in &buffer.content {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "colour in mono at {cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "colour in mono at {cell:?}");
    }
    insta::assert_debug_snapshot!(buffer);
}

#[test]
fn too_small() {
    let state = sim_state("full", 30);
    insta::assert_snapshot!(screen(&state, &dark(), 50, 12));
}

#[test]
fn help_lists_every_key() {
    let mut state = sim_state("full", 30);
    state.update(&Action::ToggleHelp);
    let text = screen(&state, &dark(), 80, 30);
    for binding in cutover::keymap::BINDINGS {
        assert!(text.contains(binding.help), "help is missing \"{}\":\n{text}", binding.help);
    }
    insta::assert_snapshot!(text);
}

#[test]
fn replay_help_lists_the_replay_keys() {
    let mut state = sim_state("full", 30);
    state.update(&Action::Replay(cutover::events::ReplayStatus {
        playing: false,
        speed: 1.0,
        notice: None,
        position_secs: 754,
        length_secs: 2830,
    }));
    state.update(&Action::ToggleHelp);
    let text = screen(&state, &dark(), 120, 40);
    assert!(text.contains("REPLAY PAUSED x1 12:34/47:10"), "where the replay stands:\n{text}");
    assert!(text.contains("Replay keys"), "{text}");
    for (.., help, _) in cutover::replay::keys::BINDINGS {
        assert!(text.contains(help), "replay help is missing \"{help}\":\n{text}");
    }
    // The cockpit's keys that still work, without the arrows a replay seeks with…
    let row = |help: &str| {
        let line = text.lines().find(|l| l.contains(help)).unwrap_or_else(|| panic!("no \"{help}\":\n{text}"));
        let inside = line.split('│').nth(1).unwrap_or_default();
        inside.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert_eq!(row("focus the next pane"), "Tab focus the next pane");
    assert_eq!(row("focus the pane to the left"), "h focus the pane to the left");
    assert_eq!(row("focus the pane to the right"), "l focus the pane to the right");
    assert_eq!(row("next step boundary"), "Shift-Right ] next step boundary");
    // …and none that would act on a run, except as refused.
    assert!(!text.contains("run: confirm the next step"), "{text}");
    assert_eq!(row("refused"), "g x R refused: a replay is read-only");
    insta::assert_snapshot!(text);

    // The live cockpit's help is unchanged.
    state.replay = None;
    let live = screen(&state, &dark(), 120, 40);
    assert!(live.contains(" Keys — Esc") && live.contains("run: confirm the next step"), "{live}");
}

#[test]
fn zoomed_lag_pane_charts_its_history() {
    let mut state = sim_state("full", 350);
    state.update(&Action::Zoom { pane: Some(Pane::Lag) });
    let text = screen(&state, &dark(), 120, 40);
    assert!(text.contains("lag (bytes)") && text.contains("lag (seconds)"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn zoomed_runbook_shows_every_step() {
    let mut state = sim_state("full", 120);
    state.update(&Action::Zoom { pane: Some(Pane::Runbook) });
    let text = screen(&state, &dark(), 100, 40);
    let outline = cutover::runbook::demo().unwrap().outline;
    for step in outline.phases.iter().flat_map(|p| &p.steps) {
        assert!(text.contains(&format!("{} ", step.id)), "step {} missing:\n{text}", step.id);
    }
}

#[test]
fn every_size_from_80x24_up_draws_without_panicking() {
    let state = sim_state("full", 300);
    let theme = dark();
    for (cols, rows) in [(64, 18), (80, 24), (100, 30), (132, 43), (200, 60), (300, 80)] {
        let text = screen(&state, &theme, cols, rows);
        for title in ["Replication lag", "Pool saturation", "Disk headroom", "Checksum", "Runbook", "Events"] {
            assert!(text.contains(title), "{cols}x{rows} lost {title}:\n{text}");
        }
    }
}

#[test]
fn replaying_the_journalled_actions_gives_the_same_screen() {
    let actions = common::sim_actions("full", 300);
    let live = State::from_actions("demo", &actions);
    // Through JSON lines and back, as a journal would store them.
    let journal: String = actions.iter().map(|a| serde_json::to_string(a).unwrap() + "\n").collect();
    let replayed: Vec<Action> = journal.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(replayed, actions);
    let replay = State::from_actions("demo", &replayed);
    assert_eq!(screen(&live, &dark(), 120, 40), screen(&replay, &dark(), 120, 40));
}

#[test]
fn a_mysql_source_in_maintenance_mode_and_its_lagging_replica() {
    use cutover::events::{
        DiskReading, EndpointKind, EndpointSample, LinkKind, MysqlServer, PoolReading, Reading, ReplicationLink, Role,
        Sample,
    };
    let at = common::start();
    let mut state = State::new("mysql");
    let server = |read_only: &str| MysqlServer {
        read_only: read_only.to_owned(),
        binlog_files: Some(3),
        binlog_bytes: Some(734_003_200),
        position: Some("0-1-4127".to_owned()),
    };
    let pool = PoolReading {
        connections: 42,
        max_connections: 151,
        active: 3,
        idle: 39,
        idle_in_transaction: 1,
        waiting: 0,
        oldest_xact_seconds: Some(4.0),
        outgoing: None,
    };
    let source = EndpointSample {
        roles: vec![Role::Primary],
        server_version: Some("MariaDB 10.11.19".to_owned()),
        pool: Some(pool.clone()),
        disk: Some(DiskReading {
            mount: String::new(),
            free_bytes: None,
            total_bytes: None,
            database_bytes: Some(12_884_901_888),
            wal_bytes: Some(734_003_200),
            slot_retained_bytes: None,
        }),
        mysql: Some(server("on")),
        ..EndpointSample::default()
    };
    let replica = EndpointSample {
        roles: vec![Role::Standby],
        replication: vec![ReplicationLink {
            name: "10.0.0.5:3306".to_owned(),
            kind: LinkKind::Binlog,
            state: "sql stopped".to_owned(),
            lag_bytes: Some(1_048_576),
            lag_seconds: None,
            position: Some("0-1-4100".to_owned()),
            ..ReplicationLink::default()
        }],
        pool: Some(PoolReading { connections: 5, oldest_xact_seconds: None, ..pool }),
        mysql: Some(server("on")),
        ..EndpointSample::default()
    };
    for (name, sample) in [("source", source), ("replica", replica)] {
        let reading = Reading::Observed(sample);
        state.update(&Action::Sample(Sample { at, endpoint: name.to_owned(), kind: EndpointKind::Mysql, reading }));
    }
    state.update(&Action::Tick { now: at });
    let text = screen(&state, &dark(), 100, 30);
    assert!(text.contains("binlog"), "{text}");
    assert!(text.contains("read-only"), "{text}");
    insta::assert_snapshot!(text);
}
