//! `cutover report`: what a journal says, for people who were not watching —
//! a [`Summary`] extracted from the records (pure), set out as a document of
//! sections, tables and paragraphs (`document`), with SVG charts ([`svg`]),
//! laid out as one self-contained HTML page ([`html`]) or as a Markdown file
//! with its charts beside it ([`markdown`]).
//!
//! The figures are the cockpit's own: the records are folded through
//! [`crate::journal::actions`] and [`State::update`], so the write pause, the
//! gauge series and the checksum results mean what they meant on the screen.

mod document;
pub mod html;
pub mod markdown;
pub mod svg;
mod timeline;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use timeline::{PhaseTiming, StepTiming, delta_text, maybe_duration, status_text};

use crate::events::{ChecksumProgress, Outline, Record, RunEvent, RunOutcome};
use crate::state::{Metric, Point, SeriesId, State};

/// Everything a report shows, read from a journal's records.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The runbook's name, a session's title, or what the caller named it.
    pub title: String,
    /// `run` for a runbook run; `watch`, `verify` for a recorded session.
    pub command: String,
    /// Who started it, and on which host.
    pub operator: Option<String>,
    pub host: Option<String>,
    /// Later processes that continued the run: when, who, where.
    pub resumes: Vec<(DateTime<Utc>, String, String)>,
    /// The first and the last record.
    pub began: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    pub outcome: Outcome,
    pub outline: Option<Outline>,
    pub phases: Vec<PhaseTiming>,
    pub confirmations: Vec<Confirmation>,
    /// When writes stopped and resumed (the same rule as the cockpit's).
    pub write_pause: Option<crate::state::WritePause>,
    /// Pauses after the first (a rollback after the switch pauses again).
    pub later_pauses: Vec<crate::state::WritePause>,
    /// The longest a client waited in a pooler during the write pause, by the
    /// pooler's own count (`SHOW POOLS` maxwait), and where (`pooler · db`).
    pub pooler_wait: Option<(f64, String)>,
    /// The last lag reading of each link before the write pause began.
    pub lag_at_switch: Vec<LagReading>,
    /// The last checksum progress: every table's final tally.
    pub checksum: Option<ChecksumProgress>,
    /// What each verify step concluded.
    pub verify_steps: Vec<StepResult>,
    pub problems: Vec<Problem>,
    pub reactions: Vec<Reaction>,
    /// How many gauge samples the journal holds.
    pub samples: usize,
    /// Every gauge series over the whole journal (not bounded like the screen's).
    pub series: BTreeMap<SeriesId, Vec<Point>>,
    /// Phase id and the moment its first step started: markers on the charts.
    pub phase_marks: Vec<(String, DateTime<Utc>)>,
    /// Restore points the run made: a point-in-time recovery can stop there.
    pub restore_points: Vec<RestorePoint>,
    /// Phases marked `recovery_time` that ended: `2 Restore` and how long it took, in seconds.
    pub recovery_times: Vec<(String, f64)>,
}

/// One `pg_create_restore_point` of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct RestorePoint {
    pub at: DateTime<Utc>,
    /// `5.5 Take a restore point`.
    pub step: String,
    pub endpoint: String,
    pub name: String,
    pub lsn: String,
}

/// How the journal ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished(RunOutcome),
    /// A run whose journal stops before it finished (paused, killed, or still running).
    Unfinished,
    /// A recorded session: it has no outcome.
    Session,
}

impl Outcome {
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Self::Finished(RunOutcome::Completed) => "completed",
            Self::Finished(RunOutcome::RolledBack) => "rolled back",
            Self::Unfinished => "unfinished (the journal ends before the run did)",
            Self::Session => "session (no runbook)",
        }
    }
}

/// The operator said go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub at: DateTime<Utc>,
    pub step: String,
    pub step_name: String,
    pub operator: String,
    /// The endpoint name typed for a destructive step.
    pub typed: Option<String>,
    /// Nobody confirmed it: `--yes` ran it unattended.
    pub headless: bool,
}

impl Confirmation {
    /// The "typed" column: the name typed, or that nobody was there to type.
    #[must_use]
    pub fn typed_text(&self) -> &str {
        if self.headless { "unattended (--yes)" } else { self.typed.as_deref().unwrap_or_default() }
    }
}

/// One link's lag at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct LagReading {
    /// `endpoint · link`.
    pub link: String,
    pub bytes: Option<(DateTime<Utc>, f64)>,
    pub seconds: Option<(DateTime<Utc>, f64)>,
}

/// A step's final word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepResult {
    pub step: String,
    pub name: String,
    pub ok: bool,
    pub summary: String,
}

