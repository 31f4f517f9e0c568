//! Finding the differing rows of a range whose hashes disagree, as
//! [`crate::verify`] does for two PostgreSQL servers: the range is cut into
//! [`SPLIT_WAYS`] pieces at keys read from MySQL (a key-only pass; from
//! PostgreSQL when MySQL has no rows there), both sides hash every piece,
//! the pieces that disagree are cut again, and a range of at most
//! `row_fetch_max` rows is compared row by row on (key, hash).

use color_eyre::eyre::Result;
use futures::FutureExt;
use futures::future::BoxFuture;

use super::super::sql::Range;
use super::super::{DiffKind, Difference};
use super::keys::KeyColumn;
use super::side::{MySide, PgSide};

/// A disagreeing range is split this many ways.
pub const SPLIT_WAYS: u64 = 16;

/// Both sides of one table on one worker's connections.
pub struct Sides<'a> {
    pub my: MySide<'a>,
    pub pg: PgSide<'a>,
    pub key: &'a [KeyColumn],
}

impl Sides<'_> {
    /// A key as a difference shows it: `{column: value, …}` in key order.
    fn key_json(&self, texts: &[String]) -> serde_json::Value {
        let object = self.key.iter().zip(texts).map(|(k, t)| (k.name.clone(), k.json_value(t))).collect();
        serde_json::Value::Object(object)
    }
}

fn pieces(range: &Range, cuts: impl IntoIterator<Item = Vec<String>>) -> Vec<Range> {
    let mut bounds = vec![range.lo.clone()];
    bounds.extend(cuts.into_iter().map(Some));
    bounds.push(range.hi.clone());
    bounds.windows(2).map(|w| Range { lo: w[0].clone(), hi: w[1].clone() }).collect()
}

/// The differing rows of `range` (about `rows` rows on the larger side).
pub fn localise<'a>(
    sides: &'a Sides<'a>,
    range: Range,
    rows: u64,
    row_fetch_max: u64,
) -> BoxFuture<'a, Result<Vec<Difference>>> {
    async move {
        if rows <= row_fetch_max.max(1) {
            return row_diff(sides, &range).await;
        }
        let step = rows.div_ceil(SPLIT_WAYS).max(1);
        let mut points = sides.my.split_points(&range, step).await?;
        if points.is_empty() {
            // MySQL has (almost) no rows here: cut where PostgreSQL's keys are.
            points = sides.pg.split_points(&range, step).await?;
        }
        if points.is_empty() {
            return row_diff(sides, &range).await;
        }
        let pieces = pieces(&range, points);
        // Every piece on both sides at once: each side works through its
        // queue, the two sides in parallel.
        let hashes = futures::future::try_join_all(pieces.iter().map(|p| async move {
            let ((mine, _), theirs) = tokio::try_join!(sides.my.hash(p), sides.pg.hash(p))?;
            Ok::<_, color_eyre::Report>((mine, theirs))
        }))
        .await?;
        let mut out = Vec::new();
        for (piece, (mine, theirs)) in pieces.into_iter().zip(hashes) {
            if mine != theirs {
                out.extend(localise(sides, piece, mine.0.max(theirs.0), row_fetch_max).await?);
            }
        }
        Ok(out)
    }
    .boxed()
}

/// Compare a small range row by row.
async fn row_diff(sides: &Sides<'_>, range: &Range) -> Result<Vec<Difference>> {
    let (mine, theirs) = tokio::try_join!(sides.my.row_hashes(range), sides.pg.row_hashes(range))?;
    let mut found: Vec<(&Vec<String>, DiffKind)> = Vec::new();
    for (key, hash) in &mine {
        match theirs.get(key) {
            None => found.push((key, DiffKind::MissingOnTarget)),
            Some(other) if other != hash => found.push((key, DiffKind::Different)),
            Some(_) => {}
        }
    }
    found.extend(theirs.keys().filter(|k| !mine.contains_key(*k)).map(|k| (k, DiffKind::ExtraOnTarget)));
    Ok(found.into_iter().map(|(key, kind)| Difference { key: sides.key_json(key), kind }).collect())
}
