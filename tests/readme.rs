//! The README's examples are real: its theme and runbook snippets load, and
//! its key table lists every binding.

const README: &str = include_str!("../README.md");

fn toml_blocks() -> Vec<&'static str> {
    README.split("```toml\n").skip(1).filter_map(|rest| rest.split("```").next()).collect()
}

#[test]
fn the_theme_example_loads() {
    let block = toml_blocks().into_iter().find(|b| b.contains("[colors]")).expect("a theme example");
    let theme =
        cutover::theme::Theme::parse("README.md", block, cutover::theme::ColorMode::Ansi16, cutover::theme::UNICODE);
    assert!(theme.is_ok(), "{theme:?}");
}

#[test]
fn the_runbook_example_checks_clean() {
    let block = toml_blocks().into_iter().find(|b| b.contains("[[phase]]")).expect("a runbook example");
    let outline = cutover::runbook::parse("README.md", block);
    assert!(outline.is_ok(), "{outline:?}");
}

#[test]
fn the_key_table_names_every_binding() {
    for binding in cutover::keymap::BINDINGS {
        let first = binding.label.split_whitespace().next().unwrap_or_default();
        assert!(README.contains(&format!("`{first}`")) || README.contains(first), "README lacks key {first}");
    }
    assert!(README.contains("scripts/test"), "the test command");
    assert!(README.contains("cargo run --release -- demo"), "the demo command");
}

fn blocks(lang: &str) -> Vec<&'static str> {
    README.split(&format!("```{lang}\n")).skip(1).filter_map(|rest| rest.split("```").next()).collect()
}

#[test]
fn the_inventory_example_loads() {
    let block = toml_blocks().into_iter().find(|b| b.contains("[endpoints.source]")).expect("an inventory example");
    let env = |k: &str| match k {
        "SOURCE_PGPASSWORD" | "EVENTS_MONGO_PASSWORD" | "LEGACY_MYSQL_PASSWORD" => Some("s3cret".to_owned()),
        "USER" => Some("ops".to_owned()),
        _ => None,
    };
    let inventory = cutover::inventory::parse("README.md", block, &env);
    let inventory =
        inventory.unwrap_or_else(|e| panic!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")));
    assert_eq!(inventory.endpoints.len(), 5);
    let legacy = inventory.endpoints.iter().find(|e| e.name == "legacy").unwrap();
    assert_eq!(legacy.shown(), "mysql://cutover:******@my1:3306/app?ssl-mode=VERIFY_IDENTITY");
}

/// The keys of every object, recursively, as `path.key` strings.
fn keys(value: &serde_json::Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{path}.{k}");
                out.insert(p.clone());
                keys(v, &p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                keys(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_status_json_example_has_exactly_the_real_schema() {
    use cutover::events::*;
    let block = blocks("json").into_iter().find(|b| b.contains("\"endpoints\"")).expect("a status example");
    let example: serde_json::Value = serde_json::from_str(block).expect("the README's JSON parses");
    let inventory = cutover::inventory::parse(
        "inv.toml",
        "[endpoints.source]\nkind = \"postgres\"\ndsn = \"host=db1 user=u\"\n",
        &|_| None,
    )
    .unwrap();
    let observed = EndpointSample {
        replication: vec![ReplicationLink { name: "standby1".into(), ..ReplicationLink::default() }],
        pool: Some(PoolReading {
            connections: 1,
            max_connections: 2,
            active: 1,
            idle: 0,
            idle_in_transaction: 0,
            waiting: 0,
            oldest_xact_seconds: None,
            outgoing: None,
        }),
        disk: Some(DiskReading {
            mount: String::new(),
            free_bytes: None,
            total_bytes: None,
            database_bytes: None,
            wal_bytes: None,
            slot_retained_bytes: None,
        }),
        archive: Some(Box::new(ArchiveReading { mode: "on".into(), ..ArchiveReading::default() })),
        backup: Some(Box::new(BackupReading {
            last_full: Some(BackupInfo {
                kind: "full".into(),
                label: "l".into(),
                started_at: chrono::Utc::now(),
                finished_at: chrono::Utc::now(),
                size_bytes: 1,
                repo_bytes: 1,
                wal_stop: None,
            }),
            ..BackupReading::default()
        })),
        ..EndpointSample::default()
    };
    let sample = Sample {
        at: chrono::Utc::now(),
        endpoint: "source".into(),
        kind: EndpointKind::Postgres,
        reading: Reading::Observed(observed),
    };
    let doc = cutover::status::StatusDoc::new(&inventory, &[sample], chrono::Utc::now());
    let real = serde_json::to_value(&doc).unwrap();
    let (mut want, mut have) = (Default::default(), Default::default());
    keys(&example, "", &mut want);
    keys(&real, "", &mut have);
    assert_eq!(want, have, "README's status example and the real document differ");
}

#[test]
fn the_verify_json_example_has_exactly_the_real_schema() {
    use cutover::verify::{DiffKind, Difference, Mode, Report, TableReport, TableStatus, Totals};
    let block = blocks("json").into_iter().find(|b| b.contains("\"totals\"")).expect("a verify example");
    let example: serde_json::Value = serde_json::from_str(block).expect("the README's JSON parses");
    let report = Report {
        mode: Mode::Typed,
        source: "s".into(),
        target: "t".into(),
        tables: vec![TableReport {
            table: "public.orders".into(),
            status: TableStatus::Different,
            primary_key: Some(vec!["id".into()]),
            rows_source: 1,
            rows_target: 1,
            chunks: 1,
            differences: vec![Difference { key: serde_json::json!({ "id": 42 }), kind: DiffKind::Different }],
            warning: None,
            error: None,
        }],
        totals: Totals::default(),
        elapsed_seconds: 0.1,
    };
    let real = serde_json::to_value(&report).unwrap();
    let (mut want, mut have) = (Default::default(), Default::default());
    keys(&example, "", &mut want);
    keys(&real, "", &mut have);
    assert_eq!(want, have, "README's verify example and the real document differ");
}
