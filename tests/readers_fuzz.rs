//! The three readers of operator files — runbooks, inventories, journals —
//! never panic, whatever they are given: random text, and valid files broken
//! in the ways files get broken (a range deleted, text pasted in, a line
//! duplicated or swapped, a cut, a stray bracket or quote). They answer with
//! an error value, and the error points inside the text.
//!
//! A journal cut at any byte is read back as its complete lines, torn exactly
//! when the cut is not at a line boundary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

use cutover::diagnostic::Diagnostic;
use cutover::events::{Record, RunEvent, RunOutcome};

/// Cases per property; `READERS_FUZZ_CASES=100000` for a long hunt.
fn cases() -> u32 {
    std::env::var("READERS_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
}

// ---------------------------------------------------------------- mutations

/// One way to break a file. Positions are `Index`es, scaled to the file's
/// length when applied.
#[derive(Clone, Debug)]
enum Mutation<T> {
    /// Delete up to `n` items from a position.
    Delete(Index, usize),
    Insert(Index, Vec<T>),
    DuplicateLine(Index),
    Truncate(Index),
    SwapLines(Index, Index),
    Replace(Index, T),
}

fn mutation<T: Clone + std::fmt::Debug + 'static>(
    atom: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Mutation<T>> {
    prop_oneof![
        (any::<Index>(), 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<Index>(), prop::collection::vec(atom.clone(), 1..12)).prop_map(|(at, s)| Mutation::Insert(at, s)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), atom).prop_map(|(at, c)| Mutation::Replace(at, c)),
    ]
}

/// Lines with their newlines (the last may have none).
fn lines_of<T: Clone + PartialEq>(items: &[T], newline: &T) -> Vec<Vec<T>> {
    let mut lines = Vec::new();
    let mut line = Vec::new();
    for item in items {
        line.push(item.clone());
        if item == newline {
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn apply<T: Clone + PartialEq>(items: &mut Vec<T>, m: &Mutation<T>, newline: &T) {
    let len = items.len();
    match m {
        Mutation::Delete(at, n) if len > 0 => {
            let start = at.index(len);
            let end = (start + n).min(len);
            items.drain(start..end);
        }
        Mutation::Insert(at, s) => {
            let pos = at.index(len + 1);
            items.splice(pos..pos, s.iter().cloned());
        }
        Mutation::DuplicateLine(at) => {
            let mut lines = lines_of(items, newline);
            if !lines.is_empty() {
                let i = at.index(lines.len());
                lines.insert(i, lines[i].clone());
                *items = lines.concat();
            }
        }
        Mutation::Truncate(at) => items.truncate(at.index(len + 1)),
        Mutation::SwapLines(a, b) => {
            let mut lines = lines_of(items, newline);
            if !lines.is_empty() {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
                *items = lines.concat();
            }
        }
        Mutation::Replace(at, c) if len > 0 => items[at.index(len)] = c.clone(),
        Mutation::Delete(..) | Mutation::Replace(..) => {}
    }
}

/// Characters that matter to TOML, conditions and `${…}`, and now and then any character.
fn toml_char() -> impl Strategy<Value = char> + Clone {
    prop_oneof![
        4 => prop::sample::select(vec![
            '"', '[', ']', '{', '}', '=', ',', '\n', '\'', '\\', '#', '$', '.', '(', ')', '<', '>', '!', '&', '|',
            ' ', '\t', '\r', '0', '9', 'a', 'z', '_', '-', '+', ':', 'é', '✓', '\u{0}', '\u{7f}', '\u{feff}',
        ]),
        1 => any::<char>(),
    ]
}

fn mutate_text(seed: &str, mutations: &[Mutation<char>]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for m in mutations {
        apply(&mut chars, m, &'\n');
    }
    chars.into_iter().collect()
}

/// Random text from the characters TOML cares about (reaches further into the parser than any string).
fn toml_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => toml_char().prop_map(String::from),
            1 => prop::sample::select(vec![
                "[[phase]]\n", "[[phase.step]]\n", "[endpoints]\n", "name = ", "rollback = true\n", "sql = { on = ",
                "\"\"\"", "'''", "${", "lag_bytes(target) < 1MB", " = \"", "[vars]\n", "kind = \"postgres\"",
                "[endpoints.a]\n", "dsn = \"", "[thresholds]\n", "{ warn = ", "critical = ",
            ])
            .prop_map(String::from),
        ],
        0..80,
    )
    .prop_map(|parts| parts.concat())
}

// ---------------------------------------------------------------- seeds

