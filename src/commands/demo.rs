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
    let outline = crate::runbook::demo()?.outline;
    let interval = Duration::from_millis(args.interval_ms);

    let mut state = State::new(&outline.name);
    state.sample_interval = interval;
    state.update(&Action::Runbook(outline));

    let (tx, rx) = mpsc::channel(256);
    let simulator = Simulator::new(scenario, args.seed, Utc::now());
    let producer = tokio::spawn(sim::run(simulator, interval, args.speed, tx));
    let result = crate::app::run(state, theme, rx, None).await;
    producer.abort();
    result.map(|()| 0)
}
