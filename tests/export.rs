//! `cutover export --asciicast`: the journal of a real headless run (shell and
//! manual steps, an endpoint on a closed port: no database) becomes an
//! asciicast v2 recording that asciinema itself reads.

#![allow(clippy::unwrap_used)]

mod support;

use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::process::Command;

use cutover::events::RunEvent;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
const COLS: u16 = 100;
const ROWS: u16 = 30;

fn export(journal: &Path, cast: &Path) -> String {
    let out = Command::new(BIN)
        .arg("export")
        .arg(journal)
        .arg("--asciicast")
        .arg(cast)
        .args(["--cols", &COLS.to_string(), "--rows", &ROWS.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The boundaries the journal holds, named as the markers should be.
fn boundaries(journal: &Path) -> Vec<String> {
    let records = cutover::journal::read(journal).unwrap().records;
    let Some(RunEvent::Started { outline, .. }) = records.first().map(|r| r.event.clone()) else {
        panic!("the journal starts with a run")
    };
    let name = |id: &str| outline.step(id).unwrap().name.clone();
    let mut phase = None;
    let mut want = Vec::new();
    for record in &records {
        match &record.event {
            RunEvent::StepStarted { step, .. } => {
                let p = outline.phases.iter().find(|p| p.steps.iter().any(|s| &s.id == step)).unwrap();
                if phase != Some(p.id.clone()) {
                    want.push(format!("phase {} {}", p.id, p.name));
                    phase = Some(p.id.clone());
                }
                want.push(format!("{step} {}: started", name(step)));
            }
            RunEvent::StepFinished { step, ok, .. } => {
                want.push(format!("{step} {}: {}", name(step), if *ok { "done" } else { "FAILED" }));
            }
            _ => {}
        }
    }
    want
}

/// Where asciinema is: `CUTOVER_ASCIINEMA`, the venv scripts/test makes, or PATH.
fn asciinema() -> PathBuf {
    if let Some(path) = std::env::var_os("CUTOVER_ASCIINEMA") {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/asciinema-venv/bin/asciinema");
    if venv.exists() {
        return venv;
    }
    let on_path = Command::new("asciinema").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        on_path,
        "asciinema not found: set CUTOVER_ASCIINEMA, or run scripts/test (it installs it into target/asciinema-venv: \
         python3 -m venv target/asciinema-venv && target/asciinema-venv/bin/pip install asciinema), or put it on PATH"
    );
    PathBuf::from("asciinema")
}

#[test]
fn a_run_exports_to_a_recording_asciinema_plays_with_a_marker_at_every_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let journal = support::headless::run(dir.path(), "replay-drill.toml");
    let cast = dir.path().join("drill.cast");
    let said = export(&journal, &cast);
    assert!(said.contains("asciinema play"), "{said}");

    let text = std::fs::read_to_string(&cast).unwrap();
    let mut lines = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")));
    let header = lines.next().unwrap();
    assert_eq!(header["version"], 2, "{header}");
    assert_eq!(header["width"], COLS, "{header}");
    assert_eq!(header["height"], ROWS, "{header}");
    assert_eq!(header["title"], "replay-drill", "{header}");
    assert!(header["timestamp"].as_i64().unwrap() > 1_700_000_000, "{header}");

    let mut last = 0.0;
    let mut markers = Vec::new();
    let mut frames = Vec::new();
    for event in lines {
        let [time, code, data] = event.as_array().unwrap().as_slice() else {
            panic!("not [time, code, data]: {event}")
        };
        let time = time.as_f64().unwrap_or_else(|| panic!("time: {event}"));
        assert!(time >= last, "times never decrease: {time} after {last}");
        last = time;
        let data = data.as_str().unwrap_or_else(|| panic!("data: {event}")).to_owned();
        match code.as_str() {
            Some("o") => frames.push(data),
            Some("m") => markers.push(data),
            _ => panic!("code: {event}"),
        }
    }
    assert_eq!(markers, boundaries(&journal), "one marker per phase entered and per step boundary");
    assert_eq!(markers.iter().filter(|m| m.starts_with("phase ")).count(), 2, "{markers:?}");
    assert!(markers.contains(&"2.1 Flip the switch: done".to_owned()), "{markers:?}");

    // The frames, played on a terminal of the recording's size, end on the replay's final screen.
    let size = |n| NonZeroU16::new(n).unwrap();
    let mut terminal = vt100::Parser::new(size(ROWS), size(COLS), 0);
    for frame in &frames {
        terminal.process(frame.as_bytes());
    }
    let screen = terminal.screen().contents();
    assert!(screen.lines().next().unwrap().contains("replay-drill"), "{screen}");
    assert!(screen.contains("✔ 2.1 Flip the switch"), "{screen}");
    assert!(screen.contains("run completed"), "{screen}");
    assert!(!screen.contains("REPLAY"), "the live header, not the replay's banner: {screen}");

    // asciinema itself reads it and prints the frames.
    let out = Command::new(asciinema()).arg("cat").arg(&cast).output().unwrap();
    assert!(out.status.success(), "asciinema cat: {}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("replay-drill"), "{printed}");
    assert!(printed.contains("Flip the switch"), "{printed}");
}

#[test]
fn exporting_a_journal_that_is_not_there_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cast = dir.path().join("none.cast");
    let out = Command::new(BIN)
        .arg("export")
        .arg(dir.path().join("missing.jsonl"))
        .arg("--asciicast")
        .arg(&cast)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.jsonl"), "{stderr}");
    assert!(!cast.exists(), "no recording is left behind");
}