fn read_tomls(dir: &Path, into: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            read_tomls(&path, into);
        } else if path.extension().is_some_and(|e| e == "toml") {
            // A file being written right now may be unreadable for a moment; skip it.
            if let Ok(text) = std::fs::read_to_string(&path) {
                into.push(text);
            }
        }
    }
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every shipped runbook and every runbook fixture (valid or not).
static RUNBOOK_SEEDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut seeds = Vec::new();
    read_tomls(&manifest().join("runbooks"), &mut seeds);
    read_tomls(&manifest().join("tests/fixtures/runbooks"), &mut seeds);
    assert!(!seeds.is_empty(), "no runbooks to seed from");
    seeds
});

const INVENTORY_SEED: &str = r#"# staging
name = "staging"
interval = "2s"

[endpoints.source]
kind = "postgres"
dsn = "host=db1 port=5433 user=cutover dbname=app sslmode=require"
password_env = "SOURCE_PGPASSWORD"
disk_path = "/var/lib/postgresql"

[endpoints.target]
kind = "postgres"
dsn = "postgres://cutover@db2.internal:5432/app?sslmode=verify-full&application_name=cutover"

[endpoints.bouncer]
kind = "pgbouncer"
dsn = "postgres://pgbouncer@db1:6432/pgbouncer"

[thresholds]
lag_bytes = { warn = "64MB", critical = "1GB" }
lag_seconds = { warn = "30s", critical = "5m" }
slot_retained_bytes = { warn = "1GB", critical = "4GB" }
disk_used_pct = { warn = 60, critical = 80 }
connections_used_pct = { warn = "70%", critical = "90%" }

[vars]
publication = "cutover_pub"
"#;

/// Inventories: any `.toml` under `tests/fixtures/inventories` (if there are some) and one of our own.
static INVENTORY_SEEDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut seeds = vec![INVENTORY_SEED.to_owned()];
    read_tomls(&manifest().join("tests/fixtures/inventories"), &mut seeds);
    read_tomls(&manifest().join("tests/fixtures/inventory"), &mut seeds);
    seeds
});

/// No password in the environment, and no real `~/.pgpass`.
fn no_env(name: &str) -> Option<String> {
    (name == "HOME").then(|| "/nonexistent".to_owned())
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc) + Duration::seconds(seconds)
}

/// A run's worth of events: every kind that needs no gauge sample, with
/// multi-byte text so cuts land inside characters too.
fn journal_records() -> Vec<Record> {
    let outline = cutover::runbook::demo().expect("the demo runbook loads").outline;
    let events = vec![
        RunEvent::Started {
            runbook: "/srv/runbooks/demo.toml".into(),
            runbook_sha256: "ab".repeat(32),
            inventory: Some("/srv/inventories/staging.toml".into()),
            vars: vec![("publication".into(), "cutover_pub".into())],
            var_env: Vec::new(),
            operator: "ops".into(),
            host: "bastion-1".into(),
            pid: 4242,
            headless: false,
            allow_manual: false,
            endpoints: Default::default(),
            outline,
        },
        RunEvent::Planned { step: "1.1".into(), shows: vec!["source: SHOW wal_level".into()] },
        RunEvent::Confirmed { step: "1.1".into(), operator: "ops".into(), typed: None, headless: false },
        RunEvent::StepStarted { step: "1.1".into(), attempt: 1 },
        RunEvent::Output { step: "1.1".into(), text: "logical — ✓ café\nsecond line \"quoted\" \\ tab\t".into() },
        RunEvent::StepFinished { step: "1.1".into(), attempt: 1, ok: true, summary: "logical".into() },
        RunEvent::Gate { step: "4.1".into(), holds: false, reason: "lag_bytes(target) = 3.2 MB, needs < 1 MB".into() },
        RunEvent::Confirmed {
            step: "4.1".into(),
            operator: "ops".into(),
            typed: Some("bouncer".into()),
            headless: false,
        },
        RunEvent::Interrupted { step: "4.1".into() },
        RunEvent::Resumed {
            operator: "ops2".into(),
            host: "bastion-2".into(),
            pid: 99,
            headless: true,
            allow_manual: false,
            retargeted: Vec::new(),
            endpoints: Default::default(),
        },
        RunEvent::Rerun { step: "4.1".into(), operator: "ops2".into() },
        RunEvent::Skipped { step: "4.2".into(), operator: "ops2".into(), reason: "done by hand ✋".into() },
        RunEvent::Rollback { operator: "ops2".into(), reason: "app errors".into() },
        RunEvent::Paused { reason: "SIGTERM".into() },
        RunEvent::Finished { outcome: RunOutcome::RolledBack },
    ];
    events.into_iter().zip(0..).map(|(event, s)| Record { at: at(s), event }).collect()
}

