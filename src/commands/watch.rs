//! `cutover watch --inventory FILE`: the cockpit's gauges on real servers,
//! optionally recorded (`--journal`) and marked as an observer's (`--read-only`).

use std::path::Path;

use chrono::Utc;
use color_eyre::eyre::Result;
use tokio::sync::mpsc;

use crate::cli::DisplayArgs;
use crate::collect;
use crate::events::{Action, LogLevel, RunEvent};
use crate::journal::{CHECKSUM_EVERY, Hub, OnJournalError, Recorder, SAMPLE_EVERY, Writer};
use crate::state::State;

pub async fn run(display: &DisplayArgs, inventory: &Path, journal: Option<&Path>, read_only: bool) -> Result<i32> {
    let theme = super::theme_for(display)?;
    let inventory = crate::inventory::load(inventory)?;
    let title = format!("watch {}", inventory.name);
    let mut state = State::new(&title);
    state.thresholds = inventory.thresholds;
    state.sample_interval = inventory.interval;
    if read_only {
        state.update(&Action::Observe("WATCH · read-only".to_owned()));
    }
    let recorder = match journal {
        Some(path) => {
            let mut writer = Writer::create(path)?;
            writer.scrub(inventory.secrets());
            Some(Recorder::new(writer, SAMPLE_EVERY, CHECKSUM_EVERY))
        }
        None => None,
    };

    // The collectors feed the journal (when recording) and then the screen.
    let (screen_tx, rx) = mpsc::channel(1024);
    let mut hub = Hub::new(recorder, OnJournalError::StopRecording);
    hub.screen(screen_tx);
    let operator = crate::operator::default_operator();
    let session = RunEvent::Session {
        command: "watch".to_owned(),
        title,
        operator,
        host: crate::operator::hostname(),
        pid: std::process::id(),
    };
    let now = Utc::now();
    hub.record(now, session)?;
    for warning in &inventory.warnings {
        let event = RunEvent::Log { who: "cutover".into(), level: LogLevel::Warn, text: warning.clone() };
        hub.record(now, event)?;
    }
    let (tx, mut collected) = mpsc::channel(1024);
    let mut tasks = collect::spawn(inventory.endpoints.clone(), inventory.interval, &tx);
    tasks.push(tokio::spawn(collect::clock(tx.clone())));
    drop(tx);
    tasks.push(tokio::spawn(async move {
        while let Some(action) = collected.recv().await {
            if hub.observed(action).is_err() || hub.screen_gone() {
                return;
            }
        }
    }));
    let result = crate::app::run(state, theme, rx, None).await;
    for task in tasks {
        task.abort();
    }
    if let Some(path) = journal {
        eprintln!("session recorded in {}: `cutover replay {}` plays it back", path.display(), path.display());
    }
    result.map(|()| 0)
}
