//! Variables quoted for where they go, and secrets kept out of sight, tried
//! against a real PostgreSQL (the shared cluster, a database per test) with
//! the real binary:
//!
//! * a `--var` value that would end a statement (`'; DROP TABLE keep; --`)
//!   and a `[vars]` value with every awkward character go through `:ident`,
//!   `:literal` and `:sh`: the table survives and the values arrive exactly;
//! * while a shell step runs, no process's command line holds a secret (an
//!   `${env.TOKEN}`, a `--var-env` DSN's password, the endpoint's password);
//!   SIGKILLed mid-step, the run leaves no `cutover-pgpass-*` file; the
//!   `--var-env` value is not in the journal, only its variable's name.
//!
//! The runbooks are in `tests/fixtures/run/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::pg::{quote_ident, quote_literal, shared_cluster};
use support::run::*;

const SMALL_RUN: Duration = Duration::from_secs(60);
const PAYLOAD: &str = "'; DROP TABLE keep; --";
/// `tricky` in `quoting.toml`.
const TRICKY: &str = "a\\'b\"c; d\ne $HOME `id` \\";

#[test]
fn a_value_that_would_end_a_statement_round_trips_through_ident_literal_and_sh() {
    let cluster = shared_cluster();
    cluster.create_database("quoting");
    let db = |sql: &str| cluster.psql_in("quoting", sql);
    db("CREATE TABLE keep (x int); INSERT INTO keep VALUES (1)");
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", cluster.dsn_as("postgres", "quoting"), None)]);
    let journal_path = dir.path().join("run.jsonl");
    let out = dir.path().join("words.txt");
    let payload_var = format!("payload={PAYLOAD}");
    let out_var = format!("out={}", out.display());
    let runbook = fixture("quoting.toml");
    let mut args = run_args(&runbook, &inv, &journal_path, "ann");
    args.extend(["--var", &payload_var, "--var", &out_var]);
    let run = cutover(dir.path(), "run", &args, &[], SMALL_RUN);
    assert_eq!(run.code, Some(0), "{}", run.describe());

    assert_eq!(db("SELECT count(*) FROM keep"), "1", "the table survives");
    let table = quote_ident(PAYLOAD);
    // Compared in SQL: psql's output would not tell a newline in a value from a row's end.
    for value in [PAYLOAD.to_owned(), TRICKY.to_owned(), format!("{PAYLOAD}-psql")] {
        let n = db(&format!("SELECT count(*) FROM {table} WHERE v = {}", quote_literal(&value)));
        assert_eq!(n, "1", "{value:?} arrived as it was");
    }
    assert_eq!(db(&format!("SELECT count(*) FROM {table}")), "3");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), format!("{PAYLOAD}|{TRICKY}"), "one word each for the shell");
}

/// Every process's command line, as `ps` shows them to anyone.
fn command_lines() -> Vec<(u32, String)> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        // A process may end while the list is read.
        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
            lines.push((pid, String::from_utf8_lossy(&bytes).replace('\0', " ")));
        }
    }
    lines
}

#[test]
fn secrets_stay_out_of_the_process_list_the_temp_dir_and_the_journal() {
    const TOKEN: &str = "tok-Vq7-process-list";
    const UPSTREAM_PASSWORD: &str = "Up-8s3cret-qq";
    const DB_PASSWORD: &str = "Db-9pw-zz41";
    let cluster = shared_cluster();
    cluster.create_database("secretshell");
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let inv = inventory(dir.path(), &[("db", cluster.dsn_as("postgres", "secretshell"), Some("QUOTING_DB_PASSWORD"))]);
    let journal_path = dir.path().join("run.jsonl");
    let upstream = format!("host=upstream.example port=5432 user=app dbname=app password={UPSTREAM_PASSWORD}");
    let runbook = fixture("secret-shell.toml");
    let mut args = run_args(&runbook, &inv, &journal_path, "ann");
    args.extend(["--var-env", "upstream=QUOTING_UPSTREAM_DSN"]);
    let env = [
        ("APP_TOKEN", TOKEN),
        ("QUOTING_UPSTREAM_DSN", upstream.as_str()),
        ("QUOTING_DB_PASSWORD", DB_PASSWORD),
        ("TMPDIR", tmp.to_str().unwrap()),
    ];
    let mut live = spawn(dir.path(), "live", &args, &env);
    live.wait_for_record(&journal_path, "the command to be ready", |r| is(r, "output", "1.1") && r["text"] == "ready");

    let lines = command_lines();
    assert!(lines.iter().any(|(_, l)| l.contains("sleep 20")), "the command runs: {lines:?}");
    for secret in [TOKEN, UPSTREAM_PASSWORD, DB_PASSWORD] {
        let leaks: Vec<&(u32, String)> = lines.iter().filter(|(_, l)| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} is in the process list: {leaks:?}");
    }
    // The command's own words carry references to its environment instead.
    let sh = lines.iter().find(|(_, l)| l.starts_with("sh -c ") && l.contains("sleep 20")).unwrap();
    assert!(sh.1.contains("\"${CUTOVER_V1}\"") && sh.1.contains("${CUTOVER_V2}"), "{sh:?}");

    live.kill();
    // The orphaned command goes too.
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(sh.0 as i32), nix::sys::signal::Signal::SIGKILL);
    let left: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cutover-pgpass-"))
        .collect();
    assert!(left.is_empty(), "a password file outlived the run: {left:?}");

    let text = std::fs::read_to_string(&journal_path).unwrap();
    for secret in [TOKEN, UPSTREAM_PASSWORD, DB_PASSWORD] {
        assert!(!text.contains(secret), "{secret} reached the journal:\n{text}");
    }
    let records = journal_so_far(&journal_path);
    let started = records.iter().find(|r| r["event"] == "started").unwrap();
    assert_eq!(started["var_env"], serde_json::json!([["upstream", "QUOTING_UPSTREAM_DSN"]]), "{started}");
}
