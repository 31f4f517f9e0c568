//! Where a recorded session's observations go (`watch`, and the simulator's
//! drills): the journal first, when the session is recorded, then the screen
//! — which is shown what a replay of the journal folds, the clock aside.
//! Samples are kept at the [`Recorder`]'s bound: a drill keeps every one (the
//! demo's interval is its bound), so it replays to the very screen the
//! operator saw; `watch` keeps one per endpoint every [`SAMPLE_EVERY`](super::SAMPLE_EVERY).

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::Recorder;
use crate::events::{Action, LogEntry, LogLevel, Record, RunEvent, StepStatus, StepUpdate};
use crate::journal;
use crate::state::State;

pub struct Feed {
    ui: mpsc::Sender<Action>,
    journal: Option<Recorder>,
    /// The gauges as the screen folds them: what a simulated run's gates and
    /// waits read. Folded only for a driver that reads them ([`Feed::folding`]):
    /// the screen folds everything once already.
    pub gauges: State,
    fold: bool,
}

impl Feed {
    #[must_use]
    pub fn new(ui: mpsc::Sender<Action>, journal: Option<Recorder>) -> Self {
        Self { ui, journal, gauges: State::new("simulator"), fold: false }
    }

    /// Keep [`Feed::gauges`] folded, for a driver whose gates and waits read them.
    #[must_use]
    pub fn folding(mut self) -> Self {
        self.fold = true;
        self
    }

    /// Show an action that is not journaled (the clock, what the run awaits).
    /// `false`: the screen is gone.
    pub async fn show(&mut self, action: Action) -> bool {
        if self.fold {
            self.gauges.update(&action);
        }
        self.ui.send(action).await.is_ok()
    }

    /// Journal an event and show what it stands for. `false`: the screen is gone.
    pub async fn event(&mut self, at: DateTime<Utc>, event: RunEvent) -> bool {
        // Shown as journaled: its texts scrubbed.
        let event = match &self.journal {
            Some(j) => j.scrubbed(event),
            None => event,
        };
        let record = Record { at, event };
        let written = self.journal.as_mut().map(|j| j.append(at, record.event.clone()));
        if !self.written(at, written).await {
            return false;
        }
        for action in journal::actions(&record) {
            if !self.show(action).await {
                return false;
            }
        }
        true
    }

    /// What the simulator observed: the clock goes to the screen; samples,
    /// verification progress, step moves and log lines are journaled first.
    pub async fn observed(&mut self, action: Action) -> bool {
        match action {
            Action::Sample(sample) => {
                let written = self.journal.as_mut().map(|j| j.sample(&sample).map(drop));
                self.written(sample.at, written).await && self.show(Action::Sample(sample)).await
            }
            Action::Checksum(progress) => {
                let written = self.journal.as_mut().map(|j| j.checksum(&progress).map(drop));
                self.written(progress.at, written).await && self.show(Action::Checksum(progress)).await
            }
            Action::Step(update) => self.event(update.at, step_event(&update)).await,
            Action::Log(LogEntry { at, who, level, text }) => self.event(at, RunEvent::Log { who, level, text }).await,
            other => self.show(other).await,
        }
    }

    /// A drill's fault began: journaled for the report, never shown.
    pub async fn fault(&mut self, at: DateTime<Utc>, fault: String, text: String) -> bool {
        let written = self.journal.as_mut().map(|j| j.append(at, RunEvent::Fault { fault, text }));
        self.written(at, written).await
    }

    /// A journal that cannot be written stops recording, says so on the
    /// screen, and the session goes on.
    async fn written(&mut self, at: DateTime<Utc>, written: Option<color_eyre::Result<()>>) -> bool {
        let Some(Err(error)) = written else { return true };
        self.journal = None;
        let text = format!("the journal cannot be written, recording stopped: {error:#}");
        self.show(Action::Log(LogEntry { at, who: "cutover".into(), level: LogLevel::Error, text })).await
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
