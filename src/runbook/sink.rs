//! Where a run's events go, in order: the journal first (scrubbed, synced at
//! step boundaries), then the run's gauges, then the cockpit's screen or, for
//! an unattended run, a progress line on stdout.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;

use super::exec::Emitted;
use crate::events::{Action, RunEvent};
use crate::journal::{Hub, OnJournalError, Recorder};
use crate::state::State;

/// Where a run's events go: the [`Hub`] (journal, the run's fold, the
/// screen), and for an unattended run a progress line on stdout.
pub(super) struct Sink {
    pub(super) hub: Hub,
    /// The run's fold, which gates and waits read (the hub's).
    pub(super) gauges: Arc<Mutex<State>>,
    pub(super) names: HashMap<String, String>,
    pub(super) title: String,
    /// What the journal's records are stamped with: the wall clock, or the
    /// simulator's.
    pub(super) clock: super::execute::Clock,
    /// Progress lines start with `[label] ` (a fleet member's name).
    pub(super) label: Option<String>,
    /// No progress lines: a screen shows this unattended run (a fleet's).
    pub(super) quiet: bool,
}

impl Sink {
    /// A run's hub: its journal (a drill nobody records has none), errors
    /// of which stop the run, and its fold from `state`; stamped with the
    /// wall clock until told otherwise.
    pub(super) fn new(journal: Option<Recorder>, state: State, names: HashMap<String, String>, title: String) -> Self {
        let gauges = Arc::new(Mutex::new(state));
        let hub = Hub::new(journal, OnJournalError::Fail).folding(gauges.clone());
        Self { hub, gauges, names, title, clock: Arc::new(Utc::now), label: None, quiet: false }
    }

    /// Journal an event, fold it into the run's state (so the run knows what
    /// its journal says, as a resume will) and show it. The engine folds it
    /// too (the caller's job).
    pub(super) fn record(&mut self, event: &RunEvent) -> Result<()> {
        let at = (self.clock)();
        // Shown as journaled: scrubbed, on the screen and stdout too.
        let event = self.hub.record(at, event.clone())?;
        if self.prints() {
            print_event(at, &event, &self.title, &self.names, self.label.as_deref());
        }
        Ok(())
    }

    /// Progress lines go to stdout and stderr: unattended, and no screen.
    pub(super) fn prints(&self) -> bool {
        !self.hub.attached() && !self.quiet && !crate::terminal::screen_active()
    }

    /// An observer's action (see [`Hub::observed`]); a log line the
    /// observed world said is a progress line too.
    pub(super) fn take(&mut self, action: Action) -> Result<()> {
        if let Action::Log(crate::events::LogEntry { who, level, text, .. }) = action {
            return self.record(&RunEvent::Log { who, level, text });
        }
        self.hub.observed(action)
    }

    /// The journal, on disk.
    pub(super) fn sync(&mut self) -> Result<()> {
        self.hub.sync()
    }

    pub(super) fn emitted(&mut self, step: &str, e: Emitted) -> Result<()> {
        match e {
            Emitted::Output(text) => self.record(&RunEvent::Output { step: step.to_owned(), text }),
            Emitted::Checksum(p) => self.hub.checksum(p),
            Emitted::RestorePoint { endpoint, name, lsn } => {
                self.record(&RunEvent::RestorePoint { step: step.to_owned(), endpoint, name, lsn })
            }
        }
    }
}

/// A progress line on stdout for an unattended run.
fn print_event(at: DateTime<Utc>, event: &RunEvent, title: &str, names: &HashMap<String, String>, label: Option<&str>) {
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
        RunEvent::RecoveryTime { phase, seconds } => {
            format!("[{time}] phase {phase}: recovery time {} (restore + replay)", crate::format::seconds(*seconds))
        }
        RunEvent::RestorePoint { step, endpoint, name, lsn } => {
            format!("[{time}] {step} restore point {name} on {endpoint} at {lsn}")
        }
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
    let _ = match label {
        Some(label) => writeln!(out, "[{label}] {line}"),
        None => writeln!(out, "{line}"),
    };
    let _ = out.flush();
}
