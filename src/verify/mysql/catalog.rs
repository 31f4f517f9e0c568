//! What verification needs to know of a MySQL table
//! (`information_schema`, the same on MySQL 8 and MariaDB): its columns in
//! order, its primary key and its size estimate; and which PostgreSQL table
//! it was loaded into (pgloader puts a database's tables in a schema of its
//! name and downcases names).

use color_eyre::eyre::{Result, eyre};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use tokio_postgres::Client;

use super::super::catalog::{self, TableInfo, TableName};
use super::canonical::MyColumn;
use crate::endpoint::{mysql, postgres};

/// A MySQL table as verification sees it.
#[derive(Clone, Debug)]
pub struct MyTable {
    pub columns: Vec<MyColumn>,
    /// Primary-key columns, in key order.
    pub primary_key: Vec<String>,
    pub estimated_rows: u64,
}

fn my_error(name: &str, e: &mysql_async::Error) -> color_eyre::Report {
    eyre!("{name}: {}", mysql::short_error(e))
}

/// The base tables of `database`, by name.
///
/// # Errors
/// The catalog query failed.
pub async fn tables(conn: &mut Conn, name: &str, database: &str) -> Result<Vec<String>> {
    conn.exec(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
         AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        (database,),
    )
    .await
    .map_err(|e| my_error(name, &e))
}

/// A row of [`COLUMNS`].
type ColumnRow = (String, String, String, Option<u32>, Option<u32>, Option<String>, Option<String>, bool);

const COLUMNS: &str = "SELECT CAST(COLUMN_NAME AS CHAR), CAST(LOWER(DATA_TYPE) AS CHAR), \
    CAST(LOWER(COLUMN_TYPE) AS CHAR), NUMERIC_SCALE, DATETIME_PRECISION, CAST(CHARACTER_SET_NAME AS CHAR), \
    CAST(COLLATION_NAME AS CHAR), IS_NULLABLE = 'YES' \
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";

const PRIMARY_KEY: &str = "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.STATISTICS \
    WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX";

/// The table's columns, key and size; `None` when it does not exist.
///
/// # Errors
/// A catalog query failed.
pub async fn describe(conn: &mut Conn, name: &str, database: &str, table: &str) -> Result<Option<MyTable>> {
    let rows: Vec<Row> = conn.exec(COLUMNS, (database, table)).await.map_err(|e| my_error(name, &e))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(rows.len());
    for row in rows {
        let (column, data_type, column_type, scale, fsp, charset, collation, nullable): ColumnRow =
            mysql_async::from_row_opt(row).map_err(|e| eyre!("{name}: information_schema.COLUMNS: {e}"))?;
        columns.push(MyColumn { name: column, data_type, column_type, scale, fsp, charset, collation, nullable });
    }
    let primary_key: Vec<String> = conn.exec(PRIMARY_KEY, (database, table)).await.map_err(|e| my_error(name, &e))?;
    let estimated_rows: Option<u64> = conn
        .exec_first(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (database, table),
        )
        .await
        .map_err(|e| my_error(name, &e))?
        .flatten();
    Ok(Some(MyTable { columns, primary_key, estimated_rows: estimated_rows.unwrap_or(0) }))
}

/// Where the MySQL table `database.table` is on PostgreSQL: the first of
/// `database.table` (pgloader's default), `public.table`, each as written
/// and downcased, that exists.
///
/// # Errors
/// A catalog query failed.
pub async fn pg_table(
    client: &Client,
    name: &str,
    database: &str,
    table: &str,
) -> Result<Option<(TableName, TableInfo)>> {
    let mut candidates: Vec<TableName> = Vec::new();
    for schema in [database.to_owned(), database.to_lowercase(), "public".to_owned()] {
        for t in [table.to_owned(), table.to_lowercase()] {
            let candidate = TableName { schema: schema.clone(), name: t };
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
    }
    for candidate in candidates {
        if let Some(info) =
            catalog::describe(client, &candidate).await.map_err(|e| eyre!("{name}: {}", postgres::short_error(&e)))?
        {
            return Ok(Some((candidate, info)));
        }
    }
    Ok(None)
}
