use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::events::test_support;
use crate::events::{LinkKind, OutlinePhase, OutlineStep, StepStatus};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc) + Duration::seconds(secs)
}

fn step(id: &str, name: &str, kind: &str, planned: Option<u64>) -> OutlineStep {
    OutlineStep { kind: kind.into(), planned_secs: planned, ..test_support::step(id, name) }
}

fn phase(id: &str, name: &str, planned: Option<u64>, steps: Vec<OutlineStep>) -> OutlinePhase {
    OutlinePhase { rollback: id == "R", planned_secs: planned, ..test_support::phase(id, name, steps) }
}

fn outline() -> Outline {
    let mut switch = step("2.1", "Source read-only <b>now</b>", "sql", Some(5));
    switch.starts_write_pause = true;
    switch.destructive = true;
    switch.on = Some("source".into());
    let mut verify = step("2.2", "Verify checksums", "verify", None);
    verify.ends_write_pause = true;
    Outline {
        name: "drill & <test>".into(),
        phases: vec![
            phase(
                "1",
                "Prepare",
                None,
                vec![step("1.1", "Check", "check", Some(60)), step("1.2", "Copy", "sql", Some(120))],
            ),
            phase("2", "Switch", Some(300), vec![switch, verify]),
            phase("3", "Tidy", None, vec![step("3.1", "Drop", "sql", Some(10)), step("3.2", "Note", "manual", None)]),
            phase("R", "Roll back", None, vec![step("R.1", "Writes back on", "sql", None)]),
        ],
    }
}

fn lag_sample(at: DateTime<Utc>, bytes: u64, seconds: f64) -> RunEvent {
    test_support::lag_sample(at, "target", ("sub", LinkKind::Subscription), bytes, seconds)
}

fn rec(secs: i64, event: RunEvent) -> Record {
    Record { at: t(secs), event }
}

fn started(secs: i64, id: &str, attempt: u32) -> Record {
    rec(secs, RunEvent::StepStarted { step: id.into(), attempt })
}

fn finished(secs: i64, id: &str, attempt: u32, ok: bool, summary: &str) -> Record {
    rec(secs, RunEvent::StepFinished { step: id.into(), attempt, ok, summary: summary.into() })
}

fn confirmed(secs: i64, id: &str, operator: &str, typed: Option<&str>) -> Record {
    rec(
        secs,
        RunEvent::Confirmed {
            step: id.into(),
            operator: operator.into(),
            typed: typed.map(Into::into),
            headless: false,
        },
    )
}

fn fault(secs: i64, name: &str) -> Record {
    rec(secs, RunEvent::Fault { fault: name.into(), text: format!("{name} happens") })
}

/// A drill: a failed and re-run step, a write pause, three faults, a rollback.
fn drill() -> Vec<Record> {
    vec![
        rec(0, test_support::run_started(outline(), "ana", "jump1", false)),
        confirmed(5, "1.1", "ana", None),
        started(10, "1.1", 1),
        finished(70, "1.1", 1, true, "ok"),
        confirmed(75, "1.2", "ana", None),
        started(80, "1.2", 1),
        finished(100, "1.2", 1, false, "boom <script>"),
        fault(105, "replication-stall"),
        rec(130, RunEvent::Rerun { step: "1.2".into(), operator: "ana".into() }),
        started(131, "1.2", 2),
        finished(200, "1.2", 2, true, "copied"),
        rec(190, lag_sample(t(190), 9_000_000, 4.0)),
        rec(205, lag_sample(t(205), 5_000_000, 2.0)),
        confirmed(210, "2.1", "bob", Some("source")),
        started(212, "2.1", 1),
        rec(214, lag_sample(t(214), 1_000, 0.5)),
        finished(215, "2.1", 1, true, "read-only"),
        started(216, "2.2", 1),
        finished(252, "2.2", 1, true, "3 tables equal"),
        fault(260, "disk-fill"),
        rec(290, RunEvent::Rollback { operator: "bob".into(), reason: "disk".into() }),
        started(295, "R.1", 1),
        fault(300, "pool-storm"),
        finished(305, "R.1", 1, true, "writes on"),
        rec(310, RunEvent::Finished { outcome: RunOutcome::RolledBack }),
    ]
}

fn summary() -> Summary {
    Summary::from_records(&drill(), "drill.jsonl").unwrap()
}

fn phase_of<'a>(s: &'a Summary, id: &str) -> &'a PhaseTiming {
    s.phases.iter().find(|p| p.id == id).unwrap()
}

