//! Where a run's events go, in order: the journal first (scrubbed, synced at
//! step boundaries), then the run's gauges, then the cockpit's screen or, for
//! an unattended run, a progress line on stdout.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use tokio::sync::mpsc;

use super::exec::Emitted;
use crate::events::{Action, RunEvent};
use crate::journal::{self, Recorder};
use crate::state::State;

/// Where a run's events go: the journal first, then the gauges, the screen
/// (a live cockpit) or stdout (unattended).
pub(super) struct Sink {
    pub(super) journal: Recorder,
    pub(super) gauges: Arc<Mutex<State>>,
    pub(super) ui: Option<mpsc::Sender<Action>>,
    pub(super) names: HashMap<String, String>,
    pub(super) title: String,
}

impl Sink {
    /// Journal an event, fold it into the run's state (so the run knows what
    /// its journal says, as a resume will) and show it. The engine folds it
    /// too (the caller's job).
    pub(super) fn record(&mut self, event: &RunEvent) -> Result<()> {
        let at = Utc::now();
        // Shown as journaled: scrubbed, on the screen and stdout too.
        let event = &self.journal.scrubbed(event.clone());
        self.journal.append(at, event.clone())?;
        let actions = journal::actions(&crate::events::Record { at, event: event.clone() });
        for action in &actions {
            self.fold(action);
        }
        match &self.ui {
            Some(ui) => {
                for action in actions {
                    let _ = ui.try_send(action);
                }
            }
            None => print_event(at, event, &self.title, &self.names),
        }
        Ok(())
    }

    pub(super) fn to_screen(&self, action: Action) {
        if let Some(ui) = &self.ui {
            let _ = ui.try_send(action);
        }
    }

    pub(super) fn fold(&self, action: &Action) {
        if let Ok(mut state) = self.gauges.lock() {
            state.update(action);
        }
    }

    /// A collector's action: into the gauges, the screen, and (samples, at a
    /// bounded rate) the journal.
    pub(super) fn take(&mut self, action: Action) -> Result<()> {
        self.fold(&action);
        if let Action::Sample(sample) = &action {
            // During a write pause every sample is kept: the report measures
            // the pause as the pooler's clients felt it.
            let pausing = self.gauges.lock().is_ok_and(|s| s.write_pause.is_some_and(|p| p.ended.is_none()));
            self.journal.sample_if(sample, pausing)?;
        }
        self.to_screen(action);
        Ok(())
    }

    pub(super) fn emitted(&mut self, step: &str, e: Emitted) -> Result<()> {
        match e {
            Emitted::Output(text) => self.record(&RunEvent::Output { step: step.to_owned(), text }),
            Emitted::Checksum(p) => {
                self.fold(&Action::Checksum(p.clone()));
                self.to_screen(Action::Checksum(p.clone()));
                self.journal.checksum(&p)?;
                Ok(())
            }
        }
    }
}

/// A progress line on stdout for an unattended run.
fn print_event(at: DateTime<Utc>, event: &RunEvent, title: &str, names: &HashMap<String, String>) {
    let time = at.format("%H:%M:%S");
    let name = |id: &str| names.get(id).cloned().unwrap_or_default();
    let line = match event {
        RunEvent::Started { operator, .. } => format!("[{time}] run \"{title}\" started by {operator}"),
        RunEvent::Resumed { operator, .. } => format!("[{time}] run \"{title}\" resumed by {operator}"),
        RunEvent::Session { command, operator, .. } => format!("[{time}] {command} \"{title}\" started by {operator}"),
        RunEvent::Gate { step, holds, reason } => {
            format!("[{time}] {step} gate {}: {reason}", if *holds { "open" } else { "closed" })
        }
        RunEvent::StepStarted { step, attempt } => {
            let again = if *attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
            format!("[{time}] {step} {}{again}", name(step))
        }
        RunEvent::Output { text, .. } => format!("           | {text}"),
        RunEvent::StepFinished { step, ok, summary, .. } => {
            format!("[{time}] {step} {}: {summary}", if *ok { "ok" } else { "FAILED" })
        }
        RunEvent::StepStopped { step, state, summary, .. } => {
            let state = crate::events::name_of(state).replace('_', " ");
            format!("[{time}] {step} {state}: {summary}")
        }
        RunEvent::Interrupted { step } => format!("[{time}] {step} {} was interrupted", name(step)),
        RunEvent::Rerun { step, operator } => format!("[{time}] {step} will run again ({operator})"),
        RunEvent::Skipped { step, operator, reason } => format!("[{time}] {step} skipped by {operator}: {reason}"),
        RunEvent::Rollback { operator, reason } => format!("[{time}] ROLLBACK ({operator}): {reason}"),
        RunEvent::Paused { reason } => format!("[{time}] stopped: {reason}"),
        RunEvent::Log { who, level, text } => format!("[{time}] {who} {}: {text}", crate::events::name_of(level)),
        RunEvent::Finished { outcome } => format!("[{time}] run {}", crate::events::name_of(outcome).replace('_', " ")),
        RunEvent::Planned { .. }
        | RunEvent::Confirmed { .. }
        | RunEvent::Sample { .. }
        | RunEvent::Checksum { .. }
        | RunEvent::Fault { .. }
        | RunEvent::VerifyChunk { .. }
        | RunEvent::Awaiting { .. } => {
            return;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
