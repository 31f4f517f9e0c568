//! Quantities as operators write them: `2GB`, `512kB`, `30s`, `5m`, `85%`.

/// What a quantity measures, so `30s` is not accepted where bytes are meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Seconds,
    /// Percentages and plain counts.
    Plain,
}

/// Parse `text` as a quantity of `unit`: bytes in powers of 1024 (`kB`, `MB`,
/// `GB`, `TB`, like PostgreSQL), durations in `ms`, `s`, `m`, `h`, `d`.
///
/// # Errors
/// A message saying what was expected.
pub fn parse(text: &str, unit: Unit) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let value: f64 = number.replace('_', "").parse().map_err(|_| format!("\"{text}\" is not a number with a unit"))?;
    let suffix = suffix.trim();
    let factor = match (unit, suffix.to_ascii_lowercase().as_str()) {
        (_, "") => 1.0,
        (Unit::Bytes, "b") => 1.0,
        (Unit::Bytes, "k" | "kb" | "kib") => 1024.0,
        (Unit::Bytes, "m" | "mb" | "mib") => 1024.0 * 1024.0,
        (Unit::Bytes, "g" | "gb" | "gib") => 1024.0 * 1024.0 * 1024.0,
        (Unit::Bytes, "t" | "tb" | "tib") => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        (Unit::Seconds, "ms") => 0.001,
        (Unit::Seconds, "s") => 1.0,
        (Unit::Seconds, "m" | "min") => 60.0,
        (Unit::Seconds, "h") => 3600.0,
        (Unit::Seconds, "d") => 86_400.0,
        (Unit::Plain, "%") => 1.0,
        (Unit::Bytes, _) => return Err(format!("\"{text}\": expected a size like 512kB, 16MB, 2GB")),
        (Unit::Seconds, _) => return Err(format!("\"{text}\": expected a duration like 500ms, 30s, 5m, 1h")),
        (Unit::Plain, _) => return Err(format!("\"{text}\": expected a number")),
    };
    Ok(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_plain_numbers() {
        assert_eq!(parse("2GB", Unit::Bytes), Ok(2.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse("512 kB", Unit::Bytes), Ok(512.0 * 1024.0));
        assert_eq!(parse("1_000", Unit::Bytes), Ok(1000.0));
        assert_eq!(parse("30s", Unit::Seconds), Ok(30.0));
        assert_eq!(parse("5m", Unit::Seconds), Ok(300.0));
        assert_eq!(parse("250ms", Unit::Seconds), Ok(0.25));
        assert_eq!(parse("85%", Unit::Plain), Ok(85.0));
        assert!(parse("30s", Unit::Bytes).is_err_and(|e| e.contains("expected a size")));
        assert!(parse("lots", Unit::Plain).is_err());
    }
}
