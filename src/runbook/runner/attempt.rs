//! One step's turn: whether its `when` says it is needed, its gate waited
//! for (unattended), and its attempt run to its end under its timeout, the
//! operator's cancel, the quit and the pause's budget — a step told to stop
//! is stopped for real and followed to its end, up to a bound.

use std::time::Duration;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::{mpsc, watch};

use super::Runner;
use super::pause::budget_reason;
use crate::events::{Action, RunCommand, RunEvent, StopReason, StopState};
use crate::runbook::StepDef;
use crate::runbook::exec::Outcome;
use crate::runbook::execute::{Execute, Job};

/// How a step's attempt ended.
pub(super) enum Ended {
    Finished(Outcome),
    Stopped { why: StopReason, state: StopState, summary: String },
}

/// The reason to quit, once there is one (never, without a quitter).
pub(super) async fn quit_asked(quit: &mut Option<watch::Receiver<Option<String>>>) -> String {
    if let Some(quit) = quit {
        loop {
            if let Some(why) = quit.borrow_and_update().clone() {
                return why;
            }
            if quit.changed().await.is_err() {
                break;
            }
        }
    }
    std::future::pending().await
}

impl<X: Execute> Runner<X> {
    /// The step's `when`, read now: `false` when it says the step is not
    /// needed (journaled as skipped, with what it read) or cannot be read
    /// (the step fails: never guess whether a step of a cutover applies).
    pub(super) async fn needed(&mut self, step: &StepDef) -> Result<bool> {
        let Some(when) = self.planned.get(&step.id).and_then(|p| p.when.clone()) else { return Ok(true) };
        match self.exec.guard(&when).await {
            Ok((true, _)) => Ok(true),
            Ok((false, read)) => {
                let reason = format!("not needed: its `when` {read}");
                self.record(RunEvent::Skipped { step: step.id.clone(), operator: "cutover".to_owned(), reason })?;
                Ok(false)
            }
            Err(e) => {
                let attempt = self.engine.next_attempt(&step.id);
                self.record(RunEvent::StepStarted { step: step.id.clone(), attempt })?;
                let summary = format!("could not tell whether the step is needed: {e}");
                self.record(RunEvent::StepFinished { step: step.id.clone(), attempt, ok: false, summary })?;
                Ok(false)
            }
        }
    }

    /// Unattended: wait for a closed gate to open, up to the step's timeout
    /// (or the run's gate wait, [`super::GATE_WAIT`] unless a fleet says otherwise). A gate that never opens fails the step.
    pub(super) async fn gate_opens(&mut self, step: &StepDef, samples: &mut mpsc::Receiver<Action>) -> Result<bool> {
        let Some(gate) = step.gate.clone() else { return Ok(true) };
        let limit = step.timeout.unwrap_or(self.gate_wait).min(self.gate_wait);
        let deadline = tokio::time::Instant::now() + limit;
        let mut said: Option<bool> = None;
        loop {
            let verdict =
                self.sink.gauges.lock().map(|s| gate.eval(&*s)).map_err(|_| eyre!("the gauges are unavailable"))?;
            if said != Some(verdict.holds) {
                said = Some(verdict.holds);
                self.record(RunEvent::Gate {
                    step: step.id.clone(),
                    holds: verdict.holds,
                    reason: verdict.reason.clone(),
                })?;
            }
            if verdict.holds {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                let attempt = self.engine.next_attempt(&step.id);
                self.record(RunEvent::StepFinished {
                    step: step.id.clone(),
                    attempt,
                    ok: false,
                    summary: format!(
                        "the gate stayed closed for {}: {}",
                        crate::format::coarse(limit.as_secs_f64()),
                        verdict.reason
                    ),
                })?;
                return Ok(false);
            }
            if self.quitting().is_some() || self.pause.budget_out().is_some() {
                return Ok(false);
            }
            if let Ok(Some(action)) = tokio::time::timeout(crate::runbook::exec::POLL, samples.recv()).await {
                self.sink.take(action)?;
            }
        }
    }

