//! Drives a run: asks the [`Engine`] what is next, checks the gate, gets the
//! operator's confirmation (or `--yes`), executes the step with its timeout,
//! and records every event in the journal before anything else sees it.
//!
//! The gauges come from the same collectors as `cutover watch`, folded into a
//! [`State`] that gates and waits read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::{mpsc, watch};

use super::engine::{Engine, Next};
use super::exec::{Emitted, Executor};
use super::execute::Execute;
use super::plan::Planned;
use super::sink::Sink;
use super::{Runbook, StepDef};
use crate::events::{Action, Awaiting, RunCommand, RunEvent, RunOutcome};
use crate::inventory::Inventory;
use crate::journal::{self, Recorder};
use crate::state::State;

mod attempt;
mod open;
mod pause;

use attempt::{Ended, quit_asked};
pub use open::prepare;
use pause::budget_reason;
/// How long a run waits for every endpoint's first sample before starting.
pub const FIRST_SAMPLES: Duration = Duration::from_secs(15);
/// How long an unattended run waits for a closed gate to open (unless the
/// step's timeout is shorter).
pub const GATE_WAIT: Duration = Duration::from_secs(600);

/// Exit codes of `run` and `resume`.
pub const EXIT_COMPLETED: i32 = 0;
pub const EXIT_STOPPED: i32 = 1;
pub const EXIT_ROLLED_BACK: i32 = 3;

/// What to do with a step that was interrupted or failed, when unattended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Held {
    /// Stop and say so (the default).
    #[default]
    Stop,
    /// Run it again.
    Rerun,
    /// Mark it skipped (you checked it took effect, or did it by hand).
    Skip,
}

/// How a run is started.
pub struct Start {
    pub runbook: PathBuf,
    pub inventory: PathBuf,
    pub journal: PathBuf,
    pub operator: String,
    pub vars: Vec<(String, String)>,
    /// `--allow-manual`: under `--yes`, manual steps pass by themselves.
    pub allow_manual: bool,
    /// `--var-env NAME=ENVVAR`: journaled as names, read again on resume.
    pub var_env: Vec<(String, String)>,
}

/// How a `resume` goes on.
pub struct Resume {
    /// Who continues (default: who started it).
    pub operator: Option<String>,
    pub headless: bool,
    /// `--allow-manual`, as for [`Start`].
    pub allow_manual: bool,
    /// `--retarget`: go on even though the endpoints or the steps still to
    /// run changed since the run started (journaled).
    pub retarget: bool,
}

/// Everything a run needs while it goes: the world it acts on is `X`, the
/// real servers ([`Executor`]) or the simulator's.
pub struct Runner<X: Execute = Executor> {
    runbook: Runbook,
    planned: HashMap<String, Planned>,
    engine: Engine,
    sink: Sink,
    exec: X,
    emitted: mpsc::UnboundedReceiver<Emitted>,
    operator: String,
    collectors: Vec<tokio::task::JoinHandle<()>>,
    held: Held,
    commands: Option<mpsc::Receiver<RunCommand>>,
    /// Why cutover must quit, once it must (see [`Runner::quitter`]).
    quit: Option<watch::Receiver<Option<String>>>,
    /// The pooler this run has paused, if any, and the pause's budget.
    pause: super::paused::PauseWatch,
    /// How long an unattended run waits for a closed gate to open (a
    /// fleet's `max_red`), unless the step's timeout is shorter.
    gate_wait: Duration,
    /// When the run started, as the names of what it makes say it.
    run_id: String,
    /// When each phase's first step started (the recovery time's start).
    phase_began: HashMap<String, chrono::DateTime<chrono::Utc>>,
}

/// `2` for step `2.3`, `R` for `R.1`.
fn phase_of(step: &str) -> &str {
    step.split_once('.').map_or(step, |(phase, _)| phase)
}

/// A run's id from when it started: `20261204T020808Z`.
fn run_id(started: chrono::DateTime<chrono::Utc>) -> String {
    started.format("%Y%m%dT%H%M%SZ").to_string()
}

