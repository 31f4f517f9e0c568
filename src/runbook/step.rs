//! A runbook step as the engine knows it once the file is checked: its action
//! (text still holding `${…}`), gate, failure policy and timeout.

use std::time::Duration;

use crate::condition::Condition;

/// Runbook text with where it starts in the file, so a `${…}` that cannot be
/// resolved is reported at its own line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    /// Byte offset in the runbook file of the text's first character.
    pub at: usize,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionDef {
    /// Statements run in order on `on`, each in its own transaction.
    Sql { on: String, run: Vec<Text> },
    /// Statements made by a query on `from` (first column of each row), run on `on`.
    Generate { on: String, from: String, sql: Text },
    /// The query's first column of the first row, as text, must read `expect`.
    CheckSql { on: String, sql: Text, expect: Text },
    /// A condition on the gauges must hold now.
    CheckCondition(Condition),
    /// A condition on the gauges must hold for `hold_for`, within the step's timeout.
    WaitCondition { until: Condition, hold_for: Duration },
    /// A query polled until its first column reads `expect`, within the step's timeout.
    WaitSql { on: String, sql: Text, expect: Text },
    /// `sh -c` on this machine.
    Shell { run: Text },
    /// The checksum engine over `tables` (empty: every user table of the source).
    /// `settle`: see [`crate::verify::Options::settle`].
    Verify { source: String, target: String, tables: Vec<String>, settle: Duration },
    /// The operator does something outside and confirms it is done.
    Manual { instructions: Text },
    /// A MongoDB database command; `leaves` are its strings in document
    /// order, each of which may hold `${…}`.
    /// `db`: where it runs (`None`: the uri's database).
    Mongo { on: String, db: Option<String>, command: serde_json::Value, leaves: Vec<Text> },
    /// A PgBouncer admin command on `on`, or the repoint of one of its
    /// databases (`database`; `None`: every one) to endpoint `to`.
    /// `max_pause`: a pause's budget (see [`super::pooler`]).
    Pooler { on: String, verb: PoolerVerb, database: Option<Text>, to: Option<String>, max_pause: Option<Duration> },
    /// `pg_create_restore_point` on `on`, named `name` or after the run and the step.
    RestorePoint { on: String, name: Option<Text> },
    /// Replica-set membership changes on `on`, one `replSetReconfig` each:
    /// members added, priorities set, members removed, in that order.
    Reconfig { on: String, add: Vec<Text>, remove: Vec<Text>, priority: Vec<(Text, f64)> },
}

impl ActionDef {
    /// The step kind's word, as the runbook writes it.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sql { .. } | Self::Generate { .. } => "sql",
            Self::CheckSql { .. } | Self::CheckCondition(_) => "check",
            Self::WaitCondition { .. } | Self::WaitSql { .. } => "wait",
            Self::Shell { .. } => "shell",
            Self::Verify { .. } => "verify",
            Self::Manual { .. } => "manual",
            Self::Mongo { .. } | Self::Reconfig { .. } => "mongo",
            Self::Pooler { .. } => "pgbouncer",
            Self::RestorePoint { .. } => "restore_point",
        }
    }

    /// Whether the step's kind only reads. A step is read-only only if it is
    /// also not destructive: see [`StepDef::reads_only`].
    #[must_use]
    pub fn reads_only(&self) -> bool {
        matches!(
            self,
            Self::CheckSql { .. }
                | Self::CheckCondition(_)
                | Self::WaitCondition { .. }
                | Self::WaitSql { .. }
                | Self::Verify { .. }
        )
    }

    /// The endpoints the step acts on or reads, the main one first.
    #[must_use]
    pub fn endpoints(&self) -> Vec<&str> {
        match self {
            Self::Sql { on, .. } | Self::CheckSql { on, .. } | Self::WaitSql { on, .. } | Self::Mongo { on, .. } => {
                vec![on]
            }
            Self::Reconfig { on, .. } | Self::RestorePoint { on, .. } => {
                vec![on]
            }
            Self::Generate { on, from, .. } => vec![on, from],
            Self::Pooler { on, to, .. } => std::iter::once(on.as_str()).chain(to.as_deref()).collect(),
            Self::Verify { source, target, .. } => vec![target, source],
            Self::CheckCondition(_) | Self::WaitCondition { .. } | Self::Shell { .. } | Self::Manual { .. } => {
                Vec::new()
            }
        }
    }
}

/// What a `pgbouncer` step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolerVerb {
    Pause,
    Resume,
    Reload,
    Repoint,
}

/// What happens when a step fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The run stops; the operator decides.
    Stop,
    /// Go to the rollback phase.
    Rollback,
    /// Run the step again, up to `times` more times, then `then`.
    Retry { times: u32, then_rollback: bool },
}

