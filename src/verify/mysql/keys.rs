//! Primary-key columns on both sides: their canonical text (what a chunk
//! boundary and a difference's key are), the order both servers sort them
//! in, and how a boundary's text is cast back to the column's type.
//!
//! Text keys compare by their UTF-8 bytes on both servers
//! (`CAST(CONVERT(k USING utf8mb4) AS BINARY)` / `k COLLATE "C"`): MySQL's
//! usual collations ignore case (and even `utf8mb4_bin` ignores trailing
//! spaces), so its own order would cut ranges that hold other keys on the
//! PostgreSQL side. Integer, decimal, date and time, and binary keys compare
//! natively, on their indexes.

use super::super::catalog::{Column, ident as pg_ident};
use super::canonical::{MyColumn, MyFamily, PgFamily, my_ident, pg_family};

/// MySQL collations whose order is the bytes' (code points', no padding).
const BYTE_ORDER_COLLATIONS: [&str; 4] = ["utf8mb4_nopad_bin", "utf8mb3_nopad_bin", "utf8mb4_0900_bin", "binary"];

/// How a difference's key shows a value of this key column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyJson {
    Number,
    Text,
    /// `\x` and the hex digits, as PostgreSQL's jsonb shows a bytea.
    Bytes,
}

/// One primary-key column, both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyColumn {
    /// The MySQL column's name (the difference's key names it).
    pub name: String,
    pub my_text: String,
    pub my_order: String,
    /// With `?` for the boundary's text.
    pub my_param: String,
    /// Whether the MySQL key index serves `my_order`.
    pub my_native: bool,
    pub pg_text: String,
    pub pg_order: String,
    /// With `{}` where the parameter's number goes.
    pub pg_param: String,
    /// Whether the PostgreSQL key index serves `pg_order`.
    pub pg_native: bool,
    pub json: KeyJson,
}

impl KeyColumn {
    /// A key value's JSON in a difference.
    #[must_use]
    pub fn json_value(&self, text: &str) -> serde_json::Value {
        match self.json {
            KeyJson::Number => serde_json::from_str::<serde_json::Number>(text)
                .map_or_else(|_| serde_json::Value::String(text.to_owned()), serde_json::Value::Number),
            KeyJson::Text => serde_json::Value::String(text.to_owned()),
            KeyJson::Bytes => serde_json::Value::String(format!("\\x{text}")),
        }
    }

    /// `$n` cast as this column's parameter.
    #[must_use]
    pub fn pg_param_at(&self, n: usize) -> String {
        self.pg_param.replace("{}", &n.to_string())
    }
}

/// `decimal(12,3) unsigned zerofill` → `DECIMAL(12,3)`.
fn my_decimal_type(column_type: &str) -> String {
    let open = column_type.find('(');
    let close = column_type.find(')');
    match (open, close) {
        (Some(o), Some(c)) if o < c => format!("DECIMAL{}", &column_type[o..=c]),
        _ => "DECIMAL(65,30)".to_owned(),
    }
}