impl<X: Execute> Runner<X> {
    /// A run over `history` (empty for a new one), acting on the world
    /// `make` builds from the run's gauges and the channel its output goes to.
    pub(super) fn build(
        runbook: Runbook,
        inventory: &Inventory,
        planned: Vec<Planned>,
        journal: Option<Recorder>,
        operator: String,
        history: Vec<crate::events::Record>,
        make: impl FnOnce(Arc<Mutex<State>>, mpsc::UnboundedSender<Emitted>) -> X,
    ) -> Self {
        // What the run knew: the journal's fold, the same the screen shows
        // (a resumed run's verification result, its last figures, its steps).
        let mut state = State::new(runbook.name.clone());
        state.thresholds = inventory.thresholds;
        state.sample_interval = inventory.interval;
        for record in &history {
            for action in journal::actions(record) {
                state.update(&action);
            }
        }
        let (out, emitted) = mpsc::unbounded_channel();
        let engine = Engine::replay(&runbook.steps, history.iter().map(|r| &r.event));
        let planned: HashMap<String, Planned> = planned.into_iter().map(|p| (p.id.clone(), p)).collect();
        let mut pause = super::paused::PauseWatch::default();
        for record in &history {
            pause.fold(record.at, &record.event, &planned, &runbook, false);
        }
        let names = runbook.steps.iter().map(|s| (s.id.clone(), s.name.clone())).collect();
        let mut sink = Sink::new(journal, state, names, runbook.name.clone());
        let exec = make(sink.gauges.clone(), out);
        // The journal's records are stamped with the world's clock.
        sink.clock = exec.clock();
        Self {
            planned,
            runbook,
            engine,
            sink,
            exec,
            emitted,
            operator,
            collectors: Vec::new(),
            held: Held::Stop,
            commands: None,
            quit: None,
            pause,
            gate_wait: GATE_WAIT,
            // A resumed run keeps the id it started with.
            run_id: history.first().map(|r| run_id(r.at)).unwrap_or_default(),
            phase_began: history.iter().fold(HashMap::new(), |mut began, r| {
                if let RunEvent::StepStarted { step, .. } = &r.event {
                    began.entry(phase_of(step).to_owned()).or_insert(r.at);
                }
                began
            }),
        }
    }

    /// What `plan` shows of each step, journaled in the runbook's order
    /// (only the steps still to run, when `still_to_run`).
    pub(super) fn record_planned(&mut self, still_to_run: bool) -> Result<()> {
        let planned: Vec<(String, Vec<String>)> = self
            .runbook
            .steps
            .iter()
            .filter(|s| !still_to_run || self.engine.still_to_run(&s.id))
            .filter_map(|s| self.planned.get(&s.id).map(|p| (s.id.clone(), p.shows.clone())))
            .collect();
        for (step, shows) in planned {
            self.record(RunEvent::Planned { step, shows })?;
        }
        Ok(())
    }
}

impl<X: Execute> Runner<X> {
    /// A sender to tell the run to quit, with a reason (`SIGTERM`, "the
    /// operator left the cockpit"): a running step is stopped for real — its
    /// statement cancelled, its process group signalled — and what became of
    /// it is journaled; then the run pauses.
    pub fn quitter(&mut self) -> watch::Sender<Option<String>> {
        let (tx, rx) = watch::channel(None);
        self.quit = Some(rx);
        tx
    }

    fn quitting(&self) -> Option<String> {
        self.quit.as_ref().and_then(|q| q.borrow().clone())
    }

    /// Progress lines start with `[label] ` (a fleet's member name).
    pub fn label(&mut self, label: &str) {
        self.sink.label = Some(label.to_owned());
    }

    /// No progress lines on stdout or stderr: a screen shows this
    /// unattended run (the fleet cockpit's members).
    pub fn quiet(&mut self) {
        self.sink.quiet = true;
    }

    /// How long an unattended run waits for a closed gate before the step
    /// fails (default [`GATE_WAIT`]).
    pub fn gate_wait(&mut self, wait: Duration) {
        self.gate_wait = wait;
    }

    /// The run's fold of its journal: what its cockpit would show.
    #[must_use]
    pub fn state(&self) -> Arc<Mutex<State>> {
        self.sink.gauges.clone()
    }

    /// What to do with held steps when unattended.
    pub fn on_held(&mut self, held: Held) {
        self.held = held;
    }

    /// Drive a cockpit: the screen's state is rebuilt from the journal so far,
    /// then every event is shown as it happens, none dropped; the operator's
    /// commands come back. Call it within the runtime (it starts the task
    /// that feeds the screen).
    #[must_use]
    pub fn attach(mut self, ui: mpsc::Sender<Action>, commands: mpsc::Receiver<RunCommand>) -> (Self, State) {
        // The screen starts from the run's own fold of the journal.
        let state = self.sink.gauges.lock().map(|s| s.clone()).unwrap_or_else(|e| e.into_inner().clone());
        self.sink.hub.screen(ui);
        self.commands = Some(commands);
        (self, state)
    }

