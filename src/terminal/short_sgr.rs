//! Colour codes every terminal understands.
//!
//! crossterm writes even the 16 ANSI colours in the 256-colour form
//! (`ESC[38;5;6m`), which terminals with only 8 or 16 colours (TERM=xterm,
//! old GNU screen) may not understand. This writer holds a frame until it is
//! flushed and rewrites those codes to the short forms (`ESC[36m`, `ESC[96m`,
//! `ESC[46m`, …) — which are also shorter on a slow link. Everything else
//! passes through untouched.

use std::io::{self, Write};

const ESC: u8 = 0x1b;

/// A writer that buffers until `flush` and shortens 16-colour SGR codes.
pub struct ShortSgr<W: Write> {
    inner: W,
    frame: Vec<u8>,
}

impl<W: Write> ShortSgr<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, frame: Vec::with_capacity(16 * 1024) }
    }
}

impl<W: Write> Write for ShortSgr<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.frame.is_empty() {
            let out = rewrite(&self.frame);
            self.frame.clear();
            self.inner.write_all(&out)?;
        }
        self.inner.flush()
    }
}

/// `bytes` with every `38;5;N` / `48;5;N` (N < 16) inside an SGR sequence
/// replaced by its short code.
#[must_use]
pub fn rewrite(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == ESC && bytes.get(i + 1) == Some(&b'[') {
            let start = i + 2;
            let end = bytes[start..].iter().position(|b| (0x40..=0x7e).contains(b)).map(|p| start + p);
            if let Some(end) = end {
                let params = &bytes[start..end];
                if bytes[end] == b'm' && params.iter().all(|b| b.is_ascii_digit() || *b == b';') {
                    out.extend_from_slice(b"\x1b[");
                    out.extend_from_slice(shorten(params).as_bytes());
                    out.push(b'm');
                    i = end + 1;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn shorten(params: &[u8]) -> String {
    let text = String::from_utf8_lossy(params);
    let parts: Vec<&str> = text.split(';').collect();
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let index = parts.get(i + 2).and_then(|n| n.parse::<u8>().ok());
        match (parts[i], parts.get(i + 1), index) {
            ("38", Some(&"5"), Some(n)) if n < 16 => {
                out.push(if n < 8 { (30 + n).to_string() } else { (90 + n - 8).to_string() });
                i += 3;
            }
            ("48", Some(&"5"), Some(n)) if n < 16 => {
                out.push(if n < 8 { (40 + n).to_string() } else { (100 + n - 8).to_string() });
                i += 3;
            }
            // Other extended colours: copy the whole group, so its numbers
            // are not mistaken for codes of their own.
            ("38" | "48" | "58", Some(&"5"), _) => {
                out.extend(parts[i..(i + 3).min(parts.len())].iter().map(|p| (*p).to_owned()));
                i += 3;
            }
            ("38" | "48" | "58", Some(&"2"), _) => {
                out.extend(parts[i..(i + 5).min(parts.len())].iter().map(|p| (*p).to_owned()));
                i += 5;
            }
            (p, _, _) => {
                out.push(p.to_owned());
                i += 1;
            }
        }
    }
    out.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        String::from_utf8(rewrite(s.as_bytes())).unwrap()
    }

    #[test]
    fn sixteen_colours_get_short_codes() {
        assert_eq!(r("\x1b[38;5;6mX"), "\x1b[36mX");
        assert_eq!(r("\x1b[38;5;9;49m"), "\x1b[91;49m");
        assert_eq!(r("\x1b[48;5;0m\x1b[48;5;15m"), "\x1b[40m\x1b[107m");
        assert_eq!(r("a\x1b[1;38;5;3mb"), "a\x1b[1;33mb");
    }

    #[test]
    fn everything_else_passes_through() {
        for s in
            ["\x1b[38;5;208m", "\x1b[38;2;1;5;3m", "\x1b[0m", "\x1b[?2026h", "\x1b[12;40H", "plain ✔ text", "\x1b["]
        {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn holds_the_frame_until_flush() {
        let mut w = ShortSgr::new(Vec::new());
        w.write_all(b"\x1b[38;5;").unwrap();
        w.write_all(b"2mok").unwrap();
        assert!(w.inner.is_empty());
        w.flush().unwrap();
        assert_eq!(w.inner, b"\x1b[32mok");
    }
}
