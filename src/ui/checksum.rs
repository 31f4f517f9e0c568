//! Checksum progress: per table, chunks verified, rate, ETA, differences.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::widgets::{Cell, fit_row, render_rows};
use crate::events::{Pane, TableState};
use crate::format;
use crate::state::{Level, State};
use crate::theme::Theme;

const BAR_COLS: usize = 10;

/// A progress bar as text.
#[must_use]
pub fn bar(pct: f64, cols: usize, full: &str, empty: &str) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let filled = ((pct / 100.0) * cols as f64).floor().clamp(0.0, cols as f64) as usize;
    format!("{}{}", full.repeat(filled), empty.repeat(cols - filled))
}

pub(super) fn rows(state: &State, theme: &Theme, width: usize) -> Vec<(Level, Line<'static>)> {
    let Some(progress) = &state.checksum else {
        return Vec::new();
    };
    let s = &theme.symbols;
    progress
        .tables
        .iter()
        .map(|t| {
            let level = if t.differences > 0 || t.state == TableState::Failed { Level::Critical } else { Level::Ok };
            let style = if t.state == TableState::Pending { theme.dim } else { theme.text };
            let mark = match t.state {
                TableState::Pending => Cell::left(s.step_pending, 1, theme.dim, 0),
                TableState::Running if level == Level::Ok => Cell::left(s.step_running, 1, theme.accent, 0),
                _ => Cell::left(s.level(level), 1, theme.level(level), 0),
            };
            let name = t.table.strip_prefix("public.").unwrap_or(&t.table);
            let diff = if t.differences > 0 { format!("{} diff", t.differences) } else { "0 diff".to_owned() };
            #[allow(clippy::cast_precision_loss)]
            let eta = if t.state == TableState::Running && t.rows_per_second > 0.0 {
                let left_chunks = t.chunks_total.saturating_sub(t.chunks_done) as f64;
                let rows_per_chunk = if t.chunks_done > 0 { t.rows as f64 / t.chunks_done as f64 } else { 100_000.0 };
                format!("ETA {}", format::seconds(left_chunks * rows_per_chunk / t.rows_per_second))
            } else {
                String::new()
            };
            #[allow(clippy::cast_precision_loss)]
            let cells = vec![
                mark,
                Cell::left(name, 11, style, 0),
                Cell::left(bar(t.pct(), BAR_COLS, s.gauge_full, s.gauge_empty), BAR_COLS, theme.accent, 1),
                Cell::right(format!("{:.0}%", t.pct()), 4, style, 0),
                Cell::right(diff, 7, if t.differences > 0 { theme.critical } else { style }, 0),
                Cell::right(format!("{}/{}", t.chunks_done, t.chunks_total), 7, theme.dim, 3),
                Cell::left(eta, 10, style, 2),
                Cell::right(format!("{} rows", format::count(t.rows as f64)), 11, theme.dim, 4),
            ];
            (level, fit_row(cells, width))
        })
        .collect()
}

#[must_use]
pub fn wanted_rows(state: &State) -> u16 {
    state.checksum.as_ref().map_or(1, |c| u16::try_from(c.tables.len()).unwrap_or(u16::MAX).max(1))
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let rows = rows(state, theme, usize::from(area.width.saturating_sub(1)));
    render_rows(frame, Pane::Checksum, (state, theme), area, rows, "verification not started");
}