    /// Journal an event, show it, fold it.
    pub(super) fn record(&mut self, event: RunEvent) -> Result<()> {
        self.sink.record(&event)?;
        let now = (self.sink.clock)();
        match &event {
            RunEvent::Started { .. } => self.run_id = run_id(now),
            RunEvent::StepStarted { step, .. } => {
                self.phase_began.entry(phase_of(step).to_owned()).or_insert(now);
            }
            _ => {}
        }
        self.engine.apply(&event);
        self.pause.fold(now, &event, &self.planned, &self.runbook, true);
        if let RunEvent::StepFinished { step, ok: true, .. } = &event {
            self.recovery_time(step, now)?;
        }
        Ok(())
    }

    /// The last step of a `recovery_time` phase is done: journal how long the phase took.
    fn recovery_time(&mut self, step: &str, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let phase = phase_of(step);
        let ends = self
            .runbook
            .outline
            .phases
            .iter()
            .any(|p| p.id == phase && p.recovery_time && p.steps.last().is_some_and(|s| s.id == step));
        let Some(began) = self.phase_began.get(phase).copied().filter(|_| ends) else { return Ok(()) };
        let seconds = crate::events::seconds_since(began, now);
        self.record(RunEvent::RecoveryTime { phase: phase.to_owned(), seconds })
    }

    fn say(&mut self, level: crate::events::LogLevel, text: String) -> Result<()> {
        if self.sink.prints() {
            match &self.sink.label {
                Some(label) => eprintln!("cutover: [{label}] {text}"),
                None => eprintln!("cutover: {text}"),
            }
        }
        self.record(RunEvent::Log { who: "cutover".to_owned(), level, text })
    }

