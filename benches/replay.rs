//! What replaying a 1-hour journal costs, and how big the journal is.
//!
//! The journal is built once: a 3-step run whose three endpoints are sampled
//! every second for an hour (ten times the rate a run journals samples at,
//! `journal::SAMPLE_EVERY`), plus a line of output a minute. It is written to a
//! file as the journal writer does, then:
//!
//! ```text
//! cargo bench --bench replay -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `replay/read_and_fold_to_end`: `journal::read` of the file, the timeline
//!   built, the state folded to the last record — what `cutover replay`
//!   does before its first frame, and what replaying to the end costs;
//! - `replay/seek_back_to_start_then_end`: a backward seek (a refold from the
//!   start) to the middle, then forward to the end;
//! - `export/asciicast`: the timeline written as an asciicast recording at
//!   120x36 with the defaults of `cutover export` (speed 1, idle limit 2 s),
//!   into memory.
//!
//! The journal's size per hour, and the recording's size, frames and length,
//! are printed with the results.

use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use color_eyre::eyre::{Result, eyre};
use criterion::Criterion;
use cutover::events::{
    EndpointKind, EndpointSample, LinkKind, Outline, OutlinePhase, OutlineStep, Reading, Record, ReplicationLink,
    RunEvent, Sample,
};
use cutover::replay::{Player, Timeline};
use cutover::state::State;

const HOUR: i64 = 3600;
const ENDPOINTS: [&str; 3] = ["source", "target", "replica"];

fn at(seconds: i64) -> Result<DateTime<Utc>> {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).single().ok_or_else(|| eyre!("no such time"))?;
    Ok(t0 + chrono::Duration::seconds(seconds))
}

fn outline() -> Outline {
    let step = |id: &str| OutlineStep {
        id: id.into(),
        name: format!("step {id}"),
        kind: "shell".into(),
        on: None,
        destructive: false,
        gate: None,
        starts_write_pause: false,
        ends_write_pause: false,
        planned_secs: None,
    };
    Outline {
        name: "an hour".into(),
        phases: vec![OutlinePhase {
            id: "1".into(),
            name: "Catch-up".into(),
            rollback: false,
            steps: vec![step("1.1"), step("1.2"), step("1.3")],
            planned_secs: None,
            recovery_time: false,
        }],
    }
}

fn journal() -> Result<Vec<Record>> {
    let mut records = vec![Record {
        at: at(0)?,
        event: RunEvent::Started {
            runbook: "bench.toml".into(),
            runbook_sha256: String::new(),
            inventory: None,
            vars: Vec::new(),
            var_env: Vec::new(),
            operator: "bench".into(),
            host: "bench".into(),
            pid: 1,
            headless: true,
            allow_manual: false,
            endpoints: Default::default(),
            outline: outline(),
        },
    }];
    records.push(Record { at: at(0)?, event: RunEvent::StepStarted { step: "1.1".into(), attempt: 1 } });
    for second in 0..HOUR {
        for endpoint in ENDPOINTS {
            let link = ReplicationLink {
                name: "replica".into(),
                kind: LinkKind::Physical,
                state: "streaming".into(),
                lag_bytes: Some(u64::try_from(second)? * 1000),
                lag_seconds: Some(0.5),
                ..ReplicationLink::default()
            };
            let observed = EndpointSample { replication: vec![link], ..EndpointSample::default() };
            let sample = Sample {
                at: at(second)?,
                endpoint: endpoint.into(),
                kind: EndpointKind::Postgres,
                reading: Reading::Observed(observed),
            };
            records.push(Record { at: at(second)?, event: RunEvent::Sample { sample } });
        }
        if second % 60 == 0 {
            let text = format!("{second} s: a line of output");
            records.push(Record { at: at(second)?, event: RunEvent::Output { step: "1.1".into(), text } });
        }
    }
    Ok(records)
}

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("hour.jsonl");
    let mut text = String::new();
    for record in journal()? {
        text.push_str(&serde_json::to_string(&record)?);
        text.push('\n');
    }
    std::fs::write(&path, &text)?;
    let records = cutover::journal::read(&path)?.records;
    println!(
        "replay: a 1-hour journal of {} records (3 endpoints sampled every second) is {:.1} MB",
        records.len(),
        text.len() as f64 / 1e6
    );
    let end = at(HOUR)?;
    let middle = at(HOUR / 2)?;

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.bench_function("read_and_fold_to_end", |b| {
        b.iter(|| {
            let records = cutover::journal::read(&path).map(|j| j.records).unwrap_or_default();
            let timeline = Timeline::new(State::new("hour"), &records).ok();
            black_box(timeline.map(|t| t.state_at(end)))
        });
    });
    let timeline = Timeline::new(State::new("hour"), &records)?;
    let mut player = Player::new(timeline, 1.0);
    player.seek(end);
    group.bench_function("seek_back_to_start_then_end", |b| {
        b.iter(|| {
            player.seek(middle);
            player.seek(end);
            black_box(player.state().now)
        });
    });
    group.finish();

    let theme = cutover::theme::Theme::load("dark", cutover::theme::ColorMode::TrueColor, cutover::theme::UNICODE)?;
    let options = cutover::export::Options {
        cols: 120,
        rows: 36,
        speed: 1.0,
        idle_limit: Some(std::time::Duration::from_secs(2)),
    };
    let mut base = State::new("an hour");
    base.update(&cutover::events::Action::Resize { cols: options.cols, rows: options.rows });
    let timeline = Timeline::new(base, &records)?;
    let mut cast = Vec::new();
    let summary = cutover::export::asciicast(&timeline, &theme, "an hour", &options, &mut cast)?;
    println!(
        "export: the 1-hour journal as an asciicast is {} kB: {} frames, {} markers, {:.1} s of recording",
        cast.len() / 1000,
        summary.frames,
        summary.markers,
        summary.duration.as_secs_f64()
    );
    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    group.bench_function("asciicast", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(cast.len());
            let summary = cutover::export::asciicast(&timeline, &theme, "an hour", &options, &mut out).ok();
            black_box((summary, out.len()))
        });
    });
    group.finish();
    c.final_summary();
    Ok(())
}
