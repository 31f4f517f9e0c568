//! `cutover report`, run as a binary: on journals written here from records
//! (a drill with samples, faults and a rollback; a watch session), on a real
//! headless run's journal, and on broken journals; the HTML opened in
//! headless Chromium. The real migration's report is checked in
//! tests/run_live.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Duration, Utc};
use cutover::events::{
    ChecksumProgress, EndpointKind, EndpointSample, LinkKind, Outline, OutlinePhase, OutlineStep, PoolReading, Reading,
    Record, ReplicationLink, RunEvent, RunOutcome, Sample, TableProgress, TableState,
};
use support::chromium;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc) + Duration::seconds(secs)
}

fn step(id: &str, name: &str, kind: &str, planned: Option<u64>) -> OutlineStep {
    OutlineStep {
        id: id.into(),
        name: name.into(),
        kind: kind.into(),
        on: None,
        destructive: false,
        gate: None,
        starts_write_pause: false,
        ends_write_pause: false,
        planned_secs: planned,
    }
}

fn outline() -> Outline {
    let mut switch = step("2.1", "Source read-only", "sql", Some(5));
    switch.starts_write_pause = true;
    let mut verify = step("2.2", "Verify checksums", "verify", Some(60));
    verify.ends_write_pause = true;
    let phase = |id: &str, name: &str, planned: Option<u64>, steps: Vec<OutlineStep>| OutlinePhase {
        id: id.into(),
        name: name.into(),
        rollback: id == "R",
        steps,
        planned_secs: planned,
        recovery_time: false,
    };
    Outline {
        name: "orders-migration".into(),
        phases: vec![
            phase("1", "Pre-flight checks", Some(120), vec![step("1.1", "Copy <the> schema", "sql", Some(60))]),
            phase("2", "Cutover window", None, vec![switch, verify]),
            phase("R", "Roll back", None, vec![step("R.1", "Writes back on", "sql", None)]),
        ],
    }
}

/// One gauge round: the target's subscription lag and the source's pool and disk.
fn gauges(secs: i64) -> Vec<RunEvent> {
    let lag = u64::try_from(8_000_000 - (secs * 25_000).min(7_900_000)).unwrap();
    let link = ReplicationLink {
        name: "orders_sub".into(),
        kind: LinkKind::Subscription,
        state: "streaming".into(),
        lag_bytes: Some(lag),
        #[allow(clippy::cast_precision_loss)]
        lag_seconds: Some(lag as f64 / 1_000_000.0),
        ..ReplicationLink::default()
    };
    let target = EndpointSample { replication: vec![link], ..EndpointSample::default() };
    let pool = PoolReading {
        connections: 40 + u32::try_from(secs % 30).unwrap(),
        max_connections: 100,
        active: 10,
        idle: 20,
        idle_in_transaction: 0,
        waiting: 0,
        oldest_xact_seconds: None,
        outgoing: None,
    };
    let disk = cutover::events::DiskReading {
        mount: "/var/lib/postgresql".into(),
        free_bytes: Some(60_000_000_000 - u64::try_from(secs).unwrap() * 10_000_000),
        total_bytes: Some(100_000_000_000),
        database_bytes: None,
        wal_bytes: None,
        slot_retained_bytes: None,
    };
    let source = EndpointSample { pool: Some(pool), disk: Some(disk), ..EndpointSample::default() };
    let sample = |endpoint: &str, observed: EndpointSample| RunEvent::Sample {
        sample: Sample {
            at: t(secs),
            endpoint: endpoint.into(),
            kind: EndpointKind::Postgres,
            reading: Reading::Observed(observed),
        },
    };
    vec![sample("target", target), sample("source", source)]
}

