//! Runs a fleet: members started wave by wave as the [`Schedule`] says, each
//! a run of the one run driver ([`Runner`]) with a journal of its own, in this
//! one process; a failed member rolled back (or held) as the fleet file says;
//! every decision in the fleet's journal first.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use color_eyre::eyre::{Result, WrapErr, eyre};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::file::{Fleet, Inventory};
use super::journal::{self, FleetEvent, FleetJournal};
use super::row::{MemberPhase, MemberRow};
use super::schedule::Schedule;
use crate::events::RunEvent;
use crate::runbook::runner::{self, Held, Resume, Runner, Start};
use crate::state::State;

/// How the members run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub operator: String,
    /// `--allow-manual`: manual steps pass by themselves.
    pub allow_manual: bool,
    /// `--var-env NAME=ENVVAR`, for every member.
    pub var_env: Vec<(String, String)>,
    /// `fleet resume --held`: what a held member does with its held step.
    pub held: Held,
}

/// A member as the driver knows it.
#[derive(Clone, Debug, Default)]
pub struct Slot {
    /// Its current run's journal.
    pub journal: Option<PathBuf>,
    pub attempt: u32,
    /// Its run's fold (while the fleet runs it, or once it did).
    pub state: Option<Arc<Mutex<State>>>,
    /// Why it failed.
    pub reason: Option<String>,
}

/// How a member's run is opened.
pub enum Opening {
    /// A new run, journaled here.
    New { journal: PathBuf },
    /// The run this journal holds goes on (rolled back first, with this reason).
    Resume { journal: PathBuf, rollback: Option<String> },
}

/// Where members' runs come from: the real servers of their inventories
/// ([`RealMembers`]), or the simulator's (`demo --fleet`).
pub trait Members: Send + 'static {
    type World: crate::runbook::execute::Execute + Send + 'static;

    /// The run of `fleet.members[member]`, ready to go.
    ///
    /// # Errors
    /// It cannot start: a bad inventory, a journal in the way.
    fn open(&mut self, fleet: &Fleet, member: usize, opening: &Opening, headless: bool) -> Result<Runner<Self::World>>;
}

/// Members run against their inventories' servers.
pub struct RealMembers {
    pub runbook: crate::runbook::Runbook,
    pub options: Options,
}

impl Members for RealMembers {
    type World = crate::runbook::exec::Executor;

    fn open(&mut self, fleet: &Fleet, i: usize, opening: &Opening, headless: bool) -> Result<Runner> {
        let member = &fleet.members[i];
        match opening {
            Opening::New { journal } => {
                let start = Start {
                    runbook: fleet.runbook.clone(),
                    inventory: inventory_file(fleet, i)?,
                    journal: journal.clone(),
                    operator: self.options.operator.clone(),
                    vars: Fleet::runbook_vars(member, &self.runbook),
                    allow_manual: self.options.allow_manual,
                    var_env: self.options.var_env.clone(),
                };
                Runner::start(&start, headless)
            }
            Opening::Resume { journal, rollback } => {
                let resume = Resume {
                    operator: Some(self.options.operator.clone()),
                    headless,
                    allow_manual: self.options.allow_manual,
                    retarget: false,
                };
                let mut runner = Runner::resume(journal, &resume)?;
                runner.on_held(self.options.held);
                if let Some(reason) = rollback {
                    runner.roll_back(reason)?;
                }
                Ok(runner)
            }
        }
    }
}

/// The member's inventory file: its own, or the template expanded into
/// the journals directory (mode 0600: it may name secrets' places).
fn inventory_file(fleet: &Fleet, i: usize) -> Result<PathBuf> {
    let member = &fleet.members[i];
    match &member.inventory {
        Inventory::File(path) => Ok(path.clone()),
        Inventory::Expanded(text) => {
            let path = fleet.journals.join(format!("{}.inventory.toml", member.name));
            write_private(&path, text)?;
            Ok(path)
        }
    }
}

/// What the fleet screen and `status` read while the fleet goes.
#[derive(Debug)]
pub struct Board {
    pub schedule: Schedule,
    pub slots: Vec<Slot>,
}

