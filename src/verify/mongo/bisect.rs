//! One side's collection as the engine queries it, and finding the differing
//! documents of a disagreeing range: cut it into pieces of about
//! `row_fetch_max` documents (cuts walked on the `_id` index, no document
//! read), hash every piece on both sides at once, go down into the pieces
//! that disagree, and compare `{_id, hash}` lists once a piece is small.
//! Whole documents never travel.
//!
//! Hashing the canonical form costs far more than walking the index, so a
//! range is cut straight into pieces small enough to compare id by id (at
//! most [`MAX_SPLIT_WAYS`] at a time): a disagreeing chunk costs about one
//! more hashing pass, not one per level of a 16-way descent (measured with
//! scripts/mongo-verify-bench.sh, 10 changes in 100k documents: 11.5 s with
//! a 16-way descent, 6.5 s this way; 2.4 s when equal).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use futures::future::{BoxFuture, FutureExt, try_join_all};
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{Collation, Hint};

use super::pipeline::{self, IdRange, bracket};
use crate::verify::DiffKind;

/// A disagreeing range is split into at most this many pieces at a time.
pub const MAX_SPLIT_WAYS: u64 = 64;

type MResult<T> = Result<T, mongodb::error::Error>;

/// A range's document count and hash sum (decimal text).
pub type Sums = (u64, String);

/// One side's collection, as the engine queries it.
pub struct Side {
    pub coll: Collection<Document>,
    /// `Some(simple)` when the two sides' default collations differ, so both
    /// order string `_id`s the same way.
    pub collation: Option<Collation>,
    /// The per-document hash expression ([`pipeline::document_hash`]).
    pub hash: Bson,
}

fn sums(doc: &Document) -> Sums {
    let n = match doc.get("n") {
        Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
        Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    (n, doc.get_str("s").unwrap_or("0").to_owned())
}

impl Side {
    async fn aggregate(&self, pipeline: Vec<Document>) -> MResult<Vec<Document>> {
        let mut action = self.coll.aggregate(pipeline).allow_disk_use(true);
        if let Some(c) = &self.collation {
            action = action.collation(c.clone());
        }
        action.await?.try_collect().await
    }

    /// Count and hash sum of a range.
    pub async fn hash(&self, range: &IdRange) -> MResult<Sums> {
        let docs = self.aggregate(pipeline::chunk_hash(range, &self.hash)).await?;
        Ok(docs.first().map_or_else(|| (0, "0".to_owned()), sums))
    }

    /// Each document's `_id` and hash in a range.
    pub async fn row_hashes(&self, range: &IdRange) -> MResult<Vec<(Bson, i64)>> {
        let docs = self.aggregate(pipeline::row_hashes(range, &self.hash)).await?;
        Ok(docs.into_iter().filter_map(|d| Some((d.get("_id")?.clone(), d.get_i64("h").ok()?))).collect())
    }

    async fn first_id(&self, filter: Document, direction: i32, skip: u64) -> MResult<Option<Bson>> {
        let mut find = self
            .coll
            .find(filter)
            .sort(doc! { "_id": direction })
            .skip(skip)
            .limit(1)
            .projection(doc! { "_id": 1 })
            .hint(Hint::Keys(doc! { "_id": 1 }));
        if let Some(c) = &self.collation {
            find = find.collation(c.clone());
        }
        let docs: Vec<Document> = find.await?.try_collect().await?;
        Ok(docs.into_iter().next().and_then(|mut d| d.remove("_id")))
    }

    /// The `_id` `offset` documents after `lo` (inclusive) in `_id` order:
    /// the next chunk boundary. A covered walk along the `_id` index.
    pub async fn boundary(&self, lo: Option<&Bson>, offset: u64) -> MResult<Option<Bson>> {
        self.first_id(pipeline::filter(&IdRange { lo: lo.cloned(), hi: None }), 1, offset).await
    }

    /// The `_id`s that cut `range` into pieces of `step` documents (none if
    /// it holds no more than `step`): covered walks along the `_id` index.
    pub async fn split_points(&self, range: &IdRange, step: u64) -> MResult<Vec<Bson>> {
        let mut points = Vec::new();
        let mut lo = range.lo.clone();
        while (points.len() as u64) < MAX_SPLIT_WAYS - 1 {
            let piece = IdRange { lo: lo.clone(), hi: range.hi.clone() };
            match self.first_id(pipeline::filter(&piece), 1, step).await? {
                Some(id) => {
                    points.push(id.clone());
                    lo = Some(id);
                }
                None => break,
            }
        }
        Ok(points)
    }

    /// The lowest and the highest `_id`.
    pub async fn extremes(&self) -> MResult<(Option<Bson>, Option<Bson>)> {
        tokio::try_join!(self.first_id(Document::new(), 1, 0), self.first_id(Document::new(), -1, 0))
    }
}

/// Split a disagreeing range until the differing documents are found.
pub fn localise<'a>(
    src: &'a Side,
    dst: &'a Side,
    range: IdRange,
    rows: u64,
    row_fetch_max: u64,
) -> BoxFuture<'a, MResult<Vec<(Bson, DiffKind)>>> {
    async move {
        let row_fetch_max = row_fetch_max.max(1);
        if rows <= row_fetch_max {
            return row_diff(src, dst, &range).await;
        }
        let step = rows.div_ceil(rows.div_ceil(row_fetch_max).clamp(2, MAX_SPLIT_WAYS)).max(1);
        // Cut where the source's documents are; where it has (almost) none,
        // where the target's are.
        let mut points = src.split_points(&range, step).await?;
        if points.is_empty() {
            points = dst.split_points(&range, step).await?;
        }
        if points.is_empty() {
            // Fewer documents than counted (they changed meanwhile): compare them all.
            return row_diff(src, dst, &range).await;
        }
        let pieces = pieces(&range, points);
        let sums =
            try_join_all(pieces.iter().map(|p| async move { tokio::try_join!(src.hash(p), dst.hash(p)) })).await?;
        let mut out = Vec::new();
        for (piece, (ours, theirs)) in pieces.into_iter().zip(sums) {
            if ours != theirs {
                out.extend(localise(src, dst, piece, ours.0.max(theirs.0), row_fetch_max).await?);
            }
        }
        Ok(out)
    }
    .boxed()
}

