//! The runbook: phases with their state, the current phase's steps, what each
//! step is (destructive, gated, write pause).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Paragraph};

use super::widgets::pane_block;
use crate::events::{OutlinePhase, Pane, StepStatus};
use crate::state::State;
use crate::theme::Theme;

/// How a phase stands, from its steps.
#[must_use]
pub fn phase_status(state: &State, phase: &OutlinePhase) -> StepStatus {
    let statuses: Vec<StepStatus> = phase.steps.iter().map(|s| state.step_status(&s.id)).collect();
    if statuses.is_empty() || statuses.iter().all(|s| *s == StepStatus::Pending) {
        StepStatus::Pending
    } else if statuses.iter().all(|s| matches!(s, StepStatus::Done | StepStatus::Skipped)) {
        StepStatus::Done
    } else if let Some(bad) = statuses.iter().find(|s| matches!(s, StepStatus::Failed | StepStatus::Interrupted)) {
        *bad
    } else {
        StepStatus::Running
    }
}

fn status_style(theme: &Theme, status: StepStatus) -> Style {
    match status {
        StepStatus::Done => theme.ok,
        StepStatus::Running => theme.accent,
        StepStatus::Failed | StepStatus::Interrupted => theme.critical,
        StepStatus::Pending | StepStatus::Skipped => theme.dim,
    }
}

/// The lines of the runbook; `expand_all` shows every phase's steps (zoom).
#[must_use]
pub fn lines(state: &State, theme: &Theme, width: usize, expand_all: bool) -> (Vec<Line<'static>>, Option<usize>) {
    let Some(outline) = &state.outline else {
        return (vec![Line::styled("no runbook: gauges only", theme.dim)], None);
    };
    let s = &theme.symbols;
    let current = state.current_phase().map(|(i, _)| i);
    let mut out = Vec::new();
    let mut focus_line = None;
    for (i, phase) in outline.phases.iter().enumerate() {
        let status = phase_status(state, phase);
        let here = current == Some(i);
        let name_style = if here { theme.title } else { status_style(theme, status).patch(theme.text) };
        out.push(Line::from(vec![
            Span::styled(format!(" {} ", s.step(status)), status_style(theme, status)),
            Span::styled(
                format!("{} {}", phase.id, phase.name),
                if status == StepStatus::Pending && !here { theme.dim } else { name_style },
            ),
        ]));
        if !(here || expand_all) {
            continue;
        }
        for step in &phase.steps {
            let st = state.step_status(&step.id);
            if st == StepStatus::Running || (focus_line.is_none() && st == StepStatus::Pending) {
                focus_line = Some(out.len());
            }
            let mut spans = vec![
                Span::raw("     "),
                Span::styled(format!("{} ", s.step(st)), status_style(theme, st)),
                Span::styled(
                    format!("{} {}", step.id, step.name),
                    if st == StepStatus::Pending { theme.text } else { status_style(theme, st) },
                ),
            ];
            let mut tags = Vec::new();
            if step.destructive {
                tags.push(Span::styled(format!(" {} destructive", s.destructive), theme.warn));
            }
            if step.starts_write_pause {
                tags.push(Span::styled(" [pauses writes]".to_owned(), theme.warn));
            }
            if step.ends_write_pause {
                tags.push(Span::styled(" [resumes writes]".to_owned(), theme.ok));
            }
            if let Some(gate) = &step.gate {
                tags.push(Span::styled(format!(" [gate: {gate}]"), theme.dim));
            }
            let used: usize = spans.iter().map(|sp| sp.content.chars().count()).sum();
            let mut room = width.saturating_sub(used);
            for tag in tags {
                let len = tag.content.chars().count();
                if len <= room {
                    room -= len;
                    spans.push(tag);
                }
            }
            out.push(Line::from(spans));
        }
    }
    (out, focus_line)
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let block = pane_block(Pane::Runbook, state, theme, None, Borders::TOP);
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    // A live run: the step it waits on, in detail, under the list.
    if state.run.awaiting.is_some() && inner.height >= 8 {
        let detail_rows = (inner.height * 11 / 20).max(4);
        let detail = super::step::lines(state, theme, usize::from(inner.width), usize::from(detail_rows));
        let used = u16::try_from(detail.len()).unwrap_or(u16::MAX).min(detail_rows);
        let area = Rect { y: inner.y + inner.height - used, height: used, ..inner };
        frame.render_widget(Paragraph::new(detail), area);
        inner.height -= used;
    }
    let (lines, focus) = lines(state, theme, usize::from(inner.width), false);
    // Keep the step being worked on in view, with a little context above it.
    let room = usize::from(inner.height);
    let auto = focus.map_or(0, |f| f.saturating_sub(room.saturating_sub(3)).min(lines.len().saturating_sub(room)));
    let top = if state.ui.focus == Pane::Runbook && state.ui.runbook_scroll > 0 {
        state.ui.runbook_scroll.min(lines.len().saturating_sub(1))
    } else {
        auto
    };
    let visible: Vec<Line> = lines.into_iter().skip(top).take(room).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}
