//! The canonical text of a value, written once for each side: for a MySQL
//! column and the PostgreSQL column it was loaded into, one SQL expression
//! per server whose text is the same bytes for equal data, across the two
//! type systems (pgloader's default casts and the usual manual ones).
//!
//! A row's text joins its columns' texts with `,` (MySQL `CONCAT_WS`,
//! PostgreSQL `concat_ws`, both skipping NULLs) and ends with a mask of the
//! NULL columns; text-like values are preceded by their length in bytes, so
//! nothing inside them can shift a field. Pairs without a canonical form are
//! [`Canon::Skipped`] (named in the table's warning); pairs this module does
//! not know are compared as text with a note: a false difference is
//! possible there, a false equality is not.
//!
//! Measured choices and what each server prints are in
//! `/work/notes/canonical.md` (the README's verify section sums them up).

use super::super::catalog::{Column, ident as pg_ident};

/// One column as MySQL describes it (`information_schema.COLUMNS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyColumn {
    pub name: String,
    /// `DATA_TYPE`, lower case: `int`, `decimal`, `longtext`, `json`, …
    pub data_type: String,
    /// `COLUMN_TYPE`, lower case: `tinyint(1) unsigned`, `bit(8)`, …
    pub column_type: String,
    /// `NUMERIC_SCALE` (decimals).
    pub scale: Option<u32>,
    /// `DATETIME_PRECISION` (fractional digits of DATETIME, TIMESTAMP, TIME).
    pub fsp: Option<u32>,
    /// `CHARACTER_SET_NAME` (text types).
    pub charset: Option<String>,
    /// `COLLATION_NAME` (text types).
    pub collation: Option<String>,
    pub nullable: bool,
}

/// A MySQL identifier quoted.
#[must_use]
pub fn my_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// What kind of value a MySQL column holds, as far as comparing goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MyFamily {
    Integer,
    Decimal { scale: u32 },
    Float,
    Date,
    DateTime { fsp: u32 },
    Time { fsp: u32 },
    Bit { width: u32 },
    Text { utf8mb4: bool },
    Enum,
    Set,
    Binary,
    Json,
    Uuid,
    Spatial,
    Other,
}

impl MyColumn {
    #[must_use]
    pub fn family(&self) -> MyFamily {
        match self.data_type.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => MyFamily::Integer,
            "decimal" | "numeric" => MyFamily::Decimal { scale: self.scale.unwrap_or(0) },
            "float" | "double" | "real" | "double precision" => MyFamily::Float,
            "date" => MyFamily::Date,
            "datetime" | "timestamp" => MyFamily::DateTime { fsp: self.fsp.unwrap_or(0) },
            "time" => MyFamily::Time { fsp: self.fsp.unwrap_or(0) },
            "bit" => MyFamily::Bit { width: width_of(&self.column_type).unwrap_or(1) },
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => {
                MyFamily::Text { utf8mb4: self.charset.as_deref() == Some("utf8mb4") }
            }
            "enum" => MyFamily::Enum,
            "set" => MyFamily::Set,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => MyFamily::Binary,
            "json" => MyFamily::Json,
            "uuid" => MyFamily::Uuid,
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
            | "geometrycollection" | "geomcollection" => MyFamily::Spatial,
            _ => MyFamily::Other,
        }
    }

    /// Whether the column may hold a zero date (`0000-00-00`, or a zero
    /// month or day), which PostgreSQL cannot.
    #[must_use]
    pub fn dated(&self) -> bool {
        matches!(self.family(), MyFamily::Date | MyFamily::DateTime { .. })
    }

    /// `MONTH(x) = 0 OR DAYOFMONTH(x) = 0`: a zero date (MySQL side).
    #[must_use]
    pub fn zero_date(&self) -> String {
        let c = my_ident(&self.name);
        format!("(MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0)")
    }
}

