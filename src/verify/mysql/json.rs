//! JSON text as PostgreSQL's `jsonb` writes it, for a MySQL JSON (or JSON
//! in a text column) that was loaded into `jsonb`: MySQL has no SQL for this
//! normal form (MariaDB's `JSON_NORMALIZE` turns every number into a double
//! and keeps escapes as written), so the MySQL side's text is fetched and
//! written here.
//!
//! jsonb's text: object keys ordered by byte length, then bytes, the last
//! of duplicate keys kept; `", "` and `": "` between items; numbers as
//! `numeric` reads them (exponent applied, scale kept: `1e2` → `100`,
//! `100e-2` → `1.00`, `-0` → `0`); strings re-escaped (`\"`, `\\`, `\b`,
//! `\f`, `\n`, `\r`, `\t`, other control characters as `\u00xx`, the rest
//! as is).

use std::fmt::Write as _;

/// `text` as jsonb's text; `None` when it is not JSON jsonb would accept
/// (then it cannot equal any jsonb value).
#[must_use]
pub fn jsonb_text(text: &str) -> Option<String> {
    let mut parser = Parser { bytes: text.as_bytes(), at: 0 };
    let value = parser.value(0)?;
    parser.space();
    if parser.at != parser.bytes.len() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    write_value(&value, &mut out);
    Some(out)
}

/// Deeper than this is refused (jsonb refuses deep nesting too).
const MAX_DEPTH: usize = 1_000;

enum Value {
    Null,
    Bool(bool),
    /// Already in numeric's text.
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, literal: &str) -> Option<()> {
        self.bytes[self.at..].starts_with(literal.as_bytes()).then(|| self.at += literal.len())
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.space();
        match self.bytes.get(self.at)? {
            b'n' => self.eat("null").map(|()| Value::Null),
            b't' => self.eat("true").map(|()| Value::Bool(true)),
            b'f' => self.eat("false").map(|()| Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.space();
                if self.eat("]").is_some() {
                    return Some(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.space();
                    match self.bytes.get(self.at)? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(Value::Array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut pairs: Vec<(String, Value)> = Vec::new();
                self.space();
                if self.eat("}").is_some() {
                    return Some(Value::Object(pairs));
                }
                loop {
                    self.space();
                    if self.bytes.get(self.at) != Some(&b'"') {
                        return None;
                    }
                    let key = self.string()?;
                    self.space();
                    self.eat(":")?;
                    let value = self.value(depth + 1)?;
                    pairs.push((key, value));
                    self.space();
                    match self.bytes.get(self.at)? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(Value::Object(sort_keys(pairs)));
                        }
                        _ => return None,
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            _ => None,
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.bytes.get(self.at..self.at + 4)?).ok()?;
        self.at += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.bytes.get(self.at)?;
                    self.at += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                self.eat("\\u")?;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return None;
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            // jsonb refuses \u0000 (text cannot hold it).
                            match char::from_u32(code) {
                                Some(c) if code != 0 => c,
                                _ => return None,
                            }
                        }
                        _ => return None,
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..0x20 => return None,
                _ => out.push(b),
            }
        }
    }

    /// A JSON number in numeric's text form.
    fn number(&mut self) -> Option<String> {
        let start = self.at;
        let negative = self.eat("-").is_some();
        let int_start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let int = std::str::from_utf8(&self.bytes[int_start..self.at]).ok()?;
        if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
            return None;
        }
        let mut frac = "";
        if self.eat(".").is_some() {
            let frac_start = self.at;
            while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
            frac = std::str::from_utf8(&self.bytes[frac_start..self.at]).ok()?;
            if frac.is_empty() {
                return None;
            }
        }
        let mut exponent: i64 = 0;
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            let exp_start = self.at;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            let digits_start = self.at;
            while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
            if self.at == digits_start {
                return None;
            }
            exponent = std::str::from_utf8(&self.bytes[exp_start..self.at]).ok()?.parse().ok()?;
        }
        if self.at - start > 100_000 || exponent.abs() > 100_000 {
            return None;
        }
        Some(numeric_text(negative, int, frac, exponent))
    }
}

