//! A live run as the screen knows it: what the run waits for, what each step
//! will execute, its output, and the prompt the operator is answering.
//!
//! The prompts are here, not in the runner, so that asking is part of the
//! state fold: a confirmation is a key press that becomes a [`RunCommand`].

use std::collections::HashMap;

use super::{Effect, History, State};
use crate::condition::{self, Condition, Verdict};
use crate::events::{Awaiting, PromptKey, RunCommand, StepStatus};

/// Output lines kept for the screen.
pub const OUTPUT_CAPACITY: usize = 500;

/// A question on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Run this step? y / n.
    Confirm { step: String },
    /// A destructive step: type the endpoint's name, then Enter.
    TypeName { step: String, endpoint: String, typed: String },
    /// Go to the rollback phase? y / n.
    Rollback,
    /// Cancel the running step? y / n.
    Cancel { step: String },
    /// A failed or interrupted step: r(e-run), s(kip), Esc.
    Decide { step: String, why: String },
}

#[derive(Clone, Debug)]
pub struct RunView {
    /// What the run waits for; `None` when no run is attached (watch, demo).
    pub awaiting: Option<Awaiting>,
    pub plans: HashMap<String, Vec<String>>,
    pub gates: HashMap<String, Condition>,
    /// (step, line), oldest first.
    pub output: History<(String, String)>,
    pub prompt: Option<Prompt>,
    /// A one-line answer to the operator's last key (why it did nothing).
    pub notice: Option<String>,
}

impl Default for RunView {
    fn default() -> Self {
        Self {
            awaiting: None,
            plans: HashMap::new(),
            gates: HashMap::new(),
            output: History::new(OUTPUT_CAPACITY),
            prompt: None,
            notice: None,
        }
    }
}

impl State {
    /// The gate of a step, evaluated on the live gauges (`None`: no gate).
    #[must_use]
    pub fn gate_verdict(&self, step: &str) -> Option<Verdict> {
        self.run.gates.get(step).map(|c| c.eval(self))
    }

    pub(super) fn index_gates(&mut self) {
        self.run.gates.clear();
        let Some(outline) = &self.outline else { return };
        for step in outline.phases.iter().flat_map(|p| &p.steps) {
            if let Some(Ok(c)) = step.gate.as_deref().map(condition::parse) {
                self.run.gates.insert(step.id.clone(), c);
            }
        }
    }

    pub(super) fn go(&mut self) {
        self.run.notice = None;
        match self.run.awaiting.clone() {
            Some(Awaiting::Confirm { step }) => {
                if let Some(v) = self.gate_verdict(&step).filter(|v| !v.holds) {
                    self.run.notice = Some(format!("{step} is locked: {}", v.reason));
                    return;
                }
                let outline_step = self.outline.as_ref().and_then(|o| o.step(&step)).cloned();
                self.run.prompt = Some(match outline_step.and_then(|s| s.confirm_word()) {
                    Some(endpoint) => Prompt::TypeName { step, endpoint, typed: String::new() },
                    None => Prompt::Confirm { step },
                });
            }
            Some(Awaiting::Decide { step, why }) => self.run.prompt = Some(Prompt::Decide { step, why }),
            Some(Awaiting::Running { step }) => self.run.notice = Some(format!("{step} is running (x cancels it)")),
            Some(Awaiting::Over { .. }) => self.run.notice = Some("the run is over".to_owned()),
            None => {}
        }
    }

    pub(super) fn rollback_ask(&mut self) {
        self.run.notice = None;
        match &self.run.awaiting {
            None | Some(Awaiting::Over { .. }) => {}
            Some(Awaiting::Running { step }) => {
                self.run.notice = Some(format!("{step} is running: cancel it first (x)"));
            }
            Some(_) if self.rolling_back() => self.run.notice = Some("already rolling back".to_owned()),
            Some(_) => self.run.prompt = Some(Prompt::Rollback),
        }
    }

    pub(super) fn cancel_ask(&mut self) {
        if let Some(Awaiting::Running { step }) = &self.run.awaiting {
            self.run.prompt = Some(Prompt::Cancel { step: step.clone() });
        }
    }

    /// Whether the run has gone to its rollback phase (a rollback step started).
    fn rolling_back(&self) -> bool {
        self.outline.as_ref().is_some_and(|o| {
            o.phases
                .iter()
                .filter(|p| p.rollback)
                .flat_map(|p| &p.steps)
                .any(|s| self.step_status(&s.id) != StepStatus::Pending)
        })
    }

    pub(super) fn prompt_key(&mut self, key: PromptKey) -> Vec<Effect> {
        let Some(prompt) = self.run.prompt.take() else { return Vec::new() };
        let yes = matches!(key, PromptKey::Char('y' | 'Y'));
        let no = matches!(key, PromptKey::Esc | PromptKey::Char('n' | 'N'));
        let (keep, command) = match prompt {
            Prompt::Confirm { step } if yes => (None, Some(RunCommand::Confirm { step, typed: None })),
            Prompt::Rollback if yes => (None, Some(RunCommand::Rollback)),
            Prompt::Cancel { .. } if yes => (None, Some(RunCommand::Cancel)),
            Prompt::Confirm { .. } | Prompt::Rollback | Prompt::Cancel { .. } if no => (None, None),
            Prompt::Decide { step, .. } if matches!(key, PromptKey::Char('r')) => {
                (None, Some(RunCommand::Rerun { step }))
            }
            Prompt::Decide { step, .. } if matches!(key, PromptKey::Char('s')) => {
                (None, Some(RunCommand::Skip { step }))
            }
            Prompt::Decide { .. } if matches!(key, PromptKey::Esc) => (None, None),
            Prompt::TypeName { step, endpoint, mut typed } => match key {
                PromptKey::Esc => (None, None),
                PromptKey::Backspace => {
                    typed.pop();
                    (Some(Prompt::TypeName { step, endpoint, typed }), None)
                }
                PromptKey::Char(c) if typed.chars().count() < 64 => {
                    typed.push(c);
                    (Some(Prompt::TypeName { step, endpoint, typed }), None)
                }
                PromptKey::Enter if typed == endpoint => (None, Some(RunCommand::Confirm { step, typed: Some(typed) })),
                PromptKey::Enter => {
                    self.run.notice = Some(format!("\"{typed}\" is not \"{endpoint}\": type the endpoint's name"));
                    (Some(Prompt::TypeName { step, endpoint, typed: String::new() }), None)
                }
                PromptKey::Char(_) => (Some(Prompt::TypeName { step, endpoint, typed }), None),
            },
            other => (Some(other), None),
        };
        self.run.prompt = keep;
        command.map(|c| vec![Effect::Command(c)]).unwrap_or_default()
    }

    pub(super) fn output_line(&mut self, step: &str, text: &str) {
        self.run.output.push((step.to_owned(), text.to_owned()));
    }

    pub(super) fn awaiting(&mut self, awaiting: &Awaiting) {
        // A prompt about a step the run no longer waits on is stale.
        self.run.prompt = None;
        self.run.awaiting = Some(awaiting.clone());
    }
}
