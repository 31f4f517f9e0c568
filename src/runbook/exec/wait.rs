//! `wait` steps: a condition on the gauges that must hold for a while, or a
//! query polled until it reads `expect`; the step's timeout is the caller's.

use std::time::Duration;

use toml::Spanned;

use super::check::reads;
use super::{Executor, Outcome, POLL, POLL_QUICK, QUICK_POLLS};
use crate::condition::Condition;
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::WaitStep;

/// The checker's part: either `until` (and `for`), or `on`, `sql` and `expect`.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, spanned: &Spanned<WaitStep>) -> Option<ActionDef> {
    let wait = spanned.get_ref();
    match (&wait.until, &wait.on, &wait.sql, &wait.expect) {
        (Some(until), None, None, None) => {
            let hold_for = wait.hold_for.as_ref().map_or(Some(Duration::ZERO), |f| c.duration(f));
            let until = c.condition(until)?;
            Some(ActionDef::WaitCondition { until, hold_for: hold_for? })
        }
        (None, Some(on), Some(sql), Some(expect)) if wait.hold_for.is_none() => {
            let (on, sql, expect) = c.query(on, sql, expect, "a sql wait");
            Some(ActionDef::WaitSql { on, sql, expect })
        }
        _ => {
            c.error(spanned.span().start, "wait: give either `until` (and `for`), or `on`, `sql` and `expect`");
            None
        }
    }
}

impl Executor {
    pub(super) async fn wait_condition(&mut self, until: &Condition, hold_for: Duration) -> Outcome {
        let mut since: Option<tokio::time::Instant> = None;
        let mut said: Option<bool> = None;
        loop {
            if self.stopper.stopping() {
                return Outcome::failed("stopped while waiting");
            }
            let verdict = match self.verdict(until) {
                Ok(verdict) => verdict,
                Err(e) => return Outcome::failed(e),
            };
            if verdict.holds {
                let start = *since.get_or_insert_with(tokio::time::Instant::now);
                if start.elapsed() >= hold_for {
                    return Outcome::ok(verdict.reason);
                }
            } else {
                since = None;
            }
            // Say it when the verdict flips, not at every poll.
            if said != Some(verdict.holds) {
                said = Some(verdict.holds);
                self.say(format!("{}: {}", if verdict.holds { "holds" } else { "waiting" }, verdict.reason));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) async fn wait_sql(
        &mut self,
        on: &str,
        sql: &str,
        expect: &str,
        read_only: bool,
    ) -> Result<Outcome, String> {
        let mut last: Option<Option<String>> = None;
        // Quick polls first (a wait during a write pause is the pause), then
        // once a second.
        let started = tokio::time::Instant::now();
        let pause = || if started.elapsed() < QUICK_POLLS { POLL_QUICK } else { Duration::from_secs(1) };
        loop {
            if self.stopper.stopping() {
                return Err("stopped while waiting".to_owned());
            }
            let got = match self.check_value(on, sql, read_only).await {
                Ok(v) => v,
                // The endpoint may come back: keep waiting until the timeout.
                Err(e) => {
                    self.say(format!("waiting: {e}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if reads(got.as_deref(), expect) {
                return Ok(Outcome::ok(format!("reads {expect}")));
            }
            if last.as_ref() != Some(&got) {
                self.say(format!("waiting: reads {}, until {expect}", got.as_deref().unwrap_or("nothing")));
                last = Some(got);
            }
            tokio::time::sleep(pause()).await;
        }
    }
}
