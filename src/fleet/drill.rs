//! A fleet on the simulator (`cutover demo --fleet N`): every member a drill
//! of the demo runbook against a simulated world of its own, one of them
//! misbehaving, journaled into a scratch directory like a real fleet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};

use super::driver::{Members, Opening};
use super::file::{Fleet, Inventory, Member, OnFailure, WaveSize};
use crate::journal::Writer;
use crate::runbook::runner::Runner;
use crate::runbook::simulated::Simulated;
use crate::sim::{Simulator, scenario};

/// The member that misbehaves is the last (in the last wave, so the rest of
/// the fleet is under way when it fails): its verification finds
/// differences and it is held for the operator.
#[must_use]
pub fn troubled(fleet: &Fleet) -> usize {
    fleet.members.len().saturating_sub(1)
}

/// Simulated members.
pub struct DrillMembers {
    pub runbook: crate::runbook::Runbook,
    pub interval: Duration,
    pub speed: f64,
    pub seed: u64,
}

impl Members for DrillMembers {
    type World = Simulated;

    fn open(&mut self, fleet: &Fleet, i: usize, opening: &Opening, _headless: bool) -> Result<Runner<Simulated>> {
        let Opening::New { journal } = opening else {
            return Err(eyre!("{}: a simulated member cannot go on from its journal", fleet.members[i].name));
        };
        let scenario = if i == troubled(fleet) { scenario::checksum_mismatch() } else { scenario::calm() };
        let sim = Simulator::new(scenario, self.seed.wrapping_add(i as u64), Utc::now()).unscripted();
        let writer = Writer::create(journal)?;
        Runner::drill(sim, self.runbook.clone(), "simulator".to_owned(), Some(writer), self.interval, self.speed)
    }
}

/// A fleet of `n` simulated shards in waves of 1, 3 and the rest, journaled
/// under `journals`.
#[must_use]
pub fn fleet(n: usize, journals: &Path) -> Fleet {
    let members = (0..n)
        .map(|i| Member {
            name: format!("shard-{:0width$}", i + 1, width = n.to_string().len().max(2)),
            inventory: Inventory::Expanded(String::new()),
            vars: Vec::new(),
            template_vars: std::collections::BTreeSet::new(),
        })
        .collect();
    Fleet {
        name: format!("demo fleet ({n} shards)"),
        path: PathBuf::from("demo-fleet.toml"),
        runbook: PathBuf::from(crate::runbook::DEMO_RUNBOOK.0),
        journals: journals.to_owned(),
        members,
        waves: vec![WaveSize::Count(1), WaveSize::Count(3), WaveSize::Rest],
        // Every member of a wave at once: the screen is the point.
        concurrency: n,
        stop_on_failure: true,
        max_red: None,
        on_failure: OnFailure::Hold,
    }
}
