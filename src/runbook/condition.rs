//! Conditions on the live gauges, as runbook gates and waits write them:
//! `lag_bytes(target) < 1MB and verify.differences == 0`.
//!
//! ```text
//! expr    := or
//! or      := and ('or' and)*
//! and     := not ('and' not)*
//! not     := 'not' not | cmp
//! cmp     := operand (('<' | '<=' | '>' | '>=' | '==' | '!=') operand)?
//! operand := NUMBER UNIT? | 'true' | 'false' | gauge | '(' expr ')'
//! gauge   := GAUGE '(' ENDPOINT ')' | 'verify.differences'
//! ```
//!
//! - Keywords are lowercase `and`, `or`, `not`, `true`, `false`; `&&`, `||` and `!` are refused with a hint.
//! - A unit follows its number with no space: `1MB`, `5s`, `20%`. Sizes are powers of 1024 like PostgreSQL
//!   (`B`, `kB`/`KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB`); durations are `ms`, `s`, `m`/`min`, `h`, `d`.
//!   Units are case-sensitive, so `m` is minutes and `MB` megabytes.
//! - Each gauge has a dimension, checked at parse time: a size is not compared with a duration; a number
//!   without unit fits any. `and`, `or`, `not` and the whole condition need something true or false.
//! - One comparison per operand (`a < b < c` is an error); at most 32 levels of `(` and `not`.
//!
//! Evaluation is three-valued: a gauge that cannot be read makes its comparison unknown, and unknown never
//! holds, not even under `not`, so a gate never opens on missing data. `or` holds when any side holds.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

use crate::inventory::quantity::{self, Unit};

/// How deep `(` and `not` may nest, so no input can exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    expr: Expr,
    /// Where each endpoint name is, in the order written.
    endpoints: Vec<Range<usize>>,
}

/// A problem in a condition's text: `offset` is a byte offset into the condition text (0-based), pointing at
/// the offending token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConditionError {}

/// What a condition reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gauge {
    LagBytes,
    LagSeconds,
    PoolWaiting,
    PoolActive,
    PoolUsedPct,
    DiskFreePct,
    DiskFreeBytes,
    SubscriptionTablesReady,
    SubscriptionTables,
    Reachable,
    VerifyDifferences,
}

/// Each gauge's name in a condition and its dimension (`None`: true or false).
const GAUGES: [(Gauge, &str, Option<Dim>); 11] = [
    (Gauge::LagBytes, "lag_bytes", Some(Dim::Bytes)),
    (Gauge::LagSeconds, "lag_seconds", Some(Dim::Seconds)),
    (Gauge::PoolWaiting, "pool.waiting", Some(Dim::Count)),
    (Gauge::PoolActive, "pool.active", Some(Dim::Count)),
    (Gauge::PoolUsedPct, "pool.used_pct", Some(Dim::Percent)),
    (Gauge::DiskFreePct, "disk.free_pct", Some(Dim::Percent)),
    (Gauge::DiskFreeBytes, "disk.free_bytes", Some(Dim::Bytes)),
    (Gauge::SubscriptionTablesReady, "subscription.tables_ready", Some(Dim::Count)),
    (Gauge::SubscriptionTables, "subscription.tables", Some(Dim::Count)),
    (Gauge::Reachable, "reachable", None),
    (Gauge::VerifyDifferences, "verify.differences", Some(Dim::Count)),
];

impl Gauge {
    /// The gauge's name in a condition: `lag_bytes`, `verify.differences`.
    #[must_use]
    pub fn name(self) -> &'static str {
        GAUGES.iter().find(|g| g.0 == self).map_or("?", |g| g.1)
    }
}

/// Where a condition's figures come from (the cockpit's state implements it).
pub trait Gauges {
    /// The gauge's current value for `endpoint` (None only for VerifyDifferences). Bools as 1.0/0.0.
    /// Err: why it is unknown right now, e.g. "target is unreachable", "no replication link feeds target".
    ///
    /// # Errors
    /// Why the value is unknown.
    fn value(&self, gauge: Gauge, endpoint: Option<&str>) -> Result<f64, String>;
}

