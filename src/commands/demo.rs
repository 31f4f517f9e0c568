//! `cutover demo`: the cockpit on the simulator.

use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use crate::cli::{DemoArgs, DisplayArgs};
use crate::events::Action;
use crate::journal::{Feed, Recorder, Writer};
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

    // Every sample and every progress report is kept: the sampling interval
    // is the drill's rate bound, and the replay shows what the operator saw.
    let journal = match &args.journal {
        Some(path) => Some(Recorder::new(Writer::create(path)?, interval, interval)),
        None => None,
    };
    let (tx, rx) = mpsc::channel(256);
    let feed = Feed::new(tx, journal);
    let simulator = Simulator::new(scenario, args.seed, Utc::now());
    let (producer, commands) = if args.interactive {
        let operator = args.operator.clone().unwrap_or_else(crate::operator::default_operator);
        let drive = sim::Drive::new(simulator.unscripted(), runbook, operator, feed)?;
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        (tokio::spawn(drive.run(interval, args.speed, cmd_rx)), Some(cmd_tx))
    } else {
        (tokio::spawn(sim::run(simulator, outline, interval, args.speed, feed)), None)
    };
    let result = crate::app::run(state, theme, rx, commands).await;
    producer.abort();
    if let Some(path) = &args.journal {
        eprintln!("drill recorded in {}: `cutover replay {}` plays it back", path.display(), path.display());
    }
    result.map(|()| 0)
}
