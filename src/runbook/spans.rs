//! Where things are in a runbook file: TOML string spans as byte offsets of
//! their content, for diagnostics at FILE:LINE:COL.

/// Where the content of a TOML string value starts: after `"`, `'`, or the
/// triple quote and the newline that may follow it.
pub(super) fn content_start(text: &str, span_start: usize) -> usize {
    let rest = text.get(span_start..).unwrap_or_default();
    if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        let after = span_start + 3;
        match text.get(after..) {
            Some(r) if r.starts_with("\r\n") => after + 2,
            Some(r) if r.starts_with('\n') => after + 1,
            _ => after,
        }
    } else if rest.starts_with('"') || rest.starts_with('\'') {
        span_start + 1
    } else {
        span_start
    }
}

/// The byte offset in the file of byte `decoded` of a string value whose
/// content starts at `at`: escapes in a basic string (`\"`, `\n`, `\u00e9`,
/// a line-ending backslash) take more bytes in the file than in the value.
#[must_use]
pub fn file_offset(file: &str, at: usize, decoded: usize) -> usize {
    let quote = file.get(..at).and_then(|before| before.trim_end_matches(['\n', '\r']).chars().last());
    let Some(raw) = file.get(at..) else { return at + decoded };
    if quote != Some('"') {
        return at + decoded;
    }
    let mut chars = raw.char_indices().peekable();
    let mut done = 0;
    while done < decoded {
        let Some((i, c)) = chars.next() else { return at + raw.len() };
        if c != '\\' {
            done += c.len_utf8();
            continue;
        }
        let Some((_, e)) = chars.next() else { return at + i };
        match e {
            'u' | 'U' | 'x' => {
                let digits = match e {
                    'u' => 4,
                    'U' => 8,
                    _ => 2,
                };
                let hex: String = (0..digits).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                let width = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).map_or(1, char::len_utf8);
                done += width;
            }
            ' ' | '\t' | '\n' | '\r' => {
                // A line-ending backslash: it and the whitespace after it vanish.
                while chars.peek().is_some_and(|(_, w)| w.is_whitespace()) {
                    chars.next();
                }
            }
            _ => done += 1,
        }
    }
    at + chars.peek().map_or(raw.len(), |(i, _)| *i)
}
