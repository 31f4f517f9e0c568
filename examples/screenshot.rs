//! Renders the cockpit as the README's picture: `cargo run --example screenshot`
//! writes `assets/cockpit.svg` (and `assets/cockpit.txt`) from a simulated
//! moment of the `full` scenario, drawn by the real render code.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use color_eyre::eyre::{Result, eyre};
use cutover::events::Action;
use cutover::sim::{Simulator, scenario};
use cutover::state::State;
use cutover::theme::{ColorMode, Theme, UNICODE};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const COLS: u16 = 120;
const ROWS: u16 = 34;
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;

fn main() -> Result<()> {
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 14, 0, 0).single().ok_or_else(|| eyre!("bad date"))?;
    let scenario = scenario::by_name("full").ok_or_else(|| eyre!("no full scenario"))?;
    let mut sim = Simulator::new(scenario, 7, start);
    let mut actions = vec![Action::Runbook(cutover::runbook::demo()?.outline)];
    actions.extend(sim.run_for(232, Duration::from_secs(1)));
    let state = State::from_actions("demo", &actions);
    let theme = Theme::load("dark", ColorMode::Ansi16, UNICODE)?;
    let mut terminal = Terminal::new(TestBackend::new(COLS, ROWS))?;
    terminal.draw(|f| cutover::ui::draw(f, &state, &theme))?;
    let buffer = terminal.backend().buffer().clone();
    std::fs::write("assets/cockpit.svg", svg(&buffer))?;
    std::fs::write("assets/cockpit.txt", text(&buffer))?;
    println!("wrote assets/cockpit.svg and assets/cockpit.txt");
    Ok(())
}

fn rgb(color: Color, fallback: &str) -> String {
    let hex = match color {
        Color::Black => "#1e1e1e",
        Color::Red => "#cd3131",
        Color::Green => "#0dbc79",
        Color::Yellow => "#e5e510",
        Color::Blue => "#2472c8",
        Color::Magenta => "#bc3fbc",
        Color::Cyan => "#11a8cd",
        Color::Gray => "#e5e5e5",
        Color::DarkGray => "#767676",
        Color::LightRed => "#f14c4c",
        Color::LightGreen => "#23d18b",
        Color::LightYellow => "#f5f543",
        Color::LightBlue => "#3b8eea",
        Color::LightMagenta => "#d670d6",
        Color::LightCyan => "#29b8db",
        Color::White => "#ffffff",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        _ => fallback,
    };
    hex.to_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn svg(buffer: &Buffer) -> String {
    let (bg, fg) = ("#0c0c0c", "#cccccc");
    let w = f64::from(buffer.area.width) * CELL_W;
    let h = f64::from(buffer.area.height) * CELL_H;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"{bg}\"/>\n\
         <g font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"14\" xml:space=\"preserve\">\n"
    );
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let (mut cfg, mut cbg) = (rgb(cell.fg, fg), rgb(cell.bg, bg));
            if reversed {
                std::mem::swap(&mut cfg, &mut cbg);
            }
            let (px, py) = (f64::from(x) * CELL_W, f64::from(y) * CELL_H);
            if cbg != bg {
                let _ = writeln!(
                    out,
                    "<rect x=\"{px:.1}\" y=\"{py:.1}\" width=\"{CELL_W}\" height=\"{CELL_H}\" fill=\"{cbg}\"/>"
                );
            }
            let symbol = cell.symbol();
            if symbol.trim().is_empty() {
                continue;
            }
            let weight = if cell.modifier.contains(Modifier::BOLD) { " font-weight=\"bold\"" } else { "" };
            let opacity = if cell.modifier.contains(Modifier::DIM) { " opacity=\"0.6\"" } else { "" };
            let _ = writeln!(
                out,
                "<text x=\"{px:.1}\" y=\"{:.1}\" fill=\"{cfg}\"{weight}{opacity}>{}</text>",
                py + CELL_H * 0.78,
                escape(symbol)
            );
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

fn text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
