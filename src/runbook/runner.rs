//! Drives a run: asks the [`Engine`] what is next, checks the gate, gets the
//! operator's confirmation (or `--yes`), executes the step with its timeout,
//! and records every event in the journal before anything else sees it.
//!
//! The gauges come from the same collectors as `cutover watch`, folded into a
//! [`State`] that gates and waits read.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use color_eyre::eyre::{Result, eyre};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use super::engine::{Engine, Next};
use super::exec::{Emitted, Executor, Outcome};
use super::plan::{self, Bindings, Planned};
use super::sink::Sink;
use super::{Runbook, StepDef};
use crate::events::{Action, Awaiting, RunCommand, RunEvent, RunOutcome, StopReason, StopState};
use crate::inventory::Inventory;
use crate::journal::{self, Recorder, Writer};
use crate::state::State;

use crate::journal::SAMPLE_EVERY;
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

/// Everything a run needs while it goes.
pub struct Runner {
    runbook: Runbook,
    planned: HashMap<String, Planned>,
    engine: Engine,
    sink: Sink,
    exec: Executor,
    emitted: mpsc::UnboundedReceiver<Emitted>,
    operator: String,
    collectors: Vec<tokio::task::JoinHandle<()>>,
    held: Held,
    commands: Option<mpsc::Receiver<RunCommand>>,
    /// Why cutover must quit, once it must (see [`Runner::quitter`]).
    quit: Option<watch::Receiver<Option<String>>>,
    /// The pooler this run has paused, if any, and the pause's budget.
    pause: super::paused::PauseWatch,
}

/// Why a run rolls back when its pooler's pause ran past its budget.
fn budget_reason(budget: Duration) -> String {
    format!("the pooler stayed paused past its max_pause of {}", crate::format::coarse(budget.as_secs_f64()))
}

/// How a step's attempt ended.
enum Ended {
    Finished(Outcome),
    Stopped { why: StopReason, state: StopState, summary: String },
}

/// The reason to quit, once there is one (never, without a quitter).
async fn quit_asked(quit: &mut Option<watch::Receiver<Option<String>>>) -> String {
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

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned()).display().to_string()
}

/// Load a runbook and inventory and resolve them.
///
/// # Errors
/// Every problem, as `FILE:LINE:COL: message` lines.
pub fn prepare(
    runbook: &Path,
    inventory: &Path,
    operator: &str,
    vars: &[(String, String)],
    var_env: &[(String, String)],
) -> Result<(Runbook, Inventory, super::vars::Scope, Vec<Planned>)> {
    let runbook = super::load(runbook)?;
    let inventory = crate::inventory::load(inventory)?;
    let env = |k: &str| std::env::var(k).ok();
    let bindings = Bindings { inventory: &inventory, overrides: vars, from_env: var_env, operator, env: &env };
    let scope = plan::scope(&runbook, &bindings).map_err(|e| eyre!("{}", super::render(&e)))?;
    let planned = plan::resolve(&runbook, &scope, &inventory).map_err(|e| eyre!("{}", super::render(&e)))?;
    Ok((runbook, inventory, scope, planned))
}

/// Unattended, nobody does a manual step: refuse the run unless the
/// operator said they may pass by themselves (`--allow-manual`).
fn refuse_manual(runbook: &Runbook, engine: &Engine, headless: bool, allowed: bool) -> Result<()> {
    if !headless || allowed {
        return Ok(());
    }
    let manual: Vec<String> = runbook
        .steps
        .iter()
        .filter(|s| matches!(s.action, super::ActionDef::Manual { .. }))
        .filter(|s| engine.still_to_run(&s.id))
        .map(|s| format!("{} {}", s.id, s.name))
        .collect();
    if manual.is_empty() {
        return Ok(());
    }
    Err(eyre!(
        "the runbook has manual steps ({}), which nobody does under --yes: run it in the cockpit, \
         or pass --allow-manual to have them pass by themselves (the journal records that you did)",
        manual.join(", ")
    ))
}

