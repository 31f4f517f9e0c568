//! The report as Markdown: the same sections as the HTML page, as tables and
//! lists, each chart an SVG file beside the `.md` linked with `![…](…)` —
//! what GitHub, GitLab and most viewers show inline, where an SVG embedded in
//! the Markdown itself would be stripped.

use color_eyre::eyre::Result;

use super::svg::{self, Drawn};
use super::{Outcome, Summary, clock_text, delta_text, duration_text, maybe_duration, status_text, when_text};

/// A file the report links to: its name (beside the `.md`) and contents.
pub struct Chart {
    pub file_name: String,
    pub svg: String,
}

/// Text for a Markdown table cell or list item: what Markdown would read as
/// markup or HTML is backslash-escaped, and a line break becomes a space.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '!' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown and its charts; `stem` names the chart files (`STEM-lag-bytes.svg`).
///
/// # Errors
/// A chart could not be drawn.
pub fn render(summary: &Summary, stem: &str) -> Result<(String, Vec<Chart>)> {
    let s = summary;
    let mut md = String::new();
    let mut charts = Vec::new();
    md.push_str(&format!("# {}\n\n", escape(&s.title)));
    let what = if s.outline.is_some() { "runbook run".to_owned() } else { format!("{} session", s.command) };
    md.push_str("| | |\n|---|---|\n");
    md.push_str(&format!("| What | {} |\n", escape(&what)));
    md.push_str(&format!("| Operator | {} |\n", escape(s.operator.as_deref().unwrap_or("unknown"))));
    md.push_str(&format!("| Host | {} |\n", escape(s.host.as_deref().unwrap_or("unknown"))));
    md.push_str(&format!("| Began | {} |\n", when_text(s.began)));
    md.push_str(&format!("| Ended | {} (last record) |\n", when_text(s.ended)));
    md.push_str(&format!("| Duration | {} |\n", duration_text(s.ended - s.began)));
    for (at, operator, host) in &s.resumes {
        md.push_str(&format!("| Resumed | {} by {} on {} |\n", when_text(*at), escape(operator), escape(host)));
    }
    md.push_str(&format!("| Outcome | **{}** |\n", s.outcome.text()));
    if let Some(length) = s.write_pause_length() {
        md.push_str(&format!("| Write pause | **{}** |\n", duration_text(length)));
    }

    if !s.phases.is_empty() {
        md.push_str("\n## Timeline: planned against actual\n\n");
        if let Some(svg) = svg::timeline_chart(s)? {
            let file_name = format!("{stem}-timeline.svg");
            md.push_str(&format!("![Timeline: planned and actual]({file_name})\n\n{}\n\n", svg::TIMELINE_KEY));
            charts.push(Chart { file_name, svg });
        }
        md.push_str("| Phase / step | Started | Planned | Actual | Over (+) / under (−) | Status |\n");
        md.push_str("|---|---|--:|--:|--:|---|\n");
        for phase in &s.phases {
            let rollback = if phase.rollback { " (rollback)" } else { "" };
            md.push_str(&format!(
                "| **{} {}{rollback}** | {} | {} | {} | {} | {} |\n",
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
                md.push_str(&format!(
                    "| {} {} | {} | {} | {} | {} | {}{attempts} |\n",
                    escape(&step.id),
                    escape(&step.name),
                    step.started.map(clock_text).unwrap_or_default(),
                    maybe_duration(planned),
                    maybe_duration(step.actual()),
                    delta_text(planned, step.actual()),
                    status_text(step),
                ));
            }
        }
    }

    if s.outline.is_some() {
        md.push_str("\n## Who confirmed what\n\n");
        if s.confirmations.is_empty() {
            md.push_str("No step was confirmed.\n");
        } else {
            md.push_str("| When | Step | Operator | Typed |\n|---|---|---|---|\n");
            for c in &s.confirmations {
                md.push_str(&format!(
                    "| {} | {} {} | {} | {} |\n",
                    clock_text(c.at),
                    escape(&c.step),
                    escape(&c.step_name),
                    escape(&c.operator),
                    escape(c.typed_text())
                ));
            }
        }
        md.push_str("\n## Write pause\n\n");
        match (s.write_pause, s.write_pause_length()) {
            (Some(pause), Some(length)) => {
                let ended =
                    pause.ended.map_or_else(|| "not seen to end (the journal stops first)".to_owned(), when_text);
                md.push_str(&format!(
                    "Writes stopped at {} and resumed at {ended}: paused for **{}**.\n",
                    when_text(pause.started),
                    duration_text(length)
                ));
                for later in s.later_pauses_text() {
                    md.push_str(&format!("\n{}\n", escape(&later)));
                }
                if let Some((wait, pool)) = &s.pooler_wait {
                    md.push_str(&format!(
                        "\nThe longest a client waited in the pooler, by its own count: **{}** ({}).\n",
                        crate::format::seconds(*wait),
                        escape(pool)
                    ));
                }
                if !s.lag_at_switch.is_empty() {
                    md.push_str("\n| Lag at the switch | Bytes | Seconds | Read at |\n|---|--:|--:|---|\n");
                    for lag in &s.lag_at_switch {
                        let at = lag.bytes.or(lag.seconds).map(|(at, _)| clock_text(at)).unwrap_or_default();
                        md.push_str(&format!(
                            "| {} | {} | {} | {at} |\n",
                            escape(&lag.link),
                            lag.bytes.map(|(_, v)| crate::format::bytes(v)).unwrap_or_else(|| "—".to_owned()),
                            lag.seconds.map(|(_, v)| crate::format::seconds(v)).unwrap_or_else(|| "—".to_owned()),
                        ));
                    }
                }
            }
            _ => md.push_str("Writes were never paused.\n"),
        }
    }

    md.push_str("\n## Gauges over time\n\n");
    if !s.phase_marks.is_empty() {
        md.push_str("Vertical lines mark the start of each phase, labelled with its id.\n\n");
    }
    for Drawn { spec, svg } in svg::gauge_charts(s)? {
        md.push_str(&format!("### {}\n\n", spec.title));
        match svg {
            Ok(svg) => {
                let file_name = format!("{stem}-{}.svg", spec.slug);
                md.push_str(&format!("![{}]({file_name})\n\n", spec.title));
                charts.push(Chart { file_name, svg });
            }
            Err(why) => md.push_str(&format!("_{}_\n\n", escape(&why))),
        }
    }

    if s.checksum.is_some() || !s.verify_steps.is_empty() {
        md.push_str("## Verification\n\n");
        for v in &s.verify_steps {
            let word = if v.ok { "passed" } else { "**FAILED**" };
            md.push_str(&format!("- {} {}: {word} — {}\n", escape(&v.step), escape(&v.name), escape(&v.summary)));
        }
        if let Some(progress) = &s.checksum {
            md.push_str(&format!("\nChecksums as last recorded ({}):\n\n", when_text(progress.at)));
            md.push_str("| Table | State | Rows | Chunks | Differences |\n|---|---|--:|--:|--:|\n");
            for t in &progress.tables {
                md.push_str(&format!(
                    "| {} | {} | {} | {} / {} | {} |\n",
                    escape(&t.table),
                    crate::events::name_of(&t.state),
                    t.rows,
                    t.chunks_done,
                    t.chunks_total,
                    t.differences
                ));
            }
        }
        md.push('\n');
    }

    if s.outline.is_some() || !s.problems.is_empty() {
        md.push_str("## Failures and rollbacks\n\n");
        if s.problems.is_empty() {
            md.push_str("None: no step failed, none was interrupted or skipped, no rollback.\n");
        }
        for p in &s.problems {
            md.push_str(&format!("- {} **{}**: {}\n", clock_text(p.at), p.what.word(), escape(&p.text)));
        }
        if s.outcome == Outcome::Finished(crate::events::RunOutcome::RolledBack) {
            md.push_str("\nThe run ended **rolled back**.\n");
        }
        md.push('\n');
    }

    if !s.reactions.is_empty() {
        md.push_str("## Drill: reaction times\n\n");
        md.push_str("| Fault at | Fault | What happened | First decision | Reaction time |\n|---|---|---|---|--:|\n");
        for r in &s.reactions {
            let (decision, delay) = match (&r.decision, r.delay()) {
                (Some((at, what)), Some(delay)) => {
                    (format!("{} at {}", escape(what), clock_text(*at)), duration_text(delay))
                }
                _ => ("—".to_owned(), "**no reaction**".to_owned()),
            };
            md.push_str(&format!(
                "| {} | {} | {} | {decision} | {delay} |\n",
                clock_text(r.at),
                escape(&r.fault),
                escape(&r.text)
            ));
        }
        md.push('\n');
    }
    md.push_str(&format!("_Written by cutover {} from the run's journal._\n", env!("CARGO_PKG_VERSION")));
    Ok((md, charts))
}
