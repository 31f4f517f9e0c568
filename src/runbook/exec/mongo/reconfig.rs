//! Replica-set membership changes as `rs.add()` / `rs.remove()` make them:
//! read the config, change one thing, bump its version, `replSetReconfig`.
//! One voting member is added or removed per reconfig (what MongoDB allows
//! without `force`); a change already made is skipped, so a step that was
//! interrupted can run again. The edits here are pure; the executor sends them.

use mongodb::bson::{Bson, Document, doc};

use crate::collect::mongo::number;

/// One change to a replica-set config.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A new member at `host:port` with this priority (0: never primary).
    Add {
        host: String,
        priority: f64,
    },
    /// Members' priorities, all in one reconfig (no vote changes).
    Priority(Vec<(String, f64)>),
    Remove {
        host: String,
    },
}

/// The changes of one step, in the order they are made: each member added
/// (with its priority if the step sets one), the other priorities, each
/// member removed.
#[must_use]
pub fn changes(add: &[String], remove: &[String], priority: &[(String, f64)]) -> Vec<Change> {
    let priority_of = |host: &str| priority.iter().find(|(h, _)| h == host).map(|(_, p)| *p);
    let mut out: Vec<Change> =
        add.iter().map(|h| Change::Add { host: h.clone(), priority: priority_of(h).unwrap_or(1.0) }).collect();
    let rest: Vec<(String, f64)> = priority.iter().filter(|(h, _)| !add.contains(h)).cloned().collect();
    if !rest.is_empty() {
        out.push(Change::Priority(rest));
    }
    out.extend(remove.iter().map(|h| Change::Remove { host: h.clone() }));
    out
}

impl Change {
    /// What the change does, for the operator.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Add { host, priority } => format!("add member {host} (priority {priority})"),
            Self::Priority(list) => {
                let each: Vec<String> = list.iter().map(|(h, p)| format!("{h} = {p}")).collect();
                format!("set priority {}", each.join(", "))
            }
            Self::Remove { host } => format!("remove member {host}"),
        }
    }
}

fn members(config: &Document) -> Result<&Vec<Bson>, String> {
    config.get_array("members").map_err(|_| "the replica-set config has no members array".to_owned())
}

fn host_of(member: &Bson) -> Option<&str> {
    member.as_document().and_then(|m| m.get_str("host").ok())
}