/// A drill: samples every 10 s, a failed and re-run step, the write pause,
/// checksums, two faults (one answered by a rollback), rolled back.
fn drill_records(with_samples: bool) -> Vec<Record> {
    let rec = |secs: i64, event: RunEvent| Record { at: t(secs), event };
    let mut records = vec![rec(
        0,
        RunEvent::Started {
            runbook: "/runbooks/orders.toml".into(),
            runbook_sha256: String::new(),
            inventory: None,
            vars: Vec::new(),
            var_env: Vec::new(),
            operator: "ana".into(),
            host: "jump1".into(),
            pid: 1,
            headless: false,
            allow_manual: false,
            endpoints: Default::default(),
            outline: outline(),
        },
    )];
    let decided = |secs, step: &str, typed: Option<&str>| {
        rec(
            secs,
            RunEvent::Confirmed {
                step: step.into(),
                operator: "ana".into(),
                typed: typed.map(Into::into),
                headless: false,
            },
        )
    };
    let started = |secs, step: &str, attempt| rec(secs, RunEvent::StepStarted { step: step.into(), attempt });
    let finished = |secs, step: &str, attempt, ok, summary: &str| {
        rec(secs, RunEvent::StepFinished { step: step.into(), attempt, ok, summary: summary.into() })
    };
    let mut events = vec![
        decided(5, "1.1", None),
        started(6, "1.1", 1),
        rec(20, RunEvent::Output { step: "1.1".into(), text: "<img src=http://evil/x.png>".into() }),
        finished(30, "1.1", 1, false, "relation \"orders\" already exists"),
        rec(40, RunEvent::Fault { fault: "replication-stall".into(), text: "the subscriber stops applying".into() }),
        rec(52, RunEvent::Rerun { step: "1.1".into(), operator: "ana".into() }),
        started(53, "1.1", 2),
        finished(90, "1.1", 2, true, "schema copied"),
        decided(120, "2.1", Some("source")),
        started(121, "2.1", 1),
        finished(123, "2.1", 1, true, "read-only"),
        started(124, "2.2", 1),
        finished(166, "2.2", 1, true, "1 tables equal"),
        rec(
            165,
            RunEvent::Checksum {
                progress: ChecksumProgress {
                    at: t(165),
                    tables: vec![TableProgress {
                        table: "public.orders".into(),
                        state: TableState::Done,
                        chunks_done: 12,
                        chunks_total: 12,
                        rows: 120_000,
                        rows_per_second: 3000.0,
                        differences: 0,
                    }],
                },
            },
        ),
        rec(170, RunEvent::Fault { fault: "pool-storm".into(), text: "clients pile up".into() }),
        rec(200, RunEvent::Rollback { operator: "ana".into(), reason: "drill: practise the way back".into() }),
        started(201, "R.1", 1),
        finished(205, "R.1", 1, true, "writes on"),
        rec(230, RunEvent::Fault { fault: "disk-fill".into(), text: "a stuck slot fills the disk".into() }),
        rec(240, RunEvent::Finished { outcome: RunOutcome::RolledBack }),
    ];
    if with_samples {
        for secs in (0..=240).step_by(10) {
            events.extend(gauges(secs).into_iter().map(|e| rec(secs, e)));
        }
    }
    events.sort_by_key(|r| r.at);
    records.extend(events);
    records
}

fn write_journal(dir: &Path, name: &str, records: &[Record]) -> PathBuf {
    let path = dir.join(name);
    let text: String = records.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn report(journal: &Path, output: &Path, format: &[&str]) -> Output {
    Command::new(BIN).arg("report").arg(journal).arg("-o").arg(output).args(format).output().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}

fn report_ok(journal: &Path, output: &Path, format: &[&str]) -> String {
    let out = report(journal, output, format);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(output).unwrap()
}

/// The part of a page from `id="…"` to the end of its element's figure.
fn figure<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id} in the page"));
    let rest = &page[start..];
    &rest[..rest.find("</figure>").unwrap_or(rest.len())]
}

/// Nothing the page would fetch: no script, no stylesheet or image link, no
/// URL but the SVG namespace.
fn assert_self_contained(page: &str) {
    let lower = page.to_lowercase();
    for needle in ["<script", "src=", "href=", "<link", "@import", "url(", "<img", "<iframe"] {
        assert!(!lower.contains(needle), "the page contains {needle}");
    }
    let urls = lower.matches("http://").count() + lower.matches("https://").count();
    let namespaces = lower.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, namespaces, "a URL other than the SVG namespace");
}

