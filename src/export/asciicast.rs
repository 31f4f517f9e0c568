//! The asciicast v2 format (asciinema's): one line of JSON for the header,
//! then one `[time, code, data]` line per event — `"o"` for bytes written to
//! the terminal, `"m"` for a marker (a named point a player can jump to).
//! Times are seconds from the start of the recording and never decrease.
//! <https://docs.asciinema.org/manual/asciicast/v2/>

use std::io::{self, Write};

use serde::Serialize;

/// What a player needs before the first event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Header {
    /// Always 2.
    pub version: u8,
    /// Columns and rows of the recorded terminal.
    pub width: u16,
    pub height: u16,
    /// Unix time of the beginning (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub env: Env,
}

/// The recorded terminal's environment: players pick their colours by `TERM`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Env {
    #[serde(rename = "TERM")]
    pub term: String,
}

/// What the exported screens are drawn for (256 colours and more).
pub const TERM: &str = "xterm-256color";

impl Header {
    #[must_use]
    pub fn new(width: u16, height: u16) -> Self {
        Self { version: 2, width, height, timestamp: None, title: None, env: Env { term: TERM.to_owned() } }
    }
}

/// Writes a recording event by event.
pub struct Writer<W: Write> {
    out: W,
    /// The latest time written: no event goes before it.
    last: f64,
}

impl<W: Write> Writer<W> {
    /// Start a recording: the header line.
    ///
    /// # Errors
    /// When `out` cannot be written.
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        Ok(Self { out, last: 0.0 })
    }

    /// Bytes written to the terminal at `time` seconds.
    ///
    /// # Errors
    /// When `out` cannot be written.
    pub fn output(&mut self, time: f64, data: &str) -> io::Result<()> {
        self.event(time, "o", data)
    }

    /// A named point at `time` seconds.
    ///
    /// # Errors
    /// When `out` cannot be written.
    pub fn marker(&mut self, time: f64, label: &str) -> io::Result<()> {
        self.event(time, "m", label)
    }

    /// An event at `time`, or at the latest time written when `time` is
    /// earlier (or not a number): players need times that never decrease.
    fn event(&mut self, time: f64, code: &str, data: &str) -> io::Result<()> {
        let time = if time.is_finite() { time.max(self.last) } else { self.last };
        self.last = time;
        write!(self.out, "[{time:.6}, \"{code}\", ")?;
        serde_json::to_writer(&mut self.out, data)?;
        self.out.write_all(b"]\n")
    }

    /// The latest time written.
    #[must_use]
    pub fn duration(&self) -> f64 {
        self.last
    }

    /// Flush and hand back the writer.
    ///
    /// # Errors
    /// When `out` cannot be flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;

    fn lines(header: &Header, events: impl FnOnce(&mut Writer<Vec<u8>>)) -> Vec<Value> {
        let mut writer = Writer::new(Vec::new(), header).unwrap();
        events(&mut writer);
        let bytes = writer.finish().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with('\n'));
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn the_header_is_one_line_of_v2_with_the_size_time_title_and_term() {
        let mut header = Header::new(120, 36);
        header.timestamp = Some(1_795_000_000);
        header.title = Some("logical \"move\"".into());
        let lines = lines(&header, |_| {});
        assert_eq!(
            lines,
            [json!({
                "version": 2, "width": 120, "height": 36, "timestamp": 1_795_000_000,
                "title": "logical \"move\"", "env": {"TERM": "xterm-256color"}
            })]
        );
        // Fields left out are not written as null.
        let bare = lines_text(&Header::new(80, 24));
        assert_eq!(bare, "{\"version\":2,\"width\":80,\"height\":24,\"env\":{\"TERM\":\"xterm-256color\"}}\n");
    }

    fn lines_text(header: &Header) -> String {
        String::from_utf8(Writer::new(Vec::new(), header).unwrap().finish().unwrap()).unwrap()
    }

    #[test]
    fn events_are_time_code_and_data_with_escapes_and_unicode_kept() {
        let lines = lines(&Header::new(80, 24), |w| {
            w.output(0.0, "\x1b[2J\x1b[?25l").unwrap();
            w.output(0.25, "line \"one\"\r\n\\ ✔ ▶ ·\t").unwrap();
            w.marker(1.5, "phase 2 Switch").unwrap();
        });
        assert_eq!(lines[1], json!([0.0, "o", "\u{1b}[2J\u{1b}[?25l"]));
        assert_eq!(lines[2], json!([0.25, "o", "line \"one\"\r\n\\ ✔ ▶ ·\t"]));
        assert_eq!(lines[3], json!([1.5, "m", "phase 2 Switch"]));
        // Control characters are JSON escapes, not raw bytes, on one line each.
        let mut writer = Writer::new(Vec::new(), &Header::new(80, 24)).unwrap();
        writer.output(0.0, "\x1b[H\n").unwrap();
        let text = String::from_utf8(writer.finish().unwrap()).unwrap();
        assert!(text.ends_with("[0.000000, \"o\", \"\\u001b[H\\n\"]\n"), "{text}");
    }

    #[test]
    fn times_never_decrease() {
        let lines = lines(&Header::new(80, 24), |w| {
            w.output(2.0, "a").unwrap();
            w.marker(1.0, "late").unwrap();
            w.output(f64::NAN, "b").unwrap();
            w.output(3.5, "c").unwrap();
            assert!((w.duration() - 3.5).abs() < 1e-9);
        });
        let times: Vec<f64> = lines[1..].iter().map(|l| l[0].as_f64().unwrap()).collect();
        assert_eq!(times, [2.0, 2.0, 2.0, 3.5]);
    }
}
