//! A live run's step in detail, under the runbook list: exactly what it will
//! execute and where, whether its gate holds (and if not, which part is false
//! and its live value), what to press, and the step's output as it streams.

use ratatui::text::{Line, Span};

use crate::events::{Awaiting, StepStatus};
use crate::state::State;
use crate::theme::Theme;

/// The detail lines for the step the run waits on (empty without a live run).
#[must_use]
pub fn lines(state: &State, theme: &Theme, width: usize, rows: usize) -> Vec<Line<'static>> {
    let Some(awaiting) = &state.run.awaiting else { return Vec::new() };
    let cut = |text: &str| -> String {
        if text.chars().count() <= width {
            text.to_owned()
        } else {
            text.chars().take(width.saturating_sub(1)).collect::<String>() + "…"
        }
    };
    let mut out = Vec::new();
    let (step, what) = match awaiting {
        Awaiting::Confirm { step } => (step.clone(), "next"),
        Awaiting::Running { step } => (step.clone(), "running"),
        Awaiting::Decide { step, .. } => (step.clone(), "held"),
        Awaiting::Over { outcome } => {
            let word = crate::events::name_of(outcome).replace('_', " ");
            out.push(Line::styled(cut(&format!(" run {word} — q to leave")), theme.title));
            return out;
        }
    };
    let outline_step = state.outline.as_ref().and_then(|o| o.step(&step));
    let name = outline_step.map_or("", |s| s.name.as_str());
    out.push(Line::styled(cut(&format!(" {what}: {step} {name}")), theme.title));
    for line in state.run.plans.get(&step).into_iter().flatten() {
        out.push(Line::styled(cut(&format!("   {line}")), theme.text));
    }
    if let Some(verdict) = state.gate_verdict(&step) {
        let (word, style) = if verdict.holds { ("gate open", theme.ok) } else { ("LOCKED", theme.critical) };
        out.push(Line::from(vec![
            Span::styled(format!(" {word}: "), style),
            Span::styled(cut(&verdict.reason), theme.text),
        ]));
    }
    let keys = match awaiting {
        Awaiting::Confirm { .. } if outline_step.is_some_and(|s| s.destructive) => {
            " Enter/g: confirm (type the endpoint's name) · R: rollback"
        }
        Awaiting::Confirm { .. } => " Enter/g: confirm · R: rollback",
        Awaiting::Running { .. } => " x: cancel",
        Awaiting::Decide { why, .. } => {
            out.push(Line::styled(cut(&format!(" {step} {why}")), theme.critical));
            " Enter/g: re-run or skip · R: rollback"
        }
        Awaiting::Over { .. } => "",
    };
    out.push(Line::styled(cut(keys), theme.dim));
    if let Some(notice) = &state.run.notice {
        out.push(Line::styled(cut(&format!(" {notice}")), theme.warn));
    }
    let output: Vec<&(String, String)> = state.run.output.iter().filter(|(s, _)| *s == step).collect();
    if !output.is_empty() || state.step_status(&step) == StepStatus::Running {
        out.push(Line::styled(cut(&format!(" ── output of {step} ──")), theme.dim));
        let room = rows.saturating_sub(out.len()).max(1);
        for (_, text) in output.iter().skip(output.len().saturating_sub(room)) {
            out.push(Line::styled(cut(&format!(" {text}")), theme.text));
        }
    }
    out
}
