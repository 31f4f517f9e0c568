//! The header: what is running, which phase, the UTC clock, time elapsed, and
//! the write-pause stopwatch — the "how long?" answers at a glance.
//!
//! When the line is short, pieces go in this order: elapsed time, the empty
//! write-pause placeholder, the word "phase", then the runbook name shrinks.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::pad;
use crate::format;
use crate::state::State;
use crate::theme::Theme;

struct Piece {
    text: String,
    style: Style,
}

fn len(pieces: &[Option<Piece>]) -> usize {
    pieces.iter().flatten().map(|p| p.text.chars().count()).sum()
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let sep = theme.symbols.separator;
    // A replay says so first, and is never shortened away.
    let replay = state.replay.as_ref().map(|r| {
        let word = if r.playing { "playing" } else { "PAUSED" };
        let notice = r.notice.as_ref().map(|n| format!(" {sep} {n}")).unwrap_or_default();
        let at = format!("{}/{}", clock(r.position_secs), clock(r.length_secs));
        format!(" REPLAY {word} x{} {at}{notice} {sep}", speed(r.speed))
    });
    // So does an observer, with its answer to a key it refused.
    let replay = replay.or_else(|| {
        let notice = state.run.notice.as_ref().map(|n| format!(" {sep} {n}")).unwrap_or_default();
        state.observer.as_ref().map(|label| format!(" {label}{notice} {sep}"))
    });
    let total = usize::from(area.width).saturating_sub(replay.as_ref().map_or(0, |r| r.chars().count()));
    let phase = state.outline.as_ref().zip(state.current_phase()).map(|(outline, (i, phase))| {
        let count = outline.phases.iter().filter(|p| !p.rollback).count();
        if phase.rollback {
            (format!("ROLLBACK {}", phase.name), format!("ROLLBACK {}", phase.name), theme.critical)
        } else {
            (
                format!("phase {}/{count} {}", i + 1, phase.name),
                format!("{}/{count} {}", i + 1, phase.name),
                theme.title,
            )
        }
    });
    let pause = match (state.write_pause, state.write_pause_elapsed()) {
        (Some(p), Some(d)) if p.ended.is_none() => {
            Some(Piece { text: format!(" {sep} WRITES PAUSED {} ", format::hms(d)), style: theme.critical })
        }
        (Some(_), Some(d)) => {
            Some(Piece { text: format!(" {sep} write pause {} (over) ", format::hms(d)), style: theme.ok })
        }
        _ => None,
    };
    let pause_missing = pause.is_none();
    let mut right = vec![
        Some(Piece {
            text: format!(" {}", state.now.map_or_else(|| "--:--:-- UTC".to_owned(), format::clock)),
            style: theme.text,
        }),
        state
            .elapsed()
            .map(|d| Piece { text: format!(" {sep} elapsed {}", format::hours_minutes(d)), style: theme.dim }),
        pause.or(Some(Piece { text: format!(" {sep} write pause --:--:-- "), style: theme.dim })),
    ];
    let mut name = format!(" {} ", state.title);
    let mut phase_text = phase.as_ref().map(|(long, _, _)| format!("{sep} {long} "));
    let left_len =
        |name: &str, phase: &Option<String>| name.chars().count() + phase.as_ref().map_or(0, |p| p.chars().count());

    if left_len(&name, &phase_text) + len(&right) > total {
        right[1] = None;
    }
    if left_len(&name, &phase_text) + len(&right) > total && pause_missing {
        right[2] = Some(Piece { text: " ".to_owned(), style: theme.dim });
    }
    if left_len(&name, &phase_text) + len(&right) > total {
        phase_text = phase.as_ref().map(|(_, short, _)| format!("{sep} {short} "));
    }
    let over = (left_len(&name, &phase_text) + len(&right)).saturating_sub(total);
    if over > 0 {
        let keep = name.chars().count().saturating_sub(over).max(6);
        name = format!("{} ", pad(name.trim_end(), keep - 1, false));
    }

    let mut spans: Vec<Span> = replay.into_iter().map(|r| Span::styled(r, theme.warn)).collect();
    spans.push(Span::styled(name, theme.header));
    if let (Some(text), Some((_, _, style))) = (phase_text, &phase) {
        spans.push(Span::styled(text, *style));
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum::<usize>() + len(&right);
    let width = usize::from(area.width);
    spans.push(Span::styled(theme.symbols.border.horizontal_top.repeat(width.saturating_sub(used)), theme.border));
    spans.extend(right.into_iter().flatten().map(|p| Span::styled(p.text, p.style)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A place in a replay: `12:34`, `1:02:03`.
fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// A replay's speed: `4`, `2.5`, `1/4`.
fn speed(speed: f64) -> String {
    if speed >= 1.0 || speed <= 0.0 {
        let text = format!("{speed:.1}");
        text.strip_suffix(".0").map_or_else(|| text.clone(), str::to_owned)
    } else {
        format!("1/{:.0}", 1.0 / speed)
    }
}
