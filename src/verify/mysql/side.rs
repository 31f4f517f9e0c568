//! One table's questions asked of each server: [`MySide`] (a MySQL
//! connection and [`MySql`]) and [`PgSide`] (a PostgreSQL client and
//! [`PgSql`]) answer them in the same shapes, so bisection compares them
//! without knowing the engines. With a jsonb column the MySQL side fetches
//! its rows and finishes each row's hash here ([`super::json`]).

use std::collections::HashMap;

use color_eyre::eyre::{Result, eyre};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use super::super::sql::Range;
use super::json::jsonb_text;
use super::queries::{MySql, PgSql, Query};
use crate::endpoint::{mysql, postgres};

/// A range's row count and hash sum (the sum as decimal text).
pub type Hash = (u64, String);

/// Per-row hashes by key texts.
pub type RowHashes = HashMap<Vec<String>, u64>;

/// A MySQL value as text (`None` for NULL).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

fn number(value: &Value) -> u64 {
    match value {
        Value::UInt(u) => *u,
        Value::Int(i) => u64::try_from(*i).unwrap_or(0),
        other => text(other).and_then(|t| t.parse().ok()).unwrap_or(0),
    }
}

/// The first 60 bits of SHA-256, as the servers take them.
#[must_use]
pub fn h60(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) >> 4
}

/// The hash of a jsonb column `i`'s MySQL text as the PostgreSQL side
/// computes it from jsonb's text (0 for NULL).
fn json_term(i: usize, value: Option<&str>) -> u64 {
    value.map_or(0, |raw| {
        // Not JSON jsonb accepts: a text no jsonb value has.
        let canonical = jsonb_text(raw).unwrap_or_else(|| format!("\u{1}not json: {raw}"));
        h60(&format!("{i}:{canonical}"))
    })
}

/// The MySQL side of one table, on one connection.
pub struct MySide<'a> {
    pub name: &'a str,
    pub conn: &'a Mutex<Conn>,
    pub sql: &'a MySql,
}

impl MySide<'_> {
    fn error(&self, e: &mysql_async::Error) -> color_eyre::Report {
        eyre!("{}: {}", self.name, mysql::short_error(e))
    }

    async fn fetch(&self, (sql, params): Query) -> Result<Vec<Vec<Value>>> {
        let mut conn = self.conn.lock().await;
        let params = if params.is_empty() { Params::Empty } else { Params::from(params) };
        let rows: Vec<Row> = conn.exec(sql, params).await.map_err(|e| self.error(&e))?;
        Ok(rows.into_iter().map(Row::unwrap).collect())
    }

    /// Stream `query`'s rows into `f` (rows of a jsonb table, one chunk at most).
    async fn each(&self, (sql, params): Query, mut f: impl FnMut(&[Value]) + Send) -> Result<()> {
        let mut conn = self.conn.lock().await;
        let params = if params.is_empty() { Params::Empty } else { Params::from(params) };
        let mut result = conn.exec_iter(sql, params).await.map_err(|e| self.error(&e))?;
        result.for_each(|row| f(&row.unwrap())).await.map_err(|e| self.error(&e))
    }

    /// A row of `rows(…)` after `keys` key columns: its hash (jsonb columns
    /// folded in) and its zero dates.
    fn finish(&self, values: &[Value], keys: usize) -> (u64, Vec<u64>) {
        let jsons = self.sql.row.my_json.len();
        let mut hash = number(&values[keys]);
        for i in 0..jsons {
            hash ^= json_term(i, text(&values[keys + 1 + i]).as_deref());
        }
        (hash, values[keys + 1 + jsons..].iter().map(number).collect())
    }

    /// Count and hash sum of `range`, and its zero dates per dated column.
    pub async fn hash(&self, range: &Range) -> Result<(Hash, Vec<u64>)> {
        let zero_columns = self.sql.row.my_zero_dates.len();
        if !self.sql.in_rust() {
            let rows = self.fetch(self.sql.chunk_hash(range)).await?;
            let values = rows.first().map(Vec::as_slice).unwrap_or_default();
            let count = values.first().map_or(0, number);
            let sum = values.get(1).and_then(text).unwrap_or_else(|| "0".to_owned());
            let zeros = (0..zero_columns).map(|i| values.get(2 + i).map_or(0, number)).collect();
            return Ok(((count, sum), zeros));
        }
        let (mut count, mut sum, mut zeros) = (0_u64, 0_u128, vec![0_u64; zero_columns]);
        self.each(self.sql.rows(range, false, false), |row| {
            let (hash, z) = self.finish(row, 0);
            count += 1;
            sum += u128::from(hash);
            for (total, z) in zeros.iter_mut().zip(z) {
                *total += z;
            }
        })
        .await?;
        Ok(((count, sum.to_string()), zeros))
    }

    /// The key `offset` rows on from `lo`.
    pub async fn boundary(&self, lo: Option<&Vec<String>>, offset: u64) -> Result<Option<Vec<String>>> {
        let rows = self.fetch(self.sql.boundary(lo, offset)).await?;
        Ok(rows.first().map(|r| r.iter().map(|v| text(v).unwrap_or_default()).collect()))
    }

    /// Keys that cut `range` into pieces of `step` rows: the key of every
    /// `step`-th row after the first, read in key order (a key-only pass:
    /// cheaper on MySQL than a window over the rows).
    pub async fn split_points(&self, range: &Range, step: u64) -> Result<Vec<Vec<String>>> {
        let mut cuts = Vec::new();
        let mut seen = 0_u64;
        self.each(self.sql.keys(range), |row| {
            if seen > 0 && seen % step.max(1) == 0 {
                cuts.push(row.iter().map(|v| text(v).unwrap_or_default()).collect());
            }
            seen += 1;
        })
        .await?;
        Ok(cuts)
    }

    pub async fn row_hashes(&self, range: &Range) -> Result<RowHashes> {
        let keys = self.sql.key.len();
        let mut out = HashMap::new();
        self.each(self.sql.rows(range, true, false), |row| {
            let key = row[..keys].iter().map(|v| text(v).unwrap_or_default()).collect();
            out.insert(key, self.finish(row, keys).0);
        })
        .await?;
        Ok(out)
    }
}

