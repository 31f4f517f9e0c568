//! The one hub every session's inputs go through — `watch`, the demo's
//! script, `run`, `resume` and the drills: the journal first (scrubbed, at
//! the [`Recorder`]'s rates), then the fold (for a driver whose gates and
//! waits read the gauges), then the screen, which is shown exactly what the
//! journal folds to, the clock aside.
//!
//! The screen is lossless: what the hub shows queues, in order, and a task
//! hands it on with the screen's back-pressure, so a producer that must not
//! wait (a run between two journal writes) never drops an action (a
//! `try_send` on a full channel used to). The queue holds what a stalled
//! terminal has not taken yet: about one sample per endpoint and interval.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use tokio::sync::mpsc;

use super::Recorder;
use crate::events::{Action, ChecksumProgress, LogEntry, LogLevel, Record, RunEvent, StepStatus, StepUpdate};
use crate::state::State;

/// What a journal that cannot be written does to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnJournalError {
    /// The error goes back to the caller: a run stops (a run whose journal is
    /// lost could not be resumed).
    Fail,
    /// Recording stops, the screen says so, the session goes on (watching).
    StopRecording,
}

/// See the module documentation.
pub struct Hub {
    journal: Option<Recorder>,
    on_error: OnJournalError,
    /// The run's fold of everything, when a driver reads it.
    fold: Option<Arc<Mutex<State>>>,
    ui: Option<mpsc::UnboundedSender<Action>>,
}

impl Hub {
    #[must_use]
    pub fn new(journal: Option<Recorder>, on_error: OnJournalError) -> Self {
        Self { journal, on_error, fold: None, ui: None }
    }

    /// Keep folding everything into `state`: what a run's gates and waits
    /// read (the screen folds once already; `watch` needs no other).
    #[must_use]
    pub fn folding(mut self, state: Arc<Mutex<State>>) -> Self {
        self.fold = Some(state);
        self
    }

    /// Show everything from now on on `screen`, losslessly.
    pub fn screen(&mut self, screen: mpsc::Sender<Action>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(action) = rx.recv().await {
                if screen.send(action).await.is_err() {
                    break;
                }
            }
        });
        self.ui = Some(tx);
    }

    /// Whether a screen is attached.
    #[must_use]
    pub fn attached(&self) -> bool {
        self.ui.is_some()
    }

    /// The screen was attached and has gone.
    #[must_use]
    pub fn screen_gone(&self) -> bool {
        self.ui.as_ref().is_some_and(mpsc::UnboundedSender::is_closed)
    }

    /// Fold and show an action that is not journaled (the clock, what a run
    /// awaits).
    pub fn show(&self, action: Action) {
        self.fold(&action);
        if let Some(ui) = &self.ui {
            // Only fails once the screen is gone.
            let _ = ui.send(action);
        }
    }

    fn fold(&self, action: &Action) {
        if let Some(state) = &self.fold {
            if let Ok(mut state) = state.lock() {
                state.update(action);
            }
        }
    }

    /// Journal an event, then fold and show what it stands for. Returns it
    /// as journaled (scrubbed), which is what is shown too.
    ///
    /// # Errors
    /// The journal could not be written ([`OnJournalError::Fail`]).
    pub fn record(&mut self, at: DateTime<Utc>, event: RunEvent) -> Result<RunEvent> {
        let event = match &self.journal {
            Some(journal) => journal.scrubbed(event),
            None => event,
        };
        let written = self.journal.as_mut().map(|j| j.append(at, event.clone()));
        self.written(at, written)?;
        let record = Record { at, event };
        for action in super::actions(&record) {
            self.show(action);
        }
        Ok(record.event)
    }

    /// Verification progress: folded, shown, journaled when due.
    ///
    /// # Errors
    /// As [`Hub::record`].
    pub fn checksum(&mut self, progress: ChecksumProgress) -> Result<()> {
        let written = self.journal.as_mut().map(|j| j.checksum(&progress).map(drop));
        self.written(progress.at, written)?;
        self.show(Action::Checksum(progress));
        Ok(())
    }

    /// What an observer saw (collectors, the simulator): samples journaled
    /// at the recorder's rate (every one while a write pause runs: the
    /// report measures the pause as the pooler's clients felt it), progress
    /// when due, step moves and log lines as events, a drill's fault only
    /// journaled (for the report, never shown); the clock only shown.
    ///
    /// # Errors
    /// As [`Hub::record`].
    pub fn observed(&mut self, action: Action) -> Result<()> {
        match action {
            Action::Sample(sample) => {
                let pausing = self
                    .fold
                    .as_ref()
                    .is_some_and(|s| s.lock().is_ok_and(|s| s.write_pause.is_some_and(|p| p.ended.is_none())));
                let written = self.journal.as_mut().map(|j| j.sample_if(&sample, pausing).map(drop));
                self.written(sample.at, written)?;
                self.show(Action::Sample(sample));
            }
            Action::Checksum(progress) => self.checksum(progress)?,
            Action::Step(update) => {
                self.record(update.at, step_event(&update))?;
            }
            Action::Log(LogEntry { at, who, level, text }) => {
                self.record(at, RunEvent::Log { who, level, text })?;
            }
            Action::Fault { at, fault, text } => {
                let written = self.journal.as_mut().map(|j| j.append(at, RunEvent::Fault { fault, text }));
                self.written(at, written)?;
            }
            other => self.show(other),
        }
        Ok(())
    }

    /// Flush the journal to disk.
    ///
    /// # Errors
    /// The disk refused.
    pub fn sync(&mut self) -> Result<()> {
        self.journal.as_mut().map_or(Ok(()), Recorder::sync)
    }

    /// What a write's failure does (see [`OnJournalError`]).
    fn written(&mut self, at: DateTime<Utc>, written: Option<Result<()>>) -> Result<()> {
        let Some(Err(error)) = written else { return Ok(()) };
        if self.on_error == OnJournalError::Fail {
            return Err(error);
        }
        self.journal = None;
        let text = format!("the journal cannot be written, recording stopped: {error:#}");
        self.show(Action::Log(LogEntry { at, who: "cutover".into(), level: LogLevel::Error, text }));
        Ok(())
    }
}

/// A scripted step move as the run event a real run would journal.
fn step_event(update: &StepUpdate) -> RunEvent {
    let step = update.step.clone();
    let operator = "simulator".to_owned();
    match update.status {
        StepStatus::Running => RunEvent::StepStarted { step, attempt: 1 },
        StepStatus::Done => RunEvent::StepFinished { step, attempt: 1, ok: true, summary: "done (simulated)".into() },
        StepStatus::Failed => {
            RunEvent::StepFinished { step, attempt: 1, ok: false, summary: "failed (simulated)".into() }
        }
        StepStatus::Skipped => RunEvent::Skipped { step, operator, reason: "scripted".into() },
        StepStatus::Interrupted => RunEvent::Interrupted { step },
        StepStatus::Pending => RunEvent::Rerun { step, operator },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst far larger than the screen's channel, taken slowly: every
    /// action arrives, in order (a `try_send` dropped all but the first few).
    #[tokio::test]
    async fn the_screen_gets_every_action_in_order_however_slow_it_is() {
        let (screen, mut shown) = mpsc::channel(4);
        let mut hub = Hub::new(None, OnJournalError::Fail);
        hub.screen(screen);
        let t0 = Utc::now();
        let ticks: Vec<Action> =
            (0..2_000).map(|i| Action::Tick { now: t0 + chrono::Duration::milliseconds(i) }).collect();
        for tick in &ticks {
            hub.show(tick.clone());
        }
        drop(hub);
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