/// The outcome of evaluating a condition now.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub holds: bool,
    /// One line for the operator. When false: the first part that is false and its live value,
    /// e.g. "lag_bytes(target) = 3.2 MB, needs < 1 MB" or "lag_bytes(target) unknown: target is unreachable".
    /// When true: the live values, e.g. "lag_bytes(target) = 12 kB < 1 MB; verify.differences = 0 == 0".
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dim {
    Bytes,
    Seconds,
    Count,
    Percent,
    /// A literal written without unit: fits any dimension.
    Unitless,
}

impl Dim {
    /// How a literal and a gauge of this dimension are described, and a comparison to suggest.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Bytes => ("a size", "in bytes", "< 1MB"),
            Self::Seconds => ("a duration", "in seconds", "<= 5s"),
            Self::Count => ("a number", "a count", "== 0"),
            Self::Percent => ("a percentage", "a percentage", "> 20%"),
            Self::Unitless => ("a number", "a number", "== 0"),
        }
    }
}

/// A comparison as the orderings it accepts: bit 0 less, bit 1 equal, bit 2 greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op(u8);

impl Op {
    const LT: Self = Self(1);
    const EQ: Self = Self(2);
    const LE: Self = Self(3);
    const GT: Self = Self(4);
    const NE: Self = Self(5);
    const GE: Self = Self(6);

    fn symbol(self) -> &'static str {
        ["?", "<", "==", "<=", ">", "!=", ">=", "?"][usize::from(self.0 & 7)]
    }

    /// Holds exactly when `self` does not.
    fn negate(self) -> Self {
        Self(!self.0 & 7)
    }

    /// The same comparison with its sides swapped.
    fn mirror(self) -> Self {
        Self((self.0 & 2) | (self.0 & 1) << 2 | (self.0 & 4) >> 2)
    }

    fn test(self, a: f64, b: f64) -> bool {
        let bit = match a.partial_cmp(&b) {
            Some(Ordering::Less) => 1,
            Some(Ordering::Equal) => 2,
            Some(Ordering::Greater) => 4,
            None => 0,
        };
        self.0 & bit != 0
    }
}

