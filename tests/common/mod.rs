//! Helpers the integration tests share: a state from the simulator at a
//! fixed clock, and a screen rendered to text on ratatui's TestBackend.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use cutover::events::Action;
use cutover::sim::{Simulator, scenario};
use cutover::state::State;
use cutover::theme::{ASCII, ColorMode, Symbols, Theme, UNICODE};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

/// The injected clock: every snapshot starts here.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 14, 0, 0).single().expect("valid date")
}

/// The actions of `seconds` of a scenario, seed 7, from the fixed start.
pub fn sim_actions(name: &str, seconds: u32) -> Vec<Action> {
    let scenario = scenario::by_name(name).expect("scenario exists");
    let mut sim = Simulator::new(scenario, 7, start());
    let mut actions = vec![Action::Runbook(cutover::runbook::demo().expect("demo runbook").outline)];
    actions.extend(sim.run_for(seconds, Duration::from_secs(1)));
    actions
}

pub fn sim_state(name: &str, seconds: u32) -> State {
    State::from_actions("demo", &sim_actions(name, seconds))
}

pub fn theme(name: &str, mode: ColorMode, ascii: bool) -> Theme {
    let symbols: Symbols = if ascii { ASCII } else { UNICODE };
    Theme::load(name, mode, symbols).expect("theme loads")
}

pub fn render(state: &State, theme: &Theme, cols: u16, rows: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).expect("test terminal");
    terminal.draw(|f| cutover::ui::draw(f, state, theme)).expect("draw");
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row, trailing spaces trimmed.
pub fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn screen(state: &State, theme: &Theme, cols: u16, rows: u16) -> String {
    text(&render(state, theme, cols, rows))
}
