//! Replaying a journal: the screen at any moment of a past run is a fresh
//! [`State`] folded with the actions of every record up to that moment — the
//! same fold `resume` and the live cockpit use. Pure: no I/O, no clock; the
//! command feeds it real time elapsed and keys.
//!
//! A journal's records are in the order they were written; a sample carries
//! its collector's time, which may be a little behind the record before it. A
//! record's place on the timeline is therefore the latest time seen so far, so
//! folding "up to `t`" always folds a prefix of the file, in file order — the
//! order the operator saw.

mod base;
pub mod keys;

pub use base::base_state;

use std::time::Duration;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, eyre};

use crate::events::{Action, Record, ReplayStatus, RunEvent};
use crate::journal;
use crate::state::State;

/// Slowest and fastest replay.
pub const SPEED_MIN: f64 = 1.0 / 16.0;
pub const SPEED_MAX: f64 = 64.0;
/// What `←` / `→` and `<` / `>` move by.
pub const SEEK_SHORT: Duration = Duration::from_secs(10);
pub const SEEK_LONG: Duration = Duration::from_secs(60);
/// What a key the replay refuses answers.
pub const READ_ONLY: &str = "replay: read-only";

/// A journal as a timeline of actions.
#[derive(Debug)]
pub struct Timeline {
    base: State,
    /// (time on the timeline, the record's actions), in file order; times never decrease.
    entries: Vec<(DateTime<Utc>, Vec<Action>)>,
    step_marks: Vec<DateTime<Utc>>,
    phase_marks: Vec<DateTime<Utc>>,
    marks: Vec<Mark>,
    /// Times of the records of the run itself (not samples, checksum progress,
    /// or what the screen does not show: a drill's faults, verify's chunks).
    activity: Vec<DateTime<Utc>>,
}

/// A phase or step boundary on the timeline, named for a viewer (an
/// asciicast marker, a chapter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub at: DateTime<Utc>,
    pub kind: MarkKind,
    /// `phase 3 Catch-up`, `3.1 Wait for the subscriber: started` / `: done` / `: FAILED`.
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Phase,
    Step,
}

impl Timeline {
    /// A timeline of `records`, each folded into a clone of `base` (its title,
    /// thresholds and sample interval).
    ///
    /// # Errors
    /// No records: nothing to replay.
    pub fn new(base: State, records: &[Record]) -> Result<Self> {
        if records.is_empty() {
            return Err(eyre!("the journal holds no records: nothing to replay"));
        }
        let mut entries = Vec::with_capacity(records.len());
        let mut step_marks = Vec::new();
        let mut phase_marks = Vec::new();
        let mut marks = Vec::new();
        let mut activity = Vec::new();
        let mut outline: Option<crate::events::Outline> = None;
        let mut last_phase: Option<usize> = None;
        let mut latest = records[0].at;
        for record in records {
            latest = latest.max(record.at);
            match &record.event {
                RunEvent::Started { outline: o, .. } => outline = Some(o.clone()),
                RunEvent::StepStarted { step, .. } => {
                    step_marks.push(latest);
                    let phase = outline
                        .as_ref()
                        .and_then(|o| o.phases.iter().position(|p| p.steps.iter().any(|s| &s.id == step)));
                    if phase.is_some() && phase != last_phase {
                        phase_marks.push(latest);
                        last_phase = phase;
                        if let Some(p) = phase.and_then(|i| outline.as_ref().and_then(|o| o.phases.get(i))) {
                            let label = format!("phase {} {}", p.id, p.name);
                            marks.push(Mark { at: latest, kind: MarkKind::Phase, label });
                        }
                    }
                    marks.push(step_mark(latest, outline.as_ref(), step, "started"));
                }
                RunEvent::StepFinished { step, ok, .. } => {
                    step_marks.push(latest);
                    marks.push(step_mark(latest, outline.as_ref(), step, if *ok { "done" } else { "FAILED" }));
                }
                _ => {}
            }
            let of_the_run = !matches!(
                record.event,
                RunEvent::Sample { .. }
                    | RunEvent::Checksum { .. }
                    | RunEvent::Fault { .. }
                    | RunEvent::VerifyChunk { .. }
            );
            if of_the_run {
                activity.push(latest);
            }
            entries.push((latest, journal::actions(record)));
        }
        step_marks.dedup();
        phase_marks.dedup();
        Ok(Self { base, entries, step_marks, phase_marks, marks, activity })
    }

