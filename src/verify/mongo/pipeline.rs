//! What the MongoDB engine sends, as plain data: the per-document hash (a
//! canonical form of the document, hashed by `$toHashedIndexKey`), `_id`
//! range filters that stay correct across BSON type brackets, and the
//! aggregation pipelines for a chunk's hash and per-document hashes.
//!
//! ```text
//! chunk:  $match range → $group {n: count, s: Σ toDecimal(hash(doc))} → one small document
//! rows:   $match range → $project {_id, h}       (no document ever crosses whole)
//! cuts:   find range, sort _id, skip n, limit 1, projection _id  (covered: the _id index only)
//! ```

use mongodb::bson::{Bson, Document, doc};

use crate::verify::sql::Range;

/// How deep the canonical form reaches: the document's own fields and
/// embedded documents and arrays down to this many levels below them are
/// rebuilt (fields sorted by name in `by_name` mode, numbers made exact).
/// Deeper values are hashed as stored: field order matters there, and a
/// double or decimal counts by its integer part only. The aggregation
/// language has no recursion: the expression is unrolled this many times
/// (about 1 KB per level).
pub const CANONICAL_DEPTH: usize = 8;

/// The BSON type brackets in MongoDB's sort order, each with the `$type`
/// names that select it. A range operator (`$gte`, `$lt`) only matches values
/// in its operand's bracket, so a range whose ends lie in different brackets
/// (or that is open at one end) also selects the whole brackets in between.
/// Arrays cannot be an `_id`: their bracket selects nothing.
const BRACKETS: [&[&str]; 17] = [
    &["minKey"],
    &["undefined"],
    &["null"],
    &["number"],
    &["string", "symbol"],
    &["object"],
    &[],
    &["binData"],
    &["objectId"],
    &["bool"],
    &["date"],
    &["timestamp"],
    &["regex"],
    &["dbPointer"],
    &["javascript"],
    &["javascriptWithScope"],
    &["maxKey"],
];

/// The position of a value's type bracket in [`BRACKETS`].
#[must_use]
pub fn bracket(value: &Bson) -> usize {
    match value {
        Bson::MinKey => 0,
        Bson::Undefined => 1,
        Bson::Null => 2,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => 3,
        Bson::String(_) | Bson::Symbol(_) => 4,
        Bson::Document(_) => 5,
        Bson::Array(_) => 6,
        Bson::Binary(_) => 7,
        Bson::ObjectId(_) => 8,
        Bson::Boolean(_) => 9,
        Bson::DateTime(_) => 10,
        Bson::Timestamp(_) => 11,
        Bson::RegularExpression(_) => 12,
        Bson::DbPointer(_) => 13,
        Bson::JavaScriptCode(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::MaxKey => 16,
    }
}

/// A bracket's name for messages (`number`, `string`, `objectId`, …).
#[must_use]
pub fn bracket_name(value: &Bson) -> &'static str {
    match value {
        Bson::Array(_) => "array",
        other => BRACKETS[bracket(other)][0],
    }
}

/// A half-open range of `_id`s, `lo <= _id < hi` in MongoDB's order across
/// types; `None` is open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdRange {
    pub lo: Option<Bson>,
    pub hi: Option<Bson>,
}

impl IdRange {
    /// The journal's form: each bound as canonical extended JSON.
    #[must_use]
    pub fn to_journal(&self) -> Range {
        Range { lo: self.lo.as_ref().map(|b| vec![encode(b)]), hi: self.hi.as_ref().map(|b| vec![encode(b)]) }
    }

    /// Back from the journal's form.
    ///
    /// # Errors
    /// A bound that is not one canonical extended JSON value.
    pub fn from_journal(range: &Range) -> Result<Self, String> {
        let bound = |b: &Option<Vec<String>>| match b.as_deref() {
            None => Ok(None),
            Some([one]) => decode(one).map(Some),
            Some(other) => Err(format!("expected one _id bound, found {}", other.len())),
        };
        Ok(Self { lo: bound(&range.lo)?, hi: bound(&range.hi)? })
    }
}

/// A value as canonical extended JSON text (types kept exactly).
#[must_use]
pub fn encode(value: &Bson) -> String {
    value.clone().into_canonical_extjson().to_string()
}

