//! `sql` steps: statements on a PostgreSQL endpoint (or a PgBouncer console),
//! given in the runbook or made by a query, one by one or in one transaction;
//! and the connections they run on, one kept per endpoint.

use std::sync::Arc;

use tokio_postgres::{Client, SimpleQueryMessage};
use toml::Spanned;

use super::{Executor, Outcome, ROWS_SHOWN};
use crate::endpoint::postgres::{self as pg, Connector, Purpose, short_error};
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::SqlStep;
use crate::runbook::stop::Query;
use crate::runbook::vars::{Scope, Value};

/// The endpoint kinds a `sql` step runs on.
const PG: &[&str] = &["postgres", "pgbouncer"];

/// The checker's part: either `run = [statements]` or `generate = { on, sql }`.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, spanned: &Spanned<SqlStep>) -> Option<ActionDef> {
    let sql = spanned.get_ref();
    let on = c.endpoint(&sql.on, PG, "sql");
    match (&sql.generate, sql.run.is_empty()) {
        (Some(g), true) => {
            // The statements may come from a MySQL source (its AUTO_INCREMENT values, say).
            let from = c.endpoint(&g.on, &["postgres", "pgbouncer", "mysql"], "a generating query");
            Some(ActionDef::Generate { on, from, sql: c.sql_text(&g.sql) })
        }
        (None, false) => Some(ActionDef::Sql { on, run: sql.run.iter().map(|r| c.sql_text(r)).collect() }),
        _ => {
            c.error(spanned.span().start, "sql: give either `run = [statements]` or `generate = { on, sql }`");
            None
        }
    }
}

impl Executor {
    pub(super) async fn client(&mut self, name: &str) -> Result<Arc<Client>, String> {
        Ok(self.connection(name).await?.0)
    }

    async fn connection(&mut self, name: &str) -> Result<(Arc<Client>, Option<i32>), String> {
        if let Some((c, backend)) = self.clients.get(name) {
            if !c.is_closed() {
                return Ok((Arc::clone(c), *backend));
            }
        }
        let endpoint = self.endpoint(name)?;
        let fail = |e: pg::Error| match e {
            pg::Error::Tls(why) => format!("{name}: {why}"),
            e => format!("{name} is unreachable: {e}"),
        };
        let connector = Connector::new(&endpoint).map_err(fail)?;
        let (client, backend) = if endpoint.kind == crate::events::EndpointKind::Pgbouncer {
            (crate::endpoint::pgbouncer::connect(&connector).await.map_err(fail)?, None)
        } else {
            let session = connector.connect(Purpose::Steps).await.map_err(fail)?;
            (session.client, session.backend)
        };
        let client = Arc::new(client);
        self.clients.insert(name.to_owned(), (Arc::clone(&client), backend));
        Ok((client, backend))
    }

    pub(super) async fn simple(&mut self, on: &str, sql: &str) -> Result<Vec<SimpleQueryMessage>, String> {
        let (client, backend) = self.connection(on).await?;
        let endpoint = self.endpoint(on)?;
        self.stopper.query(Some(Query { endpoint, token: client.cancel_token(), backend }));
        // Told to stop between two statements: the next one never starts.
        if self.stopper.stopping() {
            self.stopper.query(None);
            return Err("stopped before it was sent".to_owned());
        }
        let result = client.simple_query(sql).await.map_err(|e| format!("{on}: {}", short_error(&e)));
        self.stopper.query(None);
        result
    }

    /// The statements the runbook gives.
    pub(super) async fn sql(&mut self, on: &str, run: &[Value], transaction: bool) -> Result<Outcome, String> {
        let statements: Vec<String> = run.iter().map(|v| v.plain.clone()).collect();
        self.statements(on, &statements, transaction).await
    }

    /// The statements a query on `from` makes (its first column), run on `on`.
    pub(super) async fn generate(
        &mut self,
        on: &str,
        from: &str,
        sql: &Value,
        transaction: bool,
    ) -> Result<Outcome, String> {
        let statements = self.query_column(from, &sql.plain).await?;
        if statements.is_empty() {
            return Ok(Outcome::ok("nothing to run: the query made no statements"));
        }
        self.statements(on, &statements, transaction).await
    }

