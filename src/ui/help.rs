//! `?`: every key, drawn from the keymap itself, and what the symbols mean.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::keymap::BINDINGS;
use crate::state::{Level, State};
use crate::theme::Theme;

#[must_use]
pub fn lines(theme: &Theme) -> Vec<Line<'static>> {
    let s = &theme.symbols;
    let mut out: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            Line::from(vec![Span::styled(format!(" {:<12}", b.label), theme.title), Span::styled(b.help, theme.text)])
        })
        .collect();
    out.push(Line::raw(""));
    out.push(Line::from(vec![
        Span::styled(format!(" {} ok  ", s.level(Level::Ok)), theme.ok),
        Span::styled(format!("{} WARN  ", s.level(Level::Warn)), theme.warn),
        Span::styled(format!("{} CRIT / unreachable  ", s.level(Level::Critical)), theme.critical),
        Span::styled("? stale", theme.stale),
    ]));
    out.push(Line::from(vec![
        Span::styled(
            format!(" {} done  {} running  {} pending  ", s.step_done, s.step_running, s.step_pending),
            theme.text,
        ),
        Span::styled(format!("{} destructive", s.destructive), theme.warn),
    ]));
    out
}

pub fn render(frame: &mut Frame, _state: &State, theme: &Theme, area: Rect) {
    let lines = lines(theme);
    let want_rows = u16::try_from(lines.len()).unwrap_or(u16::MAX).saturating_add(2);
    let [popup] = Layout::horizontal([Constraint::Length(72.min(area.width))]).flex(Flex::Center).areas(area);
    let [popup] = Layout::vertical([Constraint::Length(want_rows.min(area.height))]).flex(Flex::Center).areas(popup);
    let block = Block::bordered()
        .border_set(theme.symbols.border)
        .border_style(theme.border_focus)
        .style(theme.text)
        .title(Span::styled(" Keys — Esc or ? to close ", theme.title));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
