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
