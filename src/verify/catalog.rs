//! What the engine needs to know of a table on each side: its columns with
//! their types, its primary key, its size estimate — and from that, the SQL
//! expressions that hash a row the same way on both servers.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::Mode;

/// A table, schema-qualified.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub schema: String,
    pub name: String,
}

impl TableName {
    /// `schema.table` (a name without a dot is in `public`).
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text.split_once('.') {
            Some((schema, name)) => Self { schema: schema.to_owned(), name: name.to_owned() },
            None => Self { schema: "public".to_owned(), name: text.to_owned() },
        }
    }

    /// Quoted for SQL.
    #[must_use]
    pub fn sql(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&self.name))
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// An identifier quoted for SQL.
#[must_use]
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal for SQL.
#[must_use]
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// One column as one server has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `format_type()`: what a parameter is cast to.
    pub type_sql: String,
    pub type_name: String,
    /// `e` enum, `d` domain, `b` base, `c` composite, `r` range.
    pub typtype: String,
    /// `A` for arrays.
    pub category: String,
    /// The element type's `typtype` for arrays (`e`: an array of enums).
    pub elem_typtype: Option<String>,
    /// Whether the type has a default hash operator class.
    pub hashable: bool,
    /// For a domain, its base type's name (else the type's own).
    pub base_type: String,
    /// The element type's name for arrays (`numeric` for `numeric[]`).
    pub elem_type: Option<String>,
    /// The collation in effect (the database's for `default`); `None` when
    /// the type is not collatable.
    pub collation: Option<String>,
}

/// A table as one server has it.
#[derive(Clone, Debug)]
pub struct TableInfo {
    pub columns: BTreeMap<String, Column>,
    /// Primary-key columns, in key order.
    pub primary_key: Vec<String>,
    pub estimated_rows: f64,
}

/// Every user table of a database.
///
/// # Errors
/// The catalog query failed.
pub async fn user_tables(client: &Client) -> Result<Vec<TableName>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' \
             AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1, 2",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| TableName { schema: r.get(0), name: r.get(1) }).collect())
}

const COLUMNS: &str = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text, \
    t.typtype::text, t.typcategory::text, e.typtype::text, \
    EXISTS (SELECT 1 FROM pg_opclass o JOIN pg_am m ON m.oid = o.opcmethod \
            WHERE m.amname = 'hash' AND o.opcdefault AND (o.opcintype = coalesce(nullif(t.typbasetype, 0), t.oid) \
              OR (t.typtype = 'e' AND o.opcintype = 'anyenum'::regtype) \
              OR (t.typcategory = 'A' AND o.opcintype = 'anyarray'::regtype) \
              OR (t.typtype = 'r' AND o.opcintype = 'anyrange'::regtype))), \
    coalesce(b.typname, t.typname)::text, e.typname::text, \
    CASE WHEN a.attcollation = 0 THEN NULL \
         WHEN co.collname = 'default' THEN (SELECT datcollate::text FROM pg_database WHERE datname = current_database()) \
         ELSE co.collname::text END \
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' \
    LEFT JOIN pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd' LEFT JOIN pg_collation co ON co.oid = a.attcollation \
    WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped";

const PRIMARY_KEY: &str = "SELECT a.attname::text FROM pg_index i \
    JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true \
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
    WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY k.pos";

/// The table's columns, key and size on one server; `None` when it does not exist there.
///
/// # Errors
/// A catalog query failed.
pub async fn describe(client: &Client, table: &TableName) -> Result<Option<TableInfo>, tokio_postgres::Error> {
    let exists = client.query_one("SELECT to_regclass($1::text)::oid IS NOT NULL", &[&table.sql()]).await?;
    if !exists.get::<_, bool>(0) {
        return Ok(None);
    }
    let regclass = table.sql();
    let columns = client
        .query(COLUMNS, &[&regclass])
        .await?
        .iter()
        .map(|r| {
            let c = Column {
                name: r.get(0),
                type_sql: r.get(1),
                type_name: r.get(2),
                typtype: r.get(3),
                category: r.get(4),
                elem_typtype: r.get(5),
                hashable: r.get(6),
                base_type: r.get(7),
                elem_type: r.get(8),
                collation: r.get(9),
            };
            (c.name.clone(), c)
        })
        .collect();
    let primary_key = client.query(PRIMARY_KEY, &[&regclass]).await?.iter().map(|r| r.get(0)).collect();
    let estimate = client
        .query_one("SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = $1::text::regclass", &[&regclass])
        .await?;
    Ok(Some(TableInfo { columns, primary_key, estimated_rows: estimate.get(0) }))
}