fn journal_bytes(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(serde_json::to_string(r).unwrap().as_bytes());
        out.push(b'\n');
    }
    out
}

static JOURNAL_SEED: LazyLock<Vec<u8>> = LazyLock::new(|| journal_bytes(&journal_records()));

// ---------------------------------------------------------------- assertions

/// An error names the file, and each position lies within the text.
fn check_diagnostics(file: &str, text: &str, errors: &[Diagnostic]) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty(), "an error with no diagnostic");
    let lines: Vec<&str> = text.split('\n').collect();
    for d in errors {
        prop_assert_eq!(&d.file, file);
        prop_assert!(!d.message.trim().is_empty(), "empty message: {}", d);
        prop_assert!(d.line >= 1 && d.line <= lines.len() + 1, "line out of the text: {} ({} lines)", d, lines.len());
        prop_assert!(d.col >= 1, "column 0: {}", d);
        if let Some(line) = lines.get(d.line - 1) {
            let width = line.chars().count();
            prop_assert!(d.col <= width + 1, "column past the end of its line ({} chars): {}", width, d);
        }
    }
    Ok(())
}

fn check_runbook(text: &str) -> Result<(), TestCaseError> {
    match cutover::runbook::parse("fuzz.toml", text) {
        Ok(_) => Ok(()),
        Err(errors) => check_diagnostics("fuzz.toml", text, &errors),
    }
}

fn check_inventory(text: &str) -> Result<(), TestCaseError> {
    match cutover::inventory::parse("inv.toml", text, &no_env) {
        Ok(_) => Ok(()),
        Err(errors) => check_diagnostics("inv.toml", text, &errors),
    }
}

/// Whatever the bytes: when read, the good part ends at a line boundary, a
/// journal that is not torn is good to its end, only the last line is torn, and
/// the good part alone reads back as the same records.
fn check_journal(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(journal) = cutover::journal::parse("fuzz.jsonl", bytes) else { return Ok(()) };
    let good = usize::try_from(journal.good_len).unwrap();
    prop_assert!(good <= bytes.len());
    prop_assert!(good == 0 || bytes[good - 1] == b'\n', "good_len {} is not at a line boundary", good);
    prop_assert!(journal.records.len() <= bytes[..good].iter().filter(|b| **b == b'\n').count());
    if journal.torn {
        let rest = &bytes[good..];
        let newline = rest.iter().position(|b| *b == b'\n');
        prop_assert!(
            newline.is_none() || newline == Some(rest.len() - 1),
            "torn, but more than one line after good_len"
        );
    } else {
        prop_assert_eq!(good, bytes.len());
    }
    let again = cutover::journal::parse("fuzz.jsonl", &bytes[..good]).expect("the good part reads");
    prop_assert!(!again.torn);
    prop_assert_eq!(again.good_len, journal.good_len);
    prop_assert_eq!(again.records, journal.records);
    Ok(())
}

/// A valid journal cut at `cut` reads as its complete lines.
fn check_cut(full: &[u8], records: &[Record], cut: usize) -> Result<(), TestCaseError> {
    let bytes = &full[..cut];
    let journal =
        cutover::journal::parse("cut.jsonl", bytes).map_err(|e| TestCaseError::fail(format!("cut at {cut}: {e}")))?;
    let complete = bytes.iter().filter(|b| **b == b'\n').count();
    let boundary = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    prop_assert_eq!(journal.records.len(), complete, "cut at {}", cut);
    prop_assert_eq!(&journal.records[..], &records[..complete], "cut at {}", cut);
    prop_assert_eq!(journal.torn, boundary != cut, "cut at {}", cut);
    prop_assert_eq!(journal.good_len, boundary as u64, "cut at {}", cut);
    Ok(())
}

// ---------------------------------------------------------------- runbooks

