//! A journal record as the screen's actions: the one mapping used by a live
//! run's cockpit, by `resume` (the screen rebuilt from the journal alone), and
//! by replays.

use crate::events::{Action, LogEntry, LogLevel, Record, RunEvent, StepStatus, StepUpdate, StopReason, StopState};

/// The actions one record stands for.
#[must_use]
pub fn actions(record: &Record) -> Vec<Action> {
    let at = record.at;
    let step = |step: &str, status: StepStatus| Action::Step(StepUpdate { at, step: step.to_owned(), status });
    let log = |who: &str, level: LogLevel, text: String| Action::Log(LogEntry { at, who: who.to_owned(), level, text });
    match &record.event {
        RunEvent::Started { outline, operator, host, .. } => vec![
            Action::Tick { now: at },
            Action::Runbook(outline.clone()),
            log(operator, LogLevel::Info, format!("run started on {host}")),
        ],
        RunEvent::Session { command, operator, host, .. } => {
            vec![
                Action::Tick { now: at },
                log(operator, LogLevel::Info, format!("{command} session started on {host}")),
            ]
        }
        // The operator must notice a drill's fault on the gauges, live and in replay alike.
        RunEvent::Fault { .. } | RunEvent::VerifyChunk { .. } => Vec::new(),
        RunEvent::Log { who, level, text } => vec![log(who, *level, text.clone())],
        RunEvent::Resumed { operator, host, .. } => {
            vec![log(operator, LogLevel::Info, format!("run resumed on {host}"))]
        }
        RunEvent::Planned { step, shows } => vec![Action::Planned { step: step.clone(), shows: shows.clone() }],
        RunEvent::Gate { step, holds, reason } => vec![log(
            "cutover",
            if *holds { LogLevel::Info } else { LogLevel::Warn },
            format!("{step} gate {}: {reason}", if *holds { "open" } else { "closed" }),
        )],
        RunEvent::Confirmed { step, operator, typed, headless } => {
            let typed = match (typed, headless) {
                (_, true) => " (unattended: --yes)".to_owned(),
                (Some(t), false) => format!(" (typed \"{t}\")"),
                (None, false) => String::new(),
            };
            vec![log(operator, LogLevel::Info, format!("confirmed {step}{typed}"))]
        }
        RunEvent::StepStarted { step: id, .. } => vec![step(id, StepStatus::Running)],
        RunEvent::Output { step, text } => vec![Action::Output { step: step.clone(), text: text.clone() }],
        RunEvent::StepFinished { step: id, ok: true, .. } => vec![step(id, StepStatus::Done)],
        RunEvent::StepFinished { step: id, ok: false, summary, .. } => {
            vec![step(id, StepStatus::Failed), log("cutover", LogLevel::Error, format!("{id}: {summary}"))]
        }
        RunEvent::StepStopped { step: id, why, state, summary, .. } => {
            let status = match (why, state) {
                (StopReason::Timeout | StopReason::Cancel, StopState::Stopped) => StepStatus::Failed,
                _ => StepStatus::Interrupted,
            };
            let level = if *state == StopState::Stopped { LogLevel::Warn } else { LogLevel::Error };
            vec![step(id, status), log("cutover", level, format!("{id}: {summary}"))]
        }
        RunEvent::Interrupted { step: id } => vec![step(id, StepStatus::Interrupted)],
        RunEvent::RecoveryTime { phase, seconds } => vec![log(
            "cutover",
            LogLevel::Info,
            format!("phase {phase}: recovery time {} (restore + replay)", crate::format::seconds(*seconds)),
        )],
        RunEvent::RestorePoint { step: id, endpoint, name, lsn } => {
            vec![log("cutover", LogLevel::Info, format!("{id}: restore point {name} on {endpoint} at {lsn}"))]
        }
        RunEvent::Rerun { step: id, operator } => {
            vec![step(id, StepStatus::Pending), log(operator, LogLevel::Info, format!("{id} will run again"))]
        }
        RunEvent::Skipped { step: id, operator, reason } => {
            vec![step(id, StepStatus::Skipped), log(operator, LogLevel::Warn, format!("{id} skipped: {reason}"))]
        }
        RunEvent::Rollback { operator, reason } => vec![log(operator, LogLevel::Warn, format!("ROLLBACK: {reason}"))],
        RunEvent::Paused { reason } => vec![log("cutover", LogLevel::Warn, format!("run paused: {reason}"))],
        RunEvent::Sample { sample } => vec![Action::Sample(sample.clone())],
        RunEvent::Checksum { progress } => vec![Action::Checksum(progress.clone())],
        RunEvent::Awaiting { awaiting } => vec![Action::Awaiting(awaiting.clone())],
        RunEvent::Finished { outcome } => {
            vec![log("cutover", LogLevel::Info, format!("run {}", crate::events::name_of(outcome).replace('_', " ")))]
        }
    }
}
