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

/// How far back a growth rate looks.
pub const GROWTH_WINDOW_SECS: f64 = 120.0;
/// The shortest stretch of history a growth rate is drawn from.
pub const GROWTH_MIN_SPAN_SECS: f64 = 10.0;

/// When a growing figure reaches a limit, at its growth over the last
/// [`GROWTH_WINDOW_SECS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Projection {
    /// Less than [`GROWTH_MIN_SPAN_SECS`] of history: the growth is not known yet.
    TooShort,
    /// The figure is steady or shrinking: it never reaches the limit.
    NotGrowing,
    /// The figure is at or past the limit already.
    Reached,
    /// Seconds until the limit is reached.
    In(f64),
}

/// Where `history` is heading, relative to `limit` (see [`Projection`]).
#[must_use]
pub fn project(history: Option<&History<Point>>, limit: f64) -> Projection {
    let Some(last) = history.and_then(History::last).copied() else { return Projection::TooShort };
    if last.v >= limit {
        return Projection::Reached;
    }
    let first = history
        .into_iter()
        .flat_map(History::iter)
        .rev()
        .take_while(|p| last.t - p.t <= GROWTH_WINDOW_SECS)
        .last()
        .copied()
        .unwrap_or(last);
    let span = last.t - first.t;
    if span < GROWTH_MIN_SPAN_SECS {
        return Projection::TooShort;
    }
    let rate = (last.v - first.v) / span;
    if rate <= 1e-9 {
        return Projection::NotGrowing;
    }
    Projection::In((limit - last.v) / rate)
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

    fn history(points: impl IntoIterator<Item = (u32, f64)>) -> History<Point> {
        let mut h = History::new(1000);
        for (t, v) in points {
            h.push(Point { t: f64::from(t), v });
        }
        h
    }

    #[test]
    fn projection_says_when_a_limit_is_reached_and_why_it_cannot_tell() {
        // 73% now, growing 0.05 %/s over the window: 100% in 540 s.
        let growing = history((0..=60).map(|s| (s, 70.0 + f64::from(s) * 0.05)));
        let Projection::In(secs) = project(Some(&growing), 100.0) else {
            panic!("{:?}", project(Some(&growing), 100.0))
        };
        assert!((secs - 540.0).abs() < 0.01, "{secs}");
        // Only the last window counts: a fast start long ago does not.
        let old_burst = history([(0, 10.0), (100, 60.0)].into_iter().chain((200..=320).map(|s| (s, 60.0))));
        assert_eq!(project(Some(&old_burst), 100.0), Projection::NotGrowing);
        let shrinking = history((0..=20).map(|s| (s, 50.0 - f64::from(s))));
        assert_eq!(project(Some(&shrinking), 100.0), Projection::NotGrowing);
        assert_eq!(project(Some(&history([(0, 50.0), (9, 60.0)])), 100.0), Projection::TooShort);
        assert_eq!(project(None, 100.0), Projection::TooShort);
        assert_eq!(project(Some(&history([(0, 100.0)])), 100.0), Projection::Reached);
    }
}
