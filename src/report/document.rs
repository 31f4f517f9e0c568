//! The report as a document: its sections, their headings, tables as rows of
//! cells, paragraphs and charts, with every figure computed here, once, from
//! the [`Summary`]. [`html`](super::html) and [`markdown`](super::markdown)
//! only lay it out.

use color_eyre::eyre::Result;

use super::svg::{self, Drawn};
use super::{Outcome, Summary, clock_text, delta_text, duration_text, maybe_duration, status_text, when_text};
use crate::events::{RunOutcome, TableState};

/// The whole report.
pub struct Document {
    /// From the journal.
    pub title: String,
    /// The table at the top: what ran, who ran it, when, how it ended.
    pub facts: Vec<(&'static str, Line)>,
    pub sections: Vec<Section>,
}

/// A section under its own heading.
pub struct Section {
    /// The page's anchor: `timeline`, `write-pause`, …
    pub id: &'static str,
    pub heading: &'static str,
    pub blocks: Vec<Block>,
}

pub enum Block {
    Paragraph(Paragraph),
    /// One line an item: a paragraph each on the page, a list in Markdown.
    List(Vec<Line>),
    Table(Table),
    Chart(Chart),
}

pub struct Paragraph {
    pub line: Line,
    pub class: Option<Class>,
    pub shown: Shown,
}

/// Where a paragraph stands. The two formats differ on a few notes: the page
/// says what is missing where Markdown shows nothing, and Markdown tells of a
/// rollback even when no problem was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    Both,
    PageOnly,
    MarkdownOnly,
}

/// The page's style for a paragraph or a marked word; Markdown has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Ok,
    Bad,
    Warn,
    /// Muted: something that is not there.
    Quiet,
    /// A figure the reader looks for.
    Figure,
    /// A pause after the switch's.
    LaterPause,
}

impl Class {
    /// The CSS class.
    #[must_use]
    pub fn css(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Bad => "bad",
            Self::Warn => "warn",
            Self::Quiet => "none",
            Self::Figure => "figure",
            Self::LaterPause => "later-pause",
        }
    }
}

/// A run of text: a paragraph, a list item, a table cell.
pub struct Line(pub Vec<Span>);

pub enum Span {
    /// Text from the journal: each format escapes it.
    Text(String),
    /// cutover's own words and figures, written as they are.
    Own(String),
    Marked(Mark),
}

/// Words set apart: on the page a `<span>` of their class (named `id`, if
/// any), in Markdown bold when `strong`.
pub struct Mark {
    pub text: String,
    pub class: Option<Class>,
    pub id: Option<&'static str>,
    pub strong: bool,
}

/// A table of rows of cells under a row of column titles.
pub struct Table {
    pub caption: Option<Line>,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Markdown lists the rows (`- cell cell: last cell`) instead.
    pub listed: bool,
}

#[derive(Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    /// Right-aligned.
    pub numeric: bool,
}

pub struct Row {
    pub cells: Vec<Line>,
    /// It heads the rows below it (a phase above its steps).
    pub heads: bool,
}

/// A chart: its SVG, drawn once, or the sentence that stands in for it.
pub struct Chart {
    /// Names it: `chart-SLUG` on the page, `STEM-SLUG.svg` beside the Markdown.
    pub slug: &'static str,
    pub title: &'static str,
    /// The title shown as a heading above it.
    pub titled: bool,
    pub caption: Option<&'static str>,
    pub svg: Result<String, String>,
}

impl Line {
    /// The line in one format: journal text through `escape`, marked words through `mark`.
    #[must_use]
    pub fn render(&self, escape: impl Fn(&str) -> String, mark: impl Fn(&Mark) -> String) -> String {
        let text = |span: &Span| match span {
            Span::Text(text) => escape(text),
            Span::Own(text) => text.clone(),
            Span::Marked(m) => mark(m),
        };
        self.0.iter().map(text).collect()
    }

    fn own(text: impl Into<String>) -> Self {
        Self(vec![own(text)])
    }

    fn text(text: impl Into<String>) -> Self {
        Self(vec![Span::Text(text.into())])
    }
}

fn own(text: impl Into<String>) -> Span {
    Span::Own(text.into())
}

fn text(text: &str) -> Span {
    Span::Text(text.to_owned())
}

/// Coloured on the page, plain in Markdown.
fn tinted(text: impl Into<String>, class: Class) -> Span {
    Span::Marked(Mark { text: text.into(), class: Some(class), id: None, strong: false })
}

/// Coloured on the page, bold in Markdown.
fn stressed(text: impl Into<String>, class: Option<Class>) -> Span {
    Span::Marked(Mark { text: text.into(), class, id: None, strong: true })
}

