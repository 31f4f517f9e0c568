//! The runbook checker: every problem of a file, each at its place
//! (endpoints, variables, conditions, durations, and each step kind's action).

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;

use super::*;
use crate::diagnostic::Diagnostic;

/// Checks one runbook file; collects every problem.
pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) endpoints: &'a BTreeMap<String, Spanned<file::EndpointFile>>,
    pub(super) vars: &'a BTreeMap<String, Spanned<String>>,
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
}

impl Checker<'_> {
    pub(super) fn error(&mut self, offset: usize, message: impl Into<String>) {
        self.errors.push(Diagnostic::at_offset(self.file, self.text, offset, message));
    }

    pub(super) fn text(&mut self, s: &Spanned<String>) -> Text {
        let text = Text { text: s.get_ref().clone(), at: content_start(self.text, s.span().start) };
        self.references(&text);
        text
    }

    /// SQL text: also warned about where it splices a value unquoted.
    pub(super) fn sql_text(&mut self, s: &Spanned<String>) -> Text {
        self.lint(s, vars::Lang::Sql)
    }

    /// A shell command: also warned about where it splices a value unquoted.
    pub(super) fn shell_text(&mut self, s: &Spanned<String>) -> Text {
        self.lint(s, vars::Lang::Shell)
    }

    pub(super) fn lint(&mut self, s: &Spanned<String>, lang: vars::Lang) -> Text {
        let text = self.text(s);
        for (offset, message) in vars::lint(&text.text, lang) {
            let at = file_offset(self.text, text.at, offset);
            self.warnings.push(Diagnostic::at_offset(self.file, self.text, at, format!("warning: {message}")));
        }
        text
    }

    /// Every `${…}` must name something a run can resolve.
    pub(super) fn references(&mut self, text: &Text) {
        match vars::scan(&text.text) {
            Err((offset, message)) => self.error(file_offset(self.text, text.at, offset), message),
            Ok(pieces) => {
                for piece in pieces {
                    if let vars::Piece::Var { name, offset, .. } = piece {
                        if let Some(message) = self.unknown_variable(name) {
                            self.error(file_offset(self.text, text.at, offset), message);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn unknown_variable(&self, name: &str) -> Option<String> {
        if name == "operator" || self.vars.contains_key(name) || name.starts_with("env.") {
            return None;
        }
        if let Some((endpoint, field)) = name.split_once('.') {
            if self.endpoints.contains_key(endpoint) {
                return (!vars::ENDPOINT_FIELDS.contains(&field))
                    .then(|| format!("`${{{name}}}`: an endpoint has {}", vars::ENDPOINT_FIELDS.join(", ")));
            }
        }
        Some(format!(
            "undefined variable `${{{name}}}`: give it a default in the runbook's [vars] (the inventory and --var can override it)"
        ))
    }

    /// An endpoint the runbook defines, of a kind that can run `what`.
    pub(super) fn endpoint(&mut self, on: &Spanned<String>, kinds: &[&str], what: &str) -> String {
        let name = on.get_ref();
        match self.endpoints.get(name) {
            None => {
                let names: Vec<&str> = self.endpoints.keys().map(String::as_str).collect();
                self.error(
                    on.span().start,
                    format!("undefined endpoint \"{name}\" (the runbook defines: {})", names.join(", ")),
                );
            }
            Some(e) if !kinds.contains(&e.get_ref().kind.get_ref().as_str()) => {
                let kind = e.get_ref().kind.get_ref().clone();
                self.error(on.span().start, format!("{what} cannot run on \"{name}\", a {kind} endpoint"));
            }
            Some(_) => {}
        }
        name.clone()
    }

    pub(super) fn condition(&mut self, s: &Spanned<String>) -> Option<Condition> {
        let at = content_start(self.text, s.span().start);
        match condition::parse(s.get_ref()) {
            Err(e) => {
                self.error(file_offset(self.text, at, e.offset), e.message);
                None
            }
            Ok(c) => {
                for (name, range) in c.endpoints() {
                    if !self.endpoints.contains_key(name) {
                        let names: Vec<&str> = self.endpoints.keys().map(String::as_str).collect();
                        self.error(
                            file_offset(self.text, at, range.start),
                            format!("undefined endpoint \"{name}\" (the runbook defines: {})", names.join(", ")),
                        );
                    }
                }
                Some(c)
            }
        }
    }

    pub(super) fn duration(&mut self, s: &Spanned<String>) -> Option<Duration> {
        match quantity::parse(s.get_ref(), Unit::Seconds) {
            Ok(secs) if secs >= 0.0 && secs.is_finite() && secs <= 30.0 * 86_400.0 => {
                Some(Duration::from_secs_f64(secs))
            }
            Ok(_) => {
                self.error(content_start(self.text, s.span().start), "a duration from 0s to 30d");
                None
            }
            Err(message) => {
                self.error(content_start(self.text, s.span().start), message);
                None
            }
        }
    }

    /// A step's `when`: a query on a PostgreSQL endpoint and what it must read.
    pub(super) fn guard(&mut self, spanned: &Spanned<file::CheckStep>) -> Option<Guard> {
        let when = spanned.get_ref();
        match (&when.on, &when.sql, &when.expect, &when.condition) {
            (Some(on), Some(sql), Some(expect), None) => Some(Guard {
                on: self.endpoint(on, &["postgres"], "a `when` query"),
                sql: self.sql_text(sql),
                expect: self.text(expect),
            }),
            _ => {
                self.error(
                    spanned.span().start,
                    "when: give `on`, `sql` and `expect` (a query that reads `expect` when the step is needed)",
                );
                None
            }
        }
    }

    pub(super) fn action(&mut self, s: &file::StepFile, span: usize) -> Option<ActionDef> {
        const PG: &[&str] = &["postgres", "pgbouncer"];
        let kinds = step_kinds(s);
        if kinds.len() != 1 {
            let message = if kinds.is_empty() {
                format!(
                    "step \"{}\" has no action: give one of sql, check, wait, shell, verify, manual, mongo, pgbouncer",
                    s.name
                )
            } else {
                format!("step \"{}\" has several actions ({}): give exactly one", s.name, kinds.join(", "))
            };
            self.error(span, message);
            return None;
        }
        if let Some(spanned) = &s.sql {
            let sql = spanned.get_ref();
            let on = self.endpoint(&sql.on, PG, "sql");
            return match (&sql.generate, sql.run.is_empty()) {
                (Some(g), true) => {
                    let from = self.endpoint(&g.on, PG, "sql");
                    Some(ActionDef::Generate { on, from, sql: self.sql_text(&g.sql) })
                }
                (None, false) => Some(ActionDef::Sql { on, run: sql.run.iter().map(|r| self.sql_text(r)).collect() }),
                _ => {
                    self.error(
                        spanned.span().start,
                        "sql: give either `run = [statements]` or `generate = { on, sql }`",
                    );
                    None
                }
            };
        }
        if let Some(spanned) = &s.check {
            let check = spanned.get_ref();
            return match (&check.on, &check.sql, &check.expect, &check.condition) {
                (None, None, None, Some(c)) => self.condition(c).map(ActionDef::CheckCondition),
                (Some(on), Some(sql), Some(expect), None) => Some(ActionDef::CheckSql {
                    on: self.endpoint(on, &["postgres"], "a sql check"),
                    sql: self.sql_text(sql),
                    expect: self.text(expect),
                }),
                _ => {
                    self.error(spanned.span().start, "check: give either `on`, `sql` and `expect`, or `condition`");
                    None
                }
            };
        }
        if let Some(spanned) = &s.wait {
            let wait = spanned.get_ref();
            return match (&wait.until, &wait.on, &wait.sql, &wait.expect) {
                (Some(until), None, None, None) => {
                    let hold_for = wait.hold_for.as_ref().map_or(Some(Duration::ZERO), |f| self.duration(f));
                    let until = self.condition(until)?;
                    Some(ActionDef::WaitCondition { until, hold_for: hold_for? })
                }
                (None, Some(on), Some(sql), Some(expect)) if wait.hold_for.is_none() => Some(ActionDef::WaitSql {
                    on: self.endpoint(on, &["postgres"], "a sql wait"),
                    sql: self.sql_text(sql),
                    expect: self.text(expect),
                }),
                _ => {
                    self.error(
                        spanned.span().start,
                        "wait: give either `until` (and `for`), or `on`, `sql` and `expect`",
                    );
                    None
                }
            };
        }
        if let Some(shell) = &s.shell {
            return Some(ActionDef::Shell { run: self.shell_text(&shell.run) });
        }
        if let Some(verify) = &s.verify {
            let source = self.endpoint(&verify.source, &["postgres", "mongodb"], "verify");
            let target = self.endpoint(&verify.target, &["postgres", "mongodb"], "verify");
            let kind = |name: &str| self.endpoints.get(name).map(|e| e.get_ref().kind.get_ref().clone());
            if let (Some(a), Some(b)) = (kind(&source), kind(&target)) {
                if a != b {
                    self.error(
                        verify.target.span().start,
                        format!("verify compares like with like: \"{source}\" is {a}, \"{target}\" is {b}"),
                    );
                }
            }
            let tables = verify.tables.iter().map(|t| t.get_ref().clone()).collect();
            return Some(ActionDef::Verify { source, target, tables });
        }
        if let Some(manual) = &s.manual {
            return Some(ActionDef::Manual { instructions: self.text(&manual.instructions) });
        }
        if let Some(step) = &s.pgbouncer {
            return self.pooler_step(step);
        }
        if let Some(mongo) = &s.mongo {
            let on = self.endpoint(&mongo.on, &["mongodb"], "a mongo command");
            return match (&mongo.command, &mongo.reconfig) {
                (Some(command), None) => self.mongo_command(on, mongo.db.clone(), command),
                (None, Some(reconfig)) => {
                    let r = reconfig.get_ref();
                    if r.add.is_empty() && r.remove.is_empty() && r.priority.is_empty() {
                        self.error(reconfig.span().start, "reconfig: give `add`, `remove` or `priority`");
                        return None;
                    }
                    let add = r.add.iter().map(|h| self.text(h)).collect();
                    let remove = r.remove.iter().map(|h| self.text(h)).collect();
                    let priority = r.priority.iter().map(|(h, p)| (self.text(h), *p.get_ref())).collect();
                    Some(ActionDef::Reconfig { on, add, remove, priority })
                }
                _ => {
                    self.error(mongo.on.span().start, "mongo: give either `command` or `reconfig`");
                    None
                }
            };
        }
        None
    }
}

pub(super) fn step_kinds(s: &file::StepFile) -> Vec<&'static str> {
    [
        (s.sql.is_some(), "sql"),
        (s.check.is_some(), "check"),
        (s.wait.is_some(), "wait"),
        (s.shell.is_some(), "shell"),
        (s.verify.is_some(), "verify"),
        (s.manual.is_some(), "manual"),
        (s.mongo.is_some(), "mongo"),
        (s.pgbouncer.is_some(), "pgbouncer"),
    ]
    .into_iter()
    .filter_map(|(set, kind)| set.then_some(kind))
    .collect()
}