/// `range` cut at `points` (in order, inside it).
fn pieces(range: &IdRange, points: Vec<Bson>) -> Vec<IdRange> {
    let mut bounds = vec![range.lo.clone()];
    bounds.extend(points.into_iter().map(Some));
    bounds.push(range.hi.clone());
    bounds.windows(2).map(|w| IdRange { lo: w[0].clone(), hi: w[1].clone() }).collect()
}

async fn row_diff(src: &Side, dst: &Side, range: &IdRange) -> MResult<Vec<(Bson, DiffKind)>> {
    let (a, b) = tokio::try_join!(src.row_hashes(range), dst.row_hashes(range))?;
    Ok(merge(a, b))
}

/// `_id`s as the merge matches them: relaxed extended JSON, so an int 5 and
/// a long 5 (one `_id` to MongoDB) are one key.
fn merge_key(id: &Bson) -> String {
    id.clone().into_relaxed_extjson().to_string()
}

/// The differences between the source's and the target's `{_id, hash}`
/// lists, in `_id` order.
#[must_use]
pub fn merge(source: Vec<(Bson, i64)>, target: Vec<(Bson, i64)>) -> Vec<(Bson, DiffKind)> {
    let theirs: HashMap<String, i64> = target.iter().map(|(id, h)| (merge_key(id), *h)).collect();
    let ours: HashSet<String> = source.iter().map(|(id, _)| merge_key(id)).collect();
    let mut out = Vec::new();
    for (id, hash) in source {
        match theirs.get(&merge_key(&id)) {
            None => out.push((id, DiffKind::MissingOnTarget)),
            Some(other) if *other != hash => out.push((id, DiffKind::Different)),
            Some(_) => {}
        }
    }
    out.extend(
        target
            .into_iter()
            .filter(|(id, _)| !ours.contains(&merge_key(id)))
            .map(|(id, _)| (id, DiffKind::ExtraOnTarget)),
    );
    out.sort_by(|x, y| compare(&x.0, &y.0));
    out
}

/// A number as (exact integer if it is one, approximate value).
fn number(value: &Bson) -> Option<(Option<i64>, f64)> {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    match value {
        Bson::Int32(v) => Some((Some(i64::from(*v)), f64::from(*v))),
        Bson::Int64(v) => Some((Some(*v), *v as f64)),
        Bson::Double(v) => Some(((v.fract() == 0.0 && v.abs() < 9.0e18).then_some(*v as i64), *v)),
        Bson::Decimal128(d) => {
            let v: f64 = d.to_string().parse().unwrap_or(f64::NAN);
            Some(((v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64), v))
        }
        _ => None,
    }
}