/// The inverse of [`encode`] (relaxed extended JSON is read too).
///
/// # Errors
/// Text that is not extended JSON.
pub fn decode(text: &str) -> Result<Bson, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{text}: {e}"))?;
    Bson::try_from(json).map_err(|e| format!("{text}: {e}"))
}

/// A difference's key: `{"_id": <relaxed extended JSON>}`.
#[must_use]
pub fn key_json(id: &Bson) -> serde_json::Value {
    serde_json::json!({ "_id": id.clone().into_relaxed_extjson() })
}

/// The `$match` filter of a range: plain `$gte`/`$lt` on `_id` when both
/// ends lie in one type bracket (the usual case: one index range); else a
/// `$or` of the part of `lo`'s bracket from `lo`, the brackets in between
/// by `$type`, and the part of `hi`'s bracket below `hi` — still index
/// ranges only. (An `_id` of NaN is below every number's range: not supported.)
#[must_use]
pub fn filter(range: &IdRange) -> Document {
    match (&range.lo, &range.hi) {
        (None, None) => return Document::new(),
        (Some(lo), Some(hi)) if bracket(lo) == bracket(hi) => {
            return doc! { "_id": { "$gte": lo.clone(), "$lt": hi.clone() } };
        }
        _ => {}
    }
    let from = range.lo.as_ref().map_or(0, |lo| bracket(lo) + 1);
    let to = range.hi.as_ref().map_or(BRACKETS.len(), bracket).max(from);
    let between: Vec<&str> = BRACKETS[from..to].iter().flat_map(|names| names.iter().copied()).collect();
    let mut parts = Vec::new();
    if let Some(lo) = &range.lo {
        parts.push(doc! { "_id": { "$gte": lo.clone() } });
    }
    if !between.is_empty() {
        parts.push(doc! { "_id": { "$type": between } });
    }
    if let Some(hi) = &range.hi {
        parts.push(doc! { "_id": { "$lt": hi.clone() } });
    }
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        doc! { "$or": parts }
    }
}

/// A double made exact for hashing (`$toHashedIndexKey` hashes numbers by
/// their integer part): its first 15 significant digits and, as 15 more,
/// what those leave over. Tagged with \u{1} so no string equals it.
fn exact_double(var: &str) -> Document {
    doc! { "$let": {
        "vars": { "q": { "$toDecimal": var } },
        "in": { "$concat": [
            "\u{1}",
            { "$toString": "$$q" },
            "~",
            { "$toString": { "$toDecimal": { "$subtract": [
                var,
                { "$convert": { "input": "$$q", "to": "double", "onError": var } },
            ] } } },
        ] },
    } }
}

/// The canonical form of the value in variable `var` (e.g. `$$ROOT`),
/// unrolled `depth` levels deep: embedded documents rebuilt with their
/// fields sorted by name (`by_name`) or as they are, arrays element by
/// element, doubles and decimals as exact tagged strings (so 2.2 and 2.3
/// differ, and a double 5.0 differs from an integer 5; an int 5 and a long 5
/// are equal, as MongoDB has them). Only containers pay for the rebuilding.
#[must_use]
pub fn canonical(var: &str, depth: usize, by_name: bool) -> Bson {
    let t = format!("t{depth}");
    let tv = format!("$${t}");
    let scalars = vec![
        doc! { "case": { "$eq": [tv.as_str(), "double"] }, "then": exact_double(var) },
        doc! { "case": { "$eq": [tv.as_str(), "decimal"] }, "then": { "$concat": ["\u{2}", { "$toString": var }] } },
    ];
    let branches = if depth == 0 {
        scalars
    } else {
        let (p, c, x) = (format!("p{depth}"), format!("c{depth}"), format!("x{depth}"));
        let (pv, cv, xv) = (format!("$${p}"), format!("$${c}"), format!("$${x}"));
        let pairs = if by_name {
            // Sorting the {k, v} pairs whole (sortBy: 1) orders them by k, and
            // is twice as fast as sortBy: {k: 1}.
            doc! { "$sortArray": { "input": { "$objectToArray": var }, "sortBy": 1 } }
        } else {
            doc! { "$objectToArray": var }
        };
        let is_object = doc! { "$eq": [tv.as_str(), "object"] };
        // One recursive copy per level (the expression grows linearly): an
        // object's values and an array's elements go through the same $map.
        let container = doc! { "$let": {
            "vars": { (p.as_str()): { "$cond": [is_object.clone(), pairs, Bson::Null] } },
            "in": { "$let": {
                "vars": { (c.as_str()): { "$map": {
                    "input": { "$cond": [is_object.clone(), format!("{pv}.v"), var] },
                    "as": x.as_str(),
                    "in": canonical(&xv, depth - 1, by_name),
                } } },
                "in": { "$cond": [
                    is_object,
                    { "$arrayToObject": { "$zip": { "inputs": [format!("{pv}.k"), cv.as_str()] } } },
                    cv.as_str(),
                ] },
            } },
        } };
        let mut branches = vec![doc! { "case": { "$in": [tv.as_str(), ["object", "array"]] }, "then": container }];
        branches.extend(scalars);
        branches
    };
    Bson::Document(doc! { "$let": {
        "vars": { (t.as_str()): { "$type": var } },
        "in": { "$switch": { "branches": branches, "default": var } },
    } })
}

