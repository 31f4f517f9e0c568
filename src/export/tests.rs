#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use serde_json::Value;

use super::*;
use crate::events::test_support::{phase, run_started, step};
use crate::events::{Outline, Record, RunEvent, RunOutcome};
use crate::state::State;
use crate::theme::{ColorMode, UNICODE};

fn at(seconds: f64) -> DateTime<Utc> {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).single().unwrap();
    t0 + chrono::Duration::milliseconds((seconds * 1000.0) as i64)
}

fn outline() -> Outline {
    Outline {
        name: "exported".into(),
        phases: vec![
            phase("1", "Prepare", vec![step("1.1", "Look")]),
            phase("2", "Catch-up", vec![step("2.1", "Wait for the subscriber")]),
        ],
    }
}

/// 1.1 takes 2 s; 2.1 waits 10 minutes, with output every 0.02 s at its start.
fn records() -> Vec<Record> {
    let started = run_started(outline(), "ann", "h", true);
    let step = |id: &str| RunEvent::StepStarted { step: id.into(), attempt: 1 };
    let done = |id: &str, ok| RunEvent::StepFinished { step: id.into(), attempt: 1, ok, summary: String::new() };
    let mut records = vec![
        Record { at: at(0.0), event: started },
        Record { at: at(1.0), event: step("1.1") },
        Record { at: at(3.0), event: done("1.1", true) },
        Record { at: at(3.0), event: step("2.1") },
    ];
    for i in 0..20 {
        let text = format!("line {i}");
        records
            .push(Record { at: at(3.0 + f64::from(i) * 0.02), event: RunEvent::Output { step: "2.1".into(), text } });
    }
    records.push(Record { at: at(603.0), event: done("2.1", false) });
    records.push(Record { at: at(604.0), event: RunEvent::Finished { outcome: RunOutcome::Completed } });
    records
}

fn export(options: &Options) -> (Summary, Vec<Value>) {
    let timeline = Timeline::new(State::new("exported"), &records()).unwrap();
    let theme = Theme::load("dark", ColorMode::Ansi16, UNICODE).unwrap();
    let mut out = Vec::new();
    let summary = asciicast(&timeline, &theme, "exported", options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    (summary, text.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

fn options() -> Options {
    Options { cols: 100, rows: 30, speed: 1.0, idle_limit: Some(Duration::from_secs(2)) }
}

fn events<'a>(lines: &'a [Value], code: &str) -> Vec<(f64, &'a str)> {
    lines[1..].iter().filter(|l| l[1] == code).map(|l| (l[0].as_f64().unwrap(), l[2].as_str().unwrap())).collect()
}

#[test]
fn markers_name_the_boundaries_at_their_paced_times() {
    let (summary, lines) = export(&options());
    assert_eq!(lines[0]["width"], 100);
    assert_eq!(lines[0]["title"], "exported");
    assert_eq!(lines[0]["timestamp"], at(0.0).timestamp());
    let markers = events(&lines, "m");
    assert_eq!(
        markers,
        [
            (1.0, "phase 1 Prepare"),
            (1.0, "1.1 Look: started"),
            (3.0, "1.1 Look: done"),
            (3.0, "phase 2 Catch-up"),
            (3.0, "2.1 Wait for the subscriber: started"),
            // 10 minutes of waiting after the last output (at 3.38 s) take 2 s.
            (5.38, "2.1 Wait for the subscriber: FAILED"),
        ]
    );
    assert_eq!(summary.markers, 6);
    let times: Vec<f64> = lines[1..].iter().map(|l| l[0].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!((summary.duration.as_secs_f64() - 6.38).abs() < 1e-6, "{summary:?}");
}

#[test]
fn frames_are_bounded_and_the_last_is_the_final_screen() {
    let (summary, lines) = export(&options());
    let frames = events(&lines, "o");
    assert_eq!(frames.len(), summary.frames);
    // 6.38 s at most 10 a second, the setup, and the 20 lines of output
    // 0.02 s apart sharing frames.
    assert!(frames.len() <= 66, "{}", frames.len());
    assert!(frames.windows(2).skip(1).all(|w| w[1].0 - w[0].0 >= FRAME_MIN.as_secs_f64() - 1e-6), "{frames:?}");
    let nonzero = |n| std::num::NonZeroU16::new(n).unwrap();
    let mut parser = vt100::Parser::new(nonzero(30), nonzero(100), 0);
    for (_, data) in &frames {
        parser.process(data.as_bytes());
    }
    let screen = parser.screen().contents();
    assert!(screen.contains("exported"), "{screen}");
    assert!(screen.contains("2.1 Wait for the subscriber"), "{screen}");
    assert!(screen.contains("10:10:04 UTC"), "the clock at the end: {screen}");
    assert!(!screen.contains("REPLAY"), "no replay banner: {screen}");
    // The clock moves through the wait, faster: frames between 3.4 s and 5.38 s.
    let during = frames.iter().filter(|(t, _)| (3.5..5.3).contains(t)).count();
    assert!(during >= 10, "{during}");
}

#[test]
fn without_an_idle_limit_the_recording_is_as_long_as_the_run_at_its_speed() {
    let options = Options { speed: 4.0, idle_limit: None, ..options() };
    let (summary, lines) = export(&options);
    assert!((summary.duration.as_secs_f64() - 151.0).abs() < 1e-6, "{summary:?}");
    let markers = events(&lines, "m");
    assert_eq!(markers.last(), Some(&(150.75, "2.1 Wait for the subscriber: FAILED")));
    // One clock frame a journal second at most (4 a recording second), plus the records'.
    assert!(summary.frames <= 604 + 10, "{summary:?}");
}

#[test]
fn a_wait_at_the_end_of_the_journal_is_shortened_too() {
    // The run stopped answering at 604 s; only gauge samples follow, for an hour.
    let mut records = records();
    let sample = crate::events::Sample {
        at: at(4204.0),
        endpoint: "source".into(),
        kind: crate::events::EndpointKind::Postgres,
        reading: crate::events::Reading::Observed(crate::events::EndpointSample::default()),
    };
    records.push(Record { at: at(4204.0), event: RunEvent::Sample { sample } });
    let timeline = Timeline::new(State::new("exported"), &records).unwrap();
    let theme = Theme::load("dark", ColorMode::Ansi16, UNICODE).unwrap();
    let summary = asciicast(&timeline, &theme, "exported", &options(), std::io::sink()).unwrap();
    // 2 s more, not an hour; the last frame shows the end, within a frame's time of it.
    let end = 8.38;
    assert!((end - FRAME_MIN.as_secs_f64()..=end).contains(&summary.duration.as_secs_f64()), "{summary:?}");
}
