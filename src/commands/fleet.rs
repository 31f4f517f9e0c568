//! `cutover fleet run|resume|status|check`: one runbook over many members.

use color_eyre::eyre::{Result, WrapErr};
use tokio::sync::watch;

use crate::cli::{DisplayArgs, FleetCommand, FleetRunArgs};
use crate::fleet::driver::{self, Driver, Options};
use crate::fleet::file;
use crate::fleet::row::{MemberRow, Totals, sort_worst_first};

pub async fn run(display: &DisplayArgs, command: FleetCommand) -> Result<i32> {
    match command {
        FleetCommand::Run(args) => go(display, args, false).await,
        FleetCommand::Resume(args) => go(display, args, true).await,
        FleetCommand::Status { fleet, json } => status(&fleet, json),
        FleetCommand::Check { fleet } => check(&fleet),
    }
}

async fn go(display: &DisplayArgs, args: FleetRunArgs, resume: bool) -> Result<i32> {
    let fleet = file::load(&args.fleet)?;
    let options = Options {
        operator: args.operator.unwrap_or_else(crate::operator::default_operator),
        allow_manual: args.allow_manual,
        var_env: args.var_env,
        held: args.held,
    };
    let driver = if resume { Driver::resume(fleet, options)? } else { Driver::start(fleet, options)? };
    if !args.yes {
        // The fleet cockpit: every member waits for the operator.
        let theme = super::theme_for(display)?;
        return crate::app::fleet::run(driver, theme, true).await;
    }
    eprintln!("cutover: fleet journals in {}", driver.fleet().journals.display());
    let (quit, quit_rx) = watch::channel(None);
    let signals = super::quit_on_signals(&quit)?;
    let code = driver.run(quit_rx).await;
    for task in signals {
        task.abort();
    }
    code
}

/// Every member as its journals say, worst first.
fn status(path: &std::path::Path, json: bool) -> Result<i32> {
    let fleet = file::load(path)?;
    let records = match crate::fleet::journal::read(&crate::fleet::journal::path(&fleet.journals)) {
        Ok(records) => records,
        Err(_) if !crate::fleet::journal::path(&fleet.journals).exists() => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut journals = vec![None; fleet.members.len()];
    // Started and not seen to end: running, while the fleet is not over.
    let mut open = vec![false; fleet.members.len()];
    let mut stopped = None;
    for r in &records {
        match &r.event {
            crate::fleet::journal::FleetEvent::MemberStarted { member, journal, .. } => {
                if let Some(i) = fleet.members.iter().position(|m| &m.name == member) {
                    journals[i] = Some(journal.clone());
                    open[i] = true;
                }
            }
            crate::fleet::journal::FleetEvent::MemberEnded { member, .. } => {
                if let Some(i) = fleet.members.iter().position(|m| &m.name == member) {
                    open[i] = false;
                }
            }
            crate::fleet::journal::FleetEvent::Finished { .. } => open.iter_mut().for_each(|o| *o = false),
            crate::fleet::journal::FleetEvent::Stopped { reason } => stopped = Some(reason.clone()),
            crate::fleet::journal::FleetEvent::Resumed { .. } => stopped = None,
            _ => {}
        }
    }
    let waves = fleet.wave_members();
    let mut rows = Vec::new();
    for (i, member) in fleet.members.iter().enumerate() {
        let wave = waves.iter().position(|w| w.contains(&i)).unwrap_or(0) + 1;
        let row = match &journals[i] {
            None => MemberRow::of(&member.name, wave, crate::fleet::row::MemberPhase::Waiting, None, None),
            Some(path) => {
                let (phase, state) = driver::member_outcome(path)?;
                let phase = if open[i] && phase == crate::fleet::row::MemberPhase::Held {
                    crate::fleet::row::MemberPhase::Running
                } else {
                    phase
                };
                let reason = phase.failed().then(|| driver::failure_reason(path).ok().flatten()).flatten();
                MemberRow::of(&member.name, wave, phase, Some(&state), reason.as_deref())
            }
        };
        rows.push(row);
    }
    sort_worst_first(&mut rows);
    let totals = Totals::of(&rows);
    if json {
        let doc = serde_json::json!({
            "fleet": fleet.name,
            "runbook": fleet.runbook.display().to_string(),
            "journals": fleet.journals.display().to_string(),
            "started": !records.is_empty(),
            "stopped": stopped,
            "totals": totals,
            "members": rows,
        });
        println!("{}", serde_json::to_string_pretty(&doc).wrap_err("encode the fleet's status as JSON")?);
    } else {
        println!(
            "{}: {} members: {} done, {} running, {} waiting, {} failed",
            fleet.name, totals.members, totals.done, totals.running, totals.waiting, totals.failed
        );
        if let Some(why) = &stopped {
            println!("stopped: {why}");
        }
        for row in &rows {
            let step = row.step.as_ref().map(|(id, name)| format!(" {id} {name}")).unwrap_or_default();
            println!("  {:<16} wave {} {:<11}{step}", row.name, row.wave, row.phase.word());
        }
    }
    Ok(0)
}

fn check(path: &std::path::Path) -> Result<i32> {
    let fleet = file::load(path)?;
    let runbook = crate::runbook::load(&fleet.runbook)?;
    fleet.check_vars(&runbook)?;
    let waves = fleet.wave_members();
    println!(
        "{}: ok: {} members in {} waves ({}), at most {} at once",
        path.display(),
        fleet.members.len(),
        waves.len(),
        waves.iter().map(|w| w.len().to_string()).collect::<Vec<_>>().join(", "),
        fleet.concurrency
    );
    Ok(0)
}
