//! What the run driver needs of the world it runs in, as one trait: watch
//! it (gauges into the run), act on it (a step's attempt, a step's `when`),
//! stop what acts, and tell the time. [`Executor`] is the real world — the
//! inventory's servers; [`super::simulated::Simulated`] is the simulator's,
//! so `cutover demo --interactive` is the same [`super::runner::Runner`] as
//! `cutover run`.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::exec::{Executor, Outcome};
use super::plan::Resolved;
use super::stop::Stopper;
use crate::events::Action;

/// The clock a run's journal is stamped with.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// One attempt of a step, as the driver hands it over.
pub struct Job<'a> {
    pub step: &'a str,
    /// The run's name for what it makes (a restore point): when it started, `20261204T020808Z`.
    pub run: &'a str,
    pub action: &'a Resolved,
    /// What `plan` shows the step will do.
    pub shows: &'a [String],
    /// The endpoints the step acts on.
    pub endpoints: Vec<&'a str>,
    /// The step's own timeout (the driver enforces it too, on the wall clock).
    pub timeout: Option<std::time::Duration>,
    /// See [`super::StepDef::reads_only`].
    pub read_only: bool,
    /// A `sql` step's statements run in one transaction.
    pub transaction: bool,
}

/// The world a run acts on.
pub trait Execute: Send + 'static {
    /// Start what observes the world; its actions go to `into`. Also how
    /// many endpoints the run waits to hear from before it starts.
    fn observe(&self, into: &mpsc::Sender<Action>) -> (Vec<JoinHandle<()>>, usize);

    /// The clock the journal is stamped with.
    fn clock(&self) -> Clock;

    /// A handle that stops the running attempt, usable while it runs.
    fn stopper(&self) -> Stopper;

    /// Run one attempt to its end.
    fn run<'a>(&'a mut self, job: Job<'a>) -> impl Future<Output = Outcome> + Send + 'a;

    /// A step's `when`: whether it holds, and what was read.
    fn guard<'a>(&'a mut self, when: &'a Resolved) -> impl Future<Output = Result<(bool, String), String>> + Send + 'a;
}

impl Execute for Executor {
    fn observe(&self, into: &mpsc::Sender<Action>) -> (Vec<JoinHandle<()>>, usize) {
        let inventory = self.inventory();
        let mut tasks = crate::collect::spawn(inventory.endpoints.clone(), inventory.interval, into);
        // The clock too: without it the gauges could not tell stale figures.
        tasks.push(tokio::spawn(crate::collect::clock(into.clone())));
        (tasks, inventory.endpoints.len())
    }

    fn clock(&self) -> Clock {
        Arc::new(Utc::now)
    }

    fn stopper(&self) -> Stopper {
        Executor::stopper(self)
    }

    async fn run<'a>(&'a mut self, job: Job<'a>) -> Outcome {
        Executor::run(self, &job).await
    }

    fn guard<'a>(&'a mut self, when: &'a Resolved) -> impl Future<Output = Result<(bool, String), String>> + Send + 'a {
        Executor::guard(self, when)
    }
}