/// MongoDB's order of values (type bracket first, then value), for listing
/// differences by `_id`. Exact for the types `_id`s use; documents compare
/// field by field (type, name, value), as MongoDB does.
#[must_use]
pub fn compare(a: &Bson, b: &Bson) -> Ordering {
    let by_bracket = bracket(a).cmp(&bracket(b));
    if by_bracket != Ordering::Equal {
        return by_bracket;
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.timestamp_millis().cmp(&y.timestamp_millis()),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => (x.time, x.increment).cmp(&(y.time, y.increment)),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::Binary(x), Bson::Binary(y)) => {
            (x.bytes.len(), u8::from(x.subtype), &x.bytes).cmp(&(y.bytes.len(), u8::from(y.subtype), &y.bytes))
        }
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => {
            (&x.pattern, &x.options).cmp(&(&y.pattern, &y.options))
        }
        (Bson::Document(x), Bson::Document(y)) => {
            for ((kx, vx), (ky, vy)) in x.iter().zip(y.iter()) {
                let ord = bracket(vx).cmp(&bracket(vy)).then_with(|| kx.cmp(ky)).then_with(|| compare(vx, vy));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::Array(x), Bson::Array(y)) => {
            x.iter().zip(y).map(|(p, q)| compare(p, q)).find(|o| *o != Ordering::Equal).unwrap_or(x.len().cmp(&y.len()))
        }
        _ => match (number(a), number(b)) {
            (Some((Some(x), _)), Some((Some(y), _))) => x.cmp(&y),
            (Some((_, x)), Some((_, y))) => x.total_cmp(&y),
            _ => Ordering::Equal,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::oid::ObjectId;

    #[test]
    fn merging_id_hash_lists_finds_changed_missing_and_extra_in_id_order() {
        let source = vec![
            (Bson::Int32(3), 30),
            (Bson::Int32(1), 10),
            (Bson::Int64(2), 20),
            (Bson::String("b".into()), 7),
            (Bson::Int32(5), 50),
        ];
        let target = vec![
            (Bson::Int64(1), 10),          // same document: a long 1 is the int 1
            (Bson::Int32(2), 21),          // changed
            (Bson::Int32(4), 40),          // extra
            (Bson::String("a".into()), 1), // extra, sorts after every number
            (Bson::Int32(5), 50),
        ];
        let out = merge(source, target);
        assert_eq!(
            out,
            vec![
                (Bson::Int64(2), DiffKind::Different),
                (Bson::Int32(3), DiffKind::MissingOnTarget),
                (Bson::Int32(4), DiffKind::ExtraOnTarget),
                (Bson::String("a".into()), DiffKind::ExtraOnTarget),
                (Bson::String("b".into()), DiffKind::MissingOnTarget),
            ]
        );
        assert!(merge(vec![(Bson::Int32(1), 1)], vec![(Bson::Int32(1), 1)]).is_empty());
    }

    #[test]
    fn values_compare_as_mongodb_orders_them() {
        let oid = |s: &str| Bson::ObjectId(ObjectId::parse_str(s).unwrap());
        let mut ids = vec![
            oid("65a0c0ffee0000000000abce"),
            Bson::String("b".into()),
            Bson::Double(2.5),
            Bson::Null,
            oid("65a0c0ffee0000000000abcd"),
            Bson::Int64(10),
            Bson::String("B".into()),
            Bson::Int32(2),
            Bson::Document(doc! { "a": 1, "b": 2 }),
            Bson::Document(doc! { "a": 1 }),
            Bson::Boolean(true),
        ];
        ids.sort_by(compare);
        assert_eq!(
            ids,
            vec![
                Bson::Null,
                Bson::Int32(2),
                Bson::Double(2.5),
                Bson::Int64(10),
                Bson::String("B".into()),
                Bson::String("b".into()),
                Bson::Document(doc! { "a": 1 }),
                Bson::Document(doc! { "a": 1, "b": 2 }),
                oid("65a0c0ffee0000000000abcd"),
                oid("65a0c0ffee0000000000abce"),
                Bson::Boolean(true),
            ]
        );
        assert_eq!(compare(&Bson::Int32(7), &Bson::Double(7.0)), Ordering::Equal);
        assert_eq!(compare(&Bson::Int64(i64::MAX), &Bson::Int64(i64::MAX - 1)), Ordering::Greater);
    }

    #[test]
    fn pieces_cut_at_the_points_and_keep_the_ranges_ends() {
        let range = IdRange { lo: Some(Bson::Int32(0)), hi: None };
        assert_eq!(
            pieces(&range, vec![Bson::Int32(5), Bson::String("k".into())]),
            vec![
                IdRange { lo: Some(Bson::Int32(0)), hi: Some(Bson::Int32(5)) },
                IdRange { lo: Some(Bson::Int32(5)), hi: Some(Bson::String("k".into())) },
                IdRange { lo: Some(Bson::String("k".into())), hi: None },
            ]
        );
    }
}
