//! Executes one resolved step: statements on an endpoint, a shell command, a
//! wait on the gauges, a verification. Everything a step prints leaves as an
//! [`Emitted`] (secrets scrubbed); the executor knows nothing of the screen or
//! the journal. Timeouts and cancellation belong to the caller, which drops the
//! future and calls [`Executor::cancel`] so the server or the child stops too.
//!
//! Each step kind has its file here, holding both halves of the kind: `check`,
//! the checker's part (the kind's table of a runbook file turned into an
//! [`ActionDef`](super::ActionDef), every problem reported at its place), and
//! the executor's part (`impl Executor`). This file keeps what they share: the
//! executor, what it gives out, and the dispatch of a step to its kind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::plan::Resolved;
use super::stop::Stopper;
use super::vars::Scope;
use crate::events::ChecksumProgress;
use crate::inventory::{Endpoint, Inventory};
use crate::state::State;

pub(super) mod check;
pub(super) mod manual;
pub(super) mod mongo;
pub(super) mod mysql;
pub(super) mod pooler;
pub(super) mod restore_point;
pub(super) mod shell;
pub(super) mod sql;
pub(super) mod verify;
pub(super) mod wait;

/// How often waits look at the gauges and poll their query.
pub const POLL: Duration = Duration::from_millis(250);
/// A query wait polls this often for its first [`QUICK_POLLS`], then every second.
pub const POLL_QUICK: Duration = Duration::from_millis(50);
pub const QUICK_POLLS: Duration = Duration::from_secs(5);
/// Rows of a query result printed as output.
pub const ROWS_SHOWN: usize = 20;

/// What a running step gives out.
#[derive(Clone, Debug, PartialEq)]
pub enum Emitted {
    Output(String),
    Checksum(ChecksumProgress),
    /// A restore point was made: the journal and the report keep its name.
    RestorePoint {
        endpoint: String,
        name: String,
        lsn: String,
    },
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub summary: String,
}

impl Outcome {
    fn ok(summary: impl Into<String>) -> Self {
        Self { ok: true, summary: summary.into() }
    }

    fn failed(summary: impl Into<String>) -> Self {
        Self { ok: false, summary: summary.into() }
    }
}

/// Runs steps; keeps one connection per endpoint between them.
pub struct Executor {
    inventory: Inventory,
    scope: Scope,
    /// The live gauges, folded by the caller from the collectors.
    gauges: Arc<Mutex<State>>,
    /// A connection per endpoint, and its backend's pid (for a probe after a cancel).
    clients: HashMap<String, (Arc<Client>, Option<i32>)>,
    mongo_clients: HashMap<String, mongodb::Client>,
    /// A session per MySQL endpoint.
    mysql_sessions: HashMap<String, crate::endpoint::mysql::Session>,
    /// The step's statement or process group, for whoever must stop it.
    stopper: Stopper,
    out: mpsc::UnboundedSender<Emitted>,
}

impl Executor {
    #[must_use]
    pub fn new(
        inventory: Inventory,
        scope: Scope,
        gauges: Arc<Mutex<State>>,
        out: mpsc::UnboundedSender<Emitted>,
    ) -> Self {
        Self {
            inventory,
            scope,
            gauges,
            clients: HashMap::new(),
            mongo_clients: HashMap::new(),
            mysql_sessions: HashMap::new(),
            stopper: Stopper::default(),
            out,
        }
    }

    #[must_use]
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    fn say(&self, text: impl AsRef<str>) {
        let _ = self.out.send(Emitted::Output(self.scope.scrub(text.as_ref())));
    }

    fn endpoint(&self, name: &str) -> Result<Endpoint, String> {
        self.inventory
            .endpoints
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .ok_or_else(|| format!("no endpoint \"{name}\""))
    }

    /// A handle that stops the running step, usable while its future runs.
    #[must_use]
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Run one step to its end. Manual steps are done once confirmed.
    /// `read_only`: the step is read-only (see [`super::StepDef::reads_only`]),
    /// so its SQL runs as one statement in a `READ ONLY` transaction.
    /// `transaction`: a `sql` step's statements run in one transaction.
    pub async fn run(&mut self, job: &super::execute::Job<'_>) -> Outcome {
        let (action, read_only, transaction) = (job.action, job.read_only, job.transaction);
        self.stopper.clear();
        let outcome = match action {
            Resolved::Sql { on, run } => self.sql(on, run, transaction).await,
            Resolved::Generate { on, from, sql } => self.generate(on, from, sql, transaction).await,
            Resolved::CheckSql { on, sql, expect } => self.check_sql(on, sql, expect, read_only).await,
            Resolved::CheckCondition(c) => self.check_condition(c),
            Resolved::WaitCondition { until, hold_for } => Ok(self.wait_condition(until, *hold_for).await),
            Resolved::WaitSql { on, sql, expect } => self.wait_sql(on, &sql.plain, &expect.plain, read_only).await,
            Resolved::Shell { run, env } => self.shell(&run.plain, env).await,
            Resolved::Verify { source, target, tables, settle } => self.verify(source, target, tables, *settle).await,
            Resolved::Manual { instructions } => Ok(self.manual(instructions)),
            Resolved::RestorePoint { on, name } => self.restore_point(on, name.as_ref(), job.run, job.step).await,
            Resolved::Mongo { on, db, command } => self.mongo(on, db.as_deref(), command).await,
            Resolved::Pooler { on, op, repoint } => self.pooler(on, op, repoint.as_ref()).await,
            Resolved::Reconfig { on, add, remove, priority } => self.reconfig(on, add, remove, priority).await,
        };
        let outcome = outcome.unwrap_or_else(Outcome::failed);
        Outcome { ok: outcome.ok, summary: self.scope.scrub(&outcome.summary) }
    }

    /// A step's `when` (a [`Resolved::CheckSql`]), read in a read-only
    /// transaction: whether it reads its `expect`, and what it read.
    ///
    /// # Errors
    /// The query could not be run (endpoint unreachable, SQL error).
    pub async fn guard(&mut self, when: &Resolved) -> Result<(bool, String), String> {
        if let Resolved::CheckCondition(condition) = when {
            let verdict = self.verdict(condition)?;
            // Unknown is not "not needed": a pre-flight is never skipped on missing figures.
            return if verdict.known { Ok((verdict.holds, verdict.reason)) } else { Err(verdict.reason) };
        }
        let Resolved::CheckSql { on, sql, expect } = when else {
            return Err("a `when` is a query or a condition".to_owned());
        };
        let got = self.check_value(on, &sql.plain, true).await?;
        let holds = check::reads(got.as_deref(), &expect.plain);
        Ok((holds, format!("read {} on {on}, not {}", check::shown(got), expect.shown)))
    }
}
