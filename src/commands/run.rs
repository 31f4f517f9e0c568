//! `cutover run` and `cutover resume`: unattended (`--yes`, progress lines on
//! stdout) or in the cockpit, where the operator confirms each step.

use std::path::Path;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use crate::cli::{DisplayArgs, ResumeArgs, RunArgs};
use crate::runbook::runner::{self, Runner, Start};

pub async fn run(display: &DisplayArgs, args: RunArgs) -> Result<i32> {
    let operator = args.operator.unwrap_or_else(runner::default_operator);
    let journal = args.journal.unwrap_or_else(|| {
        let stem = args.runbook.file_stem().map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
        format!("cutover-{stem}-{}.jsonl", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")).into()
    });
    let start = Start {
        runbook: args.runbook,
        inventory: args.inventory,
        journal,
        operator,
        vars: args.vars.vars,
        var_env: args.vars.var_env,
    };
    let runner = Runner::start(&start, args.yes)?;
    eprintln!("cutover: journal {}", start.journal.display());
    if args.yes { runner.run().await } else { cockpit(display, runner, &start.journal).await }
}

pub async fn resume(display: &DisplayArgs, args: ResumeArgs) -> Result<i32> {
    let mut runner = Runner::resume(&args.journal, args.operator, args.yes)?;
    if args.yes {
        runner.on_held(args.held);
        if args.rollback {
            runner.roll_back("the operator chose to roll back (resume --rollback)")?;
        }
        runner.run().await
    } else {
        cockpit(display, runner, &args.journal).await
    }
}

/// The cockpit with the run live: the runner in a task, the screen here.
async fn cockpit(display: &DisplayArgs, runner: Runner, journal: &Path) -> Result<i32> {
    let theme = super::theme_for(display)?;
    let (ui_tx, ui_rx) = mpsc::channel(4096);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (runner, state) = runner.attach(ui_tx, cmd_rx);
    let task = tokio::spawn(runner.run());
    let screen = crate::app::run(state, theme, ui_rx, Some(cmd_tx)).await;
    // The operator left. A run waiting for them records the pause itself; a
    // step still running is cut off and comes back as interrupted on resume.
    let code = if task.is_finished() {
        task.await.map_err(|e| eyre!("the run's task failed: {e}"))??
    } else {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if task.is_finished() {
            task.await.map_err(|e| eyre!("the run's task failed: {e}"))??
        } else {
            task.abort();
            runner::EXIT_STOPPED
        }
    };
    screen?;
    if code == runner::EXIT_STOPPED {
        eprintln!("cutover: the run is not over; continue it with `cutover resume {}`", journal.display());
    }
    Ok(code)
}
