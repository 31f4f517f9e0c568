//! What a resumed run must still point at: the endpoints (kind, user, hosts,
//! ports, database — never a secret) journaled when the run started, and what
//! each step that is still to run will execute (its `planned` record, masked).
//! An edited inventory or a changed environment would otherwise retarget the
//! rest of a run silently; `resume` refuses it unless told `--retarget`.

use std::collections::{BTreeMap, HashMap};

use super::plan::Planned;
use crate::events::{Record, RunEvent};
use crate::inventory::Inventory;

/// Each endpoint's [`crate::inventory::Endpoint::pin`], by name.
#[must_use]
pub fn endpoints(inventory: &Inventory) -> BTreeMap<String, String> {
    inventory.endpoints.iter().map(|e| (e.name.clone(), e.pin())).collect()
}

/// The endpoints the journal says the run points at: the start's, or those
/// of the last `--retarget`. Empty for a journal from before pins.
#[must_use]
pub fn journaled_endpoints(records: &[Record]) -> BTreeMap<String, String> {
    records
        .iter()
        .rev()
        .find_map(|r| match &r.event {
            RunEvent::Started { endpoints, .. } | RunEvent::Resumed { endpoints, .. } if !endpoints.is_empty() => {
                Some(endpoints.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// What differs between the journal and now, in words, for the steps
/// `still_to_run` says matter (those not done or skipped). Empty: the same.
#[must_use]
pub fn changes(
    records: &[Record],
    now: &BTreeMap<String, String>,
    planned: &[Planned],
    still_to_run: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut changes = Vec::new();
    let was = journaled_endpoints(records);
    if !was.is_empty() {
        for (name, pin) in &was {
            match now.get(name) {
                Some(now) if now != pin => changes.push(format!("endpoint {name}: was {pin}, now {now}")),
                Some(_) => {}
                None => changes.push(format!("endpoint {name}: was {pin}, now gone from the inventory")),
            }
        }
        for (name, pin) in now {
            if !was.contains_key(name) {
                changes.push(format!("endpoint {name}: new, {pin}"));
            }
        }
    }
    let mut shown: HashMap<&str, &[String]> = HashMap::new();
    for record in records {
        if let RunEvent::Planned { step, shows } = &record.event {
            shown.insert(step, shows);
        }
    }
    for p in planned {
        if !still_to_run(&p.id) {
            continue;
        }
        let will_do = |shows: &[String]| -> Vec<String> {
            shows.iter().filter(|l| !l.starts_with(super::plan::BEFORE)).cloned().collect()
        };
        match shown.get(p.id.as_str()) {
            Some(was) if will_do(was) == will_do(&p.shows) => {}
            Some(was) => changes.push(format!(
                "step {} would now run: {} (it was planned as: {})",
                p.id,
                p.shows.join(" / "),
                was.join(" / ")
            )),
            None => {}
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::plan::Resolved;

    fn record(event: RunEvent) -> Record {
        Record { at: chrono::Utc::now(), event }
    }

    #[test]
    fn what_a_repoint_reads_now_is_not_a_change_of_inputs() {
        let was = vec!["on pooler: point database app at source".to_owned(), "  before: app = port=1".to_owned()];
        let records = vec![record(RunEvent::Planned { step: "R.1".into(), shows: was })];
        let mut now = planned("R.1", "on pooler: point database app at source");
        now.shows.push("  before: app = port=2".into());
        assert!(changes(&records, &BTreeMap::new(), &[now], |_| true).is_empty());
        let elsewhere = planned("R.1", "on pooler: point database app at target");
        assert_eq!(changes(&records, &BTreeMap::new(), &[elsewhere], |_| true).len(), 1);
    }

    fn planned(id: &str, shows: &str) -> Planned {
        Planned {
            id: id.into(),
            action: Resolved::Shell { run: Default::default(), env: Default::default() },
            when: None,
            shows: vec![shows.into()],
        }
    }

    #[test]
    fn only_steps_still_to_run_and_endpoints_count_as_changes() {
        let records = vec![
            record(RunEvent::Planned { step: "1.1".into(), shows: vec!["on db: DROP TABLE old".into()] }),
            record(RunEvent::Planned { step: "1.2".into(), shows: vec!["on db: ALTER SUBSCRIPTION s".into()] }),
        ];
        let now = BTreeMap::from([("db".to_owned(), "postgres ops@10.0.0.5:5432/app".to_owned())]);
        let same = [planned("1.1", "on db: DROP TABLE old"), planned("1.2", "on db: ALTER SUBSCRIPTION s")];
        assert!(changes(&records, &now, &same, |_| true).is_empty());
        // A variable changed in the inventory: what 1.2 will run differs.
        let edited = [planned("1.1", "on db: DROP TABLE other"), planned("1.2", "on db: ALTER SUBSCRIPTION t")];
        let found = changes(&records, &now, &edited, |id| id != "1.1");
        assert_eq!(found.len(), 1, "1.1 is done: {found:?}");
        assert!(found[0].starts_with("step 1.2 would now run: on db: ALTER SUBSCRIPTION t"), "{found:?}");
        // A journal from before pins compares no endpoints.
        assert!(changes(&records, &BTreeMap::new(), &same, |_| true).is_empty());
    }
}