impl OnFailure {
    /// Parse `stop`, `rollback`, `retry N`, `retry N then stop|rollback`.
    ///
    /// # Errors
    /// A message saying what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let then = |w: &[&str]| match w {
            [] | ["then", "stop"] => Ok(false),
            ["then", "rollback"] => Ok(true),
            _ => Err(()),
        };
        let parsed = match words.as_slice() {
            ["stop"] => Ok(Self::Stop),
            ["rollback"] => Ok(Self::Rollback),
            ["retry", n, rest @ ..] => match (n.parse::<u32>(), then(rest)) {
                (Ok(times), Ok(then_rollback)) if (1..=100).contains(&times) => {
                    Ok(Self::Retry { times, then_rollback })
                }
                _ => Err(()),
            },
            _ => Err(()),
        };
        parsed.map_err(|()| {
            format!(
                "on_failure must be \"stop\", \"rollback\", \"retry N\" or \"retry N then rollback\" (N from 1 to 100), not \"{text}\""
            )
        })
    }
}

/// One step of a checked runbook.
#[derive(Clone, Debug, PartialEq)]
pub struct StepDef {
    /// `2.3`, or `R.1` in the rollback phase.
    pub id: String,
    pub name: String,
    /// In the rollback phase.
    pub rollback: bool,
    pub action: ActionDef,
    pub destructive: bool,
    pub gate: Option<Condition>,
    pub starts_write_pause: bool,
    pub ends_write_pause: bool,
    pub on_failure: OnFailure,
    /// `None`: no limit (manual steps, verification).
    pub timeout: Option<Duration>,
    /// A `sql` step's statements run in one transaction (`transaction = true`).
    pub transaction: bool,
    /// Run only when this query reads its `expect` (else skipped).
    pub when: Option<Guard>,
}

/// A step's `when`: a read-only query on `on` whose first column must read
/// `expect` for the step to be needed, or a condition on the gauges that must
/// hold. Read when the step's turn comes, before it is confirmed: a rollback
/// phase written once for a failure before the switch and after it skips what
/// does not apply; a pre-flight on backups runs only where there are some.
#[derive(Clone, Debug, PartialEq)]
pub enum Guard {
    Query { on: String, sql: Text, expect: Text },
    Condition(Condition),
}

impl StepDef {
    /// Whether the step only reads, so running it again after an interruption
    /// changes nothing: a check, wait or verification that is not marked
    /// destructive (a check may call `pg_promote()`). Read-only SQL runs in a
    /// `READ ONLY` transaction, so it cannot write either.
    #[must_use]
    pub fn reads_only(&self) -> bool {
        !self.destructive && self.action.reads_only()
    }

    /// Whether a failed attempt left nothing half done, so a `retry` policy
    /// may run it again by itself: a read, one statement, or statements in
    /// one transaction — not several statements of which some committed.
    #[must_use]
    pub fn retry_safe(&self) -> bool {
        match &self.action {
            ActionDef::Sql { run, .. } => run.len() <= 1 || self.transaction,
            ActionDef::Generate { .. } => self.transaction,
            _ => true,
        }
    }
}

/// Default time limits.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(3600);
pub const DEFAULT_POOLER_TIMEOUT: Duration = Duration::from_secs(60);

impl ActionDef {
    /// The limit a step of this kind gets when the runbook gives none.
    #[must_use]
    pub fn default_timeout(&self) -> Option<Duration> {
        match self {
            Self::Sql { .. }
            | Self::Generate { .. }
            | Self::CheckSql { .. }
            | Self::Shell { .. }
            | Self::Mongo { .. }
            | Self::Reconfig { .. } => Some(DEFAULT_STATEMENT_TIMEOUT),
            Self::WaitCondition { .. } | Self::WaitSql { .. } => Some(DEFAULT_WAIT_TIMEOUT),
            // A PAUSE that waits long for transactions to end is an outage already.
            Self::Pooler { .. } | Self::RestorePoint { .. } => Some(DEFAULT_POOLER_TIMEOUT),
            Self::CheckCondition(_) | Self::Verify { .. } | Self::Manual { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_policies_parse() {
        assert_eq!(OnFailure::parse("stop"), Ok(OnFailure::Stop));
        assert_eq!(OnFailure::parse(" rollback "), Ok(OnFailure::Rollback));
        assert_eq!(OnFailure::parse("retry 3"), Ok(OnFailure::Retry { times: 3, then_rollback: false }));
        assert_eq!(OnFailure::parse("retry 2 then rollback"), Ok(OnFailure::Retry { times: 2, then_rollback: true }));
        for bad in ["", "retry", "retry 0", "retry x", "retry 2 then", "continue", "retry 2 then retry"] {
            assert!(OnFailure::parse(bad).is_err(), "{bad}");
        }
    }
}
