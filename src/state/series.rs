//! Time series of gauge figures: what sparklines and zoomed charts draw.

use chrono::{DateTime, Utc};

use super::History;

/// One figure at one time (seconds since the Unix epoch, value).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub t: f64,
    pub v: f64,
}

impl Point {
    #[must_use]
    pub fn at(at: DateTime<Utc>, v: f64) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let t = at.timestamp_millis() as f64 / 1000.0;
        Self { t, v }
    }
}

/// Which figure a series holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    LagBytes,
    LagSeconds,
    SlotRetainedBytes,
    ConnectionsUsedPct,
    LockWaiters,
    ClientsWaiting,
    DiskUsedPct,
    ChecksumPct,
    ChecksumDifferences,
}

impl Metric {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::LagBytes => "lag (bytes)",
            Self::LagSeconds => "lag (seconds)",
            Self::SlotRetainedBytes => "WAL retained by slots (bytes)",
            Self::ConnectionsUsedPct => "connections used (%)",
            Self::LockWaiters => "sessions waiting on locks",
            Self::ClientsWaiting => "pooler clients waiting",
            Self::DiskUsedPct => "disk used (%)",
            Self::ChecksumPct => "chunks verified (%)",
            Self::ChecksumDifferences => "differences found",
        }
    }
}

/// A series: one metric of one thing (a link, a pool, a disk, a table) of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesId {
    pub metric: Metric,
    pub endpoint: String,
    pub label: String,
}

impl SeriesId {
    #[must_use]
    pub fn new(metric: Metric, endpoint: &str, label: &str) -> Self {
        Self { metric, endpoint: endpoint.to_owned(), label: label.to_owned() }
    }
}

/// The newest `width` buckets of `bucket_secs` seconds each, aligned to the
/// clock so that a sparkline shifts only once a bucket, each the largest value
/// seen in it (a spike must not vanish). `None` where nothing was seen.
#[must_use]
pub fn bucket_max(
    history: Option<&History<Point>>,
    now: DateTime<Utc>,
    bucket_secs: u32,
    width: usize,
) -> Vec<Option<f64>> {
    let mut out = vec![None; width];
    let Some(history) = history else { return out };
    if width == 0 || bucket_secs == 0 {
        return out;
    }
    let bucket = f64::from(bucket_secs);
    #[allow(clippy::cast_precision_loss)]
    let now_bucket = (now.timestamp() as f64 / bucket).floor();
    for p in history.iter().rev() {
        let age = now_bucket - (p.t / bucket).floor();
        if age < 0.0 {
            continue;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let age = age as usize;
        if age >= width {
            break;
        }
        let slot = &mut out[width - 1 - age];
        *slot = Some(slot.map_or(p.v, |v: f64| v.max(p.v)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn buckets_keep_the_peak_and_align_to_the_clock() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
        let mut h = History::new(100);
        for (s, v) in [(0, 1.0), (1, 9.0), (2, 2.0), (5, 3.0), (10, 4.0)] {
            h.push(Point::at(t0 + chrono::Duration::seconds(s), v));
        }
        let now = t0 + chrono::Duration::seconds(12);
        assert_eq!(bucket_max(Some(&h), now, 5, 4), vec![None, Some(9.0), Some(3.0), Some(4.0)]);
    }
}
