//! What a runbook run records: every event goes to the journal, and the run's
//! state (which steps are done, whether it is rolling back) is a fold of them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ChecksumProgress, Outline, Sample};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every forward step is done.
    Completed,
    /// The rollback phase ran to its end.
    RolledBack,
}

/// Why cutover stopped a running step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Its timeout passed.
    Timeout,
    /// The operator cancelled it (`x`).
    Cancel,
    /// cutover was told to quit (`q`, Ctrl-C, SIGTERM, SIGHUP, the link dropped).
    Quit,
}

/// What became of a step cutover tried to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopState {
    /// It ended: its statement was cancelled on the server, its processes are
    /// gone. What it did before that stays done.
    Stopped,
    /// It still runs: its process group outlived SIGKILL, or its backend still
    /// runs the statement.
    StillRunning,
    /// cutover cannot tell (the endpoint did not answer, or the step's kind
    /// cannot be cancelled from here).
    Unknown,
}

/// One event of a run.
// Events are written once and read once; boxing the sample buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum RunEvent {
    /// The run began. Everything needed to resume it, except secrets.
    Started {
        /// The runbook file, absolute.
        runbook: String,
        /// SHA-256 of the runbook's text: a resume refuses a changed runbook.
        runbook_sha256: String,
        /// The inventory file, absolute.
        inventory: Option<String>,
        /// `--var` overrides.
        #[serde(default)]
        vars: Vec<(String, String)>,
        /// `--var-env` overrides: the variable and the environment variable
        /// it is read from, never the value.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        var_env: Vec<(String, String)>,
        operator: String,
        host: String,
        pid: u32,
        headless: bool,
        /// `--allow-manual`: under `--yes`, manual steps pass by themselves.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        allow_manual: bool,
        /// Where each endpoint is (kind, user, hosts, ports, database; no
        /// secret): a resume against other ones is refused unless told.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        endpoints: BTreeMap<String, String>,
        outline: Outline,
    },
    /// A recorded session that runs no runbook began (`watch`, `verify`):
    /// what it watches, and who.
    Session {
        /// The subcommand: `watch`, `verify`.
        command: String,
        /// What the screen is titled.
        title: String,
        operator: String,
        host: String,
        pid: u32,
    },
    /// A drill injected a fault (the simulator only). Not shown on the screen —
    /// noticing it is the drill — but kept for the report, which measures how
    /// long the operator took to react.
    Fault {
        /// The fault's name in the scenario (`replication-stall`, …).
        fault: String,
        /// What happens, in words.
        text: String,
    },
    /// A line for the event log that is no step's output: a collector's
    /// warning, a server's complaint (the simulator's, in a drill).
    Log {
        who: String,
        level: super::LogLevel,
        text: String,
    },
    /// A chunk of a recorded `cutover verify` (planned or finished), as the
    /// verification engine writes and reads it to skip finished chunks.
    VerifyChunk {
        chunk: serde_json::Value,
    },
    /// The run continues in a new process.
    Resumed {
        operator: String,
        host: String,
        pid: u32,
        headless: bool,
        /// `--allow-manual`, as in [`RunEvent::Started`].
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        allow_manual: bool,
        /// `--retarget`: what changed since the run started (endpoints, or
        /// what steps will execute) that the operator accepted.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        retargeted: Vec<String>,
        /// With `retargeted`: where the endpoints are from now on.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        endpoints: BTreeMap<String, String>,
    },
    /// What a step will execute, and where, resolved (secrets masked).
    Planned {
        step: String,
        shows: Vec<String>,
    },
    /// A gate was evaluated (recorded when its verdict changes and at confirmation).
    Gate {
        step: String,
        holds: bool,
        reason: String,
    },
    /// The operator said go. `typed`: the endpoint name typed for a destructive
    /// step. `headless`: nobody did — `--yes` ran it unattended (then nothing
    /// was typed).
    Confirmed {
        step: String,
        operator: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        typed: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        headless: bool,
    },
    StepStarted {
        step: String,
        attempt: u32,
    },
    /// A line of what the step printed or the database answered.
    Output {
        step: String,
        text: String,
    },
    StepFinished {
        step: String,
        attempt: u32,
        ok: bool,
        summary: String,
    },
    /// A phase marked `recovery_time` finished its last step: how long it
    /// took from its first step's start (a restore and its replay: the RTO).
    RecoveryTime {
        phase: String,
        seconds: f64,
    },
    /// A step made a named restore point (`pg_create_restore_point`): a
    /// point-in-time recovery can stop exactly there.
    RestorePoint {
        step: String,
        endpoint: String,
        name: String,
        /// Where it is in the WAL.
        lsn: String,
    },
    /// cutover stopped a running step (its timeout, the operator's cancel, or
    /// cutover quitting) and says what became of it. Its work may have partly
    /// taken effect: a step stopped by a quit, or one that may still run, is
    /// held for the operator on resume unless it only reads.
    StepStopped {
        step: String,
        attempt: u32,
        why: StopReason,
        state: StopState,
        summary: String,
    },
    /// Started but never seen to finish (found on resume).
    Interrupted {
        step: String,
    },
    /// The operator chose to run a failed or interrupted step again.
    Rerun {
        step: String,
        operator: String,
    },
    /// The operator chose not to run a step (e.g. done by hand).
    Skipped {
        step: String,
        operator: String,
        reason: String,
    },
    /// The run goes to the rollback phase.
    Rollback {
        operator: String,
        reason: String,
    },
    /// The operator or the process stopped the run's process (it can resume).
    Paused {
        reason: String,
    },
    /// A gauge sample (recorded at a bounded rate). Nested, not flattened:
    /// a sample has its own `at`.
    Sample {
        sample: Sample,
    },
    /// Verification progress (recorded at a bounded rate).
    Checksum {
        progress: ChecksumProgress,
    },
    /// The run is over.
    Finished {
        outcome: RunOutcome,
    },
    /// What the run waits for now (the prompt line: "next: 4.4 …, awaiting"),
    /// journaled when it changes so that a replay shows the line the
    /// operator saw.
    Awaiting {
        awaiting: Awaiting,
    },
}

