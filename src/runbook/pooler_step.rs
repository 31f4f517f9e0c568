//! The checker's part for `pgbouncer` steps: exactly one of `pause`,
//! `resume`, `reload`, `repoint` (with `to`), on a pgbouncer endpoint; a
//! repoint's `to` must be a PostgreSQL endpoint.

use toml::Spanned;

use super::file::PgbouncerStep;
use super::{ActionDef, Checker, PoolerVerb};

impl Checker<'_> {
    pub(super) fn pooler_step(&mut self, spanned: &Spanned<PgbouncerStep>) -> Option<ActionDef> {
        let step = spanned.get_ref();
        let on = self.endpoint(&step.on, &["pgbouncer"], "a pgbouncer step");
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
            self.error(
                spanned.span().start,
                "pgbouncer: give exactly one of pause = \"DB\", resume = \"DB\", reload = true, \
                 repoint = \"DB\" (with to = \"ENDPOINT\"); \"*\" pauses or resumes every database",
            );
            return None;
        };
        let to = match (verb, &step.to) {
            (PoolerVerb::Repoint, Some(to)) => {
                let kind = self.endpoints.get(to.get_ref()).map(|e| e.get_ref().kind.get_ref().clone());
                match kind.as_deref() {
                    Some("postgres") | None => Some(self.endpoint(to, &["postgres"], "a pooler repoint")),
                    Some(kind) => {
                        self.error(
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
                self.error(
                    spanned.span().start,
                    "pgbouncer: a repoint needs `to`, the endpoint it points the database at",
                );
                return None;
            }
            (_, Some(to)) => {
                self.error(to.span().start, "pgbouncer: `to` goes with `repoint`");
                return None;
            }
            (_, None) => None,
        };
        let database = match database {
            Some(db) if *verb == PoolerVerb::Repoint && db.get_ref() == "*" => {
                self.error(db.span().start, "pgbouncer: repoint one database at a time, not \"*\"");
                return None;
            }
            Some(db) if db.get_ref() == "*" => None,
            Some(db) => Some(self.text(db)),
            None => None,
        };
        let max_pause = match (&step.max_pause, verb) {
            (None, _) => None,
            (Some(budget), PoolerVerb::Pause) => Some(self.duration(budget)?),
            (Some(budget), _) => {
                self.error(budget.span().start, "pgbouncer: `max_pause` goes with `pause`");
                return None;
            }
        };
        Some(ActionDef::Pooler { on, verb: *verb, database, to, max_pause })
    }
}
