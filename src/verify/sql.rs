//! The SQL the engine sends for one table on one side: a chunk's count and
//! hash sum, chunk boundaries walked along the primary-key index, split
//! points inside a range, and per-row hashes for the last step of bisection.
//!
//! Key values travel as text parameters cast to each side's own column type,
//! so any key type works, composite keys included.

use super::Mode;
use super::catalog::{Column, TableName, ident, key_expr, literal, row_hash};

/// A half-open range of primary-key values: `lo <= key < hi`; `None` is open.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Range {
    pub lo: Option<Vec<String>>,
    pub hi: Option<Vec<String>>,
}

/// The SQL for one table on one side.
#[derive(Clone, Debug)]
pub struct TableSql {
    table: String,
    key: Vec<Column>,
    hash: String,
    /// Compare text keys in the "C" collation (when the two sides' key
    /// collations differ, so both order and cut ranges the same way).
    bytewise: bool,
}

impl TableSql {
    /// `columns`: the columns both sides have, in canonical (by-name) order;
    /// `key`: the primary key columns, in key order, as this side types them.
    #[must_use]
    pub fn new(table: &TableName, columns: &[&Column], key: Vec<Column>, mode: Mode) -> Self {
        Self { table: table.sql(), key, hash: row_hash(columns, mode), bytewise: false }
    }

    /// Order and compare text keys bytewise (`COLLATE "C"`) on this side.
    #[must_use]
    pub fn bytewise(mut self) -> Self {
        self.bytewise = true;
        self
    }

