//! Conditions on the live gauges, as runbook gates and waits write them:
//! `lag_bytes(target) < 1MB and verify.differences == 0`.
//!
//! ```text
//! expr    := or
//! or      := and ('or' and)*
//! and     := not ('and' not)*
//! not     := 'not' not | cmp
//! cmp     := operand (('<' | '<=' | '>' | '>=' | '==' | '!=') operand)?
//! operand := NUMBER UNIT? | 'true' | 'false' | STATE | gauge | '(' expr ')'
//! gauge   := GAUGE '(' ENDPOINT ')' | 'verify.differences'
//! ```
//!
//! - Keywords are lowercase `and`, `or`, `not`, `true`, `false`; `&&`, `||` and `!` are refused with a hint.
//! - A unit follows its number with no space: `1MB`, `5s`, `20%`. Sizes are powers of 1024 like PostgreSQL
//!   (`B`, `kB`/`KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB`); durations are `ms`, `s`, `m`/`min`, `h`, `d`.
//!   Units are case-sensitive, so `m` is minutes and `MB` megabytes.
//! - Each gauge has a dimension, checked at parse time: a size is not compared with a duration; a number
//!   without unit fits any. `and`, `or`, `not` and the whole condition need something true or false.
//! - `mongo.state(member)` is a replica-set member's state, compared with `==` or `!=` to one of the
//!   uppercase names MongoDB uses: `PRIMARY`, `SECONDARY`, `STARTUP2`, `RECOVERING`, `ARBITER`, `DOWN`,
//!   `ROLLBACK`, `REMOVED`, `STARTUP`, `UNKNOWN`.
//! - `disk.seconds_to_full(x)` is "never" (greater than any duration) while the disk is not filling.
//! - One comparison per operand (`a < b < c` is an error); at most 32 levels of `(` and `not`.
//!
//! Evaluation is three-valued: a gauge that cannot be read makes its comparison unknown, and unknown never
//! holds, not even under `not`, so a gate never opens on missing data. `or` holds when any side holds.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

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
    /// Age of the oldest open transaction on a PostgreSQL server.
    OldestXactSeconds,
    /// WAL held back by the replication slot that holds the most.
    SlotRetainedBytes,
    PoolWaiting,
    /// The longest a pooler client has waited for a server connection.
    PoolMaxwaitSeconds,
    PoolActive,
    PoolUsedPct,
    DiskFreePct,
    DiskFreeBytes,
    /// When the disk is full at its recent growth (infinite when not growing).
    DiskSecondsToFull,
    SubscriptionTablesReady,
    SubscriptionTables,
    Reachable,
    VerifyDifferences,
    /// A replica-set member's state, as its MongoDB code (see [`MEMBER_STATES`]).
    MongoState,
    /// How far back a MongoDB oplog reaches.
    MongoOplogWindowSeconds,
    /// A MySQL or MariaDB server refuses writes (`read_only` or `super_read_only`).
    MysqlReadOnly,
    /// The binary logs a MySQL or MariaDB server keeps, in bytes.
    MysqlBinlogBytes,
    /// The inventory gives the endpoint a backup repository (true or false).
    BackupConfigured,
    /// Since the newest backup of any kind finished.
    BackupAgeSeconds,
    /// Since the newest full backup finished.
    BackupFullAgeSeconds,
    /// How long the oldest WAL file not yet archived has waited (0 with none).
    ArchiveLagSeconds,
    /// Since the archiver last archived a file.
    ArchiveAgeSeconds,
    /// The archiver's last attempt failed (true or false).
    ArchiveFailing,
    /// WAL files waiting to be archived.
    ArchiveWaiting,
}

