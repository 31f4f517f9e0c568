//! What the screen needs to know of a runbook: its phases and steps, and how
//! each step stands. The runbook module turns a runbook file into an
//! [`Outline`]; the engine (or the simulator) reports [`StepUpdate`]s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A runbook as the screen shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outline {
    pub name: String,
    pub phases: Vec<OutlinePhase>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutlinePhase {
    /// `1`, `2`, … or `R` for the rollback phase.
    pub id: String,
    pub name: String,
    pub rollback: bool,
    pub steps: Vec<OutlineStep>,
    /// How long the phase should take, in seconds (the runbook's `planned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_secs: Option<u64>,
    /// The runbook's `recovery_time`: the phase's length is a recovery time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovery_time: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutlineStep {
    /// `4.2`: phase id, dot, step number.
    pub id: String,
    pub name: String,
    /// `sql`, `shell`, `wait`, `check`, `verify`, `manual`, `mongo`.
    pub kind: String,
    /// The endpoint the step acts on, when it has one.
    pub on: Option<String>,
    pub destructive: bool,
    pub gate: Option<String>,
    pub starts_write_pause: bool,
    pub ends_write_pause: bool,
    /// How long the step should take, in seconds (the runbook's `planned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_secs: Option<u64>,
}

impl Outline {
    /// The step with this id.
    #[must_use]
    pub fn step(&self, id: &str) -> Option<&OutlineStep> {
        self.phases.iter().flat_map(|p| &p.steps).find(|s| s.id == id)
    }
}

/// How a step stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    #[default]
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
    /// Started but never seen to finish (the process died): never re-run
    /// without the operator deciding.
    Interrupted,
}

/// A step changed status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepUpdate {
    pub at: DateTime<Utc>,
    pub step: String,
    pub status: StepStatus,
}

impl OutlineStep {
    /// What confirming this step must be typed as: for a destructive step,
    /// the name of the endpoint it acts on (`yes` when it acts on none).
    #[must_use]
    pub fn confirm_word(&self) -> Option<String> {
        self.destructive.then(|| self.on.clone().unwrap_or_else(|| "yes".to_owned()))
    }
}
