//! MySQL-family endpoints against a real MariaDB primary and replica: the
//! sessions cutover opens, and the gauges it reads.

#![allow(clippy::unwrap_used)]

mod support;

use cutover::endpoint::mysql::{self, Flavor, Purpose};
use cutover::inventory::mysql_url;
use mysql_async::prelude::Queryable;
use support::mariadb::{Mariadb, PASSWORD};

fn url(server: &Mariadb, database: &str) -> cutover::inventory::MysqlUrl {
    let mut url = mysql_url::parse(&server.url(database), "nobody").unwrap();
    url.set_password(PASSWORD);
    url
}

#[tokio::test]
async fn a_session_to_read_from_cannot_write_and_runs_in_utc() {
    let server = Mariadb::start();
    server.sql("CREATE DATABASE app; CREATE TABLE app.t (id int primary key)");
    let mut reads =
        mysql::connect(&url(&server, "app"), Purpose::Reads { statement_limit: None, settings: &[] }).await.unwrap();
    assert_eq!(reads.flavor, Flavor::Mariadb, "{}", reads.version);
    let error = reads.conn.query_drop("INSERT INTO t VALUES (1)").await.unwrap_err();
    assert_eq!(mysql::error_code(&error), Some(1792), "{error}"); // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
    let zone: String = reads.conn.query_first("SELECT @@session.time_zone").await.unwrap().unwrap();
    assert_eq!(zone, "+00:00");
    let mut steps = mysql::connect(&url(&server, "app"), Purpose::Steps).await.unwrap();
    steps.conn.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    assert_eq!(server.sql("SELECT COUNT(*) FROM app.t").trim(), "1");
    let program: String = steps
        .conn
        .query_first(format!(
            "SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs \
             WHERE PROCESSLIST_ID = {} AND ATTR_NAME = 'program_name'",
            steps.id()
        ))
        .await
        .unwrap()
        .unwrap_or_default();
    // performance_schema is off by default on MariaDB: then no attribute is kept.
    assert!(program.is_empty() || program == "cutover", "{program}");
    let mut wrong = url(&server, "app");
    wrong.set_password("not-the-password");
    let refused = mysql::connect(&wrong, Purpose::Steps).await.err().unwrap().to_string();
    assert!(refused.contains("1045"), "{refused}");
    assert!(!refused.contains("not-the-password"), "{refused}");
}
