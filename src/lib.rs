//! cutover: a terminal cockpit for database cutovers.
//!
//! Layers, every arrow pointing down:
//! `main → app → ui / runbook → state → sim → events, theme, terminal`.
//! Sources of data know nothing of the screen; the screen knows nothing of
//! databases; the state changes only through [`state::State::update`].

pub mod app;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod condition;
pub mod diagnostic;
pub mod events;
pub mod export;
pub mod format;
pub mod inventory;
pub mod journal;
pub mod keymap;
pub mod operator;
pub mod quantity;
pub mod replay;
pub mod report;
pub mod runbook;
pub mod secrets;
pub mod sim;
pub mod state;
pub mod status;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod verify;
