//! The binary's non-interactive faces: `check`, `--help`, and clear errors
//! for bad input (a theme, a runbook, a scenario) that point at file:line:col.

use std::process::{Command, Output};

fn cutover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CUTOVER_THEME")
        .output()
        .expect("run cutover")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn every_shipped_runbook_checks_clean() {
    let mut checked = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = cutover(&["check", path.to_str().unwrap()]);
            assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
            assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
            assert_eq!(stderr(&out), "", "{}: every value is quoted for where it goes", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

#[test]
fn a_bad_runbook_is_reported_at_file_line_col() {
    let out = cutover(&["check", "tests/fixtures/runbooks/two-actions.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "tests/fixtures/runbooks/two-actions.toml:7:1: step \"both\" has several actions (sql, shell): give exactly one"
    );

    let out = cutover(&["check", "tests/fixtures/runbooks/bad-kind-and-endpoint.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        [
            "tests/fixtures/runbooks/bad-kind-and-endpoint.toml:3:19: endpoint \"source\": unknown kind \"postgresql\" (expected one of postgres, pgbouncer, mongodb, mysql)",
            "tests/fixtures/runbooks/bad-kind-and-endpoint.toml:9:16: undefined endpoint \"targt\" (the runbook defines: source)",
            "tests/fixtures/runbooks/bad-kind-and-endpoint.toml:10:15: on_failure must be \"stop\", \"rollback\", \"retry N\" or \"retry N then rollback\" (N from 1 to 100), not \"panic\"",
        ]
        .join("\n")
    );
}

#[test]
fn check_warns_of_unquoted_splices_and_refuses_an_unknown_modifier() {
    let out = cutover(&["check", "tests/fixtures/runbooks/unquoted-splices.toml"]);
    assert!(out.status.success(), "warnings do not fail the check: {}", stderr(&out));
    let file = "tests/fixtures/runbooks/unquoted-splices.toml";
    assert_eq!(
        stderr(&out).trim(),
        [
            format!("{file}:15:41: warning: `${{table}}` is spliced into SQL as it is: write `${{table:literal}}` for a value, `${{table:ident}}` for a name, or `${{table:raw}}` for SQL text"),
            format!("{file}:19:23: warning: `${{table}}` is spliced into the shell command as it is: write `${{table:sh}}` for one word, or `${{table:raw}}` for shell text"),
        ]
        .join("\n")
    );
    let out = cutover(&["check", "tests/fixtures/runbooks/unknown-modifier.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "tests/fixtures/runbooks/unknown-modifier.toml:15:92: `${table:quoted}`: unknown modifier `:quoted` (use :ident, :literal, :sh, :raw)"
    );
}

#[test]
fn a_missing_runbook_says_which_file() {
    let out = cutover(&["check", "no/such/runbook.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read runbook no/such/runbook.toml"), "{}", stderr(&out));
}

#[test]
fn a_bad_theme_is_reported_at_file_line_col_before_the_screen_starts() {
    let cases = [
        (
            "tests/fixtures/themes/bad-colour.toml",
            "tests/fixtures/themes/bad-colour.toml:7:10: unknown colour \"purpel\"",
        ),
        (
            "tests/fixtures/themes/unknown-key.toml",
            "tests/fixtures/themes/unknown-key.toml:13:1: unknown field `warning`",
        ),
        ("tests/fixtures/themes/not-toml.toml", "tests/fixtures/themes/not-toml.toml:1:12: invalid basic string"),
    ];
    for (file, expected) in cases {
        let out = cutover(&["--theme", file, "demo"]);
        assert!(!out.status.success(), "{file}");
        assert!(stderr(&out).contains(expected), "{file}: {}", stderr(&out));
        assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b[?1049h"), "the screen never started");
    }
    let out = cutover(&["--theme", "solarized", "demo"]);
    assert!(
        stderr(&out).contains("no theme named \"solarized\": built-in themes are dark, light, high-contrast, mono")
    );
}

#[test]
fn demo_help_lists_every_scenario() {
    let out = cutover(&["demo", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for scenario in cutover::sim::scenario::all() {
        assert!(help.contains(scenario.name) && help.contains(scenario.summary), "{} missing:\n{help}", scenario.name);
    }
}

#[test]
fn an_unknown_scenario_lists_the_real_ones() {
    let out = cutover(&["demo", "--scenario", "meteor"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("no scenario \"meteor\"; choose one of: full, calm, stuck-slot, pool-storm, lost-replica")
    );
}
