//! `check` steps: a query that must read `expect` now, or a condition on the
//! gauges that must hold now; and the read-only reading of a query that
//! checks, waits and `when`s share.

use toml::Spanned;

use super::{Executor, Outcome};
use crate::condition::Condition;
use crate::endpoint::postgres::short_error;
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::CheckStep;
use crate::runbook::vars::Value;

/// The checker's part: either `on`, `sql` and `expect`, or `condition`.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, spanned: &Spanned<CheckStep>) -> Option<ActionDef> {
    let check = spanned.get_ref();
    match (&check.on, &check.sql, &check.expect, &check.condition) {
        (None, None, None, Some(condition)) => c.condition(condition).map(ActionDef::CheckCondition),
        (Some(on), Some(sql), Some(expect), None) => {
            let (on, sql, expect) = c.query(on, sql, expect, "a sql check");
            Some(ActionDef::CheckSql { on, sql, expect })
        }
        _ => {
            c.error(spanned.span().start, "check: give either `on`, `sql` and `expect`, or `condition`");
            None
        }
    }
}

/// Whether a query's value reads `expect` (both trimmed).
pub(super) fn reads(got: Option<&str>, expect: &str) -> bool {
    got.map(str::trim) == Some(expect.trim())
}

/// What a query read, for the operator.
pub(super) fn shown(got: Option<String>) -> String {
    got.map_or_else(|| "nothing (no row or NULL)".to_owned(), |g| format!("\"{g}\""))
}

impl Executor {
    pub(super) async fn check_sql(
        &mut self,
        on: &str,
        sql: &Value,
        expect: &Value,
        read_only: bool,
    ) -> Result<Outcome, String> {
        let got = self.check_value(on, &sql.plain, read_only).await?;
        Ok(if reads(got.as_deref(), &expect.plain) {
            Outcome::ok(format!("reads {}", expect.shown))
        } else {
            Outcome::failed(format!("reads {}, expected {}", shown(got), expect.shown))
        })
    }

    pub(super) fn check_condition(&self, condition: &Condition) -> Result<Outcome, String> {
        self.verdict(condition).map(|v| if v.holds { Outcome::ok(v.reason) } else { Outcome::failed(v.reason) })
    }

    /// `condition` on the run's gauges now (checks, waits and `when`s).
    pub(super) fn verdict(&self, condition: &Condition) -> Result<crate::condition::Verdict, String> {
        self.gauges.lock().map(|s| condition.eval(&*s)).map_err(|_| "the gauges are unavailable".to_owned())
    }

    /// A check's value: read-only checks run as one statement in a `READ ONLY`
    /// transaction that is rolled back, so they cannot write.
    pub(super) async fn check_value(&mut self, on: &str, sql: &str, read_only: bool) -> Result<Option<String>, String> {
        if !read_only {
            return self.first_value(on, sql).await;
        }
        if self.is_mysql(on) {
            return self.mysql_value(on, sql, true).await;
        }
        let client = self.client(on).await?;
        let fail = |e: &tokio_postgres::Error| format!("{on}: {}", short_error(e));
        // Whatever an earlier, cut-off step left open ends here.
        client.batch_execute("ROLLBACK").await.map_err(|e| fail(&e))?;
        client.batch_execute("BEGIN TRANSACTION READ ONLY").await.map_err(|e| fail(&e))?;
        // The extended protocol parses one statement only: no `COMMIT;` or
        // `SET TRANSACTION READ WRITE;` can ride along in a read-only check.
        let value = match client.prepare(sql).await {
            Ok(_) => self.first_value(on, sql).await,
            Err(e) => Err(format!("{} (a check that is not destructive runs read-only, as one statement)", fail(&e))),
        };
        client.batch_execute("ROLLBACK").await.map_err(|e| fail(&e))?;
        value
    }
}
