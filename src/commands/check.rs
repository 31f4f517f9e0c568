//! `cutover check RUNBOOK [--inventory FILE]`: every problem as
//! `FILE:LINE:COL: message`; exit 0 only when the runbook is valid (and, with
//! an inventory, resolves against it).

use std::path::Path;

use crate::cli::VarArgs;
use crate::runbook::{self, plan};

pub fn run(path: &Path, inventory: Option<&Path>, vars: &VarArgs) -> i32 {
    let runbook = match runbook::load(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    // Warnings do not fail the check: the runbook runs as written.
    for warning in &runbook.warnings {
        eprintln!("{warning}");
    }
    let mut against = String::new();
    if let Some(inventory_path) = inventory {
        let inventory = match crate::inventory::load(inventory_path) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        };
        let env = |k: &str| std::env::var(k).ok();
        let operator = crate::operator::default_operator();
        let bindings = plan::Bindings {
            inventory: &inventory,
            overrides: &vars.vars,
            from_env: &vars.var_env,
            operator: &operator,
            env: &env,
        };
        let resolved = plan::scope(&runbook, &bindings).and_then(|scope| plan::resolve(&runbook, &scope, &inventory));
        if let Err(errors) = resolved {
            eprintln!("{}", runbook::render(&errors));
            return 1;
        }
        against = format!(", resolves against {}", inventory_path.display());
    }
    let outline = &runbook.outline;
    println!(
        "{}: ok — \"{}\", {} phases, {} steps{against}",
        path.display(),
        outline.name,
        outline.phases.len(),
        runbook.steps.len()
    );
    0
}
