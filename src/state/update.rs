//! The one place state changes: `State::update(&Action)`.
//!
//! Pure and deterministic: the same actions always give the same state, which
//! is what lets a journal be replayed to the same screen.

use chrono::{DateTime, Utc};

use super::{EndpointState, History, Metric, Point, SERIES_CAPACITY, SeriesId, State, WritePause};
use crate::events::{
    Action, ChecksumProgress, EndpointSample, LogEntry, LogLevel, Pane, Reading, Sample, StepStatus, StepUpdate,
};

/// What the loop must do after an update, beyond redrawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Tell the live run.
    Command(crate::events::RunCommand),
}

/// What an observing screen answers a key that would act on a run.
pub const READ_ONLY: &str = "read-only: this screen observes, it acts on nothing";

/// Who the cockpit itself signs its own log lines as.
const SELF_NAME: &str = "cutover";

impl State {
    /// Apply one action. Returns what the loop must do next.
    pub fn update(&mut self, action: &Action) -> Vec<Effect> {
        if self.observer.is_some() && action.acts_on_a_run() {
            self.run.notice = Some(READ_ONLY.to_owned());
            return Vec::new();
        }
        match action {
            Action::Tick { now } => self.tick(*now),
            Action::Sample(sample) => self.apply_sample(sample),
            Action::Checksum(progress) => self.apply_checksum(progress),
            Action::Runbook(outline) => {
                self.title.clone_from(&outline.name);
                self.outline = Some(outline.clone());
                self.index_gates();
            }
            Action::Planned { step, shows } => {
                self.run.plans.insert(step.clone(), shows.clone());
            }
            Action::Output { step, text } => self.output_line(step, text),
            Action::Awaiting(awaiting) => self.awaiting(awaiting),
            Action::Go => self.go(),
            Action::RollbackAsk => self.rollback_ask(),
            Action::CancelAsk => self.cancel_ask(),
            Action::Prompt(key) => return self.prompt_key(*key),
            Action::Step(update) => self.apply_step(update),
            Action::Log(entry) => self.log.push(entry.clone()),
            Action::Fault { .. } => {}
            Action::Resize { cols, rows } => self.ui.size = (*cols, *rows),
            Action::Replay(status) => self.replay = Some(status.clone()),
            Action::Observe(label) => self.observer = Some(label.clone()),
            Action::FocusNext => self.ui.focus = self.ui.focus.next(),
            Action::FocusPrev => self.ui.focus = self.ui.focus.prev(),
            Action::FocusLeft | Action::FocusRight | Action::FocusUp | Action::FocusDown => {
                self.ui.focus = spatial_focus(self.ui.focus, action);
            }
            // Enter on the runbook of a live run confirms its step.
            Action::Zoom { pane: None } if self.ui.focus == Pane::Runbook && self.run.awaiting.is_some() => self.go(),
            Action::Zoom { pane } => {
                self.ui.zoom = Some(pane.unwrap_or(self.ui.focus));
                if let Some(pane) = pane {
                    self.ui.focus = *pane;
                }
                self.ui.help = false;
            }
            Action::ToggleHelp => self.ui.help = !self.ui.help,
            Action::Back => self.close_overlay(),
            Action::ScrollUp => self.scroll(1),
            Action::ScrollDown => self.scroll(-1),
            Action::Quit => {
                if self.ui.help || self.ui.zoom.is_some() {
                    self.close_overlay();
                } else {
                    self.ui.quit = true;
                    return vec![Effect::Quit];
                }
            }
            Action::ForceQuit => {
                self.ui.quit = true;
                return vec![Effect::Quit];
            }
        }
        Vec::new()
    }

    fn tick(&mut self, now: DateTime<Utc>) {
        // The clock never runs backwards, even if ticks arrive out of order.
        if self.now.is_none_or(|n| now > n) {
            self.now = Some(now);
        }
        if self.started.is_none() {
            self.started = Some(now);
        }
    }

    fn close_overlay(&mut self) {
        if self.ui.help {
            self.ui.help = false;
        } else {
            self.ui.zoom = None;
        }
    }

    fn scroll(&mut self, delta: isize) {
        let target = match self.ui.focus {
            Pane::Log => &mut self.ui.log_scroll,
            Pane::Runbook => &mut self.ui.runbook_scroll,
            _ => return,
        };
        *target = target.saturating_add_signed(delta);
        if self.ui.focus == Pane::Log {
            self.ui.log_scroll = self.ui.log_scroll.min(self.log.len().saturating_sub(1));
        }
    }

    fn log_line(&mut self, at: DateTime<Utc>, level: LogLevel, text: String) {
        self.log.push(LogEntry { at, who: SELF_NAME.to_owned(), level, text });
    }

    fn record(&mut self, id: SeriesId, at: DateTime<Utc>, value: f64) {
        self.series.entry(id).or_insert_with(|| History::new(SERIES_CAPACITY)).push(Point::at(at, value));
    }