impl Board {
    /// One row per member, in the fleet file's order.
    #[must_use]
    pub fn rows(&self, fleet: &Fleet) -> Vec<MemberRow> {
        fleet
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let slot = &self.slots[i];
                let state = slot.state.as_ref().map(|s| s.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                MemberRow::of(
                    &m.name,
                    self.schedule.wave_of(i) + 1,
                    self.schedule.phases[i],
                    state.as_deref(),
                    slot.reason.as_deref(),
                )
            })
            .collect()
    }
}

/// A member's run made ready for a screen before it starts (the fleet
/// cockpit attaches it); unattended fleets have none.
pub type Attach<X> = Box<dyn FnMut(usize, Runner<X>) -> Runner<X> + Send>;

/// How often the driver looks at its members between their ends (a member
/// awaiting a decision holds the waves; the operator's pause).
const TICK: std::time::Duration = std::time::Duration::from_millis(500);

pub struct Driver<M: Members = RealMembers> {
    fleet: Fleet,
    attach: Option<Attach<M::World>>,
    /// No lines on stdout: a screen shows the fleet.
    quiet: bool,
    members: M,
    journal: FleetJournal,
    pub board: Arc<Mutex<Board>>,
}

/// Exit codes of `fleet run` and `fleet resume`.
pub const EXIT_ALL_DONE: i32 = 0;
pub const EXIT_NOT_ALL_DONE: i32 = 1;

enum Start_ {
    New { attempt: u32 },
    Resume { journal: PathBuf, rollback: Option<String> },
}

impl Driver<RealMembers> {
    /// A new fleet on real servers: its journal must not exist.
    ///
    /// # Errors
    /// A bad runbook or variables; the fleet journal exists or cannot be made.
    pub fn start(fleet: Fleet, options: Options) -> Result<Self> {
        let runbook = crate::runbook::load(&fleet.runbook)?;
        fleet.check_vars(&runbook)?;
        let operator = options.operator.clone();
        Self::new(fleet, RealMembers { runbook, options }, operator)
    }

    /// Go on with a fleet on real servers (see [`Driver::resume_with`]).
    ///
    /// # Errors
    /// As [`Driver::resume_with`]; a bad runbook or variables.
    pub fn resume(fleet: Fleet, options: Options) -> Result<Self> {
        let runbook = crate::runbook::load(&fleet.runbook)?;
        fleet.check_vars(&runbook)?;
        let operator = options.operator.clone();
        Self::resume_with(fleet, RealMembers { runbook, options }, operator)
    }
}

impl<M: Members> Driver<M> {
    /// A new fleet whose members' runs come from `members`.
    ///
    /// # Errors
    /// The fleet journal exists or cannot be made.
    pub fn new(fleet: Fleet, members: M, operator: String) -> Result<Self> {
        let options = Options { operator, ..Options::default() };
        let mut journal = FleetJournal::create(&journal::path(&fleet.journals))?;
        let waves = fleet.wave_members();
        journal.append(FleetEvent::Started {
            fleet: fleet.name.clone(),
            file: absolute(&fleet.path),
            runbook: absolute(&fleet.runbook),
            waves: waves.iter().map(|w| w.iter().map(|&i| fleet.members[i].name.clone()).collect()).collect(),
            operator: options.operator.clone(),
            host: crate::operator::hostname(),
            pid: std::process::id(),
        })?;
        let schedule = Schedule::new(waves, fleet.members.len(), fleet.concurrency, fleet.stop_on_failure);
        let slots = vec![Slot::default(); fleet.members.len()];
        let board = Arc::new(Mutex::new(Board { schedule, slots }));
        Ok(Self { fleet, attach: None, quiet: false, members, journal, board })
    }

