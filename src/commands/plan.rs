//! `cutover plan RUNBOOK --inventory FILE`: every step resolved, nothing run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::cli::VarArgs;
use crate::runbook::runner;

pub fn run(runbook: &Path, inventory: &Path, vars: &VarArgs) -> i32 {
    let operator = crate::operator::default_operator();
    let (runbook, inventory, _, planned) =
        match runner::prepare(runbook, inventory, &operator, &vars.vars, &vars.var_env) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        };
    let mut text = format!("{} — against {}\n", runbook.name, inventory.name);
    if !runbook.description.is_empty() {
        let _ = writeln!(text, "{}", runbook.description);
    }
    for phase in &runbook.outline.phases {
        let _ = if phase.rollback {
            writeln!(text, "\nRollback: {}", phase.name)
        } else {
            writeln!(text, "\nPhase {}: {}", phase.id, phase.name)
        };
        for step in &phase.steps {
            let _ = writeln!(text, "  {} {} [{}]", step.id, step.name, step.kind);
            for line in planned.iter().filter(|p| p.id == step.id).flat_map(|p| &p.shows) {
                let _ = writeln!(text, "      {line}");
            }
        }
    }
    // A closed pipe (`cutover plan … | head`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}
