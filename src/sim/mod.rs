//! The simulator behind `cutover demo`: simulated servers that publish the
//! same [`Sample`](crate::events::Sample)s as the real collectors, driven by a
//! scripted [`Scenario`] with seeded randomness.

pub mod scenario;
mod world;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use scenario::Scenario;
pub use world::TABLES;

use crate::events::{Action, LogEntry, LogLevel, RunEvent, StepStatus, StepUpdate};
use crate::journal::Hub;
use world::World;

/// A scenario being played.
pub struct Simulator {
    scenario: Scenario,
    world: World,
    start: DateTime<Utc>,
    next_step: usize,
    stall_reported: bool,
    mismatch_reported: bool,
    /// Faults begun in the last [`advance`](Self::advance), not yet taken.
    faults: Vec<(String, String)>,
}

impl Simulator {
    #[must_use]
    pub fn new(scenario: Scenario, seed: u64, start: DateTime<Utc>) -> Self {
        Self {
            scenario,
            world: World::new(seed),
            start,
            next_step: 0,
            stall_reported: false,
            mismatch_reported: false,
            faults: Vec::new(),
        }
    }

    /// Leave the runbook to the operator: the scenario's scripted step moves
    /// are not played.
    #[must_use]
    pub fn unscripted(mut self) -> Self {
        self.next_step = usize::MAX;
        self
    }

    /// Simulated seconds since the start.
    #[must_use]
    pub fn elapsed(&self) -> f64 {
        self.world.t
    }