impl RunEvent {
    /// Apply `f` to every free-text field: what a step printed or said, reasons,
    /// errors, log lines — where a secret could turn up. Ids, names, keys,
    /// paths, numbers and times are not text: the journal's folds, a resume and
    /// a verification's re-run match on them. Exhaustive on purpose: a new
    /// event does not compile until its text fields are decided here.
    pub fn texts_mut(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            // What resume needs to start again (paths, `--var`s, the outline
            // of the runbook's own text) and who ran it.
            Self::Started {
                runbook: _,
                runbook_sha256: _,
                inventory: _,
                vars: _,
                var_env: _,
                operator: _,
                host: _,
                pid: _,
                headless: _,
                allow_manual: _,
                endpoints: _,
                outline: _,
            }
            | Self::Confirmed { step: _, operator: _, typed: _, headless: _ }
            | Self::StepStarted { step: _, attempt: _ }
            // A restore point's name is what a recovery is told: kept as made.
            | Self::RestorePoint { step: _, endpoint: _, name: _, lsn: _ }
            | Self::RecoveryTime { phase: _, seconds: _ }
            | Self::Interrupted { step: _ }
            | Self::Rerun { step: _, operator: _ }
            | Self::Finished { outcome: _ }
            | Self::Awaiting { awaiting: Awaiting::Confirm { step: _ } | Awaiting::Running { step: _ } }
            | Self::Awaiting { awaiting: Awaiting::Over { outcome: _ } } => {}
            Self::Awaiting { awaiting: Awaiting::Decide { step: _, why } } => f(why),
            Self::Session { command: _, title, operator: _, host: _, pid: _ } => f(title),
            Self::Fault { fault: _, text } | Self::Log { who: _, level: _, text } | Self::Output { step: _, text } => {
                f(text);
            }
            // Table names and row keys a re-run of the verification matches on.
            Self::VerifyChunk { chunk: _ } => {}
            Self::Planned { step: _, shows } => shows.iter_mut().for_each(f),
            Self::Gate { step: _, holds: _, reason }
            | Self::Skipped { step: _, operator: _, reason }
            | Self::Rollback { operator: _, reason }
            | Self::Paused { reason } => f(reason),
            Self::StepFinished { step: _, attempt: _, ok: _, summary }
            | Self::StepStopped { step: _, attempt: _, why: _, state: _, summary } => f(summary),
            // The endpoints are pins a later resume compares (no secret in
            // them); what the operator accepted is text.
            Self::Resumed { operator: _, host: _, pid: _, headless: _, allow_manual: _, retargeted, endpoints: _ } => {
                retargeted.iter_mut().for_each(f)
            }
            Self::Sample { sample } => sample.texts_mut(f),
            // Table names and figures.
            Self::Checksum { progress: _ } => {}
        }
    }

    /// Events after which the journal is synced to disk.
    #[must_use]
    pub fn is_boundary(&self) -> bool {
        !matches!(
            self,
            Self::Output { .. }
                | Self::Sample { .. }
                | Self::Checksum { .. }
                | Self::Gate { .. }
                | Self::Fault { .. }
                | Self::Log { .. }
                | Self::VerifyChunk { .. }
                | Self::Awaiting { .. }
        )
    }
}

