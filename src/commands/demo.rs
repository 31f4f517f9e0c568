//! `cutover demo`: the cockpit on the simulator.

use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use crate::cli::{DemoArgs, DisplayArgs};
use crate::events::Action;
use crate::journal::{Hub, OnJournalError, Recorder, Writer};
use crate::runbook::runner::Runner;
use crate::sim::{self, Simulator};
use crate::state::State;

pub async fn run(display: &DisplayArgs, args: &DemoArgs) -> Result<i32> {
    let theme = super::theme_for(display)?;
    let scenario = sim::scenario::by_name(&args.scenario).ok_or_else(|| eyre!("no scenario \"{}\"", args.scenario))?;
    let runbook = crate::runbook::demo()?;
    let outline = runbook.outline.clone();
    let interval = Duration::from_millis(args.interval_ms);

    let mut state = State::new(&outline.name);
    state.sample_interval = interval;
    state.update(&Action::Runbook(outline.clone()));

    if let Some(n) = args.fleet {
        return fleet(theme, runbook, args, usize::from(n), interval).await;
    }
    let simulator = Simulator::new(scenario, args.seed, Utc::now());
    if args.interactive {
        // The demo runbook run by the operator: the same driver as `cutover run`.
        let operator = args.operator.clone().unwrap_or_else(crate::operator::default_operator);
        let journal = args.journal.as_deref().map(Writer::create).transpose()?;
        let runner = Runner::drill(simulator.unscripted(), runbook, operator, journal, interval, args.speed)?;
        let code = super::run::cockpit(display, runner, None).await;
        recorded(args);
        return code.map(|_| 0);
    }

    // Every sample and every progress report is kept: the sampling interval
    // is the drill's rate bound, and the replay shows what the operator saw.
    let journal = match &args.journal {
        Some(path) => Some(Recorder::new(Writer::create(path)?, interval, interval)),
        None => None,
    };
    let (tx, rx) = mpsc::channel(256);
    let mut hub = Hub::new(journal, OnJournalError::StopRecording);
    hub.screen(tx);
    let started = crate::runbook::simulated::started(&outline, "simulator", true);
    let producer = tokio::spawn(sim::run(simulator, started, interval, args.speed, hub));
    let result = crate::app::run(state, theme, rx, None).await;
    producer.abort();
    recorded(args);
    result.map(|()| 0)
}

fn recorded(args: &DemoArgs) {
    if let Some(path) = &args.journal {
        eprintln!("drill recorded in {}: `cutover replay {}` plays it back", path.display(), path.display());
    }
}

/// `demo --fleet N`: the fleet cockpit over simulated shards, journaled into
/// a scratch directory (gone when the demo ends).
async fn fleet(
    theme: crate::theme::Theme,
    runbook: crate::runbook::Runbook,
    args: &DemoArgs,
    n: usize,
    interval: Duration,
) -> Result<i32> {
    let scratch = tempfile::Builder::new()
        .prefix("cutover-demo-fleet-")
        .tempdir()
        .map_err(|e| eyre!("cannot make a scratch directory: {e}"))?;
    let fleet = crate::fleet::drill::fleet(n, scratch.path());
    let members = crate::fleet::drill::DrillMembers { runbook, interval, speed: args.speed, seed: args.seed };
    let operator = args.operator.clone().unwrap_or_else(|| "simulator".to_owned());
    let driver = crate::fleet::driver::Driver::new(fleet, members, operator)?;
    crate::app::fleet::run(driver, theme, args.interactive).await.map(|_| 0)
}
