//! `cutover run` in the cockpit, driven through a real terminal (tmux) against
//! a real PostgreSQL: confirm a step, type the endpoint's name for a
//! destructive one (a wrong name is refused), see a locked gate's reason, and
//! find every confirmation in the journal with the operator — and never the
//! password.

#![allow(clippy::unwrap_used)]

mod support;

use support::pg::{Cluster, ClusterOptions};
use support::tmux::Tmux;

const PASSWORD: &str = "c0rrect-h0rse";

const RUNBOOK: &str = r#"
name = "tui-test"
[endpoints]
db = { kind = "postgres" }

[[phase]]
name = "Checks"

[[phase.step]]
name = "Server answers"
check = { on = "db", sql = "SELECT 40 + 2", expect = "42" }

[[phase.step]]
name = "Make the marker table"
sql = { on = "db", run = ["CREATE TABLE marker (x int)"] }
destructive = true

[[phase.step]]
name = "Never while clients wait"
sql = { on = "db", run = ["DROP TABLE marker"] }
gate = "pool.waiting(db) > 100"

[[phase]]
name = "Rollback"
rollback = true

[[phase.step]]
name = "Drop the marker"
sql = { on = "db", run = ["DROP TABLE IF EXISTS marker"] }
"#;

#[test]
fn the_operator_confirms_types_the_endpoint_and_sees_why_a_gate_is_locked() {
    let db = Cluster::start(ClusterOptions::default().password_user("ops", PASSWORD));
    db.psql("GRANT pg_monitor TO ops; GRANT CREATE ON SCHEMA public TO ops");
    let dir = tempfile::tempdir().unwrap();
    let runbook = dir.path().join("runbook.toml");
    std::fs::write(&runbook, RUNBOOK).unwrap();
    let inventory = dir.path().join("inventory.toml");
    let inv = format!(
        "name = \"tui\"\ninterval = \"500ms\"\n[endpoints.db]\nkind = \"postgres\"\ndsn = \"{}\"\npassword_env = \"TUI_PW\"\n",
        db.dsn_as("ops", "postgres")
    );
    std::fs::write(&inventory, inv).unwrap();
    let journal = dir.path().join("run.jsonl");
    let command = format!(
        "env TERM=xterm-256color LANG=C.UTF-8 TUI_PW={PASSWORD} {} run {} --inventory {} --journal {} --operator ann",
        env!("CARGO_BIN_EXE_cutover"),
        runbook.display(),
        inventory.display(),
        journal.display()
    );
    let tmux = Tmux::start("run", 120, 40, &command);

    // The first step waits for confirmation and says what it will run, where.
    let screen = tmux.wait_for("step 1.1 waiting", |s| s.contains("next: 1.1 Server answers"));
    assert!(screen.contains("SELECT 40 + 2"), "{screen}");
    tmux.send("g");
    tmux.wait_for("the confirmation prompt", |s| s.contains("Run 1.1 Server answers?"));
    tmux.send("y");

    // A destructive step wants the endpoint's name; a wrong one is refused.
    tmux.wait_for("step 1.2 waiting", |s| s.contains("next: 1.2 Make the marker table"));
    tmux.send("g");
    tmux.wait_for("the typed confirmation", |s| s.contains("DESTRUCTIVE. Type \"db\""));
    tmux.send("dv");
    tmux.send("Enter");
    tmux.wait_for("the wrong name refused", |s| s.contains("\"dv\" is not \"db\""));
    assert_eq!(db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'marker'"), "0", "nothing ran yet");
    tmux.send("db");
    tmux.send("Enter");

    // The gated step is locked, with the live value that keeps it locked.
    let screen = tmux.wait_for("step 1.3 waiting", |s| s.contains("next: 1.3 Never while clients wait"));
    assert_eq!(db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'marker'"), "1", "1.2 ran");
    let screen =
        if screen.contains("LOCKED") { screen } else { tmux.wait_for("the locked gate", |s| s.contains("LOCKED")) };
    assert!(screen.contains("LOCKED: pool.waiting(db) = 0, needs > 100"), "{screen}");
    tmux.send("g");
    tmux.wait_for("the refusal", |s| s.contains("1.3 is locked: pool.waiting(db) = 0, needs > 100"));
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'marker'"),
        "1",
        "the locked step did not run"
    );
    assert!(!tmux.screen().contains(PASSWORD));

    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 1, "a paused run exits 1; stderr:\n{}", tmux.stderr());

    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains(PASSWORD), "the password reached the journal");
    let events: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let confirmed: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "confirmed").collect();
    assert_eq!(confirmed.len(), 2, "{text}");
    assert_eq!(confirmed[0]["step"], "1.1");
    assert_eq!(confirmed[0]["operator"], "ann");
    assert_eq!(confirmed[1]["step"], "1.2");
    assert_eq!(confirmed[1]["typed"], "db");
    assert!(events.iter().any(|e| e["event"] == "step_finished" && e["step"] == "1.2" && e["ok"] == true));
    assert!(!events.iter().any(|e| e["event"] == "step_started" && e["step"] == "1.3"));
    assert_eq!(events.last().unwrap()["event"], "paused", "{text}");
    assert!(events.iter().any(|e| e["event"] == "sample"), "gauge samples are journaled");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&journal).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    drop(tmux);

    // Resumed by someone else: the screen is rebuilt from the journal alone.
    let command = format!(
        "env TERM=xterm-256color LANG=C.UTF-8 TUI_PW={PASSWORD} {} resume {} --operator bob",
        env!("CARGO_BIN_EXE_cutover"),
        journal.display()
    );
    let tmux = Tmux::start("resume", 120, 40, &command);
    let screen = tmux.wait_for("the resumed run", |s| s.contains("next: 1.3 Never while clients wait"));
    assert!(screen.contains("run resumed"), "{screen}");
    assert!(screen.contains("confirmed 1.2"), "the earlier confirmations are on screen:\n{screen}");
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 1, "{}", tmux.stderr());
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("\"event\":\"resumed\",\"operator\":\"bob\""), "{text}");
}

