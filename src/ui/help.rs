//! `?`: every key, drawn from the keymap itself, and what the symbols mean.
//! In a replay: the replay's own keys first, then the cockpit's keys that
//! still work there, and those it refuses.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crossterm::event::KeyEvent;

use crate::keymap::BINDINGS;
use crate::replay::{self, keys};
use crate::state::{Level, State};
use crate::theme::Theme;

/// The label column's width.
const LABEL_WIDTH: usize = 12;

fn row(theme: &Theme, label: &str, help: &str, width: usize) -> Line<'static> {
    Line::from(vec![Span::styled(format!(" {label:<width$}"), theme.title), Span::styled(help.to_owned(), theme.text)])
}

/// The cockpit's keys.
#[must_use]
pub fn lines(theme: &Theme) -> Vec<Line<'static>> {
    let mut out: Vec<Line> = BINDINGS.iter().map(|b| row(theme, b.label, b.help, LABEL_WIDTH)).collect();
    out.extend(legend(theme));
    out
}

/// A replay's keys: its controls (one row for keys that do the same), then
/// the cockpit's keys it passes on — without those it takes for itself
/// (`Left`, `Right` seek) — and last the ones it refuses.
#[must_use]
pub fn replay_lines(theme: &Theme) -> Vec<Line<'static>> {
    let mut controls: Vec<(String, &str, replay::Control)> = Vec::new();
    for &(_, _, label, help, control) in keys::BINDINGS {
        match controls.last_mut() {
            Some((labels, _, last)) if *last == control => {
                labels.push_str("  ");
                labels.push_str(label);
            }
            _ => controls.push((label.to_owned(), help, control)),
        }
    }
    let mut rows: Vec<Option<(String, &str)>> =
        controls.iter().map(|(label, help, _)| Some((label.clone(), *help))).collect();
    rows.push(None);
    let mut refused = Vec::new();
    for binding in BINDINGS {
        if (binding.action)().acts_on_a_run() {
            refused.push(binding.label);
            continue;
        }
        // The label names the keys in order ("h  Left"); drop the ones a replay takes.
        let words: Vec<&str> = binding.label.split_whitespace().collect();
        let taken = |(code, mods): &(crossterm::event::KeyCode, crossterm::event::KeyModifiers)| {
            keys::control_for(KeyEvent::new(*code, *mods)).is_some()
        };
        let label = if words.len() == binding.keys.len() && binding.keys.iter().any(taken) {
            let kept: Vec<&str> = words.iter().zip(binding.keys).filter(|(_, k)| !taken(k)).map(|(w, _)| *w).collect();
            kept.join("  ")
        } else {
            binding.label.to_owned()
        };
        if !label.is_empty() {
            rows.push(Some((label, binding.help)));
        }
    }
    rows.push(Some((refused.join("  "), "refused: a replay is read-only")));
    let width = rows.iter().flatten().map(|(label, _)| label.chars().count() + 1).max().unwrap_or(0).max(LABEL_WIDTH);
    let mut out: Vec<Line> = rows
        .into_iter()
        .map(|r| r.map_or_else(|| Line::raw(""), |(label, help)| row(theme, &label, help, width)))
        .collect();
    out.extend(legend(theme));
    out
}

fn legend(theme: &Theme) -> Vec<Line<'static>> {
    let s = &theme.symbols;
    let mut out = vec![Line::raw("")];
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

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let (title, lines) = if state.replay.is_some() {
        (" Replay keys — Esc or ? to close ", replay_lines(theme))
    } else {
        (" Keys — Esc or ? to close ", lines(theme))
    };
    let want_rows = u16::try_from(lines.len()).unwrap_or(u16::MAX).saturating_add(2);
    let [popup] = Layout::horizontal([Constraint::Length(72.min(area.width))]).flex(Flex::Center).areas(area);
    let [popup] = Layout::vertical([Constraint::Length(want_rows.min(area.height))]).flex(Flex::Center).areas(popup);
    let block = Block::bordered()
        .border_set(theme.symbols.border)
        .border_style(theme.border_focus)
        .style(theme.text)
        .title(Span::styled(title, theme.title));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