impl Runner {
    fn build(
        runbook: Runbook,
        inventory: Inventory,
        scope: super::vars::Scope,
        planned: Vec<Planned>,
        mut journal: Writer,
        operator: String,
        history: Vec<crate::events::Record>,
    ) -> Self {
        journal.scrub(scope.secrets());
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
        let gauges = Arc::new(Mutex::new(state));
        let (out, emitted) = mpsc::unbounded_channel();
        let engine = Engine::replay(&runbook.steps, history.iter().map(|r| &r.event));
        let planned: HashMap<String, Planned> = planned.into_iter().map(|p| (p.id.clone(), p)).collect();
        let mut pause = super::paused::PauseWatch::default();
        for record in &history {
            pause.fold(record.at, &record.event, &planned, &runbook, false);
        }
        let exec = Executor::new(inventory, scope, gauges.clone(), out);
        let sink = Sink {
            journal: Recorder::new(journal, SAMPLE_EVERY, journal::CHECKSUM_EVERY),
            gauges,
            ui: None,
            names: runbook.steps.iter().map(|s| (s.id.clone(), s.name.clone())).collect(),
            title: runbook.name.clone(),
        };
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
        }
    }

    /// A new run: the journal must not hold one already.
    ///
    /// # Errors
    /// Bad runbook, inventory or variables; a journal that is not new.
    pub fn start(start: &Start, headless: bool) -> Result<Self> {
        let (runbook, inventory, scope, planned) =
            prepare(&start.runbook, &start.inventory, &start.operator, &start.vars, &start.var_env)?;
        refuse_manual(&runbook, &Engine::new(&runbook.steps), headless, start.allow_manual)?;
        let journal = Writer::create(&start.journal)?;
        let mut runner = Self::build(runbook, inventory, scope, planned, journal, start.operator.clone(), Vec::new());
        runner.record(RunEvent::Started {
            runbook: absolute(&start.runbook),
            runbook_sha256: sha256(&runner.runbook.text),
            inventory: Some(absolute(&start.inventory)),
            vars: start.vars.clone(),
            var_env: start.var_env.clone(),
            operator: start.operator.clone(),
            host: crate::operator::hostname(),
            pid: std::process::id(),
            headless,
            allow_manual: start.allow_manual,
            endpoints: super::pins::endpoints(runner.exec.inventory()),
            outline: runner.runbook.outline.clone(),
        })?;
        let planned: Vec<(String, Vec<String>)> = runner
            .runbook
            .steps
            .iter()
            .filter_map(|s| runner.planned.get(&s.id).map(|p| (s.id.clone(), p.shows.clone())))
            .collect();
        for (step, shows) in planned {
            runner.record(RunEvent::Planned { step, shows })?;
        }
        Ok(runner)
    }

    /// Continue the run a journal holds: steps seen to start and not to
    /// finish are marked interrupted.
    ///
    /// # Errors
    /// An unreadable journal, a changed runbook, a bad inventory.
    pub fn resume(path: &Path, resume: &Resume) -> Result<Self> {
        let headless = resume.headless;
        // The lock first: what is read is then what no other process writes to.
        let (journal, read) = Writer::open_read(path)?;
        let Some(RunEvent::Started { runbook, runbook_sha256, inventory, vars, var_env, operator: first, .. }) =
            read.records.first().map(|r| r.event.clone())
        else {
            return Err(eyre!("{} does not start with a run (no `started` record)", path.display()));
        };
        let inventory = inventory.ok_or_else(|| eyre!("{} names no inventory", path.display()))?;
        let operator = resume.operator.clone().unwrap_or_else(|| first.clone());
        let (rb, inv, scope, planned) =
            prepare(Path::new(&runbook), Path::new(&inventory), &operator, &vars, &var_env)?;
        if sha256(&rb.text) != runbook_sha256 {
            return Err(eyre!(
                "{runbook} changed since the run started (its SHA-256 differs): resume with the runbook as it was"
            ));
        }
        // The inputs are pinned: the same endpoints, the same steps still to
        // run (compared as planned for the operator who started it, so that
        // only `${operator}` may differ).
        let endpoints = super::pins::endpoints(&inv);
        let as_started = if operator == first {
            None
        } else {
            Some(prepare(Path::new(&runbook), Path::new(&inventory), &first, &vars, &var_env)?.3)
        };
        let engine = Engine::replay(&rb.steps, read.records.iter().map(|r| &r.event));
        let changes = super::pins::changes(&read.records, &endpoints, as_started.as_ref().unwrap_or(&planned), |id| {
            engine.still_to_run(id)
        });
        if !changes.is_empty() && !resume.retarget {
            return Err(eyre!(
                "the run's inputs changed since it started (the inventory, its variables or the environment):\n  {}\n\
                 resume with them as they were, or pass --retarget to go on against these (the journal records it)",
                changes.join("\n  ")
            ));
        }
        let mut runner = Self::build(rb, inv, scope, planned, journal, operator.clone(), read.records);
        if let Next::Over(outcome) = runner.engine.next() {
            return Err(eyre!("the run in {} is over ({})", path.display(), crate::events::name_of(&outcome)));
        }
        refuse_manual(&runner.runbook, &runner.engine, headless, resume.allow_manual)?;
        let retargeted = !changes.is_empty();
        runner.record(RunEvent::Resumed {
            operator,
            host: crate::operator::hostname(),
            pid: std::process::id(),
            headless,
            allow_manual: resume.allow_manual,
            retargeted: changes,
            endpoints: if retargeted { endpoints } else { BTreeMap::new() },
        })?;
        if retargeted {
            // What the steps still to run execute from now on.
            let replanned: Vec<(String, Vec<String>)> = runner
                .runbook
                .steps
                .iter()
                .filter(|s| runner.engine.still_to_run(&s.id))
                .filter_map(|s| runner.planned.get(&s.id).map(|p| (s.id.clone(), p.shows.clone())))
                .collect();
            for (step, shows) in replanned {
                runner.record(RunEvent::Planned { step, shows })?;
            }
        }
        for step in runner.engine.running() {
            runner.record(RunEvent::Interrupted { step })?;
        }
        Ok(runner)
    }

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

    /// What to do with held steps when unattended.
    pub fn on_held(&mut self, held: Held) {
        self.held = held;
    }

    /// Drive a cockpit: the screen's state is rebuilt from the journal so far,
    /// then every event is shown as it happens; the operator's commands come back.
    #[must_use]
    pub fn attach(mut self, ui: mpsc::Sender<Action>, commands: mpsc::Receiver<RunCommand>) -> (Self, State) {
        // The screen starts from the run's own fold of the journal.
        let state = self.sink.gauges.lock().map(|s| s.clone()).unwrap_or_else(|e| e.into_inner().clone());
        self.sink.ui = Some(ui);
        self.commands = Some(commands);
        (self, state)
    }

    /// Journal an event, show it, fold it.
    fn record(&mut self, event: RunEvent) -> Result<()> {
        self.sink.record(&event)?;
        self.engine.apply(&event);
        self.pause.fold(chrono::Utc::now(), &event, &self.planned, &self.runbook, true);
        Ok(())
    }

    fn say(&mut self, level: crate::events::LogLevel, text: String) -> Result<()> {
        if self.sink.ui.is_none() {
            eprintln!("cutover: {text}");
        }
        self.record(RunEvent::Log { who: "cutover".to_owned(), level, text })
    }

    /// A run resumed with its pooler paused (cutover was killed, the link
    /// dropped): said first. Past the pause's budget it rolls back now (the
    /// rollback resumes the pooler on the source); else the run goes on
    /// (forward: its steps lead to RESUME), and in the cockpit `R` goes back.
    fn paused_on_resume(&mut self) -> Result<()> {
        let Some(p) = self.pause.paused.clone() else { return Ok(()) };
        let lasted = (chrono::Utc::now() - p.since).to_std().unwrap_or_default();
        let budget = super::paused::max_pause(&self.runbook, &p.step);
        let what = format!(
            "the pooler {} is PAUSED ({}, by step {} {} ago): its clients wait",
            p.on,
            p.database.as_deref().unwrap_or("every database"),
            p.step,
            crate::format::coarse(lasted.as_secs_f64())
        );
        self.say(crate::events::LogLevel::Error, what)?;
        match budget {
            Some(budget) if lasted >= budget => self.roll_back_for_budget(budget),
            _ => self.say(
                crate::events::LogLevel::Warn,
                "go on to RESUME it (forward), or roll back to RESUME it on the source (R; --rollback)".to_owned(),
            ),
        }
    }

    /// The pause ran past its budget: roll back (once), saying so.
    fn roll_back_for_budget(&mut self, budget: Duration) -> Result<()> {
        if self.engine.rolling_back() {
            return Ok(());
        }
        self.record(RunEvent::Rollback { operator: "cutover".to_owned(), reason: budget_reason(budget) })
    }

    /// cutover stops with its pooler paused: a paused pooler is an outage, so
    /// it is resumed first. Repointed already: the clients go to the new
    /// server (the switch is done but for its checks). Not yet: they go back
    /// to the source, and the run is rolled back (the source no longer
    /// replicates to the target, so going forward from here would lose what
    /// the clients write meanwhile).
    async fn unpause_on_stop(&mut self, why: &str) -> Result<()> {
        let Some(p) = self.pause.paused.clone() else { return Ok(()) };
        let db = p.database.clone().unwrap_or_else(|| "every database".to_owned());
        // A rollback's pause holds the clients of the server it points at.
        let rolled = self.runbook.step(&p.step).is_some_and(|s| s.rollback);
        let whither = if p.repointed || rolled { "on the server it now points at" } else { "on the source" };
        self.say(
            crate::events::LogLevel::Warn,
            format!("{why} with the pooler {} paused: RESUME {db} {whither}", p.on),
        )?;
        let outcome = self.exec.run(&p.resume(), false, false).await;
        while self.emitted.try_recv().is_ok() {}
        if !outcome.ok {
            let text = format!("RESUME FAILED on {}: {} — resume it by hand (RESUME {db})", p.on, outcome.summary);
            return self.say(crate::events::LogLevel::Error, text);
        }
        self.say(crate::events::LogLevel::Info, outcome.summary)?;
        self.pause = super::paused::PauseWatch::default();
        if !p.repointed && !self.engine.rolling_back() {
            let reason = format!("{why} with the pooler paused; it was resumed on the source");
            self.record(RunEvent::Rollback { operator: "cutover".to_owned(), reason })?;
        }
        Ok(())
    }

    /// Start the collectors and wait for every endpoint's first answer.
    async fn start_gauges(&mut self) -> Result<mpsc::Receiver<Action>> {
        let (tx, mut rx) = mpsc::channel(1024);
        let inventory = self.exec.inventory().clone();
        self.collectors = crate::collect::spawn(inventory.endpoints.clone(), inventory.interval, &tx);
        // The clock too: without it the gauges could not tell stale figures.
        self.collectors.push(tokio::spawn(crate::collect::clock(tx.clone())));
        let want = inventory.endpoints.len();
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
        if self.sink.ui.is_none() {
            return;
        }
        let event = RunEvent::Awaiting { awaiting };
        if self.sink.record(&event).is_err() {
            let RunEvent::Awaiting { awaiting } = event else { return };
            self.sink.to_screen(Action::Awaiting(awaiting));
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
                    let choice = if interactive {
                        self.awaiting(Awaiting::Decide { step: step.clone(), why: why.to_owned() });
                        match self.command(&mut samples).await? {
                            Some(RunCommand::Rerun { step: s }) if s == step => Held::Rerun,
                            Some(RunCommand::Skip { step: s }) if s == step => Held::Skip,
                            Some(RunCommand::Rollback) => {
                                self.rollback("the operator chose to roll back")?;
                                continue;
                            }
                            Some(_) => continue,
                            None => Held::Stop,
                        }
                    } else {
                        std::mem::take(&mut self.held)
                    };
                    match choice {
                        Held::Stop => {
                            self.record(RunEvent::Paused { reason: format!("step {step} {why}") })?;
                            if !interactive {
                                eprintln!(
                                    "cutover: step {step} {why}. Check it, then `cutover resume JOURNAL --yes --held rerun` \
                                     to run it again or `--held skip` to go on without it."
                                );
                            }
                            break EXIT_STOPPED;
                        }
                        Held::Rerun => self.record(RunEvent::Rerun { step, operator: self.operator.clone() })?,
                        Held::Skip => {
                            let reason = format!("the operator chose to skip it after it {why}");
                            self.record(RunEvent::Skipped { step, operator: self.operator.clone(), reason })?;
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
                                if !self.confirm(&step, typed)? {
                                    continue;
                                }
                            }
                            Some(RunCommand::Rollback) => {
                                self.rollback("the operator chose to roll back")?;
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
                        self.record(RunEvent::Confirmed {
                            step: id.clone(),
                            operator: self.operator.clone(),
                            typed: None,
                            headless: true,
                        })?;
                    }
                    self.awaiting(Awaiting::Running { step: id.clone() });
                    let ended = self.execute(&step, &mut samples).await?;
                    let attempt = self.engine.next_attempt(&id).saturating_sub(1).max(1);
                    let was_rolling_back = self.engine.rolling_back();
                    match ended {
                        Ended::Finished(outcome) => self.record(RunEvent::StepFinished {
                            step: id.clone(),
                            attempt,
                            ok: outcome.ok,
                            summary: outcome.summary,
                        })?,
                        Ended::Stopped { why, state, summary } => {
                            self.record(RunEvent::StepStopped { step: id.clone(), attempt, why, state, summary })?;
                        }
                    }
                    if self.engine.rolling_back() && !was_rolling_back {
                        let reason = match self.pause.budget_out() {
                            Some(budget) => budget_reason(budget),
                            None => format!("step {id} failed and its policy is to roll back"),
                        };
                        self.record(RunEvent::Rollback { operator: "cutover".to_owned(), reason })?;
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
        self.sink.journal.sync()?;
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

    /// The operator confirmed: the gate must hold now and a destructive step's
    /// endpoint name must have been typed. `false`: refused (and said why).
    fn confirm(&mut self, step: &StepDef, typed: Option<String>) -> Result<bool> {
        if let Some(gate) = &step.gate {
            let verdict =
                self.sink.gauges.lock().map(|s| gate.eval(&*s)).map_err(|_| eyre!("the gauges are unavailable"))?;
            self.record(RunEvent::Gate { step: step.id.clone(), holds: verdict.holds, reason: verdict.reason })?;
            if !verdict.holds {
                return Ok(false);
            }
        }
        if step.destructive {
            let endpoint = step.action.endpoints().first().map_or_else(|| "yes".to_owned(), |s| (*s).to_owned());
            if typed.as_deref() != Some(endpoint.as_str()) {
                return Ok(false);
            }
        }
        self.record(RunEvent::Confirmed {
            step: step.id.clone(),
            operator: self.operator.clone(),
            typed,
            headless: false,
        })?;
        Ok(true)
    }

    /// The step's `when`, read now: `false` when it says the step is not
    /// needed (journaled as skipped, with what it read) or cannot be read
    /// (the step fails: never guess whether a step of a cutover applies).
    async fn needed(&mut self, step: &StepDef) -> Result<bool> {
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
    /// (or [`GATE_WAIT`]). A gate that never opens fails the step.
    async fn gate_opens(&mut self, step: &StepDef, samples: &mut mpsc::Receiver<Action>) -> Result<bool> {
        let Some(gate) = step.gate.clone() else { return Ok(true) };
        let limit = step.timeout.unwrap_or(GATE_WAIT).min(GATE_WAIT);
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
            if let Ok(Some(action)) = tokio::time::timeout(super::exec::POLL, samples.recv()).await {
                self.sink.take(action)?;
            }
        }
    }

    /// Start, run with its timeout (and the operator's cancel, and the quit),
    /// journal everything the step says. A step told to stop is stopped for
    /// real and followed to its end, up to a bound: its statement cancelled
    /// or its process group sent SIGTERM, then SIGKILL; then what became of it.
    async fn execute(&mut self, step: &StepDef, samples: &mut mpsc::Receiver<Action>) -> Result<Ended> {
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
        let resumes = matches!(&planned.action, super::plan::Resolved::Pooler { op: super::pooler::Op::Resume(_), .. });
        let budget = self.pause.deadline.filter(|_| !resumes);
        let ended = {
            let run = self.exec.run(&planned.action, reads_only, step.transaction);
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
                    if self.sink.ui.is_none() {
                        eprintln!(
                            "cutover: stopping step {} ({said}); waiting up to {}s for it to end",
                            step.id,
                            (super::stop::GRACE + super::stop::KILL_GRACE).as_secs()
                        );
                    }
                    stopper.interrupt().await;
                    let mut ended = None;
                    for (grace, then_kill) in [(super::stop::GRACE, true), (super::stop::KILL_GRACE, false)] {
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
