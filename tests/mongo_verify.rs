//! `cutover verify` between two MongoDB databases on a real replica set (one
//! member; the source and target are two databases on it): changed, deleted
//! and extra documents are listed by `_id`, reordered fields count only in
//! strict mode, equal collections pass in several chunks, `_id`s of several
//! types are all compared, a journal lets a re-run skip finished chunks, and
//! errors name the endpoint, never the password.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use mongodb::bson::{Bson, Document, doc};
use serde_json::Value;
use support::mongo::{ReplicaSet, client};
use support::mongo_verify::{cutover_verify, inventory, oid, order, uri, verify_json};

fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"].as_array().unwrap().iter().find(|t| t["table"] == name).unwrap_or_else(|| panic!("{report:#}"))
}

/// A table's differences as (`_id` as JSON text, kind).
fn differences(table: &Value) -> BTreeSet<(String, String)> {
    table["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["key"]["_id"].to_string(), d["kind"].as_str().unwrap().to_owned()))
        .collect()
}

async fn insert(uri: &str, db: &str, collection: &str, docs: Vec<Document>) {
    let client = client(uri).await;
    client.database(db).collection::<Document>(collection).insert_many(docs).await.unwrap();
}

fn oid_json(n: u32) -> String {
    format!("{{\"$oid\":\"{}\"}}", oid(n).to_hex())
}

/// `doc` with its fields in reverse order.
fn reversed(doc: &Document) -> Document {
    let mut fields: Vec<(String, Bson)> = doc.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    fields.reverse();
    fields.into_iter().collect()
}

#[test]
fn changed_deleted_and_extra_documents_are_listed_by_id_and_reordered_fields_count_only_in_strict_mode() {
    let set = ReplicaSet::start("verify-diff", 1);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &uri(&set, "src"), &uri(&set, "dst"));
    // Orders 0, 2, 4, … 5998: room for an extra one between two of them.
    let numbers: Vec<u32> = (0..3000).map(|i| i * 2).collect();
    let changed = [10, 1554, 3000, 5998];
    let deleted = [0, 2468, 5996];
    let extra = [2001, 7000, 7002];
    let reordered = [20, 4000, 4444, 84];
    let mut target = Vec::new();
    for &n in &numbers {
        let mut d = order(n);
        match n {
            _ if deleted.contains(&n) => continue,
            // A double that differs only after the decimal point.
            10 => d.insert("total", 12.51),
            // A nested double.
            1554 => d.get_document_mut("address").unwrap().get_document_mut("geo").unwrap().insert("lat", 1.6),
            // Inside an array of documents.
            3000 => {
                let items = d.get_array_mut("items").unwrap();
                items[1].as_document_mut().unwrap().insert("qty", 3);
                None
            }
            5998 => d.insert("status", "refunded"),
            // Top-level fields reordered.
            20 | 4000 => {
                d = reversed(&d);
                None
            }
            // Nested fields reordered (in a document and in an array's documents).
            4444 | 84 => {
                let address = reversed(d.get_document("address").unwrap());
                d.insert("address", address);
                let items: Vec<Bson> = d
                    .get_array("items")
                    .unwrap()
                    .iter()
                    .map(|i| Bson::Document(reversed(i.as_document().unwrap())))
                    .collect();
                d.insert("items", items);
                if n == 84 {
                    d = reversed(&d);
                }
                None
            }
            _ => None,
        };
        target.push(d);
    }
    target.extend(extra.iter().map(|&n| order(n)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        insert(&set.uri(), "src", "orders", numbers.iter().map(|&n| order(n)).collect()).await;
        insert(&set.uri(), "dst", "orders", target).await;
    });

    let expected: BTreeSet<(String, String)> = changed
        .iter()
        .map(|&n| (oid_json(n), "different".to_owned()))
        .chain(deleted.iter().map(|&n| (oid_json(n), "missing_on_target".to_owned())))
        .chain(extra.iter().map(|&n| (oid_json(n), "extra_on_target".to_owned())))
        .collect();

    // By name (the default), with small pieces so bisection cuts before comparing ids.
    let (code, report) = verify_json(&inv, &["--chunk-rows", "500", "--rows-per-fetch", "5"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["mode"], "by_name");
    let orders = table(&report, "orders");
    assert_eq!(orders["status"], "different", "{orders:#}");
    assert_eq!(differences(orders), expected, "{orders:#}");
    assert_eq!(orders["rows_source"], 3000);
    assert_eq!(orders["rows_target"], 3000);
    assert!(orders["chunks"].as_u64().unwrap() >= 6, "{orders:#}");
    // Listed in _id order.
    let ids: Vec<String> =
        orders["differences"].as_array().unwrap().iter().map(|d| d["key"]["_id"]["$oid"].to_string()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    // Strict: the reordered documents differ too.
    let (code, report) = verify_json(&inv, &["--chunk-rows", "500", "--mode", "strict"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["mode"], "strict");
    let mut strict = expected.clone();
    strict.extend(reordered.iter().map(|&n| (oid_json(n), "different".to_owned())));
    assert_eq!(differences(table(&report, "orders")), strict);

    // The text form says which mode it used.
    let out = cutover_verify(&inv, &["--table", "orders"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("mode: by_name — field order ignored (source → target)\n"), "{text}");
    assert!(text.contains(&format!("  missing_on_target {{\"_id\":{}}}", oid_json(0))), "{text}");
    let out = cutover_verify(&inv, &["--table", "orders", "--mode", "by-name"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cutover_verify(&inv, &["--table", "orders", "--mode", "strict"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mode: strict — field order matters (source → target)\n"));
}

/// Customer `n`: int `_id`, nested document, array.
fn customer(n: i32) -> Document {
    doc! {
        "_id": n,
        "name": format!("customer {n}"),
        "balance": f64::from(n) / 7.0,
        "profile": { "since": 2000 + n % 20, "prefs": { "mail": n % 2 == 0, "sms": Bson::Null } },
        "phones": [format!("+1-555-{n:04}")],
    }
}

#[test]
fn equal_collections_pass_in_several_chunks_and_one_only_on_the_source_is_missing_on_target() {
    let set = ReplicaSet::start("verify-equal", 1);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &uri(&set, "src"), &uri(&set, "dst"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for db in ["src", "dst"] {
            insert(&set.uri(), db, "customers", (0..2000).map(customer).collect()).await;
        }
        insert(&set.uri(), "src", "archive", vec![doc! { "_id": 1 }]).await;
        // A view is not a collection: not verified.
        let c = client(&set.uri()).await;
        c.database("src")
            .run_command(doc! { "create": "rich", "viewOn": "customers", "pipeline": [{ "$match": { "balance": { "$gt": 100 } } }] })
            .await
            .unwrap();
    });

    let (code, report) = verify_json(&inv, &["--table", "customers", "--chunk-rows", "300", "--jobs", "3"]);
    assert_eq!(code, Some(0), "{report:#}");
    let customers = table(&report, "customers");
    assert_eq!(customers["status"], "equal");
    assert_eq!(customers["rows_source"], 2000);
    assert_eq!(customers["chunks"], 7, "{customers:#}");
    assert_eq!(customers["differences"], serde_json::json!([]));
    assert_eq!(customers["warning"], Value::Null);

    // Every collection of the source (not the view): the archive is missing on the target.
    let (code, report) = verify_json(&inv, &["--chunk-rows", "300"]);
    assert_eq!(code, Some(1), "{report:#}");
    let names: Vec<&str> = report["tables"].as_array().unwrap().iter().map(|t| t["table"].as_str().unwrap()).collect();
    assert_eq!(names, ["archive", "customers"]);
    assert_eq!(table(&report, "archive")["status"], "missing_on_target");
    assert_eq!(report["totals"]["tables_different"], 1);

    let out = cutover_verify(&inv, &["--table", "customers"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("mode: by_name — field order ignored (source → target)\n"), "{text}");
    assert!(text.contains("customers: equal — 2000 rows on source, 2000 on target"), "{text}");
}

#[test]
fn ids_of_several_types_are_compared_in_every_type_bracket() {
    let set = ReplicaSet::start("verify-mixed", 1);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &uri(&set, "src"), &uri(&set, "dst"));
    let mut source: Vec<Document> = (0..550).map(|n| doc! { "_id": n, "v": n }).collect();
    source.extend((0..330).map(|n| doc! { "_id": format!("k{n:03}"), "v": n }));
    source.extend((0..20).map(|n| doc! { "_id": oid(n), "v": n }));
    let mut target = source.clone();
    target.retain(|d| d.get("_id") != Some(&Bson::Int32(450)) && d.get("_id") != Some(&Bson::String("k007".into())));
    let changed = [Bson::Int32(17), Bson::String("k017".into()), Bson::String("k123".into())];
    for d in &mut target {
        let id = d.get("_id").cloned().unwrap();
        if changed.contains(&id) {
            d.insert("v", -1);
        } else if id == Bson::ObjectId(oid(3)) {
            d.insert("v", "changed");
        }
    }
    target.push(doc! { "_id": "k999", "v": 0 });
    target.push(doc! { "_id": 100_000, "v": 0 });
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        insert(&set.uri(), "src", "mixed", source).await;
        insert(&set.uri(), "dst", "mixed", target).await;
    });

    let (code, report) = verify_json(&inv, &["--table", "mixed", "--chunk-rows", "100"]);
    assert_eq!(code, Some(1), "{report:#}");
    let mixed = table(&report, "mixed");
    let expected: BTreeSet<(String, String)> = [
        ("17", "different"),
        ("450", "missing_on_target"),
        ("100000", "extra_on_target"),
        ("\"k007\"", "missing_on_target"),
        ("\"k017\"", "different"),
        ("\"k123\"", "different"),
        ("\"k999\"", "extra_on_target"),
        (oid_json(3).as_str(), "different"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(differences(mixed), expected, "{mixed:#}");
    assert_eq!(mixed["rows_source"], 900);
    assert!(mixed["chunks"].as_u64().unwrap() >= 9, "{mixed:#}");
    let warning = mixed["warning"].as_str().unwrap();
    assert!(warning.contains("several types (from number to objectId)"), "{warning}");
    // Listed in MongoDB's order: numbers, then strings, then ObjectIds.
    let kinds: Vec<&str> = mixed["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| match &d["key"]["_id"] {
            Value::Number(_) => "number",
            Value::String(_) => "string",
            _ => "objectId",
        })
        .collect();
    assert_eq!(kinds, ["number", "number", "number", "string", "string", "string", "string", "objectId"]);
}

/// The verification entries of a journal (its `verify_chunk` records' chunks).
fn journal_lines(path: &Path) -> Vec<Value> {
    let records = std::fs::read_to_string(path).unwrap();
    let records = records.lines().map(|l| serde_json::from_str::<Value>(l).unwrap());
    records.filter(|r| r["event"] == "verify_chunk").map(|r| r["chunk"].clone()).collect()
}

fn chunks_done(lines: &[Value]) -> usize {
    lines.iter().filter(|l| l["event"] == "chunk_done").count()
}

#[test]
fn a_rerun_with_the_same_journal_skips_the_chunks_it_finished() {
    let set = ReplicaSet::start("verify-journal", 1);
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &uri(&set, "src"), &uri(&set, "dst"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        insert(&set.uri(), "src", "customers", (0..2000).map(customer).collect()).await;
        let mut target: Vec<Document> = (0..2000).filter(|n| *n != 1500).map(customer).collect();
        target[10].insert("name", "someone else");
        insert(&set.uri(), "dst", "customers", target).await;
    });
    let journal = dir.path().join("verify.jsonl");
    let args = ["--table", "customers", "--chunk-rows", "200", "--journal", journal.to_str().unwrap()];

    let (code, first) = verify_json(&inv, &args);
    assert_eq!(code, Some(1), "{first:#}");
    let lines = journal_lines(&journal);
    assert_eq!(lines[0]["event"], "verify_started");
    assert_eq!(lines[0]["mode"], "by_name");
    assert_eq!(chunks_done(&lines), 10);
    // Bounds are canonical extended JSON.
    let planned: Vec<&Value> = lines.iter().filter(|l| l["event"] == "chunk_planned").collect();
    assert_eq!(planned[0]["range"], serde_json::json!({ "lo": null, "hi": ["{\"$numberInt\":\"200\"}"] }));
    assert_eq!(planned[9]["range"]["hi"], Value::Null);

    // As if killed after the fourth finished chunk: the re-run does the other six.
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut kept = String::new();
    let mut done = 0;
    for line in text.lines() {
        if done == 4 {
            break;
        }
        done += usize::from(line.contains("\"event\":\"chunk_done\""));
        kept.push_str(line);
        kept.push('\n');
    }
    std::fs::write(&journal, kept).unwrap();
    let before = journal_lines(&journal).len();
    let (code, second) = verify_json(&inv, &args);
    assert_eq!(code, Some(1), "{second:#}");
    let new_lines = &journal_lines(&journal)[before..];
    assert_eq!(chunks_done(new_lines), 6, "{new_lines:#?}");
    for key in ["status", "rows_source", "rows_target", "chunks", "differences"] {
        assert_eq!(second["tables"][0][key], first["tables"][0][key], "{key}");
    }
    let expected = serde_json::json!([
        { "key": { "_id": 10 }, "kind": "different" },
        { "key": { "_id": 1500 }, "kind": "missing_on_target" },
    ]);
    assert_eq!(second["tables"][0]["differences"], expected);

    // Everything finished: a third run hashes nothing.
    let before = journal_lines(&journal).len();
    let (code, third) = verify_json(&inv, &args);
    assert_eq!(code, Some(1));
    assert_eq!(chunks_done(&journal_lines(&journal)[before..]), 0);
    assert_eq!(third["tables"][0]["differences"], expected);

    // The journal's mode binds the re-run.
    let out = cutover_verify(&inv, &[&args[..], &["--mode", "strict"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("written in by_name mode"));
}

#[test]
fn errors_name_the_endpoint_and_never_the_password() {
    let set = ReplicaSet::start("verify-errors", 1);
    let dir = tempfile::tempdir().unwrap();
    let closed = support::free_port();
    let secret = "Sekrit-pw-123";
    let inv = inventory(dir.path(), &uri(&set, "src"), &format!("mongodb://ops:{secret}@127.0.0.1:{closed}/dst"));
    let started = std::time::Instant::now();
    let out = cutover_verify(&inv, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("target unreachable (mongodb://ops:******@127.0.0.1:"), "{stderr}");
    assert!(!stderr.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());

    // A PostgreSQL mode with MongoDB endpoints; a URI without a database.
    let inv = inventory(dir.path(), &uri(&set, "src"), &uri(&set, "dst"));
    let out = cutover_verify(&inv, &["--mode", "typed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mode typed is for PostgreSQL"));
    let inv = inventory(dir.path(), &uri(&set, "src"), &set.uri());
    let out = cutover_verify(&inv, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("target: the uri"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("names no database"));

    // One endpoint of each kind.
    let path = dir.path().join("mixed.toml");
    let text = format!(
        "[endpoints.source]\nkind = \"mongodb\"\nuri = \"{}\"\n[endpoints.target]\nkind = \"postgres\"\n\
         dsn = \"host=127.0.0.1 port={closed} dbname=app user=app\"\n",
        uri(&set, "src")
    );
    std::fs::write(&path, text).unwrap();
    let out = cutover_verify(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("source is a MongoDB endpoint and target a PostgreSQL one"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A MongoDB mode with PostgreSQL endpoints (refused before connecting).
    let path = dir.path().join("pg.toml");
    let dsn = format!("host=127.0.0.1 port={closed} dbname=app user=app");
    let text = format!(
        "[endpoints.source]\nkind = \"postgres\"\ndsn = \"{dsn}\"\n[endpoints.target]\nkind = \"postgres\"\ndsn = \"{dsn}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    let out = cutover_verify(&path, &["--mode", "strict"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mode strict is for MongoDB endpoints"));
}

/// A target that is a secondary stops applying (the `rsSyncApplyStop` fail
/// point) while documents are written and changed on the primary, and starts
/// again a few seconds into the verification: the disagreeing ranges are
/// hashed again once it has caught up, so nothing is reported. (With the
/// recheck gone, the 40 new and 10 changed documents are reported.)
#[test]
fn documents_written_during_a_verify_of_a_lagging_secondary_are_rechecked_not_reported() {
    let set = ReplicaSet::start("verify-follow", 2);
    let secondary = 1 - set.primary();
    let dir = tempfile::tempdir().unwrap();
    let source = uri(&set, "app");
    let target = format!("mongodb://{}/app?directConnection=true", set.host(secondary));
    let inv = inventory(dir.path(), &source, &target);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let member = rt.block_on(client(&set.member_uri(secondary)));
    rt.block_on(async {
        insert(&set.uri(), "app", "orders", (0..3000).map(order).collect()).await;
        let applied = || async {
            member.database("app").collection::<Document>("orders").count_documents(doc! {}).await.unwrap()
        };
        while applied().await < 3000 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let stop = doc! { "configureFailPoint": "rsSyncApplyStop", "mode": "alwaysOn" };
        member.database("admin").run_command(stop).await.unwrap();
        // Acknowledged by the primary alone: the default (majority) would wait for the stopped member.
        let primary = client(&set.uri()).await;
        let one = mongodb::options::WriteConcern::builder().w(mongodb::options::Acknowledgment::Nodes(1)).build();
        let options = mongodb::options::CollectionOptions::builder().write_concern(one).build();
        let orders = primary.database("app").collection_with_options::<Document>("orders", options);
        orders.insert_many((3000..3040).map(order).collect::<Vec<_>>()).await.unwrap();
        for n in (0..3000).step_by(300) {
            orders.update_one(doc! { "_id": oid(n) }, doc! { "$set": { "total": -1.0 } }).await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(applied().await, 3000, "the secondary kept applying: the fail point did not hold");
    });
    let admin = member.database("admin");
    let release = rt.spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        admin.run_command(doc! { "configureFailPoint": "rsSyncApplyStop", "mode": "off" }).await.unwrap();
    });

    let (code, report) = verify_json(&inv, &["--table", "orders", "--chunk-rows", "500", "--max-lag", "60s"]);
    rt.block_on(release).unwrap();
    assert_eq!(code, Some(0), "{report:#}");
    let orders = table(&report, "orders");
    assert_eq!(orders["status"], "equal", "{orders:#}");
    assert_eq!(orders["rows_source"], 3040);
    assert_eq!(orders["differences"], serde_json::json!([]));
}
