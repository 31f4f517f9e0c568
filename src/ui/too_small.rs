//! Below the minimum size: say so plainly instead of drawing a garbled cockpit.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::layout::{MIN_COLS, MIN_ROWS};
use crate::theme::Theme;

pub fn render(frame: &mut Frame, theme: &Theme, area: Rect) {
    let lines = vec![
        Line::styled("Terminal too small", theme.critical),
        Line::styled(format!("{}x{} here; cutover needs {MIN_COLS}x{MIN_ROWS}.", area.width, area.height), theme.text),
        Line::styled("Enlarge the window, or press q to quit.", theme.dim),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let rect = Rect { y: area.y + top, height: area.height - top, ..area };
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center).wrap(Wrap { trim: true }), rect);
}