/// `bit(8)` → 8.
fn width_of(column_type: &str) -> Option<u32> {
    let open = column_type.find('(')?;
    let close = column_type[open..].find(')')? + open;
    column_type[open + 1..close].split(',').next()?.trim().parse().ok()
}

/// What kind of value a PostgreSQL column holds, as far as comparing goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgFamily {
    Int,
    Numeric {
        scale: Option<u32>,
    },
    Bool,
    Float,
    Date,
    Timestamptz,
    Timestamp,
    Time,
    Bit,
    Text,
    Enum,
    /// An array of enums or texts (pgloader's SET).
    TextArray,
    Bytea,
    Json,
    Jsonb,
    Uuid,
    Other,
}

/// The PostgreSQL column's family.
#[must_use]
pub fn pg_family(column: &Column) -> PgFamily {
    if column.typtype == "e" {
        return PgFamily::Enum;
    }
    if column.category == "A" {
        let text_elem = matches!(column.elem_type.as_deref(), Some("text" | "varchar" | "bpchar"));
        return if column.elem_typtype.as_deref() == Some("e") || text_elem {
            PgFamily::TextArray
        } else {
            PgFamily::Other
        };
    }
    match column.base_type.as_str() {
        "int2" | "int4" | "int8" => PgFamily::Int,
        "numeric" => PgFamily::Numeric { scale: width_of(&column.type_sql).and(scale_of(&column.type_sql)) },
        "bool" => PgFamily::Bool,
        "float4" | "float8" => PgFamily::Float,
        "date" => PgFamily::Date,
        "timestamptz" => PgFamily::Timestamptz,
        "timestamp" => PgFamily::Timestamp,
        "time" => PgFamily::Time,
        "bit" | "varbit" => PgFamily::Bit,
        "text" | "varchar" | "bpchar" | "name" | "citext" => PgFamily::Text,
        "bytea" => PgFamily::Bytea,
        "json" => PgFamily::Json,
        "jsonb" => PgFamily::Jsonb,
        "uuid" => PgFamily::Uuid,
        _ => PgFamily::Other,
    }
}

/// `numeric(12,3)` → 3; `numeric(10)` → 0.
fn scale_of(type_sql: &str) -> Option<u32> {
    let open = type_sql.find('(')?;
    let close = type_sql[open..].find(')')? + open;
    let inner = &type_sql[open + 1..close];
    Some(inner.split(',').nth(1).and_then(|s| s.trim().parse().ok()).unwrap_or(0))
}

/// How one column pair enters the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Canon {
    /// Hashed on both servers: each side's expression of the value's text
    /// (NULL for NULL); `text_like` values go in with their length first.
    Hashed { my: String, pg: String, text_like: bool },
    /// A jsonb target: the MySQL side's text is fetched and written as
    /// jsonb writes it ([`super::json::jsonb_text`]); `pg` is jsonb's text.
    Json { my: String, pg: String },
    /// Not compared; the reason names the types.
    Skipped { reason: String },
}

/// One column pair's canonical form, and a note for the table's warning
/// (compared as text, lossy on purpose, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub canon: Canon,
    pub note: Option<String>,
}

/// `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM x))`: the fraction's
/// zeros dropped (only for texts that have a fraction).
fn my_trim_fraction(x: &str) -> String {
    format!("TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {x}))")
}

/// A zero date as NULL (pgloader's zero-dates-to-null).
fn my_zero_null(column: &MyColumn, x: &str) -> String {
    format!("IF({}, NULL, {x})", column.zero_date())
}

