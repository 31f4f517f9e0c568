//! Screens as the bytes a terminal would get: the cockpit drawn by ratatui's
//! crossterm backend through [`ShortSgr`], into memory, on a fixed viewport
//! (no terminal is asked anything), each frame a diff against the one before
//! and wrapped in a synchronized update — what `TerminalGuard` writes live.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::cursor::{Hide, MoveTo};
use crossterm::terminal::{BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate};
use crossterm::{execute, queue};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use crate::state::State;
use crate::terminal::ShortSgr;
use crate::theme::Theme;
use crate::ui;

/// A terminal of a fixed size that draws into memory.
pub struct Screen {
    terminal: Terminal<CrosstermBackend<ShortSgr<Shared>>>,
    /// What the terminal flushed since the last frame was taken.
    written: Shared,
}

/// A buffer the backend writes into and the screen takes frames out of.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Screen {
    /// # Errors
    /// Never in practice (the backend writes to memory); ratatui's API can fail.
    pub fn new(cols: u16, rows: u16) -> Result<Self> {
        let written = Shared::default();
        let backend = CrosstermBackend::new(ShortSgr::new(written.clone()));
        let viewport = Viewport::Fixed(Rect::new(0, 0, cols, rows));
        let terminal = Terminal::with_options(backend, TerminalOptions { viewport }).wrap_err("set up the screen")?;
        Ok(Self { terminal, written })
    }

    /// What a session writes before its first frame: a clear screen, the
    /// cursor home and hidden. (Not the alternate screen: `asciinema cat` to a
    /// real terminal would leave it there.)
    ///
    /// # Errors
    /// Never in practice (writes to memory).
    pub fn setup() -> Result<String> {
        let mut bytes = Vec::new();
        execute!(bytes, Clear(ClearType::All), MoveTo(0, 0), Hide).wrap_err("write the setup")?;
        String::from_utf8(bytes).wrap_err("the setup is not UTF-8")
    }

    /// The bytes that turn the previous frame into this one.
    ///
    /// # Errors
    /// Never in practice (writes to memory).
    pub fn draw(&mut self, state: &State, theme: &Theme) -> Result<String> {
        queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate).wrap_err("draw a frame")?;
        self.terminal.draw(|frame| ui::draw(frame, state, theme)).wrap_err("draw a frame")?;
        execute!(self.terminal.backend_mut(), EndSynchronizedUpdate).wrap_err("draw a frame")?;
        let bytes = std::mem::take(&mut *self.written.0.borrow_mut());
        String::from_utf8(bytes).wrap_err("a frame is not UTF-8")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::theme::{ColorMode, UNICODE};

    /// The bytes played on a vt100 parser of the same size.
    fn played(frames: &[String], cols: u16, rows: u16) -> String {
        let nonzero = |n| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(nonzero(rows), nonzero(cols), 0);
        for frame in frames {
            parser.process(frame.as_bytes());
        }
        parser.screen().contents()
    }

    #[test]
    fn frames_played_on_a_terminal_show_the_screen_and_only_diffs_follow() {
        let theme = Theme::load("dark", ColorMode::Ansi16, UNICODE).unwrap();
        let mut state = State::new("export drill");
        state.update(&crate::events::Action::Resize { cols: 100, rows: 30 });
        let mut screen = Screen::new(100, 30).unwrap();
        let first = screen.draw(&state, &theme).unwrap();
        assert!(first.starts_with("\x1b[?2026h") && first.ends_with("\x1b[?2026l"), "synchronized update");
        assert!(!first.contains("38;5;"), "16-colour codes shortened");
        let same = screen.draw(&state, &theme).unwrap();
        assert!(same.len() < 64, "nothing changed, nothing redrawn: {same:?}");
        let frames = [Screen::setup().unwrap(), first, same];
        let shown = played(&frames, 100, 30);
        assert!(shown.lines().next().unwrap().contains("export drill"), "{shown}");
        assert_eq!(Screen::setup().unwrap(), "\x1b[2J\x1b[1;1H\x1b[?25l");
    }
}
