//! The cockpit's state: plain data, changed only by [`State::update`].
//!
//! Everything the screen draws is here, and everything here is a fold of
//! [`Action`]s, so a journal of actions rebuilds it exactly.

mod endpoint;
mod gauges;
mod history;
mod run;
mod series;
mod thresholds;
mod update;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use endpoint::{EndpointState, Freshness};
pub use history::History;
pub use run::{Prompt, RunView};
pub use series::{GROWTH_MIN_SPAN_SECS, GROWTH_WINDOW_SECS, Metric, Point, Projection, SeriesId, bucket_max, project};
pub use thresholds::{Level, Limits, Thresholds};
pub use update::{Effect, READ_ONLY};

use crate::events::{Action, ChecksumProgress, LogEntry, Outline, Pane, StepStatus};

/// How many points each series keeps (one hour at the default 1 s interval).
pub const SERIES_CAPACITY: usize = 3600;
/// How many event-log lines are kept on screen.
pub const LOG_CAPACITY: usize = 1000;
/// The default gauge interval.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// The write pause: from the step that stops writes to the one that lets them go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WritePause {
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
}

/// What the operator is looking at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiState {
    pub focus: Pane,
    pub zoom: Option<Pane>,
    pub help: bool,
    pub quit: bool,
    /// Lines scrolled back from the newest in the event log.
    pub log_scroll: usize,
    /// First visible row of the runbook list when scrolled by hand.
    pub runbook_scroll: usize,
    pub size: (u16, u16),
}

impl Default for UiState {
    fn default() -> Self {
        Self { focus: Pane::Lag, zoom: None, help: false, quit: false, log_scroll: 0, runbook_scroll: 0, size: (0, 0) }
    }
}

#[derive(Clone, Debug)]
pub struct State {
    /// The cockpit's clock: the time of the last tick.
    pub now: Option<DateTime<Utc>>,
    /// The first tick: the start of the session.
    pub started: Option<DateTime<Utc>>,
    /// What the header calls this session when there is no runbook.
    pub title: String,
    pub outline: Option<Outline>,
    pub steps: HashMap<String, StepStatus>,
    /// The step most recently started.
    pub current_step: Option<String>,
    /// The latest write pause (a rollback after the switch pauses again).
    pub write_pause: Option<WritePause>,
    /// The write pauses that ended before it, oldest first.
    pub earlier_pauses: Vec<WritePause>,
    pub endpoints: BTreeMap<String, EndpointState>,
    pub series: BTreeMap<SeriesId, History<Point>>,
    pub checksum: Option<ChecksumProgress>,
    pub log: History<LogEntry>,
    pub ui: UiState,
    /// The live run, when one is attached.
    pub run: RunView,
    pub thresholds: Thresholds,
    pub sample_interval: Duration,
    /// Set when the screen plays a journal back (`cutover replay`): read-only.
    pub replay: Option<crate::events::ReplayStatus>,
    /// Set when the screen only observes (`follow`, `watch --read-only`): the header's label.
    pub observer: Option<String>,
}

impl State {
    #[must_use]
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            now: None,
            started: None,
            title: title.into(),
            outline: None,
            steps: HashMap::new(),
            current_step: None,
            write_pause: None,
            earlier_pauses: Vec::new(),
            endpoints: BTreeMap::new(),
            series: BTreeMap::new(),
            checksum: None,
            log: History::new(LOG_CAPACITY),
            ui: UiState::default(),
            run: RunView::default(),
            thresholds: Thresholds::default(),
            sample_interval: DEFAULT_SAMPLE_INTERVAL,
            replay: None,
            observer: None,
        }
    }

    /// A state built by folding actions from a fresh start.
    #[must_use]
    pub fn from_actions<'a>(title: &str, actions: impl IntoIterator<Item = &'a Action>) -> Self {
        let mut state = Self::new(title);
        for action in actions {
            state.update(action);
        }
        state
    }

    /// How a step stands (pending when nothing was heard of it).
    #[must_use]
    pub fn step_status(&self, id: &str) -> StepStatus {
        self.steps.get(id).copied().unwrap_or_default()
    }

    /// The phase being worked on: the one of the most recent step, else the
    /// first phase with work left.
    #[must_use]
    pub fn current_phase(&self) -> Option<(usize, &crate::events::OutlinePhase)> {
        let outline = self.outline.as_ref()?;
        if let Some(step) = &self.current_step {
            if let Some(found) = outline.phases.iter().enumerate().find(|(_, p)| p.steps.iter().any(|s| &s.id == step))
            {
                return Some(found);
            }
        }
        outline
            .phases
            .iter()
            .enumerate()
            .find(|(_, p)| !p.rollback && p.steps.iter().any(|s| self.step_status(&s.id) != StepStatus::Done))
            .or_else(|| outline.phases.iter().enumerate().next())
    }

    /// How long writes have been paused (or were, once the pause ended).
    #[must_use]
    pub fn write_pause_elapsed(&self) -> Option<chrono::Duration> {
        let pause = self.write_pause?;
        let end = pause.ended.or(self.now)?;
        Some(end - pause.started)
    }

    /// Time since the session started.
    #[must_use]
    pub fn elapsed(&self) -> Option<chrono::Duration> {
        Some(self.now? - self.started?)
    }

    /// The points of one series, oldest first.
    pub fn points(&self, id: &SeriesId) -> impl Iterator<Item = &Point> {
        self.series.get(id).into_iter().flat_map(History::iter)
    }
}
