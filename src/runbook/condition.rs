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
//! - A unit is written right after its number, with no space: `1MB`, `5s`, `20%`. Sizes are powers of 1024
//!   like PostgreSQL (`B`, `kB`/`KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB`); durations are `ms`, `s`,
//!   `m`/`min`, `h`, `d`. Units are case-sensitive, so `m` is minutes and `MB` megabytes.
//! - Each gauge has a dimension, checked at parse time: a size is not compared with a duration, a number
//!   without unit fits any. `and`, `or`, `not` and the whole condition need something true or false.
//! - One comparison per operand (`a < b < c` is an error); at most 32 levels of `(` and `not`.
//!
//! Evaluation is three-valued: a gauge that cannot be read makes its comparison unknown, and unknown never
//! holds, not even under `not`, so a gate never opens on missing data. `or` holds when any side holds.

use std::fmt;
use std::iter::Peekable;
use std::ops::Range;
use std::str::CharIndices;

use crate::inventory::quantity::{self, Unit};

/// How deep `(` and `not` may nest, so no input can exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    expr: Expr,
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

const GAUGES: [Gauge; 11] = [
    Gauge::LagBytes,
    Gauge::LagSeconds,
    Gauge::PoolWaiting,
    Gauge::PoolActive,
    Gauge::PoolUsedPct,
    Gauge::DiskFreePct,
    Gauge::DiskFreeBytes,
    Gauge::SubscriptionTablesReady,
    Gauge::SubscriptionTables,
    Gauge::Reachable,
    Gauge::VerifyDifferences,
];