#[test]
fn an_html_report_shows_every_section_of_a_drill() {
    let dir = tempfile::tempdir().unwrap();
    let journal = write_journal(dir.path(), "drill.jsonl", &drill_records(true));
    let output = dir.path().join("drill.html");
    let out = report(&journal, &output, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("report written to"));
    let page = std::fs::read_to_string(&output).unwrap();
    assert_self_contained(&page);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<h1>orders-migration</h1>"));
    for text in ["ana", "jump1", "2026-11-21 10:00:00 UTC", "rolled back"] {
        assert!(page.contains(text), "no {text}");
    }
    // Timeline: phases with planned (own, or the steps' sum) and actual.
    for phase in ["Pre-flight checks", "Cutover window", "Roll back"] {
        assert!(page.contains(phase), "no phase {phase}");
    }
    assert!(page.contains("1.1 Copy &lt;the&gt; schema"));
    assert!(page.contains("<td class=\"num\">2m 00s</td><td class=\"num\">1m 24s</td><td class=\"num\">−36.0 s</td>"));
    assert!(page.contains("<td class=\"num\">1m 05s</td><td class=\"num\">45.0 s</td>"), "2: planned 5 s + 60 s");
    assert!(page.contains("(2 attempts)"));
    assert!(figure(&page, "chart-timeline").contains("<rect"));
    // Write pause: 2.1 started at 121 s, 2.2 finished at 166 s.
    assert!(page.contains("id=\"write-pause-length\">45.0 s<"));
    assert!(
        page.contains("<td>target · orders_sub</td><td class=\"num\">4.8 MB</td>"),
        "lag at the switch (120 s): 5,000,000 B"
    );
    // Confirmations, with the typed name.
    assert!(page.contains("<td>2.1 Source read-only</td><td>ana</td><td>source</td>"));
    // Charts: lines, phase markers, the lag line in its own colour.
    let lag = figure(&page, "chart-lag-bytes");
    assert!(lag.contains("<svg") && lag.contains("<polyline"), "{lag}");
    assert!(lag.contains("stroke=\"#1F77B4\"") || lag.to_lowercase().contains("#1f77b4"), "{lag}");
    assert!(lag.contains(">\nR\n</text>"), "the rollback phase's marker: {lag}");
    for chart in ["chart-lag-seconds", "chart-pool", "chart-disk"] {
        assert!(figure(&page, chart).contains("<polyline"), "{chart}");
    }
    // Verification, failures, reactions.
    assert!(page.contains("1 tables equal") && page.contains("public.orders"));
    assert!(page.contains("relation &quot;orders&quot; already exists"));
    assert!(page.contains("drill: practise the way back"));
    assert!(page.contains("<td class=\"num\">12.0 s</td>"), "replication-stall → re-run after 12 s");
    assert!(page.contains("<td class=\"num\">30.0 s</td>"), "pool-storm → rollback after 30 s");
    assert!(page.contains("no reaction"), "disk-fill: nothing decided after it");
}

#[test]
fn a_markdown_report_links_its_charts_written_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal = write_journal(dir.path(), "drill.jsonl", &drill_records(true));
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let output = out_dir.join("report.md");
    // A report holds what the run showed: 0600 like the journal, even over a
    // file that was readable by all.
    std::fs::write(&output, "old").unwrap();
    std::fs::set_permissions(&output, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let md = report_ok(&journal, &output, &["--format", "md"]);
    assert_eq!(mode(&output), 0o600);
    assert!(md.starts_with("# orders-migration\n"));
    assert!(md.contains("| Write pause | **45.0 s** |"));
    assert!(md.contains("| 1.1 Copy \\<the\\> schema |"), "{md}");
    assert!(md.contains("| 10:02:00 | 2.1 Source read-only | ana | source |"), "{md}");
    assert!(md.contains("**no reaction**"));
    let links: Vec<&str> =
        md.lines().filter_map(|l| l.strip_prefix("![")).filter_map(|l| l.split("](").nth(1)).collect();
    let names: Vec<&str> = links.iter().map(|l| l.trim_end_matches(')')).collect();
    assert_eq!(
        names,
        ["report-timeline.svg", "report-lag-bytes.svg", "report-lag-seconds.svg", "report-pool.svg", "report-disk.svg"]
    );
    for name in names {
        let svg = std::fs::read_to_string(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(svg.starts_with("<svg"), "{name}");
        assert_eq!(mode(&out_dir.join(name)), 0o600, "{name}");
        assert!(svg.contains(if name.contains("timeline") { "<rect" } else { "<polyline" }), "{name}");
    }
}

#[test]
fn a_watch_session_report_is_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = vec![Record {
        at: t(0),
        event: RunEvent::Session {
            command: "watch".into(),
            title: "watch prod-eu".into(),
            operator: "ben".into(),
            host: "bastion".into(),
            pid: 9,
        },
    }];
    for secs in (0..=120).step_by(5) {
        records.extend(gauges(secs).into_iter().map(|event| Record { at: t(secs), event }));
    }
    let journal = write_journal(dir.path(), "watch.jsonl", &records);
    let page = report_ok(&journal, &dir.path().join("w.html"), &[]);
    assert!(page.contains("<h1>watch prod-eu</h1>") && page.contains("watch session"));
    assert!(figure(&page, "chart-lag-bytes").contains("<polyline"));
    assert!(!page.contains("id=\"timeline\"") && !page.contains("Who confirmed"), "no runbook, no timeline");
}

