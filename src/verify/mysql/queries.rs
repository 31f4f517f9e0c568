//! The SQL each side runs for one table: a range's count and hash sum (and
//! its zero dates), chunk boundaries, the keys that split a range, and
//! per-row hashes — the same questions as [`crate::verify::sql`] asks two
//! PostgreSQL servers, over the canonical row text of [`super::canonical`].
//!
//! A row's hash is the first 60 bits of the SHA-256 of its text (MySQL
//! `CAST(CONV(LEFT(SHA2(r, 256), 15), 16, 10) AS UNSIGNED)`, PostgreSQL
//! `('x' || left(encode(sha256(…), 'hex'), 15))::bit(60)::bigint`); a range's
//! is their exact sum (DECIMAL / numeric) with the count. SHA-256, not MD5:
//! MariaDB's MD5 costs about three times more per call. A jsonb column's
//! value joins the hash as `XOR h(i ':' text)` (computed in Rust on the
//! MySQL side, see [`super::json`]). Bounds are text parameters cast to each
//! side's key type.

use super::super::catalog::ident as pg_ident;
use super::super::sql::Range;
use super::canonical::{Canon, MyColumn, Pair, my_ident};
use super::keys::KeyColumn;

/// Nullable columns per mask field (the mask is a sum of powers of two).
const MASK_BITS: usize = 60;

/// The row's canonical text and its hash, on both sides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowForm {
    pub my_hash: String,
    pub pg_hash: String,
    /// The MySQL expressions of the jsonb columns' texts, in order.
    pub my_json: Vec<String>,
    /// The MySQL expressions that are 1 for a zero date, per dated column.
    pub my_zero_dates: Vec<(String, String)>,
}

impl RowForm {
    /// `columns`: the compared pairs in MySQL's column order.
    #[must_use]
    pub fn new(columns: &[(MyColumn, Pair)], pg_names: &[String]) -> Self {
        let mut my_fields = Vec::new();
        let mut pg_fields = Vec::new();
        let mut my_json = Vec::new();
        let mut pg_json = Vec::new();
        let mut my_mask = Vec::new();
        let mut pg_mask = Vec::new();
        let mut my_zero_dates = Vec::new();
        for ((my, pair), pg_name) in columns.iter().zip(pg_names) {
            if matches!(pair.canon, Canon::Skipped { .. }) {
                continue;
            }
            let (m, p) = (my_ident(&my.name), pg_ident(pg_name));
            if my.nullable || my.dated() {
                let my_null =
                    if my.dated() { format!("{m} IS NULL OR {}", my.zero_date()) } else { format!("{m} IS NULL") };
                my_mask.push(format!("({my_null})"));
                pg_mask.push(format!("({p} IS NULL)::int::int8"));
            }
            if my.dated() {
                my_zero_dates.push((my.name.clone(), my.zero_date()));
            }
            match &pair.canon {
                Canon::Hashed { my, pg, text_like: true } => {
                    my_fields.push(format!("LENGTH({my}), {my}"));
                    pg_fields.push(format!("octet_length({pg}), {pg}"));
                }
                Canon::Hashed { my, pg, text_like: false } => {
                    my_fields.push(my.clone());
                    pg_fields.push(pg.clone());
                }
                Canon::Json { my, pg } => {
                    let i = my_json.len();
                    my_json.push(my.clone());
                    pg_json.push(format!("coalesce({}, 0)", pg_h60(&format!("'{i}:' || {pg}"))));
                }
                Canon::Skipped { .. } => {}
            }
        }
        for group in my_mask.chunks(MASK_BITS) {
            my_fields.push(weighted(group));
        }
        for group in pg_mask.chunks(MASK_BITS) {
            pg_fields.push(weighted(group));
        }
        if my_fields.is_empty() {
            my_fields.push("''".to_owned());
            pg_fields.push("''".to_owned());
        }
        let my_row = format!("CONCAT_WS(',', {})", my_fields.join(", "));
        let pg_row = format!("concat_ws(',', {})", pg_fields.join(", "));
        let mut pg_hash = pg_h60(&pg_row);
        for term in pg_json {
            pg_hash = format!("({pg_hash} # {term})");
        }
        Self { my_hash: my_h60(&my_row), pg_hash, my_json, my_zero_dates }
    }
}