/// What a run waits for, as the screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "awaiting")]
pub enum Awaiting {
    /// The operator's confirmation of this step.
    Confirm { step: String },
    /// This step is running.
    Running { step: String },
    /// The operator's decision on a failed or interrupted step: re-run, skip, or roll back.
    Decide { step: String, why: String },
    /// Nothing: the run is over.
    Over { outcome: RunOutcome },
}

/// What the operator asks of a live run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunCommand {
    /// Run this step; `typed` is the endpoint name typed for a destructive one.
    Confirm {
        step: String,
        typed: Option<String>,
    },
    /// Stop the running step.
    Cancel,
    /// Go to the rollback phase.
    Rollback,
    Rerun {
        step: String,
    },
    Skip {
        step: String,
    },
}

/// A journal line: when, and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: RunEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_flat_json_lines() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc);
        let record = Record { at, event: RunEvent::StepStarted { step: "2.1".into(), attempt: 1 } };
        let line = serde_json::to_string(&record).unwrap();
        assert_eq!(line, r#"{"at":"2026-11-21T10:00:00Z","event":"step_started","step":"2.1","attempt":1}"#);
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), record);
    }

    #[test]
    fn a_sample_keeps_its_own_time_apart_from_the_record_s() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc);
        let sample = Sample {
            at,
            endpoint: "source".into(),
            kind: super::super::EndpointKind::Postgres,
            reading: super::super::Reading::Unreachable { error: "refused".into() },
        };
        let progress = ChecksumProgress { at, tables: Vec::new() };
        for event in [RunEvent::Sample { sample }, RunEvent::Checksum { progress }] {
            let record = Record { at, event };
            let line = serde_json::to_string(&record).unwrap();
            assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), record, "{line}");
        }
    }

    #[test]
    fn a_drill_fault_and_a_session_are_flat_lines_too() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc);
        let fault = RunEvent::Fault { fault: "replication-stall".into(), text: "apply stops".into() };
        let line = serde_json::to_string(&Record { at, event: fault.clone() }).unwrap();
        assert_eq!(
            line,
            r#"{"at":"2026-11-21T10:00:00Z","event":"fault","fault":"replication-stall","text":"apply stops"}"#
        );
        assert!(!fault.is_boundary(), "a fault is not a step boundary");
        let session = RunEvent::Session {
            command: "watch".into(),
            title: "watch prod".into(),
            operator: "ana".into(),
            host: "jump1".into(),
            pid: 7,
        };
        let line = serde_json::to_string(&Record { at, event: session.clone() }).unwrap();
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap().event, session, "{line}");
    }
}
