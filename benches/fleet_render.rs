//! What one frame of the fleet screen costs at 256 members: the rows built
//! from every member's fold (what the fleet cockpit does at each frame), and
//! the screen drawn from them.
//!
//! ```text
//! cargo bench --bench fleet_render -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `fleet/rows_256`: `MemberRow::of` for 256 members (each a simulated
//!   cockpit of 300 s of the `full` or `calm` scenario), sorted worst first.
//! - `fleet/draw_256_200x60`, `fleet/draw_256_120x40`, `fleet/draw_256_80x24`:
//!   one `Terminal::draw` of the fleet screen on ratatui's `TestBackend`.
//! - `fleet/frame_256_200x60`: both, as a frame of the cockpit.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use color_eyre::eyre::{Result, eyre};
use criterion::Criterion;
use cutover::events::Action;
use cutover::fleet::row::{MemberPhase, MemberRow};
use cutover::fleet::view::FleetView;
use cutover::sim::{Simulator, scenario};
use cutover::state::State;
use cutover::theme::{ColorMode, DEFAULT_THEME, Theme, UNICODE};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const MEMBERS: usize = 256;

fn states() -> Result<Vec<State>> {
    let start: DateTime<Utc> =
        Utc.with_ymd_and_hms(2026, 11, 21, 14, 0, 0).single().ok_or_else(|| eyre!("bad date"))?;
    let mut out = Vec::new();
    for (i, name) in ["full", "calm", "stuck-slot", "lost-replica"].iter().enumerate() {
        let scenario = scenario::by_name(name).ok_or_else(|| eyre!("no scenario {name}"))?;
        let mut sim = Simulator::new(scenario, 7 + i as u64, start);
        let mut actions = vec![Action::Runbook(cutover::runbook::demo()?.outline)];
        actions.extend(sim.run_for(300, Duration::from_secs(1)));
        out.push(State::from_actions("demo", &actions));
    }
    Ok(out)
}

fn rows(states: &[State]) -> Vec<MemberRow> {
    (0..MEMBERS)
        .map(|i| {
            let name = format!("shard-{:03}", i + 1);
            MemberRow::of(
                &name,
                1 + usize::from(i > 0) + usize::from(i > 3),
                MemberPhase::Running,
                Some(&states[i % states.len()]),
                None,
            )
        })
        .collect()
}

fn terminal(cols: u16, rows: u16) -> Terminal<TestBackend> {
    let Ok(terminal) = Terminal::new(TestBackend::new(cols, rows));
    terminal
}

fn main() -> Result<()> {
    let states = states()?;
    let theme = Theme::load(DEFAULT_THEME, ColorMode::Ansi16, UNICODE)?;
    let mut view = FleetView {
        title: "bench".to_owned(),
        runbook: "demo.toml".to_owned(),
        waves: 3,
        wave: Some(3),
        ..FleetView::default()
    };
    view.set_rows(rows(&states));
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("fleet");
    group.bench_function("rows_256", |b| {
        b.iter(|| {
            let mut v = FleetView::default();
            v.set_rows(rows(black_box(&states)));
            black_box(v.totals);
        });
    });
    for (name, cols, rows_) in [("draw_256_200x60", 200, 60), ("draw_256_120x40", 120, 40), ("draw_256_80x24", 80, 24)]
    {
        let mut term = terminal(cols, rows_);
        group.bench_function(name, |b| {
            b.iter(|| {
                let Ok(frame) = term.draw(|frame| cutover::ui::fleet::draw(frame, black_box(&view), &theme));
                black_box(frame.area);
            });
        });
    }
    let mut term = terminal(200, 60);
    group.bench_function("frame_256_200x60", |b| {
        b.iter(|| {
            let mut v = view.clone();
            v.set_rows(rows(black_box(&states)));
            let Ok(frame) = term.draw(|frame| cutover::ui::fleet::draw(frame, &v, &theme));
            black_box(frame.area);
        });
    });
    group.finish();
    c.final_summary();
    Ok(())
}
