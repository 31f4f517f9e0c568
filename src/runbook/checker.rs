//! The runbook checker: every problem of a file, each at its place
//! (endpoints, variables, conditions, durations, and each step kind's action,
//! which that kind's file in [`super::exec`] checks).

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

    /// A query on a PostgreSQL or MySQL endpoint and what it must read (a `when`'s, a
    /// sql check's, a sql wait's): the endpoint's name, the SQL, the expected value.
    pub(super) fn query(
        &mut self,
        on: &Spanned<String>,
        sql: &Spanned<String>,
        expect: &Spanned<String>,
        what: &str,
    ) -> (String, Text, Text) {
        (self.endpoint(on, &["postgres", "mysql"], what), self.sql_text(sql), self.text(expect))
    }

    /// A step's `when`: a query on a PostgreSQL endpoint and what it must
    /// read, or a condition on the gauges.
    pub(super) fn guard(&mut self, spanned: &Spanned<file::CheckStep>) -> Option<Guard> {
        let when = spanned.get_ref();
        match (&when.on, &when.sql, &when.expect, &when.condition) {
            (Some(on), Some(sql), Some(expect), None) => {
                let (on, sql, expect) = self.query(on, sql, expect, "a `when` query");
                Some(Guard::Query { on, sql, expect })
            }
            (None, None, None, Some(condition)) => self.condition(condition).map(Guard::Condition),
            _ => {
                self.error(
                    spanned.span().start,
                    "when: give `on`, `sql` and `expect` (a query that reads `expect` when the step is needed), \
                     or `condition`",
                );
                None
            }
        }
    }

    /// The step's one action, checked by its kind's part (in [`exec`]).
    pub(super) fn action(&mut self, s: &file::StepFile, span: usize) -> Option<ActionDef> {
        let kinds = step_kinds(s);
        if kinds.len() != 1 {
            let message = if kinds.is_empty() {
                format!(
                    "step \"{}\" has no action: give one of sql, check, wait, shell, verify, manual, mongo, pgbouncer, mysql, restore_point",
                    s.name
                )
            } else {
                format!("step \"{}\" has several actions ({}): give exactly one", s.name, kinds.join(", "))
            };
            self.error(span, message);
            return None;
        }
        match s {
            file::StepFile { sql: Some(step), .. } => exec::sql::check(self, step),
            file::StepFile { check: Some(step), .. } => exec::check::check(self, step),
            file::StepFile { wait: Some(step), .. } => exec::wait::check(self, step),
            file::StepFile { shell: Some(step), .. } => exec::shell::check(self, step),
            file::StepFile { verify: Some(step), .. } => exec::verify::check(self, step),
            file::StepFile { manual: Some(step), .. } => exec::manual::check(self, step),
            file::StepFile { pgbouncer: Some(step), .. } => exec::pooler::check(self, step),
            file::StepFile { mongo: Some(step), .. } => exec::mongo::check(self, step),
            file::StepFile { mysql: Some(step), .. } => exec::mysql::check(self, step),
            file::StepFile { restore_point: Some(step), .. } => exec::restore_point::check(self, step),
            _ => None,
        }
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
        (s.mysql.is_some(), "mysql"),
        (s.restore_point.is_some(), "restore_point"),
    ]
    .into_iter()
    .filter_map(|(set, kind)| set.then_some(kind))
    .collect()
}
