//! Runbooks: files of phases and steps, loaded and checked with every error
//! pointed at `FILE:LINE:COL`, turned into [`StepDef`]s for the engine and the
//! [`Outline`] the screen shows.

pub mod engine;
pub mod exec;
mod file;
mod mongo_step;
mod paused;
mod pins;
pub mod plan;
pub mod pooler;
mod pooler_step;
pub mod quoting;
mod reconfig;
pub mod runner;
mod sink;
mod step;
pub mod stop;
pub mod vars;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};
use toml::Spanned;

pub use file::RunbookFile;
pub use step::{
    ActionDef, DEFAULT_STATEMENT_TIMEOUT, DEFAULT_WAIT_TIMEOUT, Guard, OnFailure, PoolerVerb, StepDef, Text,
};

use crate::condition::{self, Condition};
use crate::diagnostic::Diagnostic;
use crate::events::{Outline, OutlinePhase, OutlineStep};
use crate::quantity::{self, Unit};

/// The demo runbook, shipped inside the binary for `cutover demo`.
pub const DEMO_RUNBOOK: (&str, &str) = ("runbooks/demo.toml", include_str!("../../runbooks/demo.toml"));

const ENDPOINT_KINDS: [&str; 3] = ["postgres", "pgbouncer", "mongodb"];

/// A checked runbook.
#[derive(Clone, Debug)]
pub struct Runbook {
    /// The file as named on the command line.
    pub file: String,
    /// The file's text (for diagnostics found later, against an inventory).
    pub text: String,
    pub name: String,
    pub description: String,
    /// Logical endpoint name → kind.
    pub endpoints: BTreeMap<String, String>,
    /// Where each endpoint is defined in the file.
    pub endpoint_at: BTreeMap<String, usize>,
    /// `[vars]` defaults, with where each value starts in the file.
    pub vars: BTreeMap<String, Text>,
    /// Every step, forward phases first in file order, then the rollback phase.
    pub steps: Vec<StepDef>,
    pub outline: Outline,
    /// What `cutover check` warns about (values spliced unquoted), in file order.
    pub warnings: Vec<Diagnostic>,
}

impl Runbook {
    /// The step with this id.
    #[must_use]
    pub fn step(&self, id: &str) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// A diagnostic at byte `offset` of a string value of the file.
    #[must_use]
    pub fn diagnostic_in(&self, text: &Text, offset: usize, message: impl Into<String>) -> Diagnostic {
        self.diagnostic(file_offset(&self.text, text.at, offset), message)
    }

    /// A diagnostic at a byte offset of the runbook file.
    #[must_use]
    pub fn diagnostic(&self, offset: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at_offset(&self.file, &self.text, offset, message)
    }
}

/// Read and check a runbook file.
///
/// # Errors
/// An unreadable file, or every problem found, one `FILE:LINE:COL: message` a line.
pub fn load(path: &Path) -> Result<Runbook> {
    let text = std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read runbook {}", path.display()))?;
    parse(&path.display().to_string(), &text).map_err(|errors| eyre!("{}", render(&errors)))
}

/// Diagnostics, one a line.
#[must_use]
pub fn render(errors: &[Diagnostic]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Where the content of a TOML string value starts: after `"`, `'`, or the
/// triple quote and the newline that may follow it.
fn content_start(text: &str, span_start: usize) -> usize {
    let rest = text.get(span_start..).unwrap_or_default();
    if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        let after = span_start + 3;
        match text.get(after..) {
            Some(r) if r.starts_with("\r\n") => after + 2,
            Some(r) if r.starts_with('\n') => after + 1,
            _ => after,
        }
    } else if rest.starts_with('"') || rest.starts_with('\'') {
        span_start + 1
    } else {
        span_start
    }
}

