//! The one owner of the terminal: raw mode and the alternate screen, given
//! back on every way out — drop, error, and panic.

mod short_sgr;

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use color_eyre::eyre::{Result, WrapErr};
use crossterm::cursor::{Hide, Show};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode,
};
use crossterm::{execute, queue};
use ratatui::backend::CrosstermBackend;
use ratatui::{Frame, Terminal};

pub use short_sgr::ShortSgr;

pub type Backend = CrosstermBackend<ShortSgr<Stdout>>;

/// Set while a [`TerminalGuard`] owns the terminal: a progress line printed
/// then would land in the middle of the screen (it is in the journal).
static SCREEN: AtomicBool = AtomicBool::new(false);

/// Whether the screen owns the terminal right now.
#[must_use]
pub fn screen_active() -> bool {
    SCREEN.load(Ordering::Relaxed)
}

/// Raw mode + alternate screen for as long as it lives.
pub struct TerminalGuard {
    terminal: Terminal<Backend>,
}

impl TerminalGuard {
    /// Take the terminal over.
    ///
    /// # Errors
    /// When stdout is not a terminal or cannot be switched.
    pub fn enter() -> Result<Self> {
        install_panic_hook();
        enable_raw_mode().wrap_err("cannot switch the terminal to raw mode (is stdout a terminal?)")?;
        let mut stdout = io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen, Hide) {
            restore();
            return Err(e).wrap_err("cannot enter the alternate screen");
        }
        let terminal = match Terminal::new(CrosstermBackend::new(ShortSgr::new(stdout))) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e).wrap_err("cannot size the terminal");
            }
        };
        SCREEN.store(true, Ordering::Relaxed);
        Ok(Self { terminal })
    }

    /// Draw one frame, wrapped in a synchronized update so terminals that
    /// support it (and tmux) show it whole; the others ignore the wrapper.
    ///
    /// # Errors
    /// When writing to the terminal fails (the link dropped).
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> Result<()> {
        queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate).wrap_err("write to terminal")?;
        self.terminal.draw(render).wrap_err("draw to terminal")?;
        execute!(self.terminal.backend_mut(), EndSynchronizedUpdate).wrap_err("write to terminal")?;
        Ok(())
    }

    /// Current size (columns, rows).
    ///
    /// # Errors
    /// When the terminal cannot be asked.
    pub fn size(&self) -> Result<(u16, u16)> {
        let size = self.terminal.size().wrap_err("ask the terminal's size")?;
        Ok((size.width, size.height))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Give the terminal back: leave raw mode and the alternate screen, show the
/// cursor. Safe to call more than once.
pub fn restore() {
    SCREEN.store(false, Ordering::Relaxed);
    let _ = disable_raw_mode();
    let mut stdout = io::stdout();
    let _ = execute!(stdout, EndSynchronizedUpdate, LeaveAlternateScreen, Show);
    let _ = stdout.flush();
}

/// Restore the terminal before any panic message is printed, then hand over
/// to the previous hook (color-eyre's), so the report lands on a sane screen.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
