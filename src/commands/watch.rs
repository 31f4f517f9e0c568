//! `cutover watch --inventory FILE`: the cockpit's gauges on real servers.

use std::path::Path;

use color_eyre::eyre::Result;
use tokio::sync::mpsc;

use crate::cli::DisplayArgs;
use crate::collect;
use crate::events::{Action, LogEntry, LogLevel};
use crate::state::State;

pub async fn run(display: &DisplayArgs, inventory: &Path) -> Result<i32> {
    let theme = super::theme_for(display)?;
    let inventory = crate::inventory::load(inventory)?;
    let mut state = State::new(format!("watch {}", inventory.name));
    state.thresholds = inventory.thresholds;
    state.sample_interval = inventory.interval;

    let (tx, rx) = mpsc::channel(1024);
    for warning in &inventory.warnings {
        let entry =
            LogEntry { at: chrono::Utc::now(), who: "cutover".into(), level: LogLevel::Warn, text: warning.clone() };
        state.update(&Action::Log(entry));
    }
    let mut tasks = collect::spawn(inventory.endpoints.clone(), inventory.interval, &tx);
    tasks.push(tokio::spawn(collect::clock(tx.clone())));
    drop(tx);
    let result = crate::app::run(state, theme, rx, None).await;
    for task in tasks {
        task.abort();
    }
    result.map(|()| 0)
}
