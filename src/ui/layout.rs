//! Where each pane goes.
//!
//! ```text
//! ┌ header: runbook · phase · clock · elapsed · write pause ─────────────┐
//! │ Replication lag        │ Runbook                                     │
//! │ Pool saturation        │                                             │
//! │ Disk headroom          │                                             │
//! │ Checksum               │                                             │
//! ├ Events ──────────────────────────────────────────────────────────────┤
//! └──────────────────────────────────────────────────────────────────────┘
//! ```
//! The gauge column takes 45% of the width (between 38 and 72 columns); the
//! event log a fifth of the height (3 to 12 rows). Gauge panes share the
//! column by how many rows each has to show.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the screen shows "terminal too small" instead.
pub const MIN_COLS: u16 = 64;
pub const MIN_ROWS: u16 = 18;

const GAUGE_SHARE_PCT: u16 = 45;
const GAUGE_MIN_COLS: u16 = 38;
const GAUGE_MAX_COLS: u16 = 72;
const LOG_MIN_ROWS: u16 = 3;
const LOG_MAX_ROWS: u16 = 12;

pub struct Areas {
    pub header: Rect,
    pub gauges: [Rect; 4],
    pub runbook: Rect,
    pub log: Rect,
}

#[must_use]
pub fn too_small(area: Rect) -> bool {
    area.width < MIN_COLS || area.height < MIN_ROWS
}

/// Split the screen. `wants` is how many content rows each gauge pane would
/// like (lag, pool, disk, checksum).
#[must_use]
pub fn split(area: Rect, wants: [u16; 4]) -> Areas {
    let log_rows = (area.height / 5).clamp(LOG_MIN_ROWS, LOG_MAX_ROWS) + 1;
    let [header, body, log] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(log_rows)]).areas(area);
    let gauge_cols = (area.width * GAUGE_SHARE_PCT / 100).clamp(GAUGE_MIN_COLS, GAUGE_MAX_COLS);
    let [left, runbook] = Layout::horizontal([Constraint::Length(gauge_cols), Constraint::Fill(1)]).areas(body);
    let heights = share_rows(left.height, wants);
    let mut gauges = [Rect::default(); 4];
    let mut y = left.y;
    for (slot, h) in gauges.iter_mut().zip(heights) {
        *slot = Rect { x: left.x, y, width: left.width, height: h };
        y += h;
    }
    Areas { header, gauges, runbook, log }
}

/// Give each pane its title row plus as many of its wanted rows as fit:
/// everyone gets one content row first, then rows go round-robin.
fn share_rows(total: u16, wants: [u16; 4]) -> [u16; 4] {
    let mut heights = [0u16; 4];
    let mut left = total;
    for h in &mut heights {
        let give = left.min(2);
        *h = give;
        left -= give;
    }
    while left > 0 {
        let mut gave = false;
        for (h, want) in heights.iter_mut().zip(wants) {
            if left > 0 && *h < want + 1 {
                *h += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    // Spare rows go round, so tall screens keep the panes evenly spaced.
    for i in 0..usize::from(left) {
        heights[i % 4] += 1;
    }
    heights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_share_rows_by_need() {
        assert_eq!(share_rows(16, [4, 3, 4, 4]), [4, 4, 4, 4]);
        assert_eq!(share_rows(20, [1, 1, 1, 1]), [5, 5, 5, 5]);
        assert_eq!(share_rows(9, [5, 5, 5, 5]), [3, 2, 2, 2]);
        let areas = split(Rect::new(0, 0, 80, 24), [3, 3, 3, 3]);
        assert_eq!(areas.header.height, 1);
        assert_eq!(areas.log.height, 5);
        assert_eq!(areas.gauges.iter().map(|r| r.height).sum::<u16>(), 18);
        assert_eq!(areas.gauges[0].width, 38);
    }
}