/// The canonical pair for `my` loaded into `pg`.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn pair(my: &MyColumn, pg: &Column) -> Pair {
    let m = my_ident(&my.name);
    let p = pg_ident(&pg.name);
    let pf = pg_family(pg);
    let hashed = |my: String, pg: String| Pair { canon: Canon::Hashed { my, pg, text_like: false }, note: None };
    let text = |my: String, pg: String| Pair { canon: Canon::Hashed { my, pg, text_like: true }, note: None };
    let integer_pg = match pf {
        PgFamily::Int => Some(p.clone()),
        PgFamily::Numeric { .. } => Some(format!("trim_scale({p})")),
        PgFamily::Bool => Some(format!("{p}::int")),
        _ => None,
    };
    let utf8 = |x: &str, utf8mb4: bool| if utf8mb4 { x.to_owned() } else { format!("CONVERT({x} USING utf8mb4)") };
    let found = match (my.family(), pf) {
        (MyFamily::Integer, _) if integer_pg.is_some() => integer_pg.map(|pg| hashed(format!("{m}+0"), pg)),
        (MyFamily::Decimal { scale }, PgFamily::Numeric { scale: Some(s) }) if s == scale => {
            Some(hashed(format!("{m}+0"), p.clone()))
        }
        (MyFamily::Decimal { scale }, PgFamily::Numeric { .. } | PgFamily::Int) => {
            let mine = if scale == 0 { format!("{m}+0") } else { my_trim_fraction(&format!("{m}+0")) };
            let theirs = if pf == PgFamily::Int { p.clone() } else { format!("trim_scale({p})") };
            Some(hashed(mine, theirs))
        }
        (MyFamily::Float, PgFamily::Float | PgFamily::Numeric { .. } | PgFamily::Int) => {
            Some(hashed(my_digits(&format!("CAST({m} AS CHAR)")), pg_digits(&format!("{p}::text"))))
        }
        (MyFamily::Date, PgFamily::Date) => Some(hashed(my_zero_null(my, &m), p.clone())),
        (MyFamily::DateTime { fsp }, PgFamily::Timestamptz | PgFamily::Timestamp) => {
            let mine = if fsp == 0 { m.clone() } else { my_trim_fraction(&m) };
            let theirs = if pf == PgFamily::Timestamptz {
                format!("({p} AT TIME ZONE 'UTC')::text")
            } else {
                format!("{p}::text")
            };
            Some(hashed(my_zero_null(my, &mine), theirs))
        }
        (MyFamily::Time { fsp }, PgFamily::Time) => {
            Some(hashed(if fsp == 0 { m.clone() } else { my_trim_fraction(&m) }, format!("{p}::text")))
        }
        (MyFamily::Bit { width }, PgFamily::Bit) => {
            Some(hashed(format!("LPAD(BIN({m}+0), {width}, '0')"), format!("{p}::text")))
        }
        (MyFamily::Bit { .. }, PgFamily::Bool | PgFamily::Int | PgFamily::Numeric { .. }) => {
            integer_pg.map(|pg| hashed(format!("{m}+0"), pg))
        }
        (MyFamily::Text { utf8mb4 }, PgFamily::Text | PgFamily::Json | PgFamily::Enum) => {
            Some(text(utf8(&m, utf8mb4), format!("{p}::text")))
        }
        (MyFamily::Json, PgFamily::Text | PgFamily::Json) => Some(text(utf8(&m, true), format!("{p}::text"))),
        (MyFamily::Text { utf8mb4 }, PgFamily::Jsonb) => {
            Some(Pair { canon: Canon::Json { my: utf8(&m, utf8mb4), pg: format!("{p}::text") }, note: None })
        }
        (MyFamily::Json, PgFamily::Jsonb) => {
            Some(Pair { canon: Canon::Json { my: utf8(&m, true), pg: format!("{p}::text") }, note: None })
        }
        (MyFamily::Enum, PgFamily::Enum | PgFamily::Text) => Some(text(m.clone(), format!("{p}::text"))),
        (MyFamily::Set, PgFamily::TextArray) => Some(text(m.clone(), format!("array_to_string({p}, ',')"))),
        (MyFamily::Set, PgFamily::Text) => Some(text(m.clone(), format!("{p}::text"))),
        (MyFamily::Binary, PgFamily::Bytea) => Some(hashed(format!("LOWER(HEX({m}))"), format!("encode({p}, 'hex')"))),
        (MyFamily::Uuid, PgFamily::Uuid | PgFamily::Text) => {
            Some(hashed(format!("CAST({m} AS CHAR)"), format!("{p}::text")))
        }
        (MyFamily::Spatial, _) => {
            return Pair {
                canon: Canon::Skipped {
                    reason: format!("{} ({}): spatial values have no canonical form", my.name, my.data_type),
                },
                note: None,
            };
        }
        _ => None,
    };
    // An integer loaded into a boolean (pgloader's TINYINT(1)) compares as
    // 0 or 1: a 2 that became true shows as a different row, not a silent pass.
    found.unwrap_or_else(|| Pair {
        canon: Canon::Hashed { my: format!("CAST({m} AS CHAR)"), pg: format!("{p}::text"), text_like: true },
        note: Some(format!("{} ({} → {}) compared as text", my.name, my.column_type, pg.type_sql)),
    })
}

