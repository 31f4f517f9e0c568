//! Disk headroom: free space where the data lives, WAL held by slots, and
//! when the disk reaches the critical line at the recent rate.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::lag::{TREND_BUCKET_SECS, TREND_COLS};
use super::widgets::{Cell, age_text, fit_row, render_rows, sparkline, status_cell};
use chrono::{DateTime, Utc};

use crate::events::{ArchiveReading, BackupReading, Pane, seconds_since};
use crate::format;
use crate::state::{
    EndpointState, Freshness, History, Level, Metric, Point, Projection, SeriesId, State, bucket_max, project,
};
use crate::theme::Theme;

/// Seconds until `limit` is reached at the growth of the last window, if the
/// figure is growing.
#[must_use]
pub fn time_to(history: Option<&History<Point>>, limit: f64) -> Option<f64> {
    match project(history, limit) {
        Projection::In(secs) => Some(secs),
        Projection::TooShort | Projection::NotGrowing | Projection::Reached => None,
    }
}

pub(super) fn rows(state: &State, theme: &Theme, width: usize) -> Vec<(Level, Line<'static>)> {
    let t = &state.thresholds;
    let mut rows = Vec::new();
    for endpoint in state.endpoints.values() {
        let fresh = endpoint.freshness(state.now, state.sample_interval);
        let style = if fresh.is_live() { theme.text } else { theme.stale };
        let Some(disk) = endpoint.last.as_ref().and_then(|s| s.disk.as_ref()) else {
            continue;
        };
        #[allow(clippy::cast_precision_loss)]
        let size = |bytes: Option<u64>| bytes.map_or_else(|| "-".to_owned(), |b| format::bytes(b as f64));
        let mysql = endpoint.last.as_ref().is_some_and(|s| s.mysql.is_some());
        let Some(pct) = disk.used_pct() else {
            // A remote server: no filesystem figures, only its own sizes.
            let cells = vec![
                status_cell(Level::Ok, &fresh, theme),
                Cell::left(&endpoint.name, 7, style, 0),
                Cell::left(format!("db {}", size(disk.database_bytes)), 10, style, 0),
                // A MySQL server's binary logs have a row of their own.
                Cell::left(if mysql { String::new() } else { format!("WAL {}", size(disk.wal_bytes)) }, 11, style, 0),
                Cell::left("fs unknown", 10, theme.dim, 1),
            ];
            rows.push((Level::Ok, fit_row(cells, width)));
            push_slot_rows(&mut rows, endpoint, &fresh, (state, theme), width);
            continue;
        };
        let level = Level::of(pct, t.disk_used_pct);
        let id = SeriesId::new(Metric::DiskUsedPct, &endpoint.name, &disk.mount);
        let history = state.series.get(&id);
        let (trend, projection) = match (&fresh, state.now) {
            (Freshness::Live, Some(now)) => (
                sparkline(&bucket_max(history, now, TREND_BUCKET_SECS, TREND_COLS), &theme.symbols.bars, 100.0),
                projection(history, t.disk_used_pct.critical, pct),
            ),
            _ => (age_text(&fresh).unwrap_or_default(), String::new()),
        };
        let cells = vec![
            status_cell(level, &fresh, theme),
            Cell::left(&endpoint.name, 7, style, 0),
            Cell::right(format!("{pct:.0}%"), 4, style, 0),
            Cell::right(format!("{} free", size(disk.free_bytes)), 12, style, 3),
            Cell::left(projection, 11, style, 0),
            Cell::left(trend, TREND_COLS, if fresh.is_live() { theme.accent } else { theme.stale }, 1),
            Cell::left(&disk.mount, 20, theme.dim, 4),
        ];
        rows.push((level, fit_row(cells, width)));
        push_slot_rows(&mut rows, endpoint, &fresh, (state, theme), width);
    }
    rows
}

