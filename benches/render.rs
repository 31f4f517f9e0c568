//! How long one frame and one second of data cost.
//!
//! Every state is built once, outside the timed loops, from the `full`
//! scenario played for 300 simulated seconds at a fixed clock (every pane has
//! figures and five minutes of history by then), drawn with the default theme
//! as `cutover demo` shows it on a 16-colour UTF-8 terminal.
//!
//! ```text
//! cargo bench --bench render -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `render/full_200x60`, `render/full_80x24`, `render/zoom_lag_200x60`: one
//!   `Terminal::draw` on ratatui's `TestBackend` (`ui::draw` into a fresh
//!   buffer, the diff against the previous frame, the backend write) with the
//!   state unchanged, so the diff is empty: the cost of drawing.
//! - `render/full_200x60_next_second`: alternately the state at 300 s and at
//!   301 s, so every frame also carries the cells one second changes, as the
//!   running cockpit does.
//! - `update/fold_one_second`: `State::update` over the actions of one
//!   simulated second (a tick, one sample per endpoint, checksum progress)
//!   applied to the 300-second state.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use color_eyre::eyre::{Result, eyre};
use criterion::{BatchSize, Criterion};
use cutover::events::{Action, Pane};
use cutover::sim::{Simulator, scenario};
use cutover::state::State;
use cutover::theme::{ColorMode, DEFAULT_THEME, Theme, UNICODE};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SCENARIO: &str = "full";
const SEED: u64 = 7;
const SECONDS: u32 = 300;
const INTERVAL: Duration = Duration::from_secs(1);

/// The states and theme the benchmarks share, built before anything is timed.
struct Fixtures {
    theme: Theme,
    /// The `full` scenario after `SECONDS` simulated seconds.
    state: State,
    /// The same, one second later.
    next: State,
    /// `state` with the lag pane zoomed.
    zoomed: State,
    /// The actions of the second after `state`.
    one_second: Vec<Action>,
}

impl Fixtures {
    fn build() -> Result<Self> {
        let start: DateTime<Utc> =
            Utc.with_ymd_and_hms(2026, 11, 21, 14, 0, 0).single().ok_or_else(|| eyre!("bad start date"))?;
        let scenario = scenario::by_name(SCENARIO).ok_or_else(|| eyre!("no scenario \"{SCENARIO}\""))?;
        let mut sim = Simulator::new(scenario, SEED, start);
        let mut actions = vec![Action::Runbook(cutover::runbook::demo()?.outline)];
        actions.extend(sim.run_for(SECONDS, INTERVAL));
        let state = State::from_actions("demo", &actions);
        let one_second = sim.advance(INTERVAL);
        let mut next = state.clone();
        for action in &one_second {
            next.update(action);
        }
        let mut zoomed = state.clone();
        zoomed.update(&Action::Zoom { pane: Some(Pane::Lag) });
        let theme = Theme::load(DEFAULT_THEME, ColorMode::Ansi16, UNICODE)?;
        Ok(Self { theme, state, next, zoomed, one_second })
    }
}

fn terminal(cols: u16, rows: u16) -> Terminal<TestBackend> {
    // TestBackend cannot fail: its error type is `Infallible`.
    let Ok(terminal) = Terminal::new(TestBackend::new(cols, rows));
    terminal
}

fn bench_render(c: &mut Criterion, f: &Fixtures) {
    let mut group = c.benchmark_group("render");
    let cases: [(&str, &State, u16, u16); 3] =
        [("full_200x60", &f.state, 200, 60), ("full_80x24", &f.state, 80, 24), ("zoom_lag_200x60", &f.zoomed, 200, 60)];
    for (name, state, cols, rows) in cases {
        let mut term = terminal(cols, rows);
        group.bench_function(name, |b| {
            b.iter(|| {
                let Ok(frame) = term.draw(|frame| cutover::ui::draw(frame, black_box(state), &f.theme));
                black_box(frame.area);
            });
        });
    }
    let mut term = terminal(200, 60);
    let states = [&f.state, &f.next];
    let mut i = 0usize;
    group.bench_function("full_200x60_next_second", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let state = states[i % 2];
            let Ok(frame) = term.draw(|frame| cutover::ui::draw(frame, black_box(state), &f.theme));
            black_box(frame.area);
        });
    });
    group.finish();
}

fn bench_update(c: &mut Criterion, f: &Fixtures) {
    let mut group = c.benchmark_group("update");
    group.bench_function("fold_one_second", |b| {
        b.iter_batched_ref(
            || f.state.clone(),
            |state| {
                for action in &f.one_second {
                    black_box(state.update(black_box(action)));
                }
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn main() -> Result<()> {
    let fixtures = Fixtures::build()?;
    let mut c = Criterion::default().configure_from_args();
    bench_render(&mut c, &fixtures);
    bench_update(&mut c, &fixtures);
    c.final_summary();
    Ok(())
}