#[test]
fn phases_and_steps_are_timed_against_their_plan() {
    let s = summary();
    assert_eq!(s.title, "drill & <test>");
    assert_eq!((s.operator.as_deref(), s.host.as_deref()), (Some("ana"), Some("jump1")));
    let prepare = phase_of(&s, "1");
    // No plan of its own: the sum of its steps'.
    assert_eq!(prepare.planned(), Some(Duration::seconds(180)));
    assert_eq!(prepare.actual(), Some(Duration::seconds(190)));
    assert_eq!(delta_text(prepare.planned(), prepare.actual()), "+10.0 s");
    let copy = &prepare.steps[1];
    assert_eq!((copy.attempts, copy.status), (2, StepStatus::Done));
    assert_eq!(copy.actual(), Some(Duration::seconds(120)), "from the first start to the last end");
    let switch = phase_of(&s, "2");
    assert_eq!(switch.planned(), Some(Duration::seconds(300)), "its own plan wins");
    assert_eq!(switch.actual(), Some(Duration::seconds(40)));
    assert_eq!(delta_text(switch.planned(), switch.actual()), "−4m 20s");
    let tidy = phase_of(&s, "3");
    assert_eq!(tidy.planned(), None, "a step without a plan: no sum");
    assert_eq!((tidy.started(), tidy.actual()), (None, None));
    assert_eq!(status_text(&tidy.steps[0]), "not run");
    assert_eq!(phase_of(&s, "R").actual(), Some(Duration::seconds(10)));
    assert_eq!(s.phase_marks, vec![("1".into(), t(10)), ("2".into(), t(212)), ("R".into(), t(295))]);
}

#[test]
fn the_write_pause_runs_from_its_first_step_s_start_to_its_last_step_s_end() {
    let s = summary();
    let pause = s.write_pause.unwrap();
    assert_eq!((pause.started, pause.ended), (t(212), Some(t(252))));
    assert_eq!(s.write_pause_length(), Some(Duration::seconds(40)));
    assert_eq!(duration_text(s.write_pause_length().unwrap()), "40.0 s");
    // The lag at the switch is the last reading before writes stopped, not after.
    assert_eq!(s.lag_at_switch.len(), 1);
    assert_eq!(s.lag_at_switch[0].link, "target · sub");
    assert_eq!(s.lag_at_switch[0].bytes, Some((t(205), 5_000_000.0)));
    assert_eq!(s.lag_at_switch[0].seconds, Some((t(205), 2.0)));
}

#[test]
fn a_pause_never_seen_to_end_lasts_to_the_last_record() {
    let records: Vec<Record> = drill().into_iter().take_while(|r| r.at < t(216)).collect();
    let s = Summary::from_records(&records, "j").unwrap();
    assert_eq!(s.write_pause.unwrap().ended, None);
    assert_eq!(s.write_pause_length(), Some(Duration::seconds(215 - 212)));
    assert_eq!(s.outcome, Outcome::Unfinished);
}

#[test]
fn confirmations_say_who_and_what_was_typed() {
    let s = summary();
    let said: Vec<(&str, &str, Option<&str>)> =
        s.confirmations.iter().map(|c| (c.step.as_str(), c.operator.as_str(), c.typed.as_deref())).collect();
    assert_eq!(said, vec![("1.1", "ana", None), ("1.2", "ana", None), ("2.1", "bob", Some("source"))]);
    assert_eq!(s.confirmations[2].step_name, "Source read-only <b>now</b>");
    assert_eq!(s.confirmations[2].at, t(210));
}

#[test]
fn reaction_times_run_from_each_fault_to_the_next_decision() {
    let s = summary();
    let delays: Vec<Option<Duration>> = s.reactions.iter().map(Reaction::delay).collect();
    assert_eq!(delays, vec![Some(Duration::seconds(25)), Some(Duration::seconds(30)), None]);
    assert_eq!(s.reactions[0].decision.as_ref().unwrap().1, "ana ran 1.2 again");
    assert_eq!(s.reactions[1].decision.as_ref().unwrap().1, "bob ordered the rollback");
    assert_eq!(s.reactions[2].fault, "pool-storm");
}

#[test]
fn failures_reruns_and_the_rollback_are_listed_and_the_outcome_is_rolled_back() {
    let s = summary();
    let problems: Vec<(ProblemKind, &str)> = s.problems.iter().map(|p| (p.what, p.text.as_str())).collect();
    assert_eq!(
        problems,
        vec![
            (ProblemKind::Failed, "1.2 Copy (attempt 1): boom <script>"),
            (ProblemKind::Rerun, "1.2 Copy run again by ana"),
            (ProblemKind::Rollback, "rollback ordered by bob: disk"),
        ]
    );
    assert_eq!(s.outcome, Outcome::Finished(RunOutcome::RolledBack));
    assert_eq!(
        s.verify_steps,
        vec![StepResult {
            step: "2.2".into(),
            name: "Verify checksums".into(),
            ok: true,
            summary: "3 tables equal".into()
        }]
    );
}

#[test]
fn an_interrupted_step_leaves_its_phase_unfinished() {
    let mut records: Vec<Record> = drill().into_iter().take_while(|r| r.at <= t(80)).collect();
    records.push(rec(90, RunEvent::Interrupted { step: "1.2".into() }));
    let s = Summary::from_records(&records, "j").unwrap();
    let prepare = phase_of(&s, "1");
    assert_eq!(prepare.actual(), None);
    assert_eq!(status_text(&prepare.steps[1]), "interrupted");
    assert_eq!(s.problems[0].what, ProblemKind::Interrupted);
}