    /// Start the collectors and wait for every endpoint's first answer.
    async fn start_gauges(&mut self) -> Result<mpsc::Receiver<Action>> {
        let (tx, mut rx) = mpsc::channel(1024);
        let (tasks, want) = self.exec.observe(&tx);
        self.collectors = tasks;
        let deadline = tokio::time::Instant::now() + FIRST_SAMPLES;
        let mut seen = std::collections::HashSet::new();
        while seen.len() < want {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(action)) => {
                    if let Action::Sample(s) = &action {
                        seen.insert(s.endpoint.clone());
                    }
                    self.sink.take(action)?;
                }
                _ => break,
            }
        }
        Ok(rx)
    }

    /// Wait for the operator, keeping the gauges live. `None`: the cockpit is gone.
    async fn command(&mut self, samples: &mut mpsc::Receiver<Action>) -> Result<Option<RunCommand>> {
        loop {
            let Some(commands) = self.commands.as_mut() else { return Ok(None) };
            tokio::select! {
                command = commands.recv() => return Ok(command),
                _ = quit_asked(&mut self.quit) => return Ok(None),
                Some(action) = samples.recv() => self.sink.take(action)?,
            }
        }
    }

    /// Journal what the run waits for (so a replay shows the prompt line the
    /// operator saw) and show it; an unattended run has no prompt line. A
    /// journal that cannot take it still shows it: the next event's append
    /// reports the failure and stops the run.
    fn awaiting(&mut self, awaiting: Awaiting) {
        if !self.sink.hub.attached() {
            return;
        }
        let event = RunEvent::Awaiting { awaiting };
        if self.sink.record(&event).is_err() {
            let RunEvent::Awaiting { awaiting } = event else { return };
            self.sink.hub.show(Action::Awaiting(awaiting));
        }
    }

    /// Run to the end, the operator's way (cockpit attached) or unattended.
    /// Returns the exit code.
    ///
    /// # Errors
    /// The journal could not be written.
    pub async fn run(mut self) -> Result<i32> {
        let mut samples = self.start_gauges().await?;
        let interactive = self.commands.is_some();
        self.paused_on_resume()?;
        let code = loop {
            if let Some(budget) = self.pause.budget_out() {
                if self.engine.rolling_back() {
                    // The rollback's own pause ran out: the clients go on
                    // where the pooler points (the rollback's step that ran
                    // out is held for the operator).
                    self.unpause_on_stop(&budget_reason(budget)).await?;
                } else {
                    self.roll_back_for_budget(budget)?;
                }
            }
            if let Some(why) = self.quitting() {
                if !matches!(self.engine.next(), Next::Over(_)) {
                    self.record(RunEvent::Paused { reason: format!("cutover quit: {why}") })?;
                    break EXIT_STOPPED;
                }
            }
            match self.engine.next() {
                Next::Over(outcome) => {
                    self.record(RunEvent::Finished { outcome })?;
                    self.awaiting(Awaiting::Over { outcome });
                    break if outcome == RunOutcome::Completed { EXIT_COMPLETED } else { EXIT_ROLLED_BACK };
                }
                Next::Running(step) => {
                    // Only a journal from another live process says this; resume marks it interrupted.
                    return Err(eyre!("step {step} is still running in another process"));
                }
                Next::Decide(step, hold) => {
                    let why = hold.why();
                    let command = if interactive {
                        self.awaiting(Awaiting::Decide { step: step.clone(), why: why.to_owned() });
                        self.command(&mut samples).await?
                    } else {
                        match std::mem::take(&mut self.held) {
                            Held::Stop => None,
                            Held::Rerun => Some(RunCommand::Rerun { step: step.clone() }),
                            Held::Skip => Some(RunCommand::Skip { step: step.clone() }),
                        }
                    };
                    match command {
                        None => {
                            self.record(RunEvent::Paused { reason: format!("step {step} {why}") })?;
                            if !interactive && self.sink.prints() {
                                eprintln!(
                                    "cutover: step {step} {why}. Check it, then `cutover resume JOURNAL --yes --held rerun` \
                                     to run it again or `--held skip` to go on without it."
                                );
                            }
                            break EXIT_STOPPED;
                        }
                        Some(command) => {
                            for event in self.engine.command(&command, &self.operator) {
                                self.record(event)?;
                            }
                        }
                    }
                }
                Next::Run(id) => {
                    let Some(step) = self.runbook.step(&id).cloned() else {
                        return Err(eyre!("the engine named step {id}, which the runbook lacks"));
                    };
                    if !self.needed(&step).await? {
                        continue;
                    }
                    if interactive {
                        self.awaiting(Awaiting::Confirm { step: id.clone() });
                        match self.command(&mut samples).await? {
                            Some(RunCommand::Confirm { step: s, typed }) if s == id => {
                                if !self.confirm(&step, typed, false)? {
                                    continue;
                                }
                            }
                            Some(command @ RunCommand::Rollback) => {
                                for event in self.engine.command(&command, &self.operator) {
                                    self.record(event)?;
                                }
                                continue;
                            }
                            Some(_) => continue,
                            None => {
                                self.record(RunEvent::Paused { reason: "the operator left the cockpit".to_owned() })?;
                                break EXIT_STOPPED;
                            }
                        }
                    } else {
                        if !self.gate_opens(&step, &mut samples).await? {
                            continue;
                        }
                        // Nobody typed anything: the journal says so.
                        if !self.confirm(&step, None, true)? {
                            continue;
                        }
                    }
                    self.awaiting(Awaiting::Running { step: id.clone() });
                    let ended = self.execute(&step, &mut samples).await?;
                    let attempt = self.engine.next_attempt(&id).saturating_sub(1).max(1);
                    let result = match ended {
                        Ended::Finished(outcome) => RunEvent::StepFinished {
                            step: id.clone(),
                            attempt,
                            ok: outcome.ok,
                            summary: outcome.summary,
                        },
                        Ended::Stopped { why, state, summary } => {
                            RunEvent::StepStopped { step: id.clone(), attempt, why, state, summary }
                        }
                    };
                    let budget = self.pause.budget_out();
                    let events = self.engine.ended(result, || match budget {
                        Some(budget) => budget_reason(budget),
                        None => super::decide::policy_reason(&id),
                    });
                    for event in events {
                        self.record(event)?;
                    }
                }
            }
        };
        if code == EXIT_STOPPED {
            let why = self.quitting().unwrap_or_else(|| "the run stopped".to_owned());
            self.unpause_on_stop(&why).await?;
        }
        for task in &self.collectors {
            task.abort();
        }
        self.sink.sync()?;
        Ok(code)
    }

    /// Go to the rollback phase (recorded with `reason`) before running on.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn roll_back(&mut self, reason: &str) -> Result<()> {
        self.rollback(reason)
    }

    fn rollback(&mut self, reason: &str) -> Result<()> {
        self.record(RunEvent::Rollback { operator: self.operator.clone(), reason: reason.to_owned() })
    }

    /// The operator confirmed (or `--yes` did): see [`Engine::confirm`].
    /// `false`: refused (and the gate's verdict journaled).
    fn confirm(&mut self, step: &StepDef, typed: Option<String>, headless: bool) -> Result<bool> {
        let verdict = {
            let gauges = self.sink.gauges.lock().map_err(|_| eyre!("the gauges are unavailable"))?;
            let c = super::decide::Confirmation {
                step,
                outline: self.runbook.outline.step(&step.id),
                typed,
                operator: &self.operator,
                headless,
            };
            self.engine.confirm(c, &*gauges)
        };
        for event in verdict.events {
            self.record(event)?;
        }
        Ok(verdict.start)
    }
}
