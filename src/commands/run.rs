//! `cutover run` and `cutover resume`.

use color_eyre::eyre::Result;

use crate::cli::{DisplayArgs, ResumeArgs, RunArgs};
use crate::runbook::runner::{self, Runner, Start};

pub async fn run(display: &DisplayArgs, args: RunArgs) -> Result<i32> {
    let operator = args.operator.unwrap_or_else(runner::default_operator);
    let journal = args.journal.unwrap_or_else(|| {
        let stem = args.runbook.file_stem().map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
        format!("cutover-{stem}-{}.jsonl", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")).into()
    });
    runner::journal_dir(&journal)?;
    let start = Start { runbook: args.runbook, inventory: args.inventory, journal, operator, vars: args.vars.vars };
    if args.yes {
        let runner = Runner::start(&start, true)?;
        eprintln!("cutover: journal {}", start.journal.display());
        runner.run_headless().await
    } else {
        let _ = display;
        Err(color_eyre::eyre::eyre!("the interactive run is not built yet: use --yes"))
    }
}

pub async fn resume(display: &DisplayArgs, args: ResumeArgs) -> Result<i32> {
    if args.yes {
        let mut runner = Runner::resume(&args.journal, args.operator, true)?;
        runner.on_held(args.held);
        runner.run_headless().await
    } else {
        let _ = display;
        Err(color_eyre::eyre::eyre!("the interactive resume is not built yet: use --yes"))
    }
}
