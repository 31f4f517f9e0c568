//! How a real run opens: its runbook and inventory loaded and resolved, a
//! new journal (`start`) or the journal of a run to go on with (`resume`),
//! whose inputs are pinned — the same runbook, endpoints and steps still to
//! run, unless the operator retargets.

use std::collections::BTreeMap;
use std::path::Path;

use color_eyre::eyre::{Result, eyre};
use sha2::{Digest, Sha256};

use super::{Resume, Runner, Start};
use crate::events::RunEvent;
use crate::inventory::Inventory;
use crate::journal::{self, Recorder, SAMPLE_EVERY, Writer};
use crate::runbook::engine::{Engine, Next};
use crate::runbook::exec::Executor;
use crate::runbook::plan::{self, Bindings, Planned};
use crate::runbook::{self as rb, Runbook};

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
) -> Result<(Runbook, Inventory, rb::vars::Scope, Vec<Planned>)> {
    let runbook = rb::load(runbook)?;
    let inventory = crate::inventory::load(inventory)?;
    let env = |k: &str| std::env::var(k).ok();
    let bindings = Bindings { inventory: &inventory, overrides: vars, from_env: var_env, operator, env: &env };
    let scope = plan::scope(&runbook, &bindings).map_err(|e| eyre!("{}", rb::render(&e)))?;
    let planned = plan::resolve(&runbook, &scope, &inventory).map_err(|e| eyre!("{}", rb::render(&e)))?;
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
        .filter(|s| matches!(s.action, rb::ActionDef::Manual { .. }))
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
    /// A real run: the inventory's servers, its journal at the journal's rates.
    fn real(
        runbook: Runbook,
        inventory: Inventory,
        scope: rb::vars::Scope,
        planned: Vec<Planned>,
        mut journal: Writer,
        operator: String,
        history: Vec<crate::events::Record>,
    ) -> Self {
        journal.scrub(scope.secrets());
        let journal = Recorder::new(journal, SAMPLE_EVERY, journal::CHECKSUM_EVERY);
        let inv = inventory.clone();
        Self::build(runbook, &inv, planned, Some(journal), operator, history, |gauges, out| {
            Executor::new(inventory, scope, gauges, out)
        })
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
        let mut runner = Self::real(runbook, inventory, scope, planned, journal, start.operator.clone(), Vec::new());
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
            endpoints: rb::pins::endpoints(runner.exec.inventory()),
            outline: runner.runbook.outline.clone(),
        })?;
        runner.record_planned(false)?;
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
        let endpoints = rb::pins::endpoints(&inv);
        let as_started = if operator == first {
            None
        } else {
            Some(prepare(Path::new(&runbook), Path::new(&inventory), &first, &vars, &var_env)?.3)
        };
        let engine = Engine::replay(&rb.steps, read.records.iter().map(|r| &r.event));
        let changes = rb::pins::changes(&read.records, &endpoints, as_started.as_ref().unwrap_or(&planned), |id| {
            engine.still_to_run(id)
        });
        if !changes.is_empty() && !resume.retarget {
            return Err(eyre!(
                "the run's inputs changed since it started (the inventory, its variables or the environment):\n  {}\n\
                 resume with them as they were, or pass --retarget to go on against these (the journal records it)",
                changes.join("\n  ")
            ));
        }
        let mut runner = Self::real(rb, inv, scope, planned, journal, operator.clone(), read.records);
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
            runner.record_planned(true)?;
        }
        for step in runner.engine.running() {
            runner.record(RunEvent::Interrupted { step })?;
        }
        Ok(runner)
    }
}