/// Something that went wrong or was decided against the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub at: DateTime<Utc>,
    pub what: ProblemKind,
    /// `2.1 Create the publication (attempt 2): permission denied`, …
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    Failed,
    /// cutover stopped it (timeout, cancel, quit): see its state.
    Stopped,
    Interrupted,
    Skipped,
    Rerun,
    Rollback,
    Paused,
}

impl ProblemKind {
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Stopped => "stopped",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
            Self::Rerun => "re-run",
            Self::Rollback => "rollback",
            Self::Paused => "paused",
        }
    }
}

/// A drill's fault and the operator's first decision after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    pub at: DateTime<Utc>,
    pub fault: String,
    pub text: String,
    /// When and what the operator decided; `None`: no reaction.
    pub decision: Option<(DateTime<Utc>, String)>,
}

impl Reaction {
    /// From the fault to the decision.
    #[must_use]
    pub fn delay(&self) -> Option<chrono::Duration> {
        self.decision.as_ref().map(|(at, _)| *at - self.at)
    }
}

impl Summary {
    /// Read a journal's records. `fallback_title` names a journal that says
    /// neither a runbook nor a session title (its file name).
    ///
    /// Returns `None` for no records at all.
    #[must_use]
    pub fn from_records(records: &[Record], fallback_title: &str) -> Option<Self> {
        let began = records.iter().map(|r| r.at).min()?;
        let ended = records.iter().map(|r| r.at).max()?;
        let mut state = State::new(fallback_title);
        let mut series: BTreeMap<SeriesId, Vec<Point>> = BTreeMap::new();
        let mut summary = Self {
            title: fallback_title.to_owned(),
            command: "run".to_owned(),
            operator: None,
            host: None,
            resumes: Vec::new(),
            began,
            ended,
            outcome: Outcome::Unfinished,
            outline: None,
            phases: Vec::new(),
            confirmations: Vec::new(),
            write_pause: None,
            later_pauses: Vec::new(),
            pooler_wait: None,
            restore_points: Vec::new(),
            recovery_times: Vec::new(),
            lag_at_switch: Vec::new(),
            checksum: None,
            verify_steps: Vec::new(),
            problems: Vec::new(),
            reactions: Vec::new(),
            samples: 0,
            series: BTreeMap::new(),
            phase_marks: Vec::new(),
        };
        let mut session = false;
        for record in records {
            for action in crate::journal::actions(record) {
                state.update(&action);
            }
            // The screen keeps an hour of each series; the report keeps all of it.
            for (id, history) in std::mem::take(&mut state.series) {
                series.entry(id).or_default().extend(history.iter().copied());
            }
            summary.note(record, &state, &mut session);
        }
        summary.outline.clone_from(&state.outline);
        if let Some(outline) = &state.outline {
            summary.title.clone_from(&outline.name);
        }
        if session && summary.outline.is_none() {
            summary.outcome = Outcome::Session;
        }
        // The switch's pause; any later one (a rollback's) is listed after it.
        let mut pauses = state.earlier_pauses.iter().copied().chain(state.write_pause);
        summary.write_pause = pauses.next();
        summary.later_pauses = pauses.collect();
        summary.checksum.clone_from(&state.checksum);
        summary.phases = timeline::timings(state.outline.as_ref(), &state, records);
        summary.phase_marks = summary.phases.iter().filter_map(|p| p.started().map(|at| (p.id.clone(), at))).collect();
        summary.verify_steps = verify_results(state.outline.as_ref(), records);
        summary.lag_at_switch = summary.write_pause.map(|p| lag_before(&series, p.started)).unwrap_or_default();
        summary.reactions = reactions(records);
        summary.series = series;
        Some(summary)
    }

