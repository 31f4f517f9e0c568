//! How big a recorded session's journal grows, and what replaying it costs.
//!
//! A 12-hour `watch` of the simulator's four endpoints (source, replica,
//! target, pooler), sampled every second, recorded through the same
//! [`Recorder`] `watch --journal` and `run` use — one sample per endpoint
//! every `SAMPLE_EVERY` (10 s), and at once when one goes down or up — with
//! the scenario's faults (a stuck slot, an outage) in it. Beside it, an hour
//! recorded at a drill's rate (every sample, as `demo --journal` keeps).
//!
//! ```text
//! cargo bench --bench journal -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! - `journal/read_and_fold_12h`: read the 12-hour journal and fold it to its
//!   end — what `cutover replay` (End), `report` and `follow` do first.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use color_eyre::eyre::{Result, eyre};
use criterion::Criterion;
use cutover::events::Action;
use cutover::journal::{CHECKSUM_EVERY, Recorder, SAMPLE_EVERY, Writer};
use cutover::replay::{Timeline, base_state};
use cutover::sim::{Simulator, scenario};

const SECOND: Duration = Duration::from_secs(1);

/// Record `seconds` of the lost-replica scenario (outages) sampled every second.
fn record(path: &Path, seconds: u32, sample_every: Duration) -> Result<u64> {
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 20, 0, 0).single().ok_or_else(|| eyre!("no such time"))?;
    let scenario = scenario::by_name("lost-replica").ok_or_else(|| eyre!("no scenario"))?;
    let mut sim = Simulator::new(scenario, 1, start).unscripted();
    let mut recorder = Recorder::new(Writer::create(path)?, sample_every, CHECKSUM_EVERY);
    let session = cutover::events::RunEvent::Session {
        command: "watch".into(),
        title: "watch bench".into(),
        operator: "bench".into(),
        host: "bench".into(),
        pid: 1,
    };
    recorder.append(start, session)?;
    for _ in 0..seconds {
        for action in sim.advance(SECOND) {
            match action {
                Action::Sample(sample) => drop(recorder.sample(&sample)?),
                Action::Checksum(progress) => drop(recorder.checksum(&progress)?),
                _ => {}
            }
        }
    }
    recorder.sync()?;
    Ok(std::fs::metadata(path)?.len())
}

fn main() -> Result<()> {
    let mut c = Criterion::default().configure_from_args();
    // Under `cargo test --all-targets` (criterion's test mode) a short window
    // checks the bench still runs; `cargo bench` measures the 12 hours.
    // `cargo bench` passes --bench; `cargo test` passes nothing.
    let test_mode = !std::env::args().any(|a| a == "--bench");
    let hours: u32 = if test_mode { 1 } else { 12 };
    let dir = tempfile::tempdir()?;
    let watch = dir.path().join("watch.jsonl");
    let bytes = record(&watch, hours * 3600, SAMPLE_EVERY)?;
    let records = cutover::journal::read(&watch)?.records;
    println!(
        "journal: a {hours}-hour watch of 4 endpoints, a sample each every {} s: {} records, {:.1} MB ({:.2} MB an hour)",
        SAMPLE_EVERY.as_secs(),
        records.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / f64::from(hours)
    );
    let drill = dir.path().join("drill.jsonl");
    let drill_bytes = record(&drill, 3600, Duration::ZERO)?;
    println!("journal: an hour of a drill (every 1 s sample kept): {:.1} MB", drill_bytes as f64 / 1e6);

    let mut group = c.benchmark_group("journal");
    group.sample_size(10);
    group.bench_function(format!("read_and_fold_{hours}h"), |b| {
        b.iter(|| {
            let records = cutover::journal::read(&watch).map(|j| j.records).unwrap_or_default();
            let timeline = Timeline::new(base_state(&watch, &records), &records).ok();
            black_box(timeline.map(|t| t.state_at(t.end())))
        });
    });
    group.finish();
    c.final_summary();
    Ok(())
}