/// What `numeric` prints for `[-]int.frac × 10^exponent`: the point moved,
/// scale `max(0, len(frac) - exponent)`, leading zeros dropped, no `-0`.
fn numeric_text(negative: bool, int: &str, frac: &str, exponent: i64) -> String {
    let digits: String = [int, frac].concat();
    let len = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let point = i64::try_from(int.len()).unwrap_or(i64::MAX) + exponent;
    let scale = usize::try_from((i64::try_from(frac.len()).unwrap_or(0) - exponent).max(0)).unwrap_or(0);
    let (whole, fraction) = if point >= len {
        (format!("{digits}{}", "0".repeat(usize::try_from(point - len).unwrap_or(0))), String::new())
    } else if point > 0 {
        let p = usize::try_from(point).unwrap_or(0);
        (digits[..p].to_owned(), digits[p..].to_owned())
    } else {
        ("0".to_owned(), format!("{}{digits}", "0".repeat(usize::try_from(-point).unwrap_or(0))))
    };
    debug_assert_eq!(fraction.len(), scale);
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let zero = digits.bytes().all(|b| b == b'0');
    let mut out = String::new();
    if negative && !zero {
        out.push('-');
    }
    out.push_str(whole);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(&fraction);
    }
    out
}

/// jsonb's key order (length, then bytes), the last duplicate kept.
fn sort_keys(pairs: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut indexed: Vec<(usize, (String, Value))> = pairs.into_iter().enumerate().collect();
    indexed.sort_by(|(i, (a, _)), (j, (b, _))| {
        a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes())).then_with(|| j.cmp(i))
    });
    indexed.dedup_by(|later, earlier| later.1.0 == earlier.1.0);
    indexed.into_iter().map(|(_, pair)| pair).collect()
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(pairs) => {
            out.push('{');
            for (i, (key, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(key, out);
                out.push_str(": ");
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each PostgreSQL 15 printed for `'…'::jsonb::text` (see the notes).
    #[test]
    fn writes_what_jsonb_writes() {
        let input = r#"{"b": 1, "a": [1, 2.50, -0, 1e2, 1E-2, 0.00e5, 1.23e1, -1.5E+3, 12345678901234567890123, 1e-7, 0.0, -0.0, 100e-2], "aa": null, "A": true, "é": false, "z": "x\"y\\\/\b\f\n\r\t\u0001\u001f\u00e9\ud83d\ude00 é", "b": 2}"#;
        assert_eq!(
            jsonb_text(input).unwrap(),
            r#"{"A": true, "a": [1, 2.50, 0, 100, 0.01, 0, 12.3, -1500, 12345678901234567890123, 0.0000001, 0.0, 0.0, 1.00], "b": 2, "z": "x\"y\\/\b\f\n\r\t\u0001\u001fé😀 é", "aa": null, "é": false}"#
        );
        assert_eq!(jsonb_text("  [ 1 , { } , [ ] ]  ").unwrap(), "[1, {}, []]");
        assert_eq!(jsonb_text(r#"{"":1,"a":{"c":1,"bb":2}}"#).unwrap(), r#"{"": 1, "a": {"c": 1, "bb": 2}}"#);
        assert_eq!(jsonb_text("1E+2").unwrap(), "100");
        assert_eq!(jsonb_text("-1e-2").unwrap(), "-0.01");
        assert_eq!(jsonb_text("5e-1").unwrap(), "0.5");
        assert_eq!(jsonb_text("1.5e3").unwrap(), "1500");
        assert_eq!(jsonb_text("\"s\"").unwrap(), "\"s\"");
    }

    #[test]
    fn refuses_what_jsonb_refuses() {
        for bad in ["", "{", "[1,]", "01", "1.", "\"\\u0000\"", "\"\\ud800\"", "{\"a\" 1}", "tru", "1 2", "\"a\tb\""] {
            assert_eq!(jsonb_text(bad), None, "{bad:?}");
        }
    }
}
