//! Every change to the cockpit's state is an [`Action`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Awaiting, ChecksumProgress, Outline, Sample, StepUpdate};

/// The panes of the screen, in focus order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pane {
    Lag,
    Pool,
    Disk,
    Checksum,
    Runbook,
    Log,
}

impl Pane {
    pub const ALL: [Pane; 6] = [Self::Lag, Self::Pool, Self::Disk, Self::Checksum, Self::Runbook, Self::Log];

    /// The pane's title as the screen shows it.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Lag => "Replication lag",
            Self::Pool => "Pool saturation",
            Self::Disk => "Disk headroom",
            Self::Checksum => "Checksum",
            Self::Runbook => "Runbook",
            Self::Log => "Events",
        }
    }

    #[must_use]
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    #[must_use]
    pub fn prev(self) -> Self {
        let i = Self::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Self::ALL[(i + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// How much an event-log line matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// One line of the event log: who did what, and what the databases said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub who: String,
    pub level: LogLevel,
    pub text: String,
}

/// A change to the cockpit's state. Serialisable, so that a journal of actions
/// rebuilds the screen exactly.
// Actions are moved once, through a channel, into the fold: boxing the large
// variants would add an allocation per sample and buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// The clock moved. Carries the time so that replays and tests control it.
    Tick {
        now: DateTime<Utc>,
    },
    /// A gauge sample from a collector or the simulator.
    Sample(Sample),
    /// Verification progress.
    Checksum(ChecksumProgress),
    /// The runbook the cockpit is following.
    Runbook(Outline),
    /// A step changed status.
    Step(StepUpdate),
    /// A line for the event log.
    Log(LogEntry),
    /// A drill's fault began (the simulator's): journaled for the report,
    /// never shown.
    Fault {
        at: DateTime<Utc>,
        fault: String,
        text: String,
    },
    /// What a step will execute and where (resolved, secrets masked).
    Planned {
        step: String,
        shows: Vec<String>,
    },
    /// A line a running step printed.
    Output {
        step: String,
        text: String,
    },
    /// What the live run waits for; the operator can act on the runbook.
    Awaiting(Awaiting),
    /// Confirm the step the run waits for (asks first).
    Go,
    /// Go to the rollback phase (asks first).
    RollbackAsk,
    /// Cancel the running step (asks first).
    CancelAsk,
    /// A key typed into an open prompt.
    Prompt(PromptKey),
    /// The terminal changed size.
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Move focus to the next / previous pane.
    FocusNext,
    FocusPrev,
    /// Move focus spatially.
    FocusLeft,
    FocusRight,
    FocusUp,
    FocusDown,
    /// Zoom the focused pane (or a given one) to full screen with its history.
    Zoom {
        pane: Option<Pane>,
    },
    /// Show or hide the key help.
    ToggleHelp,
    /// Close the open overlay (help, zoom).
    Back,
    /// Scroll the focused list.
    ScrollUp,
    ScrollDown,
    /// Close an overlay if one is open; otherwise leave.
    Quit,
    /// Leave now, whatever is open.
    ForceQuit,
    /// A replay's transport (playing or paused, speed) for the header; `cutover replay` only.
    Replay(ReplayStatus),
    /// The screen only observes (`follow`, `watch --read-only`): the header
    /// says so with this label, and keys that would act on a run are refused.
    Observe(String),
}

/// Where a replay stands, as the header shows it. A replay is read-only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayStatus {
    pub playing: bool,
    /// Journal time per real time.
    pub speed: f64,
    /// A one-line answer to a key the replay refuses (e.g. "replay: read-only").
    pub notice: Option<String>,
    /// Where the replay stands and how long the journal is, in seconds from its start.
    #[serde(default)]
    pub position_secs: u64,
    #[serde(default)]
    pub length_secs: u64,
}

/// Keys an open prompt takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKey {
    Char(char),
    Backspace,
    Enter,
    Esc,
}

impl Action {
    /// Whether this key's action would act on a run (confirm, cancel, roll
    /// back, answer a prompt): what a replay or an observer refuses.
    #[must_use]
    pub fn acts_on_a_run(&self) -> bool {
        matches!(self, Self::Go | Self::RollbackAsk | Self::CancelAsk | Self::Prompt(_))
    }

    /// Whether this action comes from the operator's keyboard (and so deserves
    /// an immediate redraw) rather than from data.
    #[must_use]
    pub fn is_input(&self) -> bool {
        !matches!(
            self,
            Self::Tick { .. }
                | Self::Sample(_)
                | Self::Checksum(_)
                | Self::Runbook(_)
                | Self::Step(_)
                | Self::Log(_)
                | Self::Planned { .. }
                | Self::Output { .. }
                | Self::Awaiting(_)
                | Self::Replay(_)
        )
    }
}