/// `(a) + 2 * (b) + 4 * (c) …`
fn weighted(terms: &[String]) -> String {
    let parts: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| if i == 0 { t.clone() } else { format!("{} * {t}", 1_u64 << i) })
        .collect();
    format!("({})", parts.join(" + "))
}

/// The first 60 bits of SHA-256 of a MySQL text, as an unsigned integer.
#[must_use]
pub fn my_h60(text: &str) -> String {
    format!("CAST(CONV(LEFT(SHA2({text}, 256), 15), 16, 10) AS UNSIGNED)")
}

/// The first 60 bits of SHA-256 of a PostgreSQL text, as a bigint.
#[must_use]
pub fn pg_h60(text: &str) -> String {
    format!("('x' || left(encode(sha256(convert_to({text}, 'UTF8')), 'hex'), 15))::bit(60)::bigint")
}

/// A query and its parameters.
pub type Query = (String, Vec<String>);

/// One table's SQL on the MySQL side.
#[derive(Clone, Debug)]
pub struct MySql {
    pub table: String,
    pub key: Vec<KeyColumn>,
    pub row: RowForm,
}

/// `k1 > p1 OR (k1 = p1 AND … kn OP pn)` over the key's columns, and which
/// bound value each `?` takes.
fn my_lexicographic(key: &[KeyColumn], strict: &str, last: &str) -> (String, Vec<usize>) {
    let n = key.len();
    let mut sql = format!("{} {last} {}", key[n - 1].my_order, key[n - 1].my_param);
    let mut params = vec![n - 1];
    for i in (0..n - 1).rev() {
        let (o, p) = (&key[i].my_order, &key[i].my_param);
        sql = format!("({o} {strict} {p} OR ({o} = {p} AND {sql}))");
        let mut before = vec![i, i];
        before.extend(params);
        params = before;
    }
    (sql, params)
}

impl MySql {
    #[must_use]
    pub fn new(table: String, key: Vec<KeyColumn>, row: RowForm) -> Self {
        Self { table, key, row }
    }

    /// Whether rows are hashed in Rust (a jsonb column).
    #[must_use]
    pub fn in_rust(&self) -> bool {
        !self.row.my_json.is_empty()
    }

    fn filter(&self, range: &Range) -> Query {
        let mut parts = Vec::new();
        let mut params = Vec::new();
        for (bound, strict, last) in [(&range.lo, ">", ">="), (&range.hi, "<", "<")] {
            if let Some(values) = bound {
                let (sql, which) = my_lexicographic(&self.key, strict, last);
                parts.push(sql);
                params.extend(which.into_iter().map(|i| values[i].clone()));
            }
        }
        let clause = if parts.is_empty() { String::new() } else { format!(" WHERE {}", parts.join(" AND ")) };
        (clause, params)
    }

    fn key_texts(&self) -> String {
        let texts: Vec<String> =
            self.key.iter().enumerate().map(|(i, k)| format!("{} AS cutover_k{i}", k.my_text)).collect();
        texts.join(", ")
    }