#[test]
fn a_real_headless_run_without_gauges_says_no_figures_instead_of_empty_charts() {
    let dir = tempfile::tempdir().unwrap();
    // The endpoint is unreachable: its samples hold no figures.
    let journal = support::headless::run(dir.path(), "replay-drill.toml");
    let page = report_ok(&journal, &dir.path().join("r.html"), &[]);
    assert_self_contained(&page);
    for text in ["<h1>replay-drill</h1>", "1 Prepare", "2 Switch", "2.1 Flip the switch", "completed"] {
        assert!(page.contains(text), "no {text}");
    }
    assert!(figure(&page, "chart-timeline").contains("<rect"));
    assert!(!figure(&page, "chart-lag-bytes").contains("<svg"));
    assert!(
        page.contains("no samples recorded") || page.contains("no lag (bytes) figures in the recorded samples"),
        "{}",
        figure(&page, "chart-lag-bytes")
    );
}

#[test]
fn a_broken_journal_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text: String =
        drill_records(false).iter().take(3).map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    text.insert_str(text.find('\n').unwrap() + 1, "this is not json\n");
    let journal = dir.path().join("broken.jsonl");
    std::fs::write(&journal, text).unwrap();
    let output = dir.path().join("r.html");
    let out = report(&journal, &output, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:2: not a journal record", journal.display())), "{stderr}");
    assert!(!output.exists());

    let missing = dir.path().join("missing.jsonl");
    let out = report(&missing, &output, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("cannot read journal {}", missing.display())), "{stderr}");

    std::fs::write(&missing, "").unwrap();
    let out = report(&missing, &output, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no records"));
}

#[test]
fn the_html_report_loads_in_chromium_without_errors_and_shows_the_lag() {
    // CUTOVER_KEEP_TEST_DIRS=1 keeps the page and its screenshot.
    let dir = support::scratch_dir("cutover-report-");
    // The console check is real: a broken page does get reported.
    let bad = dir.path().join("bad.html");
    std::fs::write(&bad, "<!DOCTYPE html><html><body><script>no_such_function();</script></body></html>").unwrap();
    let seen = chromium::dump_dom(&bad);
    assert!(!seen.console().is_empty(), "the browser's log does not show a script error:\n{}", seen.stderr);

    let journal = write_journal(dir.path(), "drill.jsonl", &drill_records(true));
    let page = dir.path().join("drill.html");
    report_ok(&journal, &page, &[]);
    let loaded = chromium::dump_dom(&page);
    assert!(loaded.console().is_empty(), "the report's console is not clean:\n{}", loaded.stderr);
    assert!(loaded.stdout.contains("orders-migration") && loaded.stdout.contains("<polyline"));
    let png = dir.path().join("drill.png");
    chromium::screenshot(&page, &png, (1100, 4200));
    let image = chromium::Image::read(&png);
    let c = cutover::report::svg::LAG_COLOUR;
    chromium::assert_lag_line_visible(&image, (c.0, c.1, c.2), 300);
}