    #[must_use]
    pub fn start(&self) -> DateTime<Utc> {
        self.entries.first().map_or(DateTime::<Utc>::MIN_UTC, |e| e.0)
    }

    #[must_use]
    pub fn end(&self) -> DateTime<Utc> {
        self.entries.last().map_or(DateTime::<Utc>::MIN_UTC, |e| e.0)
    }

    /// How many records lie at or before `t`.
    fn count_at(&self, t: DateTime<Utc>) -> usize {
        self.entries.partition_point(|(at, _)| *at <= t)
    }

    /// Fold records `from..count_at(t)` into `state`, and set its clock to `t`.
    fn fold(&self, state: &mut State, from: usize, t: DateTime<Utc>) -> usize {
        let to = self.count_at(t);
        for (_, actions) in self.entries.get(from..to).unwrap_or_default() {
            for action in actions {
                state.update(action);
            }
        }
        state.update(&Action::Tick { now: t });
        to
    }

    /// The screen's state at `t`: a fresh state folded with every record at or before `t`.
    #[must_use]
    pub fn state_at(&self, t: DateTime<Utc>) -> State {
        let mut state = self.base.clone();
        self.fold(&mut state, 0, t);
        state
    }

    /// Step boundaries (a step started or finished), in order.
    #[must_use]
    pub fn step_marks(&self) -> &[DateTime<Utc>] {
        &self.step_marks
    }

    /// Phase boundaries (the first step started in another phase), in order.
    #[must_use]
    pub fn phase_marks(&self) -> &[DateTime<Utc>] {
        &self.phase_marks
    }

    /// Every phase boundary and every step boundary, named, in order: the
    /// same boundaries as [`Self::phase_marks`] and [`Self::step_marks`], one
    /// each (a phase's before its first step's), even when two share a time.
    #[must_use]
    pub fn marks(&self) -> &[Mark] {
        &self.marks
    }

    /// Every record's time on the timeline, in order (repeats kept).
    pub fn times(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.entries.iter().map(|(at, _)| *at)
    }

    /// The times of the records of the run itself (steps, output, decisions,
    /// log lines), not of gauge samples, checksum progress, or what the screen
    /// does not show (a drill's faults, verify's chunks): what a viewer waits for.
    #[must_use]
    pub fn activity(&self) -> &[DateTime<Utc>] {
        &self.activity
    }

    /// A walk forward through the timeline that folds each record once.
    #[must_use]
    pub fn sweep(&self) -> Sweep<'_> {
        Sweep { timeline: self, state: self.base.clone(), folded: 0, at: self.start() }
    }
}

/// The states of a timeline at increasing times, each record folded once
/// (a time earlier than the last refolds from the start). No replay banner:
/// the state is the screen as it was live.
#[derive(Debug)]
pub struct Sweep<'a> {
    timeline: &'a Timeline,
    state: State,
    folded: usize,
    at: DateTime<Utc>,
}

impl Sweep<'_> {
    /// The state at `t` (clamped to the journal).
    pub fn state_at(&mut self, t: DateTime<Utc>) -> &State {
        let t = t.clamp(self.timeline.start(), self.timeline.end());
        if t < self.at {
            self.state = self.timeline.base.clone();
            self.folded = 0;
        }
        self.folded = self.timeline.fold(&mut self.state, self.folded, t);
        self.at = t;
        &self.state
    }
}

fn step_mark(at: DateTime<Utc>, outline: Option<&crate::events::Outline>, step: &str, what: &str) -> Mark {
    let label = match outline.and_then(|o| o.step(step)) {
        Some(s) => format!("{} {}: {what}", s.id, s.name),
        None => format!("{step}: {what}"),
    };
    Mark { at, kind: MarkKind::Step, label }
}

/// What a replay key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    PlayPause,
    Faster,
    Slower,
    /// Seek by this many seconds (negative: back).
    Seek(i64),
    NextStep,
    PrevStep,
    NextPhase,
    PrevPhase,
    Home,
    End,
}

/// A timeline being played: the cursor, speed, and the state shown.
#[derive(Debug)]
pub struct Player {
    timeline: Timeline,
    cursor: DateTime<Utc>,
    speed: f64,
    playing: bool,
    notice: Option<String>,
    state: State,
    /// Records folded into `state`.
    folded: usize,
}

