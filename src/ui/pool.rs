//! Pool saturation: connections against what is usable, lock waiters, the
//! oldest transaction, and the pooler's queue.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::lag::{TREND_BUCKET_SECS, TREND_COLS};
use super::widgets::{Cell, age_text, fit_row, render_rows, sparkline, status_cell};
use crate::events::Pane;
use crate::format;
use crate::state::{Freshness, Level, Metric, SeriesId, State, bucket_max};
use crate::theme::Theme;

pub(super) fn rows(state: &State, theme: &Theme, width: usize) -> Vec<(Level, Line<'static>)> {
    let t = &state.thresholds;
    let mut rows = Vec::new();
    for endpoint in state.endpoints.values() {
        let fresh = endpoint.freshness(state.now, state.sample_interval);
        let style = if fresh.is_live() { theme.text } else { theme.stale };
        let Some(last) = &endpoint.last else { continue };
        let trend = |metric: Metric, label: &str, floor: f64| match (&fresh, state.now) {
            (Freshness::Live, Some(now)) => {
                let id = SeriesId::new(metric, &endpoint.name, label);
                sparkline(
                    &bucket_max(state.series.get(&id), now, TREND_BUCKET_SECS, TREND_COLS),
                    &theme.symbols.bars,
                    floor,
                )
            }
            _ => age_text(&fresh).unwrap_or_default(),
        };
        let trend_style = if fresh.is_live() { theme.accent } else { theme.stale };
        if let Some(pool) = &last.pool {
            let pct = if pool.max_connections == 0 {
                0.0
            } else {
                f64::from(pool.connections) * 100.0 / f64::from(pool.max_connections)
            };
            let level = [
                Level::of(pct, t.connections_used_pct),
                Level::of(f64::from(pool.waiting), t.lock_waiters),
                Level::of(pool.oldest_xact_seconds.unwrap_or(0.0), t.oldest_xact_seconds),
            ]
            .into_iter()
            .max()
            .unwrap_or(Level::Ok);
            let cells = vec![
                status_cell(level, &fresh, theme),
                Cell::left(&endpoint.name, 7, style, 0),
                Cell::right(format!("{}/{}", pool.connections, pool.max_connections), 6, style, 0),
                Cell::right(format!("{pct:.0}%"), 4, style, 3),
                Cell::right(format!("{} lockw", pool.waiting), 8, style, 0),
                Cell::left(trend(Metric::ConnectionsUsedPct, "connections", 100.0), TREND_COLS, trend_style, 1),
                Cell::left(
                    match (pool.oldest_xact_seconds, pool.outgoing) {
                        (Some(s), _) => format!("xact {}", format::seconds(s)),
                        (None, Some(o)) => format!("out {}/{}", o.in_use, o.in_use + o.available),
                        (None, None) => String::new(),
                    },
                    11,
                    style,
                    2,
                ),
            ];
            let mut cells = cells;
            // A MySQL server in maintenance mode: it refuses writes.
            if let Some(server) = last.mysql.as_ref().filter(|m| m.read_only != "off") {
                let word = if server.read_only == "super" { "super r/o" } else { "read-only" };
                cells.push(Cell::left(word, 9, theme.warn, 1));
            }
            rows.push((level, fit_row(cells, width)));
        }
        // While writes are paused, each pooler row carries the pause's own
        // stopwatch: its clients' wait is the outage.
        let pausing = state
            .write_pause
            .filter(|p| p.ended.is_none())
            .and_then(|_| state.write_pause_elapsed())
            .and_then(|d| d.to_std().ok());
        for b in &last.bouncer {
            let level = Level::of(f64::from(b.cl_waiting), t.clients_waiting);
            let last_cell = match pausing {
                Some(paused) => {
                    Cell::left(format!("paused {}", format::seconds(paused.as_secs_f64())), 13, theme.warn, 2)
                }
                None => Cell::left(format!("pool {}", b.database), 10, theme.dim, 2),
            };
            let cells = vec![
                status_cell(level, &fresh, theme),
                Cell::left(&endpoint.name, 7, style, 0),
                Cell::right(format!("{}/{}", b.sv_active, b.pool_size), 6, style, 3),
                Cell::left(format!("{} wait", b.cl_waiting), 7, style, 0),
                Cell::right(format!("max {}", format::seconds(b.maxwait_seconds)), 10, style, 0),
                Cell::left(trend(Metric::ClientsWaiting, &b.database, 5.0), TREND_COLS, trend_style, 1),
                last_cell,
            ];
            rows.push((level, fit_row(cells, width)));
        }
    }
    rows
}

#[must_use]
pub fn wanted_rows(state: &State) -> u16 {
    let n: usize = state
        .endpoints
        .values()
        .filter_map(|e| e.last.as_ref())
        .map(|s| usize::from(s.pool.is_some()) + s.bouncer.len())
        .sum();
    u16::try_from(n).unwrap_or(u16::MAX).max(1)
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let rows = rows(state, theme, usize::from(area.width.saturating_sub(1)));
    render_rows(frame, Pane::Pool, (state, theme), area, rows, "no pool figures yet");
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::events::{Action, BouncerPool, EndpointKind, EndpointSample, Reading, Sample};
    use crate::state::WritePause;
    use crate::theme::{ColorMode, UNICODE};

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_pooler_row_carries_the_pause_s_stopwatch_while_writes_are_paused() {
        let theme = Theme::load("dark", ColorMode::Ansi16, UNICODE).unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single().unwrap();
        let pool = BouncerPool {
            database: "app".into(),
            user: "app".into(),
            cl_active: 0,
            cl_waiting: 8,
            sv_active: 0,
            sv_idle: 8,
            pool_size: 8,
            maxwait_seconds: 0.7,
            xacts_per_second: None,
            avg_query_ms: None,
            avg_wait_ms: None,
        };
        let sample = EndpointSample { bouncer: vec![pool], ..EndpointSample::default() };
        let mut state = State::new("switch");
        state.update(&Action::Sample(Sample {
            at: t0,
            endpoint: "pooler".into(),
            kind: EndpointKind::Pgbouncer,
            reading: Reading::Observed(sample),
        }));
        state.update(&Action::Tick { now: t0 });
        let row = |state: &State| text(&rows(state, &theme, 80)[0].1);
        assert!(row(&state).contains("pool app"), "{}", row(&state));
        state.write_pause = Some(WritePause { started: t0 - chrono::Duration::milliseconds(1200), ended: None });
        let paused = row(&state);
        assert!(paused.contains("8 wait") && paused.contains("max 0.7 s"), "{paused}");
        assert!(paused.contains("paused 1.2 s"), "{paused}");
        state.write_pause = Some(WritePause { started: t0, ended: Some(t0) });
        assert!(row(&state).contains("pool app"), "the pause is over: {}", row(&state));
    }
}
