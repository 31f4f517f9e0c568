//! The question the operator is answering: run this step, type the
//! endpoint's name, roll back, cancel, re-run or skip.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::state::{Prompt, State};
use crate::theme::Theme;

#[must_use]
pub fn lines(state: &State, theme: &Theme) -> Option<(String, Vec<Line<'static>>)> {
    let prompt = state.run.prompt.as_ref()?;
    let name =
        |step: &str| state.outline.as_ref().and_then(|o| o.step(step)).map_or_else(String::new, |s| s.name.clone());
    let plan = |step: &str| -> Vec<Line<'static>> {
        state.run.plans.get(step).into_iter().flatten().map(|l| Line::styled(format!(" {l}"), theme.text)).collect()
    };
    Some(match prompt {
        Prompt::Confirm { step } => {
            let mut lines = plan(step);
            lines.push(Line::raw(""));
            lines.push(Line::styled(" y: run it   n / Esc: not now", theme.title));
            (format!(" Run {step} {}? ", name(step)), lines)
        }
        Prompt::TypeName { step, endpoint, typed } => {
            let mut lines = plan(step);
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(" DESTRUCTIVE. Type \"{endpoint}\" and Enter to run it; Esc: not now"),
                theme.warn,
            ));
            lines.push(Line::from(vec![
                Span::styled(" > ", theme.title),
                Span::styled(format!("{typed}_"), theme.text),
            ]));
            (format!(" Run {step} {}? ", name(step)), lines)
        }
        Prompt::Rollback => (
            " Roll back? ".to_owned(),
            vec![
                Line::styled(" Leave the forward steps and run the rollback phase.", theme.text),
                Line::raw(""),
                Line::styled(" y: roll back   n / Esc: no", theme.title),
            ],
        ),
        Prompt::Cancel { step } => (
            format!(" Cancel {step}? "),
            vec![
                Line::styled(" Its statement is cancelled on the server, its command killed.", theme.text),
                Line::raw(""),
                Line::styled(" y: cancel it   n / Esc: let it run", theme.title),
            ],
        ),
        Prompt::Decide { step, why } => (
            format!(" {step} {} ", name(step)),
            vec![
                Line::styled(format!(" It {why}."), theme.critical),
                Line::raw(""),
                Line::styled(
                    " r: run it again   s: skip it (done by hand)   Esc: decide later   R: rollback",
                    theme.title,
                ),
            ],
        ),
    })
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let Some((title, lines)) = lines(state, theme) else { return };
    let width = 90.min(area.width);
    // Rows after wrapping, so the answer line at the bottom is never cut off.
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let want_rows = u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::vertical([Constraint::Length(want_rows.min(area.height))]).flex(Flex::Center).areas(popup);
    let block = Block::bordered()
        .border_set(theme.symbols.border)
        .border_style(theme.border_focus)
        .style(theme.text)
        .title(Span::styled(title, theme.title));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), popup);
}
