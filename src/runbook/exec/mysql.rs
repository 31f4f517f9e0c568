//! `mysql` steps: statements on a MySQL or MariaDB endpoint, one by one or in
//! one transaction; and the queries of checks, waits and `when`s on such an
//! endpoint. The step's text is planned and quoted as for PostgreSQL, so the
//! sessions steps run on are set to read it the same way: `ANSI_QUOTES`
//! (`"…"` is an identifier, as `${x:ident}` makes it) and
//! `NO_BACKSLASH_ESCAPES` (a backslash in `'…'` is itself, as `${x:literal}`
//! leaves it). Write string literals in single quotes.
//!
//! A statement being stopped gets `KILL QUERY` from a session of its own
//! (see [`crate::runbook::stop`]).

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value as Cell};
use toml::Spanned;

use super::{Executor, Outcome, ROWS_SHOWN};
use crate::endpoint::mysql::{self, Purpose, Session, short_error};
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::SqlStep;
use crate::runbook::stop::MysqlQuery;

/// What a step session sets, after [`mysql::connect`]'s own settings.
const STEP_SQL_MODE: &str =
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES')";

/// The checker's part: `run = [statements]` on a MySQL endpoint.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, spanned: &Spanned<SqlStep>) -> Option<ActionDef> {
    let step = spanned.get_ref();
    let on = c.endpoint(&step.on, &["mysql"], "a mysql step");
    if step.generate.is_some() || step.run.is_empty() {
        c.error(spanned.span().start, "mysql: give `run = [statements]`");
        return None;
    }
    Some(ActionDef::Sql { on, run: step.run.iter().map(|r| c.sql_text(r)).collect() })
}

impl Executor {
    /// Whether `name` is a MySQL or MariaDB endpoint.
    pub(super) fn is_mysql(&self, name: &str) -> bool {
        self.endpoint(name).is_ok_and(|e| e.mysql.is_some())
    }

    async fn mysql_session(&mut self, name: &str) -> Result<&mut Session, String> {
        if !self.mysql_sessions.contains_key(name) {
            let endpoint = self.endpoint(name)?;
            let url = endpoint.mysql.as_ref().ok_or_else(|| format!("{name} is not a MySQL endpoint"))?;
            let mut session = mysql::connect(url, Purpose::Steps).await.map_err(|e| match e {
                mysql::Error::Tls(why) => format!("{name}: {why}"),
                e => format!("{name} is unreachable: {e}"),
            })?;
            session.conn.query_drop(STEP_SQL_MODE).await.map_err(|e| format!("{name}: {}", short_error(&e)))?;
            self.mysql_sessions.insert(name.to_owned(), session);
        }
        self.mysql_sessions.get_mut(name).ok_or_else(|| format!("{name}: no session"))
    }

    /// One statement on `on`, its rows as text (NULL as `None`); the session
    /// is given up when the connection failed, so the next step reconnects.
    async fn mysql_query(&mut self, on: &str, sql: &str, prepared: bool) -> Result<Vec<Vec<Option<String>>>, String> {
        let endpoint = self.endpoint(on)?;
        let stopper = self.stopper.clone();
        let session = self.mysql_session(on).await?;
        let id = session.id();
        if let Some(url) = endpoint.mysql.clone() {
            stopper.mysql_query(Some(MysqlQuery { url, id }));
        }
        if stopper.stopping() {
            stopper.mysql_query(None);
            return Err("stopped before it was sent".to_owned());
        }
        let result = if prepared {
            session.conn.exec::<Row, _, _>(sql, ()).await
        } else {
            session.conn.query::<Row, _>(sql).await
        };
        stopper.mysql_query(None);
        match result {
            Ok(rows) => Ok(rows.iter().map(texts).collect()),
            Err(e) => {
                if !matches!(e, mysql_async::Error::Server(_)) {
                    self.mysql_sessions.remove(on);
                }
                Err(format!("{on}: {}", short_error(&e)))
            }
        }
    }

    /// Statements in order; in one transaction when `transaction`.
    pub(super) async fn mysql_statements(
        &mut self,
        on: &str,
        statements: &[String],
        transaction: bool,
    ) -> Result<Outcome, String> {
        if transaction {
            self.say(format!("{on}> START TRANSACTION"));
            self.mysql_query(on, "START TRANSACTION", false).await?;
        }
        for (i, statement) in statements.iter().enumerate() {
            self.say(super::sql::echo(&self.scope, on, statement));
            match self.mysql_query(on, statement, false).await {
                Ok(rows) => {
                    for row in rows.iter().take(ROWS_SHOWN) {
                        let cells: Vec<&str> = row.iter().map(|c| c.as_deref().unwrap_or("NULL")).collect();
                        self.say(format!("  {}", cells.join(" | ")));
                    }
                    if rows.len() > ROWS_SHOWN {
                        self.say(format!("  … {} more rows", rows.len() - ROWS_SHOWN));
                    }
                    self.say("  ok");
                }
                Err(e) => {
                    let mut why = format!("statement {} of {} failed: {e}", i + 1, statements.len());
                    if transaction && self.mysql_query(on, "ROLLBACK", false).await.is_ok() {
                        why.push_str(" (rolled back: none of them took effect, DDL aside: MySQL commits it at once)");
                    }
                    return Err(why);
                }
            }
        }
        if transaction {
            self.say(format!("{on}> COMMIT"));
            self.mysql_query(on, "COMMIT", false).await.map_err(|e| format!("COMMIT failed: {e}"))?;
        }
        Ok(Outcome::ok(format!(
            "{} statement{} on {on}{}",
            statements.len(),
            if statements.len() == 1 { "" } else { "s" },
            if transaction { ", in one transaction" } else { "" }
        )))
    }

    /// A query's first column, row by row (NULLs left out).
    pub(super) async fn mysql_column(&mut self, on: &str, sql: &str) -> Result<Vec<String>, String> {
        let rows = self.mysql_query(on, sql, false).await?;
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect())
    }

    /// A query's first column of its first row. `read_only`: as one prepared
    /// statement (so nothing can ride along) in a `READ ONLY` transaction
    /// that is rolled back.
    pub(super) async fn mysql_value(&mut self, on: &str, sql: &str, read_only: bool) -> Result<Option<String>, String> {
        if !read_only {
            let rows = self.mysql_query(on, sql, false).await?;
            return Ok(rows.into_iter().next().and_then(|r| r.into_iter().next()).flatten());
        }
        self.mysql_query(on, "ROLLBACK", false).await?;
        self.mysql_query(on, "START TRANSACTION READ ONLY", false).await?;
        let rows = self
            .mysql_query(on, sql, true)
            .await
            .map_err(|e| format!("{e} (a check that is not destructive runs read-only, as one statement)"));
        self.mysql_query(on, "ROLLBACK", false).await?;
        Ok(rows?.into_iter().next().and_then(|r| r.into_iter().next()).flatten())
    }
}

/// A row's cells as text.
fn texts(row: &Row) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| match row.as_ref(i) {
            None | Some(Cell::NULL) => None,
            Some(Cell::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Some(other) => Some(other.as_sql(true).trim_matches('\'').to_owned()),
        })
        .collect()
}