/// A gauge to read, with the endpoint's byte range in the text (none for `verify.differences`).
#[derive(Clone, Debug, PartialEq)]
struct Probe {
    gauge: Gauge,
    endpoint: Option<Range<usize>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Num {
    Lit(f64),
    Read(Probe),
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Const(bool),
    /// `reachable(x)`.
    Flag(Probe),
    /// Two figures of one dimension; a gauge compared with a literal is always on the left.
    Compare {
        left: Num,
        op: Op,
        right: Num,
        dim: Dim,
    },
    /// Two conditions compared with `==` (`true`) or `!=`, with their spans to name them in reasons.
    Same(Box<[(Expr, Range<usize>); 2]>, bool),
    Not(Box<Expr>),
    All(Vec<Expr>),
    Any(Vec<Expr>),
}

impl Condition {
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every endpoint name the condition mentions, with its byte range in the text (for "undefined endpoint"
    /// checks), in the order written; a name mentioned twice is listed twice.
    #[must_use]
    pub fn endpoints(&self) -> Vec<(&str, Range<usize>)> {
        self.endpoints.iter().filter_map(|r| self.text.get(r.clone()).map(|name| (name, r.clone()))).collect()
    }

    /// Evaluate now. An unknown value makes its comparison false (never true), with the reason saying why.
    /// `or` is true if either side holds (an unknown side does not block); `not` of an unknown comparison is
    /// false too: a gate must never open on missing data.
    #[must_use]
    pub fn eval(&self, gauges: &dyn Gauges) -> Verdict {
        let out = self.judge(&self.expr, false, gauges);
        Verdict { holds: out.holds == Some(true), reason: out.facts.join("; ") }
    }

    /// A gauge's name and value, or the fact that it is unknown.
    fn read(&self, p: &Probe, gauges: &dyn Gauges) -> Result<(String, f64), Outcome> {
        let name = probe_name(&self.text, p);
        let endpoint = p.endpoint.as_ref().and_then(|r| self.text.get(r.clone()));
        match gauges.value(p.gauge, endpoint) {
            Ok(v) if !v.is_nan() => Ok((name, v)),
            Ok(_) => Err(Outcome { holds: None, facts: vec![format!("{name} unknown: no value")] }),
            Err(why) => Err(Outcome { holds: None, facts: vec![format!("{name} unknown: {why}")] }),
        }
    }

    /// `expr`, or `not expr` when `negated`: negation is pushed down to the comparisons, so reasons read
    /// "needs <= 0" rather than "needs not > 0", and an unknown stays unknown.
    fn judge(&self, expr: &Expr, negated: bool, gauges: &dyn Gauges) -> Outcome {
        match expr {
            Expr::Const(b) => Outcome::known(*b != negated, if negated { format!("not {b}") } else { b.to_string() }),
            Expr::Flag(p) => match self.read(p, gauges) {
                Ok((name, v)) => {
                    let (is, want) = (v != 0.0, !negated);
                    Outcome::known(
                        is == want,
                        if is == want { format!("{name} = {is}") } else { format!("{name} = {is}, needs {want}") },
                    )
                }
                Err(unknown) => unknown,
            },
            Expr::Compare { left, op, right, dim } => {
                let [left, right] = [left, right].map(|num| match num {
                    Num::Lit(v) => Ok((*v, show(*v, *dim))),
                    Num::Read(p) => self.read(p, gauges).map(|(name, v)| (v, format!("{name} = {}", show(v, *dim)))),
                });
                let ((a, l), (b, r)) = match (left, right) {
                    (Ok(l), Ok(r)) => (l, r),
                    (Err(unknown), _) | (_, Err(unknown)) => return unknown,
                };
                let op = if negated { op.negate() } else { *op };
                Outcome::compared(&l, op.symbol(), &r, op.test(a, b))
            }
            Expr::Same(sides, same) => {
                let [(left, left_at), (right, right_at)] = &**sides;
                let (a, b) = (self.judge(left, false, gauges), self.judge(right, false, gauges));
                let (Some(x), Some(y)) = (a.holds, b.holds) else {
                    return if a.holds.is_none() { a } else { b };
                };
                let want_same = *same != negated;
                let (l, r) = (self.label(left, left_at, x), self.label(right, right_at, y));
                Outcome::compared(&l, if want_same { "==" } else { "!=" }, &r, (x == y) == want_same)
            }
            Expr::Not(inner) => self.judge(inner, !negated, gauges),
            Expr::All(parts) | Expr::Any(parts) => {
                let outs = parts.iter().map(|p| self.judge(p, negated, gauges)).collect();
                Outcome::join(outs, matches!(expr, Expr::All(_)) != negated)
            }
        }
    }

    fn label(&self, e: &Expr, at: &Range<usize>, value: bool) -> String {
        match e {
            Expr::Const(_) => value.to_string(),
            Expr::Flag(p) => format!("{} = {value}", probe_name(&self.text, p)),
            _ => format!("{} = {value}", self.text.get(at.clone()).unwrap_or("")),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A part's truth (`None`: unknown) and the facts that explain it.
struct Outcome {
    holds: Option<bool>,
    facts: Vec<String>,
}

impl Outcome {
    fn known(holds: bool, fact: String) -> Self {
        Self { holds: Some(holds), facts: vec![fact] }
    }

    fn compared(l: &str, symbol: &str, r: &str, holds: bool) -> Self {
        Self::known(holds, if holds { format!("{l} {symbol} {r}") } else { format!("{l}, needs {symbol} {r}") })
    }

    /// `all`: holds when every part holds, explained by all their facts, else by the first part that does not.
    /// Otherwise (any): holds when some part holds, explained by the first that does, else by every part.
    fn join(outs: Vec<Self>, all: bool) -> Self {
        let holds = if outs.iter().any(|o| o.holds == Some(!all)) {
            Some(!all)
        } else if outs.iter().all(|o| o.holds == Some(all)) {
            Some(all)
        } else {
            None
        };
        let facts = if (holds == Some(true)) == all {
            outs.into_iter().flat_map(|o| o.facts).collect()
        } else {
            outs.into_iter().find(|o| (o.holds == Some(true)) != all).map(|o| o.facts).unwrap_or_default()
        };
        Self { holds, facts }
    }
}

fn probe_name(text: &str, p: &Probe) -> String {
    match &p.endpoint {
        None => p.gauge.name().to_owned(),
        Some(r) => format!("{}({})", p.gauge.name(), text.get(r.clone()).unwrap_or("")),
    }
}

/// A figure as the operator reads it: `3.2 MB`, `2m 10s`, `17.5 %`, `3`.
fn show(v: f64, dim: Dim) -> String {
    match dim {
        Dim::Bytes => size(v),
        Dim::Seconds => duration(v),
        Dim::Percent => format!("{} %", one_decimal(v)),
        Dim::Count | Dim::Unitless if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Dim::Count | Dim::Unitless => format!("{v}"),
    }
}

fn one_decimal(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or_else(|| s.clone(), str::to_owned)
}

/// Powers of 1024 like `pg_size_pretty` (and `ui::format::bytes`), but `1 MB` rather than `1.0 MB`.
fn size(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    if v < 0.0 {
        return format!("-{}", size(-v));
    }
    let (mut x, mut unit) = (v, 0);
    while x >= 1024.0 && unit < UNITS.len() - 1 {
        x /= 1024.0;
        unit += 1;
    }
    let figure = if unit == 0 || x >= 10.0 { format!("{x:.0}") } else { one_decimal(x) };
    format!("{figure} {}", UNITS.get(unit).unwrap_or(&"B"))
}

/// `250 ms`, `4.5 s`, `2m 10s`, `1h 5m`, `2d 3h`.
fn duration(v: f64) -> String {
    if v < 0.0 {
        return format!("-{}", duration(-v));
    }
    if v > 0.0 && v < 1.0 {
        return format!("{:.0} ms", v * 1000.0);
    }
    if v < 60.0 {
        return format!("{} s", one_decimal(v));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = v.round() as u64;
    let (big, small, a, b) = match s {
        0..3600 => (s / 60, s % 60, "m", "s"),
        3600..86_400 => (s / 3600, s % 3600 / 60, "h", "m"),
        _ => (s / 86_400, s % 86_400 / 3600, "d", "h"),
    };
    if small == 0 { format!("{big}{a}") } else { format!("{big}{a} {small}{b}") }
}

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
            Tok::Word if !KEYWORDS.contains(&word) => {
                if let Some(hint) = self.stray(&t) {
                    return Err(hint);
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
            (Kind::Num(a, da), Kind::Num(b, db)) if da == db || *da == Dim::Unitless || *db == Dim::Unitless => {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Gauges by their name in a condition, `lag_bytes(target)`; anything missing is "no data".
    struct Fake(HashMap<String, Result<f64, String>>);

    fn fake(values: &[(&str, Result<f64, &str>)]) -> Fake {
        Fake(values.iter().map(|(k, v)| ((*k).to_owned(), v.map_err(str::to_owned))).collect())
    }

    impl Gauges for Fake {
        fn value(&self, gauge: Gauge, endpoint: Option<&str>) -> Result<f64, String> {
            let key = endpoint.map_or_else(|| gauge.name().to_owned(), |e| format!("{}({e})", gauge.name()));
            self.0.get(&key).cloned().unwrap_or_else(|| Err("no data".to_owned()))
        }
    }

    const MB: f64 = 1024.0 * 1024.0;

    fn fails(text: &str) -> (usize, String) {
        let e = parse(text).unwrap_err();
        (e.offset, e.message)
    }

    fn eval(text: &str, gauges: &Fake) -> (bool, String) {
        let v = parse(text).unwrap().eval(gauges);
        (v.holds, v.reason)
    }

    fn reach(a: bool, b: bool, c: bool) -> Fake {
        let f = |v: bool| Ok(f64::from(u8::from(v)));
        fake(&[("reachable(a)", f(a)), ("reachable(b)", f(b)), ("reachable(c)", f(c))])
    }

    const VALID: [&str; 7] = [
        "lag_bytes(target) < 1MB and verify.differences == 0",
        "subscription.tables_ready(target) == subscription.tables(target) and subscription.tables(target) > 0",
        "lag_seconds(replica) <= 5s",
        "disk.free_pct(source) > 20%",
        "not (pool.waiting(bouncer) > 0) or reachable(target)",
        "(pool.used_pct(b-1) < 90 or pool.active(b_2) <= 1_000) and disk.free_bytes(src) >= 1.5GiB",
        "reachable(a) == (lag_seconds(a) < 250ms) and true != false",
    ];

    #[test]
    fn examples_parse_and_list_their_endpoints() {
        for text in VALID {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
        let c = parse(VALID[1]).unwrap();
        assert_eq!(
            (c.text(), c.endpoints()),
            (VALID[1], vec![("target", 26..32), ("target", 57..63), ("target", 89..95)])
        );
        assert_eq!(parse("verify.differences == 0").unwrap().endpoints(), vec![]);
        // Swapping a literal behind its gauge does not reorder the endpoints.
        assert_eq!(
            parse("1MB > lag_bytes(x) and reachable(y)").unwrap().endpoints(),
            vec![("x", 16..17), ("y", 33..34)]
        );
    }

    #[test]
    fn units_scale_literals() {
        let literal = |text: &str| match parse(text).unwrap().expr {
            Expr::Compare { right: Num::Lit(v), .. } => v,
            other => panic!("{other:?}"),
        };
        let cases = [
            ("lag_bytes(x) < 1MB", MB),
            ("lag_bytes(x) < 2KiB", 2048.0),
            ("lag_bytes(x) < 1_000", 1000.0),
            ("disk.free_bytes(x) > 1.5GB", 1536.0 * MB),
            ("lag_seconds(x) < 5m", 300.0),
            ("lag_seconds(x) < 2min", 120.0),
            ("lag_seconds(x) < 250ms", 0.25),
            ("lag_seconds(x) < 1d", 86_400.0),
            ("disk.free_pct(x) > 20%", 20.0),
            ("5s > lag_seconds(x)", 5.0),
        ];
        for (text, value) in cases {
            assert!((literal(text) - value).abs() < 1e-9, "{text}");
        }
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let units = "use sizes B, kB, MB, GB, TB; durations ms, s, m, h, d; or %";
        let cases = [
            ("", 0, "empty condition".to_owned()),
            ("  \n ", 0, "empty condition".to_owned()),
            ("lag_bytes(x) <", 14, "expected a value after `<`".to_owned()),
            ("lag_bytes(x) < )", 15, "expected a value, found `)`".to_owned()),
            ("not", 3, "expected a value after `not`".to_owned()),
            ("lag_bytes(x) < 1MB and and", 23, "expected a value, found `and`".to_owned()),
            ("lag_bytes(x < 1MB", 12, "missing `)`, found `<`".to_owned()),
            ("(reachable(x)", 13, "missing `)` at the end".to_owned()),
            ("reachable(x))", 12, "unmatched `)`".to_owned()),
            ("reachable(x) reachable(y)", 13, "unexpected `reachable`: join conditions with `and` or `or`".to_owned()),
            ("lag_bytes(x) 1MB", 13, "expected a comparison like `<` or `==`, found `1MB`".to_owned()),
            ("lag_bytes(x) < 1XB", 16, format!("unknown unit `XB`; {units}")),
            ("lag_bytes(x) < 1mb", 16, format!("unknown unit `mb`; {units}")),
            ("lag_bytes(x) < 1 MB", 17, "write the unit right after the number: `1MB`".to_owned()),
            ("disk.free_pct(x) > 20 %", 22, "write `%` right after the number, e.g. `20%`".to_owned()),
            ("lag_bytes(x) < 1.2.3", 15, "`1.2.3` is not a number".to_owned()),
            ("verify.differences = 0", 19, "use `==` to compare".to_owned()),
            ("reachable(a) && reachable(b)", 13, "use `and`, not `&&`".to_owned()),
            ("reachable(a) || reachable(b)", 13, "use `or`, not `||`".to_owned()),
            ("!reachable(a)", 0, "use `not`, not `!`".to_owned()),
            ("reachable(a) AND true", 13, "keywords are lowercase: write `and`".to_owned()),
            ("Not reachable(a)", 0, "keywords are lowercase: write `not`".to_owned()),
            ("lag_seconds(x) < 5s < 10s", 20, "comparisons do not chain: write `a < b and b < c`".to_owned()),
            ("lag_bytes < 1MB", 10, "lag_bytes needs an endpoint, e.g. lag_bytes(target)".to_owned()),
            ("reachable", 9, "reachable needs an endpoint, e.g. reachable(target)".to_owned()),
            ("lag_bytes() < 1", 10, "expected an endpoint name, found `)`".to_owned()),
            ("lag_bytes(", 10, "expected an endpoint name after `(`".to_owned()),
            ("reachable(a.b)", 10, "`a.b` is not an endpoint name (letters, digits, `_`, `-`)".to_owned()),
            ("verify.differences(x) == 0", 18, "verify.differences takes no endpoint".to_owned()),
            ("reachable(x) and é", 17, "unexpected character `é`".to_owned()),
            (&"(".repeat(40), 32, "nested too deeply (more than 32 levels of `(` and `not`)".to_owned()),
        ];
        for (text, offset, message) in cases {
            assert_eq!(fails(text), (offset, message), "{text}");
        }
        let known = "lag_bytes, lag_seconds, pool.waiting, pool.active, pool.used_pct, disk.free_pct, disk.free_bytes, \
                     subscription.tables_ready, subscription.tables, reachable, verify.differences";
        assert_eq!(fails("lag_byte(x) < 1MB"), (0, format!("unknown gauge `lag_byte`; known: {known}")));
        assert_eq!(fails("reachable(x) or pool.wait(b) > 0").0, 16);
    }

    #[test]
    fn type_errors_name_both_sides() {
        let cases = [
            ("lag_bytes(x) < 5s", 15, "`5s` is a duration but lag_bytes(x) is in bytes"),
            ("5s > lag_bytes(x)", 0, "`5s` is a duration but lag_bytes(x) is in bytes"),
            ("lag_seconds(x) < 1MB", 17, "`1MB` is a size but lag_seconds(x) is in seconds"),
            ("pool.waiting(b) > 20%", 18, "`20%` is a percentage but pool.waiting(b) is a count"),
            ("lag_bytes(a) < lag_seconds(a)", 15, "lag_seconds(a) is in seconds but lag_bytes(a) is in bytes"),
            ("1MB < 5s", 6, "`5s` is a duration but `1MB` is a size"),
            ("reachable(a) == 1", 16, "`1` is a number but reachable(a) is true or false"),
            ("lag_bytes(a) == true", 16, "`true` is true or false but lag_bytes(a) is in bytes"),
            (
                "reachable(a) < reachable(b)",
                13,
                "`<` compares numbers, but reachable(a) is true or false; use `==` or `!=`",
            ),
            ("lag_bytes(x)", 0, "lag_bytes(x) is a number: compare it, e.g. lag_bytes(x) < 1MB"),
            ("(lag_seconds(x))", 0, "lag_seconds(x) is a number: compare it, e.g. lag_seconds(x) <= 5s"),
            (
                "reachable(a) and disk.free_pct(a)",
                17,
                "disk.free_pct(a) is a number: compare it, e.g. disk.free_pct(a) > 20%",
            ),
            ("not verify.differences", 4, "verify.differences is a number: compare it, e.g. verify.differences == 0"),
            ("5", 0, "`5` is a number, not a condition"),
            ("true and 5s", 9, "`5s` is a duration, not a condition"),
        ];
        for (text, offset, message) in cases {
            assert_eq!(fails(text), (offset, message.to_owned()), "{text}");
        }
        for ok in ["disk.free_pct(s) > 20", "lag_bytes(x) < 1000", "reachable(a) == reachable(b)", "1 < 2", "true"] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_both() {
        let or_and = "reachable(a) or reachable(b) and reachable(c)";
        let not_or = "not reachable(a) or reachable(b)";
        let cases = [
            (or_and, reach(true, false, false), true),
            (or_and, reach(false, true, false), false),
            (or_and, reach(false, true, true), true),
            (not_or, reach(false, false, false), true),
            (not_or, reach(true, false, false), false),
            ("not not reachable(a)", reach(true, false, false), true),
            ("not (reachable(a) and reachable(b))", reach(true, false, false), true),
            ("not (reachable(a) or reachable(b))", reach(true, false, false), false),
            ("reachable(a) == reachable(b)", reach(false, false, true), true),
            ("reachable(a) != reachable(b)", reach(false, false, true), false),
            ("not (reachable(a) == reachable(c))", reach(false, false, true), true),
        ];
        for (text, gauges, holds) in cases {
            assert_eq!(eval(text, &gauges).0, holds, "{text}");
        }
    }

    #[test]
    fn unknown_values_never_open_a_gate() {
        let g = fake(&[
            ("lag_bytes(t)", Err("t is unreachable")),
            ("reachable(t)", Err("t is unreachable")),
            ("reachable(up)", Ok(1.0)),
            ("reachable(down)", Ok(0.0)),
            ("lag_seconds(nan)", Ok(f64::NAN)),
        ]);
        for text in [
            "lag_bytes(t) < 1MB",
            "lag_bytes(t) >= 1MB",
            "not (lag_bytes(t) < 1MB)",
            "not not not (lag_bytes(t) >= 1MB)",
            "reachable(t)",
            "not reachable(t)",
            "reachable(t) == false",
            "reachable(t) != true",
            "not ((lag_bytes(t) < 1MB) == true)",
            "lag_bytes(t) < 1MB or reachable(down)",
            "lag_bytes(t) < 1MB and reachable(up)",
            "not (lag_bytes(t) < 1MB and reachable(up))",
            "not (lag_bytes(t) < 1MB or reachable(down))",
            "not (lag_seconds(nan) < 5s)",
            "verify.differences == 0",
        ] {
            assert!(!eval(text, &g).0, "{text} must not hold");
        }
        // An unknown side does not block `or`, and a false part decides `and` whatever the other is.
        assert!(eval("lag_bytes(t) < 1MB or reachable(up)", &g).0);
        assert!(eval("not (lag_bytes(t) < 1MB and reachable(down))", &g).0);
        assert_eq!(eval("not (lag_bytes(t) < 1MB)", &g).1, "lag_bytes(t) unknown: t is unreachable");
        assert_eq!(eval("lag_seconds(nan) < 5s", &g).1, "lag_seconds(nan) unknown: no value");
    }

    #[test]
    fn reasons_show_live_values() {
        let g = |lag: f64| {
            fake(&[
                ("lag_bytes(target)", Ok(lag)),
                ("verify.differences", Ok(0.0)),
                ("lag_seconds(replica)", Ok(130.0)),
                ("disk.free_pct(source)", Ok(17.5)),
                ("pool.waiting(bouncer)", Ok(3.0)),
                ("reachable(target)", Ok(0.0)),
                ("lag_bytes(gone)", Err("gone is unreachable")),
            ])
        };
        let gate = "lag_bytes(target) < 1MB and verify.differences == 0";
        let cases = [
            (gate, 3.2 * MB, false, "lag_bytes(target) = 3.2 MB, needs < 1 MB"),
            (gate, 12.0 * 1024.0, true, "lag_bytes(target) = 12 kB < 1 MB; verify.differences = 0 == 0"),
            ("1MB > lag_bytes(target)", 2.0 * MB, false, "lag_bytes(target) = 2 MB, needs < 1 MB"),
            ("lag_bytes(gone) < 1MB", 0.0, false, "lag_bytes(gone) unknown: gone is unreachable"),
            ("lag_seconds(replica) <= 5m", 0.0, true, "lag_seconds(replica) = 2m 10s <= 5m"),
            ("disk.free_pct(source) > 20%", 0.0, false, "disk.free_pct(source) = 17.5 %, needs > 20 %"),
            (
                "not (pool.waiting(bouncer) > 0) or reachable(target)",
                0.0,
                false,
                "pool.waiting(bouncer) = 3, needs <= 0; reachable(target) = false, needs true",
            ),
            ("not reachable(target)", 0.0, true, "reachable(target) = false"),
            ("reachable(target) == true", 0.0, false, "reachable(target) = false, needs == true"),
            ("false", 0.0, false, "false"),
        ];
        for (text, lag, holds, reason) in cases {
            assert_eq!(eval(text, &g(lag)), (holds, reason.to_owned()), "{text}");
        }
        assert_eq!([size(0.0), size(512.0 * 1024.0), size(1536.0), size(2e12)], ["0 B", "512 kB", "1.5 kB", "1.8 TB"]);
        assert_eq!(
            [duration(4.5), duration(0.25), duration(3600.0), duration(90_000.0)],
            ["4.5 s", "250 ms", "1h", "1d 1h"]
        );
    }

    #[test]
    fn no_input_makes_parse_or_eval_panic() {
        let g = reach(true, false, true);
        let mut inputs: Vec<String> = Vec::new();
        for text in VALID {
            for (i, c) in text.char_indices() {
                inputs.push(text[..i].to_owned());
                inputs.push(format!("{}{}", &text[..i], &text[i + c.len_utf8()..]));
            }
        }
        // A xorshift, so the strings are the same on every run.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> =
            "()<>=!&|%._- 0123456789aBmsdnotrufelag_bytesreachable(x)éß→\u{0}\t".chars().collect();
        for _ in 0..3000 {
            let s = (0..next() % 40)
                .map(|_| match next() {
                    r if r % 5 == 0 => char::from_u32(u32::try_from(r % 0x11_0000).unwrap()).unwrap_or('?'),
                    r => alphabet[usize::try_from(r).unwrap() % alphabet.len()],
                })
                .collect();
            inputs.push(s);
        }
        inputs.extend(["(".repeat(10_000), "not ".repeat(10_000) + "true", vec!["reachable(a)"; 5000].join(" or ")]);
        inputs.push(format!("lag_bytes(target) < {}", "9".repeat(400)));
        for text in &inputs {
            match parse(text) {
                Ok(c) => {
                    let _ = c.eval(&g);
                    assert!(c.endpoints().into_iter().all(|(name, range)| text[range] == *name));
                }
                Err(e) => assert!(text.is_char_boundary(e.offset), "{text:?}: {e:?}"),
            }
        }
        assert_eq!(
            fails(&format!("lag_bytes(target) < {}", "9".repeat(400))).1,
            format!("`{}` is too large", "9".repeat(400))
        );
    }
}