    /// What one record adds beyond the state fold.
    fn note(&mut self, record: &Record, state: &State, session: &mut bool) {
        let at = record.at;
        let step_name = |id: &str| state.outline.as_ref().and_then(|o| o.step(id)).map(|s| s.name.clone());
        let named = |id: &str| step_name(id).map_or_else(|| id.to_owned(), |name| format!("{id} {name}"));
        let problem = |what: ProblemKind, text: String| Problem { at, what, text };
        match &record.event {
            RunEvent::Started { operator, host, .. } => {
                self.operator = Some(operator.clone());
                self.host = Some(host.clone());
            }
            RunEvent::Session { command, title, operator, host, .. } => {
                *session = true;
                self.command.clone_from(command);
                self.title.clone_from(title);
                self.operator = Some(operator.clone());
                self.host = Some(host.clone());
            }
            RunEvent::Resumed { operator, host, .. } => self.resumes.push((at, operator.clone(), host.clone())),
            RunEvent::Confirmed { step, operator, typed, headless } => self.confirmations.push(Confirmation {
                at,
                step: step.clone(),
                step_name: step_name(step).unwrap_or_default(),
                operator: operator.clone(),
                typed: typed.clone(),
                headless: *headless,
            }),
            RunEvent::StepFinished { step, attempt, ok: false, summary } => {
                let text = format!("{} (attempt {attempt}): {summary}", named(step));
                self.problems.push(problem(ProblemKind::Failed, text));
            }
            RunEvent::StepStopped { step, attempt, state, summary, .. } => {
                let state = crate::events::name_of(state).replace('_', " ");
                let text = format!("{} (attempt {attempt}) {state}: {summary}", named(step));
                self.problems.push(problem(ProblemKind::Stopped, text));
            }
            RunEvent::Interrupted { step } => {
                let text = format!("{}: started but never seen to finish", named(step));
                self.problems.push(problem(ProblemKind::Interrupted, text));
            }
            RunEvent::Skipped { step, operator, reason } => {
                let text = format!("{} skipped by {operator}: {reason}", named(step));
                self.problems.push(problem(ProblemKind::Skipped, text));
            }
            RunEvent::Rerun { step, operator } => {
                let text = format!("{} run again by {operator}", named(step));
                self.problems.push(problem(ProblemKind::Rerun, text));
            }
            RunEvent::Rollback { operator, reason } => {
                let text = format!("rollback ordered by {operator}: {reason}");
                self.problems.push(problem(ProblemKind::Rollback, text));
            }
            RunEvent::Paused { reason } => {
                self.problems.push(problem(ProblemKind::Paused, format!("run paused: {reason}")));
            }
            RunEvent::Sample { sample } => {
                self.samples += 1;
                // A sample in the pause, or the first after it (the longest
                // waiters are released by the RESUME it follows).
                let in_pause = state
                    .write_pause
                    .filter(|_| state.earlier_pauses.is_empty())
                    .is_some_and(|p| p.ended.is_none_or(|end| sample.at <= end + chrono::Duration::seconds(1)));
                if let (true, crate::events::Reading::Observed(s)) = (in_pause, &sample.reading) {
                    for pool in &s.bouncer {
                        if self.pooler_wait.as_ref().is_none_or(|(w, _)| pool.maxwait_seconds > *w) {
                            self.pooler_wait =
                                Some((pool.maxwait_seconds, format!("{} · {}", sample.endpoint, pool.database)));
                        }
                    }
                }
            }
            RunEvent::RestorePoint { step, endpoint, name, lsn } => self.restore_points.push(RestorePoint {
                at,
                step: named(step),
                endpoint: endpoint.clone(),
                name: name.clone(),
                lsn: lsn.clone(),
            }),
            RunEvent::RecoveryTime { phase, seconds } => {
                let name = state.outline.as_ref().and_then(|o| o.phases.iter().find(|p| &p.id == phase));
                let named = name.map_or_else(|| phase.clone(), |p| format!("{phase} {}", p.name));
                self.recovery_times.push((named, *seconds));
            }
            RunEvent::Finished { outcome } => self.outcome = Outcome::Finished(*outcome),
            // Faults, plans, gates, starts, output, successes, checksums — and
            // events added later — are read elsewhere or not at all.
            _ => {}
        }
    }

    /// A sentence for each pause after the first (a rollback's), plain text.
    #[must_use]
    pub fn later_pauses_text(&self) -> Vec<String> {
        self.later_pauses
            .iter()
            .map(|p| {
                let ended = p.ended.map_or_else(|| "not seen to end".to_owned(), when_text);
                let length = duration_text(p.ended.unwrap_or(self.ended) - p.started);
                format!("Writes were paused again at {} and resumed at {ended}: {length}.", when_text(p.started))
            })
            .collect()
    }

    /// How long writes were paused; `None` when they never were. A pause the
    /// journal does not see end lasts until its last record.
    #[must_use]
    pub fn write_pause_length(&self) -> Option<chrono::Duration> {
        let pause = self.write_pause?;
        Some(pause.ended.unwrap_or(self.ended) - pause.started)
    }

    /// The series of one metric, in a stable order, each named `endpoint · label`.
    #[must_use]
    pub fn series_of(&self, metric: Metric) -> Vec<(String, &[Point])> {
        self.series
            .iter()
            .filter(|(id, points)| id.metric == metric && !points.is_empty())
            .map(|(id, points)| (series_name(id), points.as_slice()))
            .collect()
    }
}

