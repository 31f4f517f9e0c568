//! `cutover follow JOURNAL`: a second engineer's view of a run in progress —
//! the operator's screen rebuilt from the journal as it grows, read-only.
//! The journal is the only link: nothing connects to a database, and nothing
//! the follower presses reaches the run.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use tokio::sync::mpsc;

use crate::cli::DisplayArgs;
use crate::events::{Action, LogEntry, LogLevel, Record, RunEvent};
use crate::journal::{self, Tail};
use crate::replay::base_state;

/// How often the journal is read for new records.
const POLL: Duration = Duration::from_millis(250);
/// How often the clock moves while the run goes on.
const CLOCK: Duration = Duration::from_secs(1);

pub async fn run(display: &DisplayArgs, path: &Path) -> Result<i32> {
    let theme = super::theme_for(display)?;
    let mut tail = Tail::new(path);
    let records = tail.poll()?;
    let mut state = base_state(path, &records);
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    state.update(&Action::Observe(format!("FOLLOW {name} · read-only")));
    let mut over = None;
    for record in &records {
        over = over.or(finished(record));
        for action in journal::actions(record) {
            state.update(&action);
        }
    }
    state.update(&Action::Tick { now: over.unwrap_or_else(Utc::now) });
    let (tx, rx) = mpsc::channel(1024);
    let producer = tokio::spawn(follow(tail, over, tx));
    let result = crate::app::run(state, theme, rx, None).await;
    producer.abort();
    result.map(|()| 0)
}

/// When a record ends the run.
fn finished(record: &Record) -> Option<DateTime<Utc>> {
    matches!(record.event, RunEvent::Finished { .. }).then_some(record.at)
}

/// Read what the run appends and send it to the screen; the clock follows
/// the wall until the run is over, then stays at its end.
async fn follow(mut tail: Tail, mut over: Option<DateTime<Utc>>, tx: mpsc::Sender<Action>) {
    let mut poll = tokio::time::interval(POLL);
    let mut last_tick = tokio::time::Instant::now();
    loop {
        poll.tick().await;
        let mut actions = Vec::new();
        match tail.poll() {
            Ok(records) => {
                for record in &records {
                    over = over.or(finished(record));
                    actions.extend(journal::actions(record));
                }
            }
            Err(error) => {
                let text = format!("cannot follow the journal any further: {error:#}");
                let _ = tx
                    .send(Action::Log(LogEntry { at: Utc::now(), who: "cutover".into(), level: LogLevel::Error, text }))
                    .await;
                return;
            }
        }
        if !actions.is_empty() || last_tick.elapsed() >= CLOCK {
            last_tick = tokio::time::Instant::now();
            actions.push(Action::Tick { now: over.unwrap_or_else(Utc::now) });
        }
        for action in actions {
            if tx.send(action).await.is_err() {
                return;
            }
        }
    }
}
