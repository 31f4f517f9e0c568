//! `cutover verify` from a real MariaDB source to the real PostgreSQL target
//! real pgloader loaded it into: a table of every type compares equal, and a
//! change of one row in each type, a deleted row and an extra row are each
//! reported by key and kind; JSON compares as text where pgloader kept text
//! and as a document where it made jsonb; keys that differ only by case are
//! told apart whatever MySQL's collation; what has no canonical form is
//! named in a warning (spatial columns, zero dates); bisection over many chunks finds scattered changes,
//! and a journal resumes.
//!
//! The tests share one MariaDB server and one PostgreSQL cluster, each test
//! in its own database on both.

#![allow(clippy::unwrap_used)]

#[path = "support/mysql_verify.rs"]
mod mysql_verify;
mod support;

use mysql_verify::{Db, differences, expect, table};

/// Every type of the issue, as pgloader loads it with its default casts
/// (TIME within a day, no zero DATE: pgloader cannot load those).
const ALL_TYPES: &str = "CREATE TABLE alltypes (
    id INT PRIMARY KEY,
    d DECIMAL(12,3), dn DECIMAL(30,10),
    dt DATETIME, dt6 DATETIME(6), ts TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL,
    da DATE, ti TIME, ti6 TIME(6), yr YEAR,
    b TINYINT(1), ti8 TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
    f FLOAT, db DOUBLE,
    j JSON, e ENUM('a','b','c'), s SET('x','y','z'),
    bt BIT(1), bt8 BIT(8),
    bn BINARY(4), vb VARBINARY(16), bl BLOB,
    c CHAR(5), vc VARCHAR(50), tx TEXT,
    u UUID,
    g POINT NULL);
  INSERT INTO alltypes SELECT seq,
    seq * 1.125, seq / 7,
    TIMESTAMP('2024-01-01') + INTERVAL seq HOUR, TIMESTAMP('2024-01-01') + INTERVAL seq * 1001 MICROSECOND,
    FROM_UNIXTIME(1700000000 + seq), TIMESTAMP('2024-01-01 00:00:00.5') + INTERVAL seq SECOND,
    DATE('2024-01-01') + INTERVAL seq DAY, SEC_TO_TIME(seq * 61),
    CAST(CONCAT('01:02:', LPAD(seq, 2, '0'), '.', LPAD(seq, 6, '0')) AS TIME(6)), 1990 + seq,
    seq % 2, -seq, seq * 6, -seq * 100, 60000 + seq,
    -seq * 1000, seq * 1000000, 4000000000 + seq, -9000000000000000000 + seq, 18446744073709551000 + seq,
    seq * 1.5 / 7, seq / 3,
    JSON_OBJECT('n', seq, 'tags', JSON_ARRAY('a', seq)), ELT(1 + seq % 3, 'a', 'b', 'c'),
    ELT(1 + seq % 4, '', 'x', 'x,y', 'x,y,z'),
    seq % 2, seq,
    CONCAT('k', seq), UNHEX(LPAD(HEX(seq), 4, '0')), UNHEX(SHA2(seq, 256)),
    CONCAT('c', seq), CONCAT('héllo 😀 ', seq), IF(seq % 5 = 0, '', REPEAT('t,', seq)),
    UUID(), POINT(seq, seq)
    FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_40) n;
  INSERT INTO alltypes (id) VALUES (101);
  INSERT INTO alltypes VALUES (102, 999999999.999, -0.0000000001, '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999',
    '1970-01-01 00:00:01', '2038-01-19 03:14:07.999', '1000-01-01', '23:59:59', '00:00:00.000001', 2155,
    1, -128, 255, -32768, 65535, -8388608, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
    3.4e38, 1.7976931348623157e308, '[]', 'c', 'x,y,z', 1, 255, x'00000000', x'', x'', '', '', '',
    '00000000-0000-0000-0000-000000000000', NULL);
  INSERT INTO alltypes (id, f, db, d, vc) VALUES (103, 1e-45, 5e-324, 0, 'a,b'), (104, -1.5e-7, -1e22, -0.5, ',');";