    /// Go on with a fleet: each member as its own journal says (completed,
    /// rolled back, or to go on), the stop rule cleared (the operator
    /// resumes because they dealt with it).
    ///
    /// # Errors
    /// No fleet journal, or a member journal that cannot be read.
    pub fn resume_with(fleet: Fleet, members: M, operator: String) -> Result<Self> {
        let options = Options { operator, ..Options::default() };
        let (mut journal, records) = FleetJournal::open(&journal::path(&fleet.journals))?;
        if !matches!(records.first().map(|r| &r.event), Some(FleetEvent::Started { .. })) {
            return Err(eyre!("{} does not start with a fleet", journal::path(&fleet.journals).display()));
        }
        let waves = fleet.wave_members();
        let mut schedule = Schedule::new(waves, fleet.members.len(), fleet.concurrency, fleet.stop_on_failure);
        let mut slots = vec![Slot::default(); fleet.members.len()];
        for record in &records {
            if let FleetEvent::MemberStarted { member, journal, attempt, .. } = &record.event {
                if let Some(i) = fleet.members.iter().position(|m| &m.name == member) {
                    slots[i].journal = Some(journal.clone());
                    slots[i].attempt = *attempt;
                }
            }
        }
        for (i, slot) in slots.iter_mut().enumerate() {
            let Some(path) = &slot.journal else { continue };
            let (phase, state) = member_outcome(path)?;
            // Held: its journal goes on; rolled back: a new run, a new journal.
            schedule.phases[i] = match phase {
                MemberPhase::Done => MemberPhase::Done,
                _ => MemberPhase::Waiting,
            };
            slot.state = Some(Arc::new(Mutex::new(state)));
            if phase == MemberPhase::RolledBack {
                slot.journal = None;
            }
        }
        journal.append(FleetEvent::Resumed {
            operator: options.operator.clone(),
            host: crate::operator::hostname(),
            pid: std::process::id(),
        })?;
        let board = Arc::new(Mutex::new(Board { schedule, slots }));
        Ok(Self { fleet, attach: None, quiet: false, members, journal, board })
    }

    /// Members' runs go through `attach` before they start: attached to a
    /// screen, they wait for the operator's confirmations.
    pub fn attach_with(&mut self, attach: Attach<M::World>) {
        self.attach = Some(attach);
    }

    #[must_use]
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn say(&self, text: &str) {
        if !self.quiet {
            println!("[fleet] {text}");
        }
    }

    /// No progress lines, the members' neither: a screen shows the fleet.
    pub fn quiet(&mut self) {
        self.quiet = true;
    }

    fn open_member(&mut self, i: usize, how: &Start_) -> Result<(Runner<M::World>, PathBuf, u32, bool)> {
        let member = self.fleet.members[i].clone();
        let headless = self.attach.is_none();
        let (opening, journal, attempt, resumed) = match how {
            Start_::New { attempt } => {
                let name = if *attempt <= 1 {
                    format!("{}.jsonl", member.name)
                } else {
                    format!("{}.{attempt}.jsonl", member.name)
                };
                let journal = self.fleet.journals.join(name);
                (Opening::New { journal: journal.clone() }, journal, *attempt, false)
            }
            Start_::Resume { journal, rollback } => {
                let attempt = self.board().slots[i].attempt.max(1);
                (
                    Opening::Resume { journal: journal.clone(), rollback: rollback.clone() },
                    journal.clone(),
                    attempt,
                    true,
                )
            }
        };
        let mut runner = self.members.open(&self.fleet, i, &opening, headless)?;
        runner.label(&member.name);
        if self.quiet {
            runner.quiet();
        }
        if let Some(wait) = self.fleet.max_red {
            runner.gate_wait(wait);
        }
        Ok((runner, journal, attempt, resumed))
    }