    /// Statements in order; in one transaction when `transaction` (all or
    /// none: a failure rolls every one back).
    async fn statements(&mut self, on: &str, statements: &[String], transaction: bool) -> Result<Outcome, String> {
        if self.is_mysql(on) {
            return self.mysql_statements(on, statements, transaction).await;
        }
        if transaction {
            self.say(format!("{on}> BEGIN"));
            self.simple(on, "BEGIN").await?;
        }
        for (i, statement) in statements.iter().enumerate() {
            self.say(echo(&self.scope, on, statement));
            let messages = match self.simple(on, statement).await {
                Ok(messages) => messages,
                Err(e) => {
                    let mut why = format!("statement {} of {} failed: {e}", i + 1, statements.len());
                    if transaction {
                        // Straight on the connection: even a step being
                        // stopped ends its transaction.
                        let client = self.client(on).await?;
                        if client.batch_execute("ROLLBACK").await.is_ok() {
                            why.push_str(" (rolled back: none of them took effect)");
                        }
                    }
                    return Err(why);
                }
            };
            for line in result_lines(&messages) {
                self.say(line);
            }
        }
        if transaction {
            self.say(format!("{on}> COMMIT"));
            self.simple(on, "COMMIT").await.map_err(|e| format!("COMMIT failed: {e}"))?;
        }
        Ok(Outcome::ok(format!(
            "{} statement{} on {on}{}",
            statements.len(),
            if statements.len() == 1 { "" } else { "s" },
            if transaction { ", in one transaction" } else { "" }
        )))
    }

    async fn query_column(&mut self, on: &str, sql: &str) -> Result<Vec<String>, String> {
        if self.is_mysql(on) {
            return self.mysql_column(on, sql).await;
        }
        let messages = self.simple(on, sql).await?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .collect())
    }

    pub(super) async fn first_value(&mut self, on: &str, sql: &str) -> Result<Option<String>, String> {
        if self.is_mysql(on) {
            return self.mysql_value(on, sql, false).await;
        }
        let messages = self.simple(on, sql).await?;
        Ok(messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
                _ => None,
            })
            .flatten())
    }
}

/// The line that says what runs on `on`: the statement on one line, its
/// secrets scrubbed first — a secret whose spaces were joined is no longer found.
pub(super) fn echo(scope: &Scope, on: &str, statement: &str) -> String {
    format!("{on}> {}", one_line(&scope.scrub(statement)))
}

/// A statement on one line for the output pane.
fn one_line(sql: &str) -> String {
    let joined: Vec<&str> = sql.split_whitespace().collect();
    joined.join(" ")
}

/// Rows (up to [`ROWS_SHOWN`]) and counts, as output lines.
fn result_lines(messages: &[SimpleQueryMessage]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rows = 0usize;
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => {
                rows += 1;
                if rows <= ROWS_SHOWN {
                    let cells: Vec<&str> = (0..row.len()).map(|i| row.get(i).unwrap_or("NULL")).collect();
                    out.push(format!("  {}", cells.join(" | ")));
                }
            }
            SimpleQueryMessage::CommandComplete(n) => {
                if rows > ROWS_SHOWN {
                    out.push(format!("  … {} more rows", rows - ROWS_SHOWN));
                }
                out.push(format!("  ok ({n} row{})", if *n == 1 { "" } else { "s" }));
                rows = 0;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_scrubbed_before_its_whitespace_is_joined() {
        let mut secrets = crate::secrets::Secrets::default();
        secrets.add("the password", "p@ss  word").unwrap();
        secrets.add("the token", "two\nlines").unwrap();
        let mut scope = Scope::default();
        scope.scrub_also(&secrets);
        let line = echo(&scope, "db", "ALTER ROLE app\n  PASSWORD 'p@ss  word';\nSELECT 'two\nlines'");
        assert_eq!(line, "db> ALTER ROLE app PASSWORD '******'; SELECT '******'");
    }
}