/// One change per type on the target, each a different row (id → change).
const CHANGES: [(u32, &str); 36] = [
    (1, "d = d + 0.001"),
    (2, "dn = dn + 0.0000000001"),
    (3, "dt = dt + interval '1 second'"),
    (4, "dt6 = dt6 + interval '1 microsecond'"),
    (5, "ts = ts + interval '1 hour'"),
    (6, "ts3 = ts3 + interval '1 millisecond'"),
    (7, "da = da + 1"),
    (8, "ti = ti + interval '1 second'"),
    (9, "ti6 = ti6 + interval '1 microsecond'"),
    (10, "yr = yr + 1"),
    (11, "b = NOT b"),
    (12, "ti8 = ti8 - 1"),
    (13, "tiu = tiu + 1"),
    (14, "si = si + 1"),
    (15, "siu = siu + 1"),
    (16, "mi = mi + 1"),
    (17, "i = i + 1"),
    (18, "iu = iu + 1"),
    (19, "bi = bi + 1"),
    (20, "biu = biu - 1"),
    (21, "f = f * 1.000001"),
    (22, "db = db + 1e-15"),
    (23, "j = j || ' '"),
    (24, "e = 'c'"),
    (25, "e = 'a'"),
    (26, "s = '{z}'"),
    (27, "bt = NOT bt"),
    (28, "bt8 = ~bt8"),
    (29, "bn = '\\x00000000'"),
    (30, "vb = vb || '\\x00'::bytea"),
    (31, "bl = NULL"),
    (32, "c = 'C32'"),
    (33, "vc = replace(vc, '😀', '😁')"),
    (34, "tx = ''"),
    (35, "tx = NULL"),
    (36, "u = '11111111-1111-1111-1111-111111111111'"),
];

