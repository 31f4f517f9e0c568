//! The runbook engine as a pure state machine: it folds the run's events
//! (from a live run or a journal read back) and says what comes next. It runs
//! nothing itself, so every rule — gates aside, which need the gauges — is
//! tested without a database or a clock.

use std::collections::HashMap;

use super::{OnFailure, StepDef};
use crate::events::{RunEvent, RunOutcome, StepStatus, StopReason, StopState};

/// Why a step waits for the operator instead of running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Started but never seen to finish: it may or may not have taken effect.
    Interrupted,
    /// Failed, with no retries left, and its policy is to stop — or timed
    /// out or was cancelled, which is never retried by itself unless the
    /// step only reads.
    Failed,
    /// cutover stopped it (a quit, or a stop it could not see through): it
    /// may have partly taken effect, and in [`StopState::StillRunning`] it may
    /// still be running.
    Stopped(StopState),
}

impl Hold {
    /// Why the step is held, in words after "step 1.2 …".
    #[must_use]
    pub fn why(self) -> &'static str {
        match self {
            Self::Interrupted => "was interrupted (it may or may not have taken effect)",
            Self::Failed => "failed",
            Self::Stopped(StopState::Stopped) => {
                "was stopped when cutover quit (what it did before that may have taken effect)"
            }
            Self::Stopped(StopState::StillRunning) => "may still be running: cutover could not stop it",
            Self::Stopped(StopState::Unknown) => "was cut off, and cutover could not tell whether it stopped",
        }
    }
}

/// What the run does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Run this step (first time, or a retry its policy allows).
    Run(String),
    /// This step is running.
    Running(String),
    /// The operator must decide: re-run, skip, or roll back.
    Decide(String, Hold),
    /// Nothing left: the run is over.
    Over(RunOutcome),
}

#[derive(Clone, Debug, Default)]
struct StepRun {
    status: StepStatus,
    /// Attempts since the last operator decision.
    attempts: u32,
    /// Why it is held, when cutover stopped it (see [`RunEvent::StepStopped`]).
    stopped: Option<Hold>,
}

/// A run's state: each step's status, and whether it is rolling back.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Per step: id, in the rollback phase, policy, reads only, safe to retry.
    steps: Vec<(String, bool, OnFailure, bool, bool)>,
    runs: HashMap<String, StepRun>,
    rolling_back: bool,
    outcome: Option<RunOutcome>,
}

impl Engine {
    #[must_use]
    pub fn new(steps: &[StepDef]) -> Self {
        Self {
            steps: steps
                .iter()
                .map(|s| (s.id.clone(), s.rollback, s.on_failure, s.reads_only(), s.retry_safe()))
                .collect(),
            runs: HashMap::new(),
            rolling_back: false,
            outcome: None,
        }
    }