/// The byte offset in the file of byte `decoded` of a string value whose
/// content starts at `at`: escapes in a basic string (`\"`, `\n`, `\u00e9`,
/// a line-ending backslash) take more bytes in the file than in the value.
#[must_use]
pub fn file_offset(file: &str, at: usize, decoded: usize) -> usize {
    let quote = file.get(..at).and_then(|before| before.trim_end_matches(['\n', '\r']).chars().last());
    let Some(raw) = file.get(at..) else { return at + decoded };
    if quote != Some('"') {
        return at + decoded;
    }
    let mut chars = raw.char_indices().peekable();
    let mut done = 0;
    while done < decoded {
        let Some((i, c)) = chars.next() else { return at + raw.len() };
        if c != '\\' {
            done += c.len_utf8();
            continue;
        }
        let Some((_, e)) = chars.next() else { return at + i };
        match e {
            'u' | 'U' | 'x' => {
                let digits = match e {
                    'u' => 4,
                    'U' => 8,
                    _ => 2,
                };
                let hex: String = (0..digits).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                let width = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).map_or(1, char::len_utf8);
                done += width;
            }
            ' ' | '\t' | '\n' | '\r' => {
                // A line-ending backslash: it and the whitespace after it vanish.
                while chars.peek().is_some_and(|(_, w)| w.is_whitespace()) {
                    chars.next();
                }
            }
            _ => done += 1,
        }
    }
    at + chars.peek().map_or(raw.len(), |(i, _)| *i)
}

