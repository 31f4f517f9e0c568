//! The runbook engine as a pure state machine: it folds the run's events
//! (from a live run or a journal read back) and says what comes next. It runs
//! nothing itself, so every rule — gates aside, which need the gauges — is
//! tested without a database or a clock.

use std::collections::HashMap;

use super::{OnFailure, StepDef};
use crate::events::{RunEvent, RunOutcome, StepStatus};

/// Why a step waits for the operator instead of running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Started but never seen to finish: it may or may not have taken effect.
    Interrupted,
    /// Failed, with no retries left, and its policy is to stop.
    Failed,
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
}

/// A run's state: each step's status, and whether it is rolling back.
#[derive(Clone, Debug)]
pub struct Engine {
    steps: Vec<(String, bool, OnFailure, bool)>,
    runs: HashMap<String, StepRun>,
    rolling_back: bool,
    outcome: Option<RunOutcome>,
}

impl Engine {
    #[must_use]
    pub fn new(steps: &[StepDef]) -> Self {
        Self {
            steps: steps.iter().map(|s| (s.id.clone(), s.rollback, s.on_failure, s.reads_only())).collect(),
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
                match self.policy(step) {
                    OnFailure::Retry { times, then_rollback } if attempts > times && then_rollback => {
                        self.rolling_back = true;
                    }
                    OnFailure::Rollback => self.rolling_back = true,
                    OnFailure::Retry { .. } | OnFailure::Stop => {}
                }
            }
            RunEvent::Interrupted { step } => {
                self.runs.entry(step.clone()).or_default().status = StepStatus::Interrupted
            }
            RunEvent::Rerun { step, .. } => {
                let run = self.runs.entry(step.clone()).or_default();
                run.status = StepStatus::Pending;
                run.attempts = 0;
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
            | RunEvent::Paused { .. }
            | RunEvent::Sample { .. }
            | RunEvent::Checksum { .. } => {}
        }
    }

    /// What comes next.
    #[must_use]
    pub fn next(&self) -> Next {
        if let Some(outcome) = self.outcome {
            return Next::Over(outcome);
        }
        for (id, rollback, policy, reads_only) in &self.steps {
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
                StepStatus::Interrupted => return Next::Decide(id.clone(), Hold::Interrupted),
                StepStatus::Failed => {
                    return match policy {
                        OnFailure::Retry { times, .. } if run.attempts <= *times => Next::Run(id.clone()),
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

    #[test]
    fn a_finished_run_stays_finished() {
        let mut e = Engine::new(&steps());
        e.apply(&RunEvent::Finished { outcome: RunOutcome::Completed });
        assert_eq!(e.next(), Next::Over(RunOutcome::Completed));
    }
}
