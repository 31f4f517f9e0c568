//! The report as Markdown: the same sections as the HTML page, as tables and
//! lists, each chart an SVG file beside the `.md` linked with `![…](…)` —
//! what GitHub, GitLab and most viewers show inline, where an SVG embedded in
//! the Markdown itself would be stripped.

use color_eyre::eyre::Result;

use super::Summary;
use super::document::{self, Block, Document, Line, Paragraph, Shown, Table};

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
    let doc = Document::of(summary)?;
    let mut md = String::new();
    let mut charts = Vec::new();
    md.push_str(&format!("# {}\n\n", escape(&doc.title)));
    md.push_str("| | |\n|---|---|\n");
    for (key, value) in &doc.facts {
        md.push_str(&format!("| {key} | {} |\n", line(value)));
    }
    // Each section and each block in it after a blank line.
    for section in doc.sections {
        md.push_str(&format!("\n## {}\n", section.heading));
        for block in section.blocks {
            match block {
                Block::Paragraph(Paragraph { shown: Shown::PageOnly, .. }) => {}
                Block::Paragraph(p) => md.push_str(&format!("\n{}\n", line(&p.line))),
                Block::List(items) => {
                    md.push('\n');
                    for item in &items {
                        md.push_str(&format!("- {}\n", line(item)));
                    }
                }
                Block::Table(t) => {
                    md.push('\n');
                    table(&mut md, &t);
                }
                Block::Chart(c) => {
                    md.push('\n');
                    charts.extend(chart(&mut md, c, stem));
                }
            }
        }
    }
    md.push_str(&format!("\n_Written by cutover {} from the run's journal._\n", env!("CARGO_PKG_VERSION")));
    Ok((md, charts))
}

fn table(md: &mut String, table: &Table) {
    if let Some(caption) = &table.caption {
        md.push_str(&format!("{}:\n\n", line(caption)));
    }
    if table.listed {
        for row in &table.rows {
            let cells: Vec<String> = row.cells.iter().map(line).collect();
            if let Some((last, first)) = cells.split_last() {
                md.push_str(&format!("- {}: {last}\n", first.join(" ")));
            }
        }
        return;
    }
    let titles: Vec<&str> = table.columns.iter().map(|c| c.title).collect();
    let rules: Vec<&str> = table.columns.iter().map(|c| if c.numeric { "--:" } else { "---" }).collect();
    md.push_str(&format!("| {} |\n|{}|\n", titles.join(" | "), rules.join("|")));
    for row in &table.rows {
        let mut cells: Vec<String> = row.cells.iter().map(line).collect();
        if let (true, Some(first)) = (row.heads, cells.first_mut()) {
            *first = format!("**{first}**");
        }
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
}

/// The chart's heading and link, or why there is none; the file to write beside.
fn chart(md: &mut String, chart: document::Chart, stem: &str) -> Option<Chart> {
    if chart.titled {
        md.push_str(&format!("### {}\n\n", chart.title));
    }
    match chart.svg {
        Ok(svg) => {
            let file_name = format!("{stem}-{}.svg", chart.slug);
            md.push_str(&format!("![{}]({file_name})\n", chart.title));
            if let Some(caption) = chart.caption {
                md.push_str(&format!("\n{caption}\n"));
            }
            Some(Chart { file_name, svg })
        }
        Err(why) => {
            md.push_str(&format!("_{}_\n", escape(&why)));
            None
        }
    }
}

/// A line as Markdown: journal text escaped, strong words in bold.
fn line(line: &Line) -> String {
    line.render(escape, |mark| if mark.strong { format!("**{}**", mark.text) } else { mark.text.clone() })
}
