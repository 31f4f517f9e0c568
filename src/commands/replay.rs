//! `cutover replay JOURNAL [--speed X]`: a past run or drill on the same
//! screen, from the journal alone (no database), read-only.

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::time::Instant;

use crate::cli::{DisplayArgs, ReplayArgs};
use crate::events::Action;
use crate::keymap;
use crate::replay::{Player, Timeline, base_state, keys};
use crate::terminal::TerminalGuard;
use crate::ui;

/// How often a playing replay moves on and redraws (10 frames a second).
const FRAME_INTERVAL: Duration = Duration::from_millis(100);

pub async fn run(display: &DisplayArgs, args: &ReplayArgs) -> Result<i32> {
    let theme = super::theme_for(display)?;
    let journal = crate::journal::read(&args.journal)?;
    let timeline = Timeline::new(base_state(&args.journal, &journal.records), &journal.records)
        .wrap_err_with(|| format!("cannot replay {}", args.journal.display()))?;
    let mut player = Player::new(timeline, args.speed);

    let mut terminal = TerminalGuard::enter()?;
    let (cols, rows) = terminal.size()?;
    player.view(&Action::Resize { cols, rows });
    let mut input = EventStream::new();
    let mut frames = tokio::time::interval(FRAME_INTERVAL);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signals = crate::app::Signals::new()?;
    let mut last = Instant::now();
    loop {
        terminal.draw(|frame| ui::draw(frame, player.state(), &theme))?;
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    if let Some(control) = keys::control_for(key) {
                        player.control(control);
                    } else if let Some(action) = keymap::action_for(key) {
                        if player.view(&action) {
                            break;
                        }
                    }
                }
                Some(Ok(Event::Resize(cols, rows))) => {
                    player.view(&Action::Resize { cols, rows });
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).wrap_err("reading the terminal"),
                None => break,
            },
            _ = frames.tick() => {}
            () = signals.recv() => break,
        }
        let now = Instant::now();
        player.advance(now - last);
        last = now;
    }
    Ok(0)
}
