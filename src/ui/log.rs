//! The event log: who did what, and what the databases said, newest last.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Paragraph};

use super::widgets::{pad, pane_block};
use crate::events::{LogEntry, LogLevel, Pane};
use crate::state::State;
use crate::theme::Theme;

/// One log entry as a line: time, who, level word (never colour alone), text.
#[must_use]
pub fn line(entry: &LogEntry, theme: &Theme) -> Line<'static> {
    let (word, style) = match entry.level {
        LogLevel::Info => ("", theme.text),
        LogLevel::Warn => ("WARN ", theme.warn),
        LogLevel::Error => ("ERROR ", theme.critical),
    };
    Line::from(vec![
        Span::styled(entry.at.format("%H:%M:%S ").to_string(), theme.dim),
        Span::styled(format!("{} ", pad(&entry.who, 7, false)), theme.accent),
        Span::styled(word, style),
        Span::styled(entry.text.clone(), if entry.level == LogLevel::Info { theme.text } else { style }),
    ])
}

/// The newest `rows` entries, `scroll` entries back from the end.
#[must_use]
pub fn visible(state: &State, theme: &Theme, rows: usize, scroll: usize) -> Vec<Line<'static>> {
    let n = state.log.len();
    let end = n.saturating_sub(scroll);
    let start = end.saturating_sub(rows);
    state.log.iter().skip(start).take(end - start).map(|e| line(e, theme)).collect()
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let block = pane_block(Pane::Log, state, theme, None, Borders::TOP);
    let inner = block.inner(area);
    let mut lines = visible(state, theme, usize::from(inner.height), state.ui.log_scroll);
    if lines.is_empty() {
        lines.push(Line::styled("nothing yet", theme.dim));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
