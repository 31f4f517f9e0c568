//! The simulator plays its scenarios: the troubles each one promises show up
//! in the same sample types the real collectors produce.

mod common;

use cutover::events::{Action, LinkKind, Reading, Sample};
use cutover::state::State;

fn samples<'a>(actions: &'a [Action], endpoint: &'a str) -> impl Iterator<Item = (f64, &'a Sample)> + 'a {
    let start = common::start();
    actions.iter().filter_map(move |a| match a {
        Action::Sample(s) if s.endpoint == endpoint => {
            #[allow(clippy::cast_precision_loss)]
            let t = (s.at - start).num_milliseconds() as f64 / 1000.0;
            Some((t, s))
        }
        _ => None,
    })
}

fn observed(s: &Sample) -> Option<&cutover::events::EndpointSample> {
    match &s.reading {
        Reading::Observed(o) => Some(o),
        Reading::Unreachable { .. } => None,
    }
}

fn sub_lag(actions: &[Action], from: f64, to: f64) -> Vec<u64> {
    samples(actions, "target")
        .filter(|(t, _)| *t >= from && *t < to)
        .filter_map(|(_, s)| observed(s))
        .flat_map(|o| o.replication.iter().filter(|l| l.kind == LinkKind::Subscription).filter_map(|l| l.lag_bytes))
        .collect()
}

#[test]
fn the_same_seed_plays_the_same_run() {
    assert_eq!(common::sim_actions("full", 120), common::sim_actions("full", 120));
    let other = {
        let scenario = cutover::sim::scenario::by_name("full").unwrap();
        let mut sim = cutover::sim::Simulator::new(scenario, 8, common::start());
        sim.run_for(120, std::time::Duration::from_secs(1))
    };
    assert_ne!(other, common::sim_actions("full", 120)[1..].to_vec());
}

#[test]
fn full_scenario_has_a_copy_a_catch_up_and_a_lag_spike() {
    let actions = common::sim_actions("full", 300);
    let during_copy = sub_lag(&actions, 90.0, 100.0);
    let caught_up = sub_lag(&actions, 130.0, 160.0);
    let spike = sub_lag(&actions, 160.0, 200.0);
    let copy_peak = during_copy.iter().max().copied().unwrap();
    assert!(copy_peak > 100 * 1024 * 1024, "the slot holds WAL during the copy: {copy_peak}");
    let calm = caught_up.iter().min().copied().unwrap();
    assert!(calm < 1024 * 1024, "catch-up brings lag under 1 MB: {calm}");
    let spike_peak = spike.iter().max().copied().unwrap();
    assert!(spike_peak > 50 * 1024 * 1024, "the burst makes lag spike: {spike_peak}");
}

#[test]
fn full_scenario_has_pool_pressure_with_clients_waiting() {
    let actions = common::sim_actions("full", 300);
    let waiting: Vec<(f64, u32)> =
        samples(&actions, "bouncer").filter_map(|(t, s)| observed(s).map(|o| (t, o.bouncer[0].cl_waiting))).collect();
    assert!(waiting.iter().filter(|(t, _)| *t < 200.0).all(|(_, w)| *w == 0));
    assert!(waiting.iter().any(|(t, w)| *t > 215.0 && *t < 265.0 && *w > 10));
}

#[test]
fn full_scenario_stuck_slot_fills_the_disk() {
    let actions = common::sim_actions("full", 420);
    let source: Vec<(f64, u64, f64)> = samples(&actions, "source")
        .filter_map(|(_, s)| observed(s))
        .map(|o| {
            let disk = o.disk.as_ref().unwrap();
            (0.0, disk.slot_retained_bytes.unwrap_or(0), disk.used_pct().unwrap())
        })
        .collect();
    let at = |i: usize| source[i];
    // Before the stall (t≈280) and at its end (t≈419).
    let (before, after) = (at(279), at(418));
    assert!(after.1 > before.1 + 2 * 1024 * 1024 * 1024, "retained WAL grows by GBs: {before:?} → {after:?}");
    assert!(after.2 > 70.0 && after.2 > before.2 + 4.0, "the disk fills past the warn line: {before:?} → {after:?}");
    let inactive = samples(&actions, "source")
        .filter(|(t, _)| *t > 300.0)
        .filter_map(|(_, s)| observed(s))
        .any(|o| o.replication.iter().any(|l| l.kind == LinkKind::Slot && l.state == "inactive"));
    assert!(inactive, "the slot shows inactive while the subscriber is stopped");
}

#[test]
fn full_scenario_checksum_finds_a_mismatch() {
    let state = common::sim_state("full", 300);
    let progress = state.checksum.as_ref().unwrap();
    let orders = progress.tables.iter().find(|t| t.table == "public.orders").unwrap();
    assert!(orders.differences > 0);
    assert!(progress.tables.iter().filter(|t| t.table != "public.orders").all(|t| t.differences == 0));
}

#[test]
fn calm_scenario_switches_with_a_short_write_pause() {
    let state = common::sim_state("calm", 300);
    let pause = state.write_pause.unwrap();
    let length = pause.ended.unwrap() - pause.started;
    assert_eq!(length, chrono::Duration::seconds(21));
    assert!(state.checksum.as_ref().unwrap().tables.iter().all(|t| t.differences == 0));
    let during = common::sim_actions("calm", 265);
    let held = samples(&during, "bouncer").last().and_then(|(_, s)| observed(s)).unwrap().bouncer[0].cl_waiting;
    assert!(held > 20, "a paused pooler holds its clients: {held}");
}

#[test]
fn lost_replica_scenario_takes_the_replica_away_and_back() {
    let actions = common::sim_actions("lost-replica", 200);
    let replica: Vec<(f64, bool)> = samples(&actions, "replica").map(|(t, s)| (t, observed(s).is_some())).collect();
    assert!(replica.iter().filter(|(t, _)| *t < 39.0).all(|(_, up)| *up));
    assert!(replica.iter().filter(|(t, _)| *t >= 40.0 && *t < 160.0).all(|(_, up)| !*up));
    assert!(replica.iter().filter(|(t, _)| *t >= 160.0).all(|(_, up)| *up));
    let state = State::from_actions("t", &actions);
    assert!(state.log.iter().any(|e| e.text.starts_with("replica answers again after 120s")));
}

#[test]
fn every_scenario_runs_ten_simulated_minutes() {
    for scenario in cutover::sim::scenario::all() {
        let mut sim = cutover::sim::Simulator::new(scenario.clone(), 3, common::start());
        let actions = sim.run_for(600, std::time::Duration::from_secs(1));
        let state = State::from_actions("t", &actions);
        assert_eq!(state.endpoints.len(), 4, "{}", scenario.name);
        assert_eq!(state.elapsed(), Some(chrono::Duration::seconds(600)), "{}", scenario.name);
    }
}
