//! Events for tests, written once for every module's tests: an outline's
//! steps and phases, a run's start, a replication lag sample.

use chrono::{DateTime, Utc};

use super::{EndpointKind, EndpointSample, LinkKind, Outline, OutlinePhase, OutlineStep, Reading, ReplicationLink};
use super::{RunEvent, Sample};

/// A `shell` step, nothing else said of it.
pub(crate) fn step(id: &str, name: &str) -> OutlineStep {
    OutlineStep {
        id: id.into(),
        name: name.into(),
        kind: "shell".into(),
        on: None,
        destructive: false,
        gate: None,
        starts_write_pause: false,
        ends_write_pause: false,
        planned_secs: None,
    }
}

/// A phase of `steps`, not the rollback, without a plan of its own.
pub(crate) fn phase(id: &str, name: &str, steps: Vec<OutlineStep>) -> OutlinePhase {
    OutlinePhase { id: id.into(), name: name.into(), rollback: false, steps, planned_secs: None, recovery_time: false }
}

/// `operator` on `host` starts a run of `outline` (`/r.toml`, pid 1).
pub(crate) fn run_started(outline: Outline, operator: &str, host: &str, headless: bool) -> RunEvent {
    RunEvent::Started {
        runbook: "/r.toml".into(),
        runbook_sha256: String::new(),
        inventory: None,
        vars: Vec::new(),
        var_env: Vec::new(),
        operator: operator.into(),
        host: host.into(),
        pid: 1,
        headless,
        allow_manual: false,
        endpoints: Default::default(),
        outline,
    }
}

/// A sample of the PostgreSQL `endpoint` whose one replication link, `link`
/// of `kind`, streams `bytes` and `seconds` behind.
pub(crate) fn lag_sample(
    at: DateTime<Utc>,
    endpoint: &str,
    (link, kind): (&str, LinkKind),
    bytes: u64,
    seconds: f64,
) -> RunEvent {
    let link = ReplicationLink {
        name: link.into(),
        kind,
        state: "streaming".into(),
        lag_bytes: Some(bytes),
        lag_seconds: Some(seconds),
        ..ReplicationLink::default()
    };
    let observed = EndpointSample { replication: vec![link], ..EndpointSample::default() };
    let sample =
        Sample { at, endpoint: endpoint.into(), kind: EndpointKind::Postgres, reading: Reading::Observed(observed) };
    RunEvent::Sample { sample }
}