#[test]
fn every_type_compares_equal_and_each_change_is_found_by_key_and_kind() {
    let db = Db::create("alltypes", ALL_TYPES);
    db.pgloader(&[]);
    let report = db.report(&[], 0);
    let t = table(&report, "alltypes.alltypes");
    assert_eq!(
        (t["status"].as_str(), t["rows_source"].as_u64(), t["rows_target"].as_u64()),
        (Some("equal"), Some(44), Some(44)),
        "{t:#}"
    );
    let warning = t["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("not compared: g (point): spatial values have no canonical form"), "{warning}");

    let mut sql: Vec<String> =
        CHANGES.iter().map(|(id, set)| format!("UPDATE alltypes.alltypes SET {set} WHERE id = {id};")).collect();
    // A change to a column that is not compared is not a difference.
    sql.push("UPDATE alltypes.alltypes SET g = point(0, 0) WHERE id = 37;".into());
    sql.push("DELETE FROM alltypes.alltypes WHERE id = 38;".into());
    sql.push(
        "INSERT INTO alltypes.alltypes (id, d, dn, dt) SELECT 200, d, dn, dt FROM alltypes.alltypes WHERE id = 39;"
            .into(),
    );
    db.pg(&sql.join("\n"));
    let report = db.report(&[], 1);
    let t = table(&report, "alltypes.alltypes");
    let mut wanted: Vec<(String, &str)> =
        CHANGES.iter().map(|(id, _)| (format!("{{\"id\":{id}}}"), "different")).collect();
    wanted.push(("{\"id\":38}".into(), "missing_on_target"));
    wanted.push(("{\"id\":200}".into(), "extra_on_target"));
    let wanted: Vec<(&str, &str)> = wanted.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(differences(t), expect(&wanted), "{t:#}");
    assert_eq!(t["status"], "different");
}

#[test]
fn json_compares_as_text_where_pgloader_kept_text_and_as_a_document_in_jsonb() {
    let db = Db::create(
        "docs",
        r#"CREATE TABLE docs (id INT PRIMARY KEY, j JSON, jb JSON);
           INSERT INTO docs VALUES
             (1, '{"b": 1,  "a": [1, 2.50]}', '{"b": 1,  "a": [1, 2.50, 1e2, "\\u00e9", -0], "aa": null, "b": 2}'),
             (2, NULL, NULL), (3, '[]', '"x"'), (4, '{}', '{"k": {"z": 1, "y": [true, false, null]}}'),
             (5, '""', '{"long key": 1, "k": 2}');
           CREATE TABLE nokey (a INT, b VARCHAR(10)); INSERT INTO nokey VALUES (1, 'x'), (2, NULL), (2, NULL);
           CREATE TABLE zero (id INT PRIMARY KEY, dt DATETIME, d2 DATETIME);
           INSERT INTO zero VALUES (1, '0000-00-00 00:00:00', '2024-01-01'), (2, '2024-05-00 10:00:00', NULL), (3, NULL, '2024-01-02');"#,
    );
    db.pgloader(&["column docs.jb to jsonb drop typemod"]);
    assert_eq!(
        db.pg("SELECT jb::text FROM docs.docs WHERE id = 1"),
        r#"{"a": [1, 2.50, 100, "é", 0], "b": 2, "aa": null}"#
    );
    let report = db.report(&[], 0);
    assert_eq!(table(&report, "docs.docs")["status"], "equal", "{report:#}");
    let nokey = table(&report, "docs.nokey");
    assert_eq!(nokey["status"], "equal");
    assert!(nokey["warning"].as_str().unwrap().contains("no primary key"), "{nokey:#}");
    // Zero dates (pgloader loads NULL) compare as NULL, and are named.
    let zero = table(&report, "docs.zero");
    assert_eq!(zero["status"], "equal");
    let warning = zero["warning"].as_str().unwrap_or_default();
    assert!(warning.starts_with("dt: 2 zero dates") && !warning.contains("d2"), "{zero:#}");

    db.pg(
        "UPDATE docs.docs SET jb = '{\"k\": {\"z\": 1, \"y\": [true, false, false]}}' WHERE id = 4;
         UPDATE docs.docs SET j = '{\"b\":1,\"a\":[1,2.50]}' WHERE id = 1;
         UPDATE docs.docs SET jb = '{\"k\": 2, \"long key\": 1}' WHERE id = 5;
         UPDATE docs.nokey SET b = '' WHERE b IS NULL AND a = 2 AND ctid = (SELECT min(ctid) FROM docs.nokey WHERE a = 2);",
    );
    let report = db.report(&[], 1);
    // Row 1's text was reformatted (a text column: different); row 5's jsonb
    // is the same document written another way (equal).
    assert_eq!(
        differences(table(&report, "docs.docs")),
        expect(&[(r#"{"id":1}"#, "different"), (r#"{"id":4}"#, "different")])
    );
    assert_eq!(table(&report, "docs.nokey")["status"], "different", "{report:#}");
}

#[test]
fn keys_that_differ_only_by_case_are_told_apart() {
    let db = Db::create(
        "casekeys",
        "CREATE TABLE kbin (k VARCHAR(20) COLLATE utf8mb4_bin PRIMARY KEY, v INT);
         INSERT INTO kbin VALUES ('a', 1), ('A', 2), ('b', 3), ('B', 4), ('é', 5), ('É', 6), ('😀', 7), ('ab', 8), ('a\t', 9), ('', 10);
         CREATE TABLE kvb (k VARBINARY(8) PRIMARY KEY, v INT);
         INSERT INTO kvb VALUES (x'61', 1), (x'41', 2), (x'6100', 3), (x'ff', 4);
         CREATE TABLE kci (k VARCHAR(20) PRIMARY KEY, v INT);
         INSERT INTO kci SELECT CONCAT(IF(seq % 2 = 0, 'Key', 'key'), LPAD(seq, 5, '0')), seq FROM seq_1_to_3000;
         INSERT INTO kci VALUES ('apple', 1), ('Banana', 2), ('cherry', 3);",
    );
    db.pgloader(&[]);
    let report = db.report(&["--chunk-rows", "500"], 0);
    let kci = table(&report, "casekeys.kci");
    assert_eq!((kci["status"].as_str(), kci["rows_source"].as_u64()), (Some("equal"), Some(3003)), "{kci:#}");
    assert!(kci["chunks"].as_u64().unwrap() >= 6, "{kci:#}");
    assert!(kci["warning"].as_str().unwrap().contains("text key compared bytewise"), "{kci:#}");
    assert_eq!(table(&report, "casekeys.kbin")["status"], "equal", "{report:#}");

    db.pg(
        "DELETE FROM casekeys.kbin WHERE k = 'A'; UPDATE casekeys.kbin SET v = 0 WHERE k = 'b';
         DELETE FROM casekeys.kvb WHERE k = '\\x41';
         UPDATE casekeys.kci SET k = 'Apple' WHERE k = 'apple'; UPDATE casekeys.kci SET k = 'KEY01500' WHERE k = 'Key01500';",
    );
    let report = db.report(&["--chunk-rows", "500"], 1);
    assert_eq!(
        differences(table(&report, "casekeys.kbin")),
        expect(&[(r#"{"k":"A"}"#, "missing_on_target"), (r#"{"k":"b"}"#, "different")])
    );
    assert_eq!(differences(table(&report, "casekeys.kvb")), expect(&[(r#"{"k":"\\x41"}"#, "missing_on_target")]));
    assert_eq!(
        differences(table(&report, "casekeys.kci")),
        expect(&[
            (r#"{"k":"apple"}"#, "missing_on_target"),
            (r#"{"k":"Apple"}"#, "extra_on_target"),
            (r#"{"k":"Key01500"}"#, "missing_on_target"),
            (r#"{"k":"KEY01500"}"#, "extra_on_target"),
        ])
    );
}

#[test]
fn scattered_changes_in_many_chunks_are_found_and_a_journal_resumes() {
    let db = Db::create(
        "bulk",
        "CREATE TABLE big (id BIGINT PRIMARY KEY, a INT NOT NULL, note VARCHAR(40), made DATETIME(6));
         INSERT INTO big SELECT seq, seq * 7 % 1000, IF(seq % 100 = 0, NULL, CONCAT('note ', seq)),
           TIMESTAMP('2024-01-01') + INTERVAL seq SECOND FROM seq_1_to_30000;",
    );
    db.pgloader(&[]);
    db.pg(
        "UPDATE bulk.big SET a = a + 1 WHERE id = 17; UPDATE bulk.big SET note = NULL WHERE id = 12345;
         UPDATE bulk.big SET made = made + interval '1 microsecond' WHERE id = 29999; DELETE FROM bulk.big WHERE id = 20000;
         INSERT INTO bulk.big VALUES (30001, 1, 'extra', NULL);",
    );
    let journal = db.dir.path().join("verify.jsonl");
    let args = ["--chunk-rows", "4000", "--jobs", "2", "--journal", journal.to_str().unwrap()];
    let wanted = expect(&[
        (r#"{"id":17}"#, "different"),
        (r#"{"id":12345}"#, "different"),
        (r#"{"id":20000}"#, "missing_on_target"),
        (r#"{"id":29999}"#, "different"),
        (r#"{"id":30001}"#, "extra_on_target"),
    ]);
    let report = db.report(&args, 1);
    let big = table(&report, "bulk.big");
    assert_eq!(differences(big), wanted, "{big:#}");
    assert!(big["chunks"].as_u64().unwrap() >= 8, "{big:#}");
    // Run again on the same journal: every chunk is taken from it.
    let again = db.report(&args, 1);
    assert_eq!(differences(table(&again, "bulk.big")), wanted);
    assert_eq!(table(&again, "bulk.big")["chunks"], big["chunks"]);
}

#[test]
fn a_mysql_target_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(
        &inventory,
        "[endpoints.a]\nkind = \"mysql\"\ndsn = \"mysql://u@127.0.0.1:1/app\"\n\n\
         [endpoints.b]\nkind = \"mysql\"\ndsn = \"mysql://u@127.0.0.1:2/app\"\n",
    )
    .unwrap();
    let args = ["verify", "--inventory", inventory.to_str().unwrap(), "--source", "a", "--target", "b"];
    let ended = support::run::cutover(dir.path(), "verify", &args, &[], mysql_verify::RUN_TIMEOUT);
    assert_ne!(ended.code, Some(0), "{}", ended.describe());
    assert!(ended.stderr.contains("MySQL as the target is not supported"), "{}", ended.describe());
}
