//! Phases and steps: when each ran, against how long it was planned to take.

use chrono::{DateTime, Utc};

use crate::events::{Outline, Record, RunEvent, StepStatus};
use crate::state::State;

/// One step of the runbook, as it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTiming {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub planned_secs: Option<u64>,
    /// The first start of any attempt.
    pub started: Option<DateTime<Utc>>,
    /// The end of the last attempt, when it was seen to end.
    pub finished: Option<DateTime<Utc>>,
    pub attempts: u32,
    /// How it stands at the end of the journal (the cockpit's fold).
    pub status: StepStatus,
    /// The last attempt's summary.
    pub summary: Option<String>,
    pub starts_write_pause: bool,
    pub ends_write_pause: bool,
}

impl StepTiming {
    /// From the first start to the last end; `None` until it ended.
    #[must_use]
    pub fn actual(&self) -> Option<chrono::Duration> {
        Some(self.finished? - self.started?)
    }

    /// Started, and its last attempt was never seen to end.
    #[must_use]
    pub fn unfinished(&self) -> bool {
        self.started.is_some() && self.finished.is_none()
    }
}

/// One phase, as it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseTiming {
    pub id: String,
    pub name: String,
    pub rollback: bool,
    /// The runbook's `planned` for the phase.
    pub planned_secs: Option<u64>,
    pub steps: Vec<StepTiming>,
}

impl PhaseTiming {
    /// The phase's plan, else the sum of its steps' when every step has one.
    #[must_use]
    pub fn planned(&self) -> Option<chrono::Duration> {
        let secs = self.planned_secs.or_else(|| {
            if self.steps.is_empty() {
                return None;
            }
            self.steps.iter().map(|s| s.planned_secs).sum::<Option<u64>>()
        })?;
        chrono::Duration::try_seconds(i64::try_from(secs).ok()?)
    }

    /// When its first step started.
    #[must_use]
    pub fn started(&self) -> Option<DateTime<Utc>> {
        self.steps.iter().filter_map(|s| s.started).min()
    }

    /// When its last step ended; `None` while a step of it is left unfinished.
    #[must_use]
    pub fn finished(&self) -> Option<DateTime<Utc>> {
        if self.steps.iter().any(StepTiming::unfinished) {
            return None;
        }
        self.steps.iter().filter_map(|s| s.finished).max()
    }

    /// From its first step's start to its last step's end.
    #[must_use]
    pub fn actual(&self) -> Option<chrono::Duration> {
        Some(self.finished()? - self.started()?)
    }
}

/// Every phase of the outline with its steps' times.
pub(super) fn timings(outline: Option<&Outline>, state: &State, records: &[Record]) -> Vec<PhaseTiming> {
    let Some(outline) = outline else { return Vec::new() };
    outline
        .phases
        .iter()
        .map(|phase| PhaseTiming {
            id: phase.id.clone(),
            name: phase.name.clone(),
            rollback: phase.rollback,
            planned_secs: phase.planned_secs,
            steps: phase
                .steps
                .iter()
                .map(|step| {
                    let mut timing = StepTiming {
                        id: step.id.clone(),
                        name: step.name.clone(),
                        kind: step.kind.clone(),
                        planned_secs: step.planned_secs,
                        started: None,
                        finished: None,
                        attempts: 0,
                        status: state.step_status(&step.id),
                        summary: None,
                        starts_write_pause: step.starts_write_pause,
                        ends_write_pause: step.ends_write_pause,
                    };
                    for record in records {
                        match &record.event {
                            RunEvent::StepStarted { step: id, .. } if *id == step.id => {
                                timing.started.get_or_insert(record.at);
                                timing.finished = None;
                                timing.attempts += 1;
                            }
                            RunEvent::StepFinished { step: id, summary, .. }
                            | RunEvent::StepStopped { step: id, summary, .. }
                                if *id == step.id =>
                            {
                                timing.finished = Some(record.at);
                                timing.summary = Some(summary.clone());
                            }
                            _ => {}
                        }
                    }
                    timing
                })
                .collect(),
        })
        .collect()
}

/// A step's status in words.
#[must_use]
pub fn status_text(step: &StepTiming) -> &'static str {
    match step.status {
        _ if step.unfinished() && step.status != StepStatus::Interrupted => "unfinished",
        StepStatus::Pending => "not run",
        StepStatus::Running => "unfinished",
        StepStatus::Done => "done",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
        StepStatus::Interrupted => "interrupted",
    }
}

/// Actual against planned: `+1m 05s`, `−12.0 s`, or `—` when either is unknown.
#[must_use]
pub fn delta_text(planned: Option<chrono::Duration>, actual: Option<chrono::Duration>) -> String {
    match (planned, actual) {
        (Some(planned), Some(actual)) if actual >= planned => format!("+{}", super::duration_text(actual - planned)),
        (Some(planned), Some(actual)) => format!("−{}", super::duration_text(planned - actual)),
        _ => "—".to_owned(),
    }
}

/// A duration or a dash.
#[must_use]
pub fn maybe_duration(d: Option<chrono::Duration>) -> String {
    d.map_or_else(|| "—".to_owned(), super::duration_text)
}
