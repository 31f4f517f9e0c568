//! A paused pooler is an outage in slow motion: which pooler a run has
//! paused (folded from its events: a `pgbouncer` pause step started, and no
//! resume of it finished since), and when a live pause's budget
//! (`max_pause`) runs out. The runner resumes a pooler it would otherwise
//! leave paused — on quit, on stop, and first thing on resume — and rolls
//! back when the budget runs out.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::plan::{Planned, Resolved};
use super::pooler::Op;
use super::{ActionDef, Runbook};
use crate::events::RunEvent;

/// A pause in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paused {
    /// The pgbouncer endpoint.
    pub on: String,
    /// The database (`None`: every one).
    pub database: Option<String>,
    /// The step that paused it.
    pub step: String,
    /// When it was paused.
    pub since: chrono::DateTime<chrono::Utc>,
    /// A repoint finished since: a RESUME now sends the clients to the new server.
    pub repointed: bool,
}

impl Paused {
    /// The step that undoes it: `RESUME` of the same database.
    #[must_use]
    pub fn resume(&self) -> Resolved {
        Resolved::Pooler { on: self.on.clone(), op: Op::Resume(self.database.clone()), repoint: None }
    }
}

/// The pause budget of a pause step, if it has one.
#[must_use]
pub fn max_pause(runbook: &Runbook, step: &str) -> Option<Duration> {
    runbook.step(step).and_then(|s| match &s.action {
        ActionDef::Pooler { max_pause, .. } => *max_pause,
        _ => None,
    })
}

/// See the module.
#[derive(Clone, Debug, Default)]
pub struct PauseWatch {
    pub paused: Option<Paused>,
    /// When the live pause's budget runs out, and the budget.
    pub deadline: Option<(Instant, Duration)>,
}

impl PauseWatch {
    /// Fold one event; `live`: it happens now (a budget starts), not read
    /// back from a journal.
    pub fn fold(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        event: &RunEvent,
        planned: &HashMap<String, Planned>,
        runbook: &Runbook,
        live: bool,
    ) {
        let op = |step: &str| match planned.get(step).map(|p| &p.action) {
            Some(Resolved::Pooler { on, op, .. }) => Some((on.clone(), op.clone())),
            _ => None,
        };
        match event {
            RunEvent::StepStarted { step, .. } => {
                if let Some((on, Op::Pause(database))) = op(step) {
                    // Paused already (a rollback's PAUSE after the switch's):
                    // the clients have waited since the first.
                    let still = self.paused.take().filter(|p| p.on == on && p.database == database);
                    self.paused =
                        Some(still.unwrap_or(Paused { on, database, step: step.clone(), since: at, repointed: false }));
                    let budget = max_pause(runbook, step);
                    self.deadline = budget.filter(|_| live).map(|b| (Instant::now() + b, b));
                }
            }
            RunEvent::StepFinished { step, ok: true, .. } => {
                if let (Some(paused), Some((on, Op::Repoint { .. }))) = (&mut self.paused, op(step)) {
                    paused.repointed |= paused.on == on;
                }
                if let Some((on, Op::Resume(database))) = op(step) {
                    // A RESUME of every database ends any pause; one of a
                    // database ends that database's.
                    if self
                        .paused
                        .as_ref()
                        .is_some_and(|p| p.on == on && (database.is_none() || p.database == database))
                    {
                        self.paused = None;
                        self.deadline = None;
                    }
                }
            }
            // The rollback resumes the pooler: no budget runs any more.
            RunEvent::Rollback { .. } => self.deadline = None,
            _ => {}
        }
    }

    /// The budget ran out: its length.
    #[must_use]
    pub fn budget_out(&self) -> Option<Duration> {
        self.deadline.filter(|(at, _)| Instant::now() >= *at).map(|(_, budget)| budget)
    }
}
