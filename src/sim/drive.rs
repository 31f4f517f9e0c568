//! `cutover demo --interactive`: the demo runbook run by the operator against
//! the simulator — the same engine, prompts, gates and rollback as a real
//! run, with steps that act on nothing (they say what they would have run).
//! The scenario's faults still come on their schedule: that is the drill.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Simulator;
use crate::condition::Gauges;
use crate::events::{Awaiting, RunCommand, RunEvent, StopReason, StopState};
use crate::journal::Feed;
use crate::runbook::decide::{Confirmation, policy_reason};
use crate::runbook::engine::{Engine, Hold, Next};
use crate::runbook::plan::Resolved;
use crate::runbook::{Runbook, StepDef, plan};

/// How long a simulated statement, command or manual step takes.
const STEP_SECONDS: f64 = 2.0;

struct Running {
    step: StepDef,
    attempt: u32,
    since: f64,
    held_since: Option<f64>,
}

/// The simulated run.
pub struct Drive {
    sim: Simulator,
    runbook: Runbook,
    shows: HashMap<String, Vec<String>>,
    actions: HashMap<String, Resolved>,
    engine: Engine,
    operator: String,
    running: Option<Running>,
    awaiting: Option<Awaiting>,
    feed: Feed,
}

/// The inventory the demo runbook is resolved against: the simulator's servers.
fn inventory(runbook: &Runbook) -> color_eyre::Result<crate::inventory::Inventory> {
    let mut text = String::from("name = \"simulator\"\n");
    for (name, kind) in &runbook.endpoints {
        let (port, db) = if kind == "pgbouncer" { (6432, "pgbouncer") } else { (5432, "app") };
        text.push_str(&format!(
            "[endpoints.{name}]\nkind = \"{kind}\"\ndsn = \"host={name}.sim port={port} user=cutover dbname={db}\"\n"
        ));
    }
    crate::inventory::parse("simulator", &text, &|_| None)
        .map_err(|e| color_eyre::eyre::eyre!("{}", crate::runbook::render(&e)))
}

impl Drive {
    /// # Errors
    /// The runbook does not resolve against the simulator's servers.
    pub fn new(sim: Simulator, runbook: Runbook, operator: String, feed: Feed) -> color_eyre::Result<Self> {
        let inv = inventory(&runbook)?;
        let env = |_: &str| None;
        let bindings =
            plan::Bindings { inventory: &inv, overrides: &[], from_env: &[], operator: &operator, env: &env };
        let planned = plan::scope(&runbook, &bindings)
            .and_then(|scope| plan::resolve(&runbook, &scope, &inv))
            .map_err(|e| color_eyre::eyre::eyre!("{}", crate::runbook::render(&e)))?;
        let engine = Engine::new(&runbook.steps);
        Ok(Self {
            sim,
            shows: planned.iter().map(|p| (p.id.clone(), p.shows.clone())).collect(),
            actions: planned.into_iter().map(|p| (p.id, p.action)).collect(),
            runbook,
            engine,
            operator,
            running: None,
            awaiting: None,
            feed: feed.folding(),
        })
    }

    async fn record(&mut self, event: RunEvent) -> bool {
        self.engine.apply(&event);
        if let RunEvent::StepStarted { step, .. } = &event {
            self.sim.step_started(step);
        }
        self.feed.event(self.sim.now(), event).await
    }

    /// Journal each event; `false` once the screen is gone.
    async fn record_all(&mut self, events: Vec<RunEvent>) -> bool {
        let mut alive = true;
        for event in events {
            alive &= self.record(event).await;
        }
        alive
    }

