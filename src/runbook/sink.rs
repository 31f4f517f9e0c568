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
    /// `None`: a drill nobody records.
    pub(super) journal: Option<Recorder>,
    pub(super) gauges: Arc<Mutex<State>>,
    /// The screen, through [`lossless`]: never a dropped action.
    pub(super) ui: Option<mpsc::UnboundedSender<Action>>,
    pub(super) names: HashMap<String, String>,
    pub(super) title: String,
    /// What the journal's records are stamped with: the wall clock, or the
    /// simulator's.
    pub(super) clock: super::execute::Clock,
}

impl Sink {
    /// Journal an event, fold it into the run's state (so the run knows what
    /// its journal says, as a resume will) and show it. The engine folds it
    /// too (the caller's job).
    pub(super) fn record(&mut self, event: &RunEvent) -> Result<()> {
        let at = (self.clock)();
        // Shown as journaled: scrubbed, on the screen and stdout too.
        let event = &match &self.journal {
            Some(journal) => journal.scrubbed(event.clone()),
            None => event.clone(),
        };
        if let Some(journal) = &mut self.journal {
            journal.append(at, event.clone())?;
        }
        let actions = journal::actions(&crate::events::Record { at, event: event.clone() });
        for action in &actions {
            self.fold(action);
        }
        match &self.ui {
            Some(ui) => {
                for action in actions {
                    // Only fails once the screen is gone.
                    let _ = ui.send(action);
                }
            }
            None => print_event(at, event, &self.title, &self.names),
        }
        Ok(())
    }

    pub(super) fn to_screen(&self, action: Action) {
        if let Some(ui) = &self.ui {
            let _ = ui.send(action);
        }
    }

    pub(super) fn fold(&self, action: &Action) {
        if let Ok(mut state) = self.gauges.lock() {
            state.update(action);
        }
    }

    /// An observer's action: into the gauges, the screen, and (samples, at a
    /// bounded rate) the journal. What the observed world said (a log line)
    /// is journaled as it is shown; a fault a drill set off, only journaled.
    pub(super) fn take(&mut self, action: Action) -> Result<()> {
        match action {
            Action::Log(crate::events::LogEntry { who, level, text, .. }) => {
                return self.record(&RunEvent::Log { who, level, text });
            }
            Action::Fault { at, fault, text } => {
                if let Some(journal) = &mut self.journal {
                    journal.append(at, RunEvent::Fault { fault, text })?;
                }
                return Ok(());
            }
            _ => {}
        }
        self.fold(&action);
        if let (Action::Sample(sample), Some(journal)) = (&action, &mut self.journal) {
            // During a write pause every sample is kept: the report measures
            // the pause as the pooler's clients felt it.
            let pausing = self.gauges.lock().is_ok_and(|s| s.write_pause.is_some_and(|p| p.ended.is_none()));
            journal.sample_if(sample, pausing)?;
        }
        self.to_screen(action);
        Ok(())
    }

    /// The journal, on disk.
    pub(super) fn sync(&mut self) -> Result<()> {
        self.journal.as_mut().map_or(Ok(()), Recorder::sync)
    }

    pub(super) fn emitted(&mut self, step: &str, e: Emitted) -> Result<()> {
        match e {
            Emitted::Output(text) => self.record(&RunEvent::Output { step: step.to_owned(), text }),
            Emitted::Checksum(p) => {
                self.fold(&Action::Checksum(p.clone()));
                self.to_screen(Action::Checksum(p.clone()));
                if let Some(journal) = &mut self.journal {
                    journal.checksum(&p)?;
                }
                Ok(())
            }
        }
    }
}

/// The screen's channel, lossless: the run journals and shows from code
/// that must not wait, so what it shows queues here, in order, and a task
/// hands it on with the screen's back-pressure. What the screen shows is
/// then exactly what the journal folds to (a `try_send` on a full channel
/// used to drop actions). The queue holds what a stalled terminal has not
/// taken yet: about one sample per endpoint and interval.
pub(super) fn lossless(screen: mpsc::Sender<Action>) -> mpsc::UnboundedSender<Action> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(action) = rx.recv().await {
            if screen.send(action).await.is_err() {
                break;
            }
        }
    });
    tx
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst far larger than the screen's channel, taken slowly: every
    /// action arrives, in order (a `try_send` dropped all but the first few).
    #[tokio::test]
    async fn the_screen_gets_every_action_in_order_however_slow_it_is() {
        let (screen, mut shown) = mpsc::channel(4);
        let ui = lossless(screen);
        let t0 = Utc::now();
        let ticks: Vec<Action> =
            (0..2_000).map(|i| Action::Tick { now: t0 + chrono::Duration::milliseconds(i) }).collect();
        for tick in &ticks {
            ui.send(tick.clone()).unwrap();
        }
        drop(ui);
        let mut got = Vec::new();
        while let Some(action) = shown.recv().await {
            if got.len() % 500 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            got.push(action);
        }
        assert_eq!(got, ticks);
    }
}
