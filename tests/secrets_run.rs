//! A password never leaves `cutover run` in any spelling: a runbook echoes it
//! quoted for libpq (`\'`, `\\`), as SQL literals (`''`, `E''`), as JSON and
//! percent-encoded in URIs, in rows, shell output and an error — and neither
//! the journal, stdout, stderr, `cutover report` (written 0600) nor `cutover
//! export` (replay's timeline) holds it, while all of them still read the
//! journal. A password too short to mask is refused before anything runs.
//!
//! One cluster, where every TCP login needs its password; four runs at once,
//! one per password.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::pg::{Cluster, ClusterOptions, quote_ident, quote_literal};
use support::run::*;

const SMALL_RUN: Duration = Duration::from_secs(60);
const PASSWORD_ENV: &str = "SECRETS_RUN_PASSWORD";
const MASK: &str = "******";

/// The passwords, each with the spellings of it that must never be found
/// (written out by hand, not computed by the code under test). Raw `%41` is
/// a spelling of its own; the others include the HTML-escaped ones a report
/// would make of a leaked one.
const PASSWORDS: [(&str, &[&str]); 4] = [
    ("it's", &["it's", r"it\'s", "it''s", "it%27s", "it&#39;s", "it&#x27;s", "it&apos;s"]),
    ("back\\slash", &[r"back\slash", r"back\\slash", "back%5Cslash", "back%5cslash", "slash"]),
    ("p@ss word", &["p@ss word", "p%40ss%20word", "p%40ss", "p@ss", "ss%20word", "ss word"]),
    ("%41", &["%41", "%2541"]),
];

fn leaks<'a>(text: &str, spellings: &[&'a str]) -> Vec<&'a str> {
    spellings.iter().copied().filter(|s| text.contains(s)).collect()
}

#[test]
fn no_spelling_of_a_password_reaches_the_journal_stdout_report_or_recording() {
    let db = Cluster::start(ClusterOptions::default().hba("host all all 127.0.0.1/32 scram-sha-256"));
    for (i, (password, _)) in PASSWORDS.iter().enumerate() {
        db.psql(&format!("CREATE ROLE {} LOGIN PASSWORD {}", quote_ident(&format!("u{i}")), quote_literal(password)));
    }
    std::thread::scope(|s| {
        for (i, (password, spellings)) in PASSWORDS.iter().enumerate() {
            let db = &db;
            s.spawn(move || run_one(db, &format!("u{i}"), password, spellings));
        }
    });
}

fn run_one(db: &Cluster, user: &str, password: &str, spellings: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", db.dsn_as(user, "postgres"), Some(PASSWORD_ENV))]);
    let journal_path = dir.path().join("run.jsonl");
    let runbook = fixture("secret_spellings.toml");
    let env = [(PASSWORD_ENV, password)];
    let run = cutover(dir.path(), "run", &run_args(&runbook, &inv, &journal_path, "ann"), &env, SMALL_RUN);
    let text = std::fs::read_to_string(&journal_path).unwrap();
    let context = format!("password {password:?}");
    for (what, shown) in [("stdout", &run.stdout), ("stderr", &run.stderr), ("the journal", &text)] {
        assert_eq!(leaks(shown, spellings), Vec::<&str>::new(), "{context}: leaked to {what}:\n{shown}");
    }
    // The last forward step fails, and its policy is to stop.
    assert_eq!(run.code, Some(1), "{context}: {}", run.describe());

    // The journal reads back strictly, and the password was there to mask.
    let records = journal(&journal_path);
    let finished = |step: &str| records.iter().find(|r| is(r, "step_finished", step)).unwrap().clone();
    assert_eq!(finished("1.1")["ok"], true, "{context}: {text}");
    let conn = output_of(&records, "1.1");
    assert!(conn.iter().filter(|l| l.contains("password=") && l.contains(MASK)).count() >= 2, "{context}: {conn:?}");
    assert_eq!(finished("1.2")["ok"], true, "{context}: {text}");
    let spelled = output_of(&records, "1.2");
    let spelled: Vec<&str> = spelled.iter().map(|l| l.trim()).collect();
    assert_eq!(spelled.len(), 4, "{context}: {spelled:?}");
    assert_eq!(spelled[0], MASK, "{context}: raw");
    let literal = if password.contains('\\') { format!("E'{MASK}'") } else { format!("'{MASK}'") };
    assert_eq!(spelled[1], format!("{literal}|{literal}|\"{MASK}\""), "{context}: literal, %L, JSON");
    assert_eq!(spelled[2], format!("postgresql://app:{MASK}@db/app"), "{context}: upper-case hex");
    assert_eq!(spelled[3], format!("mongodb://app:{MASK}@db/app"), "{context}: lower-case hex");
    let failed = finished("1.3");
    assert_eq!(failed["ok"], false);
    let summary = failed["summary"].as_str().unwrap();
    assert!(summary.contains("invalid input syntax") && summary.contains(MASK), "{context}: {summary}");

    report_reads_it(dir.path(), &journal_path, spellings, &context);
    export_reads_it(dir.path(), &journal_path, spellings, &context);
}

