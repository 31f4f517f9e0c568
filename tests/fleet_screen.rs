//! The fleet screen rendered on ratatui's TestBackend: 256 members whose rows
//! come from simulated member cockpits (the simulator's states at a fixed
//! clock), compared as text snapshots, with the facts each must show.

mod common;

use chrono::Duration;
use common::{start, text, theme};
use cutover::fleet::row::{MemberPhase, MemberRow};
use cutover::fleet::view::{Filter, FleetPrompt, FleetView};
use cutover::state::State;
use cutover::theme::ColorMode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const MEMBERS: usize = 256;

/// The states members are in: a few simulated cockpits, each reused.
fn states() -> Vec<State> {
    [
        ("calm", 40),
        ("calm", 120),
        ("full", 170),
        ("stuck-slot", 330),
        ("lost-replica", 100),
        ("checksum-mismatch", 300),
        ("calm", 262),
    ]
    .iter()
    .map(|(name, secs)| common::sim_state(name, *secs))
    .collect()
}

/// 256 members: the canary and the second wave done, one rolled back, the
/// rest running on the simulated states, the last 40 waiting.
fn view() -> FleetView {
    let states = states();
    let rows: Vec<MemberRow> = (0..MEMBERS)
        .map(|i| {
            let name = format!("shard-{:03}", i + 1);
            let wave = match i {
                0 => 1,
                1..=3 => 2,
                _ => 3,
            };
            match i {
                0 | 1 | 3 => MemberRow::of(&name, wave, MemberPhase::Done, Some(&states[1]), None),
                2 => MemberRow::of(
                    &name,
                    wave,
                    MemberPhase::RolledBack,
                    Some(&states[0]),
                    Some("step 1.7 failed: target is unreachable (connection refused)"),
                ),
                _ if i >= MEMBERS - 40 => MemberRow::of(&name, wave, MemberPhase::Waiting, None, None),
                _ => MemberRow::of(&name, wave, MemberPhase::Running, Some(&states[i % states.len()]), None),
            }
        })
        .collect();
    let mut view = FleetView {
        title: "orders shards".to_owned(),
        runbook: "pg-logical-migration.toml".to_owned(),
        started: Some(start()),
        now: Some(start() + Duration::seconds(1234)),
        wave: Some(3),
        waves: 3,
        ..FleetView::default()
    };
    view.set_rows(rows);
    view
}

fn screen(view: &FleetView, cols: u16, rows: u16, ascii: bool) -> String {
    let theme = theme("dark", ColorMode::Ansi16, ascii);
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    terminal.draw(|f| cutover::ui::fleet::draw(f, view, &theme)).unwrap();
    text(terminal.backend().buffer())
}

fn line_of<'a>(screen: &'a str, name: &str) -> &'a str {
    screen.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} not on screen:\n{screen}"))
}

#[test]
fn two_hundred_fifty_six_members_at_120x40_worst_first() {
    let view = view();
    let s = screen(&view, 120, 40, false);
    // The counts, and the failed member on the first row.
    assert!(s.lines().nth(1).unwrap().starts_with("done 3 · running 212 · waiting 40 · failed 1 · paused"), "{s}");
    assert!(s.lines().nth(3).unwrap().starts_with("shard-003"), "the rolled-back member first:\n{s}");
    assert!(line_of(&s, "shard-003").contains("rolled back") && line_of(&s, "shard-003").contains("step 1.7 failed"));
    assert!(s.contains("0 more above · 221 more below"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn at_80x24_the_narrow_columns_stay() {
    let s = screen(&view(), 80, 24, false);
    let heading = s.lines().nth(2).unwrap();
    assert!(heading.contains("STATE") && heading.contains("LAG") && !heading.contains("POOL"), "{heading}");
    assert!(s.lines().all(|l| l.chars().count() <= 80));
    insta::assert_snapshot!(s);
}

#[test]
fn at_200x60_every_column_shows() {
    let s = screen(&view(), 200, 60, false);
    let heading = s.lines().nth(2).unwrap();
    for col in ["POOL", "DISK", "CHECK", "PAUSE", "GATE / WHY"] {
        assert!(heading.contains(col), "{col} missing: {heading}");
    }
    insta::assert_snapshot!(s);
}

#[test]
fn the_attention_filter_lists_only_members_that_need_someone() {
    let mut view = view();
    view.filter = Filter::Attention;
    view.selected = None;
    view.set_rows(view.rows.clone());
    let s = screen(&view, 120, 40, false);
    assert!(s.contains("showing attention"), "{s}");
    let listed: Vec<&str> = s.lines().skip(3).take_while(|l| l.starts_with("shard-")).collect();
    assert!(!listed.is_empty(), "{s}");
    let attention = ["rolled back", "held", "unreachable", "gate closed", "confirm?", "decide"];
    for l in &listed {
        assert!(attention.iter().any(|a| l[16..].starts_with(a)), "not a member needing someone: {l}");
    }
    insta::assert_snapshot!(s);
}

#[test]
fn a_selection_deep_in_the_list_scrolls_into_view() {
    let mut view = view();
    view.selected = Some("shard-200".to_owned());
    let index = view.selected_index().unwrap();
    view.keep_in_view(index, cutover::ui::fleet::list_height(40));
    let s = screen(&view, 120, 40, false);
    assert!(s.lines().any(|l| l.starts_with("shard-200")), "{s}");
    assert!(!s.lines().any(|l| l.starts_with("shard-003")), "scrolled past the first rows:\n{s}");
}

#[test]
fn a_wave_confirmation_asks_for_the_wave_typed() {
    let mut view = view();
    view.prompt = Some(FleetPrompt {
        question: "Run 4.1 Pause the pooler on wave 3 (212 members)".to_owned(),
        expect: Some("wave-3".to_owned()),
        typed: "wave".to_owned(),
    });
    let s = screen(&view, 120, 40, false);
    assert!(
        s.contains("type wave-3 + Enter (Esc cancels) to run 4.1 Pause the pooler on wave 3 (212 members): wave"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn ascii_is_ascii() {
    let s = screen(&view(), 120, 40, true);
    assert!(s.is_ascii(), "{s}");
}

#[test]
fn help_lists_the_fleet_keys() {
    let mut view = view();
    view.help = true;
    let s = screen(&view, 120, 40, false);
    for key in ["Enter", "confirm that step for its whole wave", "wave-N", "pause the fleet", "filter"] {
        assert!(s.contains(key), "{key}:\n{s}");
    }
}

#[test]
fn a_tiny_terminal_is_told_so() {
    let s = screen(&view(), 50, 6, false);
    assert!(s.contains("Terminal too small"), "{s}");
}
