//! The engine's decisions as pure functions: from the run's state (an
//! [`Engine`]), an operator's input or the end of an attempt, and the
//! gauges, to the events to journal. The real run and the simulated one
//! both journal exactly these, so each rule — the gate at confirmation, the
//! typed name of a destructive step, re-run and skip of a held step, the
//! rollback a failure's policy calls for — is written once, here, and tested
//! without a database or a clock.

use super::StepDef;
use super::engine::{Engine, Next};
use crate::condition::Gauges;
use crate::events::{OutlineStep, RunCommand, RunEvent};

/// Who journals what cutover decided by itself.
pub const CUTOVER: &str = "cutover";

/// Why a run rolls back when a step's failure policy says so.
#[must_use]
pub fn policy_reason(step: &str) -> String {
    format!("step {step} failed and its policy is to roll back")
}

/// The operator confirms `step`: with `typed` (what they typed, for a
/// destructive step), or `headless` (`--yes`: nobody typed, and the runner
/// waited for the gate already).
pub struct Confirmation<'a> {
    pub step: &'a StepDef,
    /// The step as the screen shows it (what a destructive step asks to type).
    pub outline: Option<&'a OutlineStep>,
    pub typed: Option<String>,
    pub operator: &'a str,
    pub headless: bool,
}

/// What a confirmation journals, and whether the step may start now.
#[derive(Debug, PartialEq)]
pub struct Verdict {
    pub events: Vec<RunEvent>,
    pub start: bool,
}

/// The word a destructive step's confirmation must be typed as: the name of
/// the endpoint it acts on (`yes` when it acts on none). `None`: no typing.
/// The screen asks for the same word: [`OutlineStep::confirm_word`].
#[must_use]
pub fn confirm_word(outline: Option<&OutlineStep>, step: &StepDef) -> Option<String> {
    match outline {
        Some(o) => o.confirm_word(),
        None => step.destructive.then(|| step.action.endpoints().first().map_or("yes", |s| *s).to_owned()),
    }
}

impl Engine {
    /// The step the engine would run next, if it is `step`.
    fn runs_next(&self, step: &str) -> bool {
        matches!(self.next(), Next::Run(next) if next == step)
    }

    /// A confirmation: the gate must hold now (its verdict is journaled), and
    /// a destructive step's word must have been typed. Refused: nothing but
    /// the gate's verdict is journaled, and the step does not start.
    #[must_use]
    pub fn confirm(&self, c: Confirmation<'_>, gauges: &dyn Gauges) -> Verdict {
        let refused = |events| Verdict { events, start: false };
        if !self.runs_next(&c.step.id) {
            return refused(Vec::new());
        }
        let mut events = Vec::new();
        if !c.headless {
            if let Some(gate) = &c.step.gate {
                let verdict = gate.eval(gauges);
                events.push(RunEvent::Gate { step: c.step.id.clone(), holds: verdict.holds, reason: verdict.reason });
                if !verdict.holds {
                    return refused(events);
                }
            }
            if let Some(word) = confirm_word(c.outline, c.step) {
                if c.typed.as_deref() != Some(word.as_str()) {
                    return refused(events);
                }
            }
        }
        events.push(RunEvent::Confirmed {
            step: c.step.id.clone(),
            operator: c.operator.to_owned(),
            typed: if c.headless { None } else { c.typed },
            headless: c.headless,
        });
        Verdict { events, start: true }
    }

    /// The operator's answer to a held step, or a rollback asked for: the
    /// events it journals (none when it does not apply now).
    #[must_use]
    pub fn command(&self, command: &RunCommand, operator: &str) -> Vec<RunEvent> {
        let operator = operator.to_owned();
        match (command, self.next()) {
            (RunCommand::Rerun { step }, Next::Decide(held, _)) if *step == held => {
                vec![RunEvent::Rerun { step: held, operator }]
            }
            (RunCommand::Skip { step }, Next::Decide(held, hold)) if *step == held => {
                let reason = format!("the operator chose to skip it after it {}", hold.why());
                vec![RunEvent::Skipped { step: held, operator, reason }]
            }
            (RunCommand::Rollback, Next::Run(_) | Next::Decide(..)) if !self.rolling_back() => {
                vec![RunEvent::Rollback { operator, reason: "the operator chose to roll back".to_owned() }]
            }
            _ => Vec::new(),
        }
    }