/// The key column pair, or why it cannot be a key both sides order alike.
///
/// # Errors
/// A key type without a common order (enum, float, uuid, …).
pub fn key_column(my: &MyColumn, pg: &Column) -> Result<KeyColumn, String> {
    let m = my_ident(&my.name);
    let p = pg_ident(&pg.name);
    let pf = pg_family(pg);
    let unsigned = my.column_type.contains("unsigned");
    let trim = |x: &str| format!("TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {x}))");
    let base = |my_text: String, my_param: String, pg_text: String, json: KeyJson| KeyColumn {
        name: my.name.clone(),
        my_text: format!("CAST({my_text} AS CHAR)"),
        my_order: m.clone(),
        my_param,
        my_native: true,
        pg_text,
        pg_order: p.clone(),
        pg_param: format!("(${{}}::text)::{}", pg.type_sql),
        pg_native: true,
        json,
    };
    let pg_number = match pf {
        PgFamily::Numeric { .. } => format!("trim_scale({p})::text"),
        _ => format!("{p}::text"),
    };
    let key = match (my.family(), pf) {
        (MyFamily::Integer, PgFamily::Int | PgFamily::Numeric { .. }) => {
            let cast = if unsigned { "CAST(? AS UNSIGNED)" } else { "CAST(? AS SIGNED)" };
            base(format!("{m}+0"), cast.to_owned(), pg_number, KeyJson::Number)
        }
        (MyFamily::Decimal { scale }, PgFamily::Int | PgFamily::Numeric { .. }) => {
            let text = if scale == 0 { format!("{m}+0") } else { trim(&format!("{m}+0")) };
            base(text, format!("CAST(? AS {})", my_decimal_type(&my.column_type)), pg_number, KeyJson::Number)
        }
        (MyFamily::Date, PgFamily::Date) => {
            base(m.clone(), "CAST(? AS DATE)".to_owned(), format!("{p}::text"), KeyJson::Text)
        }
        (MyFamily::DateTime { fsp }, PgFamily::Timestamptz | PgFamily::Timestamp) => {
            let text = if fsp == 0 { m.clone() } else { trim(&m) };
            let pg_text = if pf == PgFamily::Timestamptz {
                format!("({p} AT TIME ZONE 'UTC')::text")
            } else {
                format!("{p}::text")
            };
            base(text, "CAST(? AS DATETIME(6))".to_owned(), pg_text, KeyJson::Text)
        }
        (MyFamily::Time { fsp }, PgFamily::Time) => base(
            if fsp == 0 { m.clone() } else { trim(&m) },
            "CAST(? AS TIME(6))".to_owned(),
            format!("{p}::text"),
            KeyJson::Text,
        ),
        (MyFamily::Binary, PgFamily::Bytea) => KeyColumn {
            pg_param: "decode(${}::text, 'hex')".to_owned(),
            ..base(format!("LOWER(HEX({m}))"), "UNHEX(?)".to_owned(), format!("encode({p}, 'hex')"), KeyJson::Bytes)
        },
        (MyFamily::Text { .. }, PgFamily::Text) => {
            let native = my.collation.as_deref().is_some_and(|c| BYTE_ORDER_COLLATIONS.contains(&c))
                && matches!(my.charset.as_deref(), Some("utf8mb4" | "utf8mb3" | "utf8"));
            let bpchar = pg.base_type == "bpchar";
            let pg_c = !bpchar && matches!(pg.collation.as_deref(), Some("C" | "POSIX"));
            let pg_value = if bpchar { format!("{p}::text") } else { p.clone() };
            KeyColumn {
                name: my.name.clone(),
                my_text: format!("CONVERT({m} USING utf8mb4)"),
                my_order: if native { m.clone() } else { format!("CAST(CONVERT({m} USING utf8mb4) AS BINARY)") },
                my_param: if native { "?".to_owned() } else { "CAST(? AS BINARY)".to_owned() },
                my_native: native,
                pg_text: format!("{p}::text"),
                pg_order: if pg_c { p.clone() } else { format!("{pg_value} COLLATE \"C\"") },
                pg_param: "(${}::text COLLATE \"C\")".to_owned(),
                pg_native: pg_c,
                json: KeyJson::Text,
            }
        }
        _ => {
            return Err(format!(
                "primary-key column {} ({} → {}) cannot be ordered the same way on both servers",
                my.name, my.column_type, pg.type_sql
            ));
        }
    };
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn my(name: &str, data_type: &str, column_type: &str) -> MyColumn {
        MyColumn {
            name: name.into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            scale: None,
            fsp: None,
            charset: None,
            collation: None,
            nullable: false,
        }
    }

    fn pg(name: &str, base: &str, type_sql: &str, collation: Option<&str>) -> Column {
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
            collation: collation.map(str::to_owned),
        }
    }

    #[test]
    fn integer_keys_are_cast_never_compared_as_strings() {
        let k = key_column(&my("id", "bigint", "bigint(20) unsigned"), &pg("id", "numeric", "numeric", None)).unwrap();
        assert_eq!((k.my_text.as_str(), k.my_param.as_str()), ("CAST(`id`+0 AS CHAR)", "CAST(? AS UNSIGNED)"));
        assert_eq!(
            (k.pg_text.as_str(), k.pg_param_at(2).as_str()),
            ("trim_scale(\"id\")::text", "($2::text)::numeric")
        );
        assert_eq!(k.json_value("18446744073709551615"), serde_json::json!(18_446_744_073_709_551_615_u64));
        assert!(k.my_native && k.pg_native);
    }

    #[test]
    fn text_keys_compare_bytes_unless_both_collations_already_do() {
        let ci = MyColumn {
            charset: Some("utf8mb4".into()),
            collation: Some("utf8mb4_general_ci".into()),
            ..my("k", "varchar", "varchar(20)")
        };
        let k = key_column(&ci, &pg("k", "text", "text", Some("C"))).unwrap();
        assert_eq!(k.my_order, "CAST(CONVERT(`k` USING utf8mb4) AS BINARY)");
        assert_eq!(k.my_param, "CAST(? AS BINARY)");
        assert!(!k.my_native && k.pg_native);
        assert_eq!(k.pg_order, "\"k\"");
        let nopad = MyColumn { collation: Some("utf8mb4_nopad_bin".into()), ..ci };
        let k = key_column(&nopad, &pg("k", "text", "text", Some("en_US.UTF-8"))).unwrap();
        assert!(k.my_native && !k.pg_native);
        assert_eq!(
            (k.pg_order.as_str(), k.pg_param_at(1).as_str()),
            ("\"k\" COLLATE \"C\"", "($1::text COLLATE \"C\")")
        );
    }

    #[test]
    fn binary_keys_travel_as_hex_and_floats_are_refused() {
        let k = key_column(&my("b", "varbinary", "varbinary(8)"), &pg("b", "bytea", "bytea", None)).unwrap();
        assert_eq!((k.my_param.as_str(), k.pg_param_at(1).as_str()), ("UNHEX(?)", "decode($1::text, 'hex')"));
        assert_eq!(k.json_value("00ff"), serde_json::json!("\\x00ff"));
        let e = key_column(&my("f", "double", "double"), &pg("f", "float8", "double precision", None)).unwrap_err();
        assert!(e.contains("primary-key column f (double → double precision)"), "{e}");
    }

    #[test]
    fn decimal_keys_cast_to_their_own_type() {
        let d = MyColumn { scale: Some(2), ..my("d", "decimal", "decimal(12,2) unsigned") };
        let k = key_column(&d, &pg("d", "numeric", "numeric(12,2)", None)).unwrap();
        assert_eq!(k.my_param, "CAST(? AS DECIMAL(12,2))");
    }
}