/// A drill run by hand: the target goes away in the middle of the switch, the
/// wait for lag times out, the runbook rolls back, the operator confirms the
/// rollback's steps — and the drill's report says how long that took.
#[test]
fn a_recorded_switch_outage_drill_reports_the_operator_s_reaction() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("drill.jsonl");
    let command = format!(
        "env TERM=xterm-256color LANG=C.UTF-8 {} demo --interactive --scenario switch-outage --speed 200 --operator ann --journal {}",
        env!("CARGO_BIN_EXE_cutover"),
        journal.display()
    );
    let tmux = Tmux::start("outage-drill", 120, 40, &command);
    for id in ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2"] {
        confirm(&tmux, id, None);
    }
    confirm(&tmux, "4.1", Some("bouncer"));
    confirm(&tmux, "4.2", Some("source"));
    confirm(&tmux, "4.3", None);
    confirm(&tmux, "4.4", None);
    tmux.wait_for("the statement failing", |s| {
        s.contains("(simulated) target: connection to 10.0.2.13:5432 timed out")
    });
    confirm(&tmux, "R.1", Some("source"));
    confirm(&tmux, "R.2", Some("yes"));
    tmux.wait_for("the run rolled back", |s| s.contains("run rolled back"));
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.stderr());

    let report = dir.path().join("drill.html");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["report", journal.to_str().unwrap(), "-o", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    let reactions = &html[html.find("Drill: reaction times").expect("a reaction section")..];
    let row = &reactions[..reactions.find("</tr>\n</table>").unwrap_or(reactions.len())];
    assert!(row.contains("target-unreachable") && row.contains("confirmed R.1"), "{row}");
    assert!(!row.contains("no reaction"), "{row}");
}

