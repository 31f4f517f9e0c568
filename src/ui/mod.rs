//! The screen: pure functions of `(&State, &Theme)` that draw into a frame.
//! Nothing here changes state or knows where the numbers came from.

mod checksum;
mod disk;
pub mod fleet;
mod header;
mod help;
mod lag;
pub mod layout;
mod log;
mod pool;
mod prompt;
mod runbook;
mod step;
mod too_small;
pub mod widgets;
mod zoom;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::state::State;
use crate::theme::{Theme, ascii_fallback};

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    // The theme's background under everything.
    frame.buffer_mut().set_style(area, theme.text);
    if layout::too_small(area) {
        too_small::render(frame, theme, area);
    } else {
        let header_area = Rect { height: 1, ..area };
        header::render(frame, state, theme, header_area);
        let body = Rect { y: area.y + 1, height: area.height - 1, ..area };
        if let Some(pane) = state.ui.zoom {
            zoom::render(frame, state, theme, body, pane);
        } else {
            cockpit(frame, state, theme, area);
        }
        if state.ui.help {
            help::render(frame, state, theme, body);
        }
        prompt::render(frame, state, theme, body);
    }
    if theme.symbols.ascii {
        asciify(frame.buffer_mut());
    }
}

fn cockpit(frame: &mut Frame, state: &State, theme: &Theme, area: Rect) {
    let wants =
        [lag::wanted_rows(state), pool::wanted_rows(state), disk::wanted_rows(state), checksum::wanted_rows(state)];
    let areas = layout::split(area, wants);
    let [lag_area, pool_area, disk_area, checksum_area] = areas.gauges;
    lag::render(frame, state, theme, lag_area);
    pool::render(frame, state, theme, pool_area);
    disk::render(frame, state, theme, disk_area);
    checksum::render(frame, state, theme, checksum_area);
    runbook::render(frame, state, theme, areas.runbook);
    log::render(frame, state, theme, areas.log);
}

/// With `--ascii`, whatever a widget drew (chart dots, axis lines) becomes
/// plain ASCII, so no cell ever needs a Unicode font.
pub(crate) fn asciify(buffer: &mut Buffer) {
    for cell in &mut buffer.content {
        if !cell.symbol().is_ascii() {
            let replacement = ascii_fallback(cell.symbol());
            cell.set_symbol(replacement);
        }
    }
}
