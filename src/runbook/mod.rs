//! Runbooks: files of phases and steps, loaded and checked with every error
//! pointed at `FILE:LINE:COL`, turned into [`StepDef`]s for the engine and the
//! [`Outline`] the screen shows.

mod checker;
pub mod decide;
pub mod engine;
pub mod exec;
pub mod execute;
mod file;
mod paused;
mod pins;
pub mod plan;
pub mod pooler;
pub mod quoting;
pub mod runner;
pub mod simulated;
mod sink;
mod spans;
mod step;
pub mod stop;
pub mod vars;

use std::collections::BTreeMap;
use std::path::Path;

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
use checker::Checker;
use spans::content_start;
pub use spans::file_offset;

/// The demo runbook, shipped inside the binary for `cutover demo`.
pub const DEMO_RUNBOOK: (&str, &str) = ("runbooks/demo.toml", include_str!("../../runbooks/demo.toml"));

const ENDPOINT_KINDS: [&str; 4] = ["postgres", "pgbouncer", "mongodb", "mysql"];

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
        phases.push(OutlinePhase {
            id,
            name: p.name.clone(),
            rollback: p.rollback,
            steps,
            planned_secs,
            recovery_time: p.recovery_time,
        });
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