/// Confirm the step the run waits on (`next: ID`), typing `typed` when it is destructive.
fn confirm(tmux: &Tmux, id: &str, typed: Option<&str>) {
    tmux.wait_for(&format!("step {id} waiting"), |s| s.contains(&format!("next: {id} ")));
    tmux.send("g");
    match typed {
        None => {
            tmux.wait_for(&format!("the prompt for {id}"), |s| s.contains(&format!("Run {id} ")));
            tmux.send("y");
        }
        Some(name) => {
            tmux.wait_for(&format!("the typed prompt for {id}"), |s| s.contains(&format!("Type \"{name}\"")));
            tmux.send(name);
            tmux.send("Enter");
        }
    }
}

#[test]
fn the_demo_runbook_is_run_by_the_operator_against_the_simulator_and_rolled_back() {
    let command = format!(
        "env TERM=xterm-256color LANG=C.UTF-8 {} demo --interactive --scenario calm --speed 200 --operator ann",
        env!("CARGO_BIN_EXE_cutover")
    );
    let tmux = Tmux::start("drill", 120, 40, &command);
    for id in ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2"] {
        confirm(&tmux, id, None);
    }
    // The simulated copy, catch-up and verification take their simulated time;
    // the pooler's pause is destructive: its endpoint's name must be typed.
    confirm(&tmux, "4.1", Some("bouncer"));
    tmux.wait_for("the pooler paused", |s| s.contains("4.1 Pause the pooler: done"));
    tmux.wait_for("the write pause stopwatch", |s| !s.contains("write pause --:--:--"));
    tmux.wait_for("step 4.2 waiting", |s| s.contains("next: 4.2 "));
    tmux.send("R");
    tmux.wait_for("the rollback prompt", |s| s.contains("Roll back?"));
    tmux.send("y");
    confirm(&tmux, "R.1", Some("source"));
    confirm(&tmux, "R.2", Some("yes"));
    let screen = tmux.wait_for("the run rolled back", |s| s.contains("run rolled back"));
    assert!(screen.contains("ROLLBACK: the operator chose to roll back"), "{screen}");
    assert!(screen.contains("confirmed R.2"), "{screen}");
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.stderr());
}

/// `q` while a step runs: the step's whole process group is stopped, the
/// stop is journaled, and the terminal comes back.
#[test]
fn quitting_the_cockpit_mid_step_stops_the_step_s_processes() {
    let db = support::pg::shared_cluster();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.toml");
    let inv =
        format!("name = \"tui\"\ninterval = \"500ms\"\n[endpoints.db]\nkind = \"postgres\"\ndsn = \"{}\"\n", db.dsn());
    std::fs::write(&inventory, inv).unwrap();
    let journal = dir.path().join("run.jsonl");
    let command = format!(
        "env TERM=xterm-256color LANG=C.UTF-8 CUTOVER_TEST_DIR={} {} run {}/tests/fixtures/run/quit-mid-step.toml --inventory {} --journal {} --operator ann",
        dir.path().display(),
        env!("CARGO_BIN_EXE_cutover"),
        env!("CARGO_MANIFEST_DIR"),
        inventory.display(),
        journal.display()
    );
    let tmux = Tmux::start("quit", 120, 40, &command);
    confirm(&tmux, "1.1", None);
    let pids = dir.path().join("child.pid");
    support::wait_until("the pipeline started", std::time::Duration::from_secs(30), || pids.exists());
    let group: i32 = std::fs::read_to_string(dir.path().join("sh.pid")).unwrap().trim().parse().unwrap();
    assert!(cutover::runbook::stop::group_alive(group));
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 1, "{}", tmux.stderr());
    assert!(!cutover::runbook::stop::group_alive(group), "the step's processes outlived the quit");
    let text = std::fs::read_to_string(&journal).unwrap();
    let events: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let stopped = events.iter().find(|e| e["event"] == "step_stopped").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(stopped["step"], "1.1");
    assert_eq!(stopped["why"], "quit");
    assert_eq!(stopped["state"], "stopped");
}
