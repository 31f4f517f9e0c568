//! `cutover demo --interactive`: the demo runbook run by the operator against
//! the simulator, by the same [`Runner`] as `cutover run` — the same prompts,
//! gates, attempts, journal and rollback. Only the world differs: the
//! simulator's servers are watched, and steps act on nothing (they say what
//! they would have run). The scenario's faults still come on their schedule,
//! and a step on a server that is down fails: that is the drill.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::exec::{Emitted, Outcome};
use super::execute::{Clock, Execute, Job};
use super::plan::{self, Resolved};
use super::runner::Runner;
use super::stop::Stopper;
use super::{DEMO_RUNBOOK, Runbook};
use crate::condition::Gauges;
use crate::events::{Action, Outline, RunEvent};
use crate::journal::{Recorder, Writer};
use crate::sim::Simulator;
use crate::state::State;

/// How long a simulated statement, command or manual step takes (simulated seconds).
const STEP_SECONDS: f64 = 2.0;
/// How long a simulated verification with no progress to read takes.
const VERIFY_SECONDS: f64 = 5.0;
/// How often a simulated attempt looks at the simulated world (wall clock).
const LOOK: Duration = Duration::from_millis(10);

/// The simulator's world, shared by what watches it and what acts on it.
pub struct Simulated {
    sim: Arc<Mutex<Simulator>>,
    gauges: Arc<Mutex<State>>,
    out: mpsc::UnboundedSender<Emitted>,
    stopper: Stopper,
    /// Simulated time per sample, and how much faster than the wall it runs.
    interval: Duration,
    speed: f64,
    endpoints: usize,
}

