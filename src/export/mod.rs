//! A run's journal as a recording to share: the replay's screens as an
//! asciicast (asciinema's format), a marker at every phase and step boundary.
//!
//! Frames fall at every record's time and at every journal second (the
//! header's clock and stopwatch move), at most one per [`FRAME_MIN`] of
//! recording time: records closer together than that share one frame, the
//! state after the last of them, shown at the time of the first. The last
//! frame is the replay's final screen. Time is paced by [`pace::Pace`]:
//! `speed` journal seconds per second, long waits shortened to the idle limit.
//!
//! The header is the live cockpit's, without the replay's banner: the player
//! has its own play, pause and speed, so "REPLAY PAUSED x1" would be wrong
//! most of the time, and the clock shows the run's own time of day.

pub mod asciicast;
pub mod frames;
pub mod pace;

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr};

use crate::replay::Timeline;
use crate::theme::Theme;
use asciicast::{Header, Writer};
use frames::Screen;
use pace::Pace;

/// The least recording time between two frames (10 frames a second).
pub const FRAME_MIN: Duration = Duration::from_millis(100);
/// A frame at least this often in journal time, for the clock.
pub const CLOCK_EVERY: Duration = Duration::from_secs(1);

/// How the recording is made.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub cols: u16,
    pub rows: u16,
    /// Journal seconds per recording second.
    pub speed: f64,
    /// The longest a wait between two things the run did lasts in the
    /// recording; `None` keeps every pause as it was.
    pub idle_limit: Option<Duration>,
}

/// What was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// `"o"` events, the setup included.
    pub frames: usize,
    pub markers: usize,
    /// Of the recording.
    pub duration: Duration,
}

/// Write `timeline` as an asciicast v2 recording titled `title` to `out`.
///
/// # Errors
/// When `out` cannot be written.
pub fn asciicast(
    timeline: &Timeline,
    theme: &Theme,
    title: &str,
    options: &Options,
    out: impl Write,
) -> Result<Summary> {
    let start = timeline.start();
    let offset = |t: DateTime<Utc>| (t - start).to_std().unwrap_or_default();
    // The end too: a wait with nothing after it but the journal's last sample is a wait.
    let activity: Vec<Duration> = timeline.activity().iter().chain([&timeline.end()]).map(|t| offset(*t)).collect();
    let pace = Pace::new(&activity, options.speed, options.idle_limit);

    let mut header = Header::new(options.cols, options.rows);
    header.timestamp = Some(start.timestamp());
    header.title = Some(title.to_owned());
    let mut writer = Writer::new(out, &header).wrap_err("write the recording's header")?;
    writer.output(0.0, &Screen::setup()?).wrap_err("write the recording")?;
    let mut summary = Summary { frames: 1, markers: 0, duration: Duration::ZERO };

    let mut screen = Screen::new(options.cols, options.rows)?;
    let mut sweep = timeline.sweep();
    let mut marks = timeline.marks().iter().map(|m| (pace.at(offset(m.at)), m.label.as_str())).peekable();
    let frame_min = FRAME_MIN.as_secs_f64();
    let moments = moments(timeline, offset);
    let mut i = 0;
    while let Some(first) = moments.get(i) {
        // A frame for every moment within FRAME_MIN of the first: the state after the last.
        let shown_at = pace.at(*first);
        let last = moments[i..].partition_point(|m| pace.at(*m) < shown_at + frame_min) + i - 1;
        while let Some((at, label)) = marks.next_if(|(at, _)| *at < shown_at) {
            writer.marker(at, label).wrap_err("write the recording")?;
            summary.markers += 1;
        }
        let at = chrono::Duration::from_std(moments[last]).unwrap_or(chrono::Duration::MAX);
        let state = sweep.state_at(start.checked_add_signed(at).unwrap_or_else(|| timeline.end()));
        writer.output(shown_at, &screen.draw(state, theme)?).wrap_err("write the recording")?;
        summary.frames += 1;
        i = last + 1;
    }
    for (at, label) in marks {
        writer.marker(at, label).wrap_err("write the recording")?;
        summary.markers += 1;
    }
    summary.duration = Duration::from_secs_f64(writer.duration());
    writer.finish().wrap_err("write the recording")?;
    Ok(summary)
}

/// Every record's time and every [`CLOCK_EVERY`] from the start, as offsets
/// from the start, in order, each once; the end is the last.
fn moments(timeline: &Timeline, offset: impl Fn(DateTime<Utc>) -> Duration) -> Vec<Duration> {
    let end = offset(timeline.end());
    let ticks = (0..).map(|k| CLOCK_EVERY * k).take_while(|t| *t <= end);
    let mut moments: Vec<Duration> = timeline.times().map(offset).chain(ticks).collect();
    moments.sort_unstable();
    moments.dedup();
    moments
}

#[cfg(test)]
mod tests;