    fn apply_sample(&mut self, sample: &Sample) {
        let name = sample.endpoint.as_str();
        let endpoint = self.endpoints.entry(name.to_owned()).or_insert_with(|| EndpointState::new(name, sample.kind));
        match &sample.reading {
            Reading::Observed(observed) => {
                let back_after = endpoint.down.take().map(|(since, _)| sample.at - since);
                endpoint.last_ok_at = Some(sample.at);
                endpoint.last = Some(observed.clone());
                if let Some(gap) = back_after {
                    let text = format!("{name} answers again after {}s", gap.num_seconds());
                    self.log_line(sample.at, LogLevel::Info, text);
                }
                self.record_sample(name, sample.at, observed);
            }
            Reading::Unreachable { error } => {
                if let Some((_, last_error)) = &mut endpoint.down {
                    last_error.clone_from(error);
                } else {
                    endpoint.down = Some((sample.at, error.clone()));
                    self.log_line(sample.at, LogLevel::Error, format!("{name} unreachable: {error}"));
                }
            }
        }
    }

    fn record_sample(&mut self, endpoint: &str, at: DateTime<Utc>, observed: &EndpointSample) {
        for link in &observed.replication {
            #[allow(clippy::cast_precision_loss)]
            if let Some(bytes) = link.lag_bytes {
                self.record(SeriesId::new(Metric::LagBytes, endpoint, &link.name), at, bytes as f64);
            }
            if let Some(seconds) = link.lag_seconds {
                self.record(SeriesId::new(Metric::LagSeconds, endpoint, &link.name), at, seconds);
            }
            #[allow(clippy::cast_precision_loss)]
            if let Some(retained) = link.retained_bytes {
                self.record(SeriesId::new(Metric::SlotRetainedBytes, endpoint, &link.name), at, retained as f64);
            }
        }
        if let Some(pool) = &observed.pool {
            if pool.max_connections > 0 {
                let pct = f64::from(pool.connections) * 100.0 / f64::from(pool.max_connections);
                self.record(SeriesId::new(Metric::ConnectionsUsedPct, endpoint, "connections"), at, pct);
            }
            self.record(SeriesId::new(Metric::LockWaiters, endpoint, "lock waiters"), at, f64::from(pool.waiting));
        }
        for pool in &observed.bouncer {
            self.record(
                SeriesId::new(Metric::ClientsWaiting, endpoint, &pool.database),
                at,
                f64::from(pool.cl_waiting),
            );
        }
        if let Some(disk) = &observed.disk {
            if let Some(pct) = disk.used_pct() {
                self.record(SeriesId::new(Metric::DiskUsedPct, endpoint, &disk.mount), at, pct);
            }
        }
    }

    fn apply_checksum(&mut self, progress: &ChecksumProgress) {
        let before: u64 = self.checksum.iter().flat_map(|c| &c.tables).map(|t| t.differences).sum();
        for table in &progress.tables {
            self.record(SeriesId::new(Metric::ChecksumPct, "verify", &table.table), progress.at, table.pct());
        }
        let after: u64 = progress.tables.iter().map(|t| t.differences).sum();
        #[allow(clippy::cast_precision_loss)]
        self.record(SeriesId::new(Metric::ChecksumDifferences, "verify", "all tables"), progress.at, after as f64);
        if after > before {
            let tables: Vec<&str> =
                progress.tables.iter().filter(|t| t.differences > 0).map(|t| t.table.as_str()).collect();
            let text = format!("checksum: {after} difference(s) in {}", tables.join(", "));
            self.log_line(progress.at, LogLevel::Warn, text);
        }
        self.checksum = Some(progress.clone());
    }

    fn apply_step(&mut self, update: &StepUpdate) {
        self.steps.insert(update.step.clone(), update.status);
        let step = self.outline.as_ref().and_then(|o| o.step(&update.step)).cloned();
        if update.status == StepStatus::Running {
            self.current_step = Some(update.step.clone());
        }
        let Some(step) = step else { return };
        // A pause in force goes on; one that ended stays in the record.
        let pausing = self.write_pause.is_some_and(|p| p.ended.is_none());
        if update.status == StepStatus::Running && step.starts_write_pause && !pausing {
            self.earlier_pauses.extend(self.write_pause.take());
            self.write_pause = Some(WritePause { started: update.at, ended: None });
        }
        if update.status == StepStatus::Done && step.ends_write_pause {
            if let Some(pause) = &mut self.write_pause {
                pause.ended.get_or_insert(update.at);
            }
        }
        let (level, word) = match update.status {
            StepStatus::Pending => return,
            StepStatus::Running => (LogLevel::Info, "started"),
            StepStatus::Done => (LogLevel::Info, "done"),
            StepStatus::Skipped => (LogLevel::Info, "skipped"),
            StepStatus::Failed => (LogLevel::Error, "FAILED"),
            StepStatus::Interrupted => (LogLevel::Warn, "interrupted"),
        };
        self.log_line(update.at, level, format!("{} {}: {word}", step.id, step.name));
    }
}

/// Focus moves the way the panes sit on the wide layout: gauges stacked on
/// the left, the runbook on the right, the event log across the bottom.
fn spatial_focus(from: Pane, action: &Action) -> Pane {
    use Pane::{Checksum, Disk, Lag, Log, Pool, Runbook};
    match (action, from) {
        (Action::FocusUp, Pool) => Lag,
        (Action::FocusUp, Disk) => Pool,
        (Action::FocusUp, Checksum) => Disk,
        (Action::FocusUp, Log) => Checksum,
        (Action::FocusDown, Lag) => Pool,
        (Action::FocusDown, Pool) => Disk,
        (Action::FocusDown, Disk) => Checksum,
        (Action::FocusDown, Checksum | Runbook) => Log,
        (Action::FocusRight, Lag | Pool | Disk | Checksum | Log) => Runbook,
        (Action::FocusLeft, Runbook) => Lag,
        _ => from,
    }
}