impl Player {
    /// Play from the start at `speed` (clamped to [`SPEED_MIN`]..=[`SPEED_MAX`]).
    #[must_use]
    pub fn new(timeline: Timeline, speed: f64) -> Self {
        let cursor = timeline.start();
        let mut player = Self {
            state: timeline.base.clone(),
            timeline,
            cursor,
            speed: speed.clamp(SPEED_MIN, SPEED_MAX),
            playing: true,
            notice: None,
            folded: 0,
        };
        player.seek(cursor);
        player
    }

    /// What the screen shows.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    #[must_use]
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    #[must_use]
    pub fn cursor(&self) -> DateTime<Utc> {
        self.cursor
    }

    #[must_use]
    pub fn speed(&self) -> f64 {
        self.speed
    }

    #[must_use]
    pub fn playing(&self) -> bool {
        self.playing
    }

    /// Move the cursor to `t` (clamped to the journal): forward folds the
    /// records in between, backward refolds from the start. What the viewer
    /// looks at (focus, zoom, help, scroll, size) stays.
    pub fn seek(&mut self, t: DateTime<Utc>) {
        let t = t.clamp(self.timeline.start(), self.timeline.end());
        if t < self.cursor || self.folded == 0 {
            let ui = self.state.ui.clone();
            self.state = self.timeline.base.clone();
            self.state.ui = ui;
            self.folded = 0;
        }
        self.folded = self.timeline.fold(&mut self.state, self.folded, t);
        self.cursor = t;
        if t >= self.timeline.end() {
            self.playing = false;
        }
        self.banner();
    }

    /// Real time passed: play on (at the end of the journal, pause there).
    pub fn advance(&mut self, real: Duration) {
        if !self.playing {
            return;
        }
        let step = chrono::Duration::from_std(real.mul_f64(self.speed)).unwrap_or(chrono::Duration::MAX);
        let t = self.cursor.checked_add_signed(step).unwrap_or_else(|| self.timeline.end());
        self.seek(t);
    }

    pub fn control(&mut self, control: Control) {
        self.notice = None;
        let marks = |marks: &[DateTime<Utc>], forward: bool| {
            if forward {
                marks.iter().find(|m| **m > self.cursor).copied().unwrap_or_else(|| self.timeline.end())
            } else {
                marks.iter().rev().find(|m| **m < self.cursor).copied().unwrap_or_else(|| self.timeline.start())
            }
        };
        match control {
            Control::PlayPause => {
                self.playing = !self.playing;
                if self.playing && self.cursor >= self.timeline.end() {
                    self.seek(self.timeline.start());
                    self.playing = true;
                }
            }
            Control::Faster => self.speed = (self.speed * 2.0).min(SPEED_MAX),
            Control::Slower => self.speed = (self.speed / 2.0).max(SPEED_MIN),
            Control::Seek(seconds) => self.seek(self.cursor + chrono::Duration::seconds(seconds)),
            Control::NextStep => self.seek(marks(self.timeline.step_marks(), true)),
            Control::PrevStep => self.seek(marks(self.timeline.step_marks(), false)),
            Control::NextPhase => self.seek(marks(self.timeline.phase_marks(), true)),
            Control::PrevPhase => self.seek(marks(self.timeline.phase_marks(), false)),
            Control::Home => self.seek(self.timeline.start()),
            Control::End => self.seek(self.timeline.end()),
        }
        self.banner();
    }

    /// A key that is not a replay control: what the viewer looks at changes;
    /// anything that would act on a run is refused. `true`: quit.
    pub fn view(&mut self, action: &Action) -> bool {
        self.notice = None;
        let quit = match action {
            action if action.acts_on_a_run() => {
                self.notice = Some(READ_ONLY.to_owned());
                false
            }
            // Enter on the runbook confirms in a live run; here it only zooms.
            Action::Zoom { pane: None } => {
                let pane = self.state.ui.focus;
                self.state.update(&Action::Zoom { pane: Some(pane) });
                false
            }
            other => self.state.update(other).contains(&crate::state::Effect::Quit),
        };
        self.banner();
        quit
    }

    fn banner(&mut self) {
        let secs = |t: DateTime<Utc>| u64::try_from((t - self.timeline.start()).num_seconds()).unwrap_or(0);
        let status = ReplayStatus {
            playing: self.playing,
            speed: self.speed,
            notice: self.notice.clone(),
            position_secs: secs(self.cursor),
            length_secs: secs(self.timeline.end()),
        };
        self.state.update(&Action::Replay(status));
    }
}

#[cfg(test)]
mod tests;
