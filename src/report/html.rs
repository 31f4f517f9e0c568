//! The report as one self-contained HTML page: inline CSS and inline SVG, no
//! script, nothing fetched. Every string from the journal is escaped.

use color_eyre::eyre::Result;

use super::svg::{self, Drawn};
use super::{Outcome, Summary, clock_text, delta_text, duration_text, maybe_duration, status_text, when_text};
use crate::events::{RunOutcome, TableState};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #1d1f23; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #d0d4da; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #d0d4da; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f1f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.phase td { font-weight: bold; background: #f8f9fb; }
.meta th { width: 9em; }
.ok { color: #1d7a1d; font-weight: bold; }
.bad { color: #b02020; font-weight: bold; }
.warn { color: #a86200; font-weight: bold; }
.figure { font-size: 1.4em; font-weight: bold; }
.none { color: #6b7079; font-style: italic; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
footer { margin-top: 3em; color: #6b7079; font-size: 0.85em; }
";

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page.
///
/// # Errors
/// A chart could not be drawn.
pub fn render(summary: &Summary) -> Result<String> {
    let mut page = String::new();
    let title = escape(&summary.title);
    page.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>cutover report: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    ));
    overview(&mut page, summary);
    timeline(&mut page, summary)?;
    confirmations(&mut page, summary);
    write_pause(&mut page, summary);
    page.push_str("<h2 id=\"gauges\">Gauges over time</h2>\n");
    if !summary.phase_marks.is_empty() {
        page.push_str("<p>Vertical lines mark the start of each phase, labelled with its id.</p>\n");
    }
    for Drawn { spec, svg } in svg::gauge_charts(summary)? {
        page.push_str(&format!("<figure id=\"chart-{}\">\n<h3>{}</h3>\n", spec.slug, escape(spec.title)));
        match svg {
            Ok(svg) => page.push_str(&svg),
            Err(why) => page.push_str(&format!("<p class=\"none\">{}</p>", escape(&why))),
        }
        page.push_str("</figure>\n");
    }
    verification(&mut page, summary);
    problems(&mut page, summary);
    reactions(&mut page, summary);
    page.push_str(&format!(
        "<footer>Written by cutover {} from the run's journal.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    ));
    Ok(page)
}

fn outcome_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Finished(RunOutcome::Completed) => "ok",
        Outcome::Finished(RunOutcome::RolledBack) => "bad",
        Outcome::Unfinished => "warn",
        Outcome::Session => "none",
    }
}

fn overview(page: &mut String, s: &Summary) {
    let row = |page: &mut String, key: &str, value: String| {
        page.push_str(&format!("<tr><th>{key}</th><td>{value}</td></tr>\n"));
    };
    page.push_str("<table class=\"meta\">\n");
    let what = if s.outline.is_some() { "runbook run".to_owned() } else { format!("{} session", s.command) };
    row(page, "What", escape(&what));
    row(page, "Operator", escape(s.operator.as_deref().unwrap_or("unknown")));
    row(page, "Host", escape(s.host.as_deref().unwrap_or("unknown")));
    row(page, "Began", when_text(s.began));
    row(page, "Ended", format!("{} (last record)", when_text(s.ended)));
    row(page, "Duration", duration_text(s.ended - s.began));
    for (at, operator, host) in &s.resumes {
        row(page, "Resumed", format!("{} by {} on {}", when_text(*at), escape(operator), escape(host)));
    }
    row(page, "Outcome", format!("<span class=\"{}\">{}</span>", outcome_class(s.outcome), s.outcome.text()));
    if let Some(length) = s.write_pause_length() {
        row(page, "Write pause", format!("<span class=\"figure\">{}</span>", duration_text(length)));
    }
    page.push_str("</table>\n");
}

fn timeline(page: &mut String, s: &Summary) -> Result<()> {
    if s.phases.is_empty() {
        return Ok(());
    }
    page.push_str("<h2 id=\"timeline\">Timeline: planned against actual</h2>\n");
    match svg::timeline_chart(s)? {
        Some(chart) => page.push_str(&format!(
            "<figure id=\"chart-timeline\">\n{chart}<figcaption>{}</figcaption>\n</figure>\n",
            svg::TIMELINE_KEY
        )),
        None => page.push_str("<p class=\"none\">No step ever started.</p>\n"),
    }
    page.push_str(
        "<table>\n<tr><th>Phase / step</th><th>Started</th><th>Planned</th><th>Actual</th>\
         <th>Over (+) / under (−)</th><th>Status</th></tr>\n",
    );
    for phase in &s.phases {
        let rollback = if phase.rollback { " (rollback)" } else { "" };
        page.push_str(&format!(
            "<tr class=\"phase\"><td>{} {}{rollback}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            escape(&phase.id),
            escape(&phase.name),
            phase.started().map(clock_text).unwrap_or_default(),
            maybe_duration(phase.planned()),
            maybe_duration(phase.actual()),
            delta_text(phase.planned(), phase.actual()),
            if phase.started().is_none() { "not run" } else { "" },
        ));
        for step in &phase.steps {
            let planned = step.planned_secs.and_then(|s| chrono::Duration::try_seconds(i64::try_from(s).ok()?));
            let attempts = if step.attempts > 1 { format!(" ({} attempts)", step.attempts) } else { String::new() };
            let status = status_text(step);
            let class = match status {
                "done" => "ok",
                "failed" | "interrupted" => "bad",
                "unfinished" | "skipped" => "warn",
                _ => "none",
            };
            page.push_str(&format!(
                "<tr><td>{} {}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td><span class=\"{class}\">{status}</span>{attempts}</td></tr>\n",
                escape(&step.id),
                escape(&step.name),
                step.started.map(clock_text).unwrap_or_default(),
                maybe_duration(planned),
                maybe_duration(step.actual()),
                delta_text(planned, step.actual()),
            ));
        }
    }
    page.push_str("</table>\n");
    Ok(())
}

fn confirmations(page: &mut String, s: &Summary) {
    if s.outline.is_none() {
        return;
    }
    page.push_str("<h2 id=\"confirmations\">Who confirmed what</h2>\n");
    if s.confirmations.is_empty() {
        page.push_str("<p class=\"none\">No step was confirmed.</p>\n");
        return;
    }
    page.push_str("<table>\n<tr><th>When</th><th>Step</th><th>Operator</th><th>Typed</th></tr>\n");
    for c in &s.confirmations {
        page.push_str(&format!(
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>\n",
            clock_text(c.at),
            escape(&c.step),
            escape(&c.step_name),
            escape(&c.operator),
            escape(c.typed_text()),
        ));
    }
    page.push_str("</table>\n");
}

fn write_pause(page: &mut String, s: &Summary) {
    if s.outline.is_none() {
        return;
    }
    page.push_str("<h2 id=\"write-pause\">Write pause</h2>\n");
    let (Some(pause), Some(length)) = (s.write_pause, s.write_pause_length()) else {
        page.push_str("<p class=\"none\">Writes were never paused.</p>\n");
        return;
    };
    let ended = pause.ended.map_or_else(|| "not seen to end (the journal stops first)".to_owned(), when_text);
    page.push_str(&format!(
        "<p>Writes stopped at {} and resumed at {ended}: paused for <span class=\"figure\" id=\"write-pause-length\">{}</span>.</p>\n",
        when_text(pause.started),
        duration_text(length)
    ));
    for later in s.later_pauses_text() {
        page.push_str(&format!("<p class=\"later-pause\">{}</p>\n", escape(&later)));
    }
    if let Some((wait, pool)) = &s.pooler_wait {
        page.push_str(&format!(
            "<p>The longest a client waited in the pooler, by its own count: <span class=\"figure\" id=\"pooler-longest-wait\">{}</span> ({}).</p>\n",
            crate::format::seconds(*wait),
            escape(pool)
        ));
    }
    if s.lag_at_switch.is_empty() {
        page.push_str("<p class=\"none\">No lag reading before the switch.</p>\n");
        return;
    }
    page.push_str("<table>\n<tr><th>Lag at the switch</th><th>Bytes</th><th>Seconds</th><th>Read at</th></tr>\n");
    for lag in &s.lag_at_switch {
        let at = lag.bytes.or(lag.seconds).map(|(at, _)| clock_text(at)).unwrap_or_default();
        page.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{at}</td></tr>\n",
            escape(&lag.link),
            lag.bytes.map(|(_, v)| crate::format::bytes(v)).unwrap_or_else(|| "—".to_owned()),
            lag.seconds.map(|(_, v)| crate::format::seconds(v)).unwrap_or_else(|| "—".to_owned()),
        ));
    }
    page.push_str("</table>\n");
}

fn verification(page: &mut String, s: &Summary) {
    if s.checksum.is_none() && s.verify_steps.is_empty() {
        return;
    }
    page.push_str("<h2 id=\"verification\">Verification</h2>\n");
    for v in &s.verify_steps {
        let (class, word) = if v.ok { ("ok", "passed") } else { ("bad", "FAILED") };
        page.push_str(&format!(
            "<p>{} {}: <span class=\"{class}\">{word}</span> — {}</p>\n",
            escape(&v.step),
            escape(&v.name),
            escape(&v.summary)
        ));
    }
    if let Some(progress) = &s.checksum {
        page.push_str(&format!(
            "<table>\n<caption>Checksums as last recorded ({})</caption>\n<tr><th>Table</th><th>State</th>\
             <th>Rows</th><th>Chunks</th><th>Differences</th></tr>\n",
            when_text(progress.at)
        ));
        for t in &progress.tables {
            let class = if t.differences > 0 || t.state == TableState::Failed { "bad" } else { "ok" };
            page.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{} / {}</td>\
                 <td class=\"num\"><span class=\"{class}\">{}</span></td></tr>\n",
                escape(&t.table),
                crate::events::name_of(&t.state),
                t.rows,
                t.chunks_done,
                t.chunks_total,
                t.differences,
            ));
        }
        page.push_str("</table>\n");
    }
}

