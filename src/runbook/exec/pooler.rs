//! `pgbouncer` steps: exactly one of `pause`, `resume`, `reload`, `repoint`
//! (with `to`), on a pgbouncer endpoint; a repoint's `to` must be a
//! PostgreSQL endpoint. An admin command runs on PgBouncer's console; a
//! repoint rewrites the pooler's entry (see [`crate::runbook::pooler`]), then
//! reloads it.

use toml::Spanned;

use super::{Executor, Outcome};
use crate::inventory::pooler::Where;
use crate::runbook::checker::Checker;
use crate::runbook::file::PgbouncerStep;
use crate::runbook::pooler::{Op, Repoint, Rewritten, masked, rewrite};
use crate::runbook::{ActionDef, PoolerVerb};

/// The checker's part: one verb, its database (`"*"`: every one, except for
/// a repoint), a repoint's `to`, a pause's `max_pause`.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, spanned: &Spanned<PgbouncerStep>) -> Option<ActionDef> {
    let step = spanned.get_ref();
    let on = c.endpoint(&step.on, &["pgbouncer"], "a pgbouncer step");
    let given: Vec<(PoolerVerb, Option<&Spanned<String>>)> = [
        (PoolerVerb::Pause, step.pause.as_ref().map(Some)),
        (PoolerVerb::Resume, step.resume.as_ref().map(Some)),
        (PoolerVerb::Reload, step.reload.as_ref().filter(|r| *r.get_ref()).map(|_| None)),
        (PoolerVerb::Repoint, step.repoint.as_ref().map(Some)),
    ]
    .into_iter()
    .filter_map(|(verb, arg)| arg.map(|a| (verb, a)))
    .collect();
    let [(verb, database)] = given.as_slice() else {
        c.error(
            spanned.span().start,
            "pgbouncer: give exactly one of pause = \"DB\", resume = \"DB\", reload = true, \
             repoint = \"DB\" (with to = \"ENDPOINT\"); \"*\" pauses or resumes every database",
        );
        return None;
    };
    let to = match (verb, &step.to) {
        (PoolerVerb::Repoint, Some(to)) => {
            let kind = c.endpoints.get(to.get_ref()).map(|e| e.get_ref().kind.get_ref().clone());
            match kind.as_deref() {
                Some("postgres") | None => Some(c.endpoint(to, &["postgres"], "a pooler repoint")),
                Some(kind) => {
                    c.error(
                        to.span().start,
                        format!(
                            "pgbouncer: a repoint points the pooler at a PostgreSQL endpoint; \"{}\" is a {kind} endpoint",
                            to.get_ref()
                        ),
                    );
                    return None;
                }
            }
        }
        (PoolerVerb::Repoint, None) => {
            c.error(spanned.span().start, "pgbouncer: a repoint needs `to`, the endpoint it points the database at");
            return None;
        }
        (_, Some(to)) => {
            c.error(to.span().start, "pgbouncer: `to` goes with `repoint`");
            return None;
        }
        (_, None) => None,
    };
    let database = match database {
        Some(db) if *verb == PoolerVerb::Repoint && db.get_ref() == "*" => {
            c.error(db.span().start, "pgbouncer: repoint one database at a time, not \"*\"");
            return None;
        }
        Some(db) if db.get_ref() == "*" => None,
        Some(db) => Some(c.text(db)),
        None => None,
    };
    let max_pause = match (&step.max_pause, verb) {
        (None, _) => None,
        (Some(budget), PoolerVerb::Pause) => Some(c.duration(budget)?),
        (Some(budget), _) => {
            c.error(budget.span().start, "pgbouncer: `max_pause` goes with `pause`");
            return None;
        }
    };
    Some(ActionDef::Pooler { on, verb: *verb, database, to, max_pause })
}

impl Executor {
    /// A PgBouncer admin command; or a repoint — the entry rewritten (in the
    /// ini file here, or by the inventory's command) — then `RELOAD`.
    pub(super) async fn pooler(&mut self, on: &str, op: &Op, repoint: Option<&Repoint>) -> Result<Outcome, String> {
        if let Some(command) = op.command() {
            self.say(format!("{on}> {command}"));
            return match self.simple(on, &command).await {
                Ok(_) => Ok(Outcome::ok(format!("{command} on {on}"))),
                // A rollback resumes whether or not the pause happened.
                Err(e) if matches!(op, Op::Resume(_)) && e.to_ascii_lowercase().contains("not paused") => {
                    Ok(Outcome::ok(format!("{on} was not paused: nothing to resume")))
                }
                // A rollback pauses whether or not the switch's pause still holds.
                Err(e) if matches!(op, Op::Pause(_)) && e.to_ascii_lowercase().contains("already") => {
                    Ok(Outcome::ok(format!("{on} was paused already: its clients still wait")))
                }
                Err(e) => Err(e),
            };
        }
        let r = repoint.ok_or("the repoint was not planned")?;
        match &r.place {
            Where::File(path) => {
                let target = self.endpoint(&r.to)?;
                match rewrite(path, &r.database, &target.dsn) {
                    Ok(Rewritten::Changed { before, after, backup }) => {
                        self.say(format!("{}:", path.display()));
                        self.say(format!("  before: {}", masked(&before)));
                        self.say(format!("  after:  {}", masked(&after)));
                        self.say(format!("  the previous file is {}", backup.display()));
                    }
                    Ok(Rewritten::Already { .. }) => {
                        self.say(format!("{} already points {} at {}", path.display(), r.database, r.to));
                    }
                    Err(e) => return Err(format!("{e:#}")),
                }
            }
            Where::Command(command) => {
                let env = [
                    ("CUTOVER_POOLER_DATABASE".to_owned(), r.database.clone()),
                    ("CUTOVER_POOLER_LINE".to_owned(), r.after.clone()),
                ];
                let done = self.shell(command, &env).await?;
                if !done.ok {
                    return Err(format!("the repoint command failed: {}", done.summary));
                }
            }
        }
        self.say(format!("{on}> RELOAD"));
        self.simple(on, "RELOAD").await?;
        Ok(Outcome::ok(format!("{on}: {} now points at {}", r.database, r.to)))
    }
}
