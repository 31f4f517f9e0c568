//! Quoting a `${…}` value for where it goes (`${x:ident}`, `${x:literal}`,
//! `${x:sh}`, `${x:raw}`), and reading SQL and shell text far enough to know
//! whether a splice sits inside quotes the author wrote.

/// How a value is quoted: the `:modifier` of `${name:modifier}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    /// A SQL identifier: `"…"`, double quotes doubled, always quoted.
    Ident,
    /// A SQL string literal: `'…'`, quotes doubled; `E'…'` with backslashes
    /// doubled too when the value has one.
    Literal,
    /// One POSIX shell word.
    Sh,
    /// Verbatim, on purpose.
    Raw,
}

impl Modifier {
    /// The modifiers, as a runbook writes them.
    pub const NAMES: [&str; 4] = ["ident", "literal", "sh", "raw"];

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ident" => Some(Self::Ident),
            "literal" => Some(Self::Literal),
            "sh" => Some(Self::Sh),
            "raw" => Some(Self::Raw),
            _ => None,
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ident => "ident",
            Self::Literal => "literal",
            Self::Sh => "sh",
            Self::Raw => "raw",
        }
    }
}

/// A SQL identifier, always quoted: `"a""b"`.
#[must_use]
pub fn ident(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// A SQL string literal that means the same whatever
/// `standard_conforming_strings` is: `'it''s'`, and for a value with a
/// backslash the escape form `E'a\\b'` (as libpq's `PQescapeLiteral` does),
/// where a backslash is always an escape.
#[must_use]
pub fn literal(value: &str) -> String {
    let quoted = value.replace('\'', "''");
    if value.contains('\\') { format!("E'{}'", quoted.replace('\\', "\\\\")) } else { format!("'{quoted}'") }
}

/// One POSIX shell word: `'it'\''s'`.
#[must_use]
pub fn sh_word(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Where a splice stands in the text the author wrote around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// Outside any quotes (comments count as outside: a newline ends them).
    Bare,
    /// SQL `'…'` (standard), shell `'…'`.
    Single,
    /// SQL `E'…'`.
    Escaped,
    /// SQL `"…"`, shell `"…"`.
    Double,
    /// SQL `$tag$…$tag$`, with its tag.
    Dollar(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Sql {
    Bare,
    /// `-` seen: a comment if another follows.
    Dash,
    /// `/` seen: a comment if `*` follows.
    Slash,
    LineComment,
    BlockComment,
    /// `*` seen in a block comment.
    Star,
    Single,
    /// `'` seen inside `'…'`: the end, or `''`.
    SingleQuote,
    Escaped,
    EscapedBackslash,
    EscapedQuote,
    Double,
    DoubleQuote,
    /// `$` and a tag so far.
    DollarOpen(String),
    Dollar(String),
}

/// Reads SQL text piece by piece; [`SqlLexer::position`] says where the next
/// character would stand.
#[derive(Clone, Debug)]
pub struct SqlLexer {
    state: Sql,
    /// The two characters before, for `E'` and identifiers with `$`.
    prev: [char; 2],
    /// In a dollar quote: the text since it opened (only its end matters).
    body: String,
}

impl Default for SqlLexer {
    fn default() -> Self {
        Self { state: Sql::Bare, prev: [' ', ' '], body: String::new() }
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl SqlLexer {
    pub fn feed(&mut self, text: &str) {
        for c in text.chars() {
            self.step(c);
            self.prev = [self.prev[1], c];
        }
    }

    fn step(&mut self, c: char) {
        self.state = match std::mem::replace(&mut self.state, Sql::Bare) {
            Sql::Bare => self.bare(c),
            Sql::Dash => {
                if c == '-' {
                    Sql::LineComment
                } else {
                    self.bare(c)
                }
            }
            Sql::Slash => {
                if c == '*' {
                    Sql::BlockComment
                } else {
                    self.bare(c)
                }
            }
            Sql::LineComment => {
                if c == '\n' {
                    Sql::Bare
                } else {
                    Sql::LineComment
                }
            }
            Sql::BlockComment => {
                if c == '*' {
                    Sql::Star
                } else {
                    Sql::BlockComment
                }
            }
            Sql::Star => match c {
                '/' => Sql::Bare,
                '*' => Sql::Star,
                _ => Sql::BlockComment,
            },
            Sql::Single => {
                if c == '\'' {
                    Sql::SingleQuote
                } else {
                    Sql::Single
                }
            }
            Sql::SingleQuote => {
                if c == '\'' {
                    Sql::Single
                } else {
                    self.bare(c)
                }
            }
            Sql::Escaped => match c {
                '\\' => Sql::EscapedBackslash,
                '\'' => Sql::EscapedQuote,
                _ => Sql::Escaped,
            },
            Sql::EscapedBackslash => Sql::Escaped,
            Sql::EscapedQuote => {
                if c == '\'' {
                    Sql::Escaped
                } else {
                    self.bare(c)
                }
            }
            Sql::Double => {
                if c == '"' {
                    Sql::DoubleQuote
                } else {
                    Sql::Double
                }
            }
            Sql::DoubleQuote => {
                if c == '"' {
                    Sql::Double
                } else {
                    self.bare(c)
                }
            }
            Sql::DollarOpen(mut tag) => {
                if c == '$' {
                    self.body.clear();
                    Sql::Dollar(tag)
                } else if ident_char(c) && !(tag.is_empty() && c.is_ascii_digit()) {
                    tag.push(c);
                    Sql::DollarOpen(tag)
                } else {
                    self.bare(c)
                }
            }
            Sql::Dollar(tag) => {
                self.body.push(c);
                let close = format!("${tag}$");
                if self.body.ends_with(&close) { Sql::Bare } else { Sql::Dollar(tag) }
            }
        };
    }

    fn bare(&self, c: char) -> Sql {
        match c {
            '-' => Sql::Dash,
            '/' => Sql::Slash,
            '\'' if matches!(self.prev[1], 'e' | 'E') && !ident_char(self.prev[0]) => Sql::Escaped,
            '\'' => Sql::Single,
            '"' => Sql::Double,
            // `a$1` and `x$y` are identifiers, `$1` a parameter.
            '$' if !ident_char(self.prev[1]) && self.prev[1] != '$' => Sql::DollarOpen(String::new()),
            _ => Sql::Bare,
        }
    }

    /// Where text fed next would stand.
    #[must_use]
    pub fn position(&self) -> Position {
        match &self.state {
            Sql::Single => Position::Single,
            Sql::Escaped | Sql::EscapedBackslash => Position::Escaped,
            Sql::Double => Position::Double,
            Sql::Dollar(tag) => Position::Dollar(tag.clone()),
            _ => Position::Bare,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sh {
    Bare,
    BareBackslash,
    /// `$` seen: `$(` opens a command substitution.
    BareDollar,
    Comment,
    Single,
    Double,
    DoubleBackslash,
    DoubleDollar,
}

/// Reads POSIX shell text piece by piece: quotes, backslashes, comments and
/// `$(…)` (which starts afresh, even inside double quotes).
#[derive(Clone, Debug)]
pub struct ShellLexer {
    /// The innermost last; a `$(…)` pushes a level.
    stack: Vec<Sh>,
    prev: char,
}

impl Default for ShellLexer {
    fn default() -> Self {
        Self { stack: vec![Sh::Bare], prev: ' ' }
    }
}

impl ShellLexer {
    pub fn feed(&mut self, text: &str) {
        for c in text.chars() {
            self.step(c);
            self.prev = c;
        }
    }

    fn set(&mut self, state: Sh) {
        if let Some(top) = self.stack.last_mut() {
            *top = state;
        }
    }

    fn step(&mut self, c: char) {
        let state = self.stack.last().copied().unwrap_or(Sh::Bare);
        match state {
            Sh::Bare | Sh::BareDollar => match c {
                '(' if state == Sh::BareDollar => {
                    self.set(Sh::Bare);
                    self.stack.push(Sh::Bare);
                }
                ')' if self.stack.len() > 1 => {
                    self.stack.pop();
                }
                '\\' => self.set(Sh::BareBackslash),
                '$' => self.set(Sh::BareDollar),
                '\'' => self.set(Sh::Single),
                '"' => self.set(Sh::Double),
                '#' if self.prev.is_whitespace() || matches!(self.prev, ';' | '&' | '|' | '(') => {
                    self.set(Sh::Comment);
                }
                _ => self.set(Sh::Bare),
            },
            Sh::BareBackslash => self.set(Sh::Bare),
            Sh::Comment => {
                if c == '\n' {
                    self.set(Sh::Bare);
                }
            }
            Sh::Single => {
                if c == '\'' {
                    self.set(Sh::Bare);
                }
            }
            Sh::Double | Sh::DoubleDollar => match c {
                '(' if state == Sh::DoubleDollar => {
                    self.set(Sh::Double);
                    self.stack.push(Sh::Bare);
                }
                '"' => self.set(Sh::Bare),
                '\\' => self.set(Sh::DoubleBackslash),
                '$' => self.set(Sh::DoubleDollar),
                _ => self.set(Sh::Double),
            },
            Sh::DoubleBackslash => self.set(Sh::Double),
        }
    }

    /// Where text fed next would stand.
    #[must_use]
    pub fn position(&self) -> Position {
        match self.stack.last() {
            Some(Sh::Single) => Position::Single,
            Some(Sh::Double | Sh::DoubleDollar | Sh::DoubleBackslash) => Position::Double,
            _ => Position::Bare,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every awkward character at once.
    const NASTY: &str = "it's \"a\"; b\\c d\ne";

    #[test]
    fn identifiers_are_always_double_quoted() {
        assert_eq!(ident("sub"), "\"sub\"");
        assert_eq!(ident(NASTY), "\"it's \"\"a\"\"; b\\c d\ne\"");
        assert_eq!(ident("Mixed Case"), "\"Mixed Case\"");
    }

    #[test]
    fn literals_double_quotes_and_escape_backslashes_in_the_e_form() {
        assert_eq!(literal("plain"), "'plain'");
        assert_eq!(literal("'; DROP TABLE keep; --"), "'''; DROP TABLE keep; --'");
        assert_eq!(literal(NASTY), "E'it''s \"a\"; b\\\\c d\ne'");
        assert_eq!(literal(""), "''");
    }

    #[test]
    fn shell_words_are_single_quoted() {
        assert_eq!(sh_word("plain"), "'plain'");
        assert_eq!(sh_word(NASTY), "'it'\\''s \"a\"; b\\c d\ne'");
        assert_eq!(sh_word(""), "''");
        assert_eq!(sh_word("$(rm -rf /) `x`"), "'$(rm -rf /) `x`'");
    }

    #[test]
    fn modifiers_parse_by_name() {
        for name in Modifier::NAMES {
            assert_eq!(Modifier::parse(name).map(Modifier::name), Some(name));
        }
        assert_eq!(Modifier::parse("quoted"), None);
    }

    fn sql_at(text: &str) -> Position {
        let mut lexer = SqlLexer::default();
        lexer.feed(text);
        lexer.position()
    }

    #[test]
    fn sql_positions() {
        assert_eq!(sql_at("SELECT "), Position::Bare);
        assert_eq!(sql_at("WHERE a = '"), Position::Single);
        assert_eq!(sql_at("WHERE a = 'it''s "), Position::Single);
        assert_eq!(sql_at("WHERE a = 'x' AND b = "), Position::Bare);
        assert_eq!(sql_at("WHERE a = E'\\' "), Position::Escaped);
        assert_eq!(sql_at("WHERE a = e'x' || "), Position::Bare);
        assert_eq!(sql_at("SELECT name'"), Position::Single);
        assert_eq!(sql_at("DROP TABLE \""), Position::Double);
        assert_eq!(sql_at("DROP TABLE \"a\"\"b"), Position::Double);
        assert_eq!(sql_at("SELECT $conn$ "), Position::Dollar("conn".to_owned()));
        assert_eq!(sql_at("SELECT $$x$$, "), Position::Bare);
        assert_eq!(sql_at("SELECT $1, "), Position::Bare);
        assert_eq!(sql_at("SELECT 1 -- '"), Position::Bare);
        assert_eq!(sql_at("SELECT 1 -- '\n'"), Position::Single);
        assert_eq!(sql_at("/* ' */ '"), Position::Single);
    }

    fn sh_at(text: &str) -> Position {
        let mut lexer = ShellLexer::default();
        lexer.feed(text);
        lexer.position()
    }

    #[test]
    fn shell_positions() {
        assert_eq!(sh_at("echo "), Position::Bare);
        assert_eq!(sh_at("echo '"), Position::Single);
        assert_eq!(sh_at("echo \"it's "), Position::Double);
        assert_eq!(sh_at("echo \"a\\\" "), Position::Double);
        assert_eq!(sh_at("echo \\' "), Position::Bare);
        assert_eq!(sh_at("x=\"$(echo '"), Position::Single);
        assert_eq!(sh_at("x=\"$(echo 'a') "), Position::Double);
        assert_eq!(sh_at("x=$(echo \"a\") "), Position::Bare);
        assert_eq!(sh_at("# it's\necho \""), Position::Double);
        assert_eq!(sh_at("echo a#'"), Position::Single);
    }
}
