//! One module per subcommand; each returns the process exit code.

mod check;
mod demo;
mod export;
mod fleet;
mod follow;
mod plan;
mod replay;
mod report;
mod run;
mod status;
mod verify;
mod watch;

use color_eyre::eyre::Result;

use crate::cli::{Cli, Command, DisplayArgs};
use crate::theme::{self, ColorMode, Symbols, Theme};

/// Run the command the operator asked for.
///
/// # Errors
/// Whatever stopped the command; the terminal is already restored.
pub async fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Demo(args) => demo::run(&cli.display, &args).await,
        Command::Check { runbook, inventory, vars } => Ok(check::run(&runbook, inventory.as_deref(), &vars)),
        Command::Plan { runbook, inventory, vars } => Ok(plan::run(&runbook, &inventory, &vars)),
        // An error before or outside the run is 2: 1 and 3 say how a run ended.
        Command::Run(args) => Ok(run::run(&cli.display, args).await.unwrap_or_else(report)),
        Command::Resume(args) => Ok(run::resume(&cli.display, args).await.unwrap_or_else(report)),
        Command::Replay(args) => replay::run(&cli.display, &args).await,
        Command::Export(args) => export::run(&cli.display, &args),
        Command::Follow { journal } => follow::run(&cli.display, &journal).await,
        Command::Watch { inventory, journal, read_only } => {
            watch::run(&cli.display, &inventory, journal.as_deref(), read_only).await
        }
        Command::Status { inventory, json } => status::run(&inventory, json).await,
        Command::Verify(a) => Ok(verify::run(verify::Args {
            inventory: a.inventory,
            source: a.source,
            target: a.target,
            tables: a.tables,
            json: a.json,
            journal: a.journal,
            jobs: a.jobs,
            mode: a.mode,
            chunk_rows: a.chunk_rows,
            max_lag: a.max_lag,
            rows_per_fetch: a.rows_per_fetch,
            settle: a.settle,
        })
        .await),
        Command::Report(args) => Ok(report::run(&args).unwrap_or_else(report)),
        Command::Fleet(command) => Ok(fleet::run(&cli.display, command).await.unwrap_or_else(report)),
    }
}

/// Unattended runs and fleets: SIGINT, SIGTERM and SIGHUP (a dropped SSH
/// link) tell `quit` why to stop. Abort the tasks once the run is over.
///
/// # Errors
/// A handler cannot be installed.
fn quit_on_signals(quit: &tokio::sync::watch::Sender<Option<String>>) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    use color_eyre::eyre::WrapErr;
    use tokio::signal::unix::{SignalKind, signal};
    let mut signals = Vec::new();
    for (kind, name) in
        [(SignalKind::interrupt(), "SIGINT"), (SignalKind::terminate(), "SIGTERM"), (SignalKind::hangup(), "SIGHUP")]
    {
        let mut signal = signal(kind).wrap_err_with(|| format!("cannot handle {name}"))?;
        let quit = quit.clone();
        signals.push(tokio::spawn(async move {
            if signal.recv().await.is_some() {
                let _ = quit.send(Some(name.to_owned()));
            }
        }));
    }
    Ok(signals)
}

fn report(error: color_eyre::Report) -> i32 {
    eprintln!("Error: {error:?}");
    2
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// The theme and symbol set the display arguments and environment ask for.
///
/// # Errors
/// A theme that cannot be found or read.
pub fn theme_for(display: &DisplayArgs) -> Result<Theme> {
    let ascii = display.ascii || (!display.unicode && !theme::locale_is_utf8(env));
    let symbols: Symbols = if ascii { theme::ASCII } else { theme::UNICODE };
    Theme::load(&display.theme, ColorMode::detect(env), symbols)
}