    /// The simulated clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        #[allow(clippy::cast_possible_truncation)]
        let ms = (self.world.t * 1000.0).round() as i64;
        self.start + chrono::Duration::milliseconds(ms)
    }

    /// The scenario being played.
    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The error a simulated endpoint answers with right now, if it is down.
    #[must_use]
    pub fn down(&self, endpoint: &str) -> Option<&'static str> {
        self.world.down(&self.scenario, endpoint)
    }

    /// A runbook step started (scripted, or confirmed by the operator): the
    /// faults the scenario ties to it are set off.
    pub fn step_started(&mut self, step: &str) {
        let t = self.world.t;
        for fault in self.scenario.on_step.iter().filter(|f| f.step == step) {
            // Strictly after now, so the next advance sees it begin.
            let start = t + fault.after.max(1e-3);
            let (endpoint, error) = fault.outage;
            self.scenario.outages.push((endpoint, scenario::Window::new(start, start + fault.lasts), error));
        }
        self.scenario.on_step.retain(|f| f.step != step);
    }

    /// The faults that began in the last [`advance`](Self::advance): (name, what happens).
    pub fn take_faults(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.faults)
    }

    /// Faults whose window began in `(from, to]`.
    fn begun(&self, from: f64, to: f64) -> Vec<(String, String)> {
        let begins = |w: &scenario::Window| w.start > from && w.start <= to;
        let s = &self.scenario;
        let windows = [
            (
                s.slot_stall,
                "slot-stall",
                "the subscriber's apply worker exited: the slot stops advancing, WAL fills the source's disk",
            ),
            (
                s.apply_stall,
                "replication-stall",
                "the subscriber's apply worker waits on a lock on the target: nothing is applied, lag climbs",
            ),
            (
                s.pool_pressure,
                "pool-saturation",
                "clients pile up: the pooler's server connections are all busy, sessions wait on locks",
            ),
        ];
        let mut faults: Vec<(String, String)> = windows
            .into_iter()
            .filter(|(w, ..)| w.as_ref().is_some_and(begins))
            .map(|(_, name, text)| (name.to_owned(), text.to_owned()))
            .collect();
        for (endpoint, window, error) in &s.outages {
            if begins(window) {
                faults.push((format!("{endpoint}-unreachable"), format!("{endpoint} stops answering: {error}")));
            }
        }
        faults
    }

    /// The first actions: the clock at the start.
    #[must_use]
    pub fn begin(&self) -> Vec<Action> {
        vec![Action::Tick { now: self.start }]
    }

    /// Move simulated time forward by `dt` and return everything observed: a
    /// tick, one sample per endpoint, verification progress and step moves.
    pub fn advance(&mut self, dt: Duration) -> Vec<Action> {
        let from = self.world.t;
        self.world.advance(&self.scenario, dt.as_secs_f64());
        let now = self.now();
        let mut actions = vec![Action::Tick { now }];
        while let Some(&(t, step, status)) = self.scenario.steps.get(self.next_step) {
            if t > self.world.t {
                break;
            }
            actions.push(Action::Step(StepUpdate { at: now, step: step.to_owned(), status }));
            if status == StepStatus::Running {
                self.step_started(step);
            }
            self.next_step += 1;
        }
        let begun = self.begun(from, self.world.t);
        self.faults.extend(begun);
        if let Some(stall) = self.scenario.slot_stall {
            if stall.contains(self.world.t) && !self.stall_reported {
                self.stall_reported = true;
                actions.push(Action::Log(LogEntry {
                    at: now,
                    who: "target".into(),
                    level: LogLevel::Error,
                    text: "subscription cutover_sub: apply worker exited: duplicate key value violates unique constraint \"orders_pkey\"".into(),
                }));
            }
        }
        actions.extend(self.world.samples(&self.scenario, now).into_iter().map(Action::Sample));
        if let Some(progress) = self.world.checksum(&self.scenario, now) {
            if !self.mismatch_reported {
                if let Some(table) = progress.tables.iter().find(|t| t.differences > 0) {
                    self.mismatch_reported = true;
                    let text = format!("rows differ between source and target in {}", table.table);
                    self.faults.push(("checksum-mismatch".to_owned(), text));
                }
            }
            actions.push(Action::Checksum(progress));
        }
        actions
    }

    /// [`Simulator::advance`], then the faults that began in it, as
    /// [`Action::Fault`]s.
    pub fn observe(&mut self, dt: Duration) -> Vec<Action> {
        let mut observed = self.advance(dt);
        let at = self.now();
        observed.extend(self.take_faults().into_iter().map(|(fault, text)| Action::Fault { at, fault, text }));
        observed
    }

    /// Play `seconds` of simulated time at once (tests, snapshots).
    pub fn run_for(&mut self, seconds: u32, interval: Duration) -> Vec<Action> {
        let mut out = self.begin();
        let steps = (f64::from(seconds) / interval.as_secs_f64()).round();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        for _ in 0..steps as u64 {
            out.extend(self.advance(interval));
        }
        out
    }
}

/// Play the scenario's script in real time until the screen goes away: every
/// `interval / speed` of wall time, `interval` of simulated time passes.
/// `started` opens the journal (see `runbook::simulated::started`).
pub async fn run(mut sim: Simulator, started: RunEvent, interval: Duration, speed: f64, mut hub: Hub) {
    let wall = interval.div_f64(speed.max(0.01));
    let mut ticker = tokio::time::interval(wall);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if !begin(&sim, started, &mut hub) {
        return;
    }
    loop {
        // The first tick is immediate: figures are on screen from the start.
        ticker.tick().await;
        if !tick(&mut sim, interval, &mut hub) {
            return;
        }
    }
}

/// The start of a scripted session: the clock, and the run's first event.
/// `false`: the screen is gone.
pub fn begin(sim: &Simulator, started: RunEvent, hub: &mut Hub) -> bool {
    for action in sim.begin() {
        hub.show(action);
    }
    hub.record(sim.now(), started).is_ok() && !hub.screen_gone()
}

/// One interval of a scripted session: what the simulator observed, and the
/// faults that began. `false`: the screen is gone.
pub fn tick(sim: &mut Simulator, interval: Duration, hub: &mut Hub) -> bool {
    for action in sim.observe(interval) {
        if hub.observed(action).is_err() {
            return false;
        }
    }
    !hub.screen_gone()
}