fn problems(page: &mut String, s: &Summary) {
    if s.outline.is_none() && s.problems.is_empty() {
        return;
    }
    page.push_str("<h2 id=\"problems\">Failures and rollbacks</h2>\n");
    if s.problems.is_empty() {
        page.push_str("<p class=\"none\">None: no step failed, none was interrupted or skipped, no rollback.</p>\n");
        return;
    }
    page.push_str("<table>\n<tr><th>When</th><th>What</th><th>Detail</th></tr>\n");
    for p in &s.problems {
        page.push_str(&format!(
            "<tr><td>{}</td><td><span class=\"bad\">{}</span></td><td>{}</td></tr>\n",
            clock_text(p.at),
            p.what.word(),
            escape(&p.text)
        ));
    }
    page.push_str("</table>\n");
    if s.outcome == Outcome::Finished(RunOutcome::RolledBack) {
        page.push_str("<p class=\"bad\">The run ended rolled back.</p>\n");
    }
}

fn reactions(page: &mut String, s: &Summary) {
    if s.reactions.is_empty() {
        return;
    }
    page.push_str("<h2 id=\"reactions\">Drill: reaction times</h2>\n");
    page.push_str(
        "<table>\n<tr><th>Fault at</th><th>Fault</th><th>What happened</th><th>First decision</th>\
         <th>Reaction time</th></tr>\n",
    );
    for r in &s.reactions {
        let (decision, delay) = match (&r.decision, r.delay()) {
            (Some((at, what)), Some(delay)) => {
                (format!("{} at {}", escape(what), clock_text(*at)), duration_text(delay))
            }
            _ => ("—".to_owned(), "<span class=\"bad\">no reaction</span>".to_owned()),
        };
        page.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{decision}</td><td class=\"num\">{delay}</td></tr>\n",
            clock_text(r.at),
            escape(&r.fault),
            escape(&r.text)
        ));
    }
    page.push_str("</table>\n");
}
