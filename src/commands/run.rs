//! `cutover run` and `cutover resume`: unattended (`--yes`, progress lines on
//! stdout) or in the cockpit, where the operator confirms each step.

use std::path::Path;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use crate::cli::{DisplayArgs, ResumeArgs, RunArgs};
use crate::runbook::execute::Execute;
use crate::runbook::runner::{self, Resume, Runner, Start};

pub async fn run(display: &DisplayArgs, args: RunArgs) -> Result<i32> {
    let operator = args.operator.unwrap_or_else(crate::operator::default_operator);
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
        allow_manual: args.allow_manual,
        var_env: args.vars.var_env,
    };
    let runner = Runner::start(&start, args.yes)?;
    eprintln!("cutover: journal {}", start.journal.display());
    if args.yes { headless(runner).await } else { cockpit(display, runner, Some(&start.journal)).await }
}

/// Unattended: SIGINT, SIGTERM and SIGHUP stop the running step for real
/// (see [`Runner::quitter`]) and pause the run, which can resume.
async fn headless(mut runner: Runner) -> Result<i32> {
    let quit = runner.quitter();
    let signals = super::quit_on_signals(&quit)?;
    let code = runner.run().await;
    for task in signals {
        task.abort();
    }
    code
}

pub async fn resume(display: &DisplayArgs, args: ResumeArgs) -> Result<i32> {
    let resume = Resume {
        operator: args.operator,
        headless: args.yes,
        allow_manual: args.allow_manual,
        retarget: args.retarget,
    };
    let mut runner = Runner::resume(&args.journal, &resume)?;
    if args.yes {
        runner.on_held(args.held);
        if args.rollback {
            runner.roll_back("the operator chose to roll back (resume --rollback)")?;
        }
        headless(runner).await
    } else {
        cockpit(display, runner, Some(&args.journal)).await
    }
}

/// The cockpit with the run live: the runner in a task, the screen here.
/// When the screen ends (`q`, SIGTERM, SIGHUP), the run is told to quit: a
/// running step is stopped for real and journaled, within a bound. A run
/// that stops before its end can be resumed from its `journal` (a drill's
/// cannot: `None`).
pub(super) async fn cockpit<X: Execute>(
    display: &DisplayArgs,
    mut runner: Runner<X>,
    journal: Option<&Path>,
) -> Result<i32> {
    let theme = super::theme_for(display)?;
    let (ui_tx, ui_rx) = mpsc::channel(4096);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let quit = runner.quitter();
    let (runner, state) = runner.attach(ui_tx, cmd_rx);
    let task = tokio::spawn(runner.run());
    let screen = crate::app::run(state, theme, ui_rx, Some(cmd_tx)).await;
    let _ = quit.send(Some("the operator left the cockpit".to_owned()));
    // The stop's own bounds, and a margin for the journal.
    let bound = crate::runbook::stop::GRACE + crate::runbook::stop::KILL_GRACE + std::time::Duration::from_secs(15);
    let code = match tokio::time::timeout(bound, task).await {
        Ok(ended) => ended.map_err(|e| eyre!("the run's task failed: {e}"))??,
        Err(_) => {
            eprintln!("cutover: the run did not stop within {}s; its step may still be running", bound.as_secs());
            runner::EXIT_STOPPED
        }
    };
    screen?;
    if let (runner::EXIT_STOPPED, Some(journal)) = (code, journal) {
        eprintln!("cutover: the run is not over; continue it with `cutover resume {}`", journal.display());
    }
    Ok(code)
}
