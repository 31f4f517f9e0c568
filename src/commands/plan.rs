//! `cutover plan RUNBOOK --inventory FILE`: every step resolved, nothing run.

use std::path::Path;

use crate::runbook::runner;

pub fn run(runbook: &Path, inventory: &Path, vars: &[(String, String)]) -> i32 {
    let (runbook, inventory, _, planned) = match runner::prepare(runbook, inventory, &runner::default_operator(), vars)
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    println!("{} — against {}", runbook.name, inventory.name);
    if !runbook.description.is_empty() {
        println!("{}", runbook.description);
    }
    for phase in &runbook.outline.phases {
        println!();
        let title = if phase.rollback {
            format!("Rollback: {}", phase.name)
        } else {
            format!("Phase {}: {}", phase.id, phase.name)
        };
        println!("{title}");
        for step in &phase.steps {
            println!("  {} {} [{}]", step.id, step.name, step.kind);
            if let Some(p) = planned.iter().find(|p| p.id == step.id) {
                for line in &p.shows {
                    println!("      {line}");
                }
            }
        }
    }
    0
}