/// Checks one runbook file; collects every problem.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    endpoints: &'a BTreeMap<String, Spanned<file::EndpointFile>>,
    vars: &'a BTreeMap<String, Spanned<String>>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, offset: usize, message: impl Into<String>) {
        self.errors.push(Diagnostic::at_offset(self.file, self.text, offset, message));
    }

    fn text(&mut self, s: &Spanned<String>) -> Text {
        let text = Text { text: s.get_ref().clone(), at: content_start(self.text, s.span().start) };
        self.references(&text);
        text
    }

    /// SQL text: also warned about where it splices a value unquoted.
    fn sql_text(&mut self, s: &Spanned<String>) -> Text {
        self.lint(s, vars::Lang::Sql)
    }

    /// A shell command: also warned about where it splices a value unquoted.
    fn shell_text(&mut self, s: &Spanned<String>) -> Text {
        self.lint(s, vars::Lang::Shell)
    }

    fn lint(&mut self, s: &Spanned<String>, lang: vars::Lang) -> Text {
        let text = self.text(s);
        for (offset, message) in vars::lint(&text.text, lang) {
            let at = file_offset(self.text, text.at, offset);
            self.warnings.push(Diagnostic::at_offset(self.file, self.text, at, format!("warning: {message}")));
        }
        text
    }

    /// Every `${…}` must name something a run can resolve.
    fn references(&mut self, text: &Text) {
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

    fn unknown_variable(&self, name: &str) -> Option<String> {
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
    fn endpoint(&mut self, on: &Spanned<String>, kinds: &[&str], what: &str) -> String {
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

    fn condition(&mut self, s: &Spanned<String>) -> Option<Condition> {
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

    fn duration(&mut self, s: &Spanned<String>) -> Option<Duration> {
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
    fn guard(&mut self, spanned: &Spanned<file::CheckStep>) -> Option<Guard> {
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

    fn action(&mut self, s: &file::StepFile, span: usize) -> Option<ActionDef> {
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

/// Parse and check a runbook's text.
///
/// # Errors
/// Every problem found, in file order.
pub fn parse(file: &str, text: &str) -> Result<Runbook, Vec<Diagnostic>> {
    let parsed: RunbookFile = toml::from_str(text).map_err(|e| vec![Diagnostic::from_toml(file, text, &e)])?;
    let mut c = Checker {
        file,
        text,
        endpoints: &parsed.endpoints,
        vars: &parsed.vars,
        errors: Vec::new(),
        warnings: Vec::new(),
    };

    for (name, endpoint) in &parsed.endpoints {
        let kind = &endpoint.get_ref().kind;
        if !ENDPOINT_KINDS.contains(&kind.get_ref().as_str()) {
            c.error(
                kind.span().start,
                format!(
                    "endpoint \"{name}\": unknown kind \"{}\" (expected one of {})",
                    kind.get_ref(),
                    ENDPOINT_KINDS.join(", ")
                ),
            );
        }
    }
    let vars: BTreeMap<String, Text> = parsed.vars.iter().map(|(k, v)| (k.clone(), c.text(v))).collect();

    let mut phases = Vec::new();
    let mut forward = Vec::new();
    let mut rollback_steps = Vec::new();
    let mut number = 0;
    let rollback_phases: Vec<&Spanned<file::PhaseFile>> =
        parsed.phases.iter().filter(|p| p.get_ref().rollback).collect();
    if rollback_phases.is_empty() {
        c.error(parsed.name.span().start, "the runbook has no rollback phase: add a [[phase]] with rollback = true");
    }
    for extra in rollback_phases.iter().skip(1) {
        c.error(extra.span().start, "a runbook has one rollback phase; this is a second one");
    }
    for phase in &parsed.phases {
        let p = phase.get_ref();
        let id = if p.rollback {
            "R".to_owned()
        } else {
            number += 1;
            number.to_string()
        };
        let mut steps = Vec::new();
        for (i, step) in p.steps.iter().enumerate() {
            let s = step.get_ref();
            let on_failure = match &s.on_failure {
                None => OnFailure::Stop,
                Some(policy) => match OnFailure::parse(policy.get_ref()) {
                    Ok(OnFailure::Rollback | OnFailure::Retry { then_rollback: true, .. }) if p.rollback => {
                        c.error(
                            content_start(text, policy.span().start),
                            "a rollback step cannot go to rollback: use stop or retry N",
                        );
                        OnFailure::Stop
                    }
                    Ok(policy) => policy,
                    Err(message) => {
                        c.error(content_start(text, policy.span().start), message);
                        OnFailure::Stop
                    }
                },
            };
            let gate = s.gate.as_ref().and_then(|g| c.condition(g));
            // `wait = { timeout }` is the wait's own limit; a step-level one wins.
            let wait_timeout = s.wait.as_ref().and_then(|w| w.get_ref().timeout.as_ref());
            if let (Some(_), Some(inner)) = (&s.timeout, wait_timeout) {
                c.error(content_start(text, inner.span().start), "give the timeout once: in `wait` or on the step");
            }
            let timeout = s.timeout.as_ref().or(wait_timeout).and_then(|t| c.duration(t));
            let Some(action) = c.action(s, step.span().start) else { continue };
            let def = StepDef {
                id: format!("{id}.{}", i + 1),
                name: s.name.clone(),
                rollback: p.rollback,
                timeout: timeout.or_else(|| action.default_timeout()),
                // Repointing the pooler moves the application: always typed.
                destructive: s.destructive || matches!(action, ActionDef::Pooler { verb: PoolerVerb::Repoint, .. }),
                gate,
                starts_write_pause: s.starts_write_pause,
                ends_write_pause: s.ends_write_pause,
                on_failure,
                transaction: s.sql.as_ref().is_some_and(|q| q.get_ref().transaction),
                when: s.when.as_ref().and_then(|w| c.guard(w)),
                action,
            };
            steps.push(OutlineStep {
                id: def.id.clone(),
                name: def.name.clone(),
                kind: def.action.kind().to_owned(),
                on: def.action.endpoints().first().map(|s| (*s).to_owned()),
                destructive: def.destructive,
                gate: s.gate.as_ref().map(|g| g.get_ref().clone()),
                starts_write_pause: def.starts_write_pause,
                ends_write_pause: def.ends_write_pause,
                planned_secs: s.planned.as_ref().and_then(|t| c.duration(t)).map(|d| d.as_secs()),
            });
            if p.rollback { rollback_steps.push(def) } else { forward.push(def) }
        }
        let planned_secs = p.planned.as_ref().and_then(|t| c.duration(t)).map(|d| d.as_secs());
        phases.push(OutlinePhase { id, name: p.name.clone(), rollback: p.rollback, steps, planned_secs });
    }
    if c.errors.is_empty() {
        forward.extend(rollback_steps);
        let mut warnings = c.warnings;
        warnings.sort_by_key(|d| (d.line, d.col));
        warnings.dedup();
        Ok(Runbook {
            file: file.to_owned(),
            text: text.to_owned(),
            name: parsed.name.get_ref().clone(),
            description: parsed.description.clone(),
            endpoints: parsed.endpoints.iter().map(|(k, v)| (k.clone(), v.get_ref().kind.get_ref().clone())).collect(),
            endpoint_at: parsed.endpoints.iter().map(|(k, v)| (k.clone(), v.span().start)).collect(),
            vars,
            steps: forward,
            outline: Outline { name: parsed.name.into_inner(), phases },
            warnings,
        })
    } else {
        let mut errors = c.errors;
        errors.sort_by_key(|d| (d.line, d.col));
        errors.dedup();
        Err(errors)
    }
}

fn step_kinds(s: &file::StepFile) -> Vec<&'static str> {
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

/// The demo runbook.
///
/// # Errors
/// Only if the shipped file is broken (a test loads it).
pub fn demo() -> Result<Runbook> {
    parse(DEMO_RUNBOOK.0, DEMO_RUNBOOK.1).map_err(|e| eyre!("{}", render(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_runbook_loads() {
        let runbook = demo().unwrap();
        let outline = &runbook.outline;
        assert_eq!(outline.name, "pg-logical-migration (demo)");
        assert!(outline.phases.iter().any(|p| p.rollback));
        assert!(outline.phases.iter().flat_map(|p| &p.steps).any(|s| s.starts_write_pause));
        assert!(outline.phases.iter().flat_map(|p| &p.steps).any(|s| s.ends_write_pause));
        assert!(runbook.steps.last().unwrap().rollback, "rollback steps come last");
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let text = "name = \"x\"\n[endpoints]\nsource = { kind = \"postgres\" }\n[[phase]]\nname = \"One\"\n[[phase.step]]\nname = \"a\"\nsql = { on = \"target\", run = [\"select 1\"] }\n";
        let errors = parse("rb.toml", text).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "rb.toml:1:8: the runbook has no rollback phase: add a [[phase]] with rollback = true",
                "rb.toml:8:14: undefined endpoint \"target\" (the runbook defines: source)",
            ]
        );
    }

    #[test]
    fn planned_durations_reach_the_outline_and_a_bad_one_points_at_itself() {
        let text = "name = \"x\"\n[endpoints]\n[[phase]]\nname = \"One\"\nplanned = \"2m\"\n[[phase.step]]\nname = \"a\"\nplanned = \"90s\"\nmanual = { instructions = \"do\" }\n[[phase]]\nname = \"Back\"\nrollback = true\n[[phase.step]]\nname = \"b\"\nmanual = { instructions = \"undo\" }\n";
        let runbook = parse("rb.toml", text).unwrap();
        assert_eq!(runbook.outline.phases[0].planned_secs, Some(120));
        assert_eq!(runbook.outline.phases[0].steps[0].planned_secs, Some(90));
        assert_eq!(runbook.outline.phases[1].planned_secs, None);
        let errors = parse("rb.toml", &text.replace("\"90s\"", "\"soon\"")).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].line, errors[0].col), (8, 12), "{}", errors[0]);
    }

    #[test]
    fn unknown_keys_are_refused_where_they_stand() {
        let text = "name = \"x\"\n[endpoints]\n[[phase]]\nname = \"One\"\nrollbak = true\n";
        let errors = parse("rb.toml", text).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].col), (5, 1), "{}", errors[0]);
        assert!(errors[0].message.contains("unknown field `rollbak`"), "{}", errors[0]);
    }

    #[test]
    fn offsets_inside_strings_count_escapes() {
        let file = r#"a = "x\"y\u00e9 ${v}""#;
        let at = 5;
        let decoded = "x\"yé ${v}";
        let v = decoded.find("${").unwrap();
        assert_eq!(&file[file_offset(file, at, v)..][..2], "${");
        let lit = "a = 'x\\y ${v}'";
        assert_eq!(&lit[file_offset(lit, 5, 4)..][..2], "${");
        let multi = "a = \"\"\"\nx \\\n   y ${v}\"\"\"";
        let at = content_start(multi, 4);
        assert_eq!(&multi[file_offset(multi, at, 4)..][..2], "${");
    }

    #[test]
    fn content_starts_after_quotes() {
        let text = "a = \"x\"\nb = '''\nSELECT'''";
        assert_eq!(content_start(text, 4), 5);
        assert_eq!(content_start(text, 12), 16);
    }
}
