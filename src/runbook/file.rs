//! The runbook file format (`runbooks/*.toml`): serde types that mirror the
//! file, kept apart from the runtime [`crate::events::Outline`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookFile {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// Logical endpoint names and what they must be.
    pub endpoints: BTreeMap<String, Spanned<EndpointFile>>,
    /// Defaults for `${name}`; the inventory's `[vars]` and `--var` override them.
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<String>>,
    #[serde(rename = "phase")]
    pub phases: Vec<Spanned<PhaseFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    pub kind: Spanned<String>,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseFile {
    pub name: String,
    /// The phase the operator can jump to from anywhere.
    #[serde(default)]
    pub rollback: bool,
    /// How long the phase should take ("20m"): the report sets it against the actual.
    pub planned: Option<Spanned<String>>,
    /// The phase is a recovery (a restore and its WAL replay): its length is
    /// the recovery time, journaled when it ends and set apart in the report.
    #[serde(default)]
    pub recovery_time: bool,
    #[serde(rename = "step", default)]
    pub steps: Vec<Spanned<StepFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    pub name: String,
    pub sql: Option<Spanned<SqlStep>>,
    pub check: Option<Spanned<CheckStep>>,
    pub wait: Option<Spanned<WaitStep>>,
    pub shell: Option<ShellStep>,
    pub verify: Option<VerifyStep>,
    pub manual: Option<ManualStep>,
    pub mongo: Option<MongoStep>,
    pub pgbouncer: Option<Spanned<PgbouncerStep>>,
    /// Statements on a MySQL or MariaDB endpoint.
    pub mysql: Option<Spanned<SqlStep>>,
    /// A named restore point on a PostgreSQL endpoint.
    pub restore_point: Option<Spanned<RestorePointStep>>,
    /// A query deciding whether the step is needed (`on`, `sql`, `expect`):
    /// when it reads otherwise, the step is skipped, and the journal says why.
    pub when: Option<Spanned<CheckStep>>,
    #[serde(default)]
    pub destructive: bool,
    pub gate: Option<Spanned<String>>,
    #[serde(default)]
    pub starts_write_pause: bool,
    #[serde(default)]
    pub ends_write_pause: bool,
    pub on_failure: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    /// How long the step should take ("90s"): the report sets it against the actual.
    pub planned: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlStep {
    pub on: Spanned<String>,
    #[serde(default)]
    pub run: Vec<Spanned<String>>,
    /// Statements made by a query on another endpoint (one per row, first column).
    pub generate: Option<Generate>,
    /// Run the statements in one transaction (`BEGIN` … `COMMIT`): all or
    /// none, so the step may be retried after a failure.
    #[serde(default)]
    pub transaction: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    pub on: Spanned<String>,
    pub sql: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckStep {
    pub on: Option<Spanned<String>>,
    pub sql: Option<Spanned<String>>,
    pub expect: Option<Spanned<String>>,
    pub condition: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// A condition on the live gauges…
    pub until: Option<Spanned<String>>,
    #[serde(rename = "for")]
    pub hold_for: Option<Spanned<String>>,
    /// …or a query polled until its first column reads `expect`.
    pub on: Option<Spanned<String>>,
    pub sql: Option<Spanned<String>>,
    pub expect: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellStep {
    pub run: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyStep {
    pub source: Spanned<String>,
    pub target: Spanned<String>,
    #[serde(default)]
    pub tables: Vec<Spanned<String>>,
    /// MySQL source with dual writes: how long a disagreeing chunk is looked
    /// at again before it counts (rows in flight).
    pub settle: Option<Spanned<String>>,
}

/// `restore_point = { on = "source", name = "…" }`: `pg_create_restore_point`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestorePointStep {
    pub on: Spanned<String>,
    /// Default: `cutover-<run>-<step>`.
    pub name: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualStep {
    pub instructions: Spanned<String>,
}

/// `pgbouncer = { on, pause = "db" | resume = "db" | reload = true | repoint = "db", to = "endpoint" }`
/// (`"*"`: every database).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgbouncerStep {
    pub on: Spanned<String>,
    pub pause: Option<Spanned<String>>,
    pub resume: Option<Spanned<String>>,
    pub reload: Option<Spanned<bool>>,
    pub repoint: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    /// With `pause`: the longest the pooler may stay paused ("10s"); past
    /// it the run rolls back by itself (the rollback resumes the pooler).
    pub max_pause: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MongoStep {
    pub on: Spanned<String>,
    /// The database the command runs in (default: `admin` for administrative
    /// commands, else the uri's).
    pub db: Option<String>,
    /// A database command: a TOML table, or its JSON as a string.
    pub command: Option<Spanned<toml::Value>>,
    /// Membership changes, each made as `rs.add`/`rs.remove` would.
    pub reconfig: Option<Spanned<ReconfigStep>>,
}

/// `reconfig = { add = [...], remove = [...], priority = { "host:port" = 0 } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconfigStep {
    #[serde(default)]
    pub add: Vec<Spanned<String>>,
    #[serde(default)]
    pub remove: Vec<Spanned<String>>,
    #[serde(default)]
    pub priority: BTreeMap<Spanned<String>, Spanned<f64>>,
}