/// `endpoint · label`, or just the endpoint when the label says nothing more.
#[must_use]
pub fn series_name(id: &SeriesId) -> String {
    if id.label.is_empty() || id.label == id.endpoint {
        id.endpoint.clone()
    } else {
        format!("{} · {}", id.endpoint, id.label)
    }
}

/// The last reading of every lag series at or before `at`.
fn lag_before(series: &BTreeMap<SeriesId, Vec<Point>>, at: DateTime<Utc>) -> Vec<LagReading> {
    let cutoff = Point::at(at, 0.0).t;
    let last = |metric: Metric, endpoint: &str, label: &str| {
        let id = SeriesId::new(metric, endpoint, label);
        series.get(&id)?.iter().rev().find(|p| p.t <= cutoff).map(|p| (time_of(p.t), p.v))
    };
    let mut links: Vec<&SeriesId> =
        series.keys().filter(|id| matches!(id.metric, Metric::LagBytes | Metric::LagSeconds)).collect();
    links.sort_by(|a, b| (&a.endpoint, &a.label).cmp(&(&b.endpoint, &b.label)));
    links.dedup_by(|a, b| a.endpoint == b.endpoint && a.label == b.label);
    links
        .into_iter()
        .map(|id| LagReading {
            link: series_name(id),
            bytes: last(Metric::LagBytes, &id.endpoint, &id.label),
            seconds: last(Metric::LagSeconds, &id.endpoint, &id.label),
        })
        .filter(|r| r.bytes.is_some() || r.seconds.is_some())
        .collect()
}

/// A point's time back as a date (millisecond precision, as recorded).
#[must_use]
pub fn time_of(t: f64) -> DateTime<Utc> {
    #[allow(clippy::cast_possible_truncation)]
    let millis = (t * 1000.0).round() as i64;
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// The last word of every verify step that finished.
fn verify_results(outline: Option<&Outline>, records: &[Record]) -> Vec<StepResult> {
    let Some(outline) = outline else { return Vec::new() };
    outline
        .phases
        .iter()
        .flat_map(|p| &p.steps)
        .filter(|s| s.kind == "verify")
        .filter_map(|s| {
            records.iter().rev().find_map(|r| match &r.event {
                RunEvent::StepFinished { step, ok, summary, .. } if *step == s.id => {
                    Some(StepResult { step: s.id.clone(), name: s.name.clone(), ok: *ok, summary: summary.clone() })
                }
                _ => None,
            })
        })
        .collect()
}

/// Each fault and the first decision after it: a confirmation, a skip, a
/// re-run or a rollback.
fn reactions(records: &[Record]) -> Vec<Reaction> {
    records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.event {
            RunEvent::Fault { fault, text } => Some((i, r.at, fault, text)),
            _ => None,
        })
        .map(|(i, at, fault, text)| Reaction {
            at,
            fault: fault.clone(),
            text: text.clone(),
            decision: records[i + 1..].iter().find_map(decision),
        })
        .collect()
}

/// An operator's decision, in words. A rollback the runbook's own policy
/// ordered (signed `cutover`) is no one's reaction: the drill waits for a person.
fn decision(record: &Record) -> Option<(DateTime<Utc>, String)> {
    let text = match &record.event {
        RunEvent::Rollback { operator, .. } if operator == "cutover" => return None,
        RunEvent::Confirmed { step, operator, .. } => format!("{operator} confirmed {step}"),
        RunEvent::Skipped { step, operator, .. } => format!("{operator} skipped {step}"),
        RunEvent::Rerun { step, operator } => format!("{operator} ran {step} again"),
        RunEvent::Rollback { operator, .. } => format!("{operator} ordered the rollback"),
        _ => return None,
    };
    Some((record.at, text))
}

/// A span as a report says it: `850 ms`, `12.3 s`, `4m 05s`, `1h 02m 03s`.
#[must_use]
pub fn duration_text(d: chrono::Duration) -> String {
    let millis = d.num_milliseconds().max(0);
    if millis < 1000 {
        return format!("{millis} ms");
    }
    if millis < 60_000 {
        #[allow(clippy::cast_precision_loss)]
        let secs = millis as f64 / 1000.0;
        return format!("{secs:.1} s");
    }
    let s = (millis + 500) / 1000;
    if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m {:02}s", s / 3600, (s % 3600) / 60, s % 60)
    }
}

/// `2026-11-21 10:00:00 UTC`.
#[must_use]
pub fn when_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `10:00:00`: a time within the run.
#[must_use]
pub fn clock_text(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}