/// The per-document hash: a long, the same on both servers for documents
/// equal in the mode's sense.
#[must_use]
pub fn document_hash(by_name: bool) -> Bson {
    Bson::Document(doc! { "$toHashedIndexKey": canonical("$$ROOT", CANONICAL_DEPTH, by_name) })
}

/// A range's document count and the exact (decimal) sum of its documents'
/// hashes, as one document `{n, s}` (none when the range is empty).
#[must_use]
pub fn chunk_hash(range: &IdRange, hash: &Bson) -> Vec<Document> {
    vec![
        doc! { "$match": filter(range) },
        doc! { "$group": { "_id": Bson::Null, "n": { "$sum": 1 }, "s": { "$sum": { "$toDecimal": hash.clone() } } } },
        doc! { "$project": { "_id": 0, "n": 1, "s": { "$toString": "$s" } } },
    ]
}

/// Each document's `{_id, h}` in a range.
#[must_use]
pub fn row_hashes(range: &IdRange, hash: &Bson) -> Vec<Document> {
    vec![doc! { "$match": filter(range) }, doc! { "$project": { "_id": 1, "h": hash.clone() } }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::oid::ObjectId;

    #[test]
    fn ranges_in_one_bracket_are_plain_and_across_brackets_add_the_brackets_between() {
        let r = IdRange { lo: Some(Bson::Int32(5)), hi: Some(Bson::Int64(90)) };
        assert_eq!(filter(&r), doc! { "_id": { "$gte": 5, "$lt": 90_i64 } });
        assert_eq!(filter(&IdRange::default()), doc! {});

        let r = IdRange { lo: Some(Bson::Int32(5)), hi: Some(Bson::String("m".into())) };
        assert_eq!(filter(&r), doc! { "$or": [{ "_id": { "$gte": 5 } }, { "_id": { "$lt": "m" } }] });

        let oid = ObjectId::parse_str("65a0c0ffee0000000000abcd").unwrap();
        let r = IdRange { lo: Some(Bson::Int32(5)), hi: Some(Bson::ObjectId(oid)) };
        assert_eq!(
            filter(&r),
            doc! { "$or": [
                { "_id": { "$gte": 5 } },
                { "_id": { "$type": ["string", "symbol", "object", "binData"] } },
                { "_id": { "$lt": oid } },
            ] }
        );
        // Open ends take every bracket before / after.
        let first = filter(&IdRange { lo: None, hi: Some(Bson::String("m".into())) });
        assert_eq!(
            first,
            doc! { "$or": [{ "_id": { "$type": ["minKey", "undefined", "null", "number"] } }, { "_id": { "$lt": "m" } }] }
        );
        let last = filter(&IdRange { lo: Some(Bson::Boolean(false)), hi: None });
        assert_eq!(
            last,
            doc! { "$or": [
                { "_id": { "$gte": false } },
                { "_id": { "$type": ["date", "timestamp", "regex", "dbPointer", "javascript", "javascriptWithScope", "maxKey"] } },
            ] }
        );
        assert_eq!(filter(&IdRange { lo: None, hi: Some(Bson::MinKey) }), doc! { "_id": { "$lt": Bson::MinKey } });
    }

    #[test]
    fn bounds_round_trip_through_the_journal_with_their_types() {
        let oid = ObjectId::parse_str("65a0c0ffee0000000000abcd").unwrap();
        for value in [Bson::Int32(7), Bson::Int64(7), Bson::Double(7.5), Bson::String("x".into()), Bson::ObjectId(oid)]
        {
            let r = IdRange { lo: Some(value.clone()), hi: None };
            let journal = r.to_journal();
            assert_eq!(IdRange::from_journal(&journal).unwrap(), r);
        }
        let r = IdRange { lo: Some(Bson::Int32(7)), hi: Some(Bson::ObjectId(oid)) }.to_journal();
        assert_eq!(r.lo, Some(vec![r#"{"$numberInt":"7"}"#.to_owned()]));
        assert_eq!(r.hi, Some(vec![r#"{"$oid":"65a0c0ffee0000000000abcd"}"#.to_owned()]));
        assert!(IdRange::from_journal(&Range { lo: Some(vec![]), hi: None }).is_err());
        assert_eq!(
            key_json(&Bson::ObjectId(oid)),
            serde_json::json!({ "_id": { "$oid": "65a0c0ffee0000000000abcd" } })
        );
        assert_eq!(key_json(&Bson::Int64(7)), serde_json::json!({ "_id": 7 }));
    }

    /// Every `$$variable` used is bound by an enclosing `$let`/`$map`.
    fn check_bound(value: &Bson, bound: &mut Vec<String>) {
        match value {
            Bson::String(s) => {
                if let Some(name) = s.strip_prefix("$$") {
                    let name = name.split('.').next().unwrap_or_default();
                    assert!(name == "ROOT" || bound.iter().any(|b| b == name), "unbound $${name}");
                }
            }
            Bson::Array(items) => items.iter().for_each(|i| check_bound(i, bound)),
            Bson::Document(d) => {
                if let Ok(l) = d.get_document("$let") {
                    let vars = l.get_document("vars").unwrap();
                    for v in vars.values() {
                        check_bound(v, bound);
                    }
                    let n = bound.len();
                    bound.extend(vars.keys().cloned());
                    check_bound(l.get("in").unwrap(), bound);
                    bound.truncate(n);
                } else if let Ok(m) = d.get_document("$map") {
                    check_bound(m.get("input").unwrap(), bound);
                    bound.push(m.get_str("as").unwrap().to_owned());
                    check_bound(m.get("in").unwrap(), bound);
                    bound.pop();
                } else {
                    d.values().for_each(|v| check_bound(v, bound));
                }
            }
            _ => {}
        }
    }

    fn count(value: &Bson, needle: &str) -> usize {
        match value {
            Bson::Array(items) => items.iter().map(|i| count(i, needle)).sum(),
            Bson::Document(d) => d.iter().map(|(k, v)| usize::from(k == needle) + count(v, needle)).sum(),
            _ => 0,
        }
    }

    #[test]
    fn the_canonical_form_is_unrolled_once_per_level_and_sorts_only_by_name() {
        let by_name = document_hash(true);
        let strict = document_hash(false);
        check_bound(&by_name, &mut Vec::new());
        check_bound(&strict, &mut Vec::new());
        // One $objectToArray per level (linear, not 2^depth), sorted only by name.
        assert_eq!(count(&by_name, "$objectToArray"), CANONICAL_DEPTH);
        assert_eq!(count(&by_name, "$sortArray"), CANONICAL_DEPTH);
        assert_eq!(count(&strict, "$sortArray"), 0);
        // Doubles are made exact at every level, the last included.
        assert_eq!(count(&by_name, "$subtract"), CANONICAL_DEPTH + 1);
        let size = mongodb::bson::to_vec(&doc! { "h": by_name }).unwrap().len();
        assert!(size < 16 * 1024, "{size} bytes");
    }

    #[test]
    fn pipelines_match_the_range_first_and_return_small_documents() {
        let r = IdRange { lo: Some(Bson::Int32(1)), hi: Some(Bson::Int32(9)) };
        let h = document_hash(true);
        let chunk = chunk_hash(&r, &h);
        assert_eq!(chunk[0], doc! { "$match": { "_id": { "$gte": 1, "$lt": 9 } } });
        assert_eq!(chunk[2], doc! { "$project": { "_id": 0, "n": 1, "s": { "$toString": "$s" } } });
        assert_eq!(row_hashes(&r, &h)[1], doc! { "$project": { "_id": 1, "h": h.clone() } });
        assert_eq!(bracket_name(&Bson::Int64(1)), "number");
        assert_eq!(bracket_name(&Bson::String("a".into())), "string");
    }
}
