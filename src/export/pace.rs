//! Journal time → recording time.
//!
//! A recording plays `speed` journal seconds per second. A stretch between
//! two moments the run did something (a step started or finished, a line of
//! output, a decision — not a gauge sample) that would last longer than the
//! idle limit is shortened to the idle limit: played faster, not cut, so the
//! clock and the gauges still move through it (a time-lapse), and an hour
//! spent waiting for a replica to catch up takes two seconds to watch.
//!
//! ```text
//! journal     0 ── 1 ── 2.5 ────────────── 600 ── 602
//! recording   0 ── 1 ── 2.5 ── 4.5 (597.5 s in 2 s) ── 6.5     speed 1, idle limit 2 s
//! ```

use std::time::Duration;

/// A piecewise-linear map from journal time to recording time.
#[derive(Clone, Debug, PartialEq)]
pub struct Pace {
    /// (journal seconds, recording seconds) at each moment of activity; both increase.
    knots: Vec<(f64, f64)>,
    speed: f64,
}

impl Pace {
    /// `activity`: offsets from the start of the journal of the moments the
    /// run did something (any order; the start is always one). `speed`:
    /// journal seconds per recording second (at least a millionth).
    /// `idle_limit`: the longest a stretch between two of them lasts in the
    /// recording; `None` keeps every pause.
    #[must_use]
    pub fn new(activity: &[Duration], speed: f64, idle_limit: Option<Duration>) -> Self {
        let speed = if speed.is_finite() { speed.max(1e-6) } else { 1.0 };
        let mut times: Vec<f64> = activity.iter().map(Duration::as_secs_f64).collect();
        times.push(0.0);
        times.sort_by(f64::total_cmp);
        times.dedup();
        let limit = idle_limit.map(|d| d.as_secs_f64());
        let mut knots = Vec::with_capacity(times.len());
        let mut recording = 0.0;
        let mut previous = 0.0;
        for t in times {
            let played = (t - previous) / speed;
            recording += limit.map_or(played, |l| played.min(l));
            knots.push((t, recording));
            previous = t;
        }
        Self { knots, speed }
    }

    /// When the moment `journal` seconds into the journal plays.
    #[must_use]
    pub fn at(&self, journal: Duration) -> f64 {
        let t = journal.as_secs_f64();
        let after = self.knots.partition_point(|(j, _)| *j <= t);
        let Some(&(j0, r0)) = after.checked_sub(1).and_then(|i| self.knots.get(i)) else {
            return 0.0;
        };
        match self.knots.get(after) {
            Some(&(j1, r1)) => r0 + (t - j0) / (j1 - j0) * (r1 - r0),
            None => r0 + (t - j0) / self.speed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn without_a_limit_it_is_the_journal_at_speed() {
        let pace = Pace::new(&[secs(5.0), secs(600.0)], 2.0, None);
        for (journal, want) in [(0.0, 0.0), (5.0, 2.5), (300.0, 150.0), (600.0, 300.0), (700.0, 350.0)] {
            assert!(close(pace.at(secs(journal)), want), "{journal}: {}", pace.at(secs(journal)));
        }
    }

    #[test]
    fn a_long_pause_is_shortened_to_the_limit_and_played_through_evenly() {
        let pace = Pace::new(&[secs(600.0), secs(1.0), secs(2.5), secs(602.0)], 1.0, Some(secs(2.0)));
        let at = |s| pace.at(secs(s));
        // Short stretches play in real time.
        assert!(close(at(1.0), 1.0) && close(at(2.0), 2.0) && close(at(2.5), 2.5));
        // 597.5 s of waiting take 2 s, evenly: halfway is 1 s in.
        assert!(close(at(301.25), 3.5), "{}", at(301.25));
        assert!(close(at(600.0), 4.5));
        assert!(close(at(602.0), 6.5), "a 2 s stretch is not idle");
        // After the last moment of activity, the journal plays at speed.
        assert!(close(at(612.0), 16.5));
        // A long stretch from the start is shortened too.
        let late = Pace::new(&[secs(30.0)], 1.0, Some(secs(2.0)));
        assert!(close(late.at(secs(15.0)), 1.0) && close(late.at(secs(30.0)), 2.0));
    }

    #[test]
    fn the_limit_is_in_recording_time_after_the_speed() {
        // At x4 a 6 s pause plays in 1.5 s: under a 2 s limit, kept.
        let pace = Pace::new(&[secs(6.0), secs(100.0)], 4.0, Some(secs(2.0)));
        assert!(close(pace.at(secs(6.0)), 1.5));
        assert!(close(pace.at(secs(100.0)), 3.5));
    }

    #[test]
    fn recording_time_never_decreases() {
        let activity: Vec<Duration> = [0.0, 0.0, 1.0, 1.0, 90.0, 91.5, 3000.0].map(secs).to_vec();
        let pace = Pace::new(&activity, 1.0, Some(secs(2.0)));
        let mut last = 0.0;
        for tenth in 0..32_000 {
            let r = pace.at(secs(f64::from(tenth) / 10.0));
            assert!(r >= last, "at {tenth}/10 s: {r} < {last}");
            last = r;
        }
    }
}
