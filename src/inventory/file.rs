//! The inventory file format: serde types that mirror the TOML, apart from
//! the runtime [`super::Inventory`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryFile {
    /// The environment's name (staging, production), shown in the header.
    pub name: Option<String>,
    /// How often the gauges sample, e.g. "1s".
    pub interval: Option<Spanned<String>>,
    pub endpoints: BTreeMap<String, Spanned<EndpointFile>>,
    #[serde(default)]
    pub thresholds: ThresholdsFile,
    /// Values for runbook `${name}`s in this environment (override the runbook's defaults).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    pub kind: Spanned<String>,
    /// `key=value` or `postgres://` connection string; no password here,
    /// ideally (use `password_env` or a `.pgpass` file).
    pub dsn: Option<Spanned<String>>,
    /// MongoDB endpoints (a later piece).
    pub uri: Option<Spanned<String>>,
    /// The environment variable that holds the password.
    pub password_env: Option<Spanned<String>>,
    /// MySQL: an option file whose `[client]` section holds the password
    /// (default `~/.my.cnf`).
    pub option_file: Option<Spanned<String>>,
    /// A local path on the database's filesystem, for free / total space
    /// when cutover runs on the database host.
    pub disk_path: Option<String>,
    /// PgBouncer: its `pgbouncer.ini` on this machine, which a repoint rewrites.
    pub ini: Option<Spanned<String>>,
    /// PgBouncer on another machine: a command that rewrites the entry there
    /// (given `CUTOVER_POOLER_DATABASE` and `CUTOVER_POOLER_LINE`); cutover
    /// sends `RELOAD` after it.
    pub repoint_command: Option<Spanned<String>>,
    /// PostgreSQL: the backup repository's `info` command (see [`super::backup`]).
    pub backup: Option<Spanned<super::backup::BackupFile>>,
}

/// A threshold value: a number, or a string with a unit ("2GB", "30s", "85%").
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum Quantity {
    Number(f64),
    Text(String),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    pub warn: Spanned<Quantity>,
    pub critical: Spanned<Quantity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsFile {
    pub lag_seconds: Option<Spanned<LimitsFile>>,
    pub lag_bytes: Option<Spanned<LimitsFile>>,
    pub slot_retained_bytes: Option<Spanned<LimitsFile>>,
    pub disk_used_pct: Option<Spanned<LimitsFile>>,
    pub connections_used_pct: Option<Spanned<LimitsFile>>,
    pub lock_waiters: Option<Spanned<LimitsFile>>,
    pub clients_waiting: Option<Spanned<LimitsFile>>,
    pub oldest_xact_seconds: Option<Spanned<LimitsFile>>,
    pub archive_lag_seconds: Option<Spanned<LimitsFile>>,
    pub backup_age_seconds: Option<Spanned<LimitsFile>>,
}