    /// Run the fleet to its end, unattended. `quit` says why to stop (a
    /// signal): every running member is told, and the fleet waits for them.
    ///
    /// # Errors
    /// The fleet journal cannot be written.
    pub async fn run(mut self, mut quit: watch::Receiver<Option<String>>) -> Result<i32> {
        let mut tasks: JoinSet<(usize, Result<i32>)> = JoinSet::new();
        let mut quitters: Vec<Option<watch::Sender<Option<String>>>> = vec![None; self.fleet.members.len()];
        let mut wave_said = None;
        let mut quitting = false;
        let mut was_paused = None;
        loop {
            if !quitting {
                let (next, wave) = {
                    let b = self.board();
                    (b.schedule.next(), b.schedule.wave())
                };
                if !next.is_empty() && wave != wave_said {
                    if let Some(w) = wave {
                        let members: Vec<String> = self.board().schedule.waves()[w]
                            .iter()
                            .map(|&i| self.fleet.members[i].name.clone())
                            .collect();
                        self.say(&format!(
                            "wave {} of {}: {}",
                            w + 1,
                            self.board().schedule.waves().len(),
                            members.join(", ")
                        ));
                        self.journal.append(FleetEvent::WaveStarted { wave: w + 1, members })?;
                    }
                    wave_said = wave;
                }
                for i in next {
                    let how = {
                        let b = self.board();
                        match &b.slots[i].journal {
                            Some(journal) => Start_::Resume { journal: journal.clone(), rollback: None },
                            None => Start_::New { attempt: b.slots[i].attempt + 1 },
                        }
                    };
                    self.launch(i, &how, &mut tasks, &mut quitters)?;
                }
            }
            let paused = self.board().schedule.paused.is_some();
            if tasks.is_empty() && (quitting || !paused) {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => self.look(&mut was_paused)?,
                Some(joined) = tasks.join_next() => {
                    let (i, code) = joined.map_err(|e| eyre!("a member's task failed: {e}"))?;
                    quitters[i] = None;
                    self.ended(i, code, quitting, &mut tasks, &mut quitters)?;
                }
                changed = quit.changed(), if !quitting => {
                    if changed.is_ok() {
                        let why = quit.borrow().clone().unwrap_or_else(|| "asked to stop".to_owned());
                        quitting = true;
                        self.say(&format!("stopping: {why}; telling the running members"));
                        self.journal.append(FleetEvent::Stopped { reason: format!("cutover quit: {why}") })?;
                        for q in quitters.iter().flatten() {
                            let _ = q.send(Some(why.clone()));
                        }
                    } else {
                        quitting = true;
                    }
                }
            }
        }
        let rows = self.board().rows(&self.fleet);
        let totals = super::row::Totals::of(&rows);
        self.journal.append(FleetEvent::Finished {
            done: totals.done,
            failed: totals.failed,
            waiting: totals.waiting,
        })?;
        self.say(&format!(
            "{} of {} members done, {} failed, {} not started",
            totals.done, totals.members, totals.failed, totals.waiting
        ));
        Ok(if totals.done == totals.members { EXIT_ALL_DONE } else { EXIT_NOT_ALL_DONE })
    }

    /// A member awaiting the operator's decision on a failed step holds the
    /// waves until it is decided.
    fn look(&mut self, paused: &mut Option<String>) -> Result<()> {
        let now = self.board().schedule.paused.clone();
        if now != *paused {
            self.journal.append(match &now {
                Some(reason) => FleetEvent::Paused { reason: reason.clone() },
                None => FleetEvent::Continued,
            })?;
            *paused = now;
        }
        let mut b = self.board();
        let held = b.slots.iter().zip(&self.fleet.members).enumerate().find_map(|(i, (slot, m))| {
            if b.schedule.phases[i] != MemberPhase::Running {
                return None;
            }
            let state = slot.state.as_ref()?.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &state.run.awaiting {
                Some(crate::events::Awaiting::Decide { step, why }) => {
                    Some(format!("{} waits for a decision on step {step} ({why})", m.name))
                }
                _ => None,
            }
        });
        b.schedule.held = held;
        Ok(())
    }

    fn launch(
        &mut self,
        i: usize,
        how: &Start_,
        tasks: &mut JoinSet<(usize, Result<i32>)>,
        quitters: &mut [Option<watch::Sender<Option<String>>>],
    ) -> Result<()> {
        let name = self.fleet.members[i].name.clone();
        match self.open_member(i, how) {
            Ok((mut runner, journal, attempt, resumed)) => {
                self.journal.append(FleetEvent::MemberStarted {
                    member: name,
                    journal: journal.clone(),
                    attempt,
                    resumed,
                })?;
                quitters[i] = Some(runner.quitter());
                if let Some(attach) = self.attach.as_mut() {
                    runner = attach(i, runner);
                }
                let mut b = self.board();
                b.slots[i] = Slot { journal: Some(journal), attempt, state: Some(runner.state()), reason: None };
                b.schedule.phases[i] = MemberPhase::Running;
                drop(b);
                tasks.spawn(async move { (i, runner.run().await) });
            }
            Err(e) => {
                // The member could not even start (a bad inventory, a
                // journal in the way): it failed, as the stop rule sees it.
                let reason = format!("{e:#}");
                self.say(&format!("{name} cannot start: {reason}"));
                self.member_failed(i, MemberPhase::Held, 2, reason)?;
            }
        }
        Ok(())
    }

