//! The scripted scenarios `cutover demo` can play. Each is data: windows of
//! simulated time in which something happens, and when runbook steps move.

use crate::events::StepStatus;

/// A window of simulated seconds, `[start, end)`; `end = None` never closes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub start: f64,
    pub end: Option<f64>,
}

impl Window {
    #[must_use]
    pub const fn new(start: f64, end: f64) -> Self {
        Self { start, end: Some(end) }
    }

    #[must_use]
    pub const fn from(start: f64) -> Self {
        Self { start, end: None }
    }

    #[must_use]
    pub fn contains(&self, t: f64) -> bool {
        t >= self.start && self.end.is_none_or(|end| t < end)
    }
}

/// A burst of writes on the source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burst {
    pub window: Window,
    /// WAL written per second during the burst.
    pub wal_bytes_per_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    /// The subscription's initial table copy.
    pub initial_copy: Window,
    /// Bursts of writes (lag spikes, batch jobs).
    pub bursts: Vec<Burst>,
    /// The subscriber's apply worker stops: the slot stops advancing.
    pub slot_stall: Option<Window>,
    /// The subscriber's apply worker is stuck (waiting on a lock on the
    /// target): the slot stays active, but nothing is applied and lag grows.
    pub apply_stall: Option<Window>,
    /// Clients pile up in the pooler and on the source.
    pub pool_pressure: Option<Window>,
    /// When the checksum run starts, and in which chunk of the first table
    /// rows differ (none: all equal).
    pub checksum_start: Option<f64>,
    pub checksum_mismatch: Option<u64>,
    /// The pooler is paused (`PAUSE`) for the switch: clients queue.
    pub pooler_paused: Option<Window>,
    /// Endpoints that stop answering.
    pub outages: Vec<(&'static str, Window, &'static str)>,
    /// Faults that strike when a step starts, wherever the operator is in time.
    pub on_step: Vec<StepFault>,
    /// Runbook step moves: (simulated second, step id, status).
    pub steps: Vec<(f64, &'static str, StepStatus)>,
}

/// A fault that begins `after` seconds into a step and lasts `lasts` seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepFault {
    pub step: &'static str,
    pub after: f64,
    pub lasts: f64,
    /// The endpoint that stops answering, and the error it answers with.
    pub outage: (&'static str, &'static str),
}

use StepStatus::{Done, Failed, Running};

/// Steps the scenarios share: pre-flight and replication setup.
fn setup_steps(copy_done: f64) -> Vec<(f64, &'static str, StepStatus)> {
    vec![
        (2.0, "1.1", Running),
        (3.0, "1.1", Done),
        (4.0, "1.2", Running),
        (5.0, "1.2", Done),
        (6.0, "1.3", Running),
        (7.0, "1.3", Done),
        (10.0, "2.1", Running),
        (11.0, "2.1", Done),
        (12.0, "2.2", Running),
        (14.0, "2.2", Done),
        (15.0, "2.3", Running),
        (copy_done, "2.3", Done),
        (copy_done + 1.0, "3.1", Running),
    ]
}

