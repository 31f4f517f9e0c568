//! `restore_point` steps: `pg_create_restore_point` on a PostgreSQL primary,
//! so a point-in-time recovery can stop exactly there (`recovery_target_name`,
//! `pgbackrest restore --type=name --target=NAME`). Named after the run and
//! the step unless the runbook names it; the name goes to the journal (and
//! from there to the report) as a [`RunEvent::RestorePoint`](crate::events::RunEvent).

use toml::Spanned;

use super::{Emitted, Executor, Outcome};
use crate::endpoint::postgres::short_error;
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::RestorePointStep;
use crate::runbook::vars::Value;

/// PostgreSQL's limit on a restore point's name (`MAXFNAMELEN` - 1).
pub const MAX_NAME: usize = 63;

/// The checker's part: a PostgreSQL endpoint, and a name whose `${…}` resolve.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, step: &Spanned<RestorePointStep>) -> Option<ActionDef> {
    let s = step.get_ref();
    let on = c.endpoint(&s.on, &["postgres"], "a restore point");
    let name = s.name.as_ref().map(|n| c.text(n));
    Some(ActionDef::RestorePoint { on, name })
}

/// `cutover-<run>-<step>`, cut to what PostgreSQL keeps.
#[must_use]
pub fn default_name(run: &str, step: &str) -> String {
    let mut name = format!("cutover-{run}-{step}");
    name.truncate(MAX_NAME);
    name
}

impl Executor {
    pub(super) async fn restore_point(
        &mut self,
        on: &str,
        name: Option<&Value>,
        run: &str,
        step: &str,
    ) -> Result<Outcome, String> {
        let name = name.map_or_else(|| default_name(run, step), |n| n.plain.clone());
        if name.len() > MAX_NAME {
            return Ok(Outcome::failed(format!("the restore point's name is over {MAX_NAME} bytes: {name}")));
        }
        let client = self.client(on).await?;
        let row = client
            .query_one("SELECT pg_create_restore_point($1)::text", &[&name])
            .await
            .map_err(|e| format!("{on}: {}", short_error(&e)))?;
        let lsn: String = row.try_get(0).map_err(|e| format!("{on}: {}", short_error(&e)))?;
        let _ = self.out.send(Emitted::RestorePoint { endpoint: on.to_owned(), name: name.clone(), lsn: lsn.clone() });
        Ok(Outcome::ok(format!("restore point {name} at {lsn} on {on}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_is_the_run_and_the_step_within_postgres_limit() {
        assert_eq!(default_name("20261204T020808Z", "5.5"), "cutover-20261204T020808Z-5.5");
        let long = default_name(&"x".repeat(80), "5.5");
        assert_eq!(long.len(), MAX_NAME);
    }
}