#[test]
fn a_session_has_its_title_and_every_sample_even_past_the_screen_s_hour() {
    let mut records = vec![rec(
        0,
        RunEvent::Session {
            command: "watch".into(),
            title: "watch prod".into(),
            operator: "ana".into(),
            host: "jump1".into(),
            pid: 7,
        },
    )];
    let n = crate::state::SERIES_CAPACITY + 400;
    for i in 0..n {
        let secs = i64::try_from(i).unwrap();
        records.push(rec(secs, lag_sample(t(secs), 100, 0.1)));
    }
    let s = Summary::from_records(&records, "file.jsonl").unwrap();
    assert_eq!((s.title.as_str(), s.command.as_str(), s.outcome), ("watch prod", "watch", Outcome::Session));
    assert!(s.phases.is_empty() && s.write_pause.is_none());
    assert_eq!(s.samples, n);
    assert_eq!(s.series_of(Metric::LagBytes)[0].1.len(), n);
}

#[test]
fn no_records_is_no_summary() {
    assert!(Summary::from_records(&[], "j").is_none());
}

#[test]
fn the_page_escapes_journal_text_and_draws_the_lag() {
    let page = html::render(&summary()).unwrap();
    assert!(!page.contains("<script") && !page.contains("<b>now"), "journal text reached the page unescaped");
    assert!(page.contains("drill &amp; &lt;test&gt;"));
    assert!(page.contains("Source read-only &lt;b&gt;now&lt;/b&gt;"));
    let lag = page.split("id=\"chart-lag-bytes\"").nth(1).unwrap().split("</figure>").next().unwrap();
    assert!(lag.contains("<svg") && lag.contains("<polyline"), "{lag}");
    assert!(page.contains("id=\"write-pause-length\">40.0 s<"));
    assert!(page.contains("no reaction"));
    // Samples exist, but none of disk: said so instead of an empty chart.
    assert!(page.contains("no disk used (%) figures in the recorded samples"));
}

#[test]
fn without_samples_the_charts_say_so() {
    let records: Vec<Record> = drill().into_iter().filter(|r| !matches!(r.event, RunEvent::Sample { .. })).collect();
    let s = Summary::from_records(&records, "j").unwrap();
    let page = html::render(&s).unwrap();
    assert_eq!(page.matches("no samples recorded").count(), 4, "lag bytes, lag seconds, pool, disk");
    let (md, charts) = markdown::render(&s, "r").unwrap();
    assert!(md.contains("_no samples recorded_"));
    assert_eq!(charts.iter().map(|c| c.file_name.as_str()).collect::<Vec<_>>(), ["r-timeline.svg"]);
}

#[test]
fn markdown_escapes_what_would_be_markup() {
    assert_eq!(markdown::escape("a|b <i>x</i>\n*y*"), "a\\|b \\<i\\>x\\</i\\> \\*y\\*");
    let (md, charts) = markdown::render(&summary(), "r").unwrap();
    assert!(md.contains("| 2.1 Source read-only \\<b\\>now\\</b\\> |"), "{md}");
    assert!(md.contains("![Replication lag (bytes)](r-lag-bytes.svg)"));
    assert!(charts.iter().any(|c| c.file_name == "r-lag-bytes.svg" && c.svg.contains("<polyline")));
}

#[test]
fn names_from_the_databases_are_escaped_inside_the_charts_too() {
    let mut records = drill();
    if let RunEvent::Sample { sample } = &mut records[11].event {
        sample.endpoint = "<script>alert(1)</script>".into();
    } else {
        panic!("record 11 is a sample");
    }
    let s = Summary::from_records(&records, "j").unwrap();
    let page = html::render(&s).unwrap();
    assert!(!page.contains("<script"), "an endpoint's name reached a chart unescaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; · sub"));
}

#[test]
fn a_second_pause_is_listed_after_the_switch_s_in_both_formats() {
    // The switch's pause ends at 252; the same steps pause again later (as a
    // rollback after the switch does).
    let mut records = drill();
    records.push(started(300, "2.1", 2));
    records.push(finished(301, "2.1", 2, true, "read-only"));
    records.push(started(302, "2.2", 2));
    records.push(finished(305, "2.2", 2, true, "equal"));
    let s = Summary::from_records(&records, "j").unwrap();
    assert_eq!(s.write_pause.map(|p| (p.started, p.ended)), Some((t(212), Some(t(252)))));
    assert_eq!(s.later_pauses.iter().map(|p| (p.started, p.ended)).collect::<Vec<_>>(), vec![(t(300), Some(t(305)))]);
    let again = s.later_pauses_text();
    assert_eq!(again.len(), 1);
    assert!(again[0].ends_with(": 5.0 s."), "{again:?}");
    assert!(html::render(&s).unwrap().contains(&html::escape(&again[0])));
    assert!(markdown::render(&s, "j").unwrap().0.contains(&markdown::escape(&again[0])));
}
