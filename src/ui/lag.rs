//! Replication lag: every replica, slot and subscription, in bytes and seconds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::widgets::{Cell, age_text, fit_row, render_rows, sparkline, status_cell};
use crate::events::{EndpointKind, LinkKind, Pane};
use crate::format;
use crate::state::{Freshness, Level, Metric, SeriesId, State, bucket_max};
use crate::theme::Theme;

/// Seconds per sparkline column.
pub const TREND_BUCKET_SECS: u32 = 5;
/// Columns of every sparkline in the gauge panes.
pub const TREND_COLS: usize = 8;

pub(super) fn rows(state: &State, theme: &Theme, width: usize) -> Vec<(Level, Line<'static>)> {
    let t = &state.thresholds;
    let mut rows = Vec::new();
    for endpoint in state.endpoints.values() {
        let fresh = endpoint.freshness(state.now, state.sample_interval);
        let links = endpoint.last.as_ref().map(|s| s.replication.as_slice()).unwrap_or_default();
        let style = if fresh.is_live() { theme.text } else { theme.stale };
        for link in links {
            #[allow(clippy::cast_precision_loss)]
            let bytes = link.lag_bytes.map(|b| b as f64);
            let level = bytes
                .map(|b| Level::of(b, t.lag_bytes))
                .into_iter()
                .chain(link.lag_seconds.map(|s| Level::of(s, t.lag_seconds)))
                .max()
                // A standby's own replay (or a MySQL replica) with no figure: it does not stream, its lag is unknown.
                .unwrap_or(
                    if (link.kind == LinkKind::Physical && link.name == "replay") || link.kind == LinkKind::Binlog {
                        Level::Warn
                    } else {
                        Level::Ok
                    },
                );
            let trend = match (&fresh, state.now) {
                (Freshness::Live, Some(now)) => {
                    let id = SeriesId::new(Metric::LagBytes, &endpoint.name, &link.name);
                    sparkline(
                        &bucket_max(state.series.get(&id), now, TREND_BUCKET_SECS, TREND_COLS),
                        &theme.symbols.bars,
                        1024.0,
                    )
                }
                _ => age_text(&fresh).unwrap_or_default(),
            };
            let cells = vec![
                status_cell(level, &fresh, theme),
                Cell::left(&endpoint.name, 7, style, 0),
                Cell::left(link.kind.short(), 4, theme.dim, 0),
                Cell::right(bytes.map_or("-".into(), format::bytes), 7, style, 0),
                Cell::right(link.lag_seconds.map_or("-".into(), format::seconds), 5, style, 0),
                Cell::left(trend, TREND_COLS, if fresh.is_live() { theme.accent } else { theme.stale }, 1),
                Cell::left(&link.name, 12, theme.dim, 4),
                Cell::left(&link.state, 16, style, 3),
            ];
            rows.push((level, fit_row(cells, width)));
        }
        let replica_like = endpoint.kind != EndpointKind::Pgbouncer;
        if let (Freshness::Unreachable { age, error }, true) = (&fresh, links.is_empty() && replica_like) {
            let since = age.map_or("never answered".to_owned(), |a| format!("lost {}", format::age(a)));
            let cells = vec![
                status_cell(Level::Critical, &fresh, theme),
                Cell::left(&endpoint.name, 7, theme.stale, 0),
                Cell::left(format!("unreachable, {since}: {error}"), width, theme.critical, 0),
            ];
            rows.push((Level::Critical, fit_row(cells, width)));
        }
    }
    rows
}

/// How many content rows the pane would like.
#[must_use]
pub fn wanted_rows(state: &State) -> u16 {
    let links: usize =
        state.endpoints.values().map(|e| e.last.as_ref().map_or(1, |s| s.replication.len().max(1))).sum();
    u16::try_from(links).unwrap_or(u16::MAX).max(1)
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let rows = rows(state, theme, usize::from(area.width.saturating_sub(1)));
    render_rows(frame, Pane::Lag, (state, theme), area, rows, "no replication seen yet");
}