/// The PostgreSQL side of one table, on one client.
pub struct PgSide<'a> {
    pub name: &'a str,
    pub client: &'a Client,
    pub sql: &'a PgSql,
}

impl PgSide<'_> {
    async fn query(&self, (sql, params): &Query) -> Result<Vec<tokio_postgres::Row>> {
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        self.client.query(sql, &values).await.map_err(|e| eyre!("{}: {}", self.name, postgres::short_error(&e)))
    }

    pub async fn hash(&self, range: &Range) -> Result<Hash> {
        let rows = self.query(&self.sql.chunk_hash(range)).await?;
        let row = rows.first().ok_or_else(|| eyre!("{}: no answer to a chunk's hash", self.name))?;
        Ok((u64::try_from(row.get::<_, i64>(0)).unwrap_or(0), row.get(1)))
    }

    pub async fn boundary(&self, lo: Option<&Vec<String>>, offset: u64) -> Result<Option<Vec<String>>> {
        let rows = self.query(&self.sql.boundary(lo, offset)).await?;
        Ok(rows.first().map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect()))
    }

    pub async fn split_points(&self, range: &Range, step: u64) -> Result<Vec<Vec<String>>> {
        let rows = self.query(&self.sql.split_points(range, step)).await?;
        Ok(rows.iter().map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect()).collect())
    }

    pub async fn row_hashes(&self, range: &Range) -> Result<RowHashes> {
        let keys = self.sql.key.len();
        let rows = self.query(&self.sql.row_hashes(range)).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let key = (0..keys).map(|i| r.get::<_, String>(i)).collect();
                (key, u64::try_from(r.get::<_, i64>(keys)).unwrap_or(0))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h60_is_the_first_fifteen_hex_digits_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea…; its first 15 hex digits.
        assert_eq!(h60("abc"), 0x0ba7_816b_f8f0_1cfe);
        assert_eq!(json_term(0, None), 0);
        assert_eq!(json_term(1, Some("{\"b\":1, \"a\":2}")), h60("1:{\"a\": 2, \"b\": 1}"));
    }
}
