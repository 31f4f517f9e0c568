//! The state a replay (or an export, or a follower) folds a journal into.

use crate::events::{Record, RunEvent};
use crate::journal::SAMPLE_EVERY;
use crate::state::State;

/// The state a replay folds into: titled after the runbook (or the recorded
/// session), with the
/// inventory's thresholds when its file is still there. Samples are journalled
/// at most every [`SAMPLE_EVERY`], so figures count as stale only after three
/// of those, not after three live intervals.
#[must_use]
pub fn base_state(path: &std::path::Path, records: &[Record]) -> State {
    let started = records.iter().find_map(|r| match &r.event {
        RunEvent::Started { outline, inventory, .. } => Some((outline.name.clone(), inventory.clone())),
        RunEvent::Session { title, .. } => Some((title.clone(), None)),
        _ => None,
    });
    let title = started.as_ref().map_or_else(|| path.display().to_string(), |(name, _)| name.clone());
    let mut state = State::new(title);
    state.sample_interval = SAMPLE_EVERY;
    let inventory = started.and_then(|(_, inventory)| inventory);
    if let Some(inventory) = inventory.and_then(|p| crate::inventory::load(std::path::Path::new(&p)).ok()) {
        state.thresholds = inventory.thresholds;
        state.sample_interval = inventory.interval.max(SAMPLE_EVERY);
    }
    state
}
