//! `cutover check RUNBOOK`.

use std::path::Path;

pub fn run(path: &Path) -> i32 {
    match crate::runbook::load(path) {
        Ok(outline) => {
            let steps: usize = outline.phases.iter().map(|p| p.steps.len()).sum();
            println!("{}: ok — \"{}\", {} phases, {steps} steps", path.display(), outline.name, outline.phases.len());
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