/// A figure the reader looks for: large on the page, bold in Markdown.
fn figure(text: String, id: Option<&'static str>) -> Span {
    Span::Marked(Mark { text, class: Some(Class::Figure), id, strong: true })
}

fn paragraph(line: Line) -> Block {
    Block::Paragraph(Paragraph { line, class: None, shown: Shown::Both })
}

/// A muted note that something is not there.
fn note(text: &str, shown: Shown) -> Block {
    Block::Paragraph(Paragraph { line: Line::own(text), class: Some(Class::Quiet), shown })
}

fn columns(titles: &[(&'static str, bool)]) -> Vec<Column> {
    titles.iter().map(|&(title, numeric)| Column { title, numeric }).collect()
}

fn table(titles: &[(&'static str, bool)], rows: Vec<Vec<Line>>) -> Block {
    let rows = rows.into_iter().map(|cells| Row { cells, heads: false }).collect();
    Block::Table(Table { caption: None, columns: columns(titles), rows, listed: false })
}

/// `—` for a figure never read.
fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".to_owned())
}

impl Document {
    /// The report of `s`, its charts drawn.
    ///
    /// # Errors
    /// A chart could not be drawn.
    pub fn of(s: &Summary) -> Result<Self> {
        let mut sections: Vec<Section> = timeline(s)?.into_iter().collect();
        if s.outline.is_some() {
            sections.push(confirmations(s));
            sections.push(write_pause(s));
        }
        sections.extend(way_back(s));
        sections.push(gauges(s)?);
        sections.extend(verification(s));
        sections.extend(problems(s));
        sections.extend(reactions(s));
        Ok(Self { title: s.title.clone(), facts: facts(s), sections })
    }
}

fn outcome_class(outcome: Outcome) -> Class {
    match outcome {
        Outcome::Finished(RunOutcome::Completed) => Class::Ok,
        Outcome::Finished(RunOutcome::RolledBack) => Class::Bad,
        Outcome::Unfinished => Class::Warn,
        Outcome::Session => Class::Quiet,
    }
}

fn facts(s: &Summary) -> Vec<(&'static str, Line)> {
    let what = if s.outline.is_some() { "runbook run".to_owned() } else { format!("{} session", s.command) };
    let mut facts = vec![
        ("What", Line::text(what)),
        ("Operator", Line::text(s.operator.as_deref().unwrap_or("unknown"))),
        ("Host", Line::text(s.host.as_deref().unwrap_or("unknown"))),
        ("Began", Line::own(when_text(s.began))),
        ("Ended", Line::own(format!("{} (last record)", when_text(s.ended)))),
        ("Duration", Line::own(duration_text(s.ended - s.began))),
    ];
    for (at, operator, host) in &s.resumes {
        let by = Line(vec![own(when_text(*at)), own(" by "), text(operator), own(" on "), text(host)]);
        facts.push(("Resumed", by));
    }
    facts.push(("Outcome", Line(vec![stressed(s.outcome.text(), Some(outcome_class(s.outcome)))])));
    if let Some(length) = s.write_pause_length() {
        facts.push(("Write pause", Line(vec![figure(duration_text(length), None)])));
    }
    facts
}

fn timeline(s: &Summary) -> Result<Option<Section>> {
    if s.phases.is_empty() {
        return Ok(None);
    }
    let chart = match svg::timeline_chart(s)? {
        Some(svg) => Block::Chart(Chart {
            slug: "timeline",
            title: "Timeline: planned and actual",
            titled: false,
            caption: Some(svg::TIMELINE_KEY),
            svg: Ok(svg),
        }),
        None => note("No step ever started.", Shown::PageOnly),
    };
    let mut rows = Vec::new();
    for phase in &s.phases {
        let rollback = if phase.rollback { " (rollback)" } else { "" };
        let cells = vec![
            Line(vec![text(&phase.id), own(" "), text(&phase.name), own(rollback)]),
            Line::own(phase.started().map(clock_text).unwrap_or_default()),
            Line::own(maybe_duration(phase.planned())),
            Line::own(maybe_duration(phase.actual())),
            Line::own(delta_text(phase.planned(), phase.actual())),
            Line::own(if phase.started().is_none() { "not run" } else { "" }),
        ];
        rows.push(Row { cells, heads: true });
        for step in &phase.steps {
            let planned = step.planned_secs.and_then(|s| chrono::Duration::try_seconds(i64::try_from(s).ok()?));
            let attempts = if step.attempts > 1 { format!(" ({} attempts)", step.attempts) } else { String::new() };
            let status = status_text(step);
            let class = match status {
                "done" => Class::Ok,
                "failed" | "interrupted" => Class::Bad,
                "unfinished" | "skipped" => Class::Warn,
                _ => Class::Quiet,
            };
            let cells = vec![
                Line(vec![text(&step.id), own(" "), text(&step.name)]),
                Line::own(step.started.map(clock_text).unwrap_or_default()),
                Line::own(maybe_duration(planned)),
                Line::own(maybe_duration(step.actual())),
                Line::own(delta_text(planned, step.actual())),
                Line(vec![tinted(status, class), own(attempts)]),
            ];
            rows.push(Row { cells, heads: false });
        }
    }
    let titles = [
        ("Phase / step", false),
        ("Started", false),
        ("Planned", true),
        ("Actual", true),
        ("Over (+) / under (−)", true),
        ("Status", false),
    ];
    let table = Block::Table(Table { caption: None, columns: columns(&titles), rows, listed: false });
    let blocks = vec![chart, table];
    Ok(Some(Section { id: "timeline", heading: "Timeline: planned against actual", blocks }))
}

fn confirmations(s: &Summary) -> Section {
    let block = if s.confirmations.is_empty() {
        note("No step was confirmed.", Shown::Both)
    } else {
        let rows = s.confirmations.iter().map(|c| {
            vec![
                Line::own(clock_text(c.at)),
                Line(vec![text(&c.step), own(" "), text(&c.step_name)]),
                Line::text(c.operator.as_str()),
                Line::text(c.typed_text()),
            ]
        });
        table(&[("When", false), ("Step", false), ("Operator", false), ("Typed", false)], rows.collect())
    };
    Section { id: "confirmations", heading: "Who confirmed what", blocks: vec![block] }
}

/// The way back: the restore points the run made (where a point-in-time
/// recovery can stop) and the recovery time a restore drill measured.
fn way_back(s: &Summary) -> Option<Section> {
    if s.restore_points.is_empty() && s.recovery_times.is_empty() {
        return None;
    }
    let mut blocks = Vec::new();
    for (phase, seconds) in &s.recovery_times {
        blocks.push(paragraph(Line(vec![
            own("Recovery time (restore + replay, phase "),
            text(phase),
            own("): "),
            figure(crate::format::seconds(*seconds), Some("recovery-time")),
            own("."),
        ])));
    }
    if s.restore_points.is_empty() {
        return Some(Section { id: "way-back", heading: "The way back", blocks });
    }
    let rows = s.restore_points.iter().map(|p| {
        vec![
            Line(vec![stressed(p.name.clone(), None)]),
            Line::text(p.endpoint.as_str()),
            Line::own(p.lsn.clone()),
            Line::own(clock_text(p.at)),
            Line::text(p.step.as_str()),
        ]
    });
    let titles = [("Restore point", false), ("On", false), ("LSN", false), ("Made at", false), ("By step", false)];
    blocks.push(note(
        "A point-in-time recovery can stop at any of these restore points (recovery_target_name; \
         pgbackrest restore --type=name --target=NAME).",
        Shown::Both,
    ));
    blocks.push(table(&titles, rows.collect()));
    Some(Section { id: "way-back", heading: "The way back", blocks })
}

fn write_pause(s: &Summary) -> Section {
    let mut blocks = Vec::new();
    if let (Some(pause), Some(length)) = (s.write_pause, s.write_pause_length()) {
        let ended = pause.ended.map_or_else(|| "not seen to end (the journal stops first)".to_owned(), when_text);
        blocks.push(paragraph(Line(vec![
            own(format!("Writes stopped at {} and resumed at {ended}: paused for ", when_text(pause.started))),
            figure(duration_text(length), Some("write-pause-length")),
            own("."),
        ])));
        for later in s.later_pauses_text() {
            blocks.push(Block::Paragraph(Paragraph {
                line: Line::text(later),
                class: Some(Class::LaterPause),
                shown: Shown::Both,
            }));
        }
        if let Some((wait, pool)) = &s.pooler_wait {
            blocks.push(paragraph(Line(vec![
                own("The longest a client waited in the pooler, by its own count: "),
                figure(crate::format::seconds(*wait), Some("pooler-longest-wait")),
                own(" ("),
                text(pool),
                own(")."),
            ])));
        }
        if s.lag_at_switch.is_empty() {
            blocks.push(note("No lag reading before the switch.", Shown::PageOnly));
        } else {
            let rows = s.lag_at_switch.iter().map(|lag| {
                vec![
                    Line::text(lag.link.as_str()),
                    Line::own(or_dash(lag.bytes.map(|(_, v)| crate::format::bytes(v)))),
                    Line::own(or_dash(lag.seconds.map(|(_, v)| crate::format::seconds(v)))),
                    Line::own(lag.bytes.or(lag.seconds).map(|(at, _)| clock_text(at)).unwrap_or_default()),
                ]
            });
            let titles = [("Lag at the switch", false), ("Bytes", true), ("Seconds", true), ("Read at", false)];
            blocks.push(table(&titles, rows.collect()));
        }
    } else {
        blocks.push(note("Writes were never paused.", Shown::Both));
    }
    Section { id: "write-pause", heading: "Write pause", blocks }
}

fn gauges(s: &Summary) -> Result<Section> {
    let mut blocks = Vec::new();
    if !s.phase_marks.is_empty() {
        blocks.push(paragraph(Line::own("Vertical lines mark the start of each phase, labelled with its id.")));
    }
    for Drawn { spec, svg } in svg::gauge_charts(s)? {
        blocks.push(Block::Chart(Chart { slug: spec.slug, title: spec.title, titled: true, caption: None, svg }));
    }
    Ok(Section { id: "gauges", heading: "Gauges over time", blocks })
}

fn verification(s: &Summary) -> Option<Section> {
    if s.checksum.is_none() && s.verify_steps.is_empty() {
        return None;
    }
    // The list stands even when empty: Markdown keeps its blank line.
    let steps = s.verify_steps.iter().map(|v| {
        let word = if v.ok { tinted("passed", Class::Ok) } else { stressed("FAILED", Some(Class::Bad)) };
        Line(vec![text(&v.step), own(" "), text(&v.name), own(": "), word, own(" — "), text(&v.summary)])
    });
    let mut blocks = vec![Block::List(steps.collect())];
    if let Some(progress) = &s.checksum {
        let rows = progress.tables.iter().map(|t| {
            let class = if t.differences > 0 || t.state == TableState::Failed { Class::Bad } else { Class::Ok };
            let cells = vec![
                Line::text(t.table.as_str()),
                Line::own(crate::events::name_of(&t.state)),
                Line::own(t.rows.to_string()),
                Line::own(format!("{} / {}", t.chunks_done, t.chunks_total)),
                Line(vec![tinted(t.differences.to_string(), class)]),
            ];
            Row { cells, heads: false }
        });
        let titles = [("Table", false), ("State", false), ("Rows", true), ("Chunks", true), ("Differences", true)];
        blocks.push(Block::Table(Table {
            caption: Some(Line::own(format!("Checksums as last recorded ({})", when_text(progress.at)))),
            columns: columns(&titles),
            rows: rows.collect(),
            listed: false,
        }));
    }
    Some(Section { id: "verification", heading: "Verification", blocks })
}

fn problems(s: &Summary) -> Option<Section> {
    if s.outline.is_none() && s.problems.is_empty() {
        return None;
    }
    let rolled_back = s.outcome == Outcome::Finished(RunOutcome::RolledBack);
    let mut blocks = Vec::new();
    if s.problems.is_empty() {
        blocks.push(note("None: no step failed, none was interrupted or skipped, no rollback.", Shown::Both));
    } else {
        let rows = s.problems.iter().map(|p| Row {
            cells: vec![
                Line::own(clock_text(p.at)),
                Line(vec![stressed(p.what.word(), Some(Class::Bad))]),
                Line::text(p.text.as_str()),
            ],
            heads: false,
        });
        let columns = columns(&[("When", false), ("What", false), ("Detail", false)]);
        blocks.push(Block::Table(Table { caption: None, columns, rows: rows.collect(), listed: true }));
    }
    if rolled_back {
        blocks.push(Block::Paragraph(Paragraph {
            line: Line(vec![own("The run ended "), stressed("rolled back", None), own(".")]),
            class: Some(Class::Bad),
            shown: if s.problems.is_empty() { Shown::MarkdownOnly } else { Shown::Both },
        }));
    }
    Some(Section { id: "problems", heading: "Failures and rollbacks", blocks })
}

fn reactions(s: &Summary) -> Option<Section> {
    if s.reactions.is_empty() {
        return None;
    }
    let rows = s.reactions.iter().map(|r| {
        let (decision, delay) = match (&r.decision, r.delay()) {
            (Some((at, what)), Some(delay)) => {
                (Line(vec![text(what), own(" at "), own(clock_text(*at))]), Line::own(duration_text(delay)))
            }
            _ => (Line::own("—"), Line(vec![stressed("no reaction", Some(Class::Bad))])),
        };
        vec![Line::own(clock_text(r.at)), Line::text(r.fault.as_str()), Line::text(r.text.as_str()), decision, delay]
    });
    let titles = [
        ("Fault at", false),
        ("Fault", false),
        ("What happened", false),
        ("First decision", false),
        ("Reaction time", true),
    ];
    Some(Section { id: "reactions", heading: "Drill: reaction times", blocks: vec![table(&titles, rows.collect())] })
}
