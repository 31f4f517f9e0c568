//! `manual` steps: instructions the operator carries out outside cutover; the
//! step is done once the operator confirms it.

use super::{Executor, Outcome};
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::ManualStep;
use crate::runbook::vars::Value;

/// The checker's part: the instructions, whose `${…}` must resolve.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, manual: &ManualStep) -> Option<ActionDef> {
    Some(ActionDef::Manual { instructions: c.text(&manual.instructions) })
}

impl Executor {
    pub(super) fn manual(&self, instructions: &Value) -> Outcome {
        self.say(&instructions.shown);
        Outcome::ok("confirmed")
    }
}
