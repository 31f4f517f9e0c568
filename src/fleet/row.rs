//! One line of the fleet screen per member: what a member's cockpit shows,
//! summed up — a pure function of the member's [`State`] and where the fleet
//! has it. `fleet status --json` prints the same rows.

use serde::Serialize;

use crate::condition::{Gauge, Gauges};
use crate::events::{Awaiting, RunOutcome, TableState};
use crate::state::State;

/// Where the fleet has a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberPhase {
    /// Its wave has not come (or the fleet stopped before it did).
    Waiting,
    /// Its run is going.
    Running,
    /// Its run stopped on a failure or an interruption and waits for a decision.
    Held,
    /// Its run rolled back.
    RolledBack,
    /// Its run completed.
    Done,
}

impl MemberPhase {
    /// The word the screen and `status --json` use.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Held => "held",
            Self::RolledBack => "rolled back",
            Self::Done => "done",
        }
    }

    /// A run outcome as a member phase.
    #[must_use]
    pub fn of_outcome(outcome: RunOutcome) -> Self {
        if outcome == RunOutcome::Completed { Self::Done } else { Self::RolledBack }
    }

    /// The member needs someone: it failed, or it rolled back.
    #[must_use]
    pub fn failed(self) -> bool {
        matches!(self, Self::Held | Self::RolledBack)
    }
}

/// How badly a member needs the operator's eyes: the fleet screen sorts the
/// worst first. Ordered from worst to best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Held or rolled back.
    Failed,
    /// Running, its next step's gate closed, or an endpoint unreachable.
    Blocked,
    /// Running, waiting for a confirmation.
    Awaiting,
    /// Running, writes paused right now.
    Paused,
    Running,
    Waiting,
    Done,
}

/// One member, as the fleet screen's row and `fleet status --json` show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberRow {
    pub name: String,
    /// The member's wave, from 1.
    pub wave: usize,
    pub phase: MemberPhase,
    pub severity: Severity,
    /// The runbook phase being worked on ("Catch-up").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook_phase: Option<String>,
    /// The step being run or waited for: id and name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<(String, String)>,
    /// What the run waits for: "confirm", "running", "decide", "over".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awaiting: Option<String>,
    /// The worst lag over the member's endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_bytes: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    /// The fullest connection pool, percent used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_used_pct: Option<f64>,
    /// The fullest disk, percent free.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_free_pct: Option<f64>,
    /// Verification: chunks done of all, and differences found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ChecksumSummary>,
    /// The gate of the step waited for, when there is one: open, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<(bool, String)>,
    /// Endpoints that do not answer right now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<String>,
    /// The write pause: seconds so far (or in all, once over) and whether it goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_pause: Option<(f64, bool)>,
    /// The last thing the member's run said went wrong, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChecksumSummary {
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub differences: u64,
    pub failed_tables: u64,
}

impl MemberRow {
    /// The row of a member the fleet has at `phase`, from its run's fold
    /// (`None`: no run yet).
    #[must_use]
    pub fn of(name: &str, wave: usize, phase: MemberPhase, state: Option<&State>, reason: Option<&str>) -> Self {
        let mut row = Self {
            name: name.to_owned(),
            wave,
            phase,
            severity: Severity::Waiting,
            runbook_phase: None,
            step: None,
            awaiting: None,
            lag_bytes: None,
            lag_seconds: None,
            pool_used_pct: None,
            disk_free_pct: None,
            checksum: None,
            gate: None,
            unreachable: Vec::new(),
            write_pause: None,
            reason: reason.map(str::to_owned),
        };
        if let Some(state) = state {
            row.fill(state);
        }
        row.severity = row.judge();
        row
    }