    /// An attempt ended with `result` (a `step_finished` or `step_stopped`):
    /// it, then the rollback its step's policy calls for, if this is what
    /// starts the rollback (`reason` says why).
    #[must_use]
    pub fn ended(&self, result: RunEvent, reason: impl FnOnce() -> String) -> Vec<RunEvent> {
        let mut after = self.clone();
        after.apply(&result);
        let rolls_back = after.rolling_back() && !self.rolling_back();
        let mut events = vec![result];
        if rolls_back {
            events.push(RunEvent::Rollback { operator: CUTOVER.to_owned(), reason: reason() });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Gauge;
    use crate::runbook::engine::Hold;

    const RUNBOOK: &str = r#"
name = "d"
[endpoints]
db = { kind = "postgres" }
[[phase]]
name = "One"
[[phase.step]]
name = "Gated"
sql  = { on = "db", run = ["SELECT 1"] }
gate = "lag_bytes(db) < 1MB"
[[phase.step]]
name = "Drop"
sql  = { on = "db", run = ["DROP TABLE t"] }
destructive = true
on_failure = "rollback"
[[phase]]
name = "Rollback"
rollback = true
[[phase.step]]
name = "Undo"
sql  = { on = "db", run = ["SELECT 2"] }
"#;

    /// Gauges with one lag figure.
    struct Lag(Result<f64, String>);
    impl Gauges for Lag {
        fn value(&self, gauge: Gauge, _: Option<&str>) -> Result<f64, String> {
            match gauge {
                Gauge::LagBytes => self.0.clone(),
                _ => Err("no such figure".to_owned()),
            }
        }
    }

    fn runbook() -> crate::runbook::Runbook {
        crate::runbook::parse("d.toml", RUNBOOK).unwrap()
    }

    fn confirm<'a>(rb: &'a crate::runbook::Runbook, id: &str, typed: Option<&str>) -> Confirmation<'a> {
        Confirmation {
            step: rb.step(id).unwrap(),
            outline: rb.outline.step(id),
            typed: typed.map(str::to_owned),
            operator: "ann",
            headless: false,
        }
    }

    fn done(engine: &mut Engine, step: &str) {
        engine.apply(&RunEvent::StepStarted { step: step.into(), attempt: 1 });
        engine.apply(&RunEvent::StepFinished { step: step.into(), attempt: 1, ok: true, summary: String::new() });
    }

    #[test]
    fn a_closed_gate_refuses_the_confirmation_and_says_why() {
        let rb = runbook();
        let engine = Engine::new(&rb.steps);
        let shut = engine.confirm(confirm(&rb, "1.1", None), &Lag(Ok(5e6)));
        assert!(!shut.start);
        assert!(matches!(&shut.events[..], [RunEvent::Gate { holds: false, .. }]), "{:?}", shut.events);
        let unknown = engine.confirm(confirm(&rb, "1.1", None), &Lag(Err("db is unreachable".into())));
        assert!(!unknown.start, "an unknown figure never opens a gate");
        let open = engine.confirm(confirm(&rb, "1.1", None), &Lag(Ok(10.0)));
        assert!(open.start);
        assert!(matches!(&open.events[..], [RunEvent::Gate { holds: true, .. }, RunEvent::Confirmed { .. }]));
    }

