//! Conditions from text: a lexer and a recursive-descent parser with
//! type checks, every error at its byte offset.

use crate::quantity::{self, Unit};
use std::ops::Range;

use super::*;

/// Parse a condition, checking its units and types.
///
/// # Errors
/// The first problem in the text, at its byte offset.
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    let mut p = Parser { text, toks: lex(text), pos: 0, depth: 0, endpoints: Vec::new() };
    if p.toks.is_empty() {
        return Err(error(0, "empty condition"));
    }
    let node = p.or()?;
    p.finish(&node)?;
    let expr = p.boolean(node)?;
    Ok(Condition { text: text.to_owned(), expr, endpoints: p.endpoints })
}

fn error(offset: usize, message: impl Into<String>) -> ConditionError {
    ConditionError { offset, message: message.into() }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_.-]*`: keywords, gauge names, endpoint names.
    Word,
    /// Digits, `.` and `_`, then from `unit_at` the unit in letters, digits and `%`.
    Number {
        unit_at: usize,
    },
    Open,
    Close,
    Cmp(Op),
    /// What cannot start a token: the parser reports it when it gets there, so the first error wins.
    Bad(String),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Range<usize>,
}

fn lex(text: &str) -> Vec<Token> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let mut end = i + c.len_utf8();
        let mut take = |end: &mut usize, ok: fn(char) -> bool| {
            while let Some((j, c)) = chars.next_if(|&(_, c)| ok(c)) {
                *end = j + c.len_utf8();
            }
        };
        let bad = |m: &str| Tok::Bad(m.to_owned());
        let tok = match c {
            _ if c.is_whitespace() => continue,
            '(' => Tok::Open,
            ')' => Tok::Close,
            '0'..='9' => {
                take(&mut end, |c| c.is_ascii_digit() || c == '.' || c == '_');
                let unit_at = end;
                take(&mut end, |c| c.is_ascii_alphanumeric() || c == '%');
                Tok::Number { unit_at }
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                take(&mut end, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
                Tok::Word
            }
            '<' | '>' | '=' | '!' | '&' | '|' => {
                let second = if matches!(c, '&' | '|') { c } else { '=' };
                let doubled = chars.next_if(|&(_, d)| d == second).is_some();
                end += usize::from(doubled);
                match (c, doubled) {
                    ('<', d) => Tok::Cmp(if d { Op::LE } else { Op::LT }),
                    ('>', d) => Tok::Cmp(if d { Op::GE } else { Op::GT }),
                    ('=', true) => Tok::Cmp(Op::EQ),
                    ('!', true) => Tok::Cmp(Op::NE),
                    ('=', false) => bad("use `==` to compare"),
                    ('!', false) => bad("use `not`, not `!`"),
                    ('&', d) => bad(if d { "use `and`, not `&&`" } else { "use `and`, not `&`" }),
                    (_, d) => bad(if d { "use `or`, not `||`" } else { "use `or`, not `|`" }),
                }
            }
            '%' => bad("write `%` right after the number, e.g. `20%`"),
            other => Tok::Bad(format!("unexpected character `{other}`")),
        };
        toks.push(Token { tok, span: i..end });
    }
    toks
}

fn unit_dim(unit: &str) -> Option<Dim> {
    match unit {
        "" => Some(Dim::Unitless),
        "B" | "kB" | "KB" | "KiB" | "MB" | "MiB" | "GB" | "GiB" | "TB" | "TiB" => Some(Dim::Bytes),
        "ms" | "s" | "m" | "min" | "h" | "d" => Some(Dim::Seconds),
        "%" => Some(Dim::Percent),
        _ => None,
    }
}

const KEYWORDS: [&str; 5] = ["and", "or", "not", "true", "false"];

/// An operand or condition, before it is known whether a condition or a figure is wanted of it.
struct Node {
    kind: Kind,
    span: Range<usize>,
}

enum Kind {
    Bool(Expr),
    Num(Num, Dim),
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    endpoints: Vec<Range<usize>>,
}

type Parsed<T> = Result<T, ConditionError>;

impl<'a> Parser<'a> {
    fn src(&self, span: &Range<usize>) -> &'a str {
        self.text.get(span.clone()).unwrap_or("")
    }

    /// The next token, or the error a bad one stands for.
    fn peek(&self) -> Parsed<Option<Token>> {
        match self.toks.get(self.pos) {
            Some(Token { tok: Tok::Bad(message), span }) => Err(error(span.start, message.clone())),
            t => Ok(t.cloned()),
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = self.toks.get(self.pos).is_some_and(|t| t.tok == Tok::Word && self.src(&t.span) == word);
        self.pos += usize::from(hit);
        hit
    }

    fn nest(&mut self, at: usize, inner: fn(&mut Self) -> Parsed<Node>) -> Parsed<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(at, format!("nested too deeply (more than {MAX_DEPTH} levels of `(` and `not`)")));
        }
        let node = inner(self);
        self.depth -= 1;
        node
    }

    fn or(&mut self) -> Parsed<Node> {
        self.chain("or", |p| p.chain("and", Self::not, Expr::All), Expr::Any)
    }

    fn chain(&mut self, word: &str, next: fn(&mut Self) -> Parsed<Node>, join: fn(Vec<Expr>) -> Expr) -> Parsed<Node> {
        let first = next(self)?;
        if !self.eat_word(word) {
            return Ok(first);
        }
        let start = first.span.start;
        let mut parts = vec![self.boolean(first)?];
        loop {
            let part = next(self)?;
            let end = part.span.end;
            parts.push(self.boolean(part)?);
            if !self.eat_word(word) {
                return Ok(Node { kind: Kind::Bool(join(parts)), span: start..end });
            }
        }
    }

    fn not(&mut self) -> Parsed<Node> {
        let start = self.toks.get(self.pos).map_or(0, |t| t.span.start);
        if !self.eat_word("not") {
            return self.cmp();
        }
        let inner = self.nest(start, Self::not)?;
        let end = inner.span.end;
        Ok(Node { kind: Kind::Bool(Expr::Not(Box::new(self.boolean(inner)?))), span: start..end })
    }

    fn cmp(&mut self) -> Parsed<Node> {
        let left = self.operand()?;
        let Some(Token { tok: Tok::Cmp(op), span: op_at }) = self.peek()? else {
            return Ok(left);
        };
        self.pos += 1;
        let right = self.operand()?;
        let node = self.compare(left, op, op_at.start, right)?;
        if let Some(Token { tok: Tok::Cmp(_), span }) = self.peek()? {
            return Err(error(span.start, "comparisons do not chain: write `a < b and b < c`"));
        }
        Ok(node)
    }

    fn operand(&mut self) -> Parsed<Node> {
        let Some(t) = self.peek()? else {
            return Err(self.expected("a value"));
        };
        let (at, word) = (t.span.clone(), self.src(&t.span));
        match t.tok {
            Tok::Number { unit_at } => {
                self.pos += 1;
                self.literal(at, unit_at)
            }
            Tok::Open => {
                self.pos += 1;
                let inner = self.nest(at.start, Self::or)?;
                let end = self.close()?;
                Ok(Node { kind: inner.kind, span: at.start..end })
            }
            Tok::Word if word == "true" || word == "false" => {
                self.pos += 1;
                Ok(Node { kind: Kind::Bool(Expr::Const(word == "true")), span: at })
            }
            Tok::Word if member_state_code(word).is_some() => {
                self.pos += 1;
                let code = member_state_code(word).map_or(0.0, f64::from);
                Ok(Node { kind: Kind::Num(Num::Lit(code), Dim::State), span: at })
            }
            Tok::Word if !KEYWORDS.contains(&word) => {
                if let Some(hint) = self.stray(&t) {
                    return Err(hint);
                }
                let upper = word.to_ascii_uppercase();
                if member_state_code(&upper).is_some() {
                    return Err(error(at.start, format!("member states are uppercase: write `{upper}`")));
                }
                let Some(&(gauge, _, dim)) = GAUGES.iter().find(|g| g.1 == word) else {
                    let known: Vec<&str> = GAUGES.iter().map(|g| g.1).collect();
                    return Err(error(at.start, format!("unknown gauge `{word}`; known: {}", known.join(", "))));
                };
                self.pos += 1;
                self.gauge(gauge, dim, at)
            }
            _ => Err(self.expected("a value")),
        }
    }

    fn literal(&self, at: Range<usize>, unit_at: usize) -> Parsed<Node> {
        let unit = self.src(&(unit_at..at.end));
        let Some(dim) = unit_dim(unit) else {
            let known = "sizes B, kB, MB, GB, TB; durations ms, s, m, h, d; or %";
            return Err(error(unit_at, format!("unknown unit `{unit}`; use {known}")));
        };
        let measure = match dim {
            Dim::Bytes => Unit::Bytes,
            Dim::Seconds => Unit::Seconds,
            _ => Unit::Plain,
        };
        let number = self.src(&(at.start..unit_at));
        let value = quantity::parse(self.src(&at), measure)
            .map_err(|_| error(at.start, format!("`{number}` is not a number")))?;
        if !value.is_finite() {
            return Err(error(at.start, format!("`{number}` is too large")));
        }
        Ok(Node { kind: Kind::Num(Num::Lit(value), dim), span: at })
    }

    fn gauge(&mut self, gauge: Gauge, dim: Option<Dim>, at: Range<usize>) -> Parsed<Node> {
        let name = gauge.name();
        match (gauge, self.peek()?) {
            (Gauge::VerifyDifferences, Some(Token { tok: Tok::Open, span })) => {
                return Err(error(span.start, "verify.differences takes no endpoint"));
            }
            (Gauge::VerifyDifferences, _) => {
                let probe = Probe { gauge, endpoint: None };
                return Ok(Node { kind: Kind::Num(Num::Read(probe), Dim::Count), span: at });
            }
            (_, Some(Token { tok: Tok::Open, .. })) => self.pos += 1,
            (_, other) => {
                let offset = other.map_or(self.text.len(), |t| t.span.start);
                return Err(error(offset, format!("{name} needs an endpoint, e.g. {name}(target)")));
            }
        }
        let endpoint = match self.peek()? {
            Some(Token { tok: Tok::Word, span }) if self.src(&span).contains('.') => {
                let word = self.src(&span);
                return Err(error(span.start, format!("`{word}` is not an endpoint name (letters, digits, `_`, `-`)")));
            }
            Some(Token { tok: Tok::Word, span }) => span,
            _ => return Err(self.expected("an endpoint name")),
        };
        self.pos += 1;
        self.endpoints.push(endpoint.clone());
        let end = self.close()?;
        let probe = Probe { gauge, endpoint: Some(endpoint) };
        let kind = match dim {
            None => Kind::Bool(Expr::Flag(probe)),
            Some(dim) => Kind::Num(Num::Read(probe), dim),
        };
        Ok(Node { kind, span: at.start..end })
    }

    /// A `)`, returning where it ends.
    fn close(&mut self) -> Parsed<usize> {
        match self.peek()? {
            Some(Token { tok: Tok::Close, span }) => {
                self.pos += 1;
                Ok(span.end)
            }
            Some(t) => Err(self
                .stray(&t)
                .unwrap_or_else(|| error(t.span.start, format!("missing `)`, found `{}`", self.src(&t.span))))),
            None => Err(error(self.text.len(), "missing `)` at the end")),
        }
    }

    /// After a whole condition nothing may follow.
    fn finish(&self, node: &Node) -> Parsed<()> {
        let Some(t) = self.peek()? else { return Ok(()) };
        let found = self.src(&t.span);
        let message = match (&t.tok, &node.kind) {
            (Tok::Close, _) => "unmatched `)`".to_owned(),
            (_, Kind::Num(..)) => format!("expected a comparison like `<` or `==`, found `{found}`"),
            _ => format!("unexpected `{found}`: join conditions with `and` or `or`"),
        };
        Err(self.stray(&t).unwrap_or_else(|| error(t.span.start, message)))
    }

    /// A specific hint for a word out of place: a capitalised keyword, or a unit apart from its number.
    fn stray(&self, t: &Token) -> Option<ConditionError> {
        let word = self.src(&t.span);
        let lower = word.to_ascii_lowercase();
        if t.tok != Tok::Word {
            return None;
        } else if lower != word && KEYWORDS.contains(&lower.as_str()) {
            return Some(error(t.span.start, format!("keywords are lowercase: write `{lower}`")));
        }
        let prev = self.toks.get(self.toks.iter().position(|u| u.span == t.span)?.checked_sub(1)?)?;
        let bare_number = matches!(prev.tok, Tok::Number { unit_at } if unit_at == prev.span.end);
        let number = self.src(&prev.span);
        (bare_number && unit_dim(word).is_some())
            .then(|| error(t.span.start, format!("write the unit right after the number: `{number}{word}`")))
    }

    /// "expected X, found `Y`", or "expected X after `Y`" at the end of the text.
    fn expected(&self, what: &str) -> ConditionError {
        if let Some(t) = self.toks.get(self.pos) {
            return error(t.span.start, format!("expected {what}, found `{}`", self.src(&t.span)));
        }
        let prev = self.pos.checked_sub(1).and_then(|i| self.toks.get(i)).map_or("", |t| self.src(&t.span));
        error(self.text.len(), format!("expected {what} after `{prev}`"))
    }

    /// `node` where a condition is needed: under `and`, `or`, `not`, or as the whole text.
    fn boolean(&self, node: Node) -> Parsed<Expr> {
        let message = match node.kind {
            Kind::Bool(expr) => return Ok(expr),
            Kind::Num(Num::Read(ref p), dim) => {
                let name = probe_name(self.text, p);
                format!("{name} is a number: compare it, e.g. {name} {}", dim.words().2)
            }
            Kind::Num(Num::Lit(_), _) => format!("{}, not a condition", self.what(&node)),
        };
        Err(error(node.span.start, message))
    }

    /// What `node` is, for type errors: "`5s` is a duration", "lag_bytes(x) is in bytes".
    fn what(&self, node: &Node) -> String {
        match &node.kind {
            Kind::Num(Num::Read(p), dim) => format!("{} is {}", probe_name(self.text, p), dim.words().1),
            Kind::Num(Num::Lit(_), dim) => format!("`{}` is {}", self.src(&node.span), dim.words().0),
            Kind::Bool(Expr::Flag(p)) => format!("{} is true or false", probe_name(self.text, p)),
            Kind::Bool(_) => format!("`{}` is true or false", self.src(&node.span)),
        }
    }

    fn compare(&self, left: Node, op: Op, op_at: usize, right: Node) -> Parsed<Node> {
        let span = left.span.start..right.span.end;
        let expr = match (&left.kind, &right.kind) {
            (Kind::Num(..), Kind::Num(..))
                if (op != Op::EQ && op != Op::NE)
                    && [&left, &right].iter().any(|n| matches!(n.kind, Kind::Num(_, Dim::State))) =>
            {
                return Err(error(op_at, format!("`{}` does not order member states; use `==` or `!=`", op.symbol())));
            }
            (Kind::Num(a, da), Kind::Num(b, db))
                if da == db
                    || (*da == Dim::Unitless && *db != Dim::State)
                    || (*db == Dim::Unitless && *da != Dim::State) =>
            {
                let dim = if *da == Dim::Unitless { *db } else { *da };
                match (a, b) {
                    (Num::Lit(_), Num::Read(_)) => {
                        Expr::Compare { left: b.clone(), op: op.mirror(), right: a.clone(), dim }
                    }
                    _ => Expr::Compare { left: a.clone(), op, right: b.clone(), dim },
                }
            }
            (Kind::Bool(a), Kind::Bool(b)) if op == Op::EQ || op == Op::NE => {
                Expr::Same(Box::new([(a.clone(), left.span.clone()), (b.clone(), right.span.clone())]), op == Op::EQ)
            }
            (Kind::Bool(_), Kind::Bool(_)) => {
                let message = format!("`{}` compares numbers, but {}; use `==` or `!=`", op.symbol(), self.what(&left));
                return Err(error(op_at, message));
            }
            (l, r) => {
                let literal = |k: &Kind| matches!(k, Kind::Num(Num::Lit(_), _));
                let (bad, other) = if literal(l) && !literal(r) { (&left, &right) } else { (&right, &left) };
                return Err(error(bad.span.start, format!("{} but {}", self.what(bad), self.what(other))));
            }
        };
        Ok(Node { kind: Kind::Bool(expr), span })
    }
}