/// Apply `change` to `config` (the document `replSetGetConfig` returns under
/// `config`) and bump its version. `Ok(None)`: nothing to change (the member
/// is already there, already gone, or has that priority) — with the reason.
///
/// # Errors
/// The config is not shaped as MongoDB makes it, or a priority names a host
/// that is not a member.
pub fn apply(config: &Document, change: &Change) -> Result<Result<Document, String>, String> {
    let mut next = config.clone();
    let list = members(config)?;
    let hosts: Vec<&str> = list.iter().filter_map(host_of).collect();
    match change {
        Change::Add { host, priority } => {
            if hosts.contains(&host.as_str()) {
                return Ok(Err(format!("{host} is already a member")));
            }
            let id = list
                .iter()
                .filter_map(|m| m.as_document().and_then(|d| d.get("_id")))
                .filter_map(number)
                .map(|id| id as i64)
                .max()
                .map_or(0, |m| m + 1);
            let mut added = list.clone();
            added.push(Bson::Document(doc! { "_id": id, "host": host.as_str(), "priority": *priority, "votes": 1 }));
            next.insert("members", added);
        }
        Change::Remove { host } => {
            if !hosts.contains(&host.as_str()) {
                return Ok(Err(format!("{host} is not a member")));
            }
            let kept: Vec<Bson> = list.iter().filter(|m| host_of(m) != Some(host.as_str())).cloned().collect();
            next.insert("members", kept);
        }
        Change::Priority(wanted) => {
            if let Some((missing, _)) = wanted.iter().find(|(h, _)| !hosts.contains(&h.as_str())) {
                return Err(format!("{missing} is not a member (members: {})", hosts.join(", ")));
            }
            let mut changed = false;
            let updated: Vec<Bson> = list
                .iter()
                .map(|m| {
                    let Some(d) = m.as_document() else { return m.clone() };
                    let Some((_, p)) = wanted.iter().find(|(h, _)| Some(h.as_str()) == host_of(m)) else {
                        return m.clone();
                    };
                    let current = d.get("priority").and_then(number).unwrap_or(1.0);
                    if (current - p).abs() < f64::EPSILON {
                        return m.clone();
                    }
                    changed = true;
                    let mut d = d.clone();
                    d.insert("priority", *p);
                    Bson::Document(d)
                })
                .collect();
            if !changed {
                return Ok(Err("the priorities are already so".to_owned()));
            }
            next.insert("members", updated);
        }
    }
    let version = config.get("version").and_then(number).ok_or("the replica-set config has no version")? as i64;
    next.insert("version", i32::try_from(version + 1).map_or(Bson::Int64(version + 1), Bson::Int32));
    Ok(Ok(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Document {
        doc! {
            "_id": "rs0",
            "version": 4,
            "term": 2,
            "members": [
                { "_id": 0, "host": "a:1", "priority": 1.0, "votes": 1 },
                { "_id": 3, "host": "b:1", "priority": 1.0, "votes": 1 },
            ],
        }
    }

    fn hosts(d: &Document) -> Vec<(i64, String, f64)> {
        d.get_array("members")
            .unwrap()
            .iter()
            .map(|m| {
                let m = m.as_document().unwrap();
                let id = match m.get("_id").unwrap() {
                    Bson::Int32(v) => i64::from(*v),
                    Bson::Int64(v) => *v,
                    other => panic!("{other}"),
                };
                (id, m.get_str("host").unwrap().to_owned(), m.get_f64("priority").unwrap())
            })
            .collect()
    }

    #[test]
    fn a_step_becomes_one_change_per_vote_then_priorities_then_removals() {
        let add = ["n1:1".to_owned(), "n2:1".to_owned()];
        let priority = [("n1:1".to_owned(), 0.0), ("a:1".to_owned(), 2.0)];
        let got = changes(&add, &["a:1".to_owned()], &priority);
        assert_eq!(
            got,
            vec![
                Change::Add { host: "n1:1".into(), priority: 0.0 },
                Change::Add { host: "n2:1".into(), priority: 1.0 },
                Change::Priority(vec![("a:1".into(), 2.0)]),
                Change::Remove { host: "a:1".into() },
            ]
        );
        assert_eq!(got[0].describe(), "add member n1:1 (priority 0)");
    }

    #[test]
    fn adding_takes_the_next_id_and_bumps_the_version() {
        let next = apply(&config(), &Change::Add { host: "c:1".into(), priority: 0.0 }).unwrap().unwrap();
        assert_eq!(hosts(&next).last().unwrap(), &(4, "c:1".to_owned(), 0.0));
        assert_eq!(next.get_i32("version").unwrap(), 5);
        assert_eq!(next.get_str("_id").unwrap(), "rs0");
    }

    #[test]
    fn changes_already_made_are_skipped_with_the_reason() {
        let c = config();
        assert_eq!(
            apply(&c, &Change::Add { host: "a:1".into(), priority: 1.0 }).unwrap(),
            Err("a:1 is already a member".into())
        );
        assert_eq!(apply(&c, &Change::Remove { host: "z:1".into() }).unwrap(), Err("z:1 is not a member".into()));
        assert_eq!(
            apply(&c, &Change::Priority(vec![("a:1".into(), 1.0)])).unwrap(),
            Err("the priorities are already so".into())
        );
    }

    #[test]
    fn removal_and_priorities_touch_only_the_named_members() {
        let c = config();
        let removed = apply(&c, &Change::Remove { host: "a:1".into() }).unwrap().unwrap();
        assert_eq!(hosts(&removed), vec![(3, "b:1".to_owned(), 1.0)]);
        let prio = apply(&c, &Change::Priority(vec![("b:1".into(), 2.0)])).unwrap().unwrap();
        assert_eq!(hosts(&prio), vec![(0, "a:1".to_owned(), 1.0), (3, "b:1".to_owned(), 2.0)]);
        let err = apply(&c, &Change::Priority(vec![("z:1".into(), 2.0)])).unwrap_err();
        assert_eq!(err, "z:1 is not a member (members: a:1, b:1)");
    }
}