/// A float's text (`x`, any layout: `1e20`, `0.00000015`, `1.5e-07`) as
/// `[-]DIGITSeE`, meaning 0.DIGITS × 10^E without leading or trailing
/// zeros; zero (and -0) as `0`. MySQL side.
#[must_use]
pub fn my_digits(x: &str) -> String {
    let mantissa = format!("SUBSTRING_INDEX({x}, 'e', 1)");
    let exponent = format!("IF(LOCATE('e', {x}) > 0, CAST(SUBSTRING_INDEX({x}, 'e', -1) AS SIGNED), 0)");
    let unsigned = format!("TRIM(LEADING '-' FROM {mantissa})");
    let int = format!("SUBSTRING_INDEX({unsigned}, '.', 1)");
    let frac = format!("IF(LOCATE('.', {unsigned}) > 0, SUBSTRING_INDEX({unsigned}, '.', -1), '')");
    let all = format!("CONCAT({int}, {frac})");
    let led = format!("TRIM(LEADING '0' FROM {all})");
    let digits = format!("TRIM(TRAILING '0' FROM {led})");
    let e = format!("({exponent} + LENGTH({int}) - (LENGTH({all}) - LENGTH({led})))");
    format!("IF({digits} = '', '0', CONCAT(IF(LEFT({x}, 1) = '-', '-', ''), {digits}, 'e', {e}))")
}