/// One row per replication slot: the WAL it holds back on this server; on
/// a MySQL server, one for its binary logs; on a server that archives WAL,
/// one for the archiver and one for the backup repository.
fn push_slot_rows(
    rows: &mut Vec<(Level, Line<'static>)>,
    endpoint: &EndpointState,
    fresh: &Freshness,
    ctx: (&State, &Theme),
    width: usize,
) {
    let (state, theme) = ctx;
    let t = &state.thresholds;
    let style = if fresh.is_live() { theme.text } else { theme.stale };
    let slots = endpoint.last.iter().flat_map(|s| &s.replication).filter_map(|l| l.retained_bytes.map(|r| (l, r)));
    for (link, retained) in slots {
        #[allow(clippy::cast_precision_loss)]
        let retained = retained as f64;
        let level = Level::of(retained, t.slot_retained_bytes);
        let cells = vec![
            status_cell(level, fresh, theme),
            Cell::left(&endpoint.name, 7, style, 0),
            Cell::left("slot WAL", 8, theme.dim, 0),
            Cell::right(format::bytes(retained), 7, style, 0),
            Cell::left(&link.state, 8, style, 2),
            Cell::left(&link.name, 14, theme.dim, 3),
        ];
        rows.push((level, fit_row(cells, width)));
    }
    // A MySQL server's binary logs: what it keeps for replicas and point-in-time recovery.
    let binlog = endpoint.last.as_ref().and_then(|s| s.mysql.as_ref()).filter(|m| m.binlog_bytes.is_some());
    if let Some(server) = binlog {
        #[allow(clippy::cast_precision_loss)]
        let bytes = server.binlog_bytes.unwrap_or_default() as f64;
        let files = server.binlog_files.unwrap_or_default();
        let cells = vec![
            status_cell(Level::Ok, fresh, theme),
            Cell::left(&endpoint.name, 7, style, 0),
            Cell::left("binlog", 8, theme.dim, 0),
            Cell::right(format::bytes(bytes), 7, style, 0),
            Cell::left(format!("{files} file{}", if files == 1 { "" } else { "s" }), 9, style, 2),
        ];
        rows.push((Level::Ok, fit_row(cells, width)));
    }
    let sample = endpoint.last.as_ref();
    if let (Some(archive), Some(now)) = (sample.and_then(|s| s.archive.as_ref()), state.now) {
        rows.push(archive_row(archive, now, (endpoint, fresh), (state, theme), width));
    }
    if let (Some(backup), Some(now)) = (sample.and_then(|s| s.backup.as_ref()), state.now) {
        rows.push(backup_row(backup, now, (endpoint, fresh), (state, theme), width));
    }
}

/// `archive  4s ago  0 waiting  000000010000000000000007`, or what fails.
fn archive_row(
    archive: &ArchiveReading,
    now: DateTime<Utc>,
    (endpoint, fresh): (&EndpointState, &Freshness),
    (state, theme): (&State, &Theme),
    width: usize,
) -> (Level, Line<'static>) {
    let style = if fresh.is_live() { theme.text } else { theme.stale };
    let lag = archive.lag_seconds(now);
    let level = if archive.failing() {
        Level::Critical
    } else {
        lag.map_or(Level::Ok, |l| Level::of(l, state.thresholds.archive_lag_seconds))
    };
    let last = archive.last_archived_at.map_or_else(|| "none yet".to_owned(), |at| ago(at, now));
    let waiting = match (archive.waiting, lag) {
        (Some(0), _) => "0 waiting".to_owned(),
        (Some(n), Some(lag)) => format!("{n} waiting {}", format::coarse(lag)),
        (Some(n), None) => format!("{n} waiting"),
        (None, _) => "waiting ?".to_owned(),
    };
    let (what, wal) = if archive.failing() {
        ("FAILING".to_owned(), archive.last_failed_wal.clone().unwrap_or_default())
    } else {
        (last, archive.last_archived_wal.clone().unwrap_or_default())
    };
    let mut cells = head(level, "archive", (endpoint, fresh), theme);
    cells.extend([
        Cell::left(what, 8, if archive.failing() { theme.level(Level::Critical) } else { style }, 0),
        Cell::left(waiting, 13, style, 2),
        Cell::left(wal, 24, theme.dim, 4),
    ]);
    (level, fit_row(cells, width))
}

/// A way-back row's first cells: its state, the endpoint, what the row is.
fn head(level: Level, what: &str, (endpoint, fresh): (&EndpointState, &Freshness), theme: &Theme) -> Vec<Cell> {
    let style = if fresh.is_live() { theme.text } else { theme.stale };
    vec![status_cell(level, fresh, theme), Cell::left(&endpoint.name, 7, style, 0), Cell::left(what, 8, theme.dim, 0)]
}

/// `backup   full 2h03m ago 22 MB · incr 10m`, or why it is not known.
fn backup_row(
    backup: &BackupReading,
    now: DateTime<Utc>,
    (endpoint, fresh): (&EndpointState, &Freshness),
    (state, theme): (&State, &Theme),
    width: usize,
) -> (Level, Line<'static>) {
    let style = if fresh.is_live() { theme.text } else { theme.stale };
    let said = |text: String, level: Level| {
        let mut cells = head(level, "backup", (endpoint, fresh), theme);
        cells.push(Cell::left(text, 40, theme.level(level), 0));
        (level, fit_row(cells, width))
    };
    if let Some(error) = &backup.error {
        return said(format!("unknown: {error}"), Level::Warn);
    }
    let Some(newest) = backup.newest() else {
        return said(format!("none ({})", backup.status), Level::Critical);
    };
    let level = Level::of(seconds_since(newest.finished_at, now), state.thresholds.backup_age_seconds);
    let full = match (&backup.latest, &backup.last_full) {
        (Some(_), Some(full)) => format!("full {}", ago(full.finished_at, now)),
        _ => String::new(),
    };
    let mut cells = head(level, "backup", (endpoint, fresh), theme);
    #[allow(clippy::cast_precision_loss)]
    cells.extend([
        Cell::left(format!("{} {}", newest.kind, ago(newest.finished_at, now)), 14, theme.level(level), 0),
        Cell::right(format::bytes(newest.size_bytes as f64), 7, style, 1),
        Cell::left(full, 14, theme.dim, 3),
        Cell::left(if backup.status == "ok" { String::new() } else { backup.status.clone() }, 20, theme.dim, 4),
    ]);
    (level, fit_row(cells, width))
}

fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", format::coarse(seconds_since(at, now)))
}