    #[test]
    fn a_destructive_step_starts_only_with_its_endpoint_typed() {
        let rb = runbook();
        let mut engine = Engine::new(&rb.steps);
        done(&mut engine, "1.1");
        assert_eq!(confirm_word(rb.outline.step("1.2"), rb.step("1.2").unwrap()).as_deref(), Some("db"));
        for wrong in [None, Some("yes"), Some("DB")] {
            let v = engine.confirm(confirm(&rb, "1.2", wrong), &Lag(Ok(0.0)));
            assert!(!v.start && v.events.is_empty(), "{wrong:?}");
        }
        let v = engine.confirm(confirm(&rb, "1.2", Some("db")), &Lag(Ok(0.0)));
        assert!(v.start);
        assert!(matches!(&v.events[..], [RunEvent::Confirmed { typed: Some(t), headless: false, .. }] if t == "db"));
    }

    #[test]
    fn only_the_next_step_can_be_confirmed() {
        let rb = runbook();
        let engine = Engine::new(&rb.steps);
        let v = engine.confirm(confirm(&rb, "1.2", Some("db")), &Lag(Ok(0.0)));
        assert_eq!(v, Verdict { events: Vec::new(), start: false });
    }

    #[test]
    fn headless_confirms_without_typing_and_says_so() {
        let rb = runbook();
        let mut engine = Engine::new(&rb.steps);
        done(&mut engine, "1.1");
        let mut c = confirm(&rb, "1.2", Some("anything"));
        c.headless = true;
        let v = engine.confirm(c, &Lag(Ok(0.0)));
        assert!(v.start);
        assert!(matches!(&v.events[..], [RunEvent::Confirmed { typed: None, headless: true, .. }]));
    }

    #[test]
    fn a_failure_whose_policy_is_rollback_journals_the_rollback_once() {
        let rb = runbook();
        let mut engine = Engine::new(&rb.steps);
        done(&mut engine, "1.1");
        engine.apply(&RunEvent::StepStarted { step: "1.2".into(), attempt: 1 });
        let failed = RunEvent::StepFinished { step: "1.2".into(), attempt: 1, ok: false, summary: "no".into() };
        let events = engine.ended(failed.clone(), || "1.2 failed".to_owned());
        assert_eq!(events.len(), 2);
        assert!(
            matches!(&events[1], RunEvent::Rollback { operator, reason } if operator == CUTOVER && reason == "1.2 failed")
        );
        for e in &events {
            engine.apply(e);
        }
        assert_eq!(engine.next(), Next::Run("R.1".into()));
        // A rollback step failing does not start another rollback.
        engine.apply(&RunEvent::StepStarted { step: "R.1".into(), attempt: 1 });
        let undo = RunEvent::StepFinished { step: "R.1".into(), attempt: 1, ok: false, summary: "no".into() };
        assert_eq!(engine.ended(undo, || unreachable!()).len(), 1);
    }

    #[test]
    fn held_steps_are_rerun_or_skipped_only_when_held() {
        let rb = runbook();
        let mut engine = Engine::new(&rb.steps);
        assert!(engine.command(&RunCommand::Rerun { step: "1.1".into() }, "ann").is_empty());
        engine.apply(&RunEvent::StepStarted { step: "1.1".into(), attempt: 1 });
        engine.apply(&RunEvent::Interrupted { step: "1.1".into() });
        assert!(matches!(engine.next(), Next::Decide(_, Hold::Interrupted)));
        assert!(engine.command(&RunCommand::Skip { step: "1.2".into() }, "ann").is_empty());
        let skip = engine.command(&RunCommand::Skip { step: "1.1".into() }, "ann");
        assert!(matches!(&skip[..], [RunEvent::Skipped { reason, .. }] if reason.contains("was interrupted")));
        let rerun = engine.command(&RunCommand::Rerun { step: "1.1".into() }, "ann");
        assert!(matches!(&rerun[..], [RunEvent::Rerun { operator, .. }] if operator == "ann"));
        let back = engine.command(&RunCommand::Rollback, "ann");
        assert!(matches!(&back[..], [RunEvent::Rollback { .. }]));
        engine.apply(&back[0]);
        assert!(engine.command(&RunCommand::Rollback, "ann").is_empty(), "once");
    }
}
