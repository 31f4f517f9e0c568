//! A pane at full screen: its rows at full width, and its history as charts.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, LegendPosition, Paragraph};

use super::{checksum, disk, lag, log, pool, runbook};
use crate::events::Pane;
use crate::format;
use crate::state::{Metric, State};
use crate::theme::Theme;

/// The charts each pane shows when zoomed, top to bottom.
fn metrics(pane: Pane) -> &'static [Metric] {
    match pane {
        Pane::Lag => &[Metric::LagBytes, Metric::LagSeconds],
        Pane::Pool => &[Metric::ConnectionsUsedPct, Metric::ClientsWaiting, Metric::LockWaiters],
        Pane::Disk => &[Metric::DiskUsedPct, Metric::SlotRetainedBytes],
        Pane::Checksum => &[Metric::ChecksumPct, Metric::ChecksumDifferences],
        Pane::Runbook | Pane::Log => &[],
    }
}

fn value_label(metric: Metric, v: f64, top: f64) -> String {
    match metric {
        Metric::LagBytes | Metric::SlotRetainedBytes => format::bytes(v),
        Metric::LagSeconds => format::seconds(v),
        Metric::ConnectionsUsedPct | Metric::DiskUsedPct | Metric::ChecksumPct => {
            format!("{v:.0}%")
        }
        // Small counts need a decimal, or the axis reads 0, 0, 1.
        Metric::LockWaiters | Metric::ClientsWaiting | Metric::ChecksumDifferences if top < 10.0 => {
            format!("{v:.1}")
        }
        Metric::LockWaiters | Metric::ClientsWaiting | Metric::ChecksumDifferences => {
            format!("{v:.0}")
        }
    }
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect, pane: Pane) {
    let block =
        Block::new().borders(Borders::ALL).border_set(theme.symbols.border).border_style(theme.border_focus).title(
            Line::from(vec![
                Span::styled(format!(" {} ", pane.title()), theme.title),
                Span::styled(
                    format!("{} history {} Esc to return ", theme.symbols.separator, theme.symbols.separator),
                    theme.dim,
                ),
            ]),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let rows: Vec<Line> = match pane {
        Pane::Lag => lag::rows(state, theme, width).into_iter().map(|r| r.1).collect(),
        Pane::Pool => pool::rows(state, theme, width).into_iter().map(|r| r.1).collect(),
        Pane::Disk => disk::rows(state, theme, width).into_iter().map(|r| r.1).collect(),
        Pane::Checksum => checksum::rows(state, theme, width).into_iter().map(|r| r.1).collect(),
        Pane::Runbook => {
            let (lines, _) = runbook::lines(state, theme, width, true);
            let top = state.ui.runbook_scroll.min(lines.len().saturating_sub(1));
            frame.render_widget(Paragraph::new(lines.into_iter().skip(top).collect::<Vec<_>>()), inner);
            return;
        }
        Pane::Log => {
            let lines = log::visible(state, theme, usize::from(inner.height), state.ui.log_scroll);
            frame.render_widget(Paragraph::new(lines), inner);
            return;
        }
    };
    let metrics = metrics(pane);
    let list_rows = u16::try_from(rows.len()).unwrap_or(u16::MAX).min(inner.height / 3).max(1);
    let mut constraints = vec![Constraint::Length(list_rows)];
    constraints.extend(metrics.iter().map(|_| Constraint::Fill(1)));
    let areas = Layout::vertical(constraints).split(inner);
    frame.render_widget(Paragraph::new(rows), areas[0]);
    for (metric, chart_area) in metrics.iter().zip(areas.iter().skip(1)) {
        chart(frame, state, theme, *chart_area, *metric);
    }
}

fn chart(frame: &mut Frame, state: &State, theme: &Theme, area: Rect, metric: Metric) {
    let Some(now) = state.now else { return };
    #[allow(clippy::cast_precision_loss)]
    let now_t = now.timestamp_millis() as f64 / 1000.0;
    let series: Vec<(String, Vec<(f64, f64)>)> = state
        .series
        .iter()
        .filter(|(id, _)| id.metric == metric)
        .map(|(id, h)| (format!("{} {}", id.endpoint, id.label), h.iter().map(|p| (p.t - now_t, p.v)).collect()))
        .collect();
    let oldest = series.iter().flat_map(|(_, pts)| pts.first()).map(|p| p.0).fold(0.0, f64::min);
    let window = (-oldest).max(60.0);
    let top = series.iter().flat_map(|(_, pts)| pts.iter().map(|p| p.1)).fold(0.0, f64::max);
    let top = if top <= 0.0 { 1.0 } else { top * 1.1 };
    let palette: [Style; 5] = [theme.accent, theme.warn, theme.ok, theme.title, theme.text];
    let marker = if theme.symbols.ascii { Marker::Dot } else { Marker::Braille };
    let datasets: Vec<Dataset> = series
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            Dataset::default()
                .name(name.clone())
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(palette[i % palette.len()])
                .data(pts)
        })
        .collect();
    let minutes = |s: f64| {
        if s.abs() < 1.0 { "now".to_owned() } else { format!("-{}", format::seconds(-s)) }
    };
    let x = Axis::default().bounds([-window, 0.0]).style(theme.dim).labels([
        minutes(-window),
        minutes(-window / 2.0),
        minutes(0.0),
    ]);
    let y = Axis::default().bounds([0.0, top]).style(theme.dim).labels([
        value_label(metric, 0.0, top),
        value_label(metric, top / 2.0, top),
        value_label(metric, top, top),
    ]);
    let title = Span::styled(format!(" {} ", metric.label()), theme.title);
    let chart = Chart::new(datasets)
        .block(
            Block::new().borders(Borders::TOP).border_set(theme.symbols.border).border_style(theme.border).title(title),
        )
        .x_axis(x)
        .y_axis(y)
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)));
    frame.render_widget(chart, area);
}