    /// An engine that has seen `events`.
    #[must_use]
    pub fn replay<'a>(steps: &[StepDef], events: impl IntoIterator<Item = &'a RunEvent>) -> Self {
        let mut engine = Self::new(steps);
        for event in events {
            engine.apply(event);
        }
        engine
    }

    fn policy(&self, step: &str) -> OnFailure {
        self.steps.iter().find(|s| s.0 == step).map_or(OnFailure::Stop, |s| s.2)
    }

    /// Fold one event.
    pub fn apply(&mut self, event: &RunEvent) {
        match event {
            RunEvent::StepStarted { step, attempt } => {
                let run = self.runs.entry(step.clone()).or_default();
                run.status = StepStatus::Running;
                run.attempts = run.attempts.max(*attempt);
                run.stopped = None;
            }
            RunEvent::StepStopped { step, attempt, why, state, .. } => {
                let run = self.runs.entry(step.clone()).or_default();
                run.attempts = run.attempts.max(*attempt);
                match (why, state) {
                    // Its own timeout or the operator's cancel, and it is over:
                    // a failure whose policy applies, but which is never
                    // retried by itself (see `next`).
                    (StopReason::Timeout | StopReason::Cancel, StopState::Stopped) => {
                        run.status = StepStatus::Failed;
                        run.stopped = Some(Hold::Failed);
                        let attempts = run.attempts;
                        self.fail(step, attempts);
                    }
                    // Cut off by a quit, or perhaps still running: as if
                    // interrupted, but said so.
                    (_, state) => {
                        run.status = StepStatus::Interrupted;
                        run.stopped = Some(Hold::Stopped(*state));
                    }
                }
            }
            RunEvent::StepFinished { step, ok, attempt, .. } => {
                let run = self.runs.entry(step.clone()).or_default();
                run.attempts = run.attempts.max(*attempt);
                if *ok {
                    run.status = StepStatus::Done;
                    return;
                }
                run.status = StepStatus::Failed;
                let attempts = run.attempts;
                self.fail(step, attempts);
            }
            RunEvent::Interrupted { step } => {
                self.runs.entry(step.clone()).or_default().status = StepStatus::Interrupted
            }
            RunEvent::Rerun { step, .. } => {
                let run = self.runs.entry(step.clone()).or_default();
                run.status = StepStatus::Pending;
                run.attempts = 0;
                run.stopped = None;
            }
            RunEvent::Skipped { step, .. } => self.runs.entry(step.clone()).or_default().status = StepStatus::Skipped,
            RunEvent::Rollback { .. } => self.rolling_back = true,
            RunEvent::Finished { outcome } => self.outcome = Some(*outcome),
            RunEvent::Started { .. }
            | RunEvent::Session { .. }
            | RunEvent::Fault { .. }
            | RunEvent::Log { .. }
            | RunEvent::VerifyChunk { .. }
            | RunEvent::Resumed { .. }
            | RunEvent::Planned { .. }
            | RunEvent::Gate { .. }
            | RunEvent::Confirmed { .. }
            | RunEvent::Output { .. }
            | RunEvent::RestorePoint { .. }
            | RunEvent::RecoveryTime { .. }
            | RunEvent::Paused { .. }
            | RunEvent::Sample { .. }
            | RunEvent::Checksum { .. }
            | RunEvent::Awaiting { .. } => {}
        }
    }

    /// A step failed on its `attempts`-th attempt: its policy may roll back.
    fn fail(&mut self, step: &str, attempts: u32) {
        match self.policy(step) {
            OnFailure::Retry { times, then_rollback } if attempts > times && then_rollback => {
                self.rolling_back = true;
            }
            OnFailure::Rollback => self.rolling_back = true,
            OnFailure::Retry { .. } | OnFailure::Stop => {}
        }
    }

    /// What comes next.
    #[must_use]
    pub fn next(&self) -> Next {
        if let Some(outcome) = self.outcome {
            return Next::Over(outcome);
        }
        for (id, rollback, policy, reads_only, retry_safe) in &self.steps {
            if *rollback != self.rolling_back {
                continue;
            }
            let run = self.runs.get(id).cloned().unwrap_or_default();
            match run.status {
                StepStatus::Done | StepStatus::Skipped => {}
                StepStatus::Pending => return Next::Run(id.clone()),
                StepStatus::Running => return Next::Running(id.clone()),
                // A step that only reads changes nothing: running it again is safe.
                StepStatus::Interrupted if *reads_only => return Next::Run(id.clone()),
                StepStatus::Interrupted => return Next::Decide(id.clone(), run.stopped.unwrap_or(Hold::Interrupted)),
                StepStatus::Failed => {
                    // A timed-out or cancelled change, or several statements
                    // outside one transaction, may have partly run: the
                    // operator decides whether it runs again.
                    let may_retry = *reads_only || (run.stopped.is_none() && *retry_safe);
                    return match policy {
                        OnFailure::Retry { times, .. } if may_retry && run.attempts <= *times => Next::Run(id.clone()),
                        _ => Next::Decide(id.clone(), Hold::Failed),
                    };
                }
            }
        }
        Next::Over(if self.rolling_back { RunOutcome::RolledBack } else { RunOutcome::Completed })
    }

    #[must_use]
    pub fn status(&self, step: &str) -> StepStatus {
        self.runs.get(step).map(|r| r.status).unwrap_or_default()
    }

    /// Whether the step is still to run: neither done nor skipped.
    #[must_use]
    pub fn still_to_run(&self, step: &str) -> bool {
        !matches!(self.status(step), StepStatus::Done | StepStatus::Skipped)
    }

    /// The attempt number the step's next start will carry.
    #[must_use]
    pub fn next_attempt(&self, step: &str) -> u32 {
        self.runs.get(step).map_or(0, |r| r.attempts) + 1
    }

    #[must_use]
    pub fn rolling_back(&self) -> bool {
        self.rolling_back
    }

    /// Steps seen to start and never to finish.
    #[must_use]
    pub fn running(&self) -> Vec<String> {
        self.steps.iter().filter(|(id, ..)| self.status(id) == StepStatus::Running).map(|(id, ..)| id.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::parse;

    const RUNBOOK: &str = r#"
name = "t"
[endpoints]
db = { kind = "postgres" }
[[phase]]
name = "One"
[[phase.step]]
name = "check"
check = { on = "db", sql = "select 1", expect = "1" }
[[phase.step]]
name = "change"
sql = { on = "db", run = ["update t set x = 1"] }
on_failure = "retry 2 then rollback"
[[phase.step]]
name = "wait"
wait = { until = "lag_bytes(db) < 1MB" }
[[phase.step]]
name = "risky"
sql = { on = "db", run = ["drop table t"] }
on_failure = "rollback"
[[phase.step]]
name = "last"
sql = { on = "db", run = ["select 1"] }
[[phase.step]]
name = "promote"
check = { on = "db", sql = "SELECT pg_promote(true, 60)", expect = "t" }
destructive = true
[[phase]]
name = "Back"
rollback = true
[[phase.step]]
name = "undo"
sql = { on = "db", run = ["create table t ()"] }
"#;

    fn steps() -> Vec<StepDef> {
        parse("t.toml", RUNBOOK).unwrap().steps
    }

    fn started(step: &str, attempt: u32) -> RunEvent {
        RunEvent::StepStarted { step: step.into(), attempt }
    }

    fn finished(step: &str, attempt: u32, ok: bool) -> RunEvent {
        RunEvent::StepFinished { step: step.into(), attempt, ok, summary: if ok { "ok" } else { "boom" }.into() }
    }

    #[test]
    fn steps_run_in_order_and_the_run_completes() {
        let mut e = Engine::new(&steps());
        for id in ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6"] {
            assert_eq!(e.next(), Next::Run(id.into()));
            e.apply(&started(id, 1));
            assert_eq!(e.next(), Next::Running(id.into()));
            e.apply(&finished(id, 1, true));
        }
        assert_eq!(e.next(), Next::Over(RunOutcome::Completed), "the rollback phase is not run");
    }

    #[test]
    fn a_failed_check_stops_for_the_operator() {
        let mut e = Engine::new(&steps());
        e.apply(&started("1.1", 1));
        e.apply(&finished("1.1", 1, false));
        assert_eq!(e.next(), Next::Decide("1.1".into(), Hold::Failed));
        e.apply(&RunEvent::Rerun { step: "1.1".into(), operator: "ann".into() });
        assert_eq!(e.next(), Next::Run("1.1".into()));
        assert_eq!(e.next_attempt("1.1"), 1);
    }

    #[test]
    fn retries_are_counted_then_the_policy_rolls_back() {
        let mut e = Engine::replay(&steps(), &[started("1.1", 1), finished("1.1", 1, true)]);
        for attempt in 1..=3 {
            assert_eq!(e.next(), Next::Run("1.2".into()), "attempt {attempt}");
            assert_eq!(e.next_attempt("1.2"), attempt);
            e.apply(&started("1.2", attempt));
            e.apply(&finished("1.2", attempt, false));
        }
        assert!(e.rolling_back());
        assert_eq!(e.next(), Next::Run("R.1".into()));
        e.apply(&started("R.1", 1));
        e.apply(&finished("R.1", 1, true));
        assert_eq!(e.next(), Next::Over(RunOutcome::RolledBack));
    }

    #[test]
    fn rollback_is_reachable_from_anywhere() {
        let mut e = Engine::new(&steps());
        e.apply(&RunEvent::Rollback { operator: "ann".into(), reason: "app errors".into() });
        assert_eq!(e.next(), Next::Run("R.1".into()));
    }

    #[test]
    fn an_interrupted_change_waits_for_the_operator_but_an_interrupted_wait_runs_again() {
        let done: Vec<RunEvent> =
            ["1.1", "1.2"].iter().flat_map(|id| [started(id, 1), finished(id, 1, true)]).collect();
        let mut e = Engine::replay(&steps(), &done);
        e.apply(&started("1.3", 1));
        assert_eq!(e.running(), vec!["1.3".to_owned()]);
        e.apply(&RunEvent::Interrupted { step: "1.3".into() });
        assert_eq!(e.next(), Next::Run("1.3".into()), "a wait only reads");
        e.apply(&started("1.3", 2));
        e.apply(&finished("1.3", 2, true));
        e.apply(&started("1.4", 1));
        e.apply(&RunEvent::Interrupted { step: "1.4".into() });
        assert_eq!(e.next(), Next::Decide("1.4".into(), Hold::Interrupted));
        e.apply(&RunEvent::Skipped { step: "1.4".into(), operator: "ann".into(), reason: "done by hand".into() });
        assert_eq!(e.next(), Next::Run("1.5".into()));
    }

    #[test]
    fn an_interrupted_destructive_check_is_held_like_any_change() {
        let done: Vec<RunEvent> =
            ["1.1", "1.2", "1.3", "1.4", "1.5"].iter().flat_map(|id| [started(id, 1), finished(id, 1, true)]).collect();
        let mut e = Engine::replay(&steps(), &done);
        e.apply(&started("1.6", 1));
        e.apply(&RunEvent::Interrupted { step: "1.6".into() });
        assert_eq!(e.next(), Next::Decide("1.6".into(), Hold::Interrupted), "pg_promote() is not a read");
        e.apply(&started("1.1", 2));
        e.apply(&RunEvent::Interrupted { step: "1.1".into() });
        assert_eq!(e.next(), Next::Run("1.1".into()), "a check that is not destructive only reads");
    }

    fn stopped(step: &str, attempt: u32, why: StopReason, state: StopState) -> RunEvent {
        RunEvent::StepStopped { step: step.into(), attempt, why, state, summary: "stopped".into() }
    }

    #[test]
    fn a_change_stopped_by_a_quit_is_held_and_a_read_is_run_again() {
        let done: Vec<RunEvent> =
            ["1.1", "1.2"].iter().flat_map(|id| [started(id, 1), finished(id, 1, true)]).collect();
        let mut e = Engine::replay(&steps(), &done);
        e.apply(&started("1.3", 1));
        e.apply(&stopped("1.3", 1, StopReason::Quit, StopState::Stopped));
        assert_eq!(e.next(), Next::Run("1.3".into()), "a wait only reads");
        e.apply(&started("1.3", 2));
        e.apply(&finished("1.3", 2, true));
        e.apply(&started("1.4", 1));
        e.apply(&stopped("1.4", 1, StopReason::Quit, StopState::Stopped));
        assert_eq!(e.next(), Next::Decide("1.4".into(), Hold::Stopped(StopState::Stopped)));
        e.apply(&RunEvent::Rerun { step: "1.4".into(), operator: "ann".into() });
        assert_eq!(e.next(), Next::Run("1.4".into()));
        e.apply(&started("1.4", 1));
        e.apply(&stopped("1.4", 1, StopReason::Timeout, StopState::StillRunning));
        assert_eq!(e.next(), Next::Decide("1.4".into(), Hold::Stopped(StopState::StillRunning)));
        assert!(!e.rolling_back(), "nothing rolls back beside a step that may still run");
    }

    #[test]
    fn a_timed_out_change_is_not_retried_by_itself_but_its_rollback_policy_holds() {
        let mut e = Engine::replay(&steps(), &[started("1.1", 1), finished("1.1", 1, true)]);
        // 1.2: "retry 2 then rollback", but a timeout is not retried.
        e.apply(&started("1.2", 1));
        e.apply(&stopped("1.2", 1, StopReason::Timeout, StopState::Stopped));
        assert_eq!(e.next(), Next::Decide("1.2".into(), Hold::Failed));
        // A cancelled read with no retry policy stops like any failure.
        let mut e = Engine::new(&steps());
        e.apply(&started("1.1", 1));
        e.apply(&stopped("1.1", 1, StopReason::Cancel, StopState::Stopped));
        assert_eq!(e.next(), Next::Decide("1.1".into(), Hold::Failed), "1.1 has no retry policy");
        // 1.4: "rollback" on failure: a cancelled 1.4 rolls back.
        let done: Vec<RunEvent> =
            ["1.1", "1.2", "1.3"].iter().flat_map(|id| [started(id, 1), finished(id, 1, true)]).collect();
        let mut e = Engine::replay(&steps(), &done);
        e.apply(&started("1.4", 1));
        e.apply(&stopped("1.4", 1, StopReason::Cancel, StopState::Stopped));
        assert!(e.rolling_back());
        assert_eq!(e.next(), Next::Run("R.1".into()));
    }

    #[test]
    fn a_finished_run_stays_finished() {
        let mut e = Engine::new(&steps());
        e.apply(&RunEvent::Finished { outcome: RunOutcome::Completed });
        assert_eq!(e.next(), Next::Over(RunOutcome::Completed));
    }
}