fn failed(summary: impl Into<String>) -> Outcome {
    Outcome { ok: false, summary: summary.into() }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The event that opens a simulated run's journal: the demo runbook, played
/// by the simulator (`headless`) or by an operator.
#[must_use]
pub fn started(outline: &Outline, operator: &str, headless: bool) -> RunEvent {
    RunEvent::Started {
        runbook: DEMO_RUNBOOK.0.to_owned(),
        runbook_sha256: String::new(),
        inventory: None,
        vars: Vec::new(),
        var_env: Vec::new(),
        operator: operator.to_owned(),
        host: "simulator".to_owned(),
        pid: std::process::id(),
        headless,
        allow_manual: false,
        endpoints: std::collections::BTreeMap::new(),
        outline: outline.clone(),
    }
}

/// The inventory the demo runbook is resolved against: the simulator's servers.
fn inventory(runbook: &Runbook, interval: Duration) -> Result<crate::inventory::Inventory> {
    let mut text = String::from("name = \"simulator\"\n");
    for (name, kind) in &runbook.endpoints {
        let (port, db) = if kind == "pgbouncer" { (6432, "pgbouncer") } else { (5432, "app") };
        text.push_str(&format!(
            "[endpoints.{name}]\nkind = \"{kind}\"\ndsn = \"host={name}.sim port={port} user=cutover dbname={db}\"\n"
        ));
    }
    let mut inventory =
        crate::inventory::parse("simulator", &text, &|_| None).map_err(|e| eyre!("{}", super::render(&e)))?;
    inventory.interval = interval;
    Ok(inventory)
}

impl Runner<Simulated> {
    /// A drill: `runbook` run by `operator` against `sim`, `interval` of
    /// simulated time per sample, `speed` times faster than the wall clock.
    /// Recorded (every sample: the interval is the drill's rate bound, and
    /// the replay shows what the operator saw) when a journal is given.
    ///
    /// # Errors
    /// The runbook does not resolve against the simulator's servers; the
    /// journal cannot be written.
    pub fn drill(
        sim: Simulator,
        runbook: Runbook,
        operator: String,
        journal: Option<Writer>,
        interval: Duration,
        speed: f64,
    ) -> Result<Self> {
        let inv = inventory(&runbook, interval)?;
        let env = |_: &str| None;
        let bindings =
            plan::Bindings { inventory: &inv, overrides: &[], from_env: &[], operator: &operator, env: &env };
        let planned = plan::scope(&runbook, &bindings)
            .and_then(|scope| plan::resolve(&runbook, &scope, &inv))
            .map_err(|e| eyre!("{}", super::render(&e)))?;
        let journal = journal.map(|writer| Recorder::new(writer, interval, interval));
        let started = started(&runbook.outline, &operator, false);
        let endpoints = inv.endpoints.len();
        let sim = Arc::new(Mutex::new(sim));
        let mut runner = Self::build(runbook, &inv, planned, journal, operator, Vec::new(), |gauges, out| Simulated {
            sim,
            gauges,
            out,
            stopper: Stopper::default(),
            interval,
            speed: speed.max(0.01),
            endpoints,
        });
        runner.record(started)?;
        runner.record_planned(false)?;
        Ok(runner)
    }
}

impl Simulated {
    /// Where the attempt stands after `age` simulated seconds: `None`, not
    /// over yet. Waits and verification follow the simulated gauges; a
    /// statement on a server that does not answer fails, as it would for real.
    fn look(&self, job: &Job<'_>, age: f64, held: &mut Option<f64>) -> Option<Outcome> {
        let gauges = lock(&self.gauges);
        let timed_out = job.timeout.is_some_and(|limit| age >= limit.as_secs_f64());
        match job.action {
            Resolved::WaitCondition { until, hold_for } => {
                let verdict = until.eval(&*gauges);
                if verdict.holds {
                    let since = *held.get_or_insert(age);
                    (age - since >= hold_for.as_secs_f64()).then_some(Outcome { ok: true, summary: verdict.reason })
                } else {
                    *held = None;
                    timed_out.then(|| failed(format!("timed out: {}", verdict.reason)))
                }
            }
            Resolved::CheckCondition(c) => {
                let verdict = c.eval(&*gauges);
                Some(Outcome { ok: verdict.holds, summary: verdict.reason })
            }
            Resolved::Verify { .. } => match gauges.value(crate::condition::Gauge::VerifyDifferences, None) {
                Ok(0.0) => Some(Outcome { ok: true, summary: "every table equal".to_owned() }),
                Ok(n) => Some(failed(format!("{n} differences"))),
                Err(_) if gauges.checksum.is_none() && age >= VERIFY_SECONDS => {
                    Some(Outcome { ok: true, summary: "(simulated) equal".to_owned() })
                }
                Err(_) => None,
            },
            _ => (age >= STEP_SECONDS).then(|| {
                let sim = lock(&self.sim);
                match job.endpoints.iter().find_map(|e| Some((*e, sim.down(e)?))) {
                    Some((endpoint, error)) => failed(format!("(simulated) {endpoint}: {error}")),
                    None => Outcome { ok: true, summary: "done (simulated)".to_owned() },
                }
            }),
        }
    }
}

impl Execute for Simulated {
    /// Simulated time goes on: every `interval / speed` of wall time,
    /// `interval` of simulated time passes, and what the simulator observed
    /// goes to the run — samples, progress, log lines, the faults that began.
    fn observe(&self, into: &mpsc::Sender<Action>) -> (Vec<JoinHandle<()>>, usize) {
        let (sim, tx, interval) = (self.sim.clone(), into.clone(), self.interval);
        let mut ticker = tokio::time::interval(interval.div_f64(self.speed));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let task = tokio::spawn(async move {
            let first = lock(&sim).begin();
            for action in first {
                if tx.send(action).await.is_err() {
                    return;
                }
            }
            loop {
                // The first tick is immediate: figures are there from the start.
                ticker.tick().await;
                let observed = {
                    let mut sim = lock(&sim);
                    let mut observed = sim.advance(interval);
                    let at = sim.now();
                    observed.extend(sim.take_faults().into_iter().map(|(fault, text)| Action::Fault {
                        at,
                        fault,
                        text,
                    }));
                    observed
                };
                for action in observed {
                    if tx.send(action).await.is_err() {
                        return;
                    }
                }
            }
        });
        (vec![task], self.endpoints)
    }

    fn clock(&self) -> Clock {
        let sim = self.sim.clone();
        Arc::new(move || lock(&sim).now())
    }

    fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    async fn run<'a>(&'a mut self, job: Job<'a>) -> Outcome {
        {
            self.stopper.clear();
            lock(&self.sim).step_started(job.step);
            for line in job.shows {
                let _ = self.out.send(Emitted::Output(format!("(simulated) {line}")));
            }
            let since = lock(&self.sim).elapsed();
            let mut held = None;
            loop {
                if self.stopper.stopping() {
                    return failed("stopped (simulated)");
                }
                let age = lock(&self.sim).elapsed() - since;
                if let Some(outcome) = self.look(&job, age, &mut held) {
                    return outcome;
                }
                tokio::time::sleep(LOOK).await;
            }
        }
    }

    fn guard<'a>(&'a mut self, when: &'a Resolved) -> impl Future<Output = Result<(bool, String), String>> + Send + 'a {
        let read = match when {
            Resolved::CheckSql { expect, .. } => format!("read {} (simulated)", expect.plain.trim()),
            _ => "(simulated)".to_owned(),
        };
        std::future::ready(Ok((true, read)))
    }
}