/// A scenario where nothing goes wrong: the initial copy from 15 s to 80 s,
/// then quiet (the others say what they add).
fn quiet(name: &'static str, summary: &'static str, steps: Vec<(f64, &'static str, StepStatus)>) -> Scenario {
    Scenario {
        name,
        summary,
        initial_copy: Window::new(15.0, 80.0),
        bursts: Vec::new(),
        slot_stall: None,
        apply_stall: None,
        pool_pressure: None,
        checksum_start: None,
        checksum_mismatch: None,
        pooler_paused: None,
        outages: Vec::new(),
        on_step: Vec::new(),
        steps,
    }
}

/// The tour: every kind of trouble, one after another.
#[must_use]
pub fn full() -> Scenario {
    let mut steps = setup_steps(100.0);
    steps.extend([(140.0, "3.1", Done), (150.0, "3.2", Running), (272.0, "3.2", Done)]);
    Scenario {
        initial_copy: Window::new(15.0, 100.0),
        bursts: vec![
            Burst { window: Window::new(160.0, 195.0), wal_bytes_per_s: 38.0e6 },
            Burst { window: Window::new(280.0, 420.0), wal_bytes_per_s: 24.0e6 },
        ],
        slot_stall: Some(Window::new(290.0, 420.0)),
        pool_pressure: Some(Window::new(205.0, 265.0)),
        checksum_start: Some(150.0),
        checksum_mismatch: Some(13),
        ..quiet("full", "every trouble in turn: lag spike, pool pressure, stuck slot, checksum mismatch", steps)
    }
}

/// A healthy cutover, all the way through the switch and the write pause.
#[must_use]
pub fn calm() -> Scenario {
    let mut steps = setup_steps(80.0);
    steps.extend([
        (115.0, "3.1", Done),
        (118.0, "3.2", Running),
        (240.0, "3.2", Done),
        (250.0, "4.1", Running),
        (251.0, "4.1", Done),
        (252.0, "4.2", Running),
        (253.0, "4.2", Done),
        (254.0, "4.3", Running),
        (260.0, "4.3", Done),
        (261.0, "4.4", Running),
        (262.0, "4.4", Done),
        (263.0, "4.5", Running),
        (271.0, "4.5", Done),
        (275.0, "5.1", Running),
        (276.0, "5.1", Done),
        (277.0, "5.2", Running),
    ]);
    Scenario {
        checksum_start: Some(118.0),
        pooler_paused: Some(Window::new(250.0, 271.0)),
        ..quiet("calm", "a healthy cutover: copy, catch-up, clean checksums, switch, short write pause", steps)
    }
}

/// The classic outage: the subscriber stops, its slot holds WAL, the disk fills.
#[must_use]
pub fn stuck_slot() -> Scenario {
    let mut steps = setup_steps(80.0);
    steps.push((110.0, "3.1", Done));
    Scenario {
        bursts: vec![Burst { window: Window::from(120.0), wal_bytes_per_s: 14.0e6 }],
        slot_stall: Some(Window::from(120.0)),
        ..quiet("stuck-slot", "the subscriber stops; its slot holds WAL and the source's disk fills up", steps)
    }
}

/// The pooler saturates: clients wait, lock waiters pile up on the source.
#[must_use]
pub fn pool_storm() -> Scenario {
    let mut steps = setup_steps(80.0);
    steps.push((110.0, "3.1", Done));
    Scenario {
        pool_pressure: Some(Window::from(60.0)),
        ..quiet("pool-storm", "the pooler saturates: clients queue, sessions wait on locks", steps)
    }
}

/// The replica stops answering, then the target blinks out and back.
#[must_use]
pub fn lost_replica() -> Scenario {
    let mut steps = setup_steps(80.0);
    steps.push((110.0, "3.1", Done));
    Scenario {
        outages: vec![
            ("replica", Window::new(40.0, 160.0), "connection to 10.0.2.12:5432 refused"),
            ("target", Window::new(200.0, 215.0), "timeout: no answer in 2s"),
        ],
        ..quiet("lost-replica", "the replica stops answering (last figures kept, greyed), then returns", steps)
    }
}

/// A drill: during catch-up the subscriber's apply worker gets stuck behind a
/// lock on the target while a batch job writes: the slot stays active, lag
/// climbs in bytes and seconds, then drains once the worker moves again.
#[must_use]
pub fn replication_stall() -> Scenario {
    let mut steps = setup_steps(80.0);
    steps.push((260.0, "3.1", Done));
    Scenario {
        bursts: vec![Burst { window: Window::new(120.0, 200.0), wal_bytes_per_s: 9.0e6 }],
        apply_stall: Some(Window::new(120.0, 210.0)),
        ..quiet(
            "replication-stall",
            "drill: apply stalls behind a lock on the target during catch-up; lag climbs",
            steps,
        )
    }
}

/// A drill: verification finds rows that differ in the first table.
#[must_use]
pub fn checksum_mismatch() -> Scenario {
    let mut steps = setup_steps(80.0);
    steps.extend([(115.0, "3.1", Done), (118.0, "3.2", Running), (240.0, "3.2", Failed)]);
    Scenario {
        checksum_start: Some(118.0),
        checksum_mismatch: Some(9),
        ..quiet("checksum-mismatch", "drill: verification finds rows that differ; the switch stays locked", steps)
    }
}

/// A drill: the target stops answering in the middle of the switch, while
/// writes are paused — go on, wait, or roll back?
#[must_use]
pub fn switch_outage() -> Scenario {
    let mut scenario = calm();
    scenario.name = "switch-outage";
    scenario.summary = "drill: the target stops answering in the middle of the switch";
    scenario.steps.retain(|(t, ..)| *t < 261.0);
    scenario.steps.extend([
        (261.0, "4.4", Running),
        (263.0, "4.4", Failed),
        (290.0, "R.1", Running),
        (292.0, "R.1", Done),
        (293.0, "R.2", Running),
        (295.0, "R.2", Done),
    ]);
    scenario.pooler_paused = Some(Window::new(250.0, 295.0));
    // Writes are paused and lag is zero: the sequences are being synced on
    // the target when it goes away.
    scenario.on_step = vec![StepFault {
        step: "4.4",
        after: 0.5,
        lasts: 50.0,
        outage: ("target", "connection to 10.0.2.13:5432 timed out"),
    }];
    scenario
}

/// Every scenario, the default first.
#[must_use]
pub fn all() -> Vec<Scenario> {
    vec![
        full(),
        calm(),
        stuck_slot(),
        pool_storm(),
        lost_replica(),
        replication_stall(),
        checksum_mismatch(),
        switch_outage(),
    ]
}

/// The scenario with this name.
#[must_use]
pub fn by_name(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

/// One line per scenario, for `cutover demo --help`.
#[must_use]
pub fn help_text() -> String {
    let mut out = String::from("Scenarios:\n");
    for s in all() {
        out.push_str(&format!("  {:<18} {}\n", s.name, s.summary));
    }
    out
}