fn projection(history: Option<&History<Point>>, critical: f64, pct: f64) -> String {
    if pct >= critical {
        return "past crit".to_owned();
    }
    match time_to(history, critical) {
        Some(secs) if secs < 7.0 * 86_400.0 => format!("crit ~{}", format::coarse(secs)),
        _ => "steady".to_owned(),
    }
}

#[must_use]
pub fn wanted_rows(state: &State) -> u16 {
    let n: usize = state
        .endpoints
        .values()
        .filter_map(|e| e.last.as_ref())
        .map(|s| {
            usize::from(s.disk.is_some())
                + s.replication.iter().filter(|l| l.retained_bytes.is_some()).count()
                + usize::from(s.archive.is_some())
                + usize::from(s.backup.is_some())
        })
        .sum();
    u16::try_from(n).unwrap_or(u16::MAX).max(1)
}

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let rows = rows(state, theme, usize::from(area.width.saturating_sub(1)));
    render_rows(frame, Pane::Disk, (state, theme), area, rows, "no disk figures yet");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_the_time_to_the_critical_line() {
        let mut h = History::new(100);
        for s in 0..=60 {
            h.push(Point { t: f64::from(s), v: 70.0 + f64::from(s) * 0.05 });
        }
        // 73% now, growing 0.05 %/s: 85% in 240 s.
        let secs = time_to(Some(&h), 85.0).unwrap();
        assert!((secs - 240.0).abs() < 0.01, "{secs}");
        let mut flat = History::new(10);
        for s in 0..20 {
            flat.push(Point { t: f64::from(s), v: 50.0 });
        }
        assert_eq!(time_to(Some(&flat), 85.0), None);
    }
}