#[test]
fn the_runbook_seeds_include_the_demo() {
    let demo = std::fs::read_to_string(manifest().join("runbooks/demo.toml")).unwrap();
    assert!(RUNBOOK_SEEDS.contains(&demo));
    assert!(cutover::runbook::parse("runbooks/demo.toml", &demo).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn runbook_reader_survives_any_string(text in any::<String>()) {
        check_runbook(&text)?;
    }

    #[test]
    fn runbook_reader_survives_toml_soup(text in toml_soup()) {
        check_runbook(&text)?;
    }

    #[test]
    fn runbook_reader_survives_broken_runbooks(
        seed in prop::sample::select(RUNBOOK_SEEDS.clone()),
        mutations in prop::collection::vec(mutation(toml_char()), 1..5),
    ) {
        check_runbook(&mutate_text(&seed, &mutations))?;
    }

    /// Strings are where the checker looks deepest (conditions, `${…}`,
    /// durations, policies): put arbitrary text in them, escaped so the TOML stays valid.
    #[test]
    fn runbook_checker_survives_any_string_values(
        gate in string_value(),
        sql in string_value(),
        timeout in string_value(),
        on_failure in string_value(),
        until in string_value(),
        hold in string_value(),
    ) {
        let text = format!(
            "name = \"fuzz\"\n[endpoints]\nsource = {{ kind = \"postgres\" }}\ntarget = {{ kind = \"postgres\" }}\n\
             [[phase]]\nname = \"One\"\n[[phase.step]]\nname = \"s\"\nsql = {{ on = \"source\", run = [{sql}] }}\n\
             gate = {gate}\ntimeout = {timeout}\non_failure = {on_failure}\n[[phase.step]]\nname = \"w\"\n\
             wait = {{ until = {until}, for = {hold} }}\n[[phase]]\nname = \"R\"\nrollback = true\n"
        );
        check_runbook(&text)?;
    }
}

/// A TOML string holding condition-ish, variable-ish or arbitrary text, in
/// one of the four TOML string forms.
fn string_value() -> impl Strategy<Value = String> {
    let content = prop_oneof![
        prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(vec![
                    "lag_bytes(", "target", "source", ")", " < ", " <= ", " == ", " = ", " and ", " or ", "not ",
                    "1MB", "5s", "20%", "0", "1e308", "-1", "99999999999999999999", "(", "verify.differences",
                    "reachable(", "${", "}", "$${", "source.dsn", "env.X", "operator", "retry ", "then ", "rollback",
                    "stop", "h", "ms", "d", ".", "é", "\u{0}", "\n", "\\", "\"",
                ])
                .prop_map(String::from),
                1 => any::<char>().prop_map(String::from),
            ],
            0..16,
        )
        .prop_map(|parts| parts.concat()),
        any::<String>(),
    ];
    (content, 0..4u8).prop_map(|(s, form)| match form {
        0 => basic_string(&s),
        1 if !s.contains('\'') && !s.chars().any(char::is_control) => format!("'{s}'"),
        2 => format!("\"\"\"\n{}\"\"\"", basic_string(&s).trim_matches('"')),
        3 if !s.contains("'''") && !s.chars().any(|c| c.is_control() && c != '\n') => format!("'''{s}'''"),
        _ => basic_string(&s),
    })
}

