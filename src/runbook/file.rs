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
    #[serde(rename = "phase")]
    pub phases: Vec<Spanned<PhaseFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    pub kind: String,
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
    #[serde(rename = "step", default)]
    pub steps: Vec<Spanned<StepFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    pub name: String,
    pub sql: Option<SqlStep>,
    pub check: Option<CheckStep>,
    pub wait: Option<WaitStep>,
    pub shell: Option<ShellStep>,
    pub verify: Option<VerifyStep>,
    pub manual: Option<ManualStep>,
    pub mongo: Option<MongoStep>,
    #[serde(default)]
    pub destructive: bool,
    pub gate: Option<String>,
    #[serde(default)]
    pub starts_write_pause: bool,
    #[serde(default)]
    pub ends_write_pause: bool,
    pub on_failure: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlStep {
    pub on: Spanned<String>,
    pub run: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckStep {
    pub on: Option<Spanned<String>>,
    pub sql: Option<String>,
    pub expect: Option<String>,
    pub condition: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    pub until: String,
    #[serde(rename = "for")]
    pub hold_for: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellStep {
    pub run: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyStep {
    pub source: Spanned<String>,
    pub target: Spanned<String>,
    #[serde(default)]
    pub tables: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualStep {
    pub instructions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MongoStep {
    pub on: Spanned<String>,
    pub command: toml::Table,
}