    fn fill(&mut self, state: &State) {
        self.runbook_phase = state.current_phase().map(|(_, p)| p.name.clone());
        let step_id = match &state.run.awaiting {
            Some(Awaiting::Confirm { step } | Awaiting::Running { step } | Awaiting::Decide { step, .. }) => {
                Some(step.clone())
            }
            _ => state.current_step.clone(),
        };
        self.awaiting = state.run.awaiting.as_ref().map(|a| {
            match a {
                Awaiting::Confirm { .. } => "confirm",
                Awaiting::Running { .. } => "running",
                Awaiting::Decide { .. } => "decide",
                Awaiting::Over { .. } => "over",
            }
            .to_owned()
        });
        if let Some(id) = step_id {
            let name = state
                .outline
                .as_ref()
                .and_then(|o| o.phases.iter().flat_map(|p| &p.steps).find(|s| s.id == id))
                .map(|s| s.name.clone())
                .unwrap_or_default();
            // A gate matters until its step starts.
            if state.step_status(&id) == crate::events::StepStatus::Pending {
                if let Some(verdict) = state.gate_verdict(&id) {
                    self.gate = Some((verdict.holds, verdict.reason));
                }
            }
            self.step = Some((id, name));
        }
        for name in state.endpoints.keys() {
            let worst = |gauge, now: Option<f64>, higher: bool| match (state.value(gauge, Some(name)).ok(), now) {
                (Some(v), Some(w)) => Some(if (v > w) == higher { v } else { w }),
                (v, w) => v.or(w),
            };
            self.lag_bytes = worst(Gauge::LagBytes, self.lag_bytes, true);
            self.lag_seconds = worst(Gauge::LagSeconds, self.lag_seconds, true);
            self.pool_used_pct = worst(Gauge::PoolUsedPct, self.pool_used_pct, true);
            self.disk_free_pct = worst(Gauge::DiskFreePct, self.disk_free_pct, false);
            if state.value(Gauge::Reachable, Some(name)).is_ok_and(|v| v == 0.0) {
                self.unreachable.push(name.clone());
            }
        }
        if let Some(progress) = &state.checksum {
            let mut sum = ChecksumSummary { chunks_done: 0, chunks_total: 0, differences: 0, failed_tables: 0 };
            for t in &progress.tables {
                sum.chunks_done += t.chunks_done;
                sum.chunks_total += t.chunks_total;
                sum.differences += t.differences;
                sum.failed_tables += u64::from(t.state == TableState::Failed);
            }
            self.checksum = Some(sum);
        }
        if let (Some(pause), Some(elapsed)) = (state.write_pause, state.write_pause_elapsed()) {
            self.write_pause = Some((elapsed.num_milliseconds() as f64 / 1000.0, pause.ended.is_none()));
        }
    }

    fn judge(&self) -> Severity {
        match self.phase {
            MemberPhase::Held | MemberPhase::RolledBack => Severity::Failed,
            MemberPhase::Done => Severity::Done,
            MemberPhase::Waiting => Severity::Waiting,
            MemberPhase::Running => {
                if self.gate.as_ref().is_some_and(|(open, _)| !open) || !self.unreachable.is_empty() {
                    Severity::Blocked
                } else if self.awaiting.as_deref() == Some("confirm") || self.awaiting.as_deref() == Some("decide") {
                    Severity::Awaiting
                } else if self.write_pause.is_some_and(|(_, going)| going) {
                    Severity::Paused
                } else {
                    Severity::Running
                }
            }
        }
    }
}

/// The fleet's counts, for the screen's header and `status --json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub members: usize,
    pub done: usize,
    pub running: usize,
    pub waiting: usize,
    pub failed: usize,
    /// Members whose writes are paused right now.
    pub paused: usize,
}

impl Totals {
    #[must_use]
    pub fn of(rows: &[MemberRow]) -> Self {
        let mut t = Self { members: rows.len(), ..Self::default() };
        for row in rows {
            match row.phase {
                MemberPhase::Done => t.done += 1,
                MemberPhase::Running => t.running += 1,
                MemberPhase::Waiting => t.waiting += 1,
                MemberPhase::Held | MemberPhase::RolledBack => t.failed += 1,
            }
            t.paused += usize::from(row.write_pause.is_some_and(|(_, going)| going));
        }
        t
    }
}

/// Worst first; within a severity, the most lag first, then by name.
pub fn sort_worst_first(rows: &mut [MemberRow]) {
    rows.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| b.lag_bytes.unwrap_or(0.0).total_cmp(&a.lag_bytes.unwrap_or(0.0)))
            .then_with(|| a.name.cmp(&b.name))
    });
}
