//! The lines that say what a resolved step will execute and where: what
//! `cutover plan` prints, the cockpit shows before confirmation, and the
//! journal records (the caller masks secrets).

use super::{BEFORE, Resolved};
use crate::format;
use crate::inventory::Inventory;
use crate::runbook::{OnFailure, StepDef};

/// `source (db1:5432/app)`.
fn place(name: &str, inventory: &Inventory) -> String {
    match inventory.endpoints.iter().find(|e| e.name == name) {
        Some(e) => format!("{name} ({}:{}/{})", e.dsn.host, e.dsn.port, e.dsn.dbname),
        None => name.to_owned(),
    }
}

/// A statement's lines, indented, without blank ones at the ends.
fn indented(text: &str) -> impl Iterator<Item = String> + '_ {
    text.trim_matches(|c: char| c == '\n' || c == '\r').lines().map(|l| format!("  {}", l.trim_end()))
}

/// What `plan` shows of a step: its `when`, then what it does where, then its options.
pub(super) fn lines(step: &StepDef, when: Option<&Resolved>, action: &Resolved, inventory: &Inventory) -> Vec<String> {
    let mut lines = Vec::new();
    match when {
        Some(Resolved::CheckSql { on, sql, expect }) => {
            lines.push(format!("only when this reads {} on {} (else skipped):", expect.shown, place(on, inventory)));
            lines.extend(indented(&sql.shown));
        }
        Some(Resolved::CheckCondition(c)) => lines.push(format!("only when {c} (else skipped)")),
        _ => {}
    }
    match action {
        Resolved::Sql { on, run } => {
            lines.push(format!("on {}:", place(on, inventory)));
            lines.extend(run.iter().flat_map(|v| indented(&v.shown)));
        }
        Resolved::Generate { on, from, sql } => {
            lines.push(format!("on {}, the statements this query on {} makes:", place(on, inventory), from));
            lines.extend(indented(&sql.shown));
        }
        Resolved::CheckSql { on, sql, expect } => {
            lines.push(format!("on {}:", place(on, inventory)));
            lines.extend(indented(&sql.shown));
            lines.push(format!("expect: {}", expect.shown));
        }
        Resolved::CheckCondition(c) => lines.push(format!("condition: {c}")),
        Resolved::WaitCondition { until, hold_for } => {
            let hold = if hold_for.is_zero() {
                String::new()
            } else {
                format!(" for {}", format::seconds(hold_for.as_secs_f64()))
            };
            lines.push(format!("until: {until}{hold}"));
        }
        Resolved::WaitSql { on, sql, expect } => {
            lines.push(format!("on {}, polled until it reads {}:", place(on, inventory), expect.shown));
            lines.extend(indented(&sql.shown));
        }
        Resolved::Shell { run, .. } => {
            lines.push("on this machine:".to_owned());
            lines.extend(indented(&run.shown));
        }
        Resolved::Verify { source, target, tables, .. } => {
            let what = if tables.is_empty() { "every user table".to_owned() } else { tables.join(", ") };
            lines.push(format!("verify {} against {}: {what}", place(target, inventory), place(source, inventory)));
        }
        Resolved::RestorePoint { on, name } => lines.push(format!(
            "on {}: pg_create_restore_point('{}')",
            place(on, inventory),
            name.as_ref().map_or_else(|| format!("cutover-<run>-{}", step.id), |n| n.shown.clone())
        )),
        Resolved::Manual { instructions } => {
            lines.push("you:".to_owned());
            lines.extend(indented(&instructions.shown));
        }
        Resolved::Mongo { on, db, command } => {
            let db = db.as_ref().map_or_else(String::new, |d| format!(", database {d}"));
            lines.push(format!("on {on}{db}: {}", command.shown));
        }
        Resolved::Pooler { on, op, repoint } => match (op.command(), repoint) {
            (Some(command), _) => lines.push(format!("on {}: {command}", place(on, inventory))),
            (None, Some(r)) => {
                lines.push(format!(
                    "on {}: point database {} at {}",
                    place(on, inventory),
                    r.database,
                    place(&r.to, inventory)
                ));
                match &r.place {
                    crate::inventory::pooler::Where::File(path) => {
                        lines.push(format!("  in {} [databases] (the old file kept as a .bak):", path.display()));
                        lines.push(format!(
                            "{BEFORE}{}",
                            crate::runbook::pooler::masked(r.before.as_deref().unwrap_or_default())
                        ));
                    }
                    crate::inventory::pooler::Where::Command(command) => {
                        lines.push(format!("  by `{command}` (CUTOVER_POOLER_DATABASE, CUTOVER_POOLER_LINE):"));
                    }
                }
                lines.push(format!("  after:  {}", crate::runbook::pooler::masked(&r.after)));
                lines.push("  then RELOAD".to_owned());
            }
            (None, None) => lines.push(format!("on {on}: nothing planned")),
        },
        Resolved::Reconfig { on, add, remove, priority } => {
            lines.push(format!("on {on}, one replSetReconfig per change:"));
            lines.extend(add.iter().map(|h| format!("  add member {}", h.shown)));
            if !priority.is_empty() {
                let each: Vec<String> = priority.iter().map(|(h, p)| format!("{} = {p}", h.shown)).collect();
                lines.push(format!("  set priority {}", each.join(", ")));
            }
            lines.extend(remove.iter().map(|h| format!("  remove member {}", h.shown)));
        }
    }
    if let Some(gate) = &step.gate {
        lines.push(format!("gate: {gate}"));
    }
    let mut options = Vec::new();
    if let Some(t) = step.timeout {
        options.push(format!("timeout {}", format::coarse(t.as_secs_f64())));
    }
    options.push(match step.on_failure {
        OnFailure::Stop => "on failure: stop".to_owned(),
        OnFailure::Rollback => "on failure: rollback".to_owned(),
        OnFailure::Retry { times, then_rollback } => {
            format!("on failure: retry {times}{}", if then_rollback { " then rollback" } else { "" })
        }
    });
    if step.destructive {
        options.push("destructive: type the endpoint's name to confirm".to_owned());
    }
    if step.starts_write_pause {
        options.push("starts the write pause".to_owned());
    }
    if step.ends_write_pause {
        options.push("ends the write pause".to_owned());
    }
    lines.push(options.join("; "));
    lines
}
