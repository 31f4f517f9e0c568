//! Running the `cutover` binary in tests and reading the journals it writes:
//! a [`Cutover`] child (killed on drop), `run --yes` arguments, a small
//! PostgreSQL inventory, and strict or in-progress journal readers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The small runbooks of the run tests.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run");
/// How long to wait for a run to reach a given point of its journal.
pub const REACH: Duration = Duration::from_secs(45);

/// A `cutover` process, its stdout and stderr going to files (no pipe to fill
/// up). Killed on drop if still running, so a failing test leaves none behind.
pub struct Cutover {
    pub child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    reaped: bool,
}

/// How a `cutover` process ended.
pub struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ended {
    pub fn describe(&self) -> String {
        format!("exit {:?}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Start `cutover ARGS` in the crate's directory, with `env` added.
pub fn spawn(dir: &Path, label: &str, args: &[&str], env: &[(&str, &str)]) -> Cutover {
    let stdout = dir.join(format!("{label}.stdout"));
    let stderr = dir.join(format!("{label}.stderr"));
    let child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("start cutover");
    Cutover { child, stdout, stderr, reaped: false }
}

impl Cutover {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> (String, String) {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (read(&self.stdout), read(&self.stderr))
    }

    /// The exit code if it has ended.
    pub fn ended(&mut self) -> Option<Option<i32>> {
        let status = self.child.try_wait().expect("try_wait on cutover")?;
        self.reaped = true;
        Some(status.code())
    }

    /// Wait for the end, up to `timeout` (then kill it and panic).
    pub fn wait(mut self, timeout: Duration) -> Ended {
        let deadline = Instant::now() + timeout;
        let code = loop {
            if let Some(code) = self.ended() {
                break code;
            }
            if Instant::now() >= deadline {
                let (stdout, stderr) = self.output();
                panic!("cutover still runs after {timeout:?}\n--- stdout\n{stdout}--- stderr\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let (stdout, stderr) = self.output();
        Ended { code, stdout, stderr }
    }

    /// Send `signal` (SIGTERM, SIGINT, SIGHUP: as an operator or a dropped link would).
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).unwrap());
        nix::sys::signal::kill(pid, signal).expect("signal cutover");
    }

    /// SIGKILL, as a crash or `kill -9` would, and reap it.
    pub fn kill(mut self) {
        assert!(self.ended().is_none(), "cutover ended before it could be killed:\n{}", self.describe());
        self.child.kill().expect("SIGKILL cutover");
        self.child.wait().expect("reap cutover");
        self.reaped = true;
    }

    pub fn describe(&self) -> String {
        let (stdout, stderr) = self.output();
        format!("--- stdout\n{stdout}--- stderr\n{stderr}")
    }

    /// Wait until the journal (complete lines only) has a record matching `found`.
    pub fn wait_for_record(&mut self, journal: &Path, what: &str, found: impl Fn(&Value) -> bool) {
        super::wait_until(what, REACH, || {
            if let Some(code) = self.ended() {
                panic!("cutover ended (exit {code:?}) while waiting for {what}:\n{}", self.describe());
            }
            journal_so_far(journal).iter().any(&found)
        });
    }
}

impl Drop for Cutover {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `cutover ARGS` to its end.
pub fn cutover(dir: &Path, label: &str, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Ended {
    spawn(dir, label, args, env).wait(timeout)
}

pub fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// `run RUNBOOK --inventory INV --journal J --operator OPERATOR --yes`.
pub fn run_args<'a>(runbook: &'a str, inventory: &'a Path, journal: &'a Path, operator: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        runbook,
        "--inventory",
        inventory.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--operator",
        operator,
        "--yes",
    ]
}

/// An inventory of `(name, dsn, password_env)` endpoints, sampled every 500 ms.
pub fn inventory(dir: &Path, endpoints: &[(&str, String, Option<&str>)]) -> PathBuf {
    let mut text = String::from("name = \"run-live\"\ninterval = \"500ms\"\n");
    for (name, dsn, password_env) in endpoints {
        text.push_str(&format!("[endpoints.{name}]\nkind = \"postgres\"\ndsn = \"{dsn}\"\n"));
        if let Some(var) = password_env {
            text.push_str(&format!("password_env = \"{var}\"\n"));
        }
    }
    let path = dir.join("inventory.toml");
    std::fs::write(&path, text).unwrap();
    path
}

// Reading the journal

/// Every record, strictly: each line complete (newline-terminated) JSON.
pub fn journal(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "the journal's last line is not complete:\n{text}");
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("journal line {} is not JSON ({e}): {line}", i + 1))
        })
        .collect()
}

/// The complete records so far of a journal being written.
pub fn journal_so_far(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

pub fn is(record: &Value, event: &str, step: &str) -> bool {
    record["event"] == event && record["step"] == step
}

/// Indexes of the records of `event` about `step`.
pub fn indexes(records: &[Value], event: &str, step: &str) -> Vec<usize> {
    records.iter().enumerate().filter(|(_, r)| is(r, event, step)).map(|(i, _)| i).collect()
}

pub fn first(records: &[Value], found: impl Fn(&Value) -> bool) -> Option<usize> {
    records.iter().position(found)
}

/// The `output` lines of a step.
pub fn output_of(records: &[Value], step: &str) -> Vec<String> {
    records.iter().filter(|r| is(r, "output", step)).map(|r| r["text"].as_str().unwrap().to_owned()).collect()
}

pub fn events(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r["step"].as_str() {
            Some(step) => format!("{} {step}", r["event"].as_str().unwrap_or("?")),
            None => r["event"].as_str().unwrap_or("?").to_owned(),
        })
        .filter(|e| !e.starts_with("sample") && !e.starts_with("output") && !e.starts_with("checksum"))
        .collect()
}

pub fn mode(path: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}
