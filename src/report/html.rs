//! The report as one self-contained HTML page: inline CSS and inline SVG, no
//! script, nothing fetched. Every string from the journal is escaped.

use color_eyre::eyre::Result;

use super::Summary;
use super::document::{Block, Chart, Document, Line, Paragraph, Shown, Table};

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
    let doc = Document::of(summary)?;
    let mut page = String::new();
    let title = escape(&doc.title);
    page.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>cutover report: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    ));
    page.push_str("<table class=\"meta\">\n");
    for (key, value) in &doc.facts {
        page.push_str(&format!("<tr><th>{key}</th><td>{}</td></tr>\n", line(value)));
    }
    page.push_str("</table>\n");
    for section in &doc.sections {
        page.push_str(&format!("<h2 id=\"{}\">{}</h2>\n", section.id, section.heading));
        for block in &section.blocks {
            self::block(&mut page, block);
        }
    }
    page.push_str(&format!(
        "<footer>Written by cutover {} from the run's journal.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    ));
    Ok(page)
}

fn block(page: &mut String, block: &Block) {
    match block {
        Block::Paragraph(Paragraph { shown: Shown::MarkdownOnly, .. }) => {}
        Block::Paragraph(Paragraph { line: text, class, .. }) => {
            let class = class.map(|c| format!(" class=\"{}\"", c.css())).unwrap_or_default();
            page.push_str(&format!("<p{class}>{}</p>\n", line(text)));
        }
        Block::List(items) => {
            for item in items {
                page.push_str(&format!("<p>{}</p>\n", line(item)));
            }
        }
        Block::Table(t) => table(page, t),
        Block::Chart(c) => chart(page, c),
    }
}

fn table(page: &mut String, table: &Table) {
    page.push_str("<table>\n");
    if let Some(caption) = &table.caption {
        page.push_str(&format!("<caption>{}</caption>\n", line(caption)));
    }
    page.push_str("<tr>");
    for column in &table.columns {
        page.push_str(&format!("<th>{}</th>", column.title));
    }
    page.push_str("</tr>\n");
    for row in &table.rows {
        page.push_str(if row.heads { "<tr class=\"phase\">" } else { "<tr>" });
        for (cell, column) in row.cells.iter().zip(&table.columns) {
            let td = if column.numeric { "<td class=\"num\">" } else { "<td>" };
            page.push_str(&format!("{td}{}</td>", line(cell)));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");
}

fn chart(page: &mut String, chart: &Chart) {
    page.push_str(&format!("<figure id=\"chart-{}\">\n", chart.slug));
    if chart.titled {
        page.push_str(&format!("<h3>{}</h3>\n", escape(chart.title)));
    }
    match &chart.svg {
        Ok(svg) => page.push_str(svg),
        Err(why) => page.push_str(&format!("<p class=\"none\">{}</p>", escape(why))),
    }
    if let Some(caption) = chart.caption {
        page.push_str(&format!("<figcaption>{caption}</figcaption>\n"));
    }
    page.push_str("</figure>\n");
}

/// A line as HTML: journal text escaped, marked words in a `<span>` of their class.
fn line(line: &Line) -> String {
    line.render(escape, |mark| match mark.class {
        Some(class) => {
            let id = mark.id.map(|id| format!(" id=\"{id}\"")).unwrap_or_default();
            format!("<span class=\"{}\"{id}>{}</span>", class.css(), mark.text)
        }
        None => mark.text.clone(),
    })
}
