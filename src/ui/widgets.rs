//! Small drawing helpers the panes share: rows that shed columns to fit,
//! text sparklines, pane frames with their state word.

use ratatui::layout::Alignment;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use crate::events::Pane;
use crate::format;
use crate::state::{Freshness, Level, State};
use crate::theme::Theme;

/// One column of a row. Columns with a higher `drop` are shed first when the
/// row does not fit; `drop = 0` columns always stay.
pub struct Cell {
    pub text: String,
    pub style: Style,
    pub width: usize,
    pub right: bool,
    pub drop: u8,
}

impl Cell {
    pub fn left(text: impl Into<String>, width: usize, style: Style, drop: u8) -> Self {
        Self { text: text.into(), style, width, right: false, drop }
    }

    pub fn right(text: impl Into<String>, width: usize, style: Style, drop: u8) -> Self {
        Self { text: text.into(), style, width, right: true, drop }
    }
}

/// Lay cells out in `width` columns, one space apart, shedding the most
/// droppable columns until they fit; the last kept cell may be cut short.
#[must_use]
pub fn fit_row(mut cells: Vec<Cell>, width: usize) -> Line<'static> {
    let total = |cells: &[Cell]| cells.iter().map(|c| c.width).sum::<usize>() + cells.len().saturating_sub(1);
    while total(&cells) > width {
        let Some((i, _)) = cells.iter().enumerate().filter(|(_, c)| c.drop > 0).max_by_key(|(i, c)| (c.drop, *i))
        else {
            break;
        };
        cells.remove(i);
    }
    let mut spans = Vec::with_capacity(cells.len() * 2);
    let mut used = 0;
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            if used + 1 > width {
                break;
            }
            spans.push(Span::raw(" "));
            used += 1;
        }
        let room = width.saturating_sub(used).min(cell.width);
        let text = pad(&cell.text, room, cell.right);
        used += room;
        spans.push(Span::styled(text, cell.style));
    }
    Line::from(spans)
}

/// `text` cut or padded to exactly `width` characters.
#[must_use]
pub fn pad(text: &str, width: usize, right: bool) -> String {
    let len = text.chars().count();
    if len > width {
        if width == 0 {
            return String::new();
        }
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('~');
        return cut;
    }
    let fill = " ".repeat(width - len);
    if right { format!("{fill}{text}") } else { format!("{text}{fill}") }
}

/// A sparkline as text, one character a bucket, scaled to the largest value
/// shown (and never below `floor`, so noise near zero stays flat).
#[must_use]
pub fn sparkline(values: &[Option<f64>], bars: &[&str; 9], floor: f64) -> String {
    let max = values.iter().flatten().copied().fold(floor, f64::max);
    values
        .iter()
        .map(|v| match v {
            None => bars[0],
            // Seen but zero (or less) still draws the lowest bar: a gap means "no data".
            Some(v) if *v <= 0.0 || max <= 0.0 => bars[1],
            Some(v) => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let i = ((v / max) * 8.0).ceil().clamp(1.0, 8.0) as usize;
                bars[i]
            }
        })
        .collect()
}

/// The frame of a gauge pane: its title, its worst state as symbol and word
/// (colour is never the only signal), highlighted when focused.
#[must_use]
pub fn pane_block(pane: Pane, state: &State, theme: &Theme, level: Option<Level>, borders: Borders) -> Block<'static> {
    let focused = state.ui.focus == pane;
    let title_style = if focused { theme.title.add_modifier(ratatui::style::Modifier::REVERSED) } else { theme.title };
    let mut title = vec![Span::styled(format!(" {} ", pane.title()), title_style)];
    if let Some(level) = level {
        title.push(Span::styled(format!("{} {} ", theme.symbols.level(level), level.word()), theme.level(level)));
    }
    Block::new()
        .borders(borders)
        .border_set(theme.symbols.border)
        .border_style(if focused { theme.border_focus } else { theme.border })
        .title(Line::from(title))
        .title_alignment(Alignment::Left)
}

/// Draw a gauge pane from its rows: the pane's state is its worst row's;
/// when the rows do not all fit, the worst ones are kept.
pub fn render_rows(
    frame: &mut ratatui::Frame,
    pane: Pane,
    ctx: (&State, &Theme),
    area: ratatui::layout::Rect,
    mut rows: Vec<(Level, Line<'static>)>,
    empty: &str,
) {
    let (state, theme) = ctx;
    let level = rows.iter().map(|r| r.0).max();
    let block = pane_block(pane, state, theme, level, Borders::TOP | Borders::RIGHT);
    let room = usize::from(block.inner(area).height);
    if rows.len() > room {
        rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    }
    let lines: Vec<Line> = if rows.is_empty() {
        vec![Line::styled(empty.to_owned(), theme.dim)]
    } else {
        rows.into_iter().take(room).map(|r| r.1).collect()
    };
    frame.render_widget(ratatui::widgets::Paragraph::new(lines).block(block), area);
}

/// The level symbol cell of a row, or the stale / unreachable mark.
#[must_use]
pub fn status_cell(level: Level, freshness: &Freshness, theme: &Theme) -> Cell {
    match freshness {
        Freshness::Live => Cell::left(theme.symbols.level(level), 1, theme.level(level), 0),
        Freshness::Stale { .. } => Cell::left("?", 1, theme.stale, 0),
        Freshness::Unreachable { .. } => Cell::left(theme.symbols.unreachable, 1, theme.critical, 0),
    }
}

fn short_age(age: chrono::Duration) -> String {
    let secs = age.num_seconds().max(0);
    #[allow(clippy::cast_precision_loss)]
    if secs < 100 { format!("{secs}s") } else { format::coarse(secs as f64) }
}

/// What replaces a trend for figures that are not live: how old they are.
#[must_use]
pub fn age_text(freshness: &Freshness) -> Option<String> {
    match freshness {
        Freshness::Live => None,
        Freshness::Stale { age } => Some(format!("old {}", short_age(*age))),
        Freshness::Unreachable { age: Some(age), .. } => Some(format!("lost {}", short_age(*age))),
        Freshness::Unreachable { age: None, .. } => Some("never answered".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::UNICODE;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn rows_shed_the_most_droppable_columns_first() {
        let s = Style::new();
        let cells = || vec![Cell::left("a", 3, s, 0), Cell::left("bbb", 3, s, 2), Cell::right("c", 3, s, 1)];
        assert_eq!(text(&fit_row(cells(), 11)), "a   bbb   c");
        assert_eq!(text(&fit_row(cells(), 8)), "a     c");
        assert_eq!(text(&fit_row(cells(), 4)), "a  ");
    }

    #[test]
    fn sparklines_scale_to_their_peak() {
        let values = [None, Some(0.0), Some(1.0), Some(2.0), Some(4.0)];
        assert_eq!(sparkline(&values, &UNICODE.bars, 0.0), " ▁▂▄█");
        // below the floor the line stays low
        assert_eq!(sparkline(&[Some(1.0)], &UNICODE.bars, 8.0), "▁");
    }
}
