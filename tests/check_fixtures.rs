//! Invalid runbooks and the exact errors `cutover check` gives for them.
//!
//! Each `tests/fixtures/runbooks/invalid/NAME.toml` holds one kind of mistake;
//! `NAME.expected` beside it is the binary's stderr, one
//! `FILE:LINE:COL: message` a line, with every position checked by hand to
//! point at the mistake. A fixture without an expectation fails the suite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const DIR: &str = "tests/fixtures/runbooks/invalid";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture names (file stems), sorted.
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(manifest_dir().join(DIR))
        .expect("read the invalid fixtures folder")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().expect("a file name").to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn expected_path(name: &str) -> PathBuf {
    manifest_dir().join(DIR).join(format!("{name}.expected"))
}

#[test]
fn every_invalid_fixture_fails_with_exactly_its_expected_errors() {
    let names = fixtures();
    assert!(names.len() >= 14, "only {} invalid fixtures", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let file = format!("{DIR}/{name}.toml");
        let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["check", &file])
            .current_dir(manifest_dir())
            .env_remove("CUTOVER_THEME")
            .env("NO_COLOR", "1")
            // Only the message is printed: capturing a backtrace for it costs ~1 s a run in debug builds.
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .output()
            .expect("run cutover");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let Ok(expected) = std::fs::read_to_string(expected_path(name)) else {
            failures.push(format!("{file}: no {name}.expected; stderr was:\n{stderr}"));
            continue;
        };
        if out.status.code() != Some(1) {
            failures.push(format!("{file}: exit {:?}, expected 1; stderr:\n{stderr}", out.status.code()));
        }
        if !out.stdout.is_empty() {
            failures.push(format!("{file}: unexpected stdout:\n{}", String::from_utf8_lossy(&out.stdout)));
        }
        if stderr != expected {
            failures.push(format!("{file}:\n--- expected\n{expected}--- got\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures differ:\n\n{}", failures.len(), names.len(), failures.join("\n"));
}

#[test]
fn every_fixture_has_an_expectation_and_every_expectation_a_fixture() {
    let names = fixtures();
    let missing: Vec<&String> = names.iter().filter(|n| !expected_path(n).exists()).collect();
    assert!(missing.is_empty(), "fixtures without a .expected file: {missing:?}");

    let orphans: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join(DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "expected"))
        .filter(|p| !p.with_extension("toml").exists())
        .collect();
    assert!(orphans.is_empty(), ".expected files without a fixture: {orphans:?}");
}

/// `tests/fixtures/runbooks/invalid/NAME.toml:LINE:COL: message`, with LINE and COL ≥ 1.
#[test]
fn every_expected_line_names_its_fixture_line_and_column() {
    for name in fixtures() {
        let Ok(expected) = std::fs::read_to_string(expected_path(&name)) else { continue };
        assert!(!expected.trim().is_empty(), "{name}.expected is empty");
        assert!(expected.ends_with('\n'), "{name}.expected must end with a newline, as the binary's stderr does");
        let fixture_lines =
            std::fs::read_to_string(manifest_dir().join(DIR).join(format!("{name}.toml"))).unwrap().split('\n').count();
        let prefix = format!("{DIR}/{name}.toml:");
        for line in expected.lines() {
            let rest = line
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{name}.expected: {line:?} does not start with {prefix:?}"));
            let mut parts = rest.splitn(3, ':');
            let (l, c, message) = (parts.next(), parts.next(), parts.next());
            let number = |s: Option<&str>| s.and_then(|s| s.parse::<usize>().ok()).filter(|n| *n >= 1);
            let (Some(l), Some(_c), Some(message)) = (number(l), number(c), message) else {
                panic!("{name}.expected: {line:?} is not FILE:LINE:COL: message");
            };
            assert!(l <= fixture_lines, "{name}.expected: line {l} is past the end of the fixture");
            assert!(
                message.starts_with(' ') && message.trim().len() > 3,
                "{name}.expected: {line:?} has no message after LINE:COL:"
            );
        }
    }
}
