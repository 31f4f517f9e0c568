//! Errors in files the operator wrote (runbooks, themes, inventories), pointed
//! at as `FILE:LINE:COL: message` so an editor can jump there.

use std::fmt;
use std::ops::Range;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One diagnostic, one line: a message quoting the operator's text
        // must not break the `FILE:LINE:COL: message` form editors parse.
        let message = self.message.replace('\r', "\\r").replace('\n', "\\n");
        write!(f, "{}:{}:{}: {message}", self.file, self.line, self.col)
    }
}

impl std::error::Error for Diagnostic {}

impl Diagnostic {
    /// A diagnostic at a byte offset of `text`.
    #[must_use]
    pub fn at_offset(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(text, offset);
        Self { file: file.to_owned(), line, col, message: message.into() }
    }

    /// A diagnostic from a TOML parse or type error, placed where the TOML
    /// parser says (the start of the file when it does not say).
    #[must_use]
    pub fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> Self {
        let span: Range<usize> = error.span().unwrap_or(0..0);
        let message = error.message().trim().replace('\n', " ");
        Self::at_offset(file, text, span.start, message)
    }
}

/// 1-based line and character column of a byte offset (clamped to the text).
#[must_use]
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // the byte after "bé" is the 3rd character of line 2
        assert_eq!(line_col(text, 9), (2, 3));
        assert_eq!(line_col(text, 1000), (3, 1));
    }
}