/// The column's histogram bounds (in the column's own order) when the
/// source has statistics with at least a few buckets; `None` otherwise.
///
/// # Errors
/// The statistics query failed.
pub async fn histogram_bounds(
    client: &Client,
    table: &TableName,
    column: &str,
) -> Result<Option<Vec<String>>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT histogram_bounds::text::text[] FROM pg_stats \
             WHERE schemaname = $1::text AND tablename = $2::text AND attname = $3::text AND NOT inherited",
            &[&table.schema, &table.name, &column],
        )
        .await?;
    let bounds: Option<Vec<String>> = row.and_then(|r| r.get(0));
    Ok(bounds.filter(|b| b.len() >= 3))
}

/// How one column enters the row hash, so that equal data hashes equal on
/// both servers whatever their settings (and, in portable mode, versions).
#[must_use]
pub fn column_expr(column: &Column, mode: Mode) -> String {
    let c = ident(&column.name);
    let enum_array = column.category == "A" && column.elem_typtype.as_deref() == Some("e");
    match mode {
        Mode::Typed => {
            if column.typtype == "e" {
                // Enums hash by OID, which differs between servers: hash the label.
                format!("{c}::text")
            } else if enum_array {
                format!("{c}::text[]")
            } else if column.type_name == "json" {
                // json has no hash function; jsonb ignores key order and spacing.
                format!("{c}::jsonb")
            } else if !column.hashable {
                format!("{c}::text")
            } else {
                c
            }
        }
        // The MongoDB modes never get here (`verify::run` refuses them for
        // PostgreSQL endpoints); portable is the safe reading.
        Mode::Portable | Mode::ByName | Mode::Strict => {
            match (column.base_type.as_str(), column.elem_type.as_deref()) {
                // Numeric scale differs in text (1.0 vs 1.00) but not in value.
                ("numeric", _) => format!("trim_scale({c})"),
                // Arrays of numerics: element by element (flattened, in order).
                (_, Some("numeric")) => format!(
                    "CASE WHEN {c} IS NULL THEN NULL ELSE \
                 ARRAY(SELECT trim_scale(x) FROM unnest({c}) WITH ORDINALITY AS u(x, n) ORDER BY n) END"
                ),
                ("json", _) => format!("{c}::jsonb"),
                ("money", _) => format!("{c}::numeric"),
                _ => c,
            }
        }
    }
}

/// A key column's value as it identifies a row in a difference report: the
/// same on both servers for equal keys (numeric scale removed).
#[must_use]
pub fn key_expr(column: &Column) -> String {
    let c = ident(&column.name);
    if column.base_type == "numeric" { format!("trim_scale({c})") } else { c }
}

/// The hash of one row over `columns` (in canonical, by-name order).
#[must_use]
pub fn row_hash(columns: &[&Column], mode: Mode) -> String {
    let exprs: Vec<String> = columns.iter().map(|c| column_expr(c, mode)).collect();
    match mode {
        Mode::Typed => format!("hash_record_extended(ROW({}), 0)", exprs.join(", ")),
        Mode::Portable | Mode::ByName | Mode::Strict => format!("hashtextextended(ROW({})::text, 0)", exprs.join(", ")),
    }
}

/// The session settings every verify connection runs with, so the text form
/// of a row is the same on both servers — and no parallel workers, so
/// `--jobs` is the whole of the load cutover puts on each server.
pub const PORTABLE_SETTINGS: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; \
    SET IntervalStyle = 'postgres'; SET bytea_output = 'hex'; SET statement_timeout = 0; SET lock_timeout = '5s'; \
    SET max_parallel_workers_per_gather = 0";
