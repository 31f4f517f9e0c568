//! Runbooks: files of phases and steps, loaded and checked with every error
//! pointed at `FILE:LINE:COL`, and turned into the [`Outline`] the screen shows.
//!
//! Executing steps is the engine's job (a later piece); this module only reads.

mod file;

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr};
use toml::Spanned;

pub use file::RunbookFile;

use crate::diagnostic::Diagnostic;
use crate::events::{Outline, OutlinePhase, OutlineStep};

/// The demo runbook, shipped inside the binary for `cutover demo`.
pub const DEMO_RUNBOOK: (&str, &str) = ("runbooks/demo.toml", include_str!("../../runbooks/demo.toml"));

const ENDPOINT_KINDS: [&str; 3] = ["postgres", "pgbouncer", "mongodb"];
const ON_FAILURE: [&str; 3] = ["stop", "retry", "rollback"];

/// Read and check a runbook file.
///
/// # Errors
/// An unreadable file, or every problem found, one `FILE:LINE:COL: message` a line.
pub fn load(path: &Path) -> Result<Outline> {
    let text = std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read runbook {}", path.display()))?;
    parse(&path.display().to_string(), &text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        color_eyre::eyre::eyre!("{}", lines.join("\n"))
    })
}

/// Parse and check a runbook's text.
///
/// # Errors
/// Every problem found, in file order.
pub fn parse(file: &str, text: &str) -> Result<Outline, Vec<Diagnostic>> {
    let parsed: RunbookFile = toml::from_str(text).map_err(|e| vec![Diagnostic::from_toml(file, text, &e)])?;
    let mut errors = Vec::new();
    let at = |span: std::ops::Range<usize>, message: String| Diagnostic::at_offset(file, text, span.start, message);

    for (name, endpoint) in &parsed.endpoints {
        if !ENDPOINT_KINDS.contains(&endpoint.get_ref().kind.as_str()) {
            errors.push(at(
                endpoint.span(),
                format!(
                    "endpoint \"{name}\": unknown kind \"{}\" (expected one of {})",
                    endpoint.get_ref().kind,
                    ENDPOINT_KINDS.join(", ")
                ),
            ));
        }
    }
    let known = |on: &Spanned<String>, errors: &mut Vec<Diagnostic>| {
        if !parsed.endpoints.contains_key(on.get_ref()) {
            let names: Vec<&str> = parsed.endpoints.keys().map(String::as_str).collect();
            errors.push(at(
                on.span(),
                format!("undefined endpoint \"{}\" (the runbook defines: {})", on.get_ref(), names.join(", ")),
            ));
        }
    };

    let mut phases = Vec::new();
    let mut number = 0;
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
            let kinds = step_kinds(s);
            if kinds.len() != 1 {
                let message = if kinds.is_empty() {
                    format!(
                        "step \"{}\" has no action: give one of sql, check, wait, shell, verify, manual, mongo",
                        s.name
                    )
                } else {
                    format!("step \"{}\" has several actions ({}): give exactly one", s.name, kinds.join(", "))
                };
                errors.push(at(step.span(), message));
            }
            if let Some(policy) = &s.on_failure {
                let word = policy.split_whitespace().next().unwrap_or_default();
                if !ON_FAILURE.contains(&word) {
                    errors.push(at(
                        step.span(),
                        format!(
                            "step \"{}\": on_failure must be one of {}, not \"{policy}\"",
                            s.name,
                            ON_FAILURE.join(", ")
                        ),
                    ));
                }
            }
            let on = step_endpoint(s);
            for endpoint in &on {
                known(endpoint, &mut errors);
            }
            steps.push(OutlineStep {
                id: format!("{id}.{}", i + 1),
                name: s.name.clone(),
                kind: kinds.first().copied().unwrap_or("manual").to_owned(),
                on: on.first().map(|o| o.get_ref().clone()),
                destructive: s.destructive,
                gate: s.gate.clone(),
                starts_write_pause: s.starts_write_pause,
                ends_write_pause: s.ends_write_pause,
            });
        }
        phases.push(OutlinePhase { id, name: p.name.clone(), rollback: p.rollback, steps });
    }
    if !phases.iter().any(|p| p.rollback) {
        errors.push(at(
            parsed.name.span(),
            "the runbook has no rollback phase: add a [[phase]] with rollback = true".to_owned(),
        ));
    }
    if errors.is_empty() {
        Ok(Outline { name: parsed.name.into_inner(), phases })
    } else {
        errors.sort_by_key(|d| (d.line, d.col));
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
    ]
    .into_iter()
    .filter_map(|(set, kind)| set.then_some(kind))
    .collect()
}

fn step_endpoint(s: &file::StepFile) -> Vec<&Spanned<String>> {
    let mut on = Vec::new();
    if let Some(sql) = &s.sql {
        on.push(&sql.on);
    }
    if let Some(check) = s.check.as_ref().and_then(|c| c.on.as_ref()) {
        on.push(check);
    }
    if let Some(verify) = &s.verify {
        on.push(&verify.source);
        on.push(&verify.target);
    }
    if let Some(mongo) = &s.mongo {
        on.push(&mongo.on);
    }
    on
}

/// The demo runbook's outline.
///
/// # Errors
/// Only if the shipped file is broken (a test loads it).
pub fn demo() -> Result<Outline> {
    parse(DEMO_RUNBOOK.0, DEMO_RUNBOOK.1)
        .map_err(|e| color_eyre::eyre::eyre!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_runbook_loads() {
        let outline = demo().unwrap();
        assert_eq!(outline.name, "pg-logical-migration (demo)");
        assert!(outline.phases.iter().any(|p| p.rollback));
        assert!(outline.phases.iter().flat_map(|p| &p.steps).any(|s| s.starts_write_pause));
        assert!(outline.phases.iter().flat_map(|p| &p.steps).any(|s| s.ends_write_pause));
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
    fn unknown_keys_are_refused_where_they_stand() {
        let text = "name = \"x\"\n[endpoints]\n[[phase]]\nname = \"One\"\nrollbak = true\n";
        let errors = parse("rb.toml", text).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].col), (5, 1), "{}", errors[0]);
        assert!(errors[0].message.contains("unknown field `rollbak`"), "{}", errors[0]);
    }
}