/// A TOML basic string.
fn basic_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------- conditions and ${…}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// The condition language, read alone: an error points inside the text, on a character.
    #[test]
    fn condition_parser_survives_any_text(text in prop_oneof![any::<String>(), string_value()]) {
        if let Err(e) = cutover::condition::parse(&text) {
            prop_assert!(e.offset <= text.len(), "offset {} past {} bytes", e.offset, text.len());
            prop_assert!(text.is_char_boundary(e.offset), "offset {} inside a character", e.offset);
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn variable_scanner_survives_any_text(text in prop_oneof![any::<String>(), string_value()]) {
        match cutover::runbook::vars::scan(&text) {
            Err((offset, message)) => {
                prop_assert!(offset <= text.len() && text.is_char_boundary(offset));
                prop_assert!(!message.is_empty());
            }
            Ok(pieces) => {
                for piece in pieces {
                    if let cutover::runbook::vars::Piece::Var { name, offset, .. } = piece {
                        prop_assert_eq!(text.get(offset..offset + name.len()), Some(name));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- inventories

#[test]
fn the_inventory_seed_is_valid() {
    let inv = cutover::inventory::parse("inv.toml", INVENTORY_SEED, &|k: &str| match k {
        "SOURCE_PGPASSWORD" => Some("s3cret".to_owned()),
        other => no_env(other),
    })
    .unwrap_or_else(|e| panic!("{}", cutover::runbook::render(&e)));
    assert_eq!(inv.endpoints.len(), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn inventory_reader_survives_any_string(text in any::<String>()) {
        check_inventory(&text)?;
    }

    #[test]
    fn inventory_reader_survives_toml_soup(text in toml_soup()) {
        check_inventory(&text)?;
    }

    #[test]
    fn inventory_reader_survives_broken_inventories(
        seed in prop::sample::select(INVENTORY_SEEDS.clone()),
        mutations in prop::collection::vec(mutation(toml_char()), 1..5),
    ) {
        check_inventory(&mutate_text(&seed, &mutations))?;
    }

    /// DSNs, quantities and the interval are parsed by hand: give them anything.
    #[test]
    fn inventory_checker_survives_any_string_values(
        dsn in prop_oneof![any::<String>(), dsn_soup()],
        interval in any::<String>(),
        warn in any::<String>(),
        critical in any::<String>(),
    ) {
        let text = format!(
            "interval = {}\n[endpoints.a]\nkind = \"postgres\"\ndsn = {}\n[thresholds]\nlag_bytes = {{ warn = {}, critical = {} }}\n",
            basic_string(&interval),
            basic_string(&dsn),
            basic_string(&warn),
            basic_string(&critical),
        );
        check_inventory(&text)?;
    }
}

/// Pieces of both DSN forms.
#[rustfmt::skip]
const DSN_PIECES: &[&str] = &[
    "postgres://", "postgresql://", "user", ":", "@", "host", "db1", "[::1]", "[", "]", "/", "?", "&", "=",
    "%", "%2", "%zz", "%41", "port", "5432", "99999", "-1", " ", "'", "\\", "dbname", "sslmode", "require",
    "passfile", "/nonexistent/pgpass", "password", "${", "}", ",", "é", "\u{0}",
];

/// DSN pieces shuffled together.
fn dsn_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(DSN_PIECES), 0..20).prop_map(|parts| parts.concat())
}

// ---------------------------------------------------------------- journals

/// Every cut of a real journal, byte by byte.
#[test]
fn a_journal_cut_at_any_byte_reads_as_its_complete_lines() {
    let records = journal_records();
    let full = journal_bytes(&records);
    let whole = cutover::journal::parse("j.jsonl", &full).unwrap();
    assert_eq!(whole.records, records);
    assert!(!whole.torn);
    for cut in 0..=full.len() {
        check_cut(&full, &records, cut).unwrap();
    }
}

fn record() -> impl Strategy<Value = Record> {
    let text = || prop_oneof![any::<String>(), "[a-z ]{0,8}"];
    let event = prop_oneof![
        (text(), 1u32..5).prop_map(|(step, attempt)| RunEvent::StepStarted { step, attempt }),
        (text(), text()).prop_map(|(step, text)| RunEvent::Output { step, text }),
        (text(), any::<bool>(), text()).prop_map(|(step, ok, summary)| RunEvent::StepFinished {
            step,
            attempt: 1,
            ok,
            summary
        }),
        (text(), any::<bool>(), text()).prop_map(|(step, holds, reason)| RunEvent::Gate { step, holds, reason }),
        (text(), prop::option::of(text()), any::<bool>()).prop_map(|(step, typed, headless)| RunEvent::Confirmed {
            step,
            operator: "ops".into(),
            typed,
            headless
        }),
        text().prop_map(|reason| RunEvent::Paused { reason }),
        Just(RunEvent::Finished { outcome: RunOutcome::Completed }),
    ];
    (0i64..1_000_000, event).prop_map(|(s, event)| Record { at: at(s), event })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_journals_cut_anywhere_read_as_their_complete_lines(
        records in prop::collection::vec(record(), 0..12),
        cut in any::<Index>(),
    ) {
        let full = journal_bytes(&records);
        check_cut(&full, &records, cut.index(full.len() + 1))?;
    }

    #[test]
    fn journal_reader_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_journal(&bytes)?;
    }

    #[test]
    fn journal_reader_survives_json_soup(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "{", "}", "[", "]", "\"", ":", ",", "\n", "\"at\"", "\"event\"", "\"2026-11-21T10:00:00Z\"",
                "\"step_started\"", "\"output\"", "\"finished\"", "\"step\"", "\"attempt\"", "1", "-1", "1e999",
                "null", "true", "\\", "\\u", "\\ud800", " ", "\r",
            ]),
            0..60,
        ),
    ) {
        check_journal(parts.concat().as_bytes())?;
    }

    #[test]
    fn journal_reader_survives_broken_journals(
        mutations in prop::collection::vec(
            mutation(prop_oneof![
                3 => prop::sample::select(b"{}[]\":,\n\\ 0a\r".to_vec()),
                1 => any::<u8>(),
            ]),
            1..5,
        ),
    ) {
        let mut bytes = JOURNAL_SEED.clone();
        for m in &mutations {
            apply(&mut bytes, m, &b'\n');
        }
        check_journal(&bytes)?;
    }
}