    /// Start, run with its timeout (and the operator's cancel, and the quit),
    /// journal everything the step says. A step told to stop is stopped for
    /// real and followed to its end, up to a bound: its statement cancelled
    /// or its process group sent SIGTERM, then SIGKILL; then what became of it.
    pub(super) async fn execute(&mut self, step: &StepDef, samples: &mut mpsc::Receiver<Action>) -> Result<Ended> {
        let attempt = self.engine.next_attempt(&step.id);
        self.record(RunEvent::StepStarted { step: step.id.clone(), attempt })?;
        let Some(planned) = self.planned.get(&step.id).cloned() else {
            return Ok(Ended::Finished(Outcome { ok: false, summary: "the step was not planned".to_owned() }));
        };
        let limit = step.timeout.unwrap_or(Duration::from_secs(30 * 86_400));
        let deadline = tokio::time::Instant::now() + limit;
        let mut commands = self.commands.take();
        let mut quit = self.quit.take();
        let stopper = self.exec.stopper();
        let reads_only = step.reads_only();
        // The pause's budget stops any step but the one that resumes.
        let resumes = matches!(
            &planned.action,
            crate::runbook::plan::Resolved::Pooler { op: crate::runbook::pooler::Op::Resume(_), .. }
        );
        let budget = self.pause.deadline.filter(|_| !resumes);
        let ended = {
            let job = Job {
                step: &step.id,
                run: &self.run_id,
                action: &planned.action,
                shows: &planned.shows,
                endpoints: step.action.endpoints(),
                timeout: step.timeout,
                read_only: reads_only,
                transaction: step.transaction,
            };
            let run = self.exec.run(job);
            tokio::pin!(run);
            let stop = loop {
                tokio::select! {
                    outcome = &mut run => break Ok(outcome),
                    () = tokio::time::sleep_until(deadline) => {
                        break Err((StopReason::Timeout, format!("timed out after {}", crate::format::coarse(limit.as_secs_f64()))));
                    }
                    command = async { commands.as_mut()?.recv().await }, if commands.is_some() => match command {
                        Some(RunCommand::Cancel) => break Err((StopReason::Cancel, format!("cancelled by {}", self.operator))),
                        Some(_) => {}
                        // The cockpit is gone with the operator's keys: as a quit.
                        None => break Err((StopReason::Quit, "the operator left the cockpit".to_owned())),
                    },
                    why = quit_asked(&mut quit) => break Err((StopReason::Quit, format!("cutover quit: {why}"))),
                    () = async {
                        match budget {
                            Some((at, _)) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    } => {
                        let budget = budget.map(|(_, b)| b).unwrap_or_default();
                        break Err((StopReason::Timeout, budget_reason(budget)));
                    }
                    Some(e) = self.emitted.recv() => self.sink.emitted(&step.id, e)?,
                    Some(action) = samples.recv() => self.sink.take(action)?,
                }
            };
            match stop {
                Ok(outcome) => Ended::Finished(outcome),
                Err((why, said)) => {
                    if self.sink.prints() {
                        eprintln!(
                            "cutover: stopping step {} ({said}); waiting up to {}s for it to end",
                            step.id,
                            (crate::runbook::stop::GRACE + crate::runbook::stop::KILL_GRACE).as_secs()
                        );
                    }
                    stopper.interrupt().await;
                    let mut ended = None;
                    for (grace, then_kill) in
                        [(crate::runbook::stop::GRACE, true), (crate::runbook::stop::KILL_GRACE, false)]
                    {
                        let until = tokio::time::Instant::now() + grace;
                        loop {
                            tokio::select! {
                                outcome = &mut run => { ended = Some(outcome); break; }
                                () = tokio::time::sleep_until(until) => break,
                                Some(e) = self.emitted.recv() => self.sink.emitted(&step.id, e)?,
                                Some(action) = samples.recv() => self.sink.take(action)?,
                            }
                        }
                        if ended.is_some() {
                            break;
                        }
                        if then_kill {
                            stopper.kill();
                        }
                    }
                    match ended {
                        // It finished before the stop reached it: as it ended.
                        Some(outcome) if outcome.ok => Ended::Finished(outcome),
                        Some(outcome) => Ended::Stopped {
                            why,
                            state: StopState::Stopped,
                            summary: format!("{said}: {}", outcome.summary),
                        },
                        None => {
                            let state = stopper.state(reads_only).await;
                            let what = match state {
                                StopState::Stopped => "stopped",
                                StopState::StillRunning => "STILL RUNNING",
                                StopState::Unknown => "not seen to stop",
                            };
                            Ended::Stopped { why, state, summary: format!("{said}: {what}") }
                        }
                    }
                }
            }
        };
        self.commands = commands;
        self.quit = quit;
        while let Ok(e) = self.emitted.try_recv() {
            self.sink.emitted(&step.id, e)?;
        }
        Ok(ended)
    }
}
