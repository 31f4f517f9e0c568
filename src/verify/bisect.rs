//! Finding the differing rows of a disagreeing range: cut it (one pass on the
//! source gives both the cuts and the source's side of every piece), hash the
//! same pieces on the target, go down into the pieces that disagree, and
//! compare row by row once a piece is small.

use std::collections::HashMap;

use futures::future::{BoxFuture, FutureExt};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use super::sql::{Range, TableSql};
use super::{DiffKind, Difference};

/// Up to this many rows a disagreeing range is compared row by row; larger
/// ones are split 16 ways first. (Fetching whole 100k-row chunks row by row
/// was measured slower: the keys' JSON costs more than two more passes.)
pub const ROW_FETCH_MAX: u64 = 1_000;
/// A disagreeing range is split this many ways.
pub const SPLIT_WAYS: u64 = 16;

pub(super) fn params(values: &[String]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// Row count and hash sum of a range.
pub(super) async fn hash(
    client: &Client,
    sql: &TableSql,
    range: &Range,
) -> Result<(u64, String), tokio_postgres::Error> {
    let (text, values) = sql.chunk_hash(range);
    let row = client.query_one(&text, &params(&values)).await?;
    Ok((u64::try_from(row.get::<_, i64>(0)).unwrap_or(0), row.get(1)))
}

/// Split a disagreeing range until the differing rows are found.
pub(super) fn localise<'a>(
    src: &'a Client,
    dst: &'a Client,
    sql: (&'a TableSql, &'a TableSql),
    range: Range,
    rows: u64,
    row_fetch_max: u64,
) -> BoxFuture<'a, Result<Vec<Difference>, tokio_postgres::Error>> {
    async move {
        if rows <= row_fetch_max.max(1) {
            return row_diff(src, dst, sql, &range).await;
        }
        let step = rows.div_ceil(SPLIT_WAYS).max(1);
        // One pass on the source gives the cuts and the source's side of every
        // piece; the target hashes the same pieces.
        let buckets = source_buckets(src, sql.0, &range, step).await?;
        if buckets.len() > 1 {
            let mut bounds = vec![range.lo.clone()];
            bounds.extend(buckets.iter().skip(1).map(|(first, _)| Some(first.clone())));
            bounds.push(range.hi.clone());
            let pieces: Vec<Range> = bounds.windows(2).map(|w| Range { lo: w[0].clone(), hi: w[1].clone() }).collect();
            let theirs = futures::future::try_join_all(pieces.iter().map(|p| hash(dst, sql.1, p))).await?;
            let mut out = Vec::new();
            for ((piece, (_, ours)), theirs) in pieces.into_iter().zip(buckets).zip(theirs) {
                if ours != theirs {
                    out.extend(localise(src, dst, sql, piece, ours.0.max(theirs.0), row_fetch_max).await?);
                }
            }
            return Ok(out);
        }
        // The source has (almost) no rows here: cut where the target's keys are.
        let mut points = split_points(src, sql.0, &range, step).await?;
        if points.is_empty() {
            points = split_points(dst, sql.1, &range, step).await?;
        }
        if points.is_empty() {
            return row_diff(src, dst, sql, &range).await;
        }
        let mut bounds = vec![range.lo.clone()];
        bounds.extend(points.into_iter().map(Some));
        bounds.push(range.hi.clone());
        let pieces: Vec<Range> = bounds.windows(2).map(|w| Range { lo: w[0].clone(), hi: w[1].clone() }).collect();
        let hashes = futures::future::try_join_all(
            pieces.iter().map(|p| async move { tokio::try_join!(hash(src, sql.0, p), hash(dst, sql.1, p)) }),
        )
        .await?;
        let mut out = Vec::new();
        for (piece, (a, b)) in pieces.into_iter().zip(hashes) {
            if a != b {
                out.extend(localise(src, dst, sql, piece, a.0.max(b.0), row_fetch_max).await?);
            }
        }
        Ok(out)
    }
    .boxed()
}

/// The source's buckets of a range: (first key, (rows, hash sum)) each.
async fn source_buckets(
    client: &Client,
    sql: &TableSql,
    range: &Range,
    step: u64,
) -> Result<Vec<(Vec<String>, (u64, String))>, tokio_postgres::Error> {
    let (text, values) = sql.buckets(range, step);
    let rows = client.query(&text, &params(&values)).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let first = (2..r.len()).map(|i| r.get::<_, String>(i)).collect();
            (first, (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get::<_, String>(1)))
        })
        .collect())
}

async fn split_points(
    client: &Client,
    sql: &TableSql,
    range: &Range,
    step: u64,
) -> Result<Vec<Vec<String>>, tokio_postgres::Error> {
    let (text, values) = sql.split_points(range, step);
    let rows = client.query(&text, &params(&values)).await?;
    Ok(rows.iter().map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect()).collect())
}

async fn row_diff(
    src: &Client,
    dst: &Client,
    sql: (&TableSql, &TableSql),
    range: &Range,
) -> Result<Vec<Difference>, tokio_postgres::Error> {
    let (a, b) = tokio::try_join!(row_hashes(src, sql.0, range), row_hashes(dst, sql.1, range))?;
    let mut out = Vec::new();
    for (key, hash) in &a {
        match b.get(key) {
            None => out.push((key, DiffKind::MissingOnTarget)),
            Some(other) if other != hash => out.push((key, DiffKind::Different)),
            Some(_) => {}
        }
    }
    out.extend(b.keys().filter(|k| !a.contains_key(*k)).map(|k| (k, DiffKind::ExtraOnTarget)));
    Ok(out
        .into_iter()
        .map(|(key, kind)| Difference { key: serde_json::from_str(key).unwrap_or(serde_json::Value::Null), kind })
        .collect())
}

async fn row_hashes(
    client: &Client,
    sql: &TableSql,
    range: &Range,
) -> Result<HashMap<String, i64>, tokio_postgres::Error> {
    let (text, values) = sql.row_hashes(range);
    let rows = client.query(&text, &params(&values)).await?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))).collect())
}

/// Order keys by their values, column by column (numbers as numbers).
pub(super) fn key_order(key_columns: &[String]) -> impl Fn(&Difference, &Difference) -> std::cmp::Ordering + '_ {
    move |x, y| {
        for c in key_columns {
            let (a, b) = (&x.key[c], &y.key[c]);
            let ord = match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => a.total_cmp(&b),
                _ => a.to_string().cmp(&b.to_string()),
            };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    }
}