    fn order(&self) -> String {
        self.key.iter().map(|k| k.my_order.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Count, hash sum and zero dates per dated column, as texts (no jsonb column).
    #[must_use]
    pub fn chunk_hash(&self, range: &Range) -> Query {
        let (filter, params) = self.filter(range);
        let mut outputs =
            vec!["CAST(COUNT(*) AS CHAR)".to_owned(), format!("CAST(COALESCE(SUM({}), 0) AS CHAR)", self.row.my_hash)];
        outputs.extend(self.row.my_zero_dates.iter().map(|(_, z)| format!("CAST(COALESCE(SUM({z}), 0) AS CHAR)")));
        (format!("SELECT {} FROM {}{filter}", outputs.join(", "), self.table), params)
    }

    /// Each row: (its key texts if `keys`), the hash of its text without the
    /// jsonb columns, their texts, its zero dates; in key order if `ordered`.
    #[must_use]
    pub fn rows(&self, range: &Range, keys: bool, ordered: bool) -> Query {
        let (filter, params) = self.filter(range);
        let mut outputs = Vec::new();
        if keys {
            outputs.push(self.key_texts());
        }
        outputs.push(self.row.my_hash.clone());
        outputs.extend(self.row.my_json.iter().cloned());
        outputs.extend(self.row.my_zero_dates.iter().map(|(_, z)| format!("({z}) + 0")));
        let order = if ordered { format!(" ORDER BY {}", self.order()) } else { String::new() };
        (format!("SELECT {} FROM {}{filter}{order}", outputs.join(", "), self.table), params)
    }

    /// The key `offset` rows on from `lo` (inclusive) in key order.
    #[must_use]
    pub fn boundary(&self, lo: Option<&Vec<String>>, offset: u64) -> Query {
        let (filter, params) = self.filter(&Range { lo: lo.cloned(), hi: None });
        let sql = format!(
            "SELECT {} FROM {}{filter} ORDER BY {} LIMIT 1 OFFSET {offset}",
            self.key_texts(),
            self.table,
            self.order()
        );
        (sql, params)
    }

    /// The keys of `range` in key order (bisection keeps every n-th).
    #[must_use]
    pub fn keys(&self, range: &Range) -> Query {
        let (filter, params) = self.filter(range);
        (format!("SELECT {} FROM {}{filter} ORDER BY {}", self.key_texts(), self.table, self.order()), params)
    }
}

/// One table's SQL on the PostgreSQL side.
#[derive(Clone, Debug)]
pub struct PgSql {
    pub table: String,
    pub key: Vec<KeyColumn>,
    pub hash: String,
}

impl PgSql {
    fn filter(&self, range: &Range, first: usize) -> Query {
        let tuple = |n: usize| {
            let params: Vec<String> = self.key.iter().enumerate().map(|(i, k)| k.pg_param_at(n + i)).collect();
            let orders: Vec<&str> = self.key.iter().map(|k| k.pg_order.as_str()).collect();
            (format!("ROW({})", orders.join(", ")), format!("ROW({})", params.join(", ")))
        };
        let mut parts = Vec::new();
        let mut params = Vec::new();
        for (bound, op) in [(&range.lo, ">="), (&range.hi, "<")] {
            if let Some(values) = bound {
                let (columns, casts) = tuple(first + params.len());
                parts.push(format!("{columns} {op} {casts}"));
                params.extend(values.iter().cloned());
            }
        }
        let clause = if parts.is_empty() { String::new() } else { format!(" WHERE {}", parts.join(" AND ")) };
        (clause, params)
    }

    fn key_texts(&self) -> String {
        let texts: Vec<String> =
            self.key.iter().enumerate().map(|(i, k)| format!("{} AS cutover_k{i}", k.pg_text)).collect();
        texts.join(", ")
    }

    fn order(&self) -> String {
        self.key.iter().map(|k| k.pg_order.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Count and hash sum (as text).
    #[must_use]
    pub fn chunk_hash(&self, range: &Range) -> Query {
        let (filter, params) = self.filter(range, 1);
        (format!("SELECT count(*)::int8, coalesce(sum({}), 0)::text FROM {}{filter}", self.hash, self.table), params)
    }

    /// See [`MySql::boundary`].
    #[must_use]
    pub fn boundary(&self, lo: Option<&Vec<String>>, offset: u64) -> Query {
        let (filter, params) = self.filter(&Range { lo: lo.cloned(), hi: None }, 1);
        let sql = format!(
            "SELECT {} FROM {}{filter} ORDER BY {} OFFSET {offset} LIMIT 1",
            self.key_texts(),
            self.table,
            self.order()
        );
        (sql, params)
    }

    /// See [`MySql::split_points`].
    #[must_use]
    pub fn split_points(&self, range: &Range, step: u64) -> Query {
        let (filter, params) = self.filter(range, 1);
        let names: Vec<String> = (0..self.key.len()).map(|i| format!("cutover_k{i}")).collect();
        let sql = format!(
            "SELECT {} FROM (SELECT {}, row_number() OVER (ORDER BY {}) AS cutover_rn FROM {}{filter}) s \
             WHERE cutover_rn > 1 AND cutover_rn % {step} = 1 ORDER BY cutover_rn",
            names.join(", "),
            self.key_texts(),
            self.order(),
            self.table
        );
        (sql, params)
    }

    /// Each row's key texts and hash.
    #[must_use]
    pub fn row_hashes(&self, range: &Range) -> Query {
        let (filter, params) = self.filter(range, 1);
        (format!("SELECT {}, {} FROM {}{filter}", self.key_texts(), self.hash, self.table), params)
    }
}

#[cfg(test)]
mod tests {
    use super::super::canonical::pair;
    use super::super::keys::key_column;
    use super::*;
    use crate::verify::catalog::Column;

    fn my(name: &str, data_type: &str, nullable: bool) -> MyColumn {
        MyColumn {
            name: name.into(),
            data_type: data_type.into(),
            column_type: data_type.into(),
            scale: None,
            fsp: None,
            charset: Some("utf8mb4".into()),
            collation: None,
            nullable,
        }
    }

    fn pg(name: &str, base: &str) -> Column {
        Column {
            name: name.into(),
            type_sql: base.into(),
            type_name: base.into(),
            typtype: "b".into(),
            category: "X".into(),
            elem_typtype: None,
            hashable: true,
            base_type: base.into(),
            elem_type: None,
            collation: None,
        }
    }

    #[test]
    fn the_row_text_length_prefixes_texts_and_ends_with_the_null_mask() {
        let cols = [(my("id", "bigint", false), pg("id", "int8")), (my("note", "varchar", true), pg("note", "text"))];
        let pairs: Vec<(MyColumn, Pair)> = cols.iter().map(|(m, p)| (m.clone(), pair(m, p))).collect();
        let row = RowForm::new(&pairs, &["id".to_owned(), "note".to_owned()]);
        assert_eq!(
            row.my_hash,
            "CAST(CONV(LEFT(SHA2(CONCAT_WS(',', `id`+0, LENGTH(`note`), `note`, ((`note` IS NULL))), 256), 15), 16, 10) \
             AS UNSIGNED)"
        );
        assert!(
            row.pg_hash.contains(
                "concat_ws(',', \"id\", octet_length(\"note\"::text), \"note\"::text, ((\"note\" IS NULL)::int::int8))"
            ),
            "{}",
            row.pg_hash
        );
    }

    #[test]
    fn composite_bounds_expand_on_mysql_and_stay_rows_on_postgresql() {
        let key = vec![
            key_column(&my("a", "int", false), &pg("a", "int8")).unwrap(),
            key_column(&my("b", "int", false), &pg("b", "int8")).unwrap(),
        ];
        let sql = MySql::new("`d`.`t`".into(), key.clone(), RowForm::default());
        let range = Range { lo: Some(vec!["1".into(), "2".into()]), hi: Some(vec!["3".into(), "4".into()]) };
        let (text, params) = sql.chunk_hash(&range);
        assert!(
            text.ends_with(
                "WHERE (`a` > CAST(? AS SIGNED) OR (`a` = CAST(? AS SIGNED) AND `b` >= CAST(? AS SIGNED))) \
                 AND (`a` < CAST(? AS SIGNED) OR (`a` = CAST(? AS SIGNED) AND `b` < CAST(? AS SIGNED)))"
            ),
            "{text}"
        );
        assert_eq!(params, vec!["1", "1", "2", "3", "3", "4"]);
        let pg_sql = PgSql { table: "\"d\".\"t\"".into(), key, hash: "h".into() };
        let (text, params) = pg_sql.chunk_hash(&range);
        assert!(text.ends_with(
            "WHERE ROW(\"a\", \"b\") >= ROW(($1::text)::int8, ($2::text)::int8) AND ROW(\"a\", \"b\") < ROW(($3::text)::int8, ($4::text)::int8)"
        ), "{text}");
        assert_eq!(params, vec!["1", "2", "3", "4"]);
    }
}