/// Each gauge's name in a condition and its dimension (`None`: true or false).
const GAUGES: [(Gauge, &str, Option<Dim>); 26] = [
    (Gauge::LagBytes, "lag_bytes", Some(Dim::Bytes)),
    (Gauge::LagSeconds, "lag_seconds", Some(Dim::Seconds)),
    (Gauge::OldestXactSeconds, "oldest_xact_seconds", Some(Dim::Seconds)),
    (Gauge::SlotRetainedBytes, "slot.retained_bytes", Some(Dim::Bytes)),
    (Gauge::PoolWaiting, "pool.waiting", Some(Dim::Count)),
    (Gauge::PoolMaxwaitSeconds, "pool.maxwait_seconds", Some(Dim::Seconds)),
    (Gauge::PoolActive, "pool.active", Some(Dim::Count)),
    (Gauge::PoolUsedPct, "pool.used_pct", Some(Dim::Percent)),
    (Gauge::DiskFreePct, "disk.free_pct", Some(Dim::Percent)),
    (Gauge::DiskFreeBytes, "disk.free_bytes", Some(Dim::Bytes)),
    (Gauge::DiskSecondsToFull, "disk.seconds_to_full", Some(Dim::Seconds)),
    (Gauge::SubscriptionTablesReady, "subscription.tables_ready", Some(Dim::Count)),
    (Gauge::SubscriptionTables, "subscription.tables", Some(Dim::Count)),
    (Gauge::Reachable, "reachable", None),
    (Gauge::VerifyDifferences, "verify.differences", Some(Dim::Count)),
    (Gauge::MongoState, "mongo.state", Some(Dim::State)),
    (Gauge::MongoOplogWindowSeconds, "mongo.oplog_window_seconds", Some(Dim::Seconds)),
    (Gauge::MysqlReadOnly, "mysql.read_only", None),
    (Gauge::MysqlBinlogBytes, "mysql.binlog_bytes", Some(Dim::Bytes)),
    (Gauge::BackupConfigured, "backup.configured", None),
    (Gauge::BackupAgeSeconds, "backup.age", Some(Dim::Seconds)),
    (Gauge::BackupFullAgeSeconds, "backup.full_age", Some(Dim::Seconds)),
    (Gauge::ArchiveLagSeconds, "archive.lag", Some(Dim::Seconds)),
    (Gauge::ArchiveAgeSeconds, "archive.age", Some(Dim::Seconds)),
    (Gauge::ArchiveFailing, "archive.failing", None),
    (Gauge::ArchiveWaiting, "archive.waiting", Some(Dim::Count)),
];

/// Replica-set member states: MongoDB's name and code (`replSetGetStatus.members[].state`).
pub const MEMBER_STATES: [(&str, u8); 10] = [
    ("STARTUP", 0),
    ("PRIMARY", 1),
    ("SECONDARY", 2),
    ("RECOVERING", 3),
    ("STARTUP2", 5),
    ("UNKNOWN", 6),
    ("ARBITER", 7),
    ("DOWN", 8),
    ("ROLLBACK", 9),
    ("REMOVED", 10),
];

/// A member state's code from its name (`SECONDARY` → 2).
#[must_use]
pub fn member_state_code(name: &str) -> Option<u8> {
    MEMBER_STATES.iter().find(|s| s.0 == name).map(|s| s.1)
}

fn member_state_name(code: f64) -> &'static str {
    MEMBER_STATES.iter().find(|s| f64::from(s.1) == code).map_or("UNKNOWN", |s| s.0)
}

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
    /// Whether it is known at all: false when a figure it needs could not be
    /// read (then `holds` is false too, but so would `not` of it be).
    pub known: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dim {
    Bytes,
    Seconds,
    Count,
    Percent,
    /// A replica-set member's state (compared by `==`/`!=` only).
    State,
    /// A literal written without unit: fits any dimension but a state.
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
            Self::State => ("a member state", "a member state", "== SECONDARY"),
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
        Verdict { holds: out.holds == Some(true), reason: out.facts.join("; "), known: out.holds.is_some() }
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
        Dim::State => member_state_name(v).to_owned(),
        Dim::Count | Dim::Unitless if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Dim::Count | Dim::Unitless => format!("{v}"),
    }
}

fn one_decimal(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or_else(|| s.clone(), str::to_owned)
}

/// Powers of 1024 like `pg_size_pretty` (and `format::bytes`), but `1 MB` rather than `1.0 MB`.
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
    if v == f64::INFINITY {
        // `disk.seconds_to_full` of a disk that is not filling.
        return "never".to_owned();
    }
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

mod parse;
#[cfg(test)]
mod tests;

pub use parse::parse;