fn report_reads_it(dir: &Path, journal: &Path, spellings: &[&str], context: &str) {
    for (format, name) in [("html", "report.html"), ("md", "report.md")] {
        let output = dir.join(name);
        let args = ["report", journal.to_str().unwrap(), "-o", output.to_str().unwrap(), "--format", format];
        let ended = cutover(dir, &format!("report-{format}"), &args, &[], SMALL_RUN);
        assert_eq!(ended.code, Some(0), "{context}: {}", ended.describe());
        assert_eq!(mode(&output), 0o600, "{context}: {name}");
        let page = std::fs::read_to_string(&output).unwrap();
        assert!(page.contains("Spell the password"), "{context}: {page}");
        for (what, shown) in [("the report", &page), ("its stdout", &ended.stdout)] {
            assert_eq!(leaks(shown, spellings), Vec::<&str>::new(), "{context}: leaked to {what} ({format})");
        }
    }
}

fn export_reads_it(dir: &Path, journal: &Path, spellings: &[&str], context: &str) {
    let cast = dir.join("run.cast");
    let args = ["export", journal.to_str().unwrap(), "--asciicast", cast.to_str().unwrap()];
    let ended = cutover(dir, "export", &args, &[], SMALL_RUN);
    assert_eq!(ended.code, Some(0), "{context}: {}", ended.describe());
    let recording = std::fs::read_to_string(&cast).unwrap();
    let frames: Vec<Value> = recording.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(frames.len() > 1, "{context}: {recording}");
    // The frames' text, JSON escapes undone: what a player draws.
    let drawn: String = frames.iter().filter_map(|f| f[2].as_str()).collect();
    for (what, shown) in [("the recording", &recording), ("its frames", &drawn)] {
        assert_eq!(leaks(shown, spellings), Vec::<&str>::new(), "{context}: leaked to {what}");
    }
}

#[test]
fn a_password_too_short_to_mask_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &[("db", "host=127.0.0.1 port=1 user=u dbname=d".to_owned(), Some(PASSWORD_ENV))]);
    let journal_path = dir.path().join("run.jsonl");
    let runbook = fixture("secret_spellings.toml");
    let run =
        cutover(dir.path(), "run", &run_args(&runbook, &inv, &journal_path, "ann"), &[(PASSWORD_ENV, "q7")], SMALL_RUN);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("endpoint \"db\": its password is shorter than 3 characters"),
        "the refusal names the endpoint: {}",
        run.describe()
    );
    assert!(!run.stderr.contains("q7") && !run.stdout.contains("q7"), "{}", run.describe());
    assert!(!journal_path.exists(), "nothing ran, nothing was recorded");
}