/// [`my_digits`] on the PostgreSQL side.
#[must_use]
pub fn pg_digits(x: &str) -> String {
    let mantissa = format!("split_part({x}, 'e', 1)");
    let exponent = format!("coalesce(nullif(split_part({x}, 'e', 2), '')::int, 0)");
    let unsigned = format!("ltrim({mantissa}, '-')");
    let int = format!("split_part({unsigned}, '.', 1)");
    let frac = format!("split_part({unsigned}, '.', 2)");
    let all = format!("({int} || {frac})");
    let led = format!("ltrim({all}, '0')");
    let digits = format!("rtrim({led}, '0')");
    let e = format!("({exponent} + length({int}) - (length({all}) - length({led})))");
    format!(
        "CASE WHEN {x} IS NULL THEN NULL WHEN {digits} = '' THEN '0' ELSE \
         (CASE WHEN left({x}, 1) = '-' THEN '-' ELSE '' END) || {digits} || 'e' || {e} END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn my(name: &str, data_type: &str, column_type: &str) -> MyColumn {
        MyColumn {
            name: name.into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            scale: None,
            fsp: None,
            charset: None,
            collation: None,
            nullable: true,
        }
    }

    pub(crate) fn pg(name: &str, base: &str, type_sql: &str) -> Column {
        Column {
            name: name.into(),
            type_sql: type_sql.into(),
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

    fn hashed(p: &Pair) -> (&str, &str, bool) {
        match &p.canon {
            Canon::Hashed { my, pg, text_like } => (my, pg, *text_like),
            other => panic!("not hashed: {other:?}"),
        }
    }

    #[test]
    fn pgloaders_default_casts_have_their_forms() {
        let p = pair(&my("n", "bigint", "bigint(20) unsigned"), &pg("n", "numeric", "numeric"));
        assert_eq!(hashed(&p), ("`n`+0", "trim_scale(\"n\")", false));
        let p = pair(&my("b", "tinyint", "tinyint(1)"), &pg("b", "bool", "boolean"));
        assert_eq!(hashed(&p), ("`b`+0", "\"b\"::int", false));
        assert_eq!(p.note, None);
        let d = MyColumn { scale: Some(3), ..my("d", "decimal", "decimal(12,3)") };
        assert_eq!(hashed(&pair(&d, &pg("d", "numeric", "numeric(12,3)"))), ("`d`+0", "\"d\"", false));
        let trimmed = pair(&d, &pg("d", "numeric", "numeric"));
        let (mine, theirs, _) = hashed(&trimmed);
        assert_eq!((mine, theirs), ("TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM `d`+0))", "trim_scale(\"d\")"));
        let t = MyColumn { fsp: Some(6), ..my("t", "datetime", "datetime(6)") };
        let stamp = pair(&t, &pg("t", "timestamptz", "timestamp with time zone"));
        let (mine, theirs, _) = hashed(&stamp);
        assert!(mine.starts_with("IF((MONTH(`t`) = 0 OR DAYOFMONTH(`t`) = 0), NULL, TRIM("), "{mine}");
        assert_eq!(theirs, "(\"t\" AT TIME ZONE 'UTC')::text");
        let b = my("b8", "bit", "bit(8)");
        assert_eq!(hashed(&pair(&b, &pg("b8", "bit", "bit(8)"))).0, "LPAD(BIN(`b8`+0), 8, '0')");
        let bin = pair(&my("v", "varbinary", "varbinary(16)"), &pg("v", "bytea", "bytea"));
        assert_eq!(hashed(&bin), ("LOWER(HEX(`v`))", "encode(\"v\", 'hex')", false));
        let latin = MyColumn { charset: Some("latin1".into()), ..my("l", "varchar", "varchar(5)") };
        assert_eq!(hashed(&pair(&latin, &pg("l", "varchar", "character varying(5)"))).0, "CONVERT(`l` USING utf8mb4)");
        let set = Column { category: "A".into(), elem_typtype: Some("e".into()), ..pg("s", "_t_s", "t_s[]") };
        assert_eq!(hashed(&pair(&my("s", "set", "set('x','y')"), &set)).1, "array_to_string(\"s\", ',')");
    }

    #[test]
    fn jsonb_targets_are_normalised_in_rust_and_spatial_values_skipped() {
        let j = pair(&my("j", "longtext", "longtext"), &pg("j", "jsonb", "jsonb"));
        assert!(matches!(j.canon, Canon::Json { .. }), "{j:?}");
        let g = pair(&my("g", "point", "point"), &pg("g", "point", "point"));
        assert!(matches!(g.canon, Canon::Skipped { ref reason } if reason.contains("g (point)")), "{g:?}");
    }

    #[test]
    fn unknown_pairs_are_compared_as_text_with_a_note() {
        let p = pair(&my("x", "inet6", "inet6"), &pg("x", "inet", "inet"));
        assert_eq!(hashed(&p), ("CAST(`x` AS CHAR)", "\"x\"::text", true));
        assert_eq!(p.note.as_deref(), Some("x (inet6 → inet) compared as text"));
    }

    #[test]
    fn widths_and_scales_are_read_from_the_type() {
        assert_eq!(width_of("bit(8)"), Some(8));
        assert_eq!(scale_of("numeric(12,3)"), Some(3));
        assert_eq!(scale_of("numeric(10)"), Some(0));
        assert_eq!(scale_of("numeric"), None);
    }
}