    /// Play until the screen goes away.
    pub async fn run(mut self, interval: Duration, speed: f64, mut commands: mpsc::Receiver<RunCommand>) {
        let mut ticker = tokio::time::interval(interval.div_f64(speed.max(0.01)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for action in self.sim.begin() {
            self.feed.show(action).await;
        }
        let started = super::started(&self.runbook.outline, &self.operator, false);
        let planned: Vec<(String, Vec<String>)> = self.shows.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if !self.record(started).await {
            return;
        }
        for (step, shows) in planned {
            self.record(RunEvent::Planned { step, shows }).await;
        }
        loop {
            let alive = tokio::select! {
                _ = ticker.tick() => self.tick(interval).await,
                command = commands.recv() => match command {
                    Some(c) => self.command(c).await,
                    None => false,
                },
            };
            if !alive {
                return;
            }
            self.announce().await;
        }
    }

    async fn tick(&mut self, interval: Duration) -> bool {
        super::tick(&mut self.sim, interval, &mut self.feed).await && self.progress().await
    }

    /// Tell the screen what the run waits for, when that changed.
    async fn announce(&mut self) {
        let awaiting = match (&self.running, self.engine.next()) {
            (Some(r), _) => Awaiting::Running { step: r.step.id.clone() },
            (None, Next::Run(step)) => Awaiting::Confirm { step },
            (None, Next::Running(step)) => Awaiting::Running { step },
            (None, Next::Decide(step, hold)) => Awaiting::Decide {
                step,
                why: if hold == Hold::Failed { "failed" } else { "was interrupted" }.to_owned(),
            },
            (None, Next::Over(outcome)) => Awaiting::Over { outcome },
        };
        if self.awaiting.as_ref() != Some(&awaiting) {
            if let Awaiting::Over { outcome } = awaiting {
                self.record(RunEvent::Finished { outcome }).await;
            }
            self.awaiting = Some(awaiting.clone());
            self.record(RunEvent::Awaiting { awaiting }).await;
        }
    }

    async fn command(&mut self, command: RunCommand) -> bool {
        let operator = self.operator.clone();
        match (command, self.engine.next()) {
            (RunCommand::Confirm { step, typed }, Next::Run(next)) if step == next && self.running.is_none() => {
                let Some(def) = self.runbook.step(&step).cloned() else { return true };
                let c = Confirmation {
                    step: &def,
                    outline: self.runbook.outline.step(&step),
                    typed,
                    operator: &operator,
                    headless: false,
                };
                let verdict = self.engine.confirm(c, &self.feed.gauges);
                let alive = self.record_all(verdict.events).await;
                if !alive || !verdict.start {
                    return alive;
                }
                let attempt = self.engine.next_attempt(&step);
                self.record(RunEvent::StepStarted { step: step.clone(), attempt }).await;
                for line in self.shows.get(&step).cloned().unwrap_or_default() {
                    self.record(RunEvent::Output { step: step.clone(), text: format!("(simulated) {line}") }).await;
                }
                self.running = Some(Running { step: def, attempt, since: self.sim.elapsed(), held_since: None });
                true
            }
            (RunCommand::Cancel, _) => {
                let Some(r) = self.running.take() else { return true };
                // As a real run's cancel: stopped, and its policy applies.
                let result = RunEvent::StepStopped {
                    step: r.step.id.clone(),
                    attempt: r.attempt,
                    why: StopReason::Cancel,
                    state: StopState::Stopped,
                    summary: format!("cancelled by {operator}: stopped"),
                };
                let events = self.engine.ended(result, || policy_reason(&r.step.id));
                self.record_all(events).await
            }
            (command @ (RunCommand::Rollback | RunCommand::Rerun { .. } | RunCommand::Skip { .. }), _)
                if self.running.is_none() =>
            {
                let events = self.engine.command(&command, &operator);
                self.record_all(events).await
            }
            _ => true,
        }
    }

    /// Move the running step on: simulated work takes a moment; waits and
    /// verification follow the simulated gauges.
    async fn progress(&mut self) -> bool {
        let Some(running) = &mut self.running else { return true };
        let t = self.sim.elapsed();
        let age = t - running.since;
        let timed_out = running.step.timeout.is_some_and(|limit| age >= limit.as_secs_f64());
        let finished: Option<(bool, String)> = match self.actions.get(&running.step.id) {
            Some(Resolved::WaitCondition { until, hold_for }) => {
                let verdict = until.eval(&self.feed.gauges);
                if verdict.holds {
                    let since = *running.held_since.get_or_insert(t);
                    (t - since >= hold_for.as_secs_f64()).then_some((true, verdict.reason))
                } else {
                    running.held_since = None;
                    timed_out.then(|| (false, format!("timed out: {}", verdict.reason)))
                }
            }
            Some(Resolved::CheckCondition(c)) => {
                let verdict = c.eval(&self.feed.gauges);
                Some((verdict.holds, verdict.reason))
            }
            Some(Resolved::Verify { .. }) => {
                match self.feed.gauges.value(crate::condition::Gauge::VerifyDifferences, None) {
                    Ok(0.0) => Some((true, "every table equal".to_owned())),
                    Ok(n) => Some((false, format!("{n} differences"))),
                    Err(_) if self.feed.gauges.checksum.is_none() && age >= 5.0 => {
                        Some((true, "(simulated) equal".to_owned()))
                    }
                    Err(_) => None,
                }
            }
            // A statement on a server that does not answer fails, as it would for real.
            _ => (age >= STEP_SECONDS).then(|| {
                let down = running.step.action.endpoints().into_iter().find_map(|e| Some((e, self.sim.down(e)?)));
                match down {
                    Some((endpoint, error)) => (false, format!("(simulated) {endpoint}: {error}")),
                    None => (true, "done (simulated)".to_owned()),
                }
            }),
        };
        let Some((ok, summary)) = finished else { return true };
        let Some(r) = self.running.take() else { return true };
        let result = RunEvent::StepFinished { step: r.step.id.clone(), attempt: r.attempt, ok, summary };
        let events = self.engine.ended(result, || policy_reason(&r.step.id));
        self.record_all(events).await
    }
}