    fn ended(
        &mut self,
        i: usize,
        code: Result<i32>,
        quitting: bool,
        tasks: &mut JoinSet<(usize, Result<i32>)>,
        quitters: &mut [Option<watch::Sender<Option<String>>>],
    ) -> Result<()> {
        let name = self.fleet.members[i].name.clone();
        let journal = self.board().slots[i].journal.clone();
        let (code, phase, reason) = match code {
            Ok(runner::EXIT_COMPLETED) => (0, MemberPhase::Done, None),
            Ok(code) => {
                let reason = journal.as_deref().and_then(|p| failure_reason(p).ok().flatten());
                let phase = if code == runner::EXIT_ROLLED_BACK { MemberPhase::RolledBack } else { MemberPhase::Held };
                (code, phase, reason)
            }
            Err(e) => (2, MemberPhase::Held, Some(format!("{e:#}"))),
        };
        if phase == MemberPhase::Done {
            self.journal.append(FleetEvent::MemberEnded { member: name.clone(), phase, code, reason: None })?;
            self.board().schedule.phases[i] = MemberPhase::Done;
            self.say(&format!("{name} done"));
            return Ok(());
        }
        let reason = reason.unwrap_or_else(|| format!("its run stopped (exit {code})"));
        // A held member is rolled back by the fleet, unless the fleet holds
        // failures for the operator, or it is quitting (the member paused
        // for a resume), or the run cannot go on.
        if phase == MemberPhase::Held
            && !quitting
            && self.fleet.on_failure == super::file::OnFailure::Rollback
            && code == runner::EXIT_STOPPED
        {
            if let Some(journal) = journal {
                self.journal.append(FleetEvent::MemberEnded {
                    member: name.clone(),
                    phase,
                    code,
                    reason: Some(reason.clone()),
                })?;
                self.stop_rule(i, &name, MemberPhase::Held, &reason)?;
                let why = format!("the fleet rolls {name} back: {reason}");
                self.say(&why);
                self.journal.append(FleetEvent::RollingBack { member: name, reason: reason.clone() })?;
                self.board().slots[i].reason = Some(reason);
                self.launch(i, &Start_::Resume { journal, rollback: Some(why) }, tasks, quitters)?;
                return Ok(());
            }
        }
        self.member_failed(i, phase, code, reason)
    }

    fn member_failed(&mut self, i: usize, phase: MemberPhase, code: i32, reason: String) -> Result<()> {
        let name = self.fleet.members[i].name.clone();
        self.journal.append(FleetEvent::MemberEnded {
            member: name.clone(),
            phase,
            code,
            reason: Some(reason.clone()),
        })?;
        self.say(&format!("{name} {}: {reason}", phase.word()));
        self.board().slots[i].reason = Some(reason.clone());
        self.stop_rule(i, &name, phase, &reason)
    }

    fn stop_rule(&mut self, i: usize, name: &str, phase: MemberPhase, reason: &str) -> Result<()> {
        let stopped = self.board().schedule.failed(i, phase, reason, name);
        if let Some(why) = stopped {
            self.say(&format!("no more members start: {why}"));
            self.journal.append(FleetEvent::Stopped { reason: why })?;
        }
        Ok(())
    }
}

/// How a member's journal ends: completed, rolled back, or not over (held),
/// and its fold.
///
/// # Errors
/// The journal cannot be read.
pub fn member_outcome(path: &Path) -> Result<(MemberPhase, State)> {
    let read = crate::journal::read(path)?;
    let mut state = State::new("");
    for record in &read.records {
        for action in crate::journal::actions(record) {
            state.update(&action);
        }
    }
    let phase = match read.records.iter().rev().find_map(|r| match &r.event {
        RunEvent::Finished { outcome } => Some(*outcome),
        _ => None,
    }) {
        Some(outcome) => MemberPhase::of_outcome(outcome),
        None => MemberPhase::Held,
    };
    Ok((phase, state))
}

/// Why a member's run stopped, from its journal: its last failure.
///
/// # Errors
/// The journal cannot be read.
pub fn failure_reason(path: &Path) -> Result<Option<String>> {
    let read = crate::journal::read(path)?;
    Ok(read.records.iter().rev().find_map(|r| match &r.event {
        RunEvent::StepFinished { step, ok: false, summary, .. } => Some(format!("step {step} failed: {summary}")),
        RunEvent::StepStopped { step, summary, .. } => Some(format!("step {step} stopped: {summary}")),
        RunEvent::Paused { reason } => Some(reason.clone()),
        _ => None,
    }))
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned()).display().to_string()
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot make {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes()).wrap_err_with(|| format!("cannot write {}", path.display()))
}
