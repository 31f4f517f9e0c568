//! The runner's care of a paused pooler: said first on resume, rolled back
//! past its budget, resumed before cutover stops (see [`super::super::paused`]).

use std::time::Duration;

use color_eyre::eyre::Result;

use super::Runner;
use crate::events::RunEvent;
use crate::runbook::execute::{Execute, Job};

/// Why a run rolls back when its pooler's pause ran past its budget.
pub(super) fn budget_reason(budget: Duration) -> String {
    format!("the pooler stayed paused past its max_pause of {}", crate::format::coarse(budget.as_secs_f64()))
}

impl<X: Execute> Runner<X> {
    /// A run resumed with its pooler paused (cutover was killed, the link
    /// dropped): said first. Past the pause's budget it rolls back now (the
    /// rollback resumes the pooler on the source); else the run goes on
    /// (forward: its steps lead to RESUME), and in the cockpit `R` goes back.
    pub(super) fn paused_on_resume(&mut self) -> Result<()> {
        let Some(p) = self.pause.paused.clone() else { return Ok(()) };
        let lasted = (chrono::Utc::now() - p.since).to_std().unwrap_or_default();
        let budget = crate::runbook::paused::max_pause(&self.runbook, &p.step);
        let what = format!(
            "the pooler {} is PAUSED ({}, by step {} {} ago): its clients wait",
            p.on,
            p.database.as_deref().unwrap_or("every database"),
            p.step,
            crate::format::coarse(lasted.as_secs_f64())
        );
        self.say(crate::events::LogLevel::Error, what)?;
        match budget {
            Some(budget) if lasted >= budget => self.roll_back_for_budget(budget),
            _ => self.say(
                crate::events::LogLevel::Warn,
                "go on to RESUME it (forward), or roll back to RESUME it on the source (R; --rollback)".to_owned(),
            ),
        }
    }

    /// The pause ran past its budget: roll back (once), saying so.
    pub(super) fn roll_back_for_budget(&mut self, budget: Duration) -> Result<()> {
        if self.engine.rolling_back() {
            return Ok(());
        }
        self.record(RunEvent::Rollback { operator: "cutover".to_owned(), reason: budget_reason(budget) })
    }

    /// cutover stops with its pooler paused: a paused pooler is an outage, so
    /// it is resumed first. Repointed already: the clients go to the new
    /// server (the switch is done but for its checks). Not yet: they go back
    /// to the source, and the run is rolled back (the source no longer
    /// replicates to the target, so going forward from here would lose what
    /// the clients write meanwhile).
    pub(super) async fn unpause_on_stop(&mut self, why: &str) -> Result<()> {
        let Some(p) = self.pause.paused.clone() else { return Ok(()) };
        let db = p.database.clone().unwrap_or_else(|| "every database".to_owned());
        // A rollback's pause holds the clients of the server it points at.
        let rolled = self.runbook.step(&p.step).is_some_and(|s| s.rollback);
        let whither = if p.repointed || rolled { "on the server it now points at" } else { "on the source" };
        self.say(
            crate::events::LogLevel::Warn,
            format!("{why} with the pooler {} paused: RESUME {db} {whither}", p.on),
        )?;
        let resume = p.resume();
        let job = Job {
            step: &p.step,
            run: &self.run_id,
            action: &resume,
            shows: &[],
            endpoints: vec![p.on.as_str()],
            timeout: None,
            read_only: false,
            transaction: false,
        };
        let outcome = self.exec.run(job).await;
        while self.emitted.try_recv().is_ok() {}
        if !outcome.ok {
            let text = format!("RESUME FAILED on {}: {} — resume it by hand (RESUME {db})", p.on, outcome.summary);
            return self.say(crate::events::LogLevel::Error, text);
        }
        self.say(crate::events::LogLevel::Info, outcome.summary)?;
        self.pause = crate::runbook::paused::PauseWatch::default();
        if !p.repointed && !self.engine.rolling_back() {
            let reason = format!("{why} with the pooler paused; it was resumed on the source");
            self.record(RunEvent::Rollback { operator: "cutover".to_owned(), reason })?;
        }
        Ok(())
    }
}
