//! The loop: terminal input, data (samples, ticks, step results) and signals
//! in; `State::update`; a redraw when something changed, at most a few frames
//! a second so a slow SSH link is not flooded.

pub mod fleet;

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::events::{Action, RunCommand};
use crate::keymap;
use crate::state::{Effect, State};
use crate::terminal::TerminalGuard;
use crate::theme::Theme;
use crate::ui;

/// Data-driven redraws are at least this far apart (4 frames a second).
pub const FRAME_MIN_INTERVAL: Duration = Duration::from_millis(250);
/// How long a data-driven frame waits for the rest of a burst of data.
pub const DATA_COALESCE: Duration = Duration::from_millis(30);
/// A key press redraws sooner, but never more often than this.
pub const INPUT_FRAME_MIN_INTERVAL: Duration = Duration::from_millis(16);

/// Set to `first-frame` to panic after drawing once (tests the panic path).
const TEST_PANIC_ENV: &str = "CUTOVER_TEST_PANIC";

/// Run the cockpit until the operator quits, the data ends, or a signal.
///
/// # Errors
/// When the terminal cannot be used; it is restored before returning.
pub async fn run(
    mut state: State,
    theme: Theme,
    mut data: mpsc::Receiver<Action>,
    commands: Option<mpsc::Sender<RunCommand>>,
) -> Result<()> {
    let mut terminal = TerminalGuard::enter()?;
    let (cols, rows) = terminal.size()?;
    state.update(&Action::Resize { cols, rows });
    let mut input = EventStream::new();
    let mut signals = Signals::new()?;
    let panic_after_first_frame = std::env::var(TEST_PANIC_ENV).is_ok_and(|v| v == "first-frame");

    // The first frame waits DATA_COALESCE for the first figures; after that,
    // data-driven frames are at least FRAME_MIN_INTERVAL apart and wait
    // DATA_COALESCE for the rest of a burst (a tick and the samples behind it
    // make one frame, not two). Key presses redraw at once.
    let mut dirty_since = Some(Instant::now());
    let mut urgent = false;
    let mut last_draw = Instant::now() - FRAME_MIN_INTERVAL;
    let mut data_open = true;
    loop {
        let due = match dirty_since {
            Some(_) if urgent => last_draw + INPUT_FRAME_MIN_INTERVAL,
            Some(since) => (last_draw + FRAME_MIN_INTERVAL).max(since + DATA_COALESCE),
            None => Instant::now() + FRAME_MIN_INTERVAL,
        };
        if dirty_since.is_some() && Instant::now() >= due {
            terminal.draw(|frame| ui::draw(frame, &state, &theme))?;
            assert!(!panic_after_first_frame, "panic requested by {TEST_PANIC_ENV} (testing terminal restore)");
            last_draw = Instant::now();
            dirty_since = None;
            urgent = false;
            continue;
        }
        let action = tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) if state.run.prompt.is_some() => keymap::prompt_action_for(key),
                Some(Ok(Event::Key(key))) => keymap::action_for(key),
                Some(Ok(Event::Resize(cols, rows))) => Some(Action::Resize { cols, rows }),
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(e).wrap_err("reading the terminal"),
                None => break,
            },
            action = data.recv(), if data_open => {
                if action.is_none() {
                    data_open = false;
                }
                action
            }
            () = signals.recv() => break,
            () = tokio::time::sleep_until(due), if dirty_since.is_some() => None,
        };
        let Some(action) = action else { continue };
        urgent |= action.is_input();
        dirty_since.get_or_insert_with(Instant::now);
        if apply(&mut state, &action, commands.as_ref()).await {
            break;
        }
        // Fold whatever else is already queued before drawing.
        while let Ok(more) = data.try_recv() {
            if apply(&mut state, &more, commands.as_ref()).await {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Fold an action and carry out its effects; `true` when the loop must end.
async fn apply(state: &mut State, action: &Action, commands: Option<&mpsc::Sender<RunCommand>>) -> bool {
    let mut quit = false;
    for effect in state.update(action) {
        match effect {
            Effect::Quit => quit = true,
            Effect::Command(command) => {
                if let Some(tx) = commands {
                    // The run is gone only when it is over; then there is nothing to tell it.
                    let _ = tx.send(command).await;
                }
            }
        }
    }
    quit
}

/// SIGTERM and SIGHUP (the SSH link dropped) end the loop cleanly, so the
/// terminal guard and, later, the journal get their chance to finish.
pub(crate) struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Listen for SIGTERM and SIGHUP.
    ///
    /// # Errors
    /// The handlers cannot be installed.
    pub(crate) fn new() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).wrap_err("listen for SIGTERM")?,
                hup: signal(SignalKind::hangup()).wrap_err("listen for SIGHUP")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Either signal arrived.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    }
}