impl Gauge {
    /// The gauge's name in a condition: `lag_bytes`, `verify.differences`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::LagBytes => "lag_bytes",
            Self::LagSeconds => "lag_seconds",
            Self::PoolWaiting => "pool.waiting",
            Self::PoolActive => "pool.active",
            Self::PoolUsedPct => "pool.used_pct",
            Self::DiskFreePct => "disk.free_pct",
            Self::DiskFreeBytes => "disk.free_bytes",
            Self::SubscriptionTablesReady => "subscription.tables_ready",
            Self::SubscriptionTables => "subscription.tables",
            Self::Reachable => "reachable",
            Self::VerifyDifferences => "verify.differences",
        }
    }

    /// What the gauge measures; `None` for `reachable`, which is true or false.
    fn dim(self) -> Option<Dim> {
        match self {
            Self::LagBytes | Self::DiskFreeBytes => Some(Dim::Bytes),
            Self::LagSeconds => Some(Dim::Seconds),
            Self::PoolUsedPct | Self::DiskFreePct => Some(Dim::Percent),
            Self::Reachable => None,
            _ => Some(Dim::Count),
        }
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Eq => "==",
            Self::Ne => "!=",
        }
    }

    /// The operator that holds exactly when this one does not.
    fn negate(self) -> Self {
        match self {
            Self::Lt => Self::Ge,
            Self::Le => Self::Gt,
            Self::Gt => Self::Le,
            Self::Ge => Self::Lt,
            Self::Eq => Self::Ne,
            Self::Ne => Self::Eq,
        }
    }

    /// The operator for the same comparison with its sides swapped.
    fn mirror(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            same => same,
        }
    }

    #[allow(clippy::float_cmp)]
    fn test(self, a: f64, b: f64) -> bool {
        match self {
            Self::Lt => a < b,
            Self::Le => a <= b,
            Self::Gt => a > b,
            Self::Ge => a >= b,
            Self::Eq => a == b,
            Self::Ne => a != b,
        }
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
    /// Two conditions compared with `==` (`same`) or `!=`; their spans name them in reasons.
    Same {
        left: Box<Expr>,
        left_at: Range<usize>,
        same: bool,
        right: Box<Expr>,
        right_at: Range<usize>,
    },
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
    /// checks), in the order they are written; a name mentioned twice is listed twice.
    #[must_use]
    pub fn endpoints(&self) -> Vec<(&str, Range<usize>)> {
        fn probe(p: &Probe, out: &mut Vec<Range<usize>>) {
            out.extend(p.endpoint.clone());
        }
        fn walk(e: &Expr, out: &mut Vec<Range<usize>>) {
            match e {
                Expr::Const(_) => {}
                Expr::Flag(p) => probe(p, out),
                Expr::Compare { left, right, .. } => {
                    for side in [left, right] {
                        if let Num::Read(p) = side {
                            probe(p, out);
                        }
                    }
                }
                Expr::Same { left, right, .. } => {
                    walk(left, out);
                    walk(right, out);
                }
                Expr::Not(inner) => walk(inner, out),
                Expr::All(parts) | Expr::Any(parts) => parts.iter().for_each(|p| walk(p, out)),
            }
        }
        let mut ranges = Vec::new();
        walk(&self.expr, &mut ranges);
        ranges.sort_by_key(|r| r.start);
        ranges.into_iter().filter_map(|r| self.text.get(r.clone()).map(|name| (name, r))).collect()
    }

    /// Evaluate now. An unknown value makes its comparison false (never true), with the reason saying why.
    /// `or` is true if either side holds (an unknown side does not block); `not` of an unknown comparison is
    /// false too: a gate must never open on missing data.
    #[must_use]
    pub fn eval(&self, gauges: &dyn Gauges) -> Verdict {
        let out = self.judge(&self.expr, false, gauges);
        Verdict { holds: out.tri == Tri::True, reason: out.facts.join("; ") }
    }

    fn name(&self, p: &Probe) -> String {
        probe_name(&self.text, p)
    }

    fn read(&self, p: &Probe, gauges: &dyn Gauges) -> Result<f64, String> {
        let endpoint = p.endpoint.as_ref().and_then(|r| self.text.get(r.clone()));
        match gauges.value(p.gauge, endpoint) {
            Ok(v) if v.is_nan() => Err("no value".to_owned()),
            other => other,
        }
    }

    /// `expr`, or `not expr` when `negated`: negation is pushed down to the comparisons so reasons read
    /// "needs <= 0" rather than "needs not > 0", and an unknown stays unknown.
    fn judge(&self, expr: &Expr, negated: bool, gauges: &dyn Gauges) -> Outcome {
        match expr {
            Expr::Const(b) => Outcome::known(*b != negated, if negated { format!("not {b}") } else { b.to_string() }),
            Expr::Flag(p) => {
                let name = self.name(p);
                match self.read(p, gauges) {
                    Err(why) => Outcome::unknown(format!("{name} unknown: {why}")),
                    Ok(v) => {
                        let (is, want) = (v != 0.0, !negated);
                        let fact =
                            if is == want { format!("{name} = {is}") } else { format!("{name} = {is}, needs {want}") };
                        Outcome::known(is == want, fact)
                    }
                }
            }
            Expr::Compare { left, op, right, dim } => {
                let op = if negated { op.negate() } else { *op };
                let (a, l) = match self.side(left, *dim, gauges) {
                    Ok(side) => side,
                    Err(unknown) => return unknown,
                };
                let (b, r) = match self.side(right, *dim, gauges) {
                    Ok(side) => side,
                    Err(unknown) => return unknown,
                };
                let holds = op.test(a, b);
                let sym = op.symbol();
                Outcome::known(holds, if holds { format!("{l} {sym} {r}") } else { format!("{l}, needs {sym} {r}") })
            }
            Expr::Same { left, left_at, same, right, right_at } => {
                let a = self.judge(left, false, gauges);
                if a.tri == Tri::Unknown {
                    return a;
                }
                let b = self.judge(right, false, gauges);
                if b.tri == Tri::Unknown {
                    return b;
                }
                let (x, y) = (a.tri == Tri::True, b.tri == Tri::True);
                let want_same = *same != negated;
                let sym = if want_same { "==" } else { "!=" };
                let (l, r) = (self.label(left, left_at, x), self.label(right, right_at, y));
                let holds = (x == y) == want_same;
                Outcome::known(holds, if holds { format!("{l} {sym} {r}") } else { format!("{l}, needs {sym} {r}") })
            }
            Expr::Not(inner) => self.judge(inner, !negated, gauges),
            Expr::All(parts) | Expr::Any(parts) => {
                let outs = parts.iter().map(|p| self.judge(p, negated, gauges)).collect();
                if matches!(expr, Expr::All(_)) == negated { Outcome::any(outs) } else { Outcome::all(outs) }
            }
        }
    }

    /// A figure and how the reason shows it, or why it is unknown.
    fn side(&self, num: &Num, dim: Dim, gauges: &dyn Gauges) -> Result<(f64, String), Outcome> {
        match num {
            Num::Lit(v) => Ok((*v, show(*v, dim))),
            Num::Read(p) => match self.read(p, gauges) {
                Ok(v) => Ok((v, format!("{} = {}", self.name(p), show(v, dim)))),
                Err(why) => Err(Outcome::unknown(format!("{} unknown: {why}", self.name(p)))),
            },
        }
    }

    fn label(&self, e: &Expr, at: &Range<usize>, value: bool) -> String {
        match e {
            Expr::Const(_) => value.to_string(),
            Expr::Flag(p) => format!("{} = {value}", self.name(p)),
            _ => format!("{} = {value}", self.text.get(at.clone()).unwrap_or("")),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

/// A part's truth and the facts that explain it.
struct Outcome {
    tri: Tri,
    facts: Vec<String>,
}

impl Outcome {
    fn known(holds: bool, fact: String) -> Self {
        Self { tri: if holds { Tri::True } else { Tri::False }, facts: vec![fact] }
    }

    fn unknown(fact: String) -> Self {
        Self { tri: Tri::Unknown, facts: vec![fact] }
    }

    /// Holds when every part holds (every fact), else explained by the first part that does not.
    fn all(outs: Vec<Self>) -> Self {
        if outs.iter().all(|o| o.tri == Tri::True) {
            return Self { tri: Tri::True, facts: outs.into_iter().flat_map(|o| o.facts).collect() };
        }
        let tri = if outs.iter().any(|o| o.tri == Tri::False) { Tri::False } else { Tri::Unknown };
        Self { tri, facts: outs.into_iter().find(|o| o.tri != Tri::True).map(|o| o.facts).unwrap_or_default() }
    }

    /// Holds when some part holds (its facts), else explained by every part.
    fn any(outs: Vec<Self>) -> Self {
        if outs.iter().any(|o| o.tri == Tri::True) {
            return outs.into_iter().find(|o| o.tri == Tri::True).unwrap_or(Self { tri: Tri::True, facts: vec![] });
        }
        let tri = if outs.iter().all(|o| o.tri == Tri::False) { Tri::False } else { Tri::Unknown };
        Self { tri, facts: outs.into_iter().flat_map(|o| o.facts).collect() }
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
        Dim::Count | Dim::Unitless => number(v),
    }
}

fn one_decimal(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or_else(|| s.clone(), str::to_owned)
}

/// Powers of 1024 like `pg_size_pretty`, but `1 MB` rather than `1.0 MB`.
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

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

/// Parse a condition, checking units and types.
///
/// # Errors
/// The first problem in the text, at its byte offset.
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    let mut p = Parser { text, toks: lex(text), pos: 0, depth: 0 };
    if p.toks.is_empty() {
        return Err(error(0, "empty condition"));
    }
    let node = p.or()?;
    p.finish(&node)?;
    let expr = p.boolean(node)?;
    Ok(Condition { text: text.to_owned(), expr })
}

fn error(offset: usize, message: impl Into<String>) -> ConditionError {
    ConditionError { offset, message: message.into() }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_.-]*`: keywords, gauge names, endpoint names.
    Word,
    /// Digits, `.` and `_`, then the unit (from `unit_at`) in letters, digits and `%`.
    Number {
        unit_at: usize,
    },
    Open,
    Close,
    Cmp(Op),
    /// Something that cannot start a token: the parser reports it when it gets there.
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
    fn take_while(chars: &mut Peekable<CharIndices<'_>>, end: &mut usize, ok: fn(char) -> bool) {
        while let Some(&(j, c)) = chars.peek() {
            if !ok(c) {
                break;
            }
            chars.next();
            *end = j + c.len_utf8();
        }
    }
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        let next = chars.peek().map(|&(_, c)| c);
        let mut end = i + c.len_utf8();
        let mut pair = |second: char, yes: Tok, no: Tok| {
            if next == Some(second) {
                chars.next();
                end += 1;
                yes
            } else {
                no
            }
        };
        let bad = |m: &str| Tok::Bad(m.to_owned());
        let tok = match c {
            '(' => Tok::Open,
            ')' => Tok::Close,
            '<' => pair('=', Tok::Cmp(Op::Le), Tok::Cmp(Op::Lt)),
            '>' => pair('=', Tok::Cmp(Op::Ge), Tok::Cmp(Op::Gt)),
            '=' => pair('=', Tok::Cmp(Op::Eq), bad("use `==` to compare")),
            '!' => pair('=', Tok::Cmp(Op::Ne), bad("use `not`, not `!`")),
            '&' => pair('&', bad("use `and`, not `&&`"), bad("use `and`, not `&`")),
            '|' => pair('|', bad("use `or`, not `||`"), bad("use `or`, not `|`")),
            '%' => bad("write `%` right after the number, e.g. `20%`"),
            '0'..='9' => {
                take_while(&mut chars, &mut end, |c| c.is_ascii_digit() || c == '.' || c == '_');
                let unit_at = end;
                take_while(&mut chars, &mut end, |c| c.is_ascii_alphanumeric() || c == '%');
                Tok::Number { unit_at }
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                take_while(&mut chars, &mut end, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
                Tok::Word
            }
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

/// A parsed operand or condition, before it is known to be used as a condition or as a figure.
struct Node {
    kind: Kind,
    span: Range<usize>,
}

enum Kind {
    Bool(Expr),
    Num { num: Num, dim: Dim },
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
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

    fn enter(&mut self, at: usize) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(at, format!("nested too deeply (more than {MAX_DEPTH} levels of `(` and `not`)")));
        }
        Ok(())
    }

    fn or(&mut self) -> Parsed<Node> {
        self.chain("or", Self::and, Expr::Any)
    }

    fn and(&mut self) -> Parsed<Node> {
        self.chain("and", Self::not, Expr::All)
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
        self.enter(start)?;
        let inner = self.not()?;
        self.depth -= 1;
        let end = inner.span.end;
        let inner = self.boolean(inner)?;
        Ok(Node { kind: Kind::Bool(Expr::Not(Box::new(inner))), span: start..end })
    }

    fn cmp(&mut self) -> Parsed<Node> {
        let left = self.operand()?;
        let Some(Token { tok: Tok::Cmp(op), span: op_at }) = self.peek()? else {
            return Ok(left);
        };
        self.pos += 1;
        let right = self.operand()?;
        let node = self.compare(left, op, &op_at, right)?;
        if let Some(Token { tok: Tok::Cmp(_), span }) = self.peek()? {
            return Err(error(span.start, "comparisons do not chain: write `a < b and b < c`"));
        }
        Ok(node)
    }

    fn operand(&mut self) -> Parsed<Node> {
        let Some(t) = self.peek()? else {
            return Err(self.expected("a value"));
        };
        let at = t.span.clone();
        match t.tok {
            Tok::Number { unit_at } => {
                self.pos += 1;
                self.literal(at, unit_at)
            }
            Tok::Open => {
                self.pos += 1;
                self.enter(at.start)?;
                let inner = self.or()?;
                let end = self.close()?;
                self.depth -= 1;
                Ok(Node { kind: inner.kind, span: at.start..end })
            }
            Tok::Word => {
                let word = self.src(&at);
                if let Some(hint) = self.stray(&t) {
                    return Err(hint);
                }
                if word == "true" || word == "false" {
                    self.pos += 1;
                    return Ok(Node { kind: Kind::Bool(Expr::Const(word == "true")), span: at });
                }
                if KEYWORDS.contains(&word) {
                    return Err(self.expected("a value"));
                }
                let Some(gauge) = GAUGES.iter().copied().find(|g| g.name() == word) else {
                    let known: Vec<&str> = GAUGES.iter().map(|g| g.name()).collect();
                    return Err(error(at.start, format!("unknown gauge `{word}`; known: {}", known.join(", "))));
                };
                self.pos += 1;
                self.gauge(gauge, at)
            }
            _ => Err(self.expected("a value")),
        }
    }

    fn literal(&self, at: Range<usize>, unit_at: usize) -> Parsed<Node> {
        let number = self.src(&(at.start..unit_at));
        let unit = self.src(&(unit_at..at.end));
        let Some(dim) = unit_dim(unit) else {
            return Err(error(
                unit_at,
                format!("unknown unit `{unit}`; sizes: B, kB, MB, GB, TB; durations: ms, s, m, h, d; or %"),
            ));
        };
        let measure = match dim {
            Dim::Bytes => Unit::Bytes,
            Dim::Seconds => Unit::Seconds,
            _ => Unit::Plain,
        };
        let value = quantity::parse(self.src(&at), measure)
            .map_err(|_| error(at.start, format!("`{number}` is not a number")))?;
        if !value.is_finite() {
            return Err(error(at.start, format!("`{}` is too large", self.src(&at))));
        }
        Ok(Node { kind: Kind::Num { num: Num::Lit(value), dim }, span: at })
    }

    fn gauge(&mut self, gauge: Gauge, at: Range<usize>) -> Parsed<Node> {
        let name = gauge.name();
        let next = self.peek()?;
        if gauge == Gauge::VerifyDifferences {
            if let Some(Token { tok: Tok::Open, span }) = next {
                return Err(error(span.start, "verify.differences takes no endpoint"));
            }
            return Ok(Node {
                kind: Kind::Num { num: Num::Read(Probe { gauge, endpoint: None }), dim: Dim::Count },
                span: at,
            });
        }
        match next {
            Some(Token { tok: Tok::Open, .. }) => self.pos += 1,
            other => {
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
        let end = self.close()?;
        let probe = Probe { gauge, endpoint: Some(endpoint) };
        let kind = match gauge.dim() {
            None => Kind::Bool(Expr::Flag(probe)),
            Some(dim) => Kind::Num { num: Num::Read(probe), dim },
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

    /// After a whole condition: nothing may follow.
    fn finish(&self, node: &Node) -> Parsed<()> {
        let Some(t) = self.peek()? else { return Ok(()) };
        let found = self.src(&t.span);
        Err(self.stray(&t).unwrap_or_else(|| {
            let message = match (&t.tok, &node.kind) {
                (Tok::Close, _) => "unmatched `)`".to_owned(),
                (_, Kind::Num { .. }) => format!("expected a comparison like `<` or `==`, found `{found}`"),
                _ => format!("unexpected `{found}`: join conditions with `and` or `or`"),
            };
            error(t.span.start, message)
        }))
    }

    /// A specific hint for a word out of place: a capitalised keyword, or a unit apart from its number.
    fn stray(&self, t: &Token) -> Option<ConditionError> {
        if t.tok != Tok::Word {
            return None;
        }
        let word = self.src(&t.span);
        let lower = word.to_ascii_lowercase();
        if lower != word && KEYWORDS.contains(&lower.as_str()) {
            return Some(error(t.span.start, format!("keywords are lowercase: write `{lower}`")));
        }
        let index = self.toks.iter().position(|u| u.span == t.span)?;
        let prev = self.toks.get(index.checked_sub(1)?)?;
        let bare_number = matches!(prev.tok, Tok::Number { unit_at } if unit_at == prev.span.end);
        if bare_number && unit_dim(word).is_some() {
            let number = self.src(&prev.span);
            return Some(error(t.span.start, format!("write the unit right after the number: `{number}{word}`")));
        }
        None
    }

    /// "expected X, found `Y`", or "expected X after `Y`" at the end of the text.
    fn expected(&self, what: &str) -> ConditionError {
        if let Some(t) = self.toks.get(self.pos) {
            return error(t.span.start, format!("expected {what}, found `{}`", self.src(&t.span)));
        }
        match self.pos.checked_sub(1).and_then(|i| self.toks.get(i)) {
            Some(prev) => error(self.text.len(), format!("expected {what} after `{}`", self.src(&prev.span))),
            None => error(self.text.len(), "empty condition"),
        }
    }

    /// `node` where a condition is needed (`and`, `or`, `not`, the whole text).
    fn boolean(&self, node: Node) -> Parsed<Expr> {
        match node.kind {
            Kind::Bool(expr) => Ok(expr),
            Kind::Num { num: Num::Read(p), dim } => {
                let name = probe_name(self.text, &p);
                let example = match dim {
                    Dim::Bytes => "< 1MB",
                    Dim::Seconds => "<= 5s",
                    Dim::Percent => "> 20%",
                    Dim::Count | Dim::Unitless => "== 0",
                };
                Err(error(node.span.start, format!("{name} is a number: compare it, e.g. {name} {example}")))
            }
            Kind::Num { .. } => Err(error(node.span.start, format!("{}, not a condition", self.what(&node)))),
        }
    }

    /// What `node` is, for type errors: "`5s` is a duration", "lag_bytes(x) is in bytes".
    fn what(&self, node: &Node) -> String {
        match &node.kind {
            Kind::Num { num: Num::Read(p), dim } => {
                let is = match dim {
                    Dim::Bytes => "in bytes",
                    Dim::Seconds => "in seconds",
                    Dim::Count => "a count",
                    Dim::Percent => "a percentage",
                    Dim::Unitless => "a number",
                };
                format!("{} is {is}", probe_name(self.text, p))
            }
            Kind::Num { num: Num::Lit(_), dim } => {
                let is = match dim {
                    Dim::Bytes => "a size",
                    Dim::Seconds => "a duration",
                    Dim::Percent => "a percentage",
                    Dim::Count | Dim::Unitless => "a number",
                };
                format!("`{}` is {is}", self.src(&node.span))
            }
            Kind::Bool(Expr::Flag(p)) => format!("{} is true or false", probe_name(self.text, p)),
            Kind::Bool(_) => format!("`{}` is true or false", self.src(&node.span)),
        }
    }

    fn compare(&self, left: Node, op: Op, op_at: &Range<usize>, right: Node) -> Parsed<Node> {
        let span = left.span.start..right.span.end;
        let expr = match (&left.kind, &right.kind) {
            (Kind::Num { num: a, dim: da }, Kind::Num { num: b, dim: db })
                if da == db || *da == Dim::Unitless || *db == Dim::Unitless =>
            {
                let dim = if *da == Dim::Unitless { *db } else { *da };
                if matches!((a, b), (Num::Lit(_), Num::Read(_))) {
                    Expr::Compare { left: b.clone(), op: op.mirror(), right: a.clone(), dim }
                } else {
                    Expr::Compare { left: a.clone(), op, right: b.clone(), dim }
                }
            }
            (Kind::Bool(_), Kind::Bool(_)) if !matches!(op, Op::Eq | Op::Ne) => {
                let message = format!("`{}` compares numbers, but {}; use `==` or `!=`", op.symbol(), self.what(&left));
                return Err(error(op_at.start, message));
            }
            (Kind::Bool(a), Kind::Bool(b)) => Expr::Same {
                left: Box::new(a.clone()),
                left_at: left.span.clone(),
                same: op == Op::Eq,
                right: Box::new(b.clone()),
                right_at: right.span.clone(),
            },
            (l, r) => {
                let literal = |k: &Kind| matches!(k, Kind::Num { num: Num::Lit(_), .. });
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

    /// Gauges from a map; anything missing is "no data".
    #[derive(Default)]
    struct Fake(HashMap<(Gauge, Option<String>), Result<f64, String>>);

    impl Fake {
        fn with(mut self, gauge: Gauge, endpoint: Option<&str>, value: Result<f64, &str>) -> Self {
            self.0.insert((gauge, endpoint.map(str::to_owned)), value.map_err(str::to_owned));
            self
        }
    }

    impl Gauges for Fake {
        fn value(&self, gauge: Gauge, endpoint: Option<&str>) -> Result<f64, String> {
            self.0.get(&(gauge, endpoint.map(str::to_owned))).cloned().unwrap_or_else(|| Err("no data".to_owned()))
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
        let f = |v: bool| Ok(if v { 1.0 } else { 0.0 });
        Fake::default().with(Gauge::Reachable, Some("a"), f(a)).with(Gauge::Reachable, Some("b"), f(b)).with(
            Gauge::Reachable,
            Some("c"),
            f(c),
        )
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
    fn the_examples_parse_and_keep_their_text() {
        for text in VALID {
            let c = parse(text).unwrap();
            assert_eq!(c.text(), text);
            assert_eq!(c.to_string(), text);
        }
        let c = parse(VALID[1]).unwrap();
        assert_eq!(c.endpoints(), vec![("target", 26..32), ("target", 57..63), ("target", 89..95)]);
        assert_eq!(parse("verify.differences == 0").unwrap().endpoints(), vec![]);
        // Sides swapped to put the gauge first do not reorder the endpoints.
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
        assert_eq!(literal("lag_bytes(x) < 1MB"), 1_048_576.0);
        assert_eq!(literal("lag_bytes(x) < 2KiB"), 2048.0);
        assert_eq!(literal("lag_bytes(x) < 1_000"), 1000.0);
        assert_eq!(literal("disk.free_bytes(x) > 1.5GB"), 1.5 * 1024.0 * MB);
        assert_eq!(literal("lag_seconds(x) < 5m"), 300.0);
        assert_eq!(literal("lag_seconds(x) < 2min"), 120.0);
        assert_eq!(literal("lag_seconds(x) < 250ms"), 0.25);
        assert_eq!(literal("lag_seconds(x) < 1d"), 86_400.0);
        assert_eq!(literal("disk.free_pct(x) > 20%"), 20.0);
        assert_eq!(literal("5s > lag_seconds(x)"), 5.0);
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let known = "lag_bytes, lag_seconds, pool.waiting, pool.active, pool.used_pct, disk.free_pct, \
                     disk.free_bytes, subscription.tables_ready, subscription.tables, reachable, verify.differences";
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "empty condition"),
            ("  \n ", 0, "empty condition"),
            ("lag_bytes(x) <", 14, "expected a value after `<`"),
            ("lag_bytes(x) < )", 15, "expected a value, found `)`"),
            ("reachable(x) and", 16, "expected a value after `and`"),
            ("not", 3, "expected a value after `not`"),
            ("lag_bytes(x < 1MB", 12, "missing `)`, found `<`"),
            ("(reachable(x)", 13, "missing `)` at the end"),
            ("reachable(x))", 12, "unmatched `)`"),
            ("reachable(x) reachable(y)", 13, "unexpected `reachable`: join conditions with `and` or `or`"),
            ("lag_bytes(x) 1MB", 13, "expected a comparison like `<` or `==`, found `1MB`"),
            ("lag_bytes(x) < 1XB", 16, "unknown unit `XB`; sizes: B, kB, MB, GB, TB; durations: ms, s, m, h, d; or %"),
            ("lag_bytes(x) < 1mb", 16, "unknown unit `mb`; sizes: B, kB, MB, GB, TB; durations: ms, s, m, h, d; or %"),
            ("lag_bytes(x) < 1 MB", 17, "write the unit right after the number: `1MB`"),
            ("disk.free_pct(x) > 20 %", 22, "write `%` right after the number, e.g. `20%`"),
            ("lag_bytes(x) < 1.2.3", 15, "`1.2.3` is not a number"),
            ("verify.differences = 0", 19, "use `==` to compare"),
            ("reachable(a) && reachable(b)", 13, "use `and`, not `&&`"),
            ("reachable(a) || reachable(b)", 13, "use `or`, not `||`"),
            ("!reachable(a)", 0, "use `not`, not `!`"),
            ("reachable(a) AND true", 13, "keywords are lowercase: write `and`"),
            ("Not reachable(a)", 0, "keywords are lowercase: write `not`"),
            ("lag_seconds(x) < 5s < 10s", 20, "comparisons do not chain: write `a < b and b < c`"),
            ("lag_bytes < 1MB", 10, "lag_bytes needs an endpoint, e.g. lag_bytes(target)"),
            ("reachable", 9, "reachable needs an endpoint, e.g. reachable(target)"),
            ("lag_bytes() < 1", 10, "expected an endpoint name, found `)`"),
            ("lag_bytes(", 10, "expected an endpoint name after `(`"),
            ("reachable(a.b)", 10, "`a.b` is not an endpoint name (letters, digits, `_`, `-`)"),
            ("verify.differences(x) == 0", 18, "verify.differences takes no endpoint"),
            ("reachable(x) and é", 17, "unexpected character `é`"),
            ("lag_bytes(x) < 1MB and and", 23, "expected a value, found `and`"),
        ];
        for (text, offset, message) in cases {
            assert_eq!(fails(text), (*offset, (*message).to_owned()), "{text}");
        }
        assert_eq!(fails("lag_byte(x) < 1MB"), (0, format!("unknown gauge `lag_byte`; known: {known}")));
        assert_eq!(fails("reachable(x) or pool.wait(b) > 0").0, 16);
    }

    #[test]
    fn type_errors_name_both_sides() {
        let cases: &[(&str, usize, &str)] = &[
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
            ("pool.waiting(b) or true", 0, "pool.waiting(b) is a number: compare it, e.g. pool.waiting(b) == 0"),
            ("5", 0, "`5` is a number, not a condition"),
            ("true and 5s", 9, "`5s` is a duration, not a condition"),
        ];
        for (text, offset, message) in cases {
            assert_eq!(fails(text), (*offset, (*message).to_owned()), "{text}");
        }
        for ok in ["disk.free_pct(s) > 20", "lag_bytes(x) < 1000", "reachable(a) == reachable(b)", "1 < 2", "true"] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_both() {
        let text = "reachable(a) or reachable(b) and reachable(c)";
        assert!(eval(text, &reach(true, false, false)).0, "a or (b and c)");
        assert!(!eval(text, &reach(false, true, false)).0);
        assert!(eval(text, &reach(false, true, true)).0);
        let text = "not reachable(a) or reachable(b)";
        assert!(eval(text, &reach(false, false, false)).0, "(not a) or b");
        assert!(!eval(text, &reach(true, false, false)).0);
        assert!(eval("not not reachable(a)", &reach(true, false, false)).0);
        assert!(eval("not (reachable(a) and reachable(b))", &reach(true, false, false)).0);
        assert!(!eval("not (reachable(a) or reachable(b))", &reach(true, false, false)).0);
        assert!(eval("reachable(a) == reachable(b)", &reach(false, false, true)).0);
        assert!(!eval("reachable(a) != reachable(b)", &reach(false, false, true)).0);
        assert!(eval("not (reachable(a) == reachable(c))", &reach(false, false, true)).0);
    }

    #[test]
    fn unknown_values_never_open_a_gate() {
        let g = Fake::default()
            .with(Gauge::LagBytes, Some("t"), Err("t is unreachable"))
            .with(Gauge::Reachable, Some("t"), Err("t is unreachable"))
            .with(Gauge::Reachable, Some("up"), Ok(1.0))
            .with(Gauge::Reachable, Some("down"), Ok(0.0))
            .with(Gauge::LagSeconds, Some("nan"), Ok(f64::NAN));
        for text in [
            "lag_bytes(t) < 1MB",
            "lag_bytes(t) >= 1MB",
            "not (lag_bytes(t) < 1MB)",
            "not (lag_bytes(t) >= 1MB)",
            "not not not (lag_bytes(t) < 1MB)",
            "reachable(t)",
            "not reachable(t)",
            "reachable(t) == false",
            "reachable(t) != true",
            "(lag_bytes(t) < 1MB) == false",
            "not ((lag_bytes(t) < 1MB) == true)",
            "lag_bytes(t) < 1MB or reachable(down)",
            "not (lag_bytes(t) < 1MB and reachable(up))",
            "not (lag_bytes(t) < 1MB or reachable(down))",
            "lag_bytes(t) < 1MB and reachable(up)",
            "lag_seconds(nan) < 5s",
            "not (lag_seconds(nan) < 5s)",
            "verify.differences == 0",
        ] {
            assert!(!eval(text, &g).0, "{text} must not hold");
        }
        // An unknown side does not block `or`, and a false side decides `and` whatever the other is.
        assert!(eval("lag_bytes(t) < 1MB or reachable(up)", &g).0);
        assert!(eval("not (lag_bytes(t) < 1MB and reachable(down))", &g).0);
        assert_eq!(eval("not (lag_bytes(t) < 1MB)", &g).1, "lag_bytes(t) unknown: t is unreachable");
        assert_eq!(eval("lag_seconds(nan) < 5s", &g).1, "lag_seconds(nan) unknown: no value");
    }

    #[test]
    fn reasons_show_live_values() {
        let g = |lag: f64| {
            Fake::default()
                .with(Gauge::LagBytes, Some("target"), Ok(lag))
                .with(Gauge::VerifyDifferences, None, Ok(0.0))
                .with(Gauge::LagSeconds, Some("replica"), Ok(130.0))
                .with(Gauge::DiskFreePct, Some("source"), Ok(17.5))
                .with(Gauge::PoolWaiting, Some("bouncer"), Ok(3.0))
                .with(Gauge::Reachable, Some("target"), Ok(0.0))
                .with(Gauge::LagBytes, Some("gone"), Err("gone is unreachable"))
        };
        let gate = "lag_bytes(target) < 1MB and verify.differences == 0";
        assert_eq!(eval(gate, &g(3.2 * MB)), (false, "lag_bytes(target) = 3.2 MB, needs < 1 MB".to_owned()));
        assert_eq!(
            eval(gate, &g(12.0 * 1024.0)),
            (true, "lag_bytes(target) = 12 kB < 1 MB; verify.differences = 0 == 0".to_owned())
        );
        assert_eq!(eval("1MB > lag_bytes(target)", &g(2.0 * MB)).1, "lag_bytes(target) = 2 MB, needs < 1 MB");
        assert_eq!(eval("lag_bytes(gone) < 1MB", &g(0.0)).1, "lag_bytes(gone) unknown: gone is unreachable");
        assert_eq!(
            eval("lag_seconds(replica) <= 5m", &g(0.0)),
            (true, "lag_seconds(replica) = 2m 10s <= 5m".to_owned())
        );
        assert_eq!(eval("disk.free_pct(source) > 20%", &g(0.0)).1, "disk.free_pct(source) = 17.5 %, needs > 20 %");
        assert_eq!(
            eval("not (pool.waiting(bouncer) > 0) or reachable(target)", &g(0.0)),
            (false, "pool.waiting(bouncer) = 3, needs <= 0; reachable(target) = false, needs true".to_owned())
        );
        assert_eq!(eval("not reachable(target)", &g(0.0)), (true, "reachable(target) = false".to_owned()));
        assert_eq!(eval("reachable(target) == true", &g(0.0)).1, "reachable(target) = false, needs == true");
        assert_eq!(eval("false", &g(0.0)), (false, "false".to_owned()));
    }

    #[test]
    fn figures_read_like_the_screen() {
        assert_eq!(
            [size(0.0), size(512.0 * 1024.0), size(3.2 * MB), size(1536.0), size(2e12)],
            ["0 B", "512 kB", "3.2 MB", "1.5 kB", "1.8 TB"]
        );
        assert_eq!(
            [duration(4.5), duration(0.25), duration(59.0), duration(3600.0), duration(90_000.0)],
            ["4.5 s", "250 ms", "59 s", "1h", "1d 1h"]
        );
        assert_eq!([show(17.5, Dim::Percent), show(3.0, Dim::Count), show(0.5, Dim::Unitless)], ["17.5 %", "3", "0.5"]);
    }

    /// A tiny xorshift, so the loop below needs no dependency and is the same on every run.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn no_input_makes_parse_or_eval_panic() {
        let g = reach(true, false, true).with(Gauge::LagBytes, Some("target"), Ok(5.0));
        let mut inputs: Vec<String> = Vec::new();
        for text in VALID {
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            for &(i, c) in &chars {
                inputs.push(text[..i].to_owned());
                inputs.push(format!("{}{}", &text[..i], &text[i + c.len_utf8()..]));
            }
        }
        let alphabet: Vec<char> =
            "()<>=!&|%._- 0123456789aBmsdnotrufelag_bytesreachable(target)éß→\u{0}\t".chars().collect();
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            let len = usize::try_from(next(&mut state) % 40).unwrap();
            let s: String = (0..len)
                .map(|_| {
                    let r = next(&mut state);
                    if r % 5 == 0 {
                        char::from_u32(u32::try_from(r % 0x11_0000).unwrap()).unwrap_or('?')
                    } else {
                        alphabet[usize::try_from(r % alphabet.len() as u64).unwrap()]
                    }
                })
                .collect();
            inputs.push(s);
        }
        inputs.push("(".repeat(10_000));
        inputs.push("not ".repeat(10_000) + "true");
        inputs.push(format!("lag_bytes(target) < {}", "9".repeat(400)));
        inputs.push(vec!["reachable(a)"; 5000].join(" or "));
        for text in &inputs {
            match parse(text) {
                Ok(c) => {
                    let _ = c.eval(&g);
                    for (name, range) in c.endpoints() {
                        assert_eq!(&text[range], name);
                    }
                }
                Err(e) => assert!(e.offset <= text.len() && text.is_char_boundary(e.offset), "{text:?}: {e:?}"),
            }
        }
        assert_eq!(fails(&"(".repeat(100)).1, "nested too deeply (more than 32 levels of `(` and `not`)");
        assert_eq!(fails(&format!("lag_bytes(target) < {}", "9".repeat(400))).0, 20);
    }
}
