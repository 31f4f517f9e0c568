//! Numbers as an operator reads them: sizes like `pg_size_pretty`, short
//! durations, clock times.

use chrono::{DateTime, Utc};

/// `512 B`, `12 kB`, `1.2 MB`, `34 GB` (powers of 1024, like `pg_size_pretty`).
#[must_use]
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = value.max(0.0);
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 10.0 { format!("{v:.0} {}", UNITS[unit]) } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// `0.4 s`, `12 s`, `3m05s`, `2h03m`, `3d04h`.
#[must_use]
pub fn seconds(value: f64) -> String {
    let v = value.max(0.0);
    if v < 10.0 {
        return format!("{v:.1} s");
    }
    if v < 60.0 {
        return format!("{v:.0} s");
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = v.round() as u64;
    if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// A rough span for projections: `45s`, `36m`, `5h20m`, `18h`, `3d04h`.
#[must_use]
pub fn coarse(value: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = value.max(0.0).round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 36_000 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// A short age: `3s`, `1m20s`, `2h03m`.
#[must_use]
pub fn age(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// `HH:MM:SS`, hours growing past 99 if they must.
#[must_use]
pub fn hms(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// `0h12m`, `13h05m`: a long span where seconds would only cost bytes.
#[must_use]
pub fn hours_minutes(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
}

/// The clock in the header.
#[must_use]
pub fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S UTC").to_string()
}

/// `2.1M`, `310k`, `950`: row counts and rates.
#[must_use]
pub fn count(value: f64) -> String {
    let v = value.max(0.0);
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_pg_size_pretty() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(12.0 * 1024.0), "12 kB");
        assert_eq!(bytes(1.25 * 1024.0 * 1024.0), "1.2 MB");
        assert_eq!(bytes(250.0 * 1024.0 * 1024.0 * 1024.0), "250 GB");
    }

    #[test]
    fn durations_stay_short() {
        assert_eq!(seconds(0.42), "0.4 s");
        assert_eq!(seconds(42.0), "42 s");
        assert_eq!(seconds(185.0), "3m05s");
        assert_eq!(seconds(7380.0), "2h03m");
        assert_eq!(hms(chrono::Duration::seconds(3725)), "01:02:05");
        assert_eq!(hours_minutes(chrono::Duration::seconds(3725)), "1h02m");
        assert_eq!(age(chrono::Duration::seconds(80)), "1m20s");
        assert_eq!(count(2_400_000.0), "2.4M");
        assert_eq!(coarse(2180.0), "36m");
        assert_eq!(coarse(19_200.0), "5h20m");
        assert_eq!(coarse(65_000.0), "18h");
    }
}
