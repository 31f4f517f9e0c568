//! `cutover demo`: the cockpit on the simulator.

use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use crate::cli::{DemoArgs, DisplayArgs};
use crate::events::Action;
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
    state.update(&Action::Runbook(outline));

    let (tx, rx) = mpsc::channel(256);
    let simulator = Simulator::new(scenario, args.seed, Utc::now());
    if args.interactive {
        let operator = args.operator.clone().unwrap_or_else(crate::runbook::runner::default_operator);
        let drive = sim::Drive::new(simulator.unscripted(), runbook, operator, tx)?;
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let producer = tokio::spawn(drive.run(interval, args.speed, cmd_rx));
        let result = crate::app::run(state, theme, rx, Some(cmd_tx)).await;
        producer.abort();
        return result.map(|()| 0);
    }
    let producer = tokio::spawn(sim::run(simulator, interval, args.speed, tx));
    let result = crate::app::run(state, theme, rx, None).await;
    producer.abort();
    result.map(|()| 0)
}
