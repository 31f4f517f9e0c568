//! The simulator behind `cutover demo`: simulated servers that publish the
//! same [`Sample`](crate::events::Sample)s as the real collectors, driven by a
//! scripted [`Scenario`] with seeded randomness.

mod drive;
pub mod scenario;
mod world;

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

pub use drive::Drive;
pub use scenario::Scenario;
pub use world::TABLES;

use crate::events::{Action, LogEntry, LogLevel, StepUpdate};
use world::World;

/// A scenario being played.
pub struct Simulator {
    scenario: Scenario,
    world: World,
    start: DateTime<Utc>,
    next_step: usize,
    stall_reported: bool,
}

impl Simulator {
    #[must_use]
    pub fn new(scenario: Scenario, seed: u64, start: DateTime<Utc>) -> Self {
        Self { scenario, world: World::new(seed), start, next_step: 0, stall_reported: false }
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

    /// The first actions: the clock at the start.
    #[must_use]
    pub fn begin(&self) -> Vec<Action> {
        vec![Action::Tick { now: self.start }]
    }

    /// Move simulated time forward by `dt` and return everything observed: a
    /// tick, one sample per endpoint, verification progress and step moves.
    pub fn advance(&mut self, dt: Duration) -> Vec<Action> {
        self.world.advance(&self.scenario, dt.as_secs_f64());
        let now = self.now();
        let mut actions = vec![Action::Tick { now }];
        while let Some((t, step, status)) = self.scenario.steps.get(self.next_step) {
            if *t > self.world.t {
                break;
            }
            actions.push(Action::Step(StepUpdate { at: now, step: (*step).to_owned(), status: *status }));
            self.next_step += 1;
        }
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
            actions.push(Action::Checksum(progress));
        }
        actions
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

/// Run the simulator in real time until the receiver goes away: every
/// `interval / speed` of wall time, `interval` of simulated time passes.
pub async fn run(mut sim: Simulator, interval: Duration, speed: f64, tx: mpsc::Sender<Action>) {
    let wall = interval.div_f64(speed.max(0.01));
    let mut ticker = tokio::time::interval(wall);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for action in sim.begin() {
        if tx.send(action).await.is_err() {
            return;
        }
    }
    loop {
        // The first tick is immediate: figures are on screen from the start.
        ticker.tick().await;
        for action in sim.advance(interval) {
            if tx.send(action).await.is_err() {
                return;
            }
        }
    }
}
