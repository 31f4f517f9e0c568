//! The event vocabulary every part of cutover speaks.
//!
//! Collectors and the simulator publish [`Sample`]s, the runbook publishes its
//! [`Outline`] and [`StepUpdate`]s, the keyboard becomes UI actions — and all of
//! them travel as one [`Action`] type. The screen's state is a fold of actions,
//! which is what makes the journal, resume, replay and reports possible.
//!
//! This module depends on nothing else in the crate, so every layer may use it.

mod action;
mod backup;
mod outline;
mod run;
mod sample;
#[cfg(test)]
pub(crate) mod test_support;

pub use action::{Action, LogEntry, LogLevel, Pane, PromptKey, ReplayStatus};
pub use backup::{ArchiveReading, BackupInfo, BackupReading, seconds_since};
pub use outline::{Outline, OutlinePhase, OutlineStep, StepStatus, StepUpdate};
pub use run::{Awaiting, Record, RunCommand, RunEvent, RunOutcome, StopReason, StopState};
pub use sample::{
    BouncerPool, ChecksumProgress, DiskReading, EndpointKind, EndpointSample, HIDDEN_SESSIONS, LinkKind, MemberSelf,
    MysqlServer, OutgoingPool, PoolReading, Reading, ReplicationLink, Role, Sample, TableProgress, TableState,
};

/// The name a unit variant has in JSON (`primary`, `missing_on_target`, …),
/// so text output and JSON always say the same word.
#[must_use]
pub fn name_of<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_json_words() {
        assert_eq!(name_of(&LinkKind::Subscription), "subscription");
        assert_eq!(name_of(&Role::Publisher), "publisher");
    }
}