    fn key_list(&self) -> String {
        self.key
            .iter()
            .map(|c| match (&c.collation, self.bytewise) {
                (Some(_), true) => format!("{} COLLATE \"C\"", ident(&c.name)),
                _ => ident(&c.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn tuple(&self) -> String {
        format!("ROW({})", self.key_list())
    }

    fn params(&self, first: usize) -> String {
        let casts: Vec<String> =
            self.key.iter().enumerate().map(|(i, c)| format!("(${}::text)::{}", first + i, c.type_sql)).collect();
        format!("ROW({})", casts.join(", "))
    }

    /// `WHERE …` for a range, and its parameters (starting at `$first`).
    fn filter(&self, range: &Range, first: usize) -> (String, Vec<String>) {
        let mut parts = Vec::new();
        let mut params = Vec::new();
        if let Some(lo) = &range.lo {
            parts.push(format!("{} >= {}", self.tuple(), self.params(first)));
            params.extend(lo.iter().cloned());
        }
        if let Some(hi) = &range.hi {
            parts.push(format!("{} < {}", self.tuple(), self.params(first + params.len())));
            params.extend(hi.iter().cloned());
        }
        let clause = if parts.is_empty() { String::new() } else { format!(" WHERE {}", parts.join(" AND ")) };
        (clause, params)
    }

    /// `count(*)` and the sum of row hashes (as text: it is a numeric).
    #[must_use]
    pub fn chunk_hash(&self, range: &Range) -> (String, Vec<String>) {
        let (filter, params) = self.filter(range, 1);
        (format!("SELECT count(*)::int8, coalesce(sum({}), 0)::text FROM {}{filter}", self.hash, self.table), params)
    }

    /// A query over `range` with one more parameter, `number`: `sql` writes
    /// it from the range's `WHERE` clause and that parameter's position.
    fn with_number(
        &self,
        range: &Range,
        number: u64,
        sql: impl FnOnce(&str, usize) -> String,
    ) -> (String, Vec<String>) {
        let (filter, mut params) = self.filter(range, 1);
        let sql = sql(&filter, params.len() + 1);
        params.push(number.to_string());
        (sql, params)
    }

    /// The key columns as text, aliased `cutover_k0`, `cutover_k1`, … (so
    /// that ORDER BY sorts by the key columns, not by their text).
    fn key_texts(&self) -> String {
        let texts: Vec<String> =
            self.key.iter().enumerate().map(|(i, c)| format!("{}::text AS cutover_k{i}", ident(&c.name))).collect();
        texts.join(", ")
    }

    /// The key `offset` rows after `from` (inclusive) in key order: the next
    /// chunk boundary. One index-only walk over the keys.
    #[must_use]
    pub fn boundary(&self, from: &Range, offset: u64) -> (String, Vec<String>) {
        self.with_number(&Range { lo: from.lo.clone(), hi: None }, offset, |filter, n| {
            format!(
                "SELECT {} FROM {}{filter} ORDER BY {} OFFSET (${n}::text)::int8 LIMIT 1",
                self.key_texts(),
                self.table,
                self.key_list()
            )
        })
    }

    /// Keys that cut `range` into pieces of about `step` rows.
    #[must_use]
    pub fn split_points(&self, range: &Range, step: u64) -> (String, Vec<String>) {
        let texts: Vec<String> = self.key.iter().map(|c| format!("{}::text", ident(&c.name))).collect();
        self.with_number(range, step, |filter, n| {
            format!(
                "SELECT {} FROM (SELECT {}, row_number() OVER (ORDER BY {}) AS cutover_rn FROM {}{filter}) s \
                 WHERE cutover_rn > 1 AND cutover_rn % (${n}::text)::int8 = 1 ORDER BY cutover_rn",
                texts.join(", "),
                self.key_list(),
                self.key_list(),
                self.table
            )
        })
    }

    /// In one pass, `range` cut into buckets of `step` rows in key order:
    /// per bucket its row count, hash sum, and first key. (The key of the
    /// first bucket is not a cut: that bucket starts at the range's own start.)
    #[must_use]
    pub fn buckets(&self, range: &Range, step: u64) -> (String, Vec<String>) {
        self.with_number(range, step, |filter, n| {
            let firsts: Vec<String> = (0..self.key.len())
                .map(|i| format!("max(CASE WHEN (cutover_rn - 1) % (${n}::text)::int8 = 0 THEN cutover_k{i} END)"))
                .collect();
            format!(
                "SELECT count(*)::int8, coalesce(sum(cutover_h), 0)::text, {} FROM \
                 (SELECT {}, {} AS cutover_h, row_number() OVER (ORDER BY {}) AS cutover_rn FROM {}{filter}) s \
                 GROUP BY (cutover_rn - 1) / (${n}::text)::int8 ORDER BY (cutover_rn - 1) / (${n}::text)::int8",
                firsts.join(", "),
                self.key_texts(),
                self.hash,
                self.key_list(),
                self.table
            )
        })
    }

    /// Each row's key (as a JSON object) and hash.
    #[must_use]
    pub fn row_hashes(&self, range: &Range) -> (String, Vec<String>) {
        let (filter, params) = self.filter(range, 1);
        let pairs: Vec<String> = self.key.iter().map(|c| format!("{}, {}", literal(&c.name), key_expr(c))).collect();
        (
            format!("SELECT jsonb_build_object({})::text, {} FROM {}{filter}", pairs.join(", "), self.hash, self.table),
            params,
        )
    }

    /// The whole table's count and hash sum (tables without a primary key).
    #[must_use]
    pub fn whole_table(&self) -> String {
        format!("SELECT count(*)::int8, coalesce(sum({}), 0)::text FROM {}", self.hash, self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            type_sql: ty.into(),
            type_name: ty.into(),
            typtype: "b".into(),
            category: "N".into(),
            elem_typtype: None,
            hashable: true,
            base_type: ty.into(),
            elem_type: None,
            collation: None,
        }
    }

    #[test]
    fn ranges_become_row_comparisons_with_typed_text_parameters() {
        let key = vec![col("region", "text"), col("id", "bigint")];
        let all = [&key[0], &key[1]];
        let sql = TableSql::new(&TableName::parse("app.orders"), &all, key.clone(), Mode::Typed);
        let range = Range { lo: Some(vec!["eu".into(), "7".into()]), hi: Some(vec!["us".into(), "1".into()]) };
        let (text, params) = sql.chunk_hash(&range);
        assert_eq!(
            text,
            "SELECT count(*)::int8, coalesce(sum(hash_record_extended(ROW(\"region\", \"id\"), 0)), 0)::text \
             FROM \"app\".\"orders\" WHERE ROW(\"region\", \"id\") >= ROW(($1::text)::text, ($2::text)::bigint) \
             AND ROW(\"region\", \"id\") < ROW(($3::text)::text, ($4::text)::bigint)"
        );
        assert_eq!(params, vec!["eu", "7", "us", "1"]);
        let (text, params) = sql.boundary(&Range::default(), 100);
        assert_eq!(
            text,
            "SELECT \"region\"::text AS cutover_k0, \"id\"::text AS cutover_k1 FROM \"app\".\"orders\" \
             ORDER BY \"region\", \"id\" OFFSET ($1::text)::int8 LIMIT 1"
        );
        assert_eq!(params, vec!["100"]);
    }
}
